"""Each role may do what its code calls, nothing else: infra/iam.py, the code, the JSON and the Terraform
agree."""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

from tests.infra._hcl import TERRAFORM, Module
from tests.infra.iam_rules import iam
from tests.layout import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
# botocore service name -> IAM prefix, for every service a clawbus role might call.
SERVICES = {
    "sqs": "sqs",
    "sns": "sns",
    "dynamodb": "dynamodb",
    "s3": "s3",
    "bedrock-agentcore": "bedrock-agentcore",
    "bedrock-runtime": "bedrock",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "scheduler": "scheduler",
    "transcribe": "transcribe",  # voice notes in AWS (agent/media/transcribe.py, issue 20)
}
# Receivers whose name says which client they are, to tell apart operations several services share.
HINTS = {
    "sqs": "sqs",
    "sns": "sns",
    "ddb": "dynamodb",
    "dynamodb": "dynamodb",
    "s3": "s3",
    "agentcore": "bedrock-agentcore",
}


@cache
def _operations() -> dict[str, set[str]]:
    """python method name -> IAM actions it may be (one per service that has it)."""
    session = botocore.session.get_session()
    found: dict[str, set[str]] = {}
    for service, prefix in SERVICES.items():
        for op in session.get_service_model(service).operation_names:
            action = f"{prefix}:{op}"
            found.setdefault(xform_name(op), set()).add(iam.IAM_ACTION_FOR_OPERATION.get(action, action))
    return found


def _receiver(node: ast.expr) -> str:
    return ast.unparse(node).lower().replace("_", "")


def calls_in(path: Path) -> set[str]:
    """The IAM actions of every AWS client call in one module (`x.op(...)`, `x.get_paginator("op")`)."""
    ops = _operations()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        if method in ("get_paginator", "get_waiter") and node.args and isinstance(node.args[0], ast.Constant):
            method = str(node.args[0].value)
        candidates = ops.get(method)
        if not candidates:
            continue
        if len(candidates) > 1:
            hint = next((svc for word, svc in HINTS.items() if word in _receiver(node.func.value)), None)
            candidates = {a for a in candidates if hint and a.startswith(SERVICES[hint] + ":")}
            assert len(candidates) == 1, f"{path}:{node.lineno}: cannot tell which service .{method}() calls"
        found |= candidates
    return found


def _files(spec: str) -> list[Path]:
    target = ROOT / spec
    return sorted(target.rglob("*.py")) if target.is_dir() else [target] if target.exists() else []


def role_calls(role: str) -> set[str]:
    """Actions the modules a role runs call, minus the ones listed as never reached by that role."""
    found: set[str] = set()
    for spec in iam.ROLE_MODULES[role]:
        for path in _files(spec):
            found |= calls_in(path)
    return (found | set(iam.SIGNED_CALLS.get(role, {}))) - set(iam.UNUSED_CALLS.get(role, {}))


def test_signed_calls_are_named_by_the_module_that_makes_them() -> None:
    for role, signed in iam.SIGNED_CALLS.items():
        for action, module in signed.items():
            assert any(module.startswith(spec) for spec in iam.ROLE_MODULES[role]), (
                f"{role} never runs {module}"
            )
            assert action in (ROOT / module).read_text("utf-8"), f"{module} does not say it calls {action}"


def test_the_scanner_sees_the_calls_we_know_about() -> None:
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sns:Publish", "sns:ListTopics"} <= calls_in(
        ROOT / "bus" / "queues.py"
    )
    assert calls_in(ROOT / "dispatcher" / "agentcore.py") == {"bedrock-agentcore:InvokeAgentRuntime"}
    assert {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"} <= calls_in(
        ROOT / "storage" / "records_dynamodb.py"
    )
    assert calls_in(ROOT / "channels" / "webchat" / "outbound.py") == set()  # it goes through the RecordStore


def test_each_roles_code_grants_are_exactly_its_code_calls() -> None:
    for role in iam.ROLE_MODULES:
        calls = role_calls(role)
        granted = iam.code_actions(role)
        assert calls <= granted, (
            f"{role} code calls {sorted(calls - granted)} without a grant in infra/iam.py"
        )
        assert granted <= calls, f"{role} is granted {sorted(granted - calls)} that its code never calls"


