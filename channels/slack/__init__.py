"""The Slack channel (see `spec.py`)."""
