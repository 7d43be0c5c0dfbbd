"""features block."""
