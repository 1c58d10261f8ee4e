"""The agent's cron jobs, under the OpenClaw engine, on clawbus's cron service (not OpenClaw's).

OpenClaw's own scheduler runs inside the gateway and would die with the microVM, so the engine turns it
off and gives the agent a plugin tool instead (`plugin/`, package data): `clawbus_cron`, the same
actions and fields as OpenClaw's `cron` tool, whose every call is posted, with the turn's session key
from OpenClaw's trusted tool context, to a loopback endpoint of the Python wrapper (`callback`). There
clawbus's own `CronTool` runs for the turn the engine registered under that session key (`ActiveTurns`),
so jobs are stored and scheduled by clawbus's cron service (EventBridge Scheduler) and the delivery rules
of `agent/cron_delivery.py` apply exactly as under the native engine. `config.with_cron_plugin` adds the
plugin to the engine's generated OpenClaw config. Why a plugin and not a mapping of OpenClaw's cron
store: docs/scheduling.md.
"""
