# The agent container for AgentCore Runtime: HTTP protocol on port 8080 (POST /invocations, GET /ping).
# AgentCore runs linux/arm64 images:
#   infra/docker/build.sh --only agent   (docker buildx build --platform linux/arm64 --provenance=false ...)
FROM --platform=linux/arm64 python:3.12-slim

WORKDIR /src
COPY pyproject.toml ./
COPY schemas schemas
COPY bus bus
COPY ingress ingress
COPY dispatcher dispatcher
COPY egress egress
COPY agent agent
COPY cli cli
# [browser]: Playwright for the browser tool (AgentCore Browser needs no local Chromium; the `local`
# backend would also need `apt-get install chromium`, which this image leaves out).
RUN pip install --no-cache-dir '.[browser]' && rm -rf /src

# --- OpenClaw engine (issue 17) goes here: Node 24 and a pinned `openclaw` (e.g. COPY --from a
# node:24-slim stage, then `npm install -g openclaw@<version>`). Production installs never add the
# `local`/`test`/`dev` extras (moto): tests/infra/test_lean_images.py.

RUN useradd --uid 1000 --no-create-home agent
USER 1000
WORKDIR /tmp
ENV CLAWBUS_AGENT__HOST=0.0.0.0 CLAWBUS_AGENT__PORT=8080
EXPOSE 8080
CMD ["clawbus", "agent"]
