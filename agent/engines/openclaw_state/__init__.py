"""The OpenClaw engine's state dir as a cache of the storage layer: sessions and workspace hydrated before a
turn and persisted after it (docs/agent.md, "OpenClaw engine: state")."""
