"""The agent's engines: what runs a turn inside the container (the native loop, or OpenClaw)."""
