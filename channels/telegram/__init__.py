"""The Telegram channel (see `spec.py`)."""
