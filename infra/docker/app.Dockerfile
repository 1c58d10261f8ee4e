# The clawbus image: ingress and egress (Lambda, container image) and dispatcher and relay (ECS).
# Built and pushed by infra/docker/build.sh (for the architecture Terraform declares, without provenance).
# On Lambda, Terraform sets the entry point to `python -m clawbus.bus.secret_env /lambda-entrypoint.sh`
# and the command to the handler; on ECS, to `clawbus dispatcher` / `clawbus relay`.
FROM public.ecr.aws/lambda/python:3.12

COPY pyproject.toml README.md* ${LAMBDA_TASK_ROOT}/src/
COPY schemas ${LAMBDA_TASK_ROOT}/src/schemas
COPY bus ${LAMBDA_TASK_ROOT}/src/bus
COPY storage ${LAMBDA_TASK_ROOT}/src/storage
COPY openclaw ${LAMBDA_TASK_ROOT}/src/openclaw
COPY channels ${LAMBDA_TASK_ROOT}/src/channels
COPY ingress ${LAMBDA_TASK_ROOT}/src/ingress
COPY dispatcher ${LAMBDA_TASK_ROOT}/src/dispatcher
COPY egress ${LAMBDA_TASK_ROOT}/src/egress
COPY agent ${LAMBDA_TASK_ROOT}/src/agent
COPY scheduler ${LAMBDA_TASK_ROOT}/src/scheduler
COPY local ${LAMBDA_TASK_ROOT}/src/local
COPY cli ${LAMBDA_TASK_ROOT}/src/cli
RUN pip install --no-cache-dir "${LAMBDA_TASK_ROOT}/src" && rm -rf "${LAMBDA_TASK_ROOT}/src"

# Lambda runs the image as a non-root user already; ECS tasks run as this one.
USER 1000
CMD ["clawbus.ingress.lambda_handler.handler"]
