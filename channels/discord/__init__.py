"""The Discord channel (see `spec.py`)."""
