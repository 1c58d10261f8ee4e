// clawbus's per-turn tool trust for the OpenClaw engine: before each turn's prompt is built, ask the
// agent container's loopback callback (clawbus.agent.engines.openclaw.trust.callback) whether the turn,
// named by the session key from OpenClaw's hook context, is trusted. A trusted turn keeps its tools; any
// other gets the callback's `toolsAllow`. OpenClaw ignores a hook that throws or times out (fail open),
// so this one never throws and answers "no tools" itself on any failure (fail closed).
const TIMEOUT_MS = 5_000; // well under OpenClaw's 15 s budget for before_prompt_build

function isNames(value) {
  return Array.isArray(value) && value.every((name) => typeof name === "string");
}

// Root memory files: OpenClaw leaves them out of group, channel, cron and sub-agent sessions only; an
// untrusted DM (an open DM, an unpaired sender) must not see the owner's memory either.
const MEMORY_FILE = /(^|[\\/])memory(\.md)?$|(^|[\\/])memory[\\/]/i;

function isMemory(file) {
  return MEMORY_FILE.test(String(file?.name ?? "")) || MEMORY_FILE.test(String(file?.path ?? ""));
}

export default {
  id: "clawbus-trust",
  name: "clawbus trust",
  description: "Narrows an untrusted turn's tools to clawbus's untrusted tool policy.",
  register(api) {
    const { url, token } = api.pluginConfig ?? {};
    async function trusted(sessionKey, agentId) {
      // The callback's answer: true for a trusted turn, else the tools it may keep (fail closed: none).
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ sessionKey: sessionKey ?? null, agentId: agentId ?? null }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (!response.ok) return [];
        const answer = await response.json();
        if (answer?.trusted === true) return true;
        return isNames(answer?.toolsAllow) ? answer.toolsAllow : [];
      } catch {
        return [];
      }
    }
    api.on(
      "before_prompt_build",
      async (_event, ctx) => {
        const answer = await trusted(ctx?.sessionKey, ctx?.agentId);
        return answer === true ? undefined : { toolsAllow: answer };
      },
      { priority: 1000 },
    );
    try {
      api.registerHook(
      "agent:bootstrap",
      async (event) => {
        const files = event?.context?.bootstrapFiles;
        if (!Array.isArray(files)) return;
        const answer = await trusted(event.sessionKey, event.context.agentId);
        if (answer !== true) event.context.bootstrapFiles = files.filter((file) => !isMemory(file));
      },
      { name: "clawbus-trust-memory", description: "No owner memory in an untrusted turn's prompt." },
    );
    } catch (error) {
      api.logger?.error?.(`clawbus-trust: the memory filter is not registered: ${error}`);
    }
  },
};
