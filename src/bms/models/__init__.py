"""models block."""
