"""The user's model keys reach the OpenClaw gateway from the secret store, through its environment only.

The launched-process test runs a stand-in `openclaw` (a Python script that answers `/health` on the
configured port and writes down the key it was given): what matters here is the process boundary, not
OpenClaw (the real gateway's env handling is its own, docs/gateway/authentication.md).
"""

from __future__ import annotations

import json
import logging
import stat
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from clawbus.agent.engines.openclaw.gateway import Gateway, GatewaySpec, gateway_env
from clawbus.agent.engines.openclaw.launch import model_credentials
from clawbus.bus.serve import free_loopback_port
from clawbus.bus.settings import Settings
from clawbus.openclaw.model_credentials import model_secret_name
from tests.conftest import Bus

KEY = "sk-ant-stored-in-secrets-manager"


def _spec(tmp_path: Path, openclaw: Path) -> GatewaySpec:
    return GatewaySpec(
        openclaw=openclaw,
        node_bin=tmp_path,
        state_dir=tmp_path / "openclaw-state",
        log_path=tmp_path / "openclaw-state.log",
        port=free_loopback_port(),
        start_timeout_s=20.0,
    )


def test_a_stored_key_is_in_the_gateways_environment_unless_the_operator_set_that_name(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, tmp_path / "openclaw")
    stored = {"ANTHROPIC_API_KEY": SecretStr(KEY), "OPENAI_API_KEY": SecretStr("sk-stored-openai")}
    env = gateway_env(spec, {"PATH": "/usr/bin", "OPENAI_API_KEY": "sk-operator"}, stored)
    assert env["ANTHROPIC_API_KEY"] == KEY
    assert env["OPENAI_API_KEY"] == "sk-operator"
    assert env["OPENCLAW_STATE_DIR"] == str(spec.state_dir)
    assert env["PATH"].startswith(f"{tmp_path}:")


FAKE_OPENCLAW = """\
import http.server, json, os, pathlib
state = pathlib.Path(os.environ["OPENCLAW_STATE_DIR"])
port = json.loads((state / "openclaw.json").read_text())["gateway"]["port"]
(state / "seen-key").write_text(os.environ.get("ANTHROPIC_API_KEY", "<none>"))
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


async def test_the_launched_gateway_sees_the_stored_key_and_no_file_holds_it(
    bus: Bus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with bus.aio("secretsmanager") as sm:
        await sm.create_secret(
            Name=model_secret_name(bus.prefix), SecretString=json.dumps({"ANTHROPIC_API_KEY": KEY})
        )
    settings = Settings.model_validate(
        {"aws": bus.aws.model_dump(), "bus": {"prefix": bus.prefix}, "local": {"data_dir": str(tmp_path)}}
    )
    credentials = await model_credentials(settings)

    script = tmp_path / "fake-openclaw"
    script.write_text(f"#!{sys.executable}\n{FAKE_OPENCLAW}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    spec = _spec(tmp_path, script)
    gateway = Gateway(spec, {"gateway": {"port": spec.port}}, credentials)
    await gateway.start()
    try:
        assert (spec.state_dir / "seen-key").read_text() == KEY
    finally:
        await gateway.stop()
    (spec.state_dir / "seen-key").unlink()  # the stand-in's own note; nothing clawbus wrote holds the key
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != script]
    assert written, "the gateway's config and log were written"
    assert not [p for p in written if KEY.encode() in p.read_bytes()]
    ours = "\n".join(str(vars(r)) for r in caplog.records if r.name.startswith("clawbus"))
    assert KEY not in ours
    assert "ANTHROPIC_API_KEY" in ours  # the log names what was loaded, never its value


async def test_no_stored_secret_means_no_keys(bus: Bus, tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "aws": bus.aws.model_dump(),
            "bus": {"prefix": bus.prefix + "-none"},
            "local": {"data_dir": str(tmp_path)},
        }
    )
    assert await model_credentials(settings) == {}
