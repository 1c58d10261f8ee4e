"""Which AWS actions each clawbus role may perform, on which resources: one list for code and Terraform.

A *role* is one identity in AWS (the ingress Lambda, the dispatcher's ECS task, one egress Lambda per
channel, the scheduler, the agent runtime...). Its permissions are a tuple of `Grant`s: a set of IAM
actions on one *resource kind* (`inbound_queue`, `webchat_table`, ...), which `infra/terraform` resolves
to ARNs. A grant is either:

- `code`: an action the role's own code performs through an AWS client. `tests/infra/test_iam.py` reads
  the modules listed in `ROLE_MODULES`, finds every client call (`.send_message(`, `.publish(`,
  `.invoke_agent_runtime(`...), and fails when a call has no grant or a grant has no call;
- `platform`: an action AWS performs on the role's behalf (a Lambda event source polling its queue, the
  ECS agent pulling an image, KMS for encrypted queues), each with the reason it is needed.

`infra/terraform/iam_actions.json` is rendered from this module (`python infra/iam.py`), and the
Terraform builds every policy from that file, so the code, the JSON and the deployed policies cannot
drift apart silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

Source = Literal["code", "platform"]

# Resource kinds whose only meaningful resource is "*": the API has no resource-level permissions.
WILDCARD_KIND = "any"
# Actions that accept nothing but Resource "*" (IAM service authorization reference).
NON_RESOURCE_ACTIONS = frozenset(
    {
        "sns:ListTopics",
        "ecr:GetAuthorizationToken",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:PutSpans",
        "xray:PutSpansForIndexing",
        "cloudwatch:PutMetricData",
        "scheduler:ListSchedules",
    }
)

# IAM names of AWS operations whose action is not `<service>:<OperationName>`.
IAM_ACTION_FOR_OPERATION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:DeleteObjects": "s3:DeleteObject",
    # TransactWriteItems is authorised per item by the item's own action; we only put.
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",
    # BatchExecuteStatement is authorised per statement by its PartiQL action; clawbus only inserts
    # (storage/inserts_dynamodb.py).
    "dynamodb:BatchExecuteStatement": "dynamodb:PartiQLInsert",
    # Bedrock Runtime's Converse APIs are authorised as InvokeModel[WithResponseStream].
    "bedrock:Converse": "bedrock:InvokeModel",
    "bedrock:ConverseStream": "bedrock:InvokeModelWithResponseStream",
}


class Grant(BaseModel):
    """Some actions on one kind of resource, and why the role needs them."""

    model_config = ConfigDict(frozen=True)

    sid: str
    resource: str
    actions: tuple[str, ...]
    source: Source = "code"
    why: str = ""


_KMS_USE = Grant(
    sid="KmsForEncryptedBus",
    resource="kms_key",
    actions=("kms:Decrypt", "kms:GenerateDataKey"),
    source="platform",
    why="queues, topic, tables, bucket, secrets, config parameter and images use the deployment's KMS key",
)
_SECRETS = Grant(
    sid="ChannelSecrets",
    resource="channel_secrets",
    actions=("secretsmanager:GetSecretValue",),
    why="bus.secret_env loads the channel's credentials (bus.storage.secrets) into CLAWBUS_* variables",
)
_CONFIG = (
    Grant(
        sid="ReadConfigDocument",
        resource="config_parameter",
        actions=("ssm:GetParameterHistory",),
        why="openclaw.document_settings reads openclaw.json (SSM /<prefix>/config) once at stage start",
    ),
    Grant(
        sid="ReadConfigObject",
        resource="config_object",
        actions=("s3:GetObject",),
        why="the same document with CLAWBUS_STORAGE__CONFIG=s3: config/openclaw.json in the state bucket",
    ),
)
_LAMBDA_LOGS = Grant(
    sid="OwnLogGroup",
    resource="log_group",
    actions=("logs:CreateLogStream", "logs:PutLogEvents"),
    source="platform",
    why="the Lambda runtime writes the function's JSON logs to its own log group",
)
_XRAY = Grant(
    sid="XRayTraces",
    resource=WILDCARD_KIND,
    actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
    source="platform",
    why="active tracing on the function (X-Ray accepts only Resource *)",
)
# X-Ray's OTLP endpoint (https://xray.<region>.amazonaws.com/v1/traces) authorises a SigV4-signed span
# export as xray:PutSpans, plus xray:PutSpansForIndexing for the share of spans Transaction Search indexes.
# It is an HTTP endpoint, not a botocore operation, so tests/infra/test_iam.py cannot find the call: hence
# `platform`, with the code named in `why`.
_XRAY_OTLP = Grant(
    sid="XRayOtlpSpans",
    resource=WILDCARD_KIND,
    actions=("xray:PutSpans", "xray:PutSpansForIndexing"),
    source="platform",
    why="with tracing = true (CLAWBUS_TRACING__EXPORT=xray) bus/xray_otlp.py posts the stage's spans to "
    "X-Ray's OTLP endpoint, SigV4-signed with this role (X-Ray accepts only Resource *)",
)
_INGRESS = (
    Grant(
        sid="EnqueueInbound",
        resource="inbound_queue",
        actions=("sqs:GetQueueUrl", "sqs:SendMessage"),
        why="InboundPublisher puts normalised events on the inbound FIFO queue",
    ),
    Grant(
        sid="ReadWebchatReplies",
        resource="webchat_table",
        actions=("dynamodb:Query",),
        why="WebChat's long poll reads delivered replies per conversation",
    ),
    Grant(
        sid="ReadReplyMedia",
        resource="reply_media",
        actions=("s3:GetObject",),
        why="ingress.http.webchat_media serves the files replies send to the WebChat page",
    ),
    Grant(
        sid="DedupRecords",
        resource="ledger_table",
        actions=("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"),
        why="ingress.dedup_store claims in:<event_id> records (7-day dedup beyond SQS's 5 minutes)",
    ),
    Grant(
        sid="PairingStore",
        resource="pairing_table",
        actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
        why="ingress.pairing_store keeps pending codes and approved senders; storage.identity_links "
        "keeps /link codes, attempt counters (UpdateItem ADD) and the links",
    ),
    Grant(
        sid="PublishPairingReplies",
        resource="outbound_topic",
        actions=("sns:Publish",),
        why="an unknown sender's pairing code goes out through egress like any reply",
    ),
    Grant(
        sid="FindOutboundTopic",
        resource=WILDCARD_KIND,
        actions=("sns:ListTopics",),
        why="resolve_topic_arn finds the topic by name (ListTopics has no resource-level permission)",
    ),
    _SECRETS,
    *_CONFIG,
    _KMS_USE,
)
_WEBCHAT_UPLOADS = Grant(
    sid="WebchatUploads",
    resource="media_uploads",
    actions=("s3:PutObject",),
    why="ingress.http.uploads keeps WebChat's uploaded files at media/uploads/<sha256> (issue 20)",
)
_CONSUME_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)

ROLES: dict[str, tuple[Grant, ...]] = {
    "ingress": (*_INGRESS, _WEBCHAT_UPLOADS, _LAMBDA_LOGS, _XRAY, _XRAY_OTLP),
    "relay": (*_INGRESS, _XRAY_OTLP),
    "dispatcher": (
        _XRAY_OTLP,
        Grant(
            sid="ConsumeInbound",
            resource="inbound_queue",
            actions=_CONSUME_ACTIONS,
            why="FifoConsumer receives, extends visibility on a heartbeat, and deletes handled turns",
        ),
        Grant(
            sid="DeadLetterInbound",
            resource="inbound_dlq",
            actions=("sqs:GetQueueUrl", "sqs:SendMessage"),
            why="permanent failures go to the DLQ with reason attributes",
        ),
        Grant(
            sid="PublishReplies",
            resource="outbound_topic",
            actions=("sns:Publish",),
            why="replies fan out to the channels' egress queues",
        ),
        Grant(
            sid="FindOutboundTopic",
            resource=WILDCARD_KIND,
            actions=("sns:ListTopics",),
            why="resolve_topic_arn finds the topic by name (ListTopics has no resource-level permission)",
        ),
        Grant(
            sid="InvokeAgent",
            resource="agent_runtime",
            actions=("bedrock-agentcore:InvokeAgentRuntime",),
            why="one InvokeAgentRuntime per turn",
        ),
        Grant(
            sid="TurnLedger",
            resource="ledger_table",
            actions=("dynamodb:BatchGetItem", "dynamodb:PartiQLInsert", "dynamodb:PutItem"),
            why="dispatcher.ledger records each finished turn once (PartiQL inserts of concurrent turns in "
            "one BatchExecuteStatement; a conditional put over an expired record or a merged turn's "
            "transaction), and reads turns and intents batched",
        ),
        Grant(
            sid="ClaimChecks",
            resource="claim_check_objects",
            actions=("s3:GetObject", "s3:PutObject"),
            why="bodies over SNS's 256 KiB travel through the state bucket (claim-check/*)",
        ),
        Grant(
            sid="InboundMedia",
            resource="media_objects",
            actions=("s3:GetObject", "s3:PutObject"),
            why="dispatcher.media_fetch stores users' files at media/<session>/<sha256> (create-only) and "
            "reads WebChat's uploads (media/uploads/*) (issue 20)",
        ),
        _SECRETS,  # the channels' tokens fetch users' files (Telegram getFile, WhatsApp media, Slack files)
        Grant(
            sid="LastRoutes",
            resource="sessions_table",
            actions=("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"),
            why="dispatcher.scheduled moves the last route, dispatcher.session_queues keeps `/queue`, on "
            "session entries (versioned puts) and reads them (in the BatchGetItem the planner shares with "
            "its ledger reads, storage/reads_dynamodb.py)",
        ),
        Grant(
            sid="CronRunHistory",
            resource="cron_table",
            actions=("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"),
            why="a finished cron turn appends its run; a finished one-shot's record is deleted",
        ),
        *_CONFIG,
        _KMS_USE,
    ),
    "egress": (
        Grant(
            sid="ConsumeEgress",
            resource="egress_queue",
            actions=_CONSUME_ACTIONS,
            why="the process-mode worker consumes the channel's queue with FifoConsumer",
        ),
        Grant(
            sid="EventSourcePolling",
            resource="egress_queue",
            actions=("sqs:GetQueueAttributes",),
            source="platform",
            why="the Lambda SQS event source checks the queue (it also receives and deletes, granted above)",
        ),
        Grant(
            sid="DeadLetterEgress",
            resource="egress_dlq",
            actions=("sqs:GetQueueUrl", "sqs:SendMessage"),
            why="undeliverable replies go to the channel's DLQ with reason attributes",
        ),
        Grant(
            sid="DeliverWebchat",
            resource="webchat_table",
            actions=("dynamodb:PutItem",),
            why="WebChat's 'platform' is a table (only the webchat channel's role resolves it)",
        ),
        Grant(
            sid="SentLedger",
            resource="ledger_table",
            actions=(
                "dynamodb:BatchWriteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
            ),
            why="egress.sent_ledger records each chunk's send intent and receipt (no double posts); the "
            "receipts of concurrent sends share one BatchWriteItem",
        ),
        Grant(
            sid="ReadClaimChecks",
            resource="claim_check_objects",
            actions=("s3:GetObject",),
            why="replies over SNS's 256 KiB arrive as claim-checks in the state bucket",
        ),
        Grant(
            sid="ReadReplyMedia",
            resource="reply_media",
            actions=("s3:GetObject",),
            why="egress.media_delivery reads the files a reply sends (media/<ref>/<sha256>) to upload",
        ),
        _SECRETS,
        *_CONFIG,
        _KMS_USE,
        _LAMBDA_LOGS,
        _XRAY,
        _XRAY_OTLP,
    ),
    "scheduler": (
        Grant(
            sid="SendHeartbeats",
            resource="inbound_queue",
            actions=("sqs:SendMessage",),
            source="platform",
            why="EventBridge Scheduler delivers heartbeat events to the inbound queue",
        ),
        Grant(
            sid="SchedulerDeadLetters",
            resource="scheduler_dlq",
            actions=("sqs:SendMessage",),
            source="platform",
            why="events the scheduler could not deliver land in its standard DLQ",
        ),
        _KMS_USE,
    ),
    "agent": (
        Grant(
            sid="ModelCredentials",
            resource="model_credentials_secret",
            actions=("secretsmanager:GetSecretValue",),
            why="the OpenClaw engine reads <prefix>/agent/model-credentials into its gateway's environment "
            "(agent.engines.openclaw.launch.model_credentials)",
        ),
        Grant(
            sid="AgentWorkspace",
            resource="agent_workspace",
            actions=("s3:GetObject", "s3:PutObject"),
            why="bus.storage.workspace reads and conditionally writes agents/<agentId>/workspace/*",
        ),
        Grant(
            sid="ReplyMedia",
            resource="reply_media",
            actions=("s3:PutObject",),
            why="agent.reply_media stores the files a reply sends at media/<session>/<sha256> (if absent)",
        ),
        Grant(
            sid="ListAgentWorkspace",
            resource="state_bucket",
            actions=("s3:ListBucket",),
            why="the workspace store lists memory/*.md (a bucket-level action; prefix-limited by condition)",
        ),
        Grant(
            sid="CronJobs",
            resource="cron_table",
            actions=("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
            why="the agent's cron tool keeps job records and reads run history (storage.cron.records)",
        ),
        Grant(
            sid="SessionsTable",
            resource="sessions_table",
            actions=("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
            why="bus.storage.sessions (the session index), transcripts_dynamodb (conditional appends) and "
            "turn_journal (a turn's steps, deleted once the turn is in its transcript)",
        ),
        Grant(
            sid="InboundMedia",
            resource="media_objects",
            actions=("s3:GetObject", "s3:PutObject"),
            why="agent.media reads the users' stored files; Amazon Transcribe writes a voice note's "
            "transcript to media/transcripts/* with the caller's rights (issue 20)",
        ),
        Grant(
            sid="TranscribeVoiceNotes",
            resource="transcription_jobs",
            actions=("transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob"),
            why="agent.media.transcribe (CLAWBUS_MEDIA__TRANSCRIBER=transcribe) runs one job per voice note",
        ),
        Grant(
            sid="TranscriptBodies",
            resource="agent_sessions",
            actions=("s3:GetObject", "s3:PutObject"),
            why="transcript batches over 64 KiB live at agents/<agentId>/sessions/<sessionId>/<seq>.*.json",
        ),
        Grant(
            sid="AgentCoreMemory",
            resource="agentcore_memory",
            actions=(
                "bedrock-agentcore:CreateEvent",
                "bedrock-agentcore:ListEvents",
                "bedrock-agentcore:RetrieveMemoryRecords",
            ),
            why="bus.storage.transcripts_agentcore (SESSION__TRANSCRIPTS=agentcore-memory): events per "
            "turn, long-term records recalled per turn",
        ),
        Grant(
            sid="CronSchedules",
            resource="schedules",
            actions=(
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ),
            why="the cron tool creates, updates and deletes its jobs' schedules (storage.cron.schedules)",
        ),
        Grant(
            sid="ListCronSchedules",
            resource=WILDCARD_KIND,
            actions=("scheduler:ListSchedules",),
            why="cron sync lists the group's schedules (ListSchedules has no resource-level permission)",
        ),
        Grant(
            sid="PassSchedulerRole",
            resource="scheduler_role",
            actions=("iam:PassRole",),
            source="platform",
            why="CreateSchedule/UpdateSchedule hand the scheduler role to EventBridge Scheduler; IAM "
            "checks iam:PassRole on that call (it is no client call of its own)",
        ),
        Grant(
            sid="CronRunNow",
            resource="inbound_queue",
            actions=("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"),
            why="cron 'run' sends the job's event now; the service reads the queue's ARN for targets",
        ),
        Grant(
            sid="PullAgentImage",
            resource="agent_repository",
            actions=("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            source="platform",
            why="AgentCore Runtime pulls the agent container image",
        ),
        Grant(
            sid="EcrLogin",
            resource=WILDCARD_KIND,
            actions=("ecr:GetAuthorizationToken",),
            source="platform",
            why="ECR login (GetAuthorizationToken accepts only Resource *)",
        ),
        Grant(
            sid="RuntimeLogs",
            resource="agent_log_group",
            actions=(
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ),
            source="platform",
            why="AgentCore Runtime writes the container's stdout to /aws/bedrock-agentcore/runtimes/*",
        ),
        Grant(
            sid="RuntimeTraces",
            resource=WILDCARD_KIND,
            actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
            source="platform",
            why="AgentCore Runtime observability (X-Ray accepts only Resource *)",
        ),
        _XRAY_OTLP,
        Grant(
            sid="RuntimeMetrics",
            resource="agentcore_metrics",
            actions=("cloudwatch:PutMetricData",),
            source="platform",
            why="AgentCore Runtime metrics; limited to the bedrock-agentcore namespace by a condition",
        ),
        Grant(
            sid="InvokeModels",
            resource="foundation_models",
            actions=("bedrock:InvokeModel",),
            why="agent.models.bedrock calls Converse (var.agent_model_arns; empty with offline/echo)",
        ),
        Grant(
            sid="AgentCoreBrowser",
            resource="agentcore_browser",
            actions=(
                "bedrock-agentcore:ConnectBrowserAutomationStream",
                "bedrock-agentcore:StartBrowserSession",
                "bedrock-agentcore:StopBrowserSession",
            ),
            why="agent.tools.browser_agentcore (AGENT__BROWSER__BACKEND=agentcore) starts a session, "
            "connects to its SigV4-signed automation stream, stops it",
        ),
        *_CONFIG,
        # The config, bucket, tables and inbound queue are encrypted: without it the agent fails at start.
        _KMS_USE,
    ),
    "ecs_execution": (
        Grant(
            sid="PullAppImage",
            resource="app_repository",
            actions=("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            source="platform",
            why="ECS pulls the clawbus image for the dispatcher and relay tasks",
        ),
        Grant(
            sid="EcrLogin",
            resource=WILDCARD_KIND,
            actions=("ecr:GetAuthorizationToken",),
            source="platform",
            why="ECR login (GetAuthorizationToken accepts only Resource *)",
        ),
        Grant(
            sid="TaskLogs",
            resource="log_group",
            actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            source="platform",
            why="the awslogs driver writes task output to the service's log group",
        ),
        _KMS_USE,
    ),
}

# The code each role runs: its AWS client calls must be exactly the role's `code` grants. Paths are
# relative to the repository root (a folder means every module under it).
_INGRESS_MODULES = (
    "ingress",
    "storage/media.py",
    "channels",  # each channel's inbound side (and its relay transport) runs in ingress and the relay
    "bus/queues.py",
    "storage/blobs.py",
    "storage/config.py",
    "bus/secret_env.py",
    "storage/records_dynamodb.py",
    "storage/secrets.py",
    "storage/webchat.py",
)
ROLE_MODULES: dict[str, tuple[str, ...]] = {
    "ingress": _INGRESS_MODULES,
    "relay": _INGRESS_MODULES,
    "dispatcher": (
        "dispatcher",
        "storage/cron/records.py",
        "bus/queues.py",
        "bus/consumer.py",
        "bus/batching.py",
        "bus/visibility.py",
        "storage/claim_check.py",
        "storage/blobs.py",
        "storage/config.py",
        "storage/media.py",
        "storage/records_dynamodb.py",
        "storage/reads_dynamodb.py",
        "storage/inserts_dynamodb.py",
        "storage/sessions.py",
        "bus/secret_env.py",
        "storage/secrets.py",
    ),
    "egress": (
        "egress",
        "channels",  # each channel's outbound client runs in its egress worker
        "bus/queues.py",
        "bus/consumer.py",
        "bus/batching.py",
        "bus/visibility.py",
        "storage/claim_check.py",
        "bus/secret_env.py",
        "storage/blobs.py",
        "storage/config.py",
        "storage/records_dynamodb.py",
        "storage/secrets.py",
        "storage/webchat.py",
    ),
    "agent": (
        "agent",
        "storage/media.py",
        "storage/secrets.py",
        "storage/workspace.py",
        "storage/blobs.py",
        "storage/config.py",
        "storage/records_dynamodb.py",
        "storage/sessions.py",
        "storage/transcripts_dynamodb.py",
        "storage/transcripts_agentcore.py",
        "storage/turn_journal.py",
        "storage/cron/service.py",
        "storage/cron/records.py",
        "storage/cron/schedules.py",
        "bus/queues.py",
    ),
}

# Calls made by a shared module that a role imports but never reaches, with the reason.
_RECORDS = "bus.storage.records_dynamodb is the whole RecordStore; "
_BLOBS = "bus.storage.blobs is the whole BlobStore; "
UNUSED_CALLS: dict[str, dict[str, str]] = {
    "ingress": {
        "sqs:ReceiveMessage": "ingress only sends (Queue.receive is the consumers')",
        "sqs:DeleteMessage": "ingress only sends",
        "sqs:ChangeMessageVisibility": "ingress only sends",
        "sqs:GetQueueAttributes": "the dashboard samples depths on the embedded default only; in AWS "
        "operators use CloudWatch or 'clawbus dashboard' with their own credentials",
        "dynamodb:BatchGetItem": _RECORDS + "ingress reads records one at a time",
        "dynamodb:BatchWriteItem": _RECORDS + "ingress writes records one at a time (batched receipts are "
        "egress's)",
    },
    "dispatcher": {
        "dynamodb:Query": "the dispatcher appends cron runs and reads single jobs; listing is the service's",
        "dynamodb:UpdateItem": _RECORDS + "the dispatcher only puts whole records",
        "dynamodb:BatchWriteItem": _RECORDS + "the dispatcher's puts are conditional, one record each",
        "s3:DeleteObject": _BLOBS + "claim-checked bodies expire by the bucket's lifecycle, not by deletes",
        "s3:ListBucket": _BLOBS + "the dispatcher lists no blobs",
    },
    "agent": {
        "sqs:ReceiveMessage": "the cron tool only sends (Queue.receive is the consumers')",
        "sqs:DeleteMessage": "the cron tool only sends",
        "sqs:ChangeMessageVisibility": "the cron tool only sends",
        "sns:Publish": "the agent never publishes (replies go through the dispatcher)",
        "sns:ListTopics": "the agent never resolves the topic",
        "dynamodb:BatchGetItem": _RECORDS + "cron records are read one job or one partition at a time",
        "dynamodb:UpdateItem": _RECORDS + "cron records are put whole",
        "dynamodb:BatchWriteItem": _RECORDS + "cron records and journal steps are put one at a time",
        "s3:DeleteObject": _BLOBS + "the workspace store never deletes a file",
    },
    "egress": {
        "s3:PutObject": "egress only reads claim-checked bodies (offloading is the dispatcher's)",
        "s3:DeleteObject": _BLOBS + "egress only reads claim-checked bodies",
        "s3:ListBucket": _BLOBS + "egress only reads claim-checked bodies",
        "sns:Publish": "egress never publishes (Topic is the dispatcher's)",
        "sns:ListTopics": "egress never resolves the topic",
        "dynamodb:BatchGetItem": _RECORDS + "egress reads one sent record at a time",
        "dynamodb:UpdateItem": _RECORDS + "egress puts whole records",
        "dynamodb:Query": _RECORDS + "egress never lists records (WebChat's reads are ingress's)",
    },
}
_SECRET_WRITES = {
    "secretsmanager:PutSecretValue": "SecretsManagerStore.put is `clawbus state import`'s (operator)",
    "secretsmanager:CreateSecret": "SecretsManagerStore.put is `clawbus state import`'s (operator)",
    "secretsmanager:ListSecrets": "SecretsManagerStore.names is `clawbus state export`'s (operator)",
}
UNUSED_CALLS["ingress"] |= _SECRET_WRITES
# Stages only read the configuration document; writing it is `clawbus state import`'s and `up`'s seed.
_CONFIG_WRITE = "SsmConfigStore.write is the operator's (state import, up's seed); stages only read"
for _role in ("ingress", "dispatcher", "egress", "agent"):
    UNUSED_CALLS[_role]["ssm:PutParameter"] = _CONFIG_WRITE
UNUSED_CALLS["ingress"] |= {
    "s3:DeleteObject": _BLOBS + "ingress only reads the configuration object and keeps WebChat uploads",
    "s3:ListBucket": _BLOBS + "ingress only reads the configuration object and keeps WebChat uploads",
}
UNUSED_CALLS["egress"] |= _SECRET_WRITES
UNUSED_CALLS["relay"] = UNUSED_CALLS["ingress"] | {
    "s3:PutObject": _BLOBS + "the relay serves no WebChat uploads; it only reads the configuration object",
}
UNUSED_CALLS["dispatcher"] |= _SECRET_WRITES
UNUSED_CALLS["agent"] |= _SECRET_WRITES | {
    "ssm:GetDocument": "SecretsManagerStore.get_document is a Secrets Manager read, not SSM's GetDocument",
}

# Actions a role's code performs outside any botocore client, which the scanner cannot see (a SigV4-signed
# WebSocket), with the module that performs them; they count as that role's code calls.
SIGNED_CALLS: dict[str, dict[str, str]] = {
    "agent": {"bedrock-agentcore:ConnectBrowserAutomationStream": "agent/tools/browser_agentcore.py"},
}

# Modules whose AWS calls run with the operator's credentials, not a deployed role.
# `scheduler/firer.py` is the embedded default's stand-in for EventBridge Scheduler: it never runs in AWS.
OPERATOR_MODULES = (
    "cli",
    "local",  # the embedded default: provisioning, the loopback APIs, their credentials, the seeded secrets
    "bus/aws.py",
    "scheduler/firer.py",
    "storage/config.py",  # the configuration document: `clawbus up` seeds it; no stage reads it yet
)


def code_actions(role: str) -> set[str]:
    """The actions `role`'s own code performs (its `code` grants)."""
    return {action for grant in ROLES[role] if grant.source == "code" for action in grant.actions}


def render() -> dict[str, object]:
    """The JSON document `infra/terraform/iam_actions.json` holds (what the Terraform reads)."""
    return {
        "_comment": "Generated by `python infra/iam.py`; edit infra/iam.py, not this file.",
        "roles": {
            role: [
                {"sid": g.sid, "resource": g.resource, "actions": sorted(g.actions), "source": g.source}
                for g in grants
            ]
            for role, grants in ROLES.items()
        },
    }


def render_json() -> str:
    """`render()` as the exact text of the checked-in file."""
    return json.dumps(render(), indent=2, sort_keys=False) + "\n"


def write_json(path: str | Path) -> None:
    """Write `render_json()` to `path` (run after changing `ROLES`; a test fails until you do)."""
    Path(path).write_text(render_json(), encoding="utf-8")


if __name__ == "__main__":
    write_json(Path(__file__).resolve().parent / "terraform" / "iam_actions.json")
