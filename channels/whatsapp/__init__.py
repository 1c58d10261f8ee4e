"""The WhatsApp channel (see `spec.py`)."""
