"""Tools follow the session's trust under the OpenClaw engine, as under the native one.

OpenClaw offers a turn on the chat-completions endpoint the full tool set of the agent its session key
names (a bearer-token call is an owner turn), so the engine narrows it per turn with a tiny plugin
(`plugin/`, package data): its `before_prompt_build` hook asks a loopback endpoint of the Python
wrapper (`callback`) about the running turn, by the session key from OpenClaw's hook context. A trusted
turn keeps its surface; any other turn gets `toolsAllow` = the untrusted policy's tools (`allowlist`),
and on any failure (the callback unreachable, slow, or answering nonsense) none at all. One agent and one
session key for both: the session's history stays one conversation. Why not an untrusted "twin" agent:
docs/agent.md ("Which tools a turn gets").
"""
