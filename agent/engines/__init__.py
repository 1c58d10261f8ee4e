"""Turn engines behind the agent's `/invocations`: the native Python loop, or an OpenClaw gateway."""
