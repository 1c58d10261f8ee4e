// clawbus's `cron` for the OpenClaw engine: each call goes to the agent container's loopback callback
// (clawbus.agent.engines.openclaw.cron.callback) with the turn's session key, taken from the trusted
// tool context, never from the model. Kept tiny: the logic lives in Python.
const TIMEOUT_MS = 30_000;
const ACTIONS = ["status", "list", "add", "update", "remove", "run", "runs"];

const parameters = {
  type: "object",
  properties: {
    action: { type: "string", enum: ACTIONS },
    job: { type: "object", description: "for add: {name, schedule {kind at|every|cron}, payload {kind systemEvent|agentTurn}, delivery?}" },
    jobId: { type: "string" },
    patch: { type: "object" },
    includeDisabled: { type: "boolean" },
    limit: { type: "integer" },
  },
  required: ["action"],
};

function text(value) {
  return { content: [{ type: "text", text: JSON.stringify(value) }], details: { result: value } };
}

export default {
  id: "clawbus-cron",
  name: "clawbus cron",
  description: "Scheduled jobs on clawbus's cron service.",
  register(api) {
    const { url, token } = api.pluginConfig ?? {};
    api.registerTool(
      (ctx) => ({
        name: "clawbus_cron",
        label: "Cron",
        description:
          "Manage scheduled jobs (replaces OpenClaw's cron tool; jobs fire from clawbus's scheduler): " +
          "action status|list|add|update|remove|run|runs; `job` for add, `jobId` for the others, `patch` for update.",
        parameters,
        async execute(_toolCallId, params, signal) {
          const deadline = AbortSignal.timeout(TIMEOUT_MS); // a stuck callback must not hang the turn
          let response;
          try {
            response = await fetch(url, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ sessionKey: ctx.sessionKey ?? null, agentId: ctx.agentId ?? null, params }),
              signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
            });
          } catch (error) {
            return text({ ok: false, error: `clawbus cron is unreachable: ${error}` });
          }
          if (!response.ok) {
            return text({ ok: false, error: `clawbus cron callback answered HTTP ${response.status}` });
          }
          return text(await response.json());
        },
      }),
      { name: "clawbus_cron" },
    );
  },
};
