"""evaluate block."""
