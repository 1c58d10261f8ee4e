"""The OpenClaw engine: a supervised OpenClaw gateway runs each clawbus turn."""
