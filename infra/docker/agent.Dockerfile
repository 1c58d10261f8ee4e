# The agent container for AgentCore Runtime: HTTP protocol on port 8080 (POST /invocations, GET /ping).
# AgentCore runs linux/arm64 images:
#   infra/docker/build.sh --only agent   (docker buildx build --platform linux/arm64 --provenance=false ...)
#
# Two engines in one image, chosen at run time by CLAWBUS_AGENT__ENGINE (Terraform's `agent_engine`):
# `native` (the Python loop) and `openclaw` (a supervised OpenClaw gateway: Node 24 and the pinned
# OpenClaw under /opt/openclaw, installed by the `openclaw` stage below).

# --- OpenClaw engine (issue 17): Node 24 and the pinned `openclaw`, the same two npm steps as
# `clawbus up --engine openclaw` (OpenClaw's preinstall refuses an older Node, so the `node` package comes
# first and its bin dir goes first on PATH). The pins and commands are not written here: the stage runs
# agent/engines/openclaw/install_layout.py, their one place, which prints the install line (build.sh
# --dry-run prints the same line). Debian's npm only runs the install; the engine runs the pinned Node
# (`openclaw` starts with `#!/usr/bin/env node`: the pinned bin dir goes first on PATH, as the engine does).
FROM --platform=linux/arm64 python:3.12-slim AS openclaw
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
COPY agent/engines/openclaw/install_layout.py /plan/install_layout.py
RUN python /plan/install_layout.py /opt/openclaw > /plan/install.sh && sh -eux /plan/install.sh \
    && PATH=/opt/openclaw/node_modules/.bin:$PATH sh -c 'node --version && openclaw --version'

FROM --platform=linux/arm64 python:3.12-slim

# The OpenClaw engine's runtime (~770 MB; first, so a Python change leaves its layer cached), owned by
# root and read-only to the agent's user. Its state (OpenClaw's SQLite sessions, the workspace copy, the
# gateway's log) goes under /tmp, the writable scratch of an AgentCore session's microVM, and is only a
# cache of the stores (docs/agent.md, "OpenClaw engine: state").
COPY --from=openclaw /opt/openclaw /opt/openclaw
ENV CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR=/opt/openclaw \
    CLAWBUS_AGENT__OPENCLAW__STATE_DIR=/tmp/openclaw-state

WORKDIR /src
COPY pyproject.toml ./
COPY schemas schemas
COPY bus bus
COPY storage storage
COPY openclaw openclaw
COPY channels channels
COPY ingress ingress
COPY dispatcher dispatcher
COPY egress egress
COPY agent agent
COPY scheduler scheduler
COPY local local
COPY cli cli
# [browser]: Playwright for the browser tool (AgentCore Browser needs no local Chromium; the `local`
# backend would also need `apt-get install chromium`, which this image leaves out).
RUN pip install --no-cache-dir '.[browser]' && rm -rf /src

# Production installs never add the `local`/`test`/`dev` extras (moto): tests/infra/test_lean_images.py.

RUN useradd --uid 1000 --no-create-home agent
USER 1000
WORKDIR /tmp
# The user has no home directory: HOME=/tmp gives Node, npm and OpenClaw a writable one.
ENV HOME=/tmp CLAWBUS_AGENT__HOST=0.0.0.0 CLAWBUS_AGENT__PORT=8080
EXPOSE 8080
CMD ["clawbus", "agent"]
