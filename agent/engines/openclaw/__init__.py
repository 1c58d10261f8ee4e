"""OpenClaw as the agent's engine: a supervised `openclaw gateway run`, one OpenClaw turn per clawbus turn."""
