"""The WebChat channel (see `spec.py`)."""
