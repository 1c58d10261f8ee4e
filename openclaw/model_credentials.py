"""Model-provider credentials (API keys) between an OpenClaw directory, the secret store and the gateway.

OpenClaw 2026.9 takes a provider's key headlessly from its process environment (`<PROVIDER>_API_KEY`,
docs/gateway/authentication.md), from `env.vars` in `openclaw.json` (applied only when the environment
lacks the name), or from its per-agent auth store (the `auth_profile_store` table of
`agents/<id>/agent/openclaw-agent.sqlite`, or the shared `state/openclaw.sqlite`; the legacy
`auth-profiles.json` is no longer read at runtime). clawbus keeps all of them in one secret,
`<prefix>/agent/model-credentials`: a JSON object of environment names to values. `clawbus state import`
fills it; the engine reads it at gateway start and passes the values in the gateway's environment only,
so no key is written to a file, to the config store, or to a log (values stay `SecretStr` until the spawn).

What cannot move this way is reported, never silently dropped: OAuth and token profiles (OpenClaw
refreshes them in its own store; log in again with `openclaw models auth …` on a machine whose store the
engine's state dir is) and SecretRef-backed keys (`keyRef`: a reference, the value is elsewhere).
Amazon Bedrock (`amazon-bedrock`, `auth: "aws-sdk"`) uses the AWS credential chain, which the agent's
role already gives the gateway: nothing to hydrate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MODEL_SECRET = "model-credentials"  # noqa: S105  # a secret's short name in `clawbus state`, no value
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_KEY_SUFFIXES = ("_API_KEY", "_API_KEYS")
AWS_CHAIN_PROVIDERS = frozenset({"amazon-bedrock", "bedrock"})  # the AWS credential chain: no key


def model_secret_name(prefix: str) -> str:
    """`<prefix>/agent/model-credentials`: the gateway's provider keys, as environment names to values."""
    return f"{prefix}/agent/{MODEL_SECRET}"


def provider_key_variable(provider: str) -> str:
    """The environment name OpenClaw reads a provider's key from: `openai-codex` → `OPENAI_CODEX_API_KEY`."""
    return re.sub(r"[^A-Z0-9]+", "_", provider.upper()).strip("_") + "_API_KEY"


def from_env_file(env: Mapping[str, str], channel_names: Iterable[str] = ()) -> dict[str, str]:
    """The provider keys in an OpenClaw `.env` (`*_API_KEY`, `*_API_KEYS`), channel tokens left out."""
    skip = set(channel_names)
    return {
        name: value
        for name, value in env.items()
        if name.endswith(_KEY_SUFFIXES) and name not in skip and value and _ENV_NAME.match(name)
    }


def from_config(config: Mapping[str, Any] | None) -> dict[str, str]:
    """`env.vars` of `openclaw.json`: what the user wanted in the gateway's environment (keys, mostly)."""
    env = config.get("env") if config else None
    values = env.get("vars") if isinstance(env, Mapping) else None
    if not isinstance(values, Mapping):
        return {}
    return {str(k): v for k, v in values.items() if isinstance(v, str) and v and _ENV_NAME.match(str(k))}


def from_auth_profiles(stores: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """`(variables, skipped)` from OpenClaw auth stores (`{"profiles": {id: profile}}`): each inline
    `api_key` profile as `<PROVIDER>_API_KEY` (a provider's first profile wins, as its `:default` one
    sorts first); `skipped` is `(profile id, why)` for what an environment variable cannot carry."""
    variables: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for store in stores:
        profiles = store.get("profiles")
        if not isinstance(profiles, Mapping):
            continue
        for profile_id in sorted(profiles, key=lambda p: (not str(p).endswith(":default"), str(p))):
            profile = profiles[profile_id]
            if not isinstance(profile, Mapping):
                continue
            provider = str(profile.get("provider") or str(profile_id).partition(":")[0])
            kind = profile.get("type")
            key = profile.get("key")
            if provider in AWS_CHAIN_PROVIDERS:
                continue
            if kind == "api_key" and isinstance(key, str) and key:
                variables.setdefault(provider_key_variable(provider), key)
            elif kind == "api_key":
                skipped.append((str(profile_id), "a SecretRef key (keyRef): set the variable it points at"))
            else:
                skipped.append(
                    (
                        str(profile_id),
                        f"a {kind} profile: OpenClaw refreshes it in its own store; log in "
                        "again with 'openclaw models auth login', or store an API key instead",
                    )
                )
    return variables, skipped


def without_env_vars(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` without `env.vars` (they go to the secret store, not the config store)."""
    out = dict(config)
    env = out.get("env")
    if isinstance(env, Mapping) and "vars" in env:
        rest = {k: v for k, v in env.items() if k != "vars"}
        if rest:
            out["env"] = rest
        else:
            out.pop("env")
    return out
