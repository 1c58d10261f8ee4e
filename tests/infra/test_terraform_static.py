"""The Terraform as text: formatted, parseable, and every reference points at something that exists."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.infra._hcl import TERRAFORM, Module

_VAR = re.compile(r"\bvar\.([a-zA-Z_][a-zA-Z0-9_]*)")
_LOCAL = re.compile(r"\blocal\.([a-zA-Z_][a-zA-Z0-9_]*)")
_MODULE_OUT = re.compile(r"\bmodule\.([a-zA-Z_][a-zA-Z0-9_-]*)(?:\[[^\]]*\])?\.([a-zA-Z_][a-zA-Z0-9_]*)")
_RESOURCE = re.compile(r"(?<![\w.])((?:aws)_[a-z0-9_]+)\.([a-zA-Z_][a-zA-Z0-9_-]*)\b")
_DATA = re.compile(r"\bdata\.([a-z0-9_]+)\.([a-zA-Z_][a-zA-Z0-9_-]*)")
_COMMENT = re.compile(r"#[^\n]*|//[^\n]*")


def _code(module: Module) -> str:
    return _COMMENT.sub("", module.text)


def test_terraform_fmt_check_passes() -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("the terraform binary is not on PATH: cannot run 'terraform fmt -check'")
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


def test_every_module_parses_and_has_content(tf: dict[str, Module]) -> None:
    assert set(tf) == {"root", "role", "bus", "state", "agentcore", "compute", "scheduler", "observability"}
    for name, module in tf.items():
        assert module.resources or module.modules, f"module {name} declares nothing"


def test_every_var_reference_is_declared(tf: dict[str, Module]) -> None:
    for name, module in tf.items():
        used = set(_VAR.findall(_code(module)))
        missing = used - set(module.variables)
        assert not missing, f"module {name} uses undeclared variables {sorted(missing)}"


def test_every_variable_has_a_description_and_is_used(tf: dict[str, Module]) -> None:
    for name, module in tf.items():
        used = set(_VAR.findall(_code(module)))
        for var, body in module.variables.items():
            assert unquote_desc(body), f"variable {name}.{var} has no description"
            assert var in used, f"variable {name}.{var} is declared but never used"


def unquote_desc(body: dict[str, object]) -> str:
    return str(body.get("description", "")).strip('"')


def test_every_local_reference_is_defined(tf: dict[str, Module]) -> None:
    for name, module in tf.items():
        missing = set(_LOCAL.findall(_code(module))) - set(module.locals)
        assert not missing, f"module {name} uses undefined locals {sorted(missing)}"


def test_every_resource_and_data_reference_exists(tf: dict[str, Module]) -> None:
    for name, module in tf.items():
        code = _code(module)
        code_without_data = _DATA.sub("", code)
        for rtype, rname in _RESOURCE.findall(code_without_data):
            if rtype in module.resources and rname in module.resources[rtype]:
                continue
            # Block types (`resource "aws_x" "y"` headers) are not references.
            if f'resource "{rtype}" "{rname}"' in code:
                continue
            raise AssertionError(f"module {name} references {rtype}.{rname}, which it does not declare")
        for dtype, dname in _DATA.findall(code):
            assert dname in module.data.get(dtype, {}), f"module {name} references data.{dtype}.{dname}"


def test_every_module_output_reference_exists(tf: dict[str, Module]) -> None:
    root = tf["root"]
    calls = {
        name: str(body["source"]).strip('"').removeprefix("./modules/") for name, body in root.modules.items()
    }
    assert set(calls.values()) <= set(tf), f"module sources point outside modules/: {calls}"
    for call, output in _MODULE_OUT.findall(_code(root)):
        assert call in calls, f"reference to undeclared module.{call}"
        assert output in tf[calls[call]].outputs, (
            f"module.{call}.{output}: modules/{calls[call]} has no such output"
        )


def test_every_module_call_passes_exactly_the_declared_variables(tf: dict[str, Module]) -> None:
    meta = {"source", "count", "for_each", "depends_on", "providers", "__is_block__"}
    for call, body in tf["root"].modules.items():
        child = tf[str(body["source"]).strip('"').removeprefix("./modules/")]
        passed = {k for k in body if not k.startswith("__")} - meta
        unknown = passed - set(child.variables)
        assert not unknown, f"module {call} passes undeclared inputs {sorted(unknown)}"
        required = {v for v, spec in child.variables.items() if "default" not in spec}
        assert required <= passed, f"module {call} misses required inputs {sorted(required - passed)}"


def test_tfvars_example_sets_only_declared_variables(tf: dict[str, Module]) -> None:
    import hcl2

    example = hcl2.loads((TERRAFORM / "terraform.tfvars.example").read_text("utf-8"))
    assigned = {k for k in example if not k.startswith("__")}
    assert assigned <= set(tf["root"].variables), sorted(assigned - set(tf["root"].variables))
    required = {v for v, spec in tf["root"].variables.items() if "default" not in spec}
    assert required <= assigned, f"the example leaves required variables unset: {sorted(required - assigned)}"


def test_every_variable_with_a_constrained_domain_is_validated(tf: dict[str, Module]) -> None:
    must_validate = {
        "prefix",
        "channels",
        "state_bucket_name",
        "agent_runtime_arn",
        "heartbeat_schedule",
        "lambda",
    }
    root = tf["root"].variables
    for name in must_validate:
        assert "validation" in root[name], f"variable {name} has no validation block"


def test_outputs_give_webhooks_queues_and_dashboard(tf: dict[str, Module]) -> None:
    assert {"webhook_urls", "queue_urls", "dashboard_url"} <= set(tf["root"].outputs)
    for name, body in tf["root"].outputs.items():
        assert unquote_desc(body), f"output {name} has no description"


def test_ingress_routes_are_the_contracts(tf: dict[str, Module]) -> None:
    routes = tf["compute"].locals["channel_routes"]
    keys = {k.strip('"') for k in routes} | {"GET /healthz"}
    assert {
        "POST /webhooks/telegram",
        "POST /webhooks/slack/events",
        "POST /webhooks/discord/interactions",
        "GET /webhooks/whatsapp",
        "POST /webhooks/whatsapp",
        "GET /healthz",
    } <= keys
    assert '"GET /healthz"' in str(tf["compute"].locals["routes"])


def _lambda_fields(module: Module) -> dict[str, str]:
    """`var.lambda`'s object fields -> their type text (`optional(number, 50)`, `number`...)."""
    body = str(module.variables["lambda"]["type"])
    return dict(re.findall(r"(\w+)\s*=\s*((?:optional\([^()]*\)|\w+))", body))


def test_lambda_reserved_concurrency_is_opt_in_so_a_new_account_can_apply(tf: dict[str, Module]) -> None:
    """A new account's concurrency quota is 10 and Lambda keeps 10 unreserved: any reservation fails apply."""
    root, compute = _lambda_fields(tf["root"]), _lambda_fields(tf["compute"])
    fields = {"ingress": "ingress_reserved_concurrency", "egress": "egress_reserved_concurrency"}
    for function, field in fields.items():
        assert root.get(field) == "optional(number)", (
            f"lambda.{field} must default to null, is {root.get(field)}"
        )
        assert compute.get(field) == "number", f"the compute module does not take lambda.{field}"
        reserved = tf["compute"].resources["aws_lambda_function"][function]["reserved_concurrent_executions"]
        assert reserved == "${var.lambda." + field + "}", f"{function} reserves {reserved}"
    conditions = " ".join(str(v["condition"]) for v in tf["root"].variables["lambda"]["validation"])
    for field in fields.values():
        assert f"coalesce(var.lambda.{field}, 1) >= 1" in conditions, f"lambda.{field} is not validated"
