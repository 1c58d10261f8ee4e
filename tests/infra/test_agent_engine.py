"""Terraform's `agent_engine` chooses the agent's engine, and the engine can read what it reads at start.

The OpenClaw engine reads the user's stored openclaw.json from the configuration store (SSM by default, a
SecureString under the deployment's KMS key) before it starts the gateway: without the read or the decrypt
the container fails its initialisation, so every new AgentCore session would fail. The actions are the ones
the store's read path calls, found in its code the way tests/infra/test_iam.py finds them.
"""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

from clawbus.agent.engines.openclaw import launch
from clawbus.bus.settings import AgentSettings, StorageSettings
from clawbus.storage.config import config_parameter_name
from tests.infra._hcl import TERRAFORM, Module, unquote
from tests.infra.iam_rules import iam
from tests.infra.test_iam import calls_in

ROOT = TERRAFORM.parents[1]
CONFIG_STORE = ROOT / "storage" / "config.py"


def _engines() -> set[str]:
    return set(typing.get_args(AgentSettings.model_fields["engine"].annotation))


def _allowed(variable: dict[str, typing.Any], name: str) -> set[str]:
    (validation,) = variable["validation"]
    listed = re.fullmatch(rf"\$\{{contains\(\[(.*)\], var\.{name}\)\}}", validation["condition"])
    assert listed, f"var.{name} is not validated as a list of engines: {validation['condition']}"
    return {unquote(v.strip()) for v in listed.group(1).split(",")}


def test_agent_engine_defaults_to_openclaw_and_allows_exactly_the_engines(tf: dict[str, Module]) -> None:
    root, agentcore = tf["root"], tf["agentcore"]
    variable = root.variables["agent_engine"]

    assert unquote(variable["default"]) == "openclaw"
    assert _allowed(variable, "agent_engine") == _engines()
    assert _allowed(agentcore.variables["engine"], "engine") == _engines()


def test_agent_engine_reaches_the_runtimes_environment(tf: dict[str, Module]) -> None:
    assert tf["root"].modules["agentcore"]["engine"] == "${var.agent_engine}"
    runtime = tf["agentcore"].resources["aws_bedrockagentcore_agent_runtime"]["agent"]
    # the environment is `merge({...}, <tracing's>)`: the engine is in the map every deployment gets
    always = str(runtime["environment_variables"]).split("}, ")[0]
    assert re.search(r"\bCLAWBUS_AGENT__ENGINE = var\.engine\b", always), always


def _read_path_calls(scratch: Path) -> set[str]:
    """IAM actions of `SsmConfigStore.read` and the methods of the store it calls."""
    tree = ast.parse(CONFIG_STORE.read_text("utf-8"))
    store = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SsmConfigStore")
    methods = {n.name: n for n in store.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)}
    todo, seen = ["read"], set()
    while todo:
        name = todo.pop()
        seen.add(name)
        for node in ast.walk(methods[name]):
            if (
                (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                )
                and node.attr in methods
                and node.attr not in seen
            ):
                todo.append(node.attr)
    source = "\n".join(ast.unparse(methods[name]) for name in sorted(seen))
    path = scratch / "read_path.py"
    path.write_text(source, "utf-8")
    return calls_in(path)


def test_the_agent_role_can_read_and_decrypt_the_config_the_engine_reads_at_start(
    tf: dict[str, Module], tmp_path: Path
) -> None:
    # The engine's start reads the stored config through the configuration store's read.
    assert "await stored_config(settings)" in inspect.getsource(launch.open_openclaw_engine)
    assert "config_store(settings, clients).read()" in inspect.getsource(launch.stored_config)
    assert StorageSettings().config == "ssm", "the agent's Terraform leaves the store at its default"
    assert "CLAWBUS_STORAGE__CONFIG" not in str(
        tf["agentcore"].resources["aws_bedrockagentcore_agent_runtime"]["agent"]["environment_variables"]
    )
    reads = _read_path_calls(tmp_path)
    assert reads, "found no SSM call on SsmConfigStore.read's path"
    assert all(action.startswith("ssm:") for action in reads)

    grants = iam.ROLES["agent"]
    on_parameter = {a for g in grants if g.resource == "config_parameter" for a in g.actions}
    on_key = {a for g in grants if g.resource == "kms_key" for a in g.actions}
    assert reads <= on_parameter, f"the agent role cannot {sorted(reads - on_parameter)} the config"
    assert "kms:Decrypt" in on_key, "the agent role cannot decrypt the SecureString config"

    # ...and the Terraform points those kinds at that parameter and the key it is encrypted with.
    resources = tf["root"].modules["role_agent"]["resources"]
    assert resources["config_parameter"] == ["${module.state.config_parameter_arn}"]
    parameter = tf["state"].resources["aws_ssm_parameter"]["config"]
    assert unquote(parameter["type"]) == "SecureString"
    assert parameter["key_id"] == "${var.kms_key_arn}"
    assert tf["root"].modules["state"]["kms_key_arn"] == "${aws_kms_key.this.arn}"
    assert resources["kms_key"] == "${local.kms}"
    assert tf["root"].locals["kms"] == ["${aws_kms_key.this.arn}"]
    assert unquote(parameter["name"]).replace("${var.prefix}", "p") == config_parameter_name("p")
