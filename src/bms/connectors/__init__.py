"""connectors block."""
