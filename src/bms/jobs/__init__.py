"""jobs block."""