def test_unused_call_exceptions_are_real_calls_with_reasons() -> None:
    for role, unused in iam.UNUSED_CALLS.items():
        seen: set[str] = set()
        for spec in iam.ROLE_MODULES[role]:
            for path in _files(spec):
                seen |= calls_in(path)
        assert set(unused) <= seen, (
            f"{role}: UNUSED_CALLS lists calls nobody makes: {sorted(set(unused) - seen)}"
        )
        assert all(reason.strip() for reason in unused.values())


def test_every_aws_call_in_the_code_belongs_to_a_role_or_the_operator() -> None:
    covered = {str(p) for role in iam.ROLE_MODULES for spec in iam.ROLE_MODULES[role] for p in _files(spec)}
    covered |= {str(p) for spec in iam.OPERATOR_MODULES for p in _files(spec)}
    for package in PACKAGES:
        for path in _files(package):
            if calls_in(path):
                assert str(path) in covered, (
                    f"{path.relative_to(ROOT)} calls AWS but no role in infra/iam.py runs it"
                )


def test_no_wildcard_actions_and_star_resources_only_for_non_resource_actions() -> None:
    for role, grants in iam.ROLES.items():
        for grant in grants:
            for action in grant.actions:
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), (
                    f"{role}/{grant.sid}: {action} has a wildcard"
                )
            if grant.resource == iam.WILDCARD_KIND:
                extra = set(grant.actions) - iam.NON_RESOURCE_ACTIONS
                assert not extra, (
                    f"{role}/{grant.sid}: {sorted(extra)} on Resource * (they support resource ARNs)"
                )
            if grant.source == "platform":
                assert grant.why, f"{role}/{grant.sid}: a platform grant needs its reason"


def test_checked_in_json_is_rendered_from_infra_iam() -> None:
    checked_in = (TERRAFORM / "iam_actions.json").read_text("utf-8")
    assert checked_in == iam.render_json(), (
        "infra/terraform/iam_actions.json is stale: run python infra/iam.py"
    )
    assert set(json.loads(checked_in)["roles"]) == set(iam.ROLES)


def test_every_role_in_terraform_uses_its_json_grants_and_resolves_every_kind(tf: dict[str, Module]) -> None:
    root = tf["root"]
    assert 'jsondecode(file("${path.module}/iam_actions.json")).roles' in str(root.locals["iam"])
    roles = {name: body for name, body in root.modules.items() if str(body["source"]) == '"./modules/role"'}
    used = {}
    for name, body in roles.items():
        grants = re.fullmatch(r'\$\{local\.iam\["(\w+)"\]\}', str(body["grants"]))
        assert grants, f"module {name} does not take its grants from iam_actions.json: {body['grants']}"
        role = grants.group(1)
        used[role] = name
        kinds = {g.resource for g in iam.ROLES[role]}
        passed = {k for k in body["resources"] if not k.startswith("__")}
        assert kinds <= passed, f"module {name} does not say which ARNs {sorted(kinds - passed)} are"
        assert passed <= kinds, f"module {name} maps kinds its role never uses: {sorted(passed - kinds)}"
        for kind, value in body["resources"].items():
            if kind != iam.WILDCARD_KIND and not kind.startswith("__") and kind != "agentcore_metrics":
                assert '*"' not in str(value).replace(":*", "").replace("/*", ""), f"{name}.{kind} is {value}"
    assert set(used) == set(iam.ROLES), (
        f"roles without a Terraform role: {sorted(set(iam.ROLES) - set(used))}"
    )


def test_role_module_builds_policies_only_from_grants(tf: dict[str, Module]) -> None:
    role = tf["role"]
    statement = str(role.data["aws_iam_policy_document"]["policy"])
    assert "statement.value.actions" in statement
    assert "var.resources[statement.value.resource]" in statement
    # No other policy attachments anywhere: every permission goes through modules/role.
    for name, module in tf.items():
        for rtype in ("aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_policy_attachment"):
            assert rtype not in module.resources, f"module {name} attaches permissions outside modules/role"
