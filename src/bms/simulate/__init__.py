"""simulate block."""
