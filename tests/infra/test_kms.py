"""Every role that touches a resource the Terraform encrypts with the deployment's key may use that key.

Without kms:Decrypt (reads) and kms:GenerateDataKey (writes) an encrypted queue, topic, table, object,
secret, parameter or image is as good as missing: the stage fails at start with AccessDenied although its
own grant on the resource is right. Both sides are derived, not listed: which resources are encrypted
comes from the Terraform (every resource that names the key, or whose encryption configuration does),
which role touches them from infra/iam.py's grants and iam.tf's map of resource kinds to ARNs.
"""

from __future__ import annotations

import re

from tests.infra._hcl import Module
from tests.infra.iam_rules import iam

_KEY = "aws_kms_key.this"
_RESOURCE_REF = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)\b")
_WHOLE_VAR = re.compile(r"^\$\{var\.(\w+)\}$")
_WHOLE_LOCAL = re.compile(r"^\$\{local\.(\w+)\}$")
# Verbs that store new data under the key (KMS GenerateDataKey); every access decrypts.
_WRITES = ("Put", "Send", "Publish", "Update", "Create")


def _body(value: object) -> str:
    return str(value)


def _encrypted_resources(module: Module, key_vars: set[str]) -> set[tuple[str, str]]:
    """(type, name) of each resource that names the key, or whose encryption configuration names it."""
    found: set[tuple[str, str]] = set()
    for rtype, named in module.resources.items():
        for name, body in named.items():
            if not any(f"var.{v}" in _body(body) or _KEY in _body(body) for v in key_vars):
                continue
            found.add((rtype, name))
            if rtype.endswith("_encryption_configuration"):
                target = _RESOURCE_REF.search(_body(body["bucket"]))
                assert target, f"{rtype}.{name} encrypts nothing we can name"
                found.add((target.group(1), target.group(2)))
    return found


def encrypted_references(tf: dict[str, Module]) -> tuple[set[str], set[str]]:
    """Root-module references that mean an encrypted resource: `module.M.output`s, and locals naming one."""
    root = tf["root"]
    outputs: set[str] = set()
    locals_: set[str] = set()
    for call, args in root.modules.items():
        child = tf.get(str(args["source"]).strip('"').removeprefix("./modules/"))
        if child is None or child is tf["role"]:
            continue
        key_vars = {arg for arg, value in args.items() if _KEY in _body(value)}
        encrypted = _encrypted_resources(child, key_vars)
        for output, body in child.outputs.items():
            if any((t, n) in encrypted for t, n in _RESOURCE_REF.findall(_body(body["value"]))):
                outputs.add(f"module.{call}.{output}")
                outputs.add(f"module.{call}[0].{output}")
        # A local the root passes as a resource's name (`name = var.repository_name`) names that resource.
        for rtype, name in encrypted:
            whole = _WHOLE_VAR.match(_body(child.resources[rtype][name].get("name", "")))
            passed = _WHOLE_LOCAL.match(_body(args.get(whole.group(1), ""))) if whole else None
            if passed:
                locals_.add(passed.group(1))
    return outputs, locals_


def _role_modules(root: Module) -> dict[str, dict[str, object]]:
    """infra/iam.py role name -> its `module "role_*"` block in iam.tf."""
    found = {}
    for body in root.modules.values():
        grants = re.fullmatch(r'\$\{local\.iam\["(\w+)"\]\}', _body(body.get("grants", "")))
        if grants:
            found[grants.group(1)] = body
    return found


def encrypted_kinds(tf: dict[str, Module]) -> dict[str, set[str]]:
    """role -> the resource kinds of its grants whose ARNs are encrypted resources."""
    outputs, locals_ = encrypted_references(tf)
    refs = re.compile(r"\b(module\.\w+(?:\[0\])?\.\w+|local\.\w+)")
    found: dict[str, set[str]] = {}
    for role, body in _role_modules(tf["root"]).items():
        resources = body["resources"]
        assert isinstance(resources, dict)
        found[role] = {
            kind
            for kind, value in resources.items()
            if not kind.startswith("__")
            and any(r in outputs or r.removeprefix("local.") in locals_ for r in refs.findall(_body(value)))
        }
    return found


def test_the_derivation_sees_the_encrypted_resources_we_know_about(tf: dict[str, Module]) -> None:
    kinds = encrypted_kinds(tf)
    assert {
        "inbound_queue",
        "outbound_topic",
        "ledger_table",
        "channel_secrets",
        "config_parameter",
    } <= kinds["ingress"]
    assert {
        "agent_workspace",
        "sessions_table",
        "config_object",
        "inbound_queue",
        "agent_repository",
    } <= kinds["agent"]
    assert "scheduler_dlq" in kinds["scheduler"]
    assert "agentcore_memory" not in kinds["agent"]
    assert "foundation_models" not in kinds["agent"]


def test_every_role_touching_an_encrypted_resource_may_use_the_key(tf: dict[str, Module]) -> None:
    """The agent reads the encrypted config and bucket and sends to the encrypted queue: it needs the key."""
    modules = _role_modules(tf["root"])
    for role, kinds in encrypted_kinds(tf).items():
        touching = [g for g in iam.ROLES[role] if g.resource in kinds]
        if not touching:
            continue
        needed = {"kms:Decrypt"}
        if any(a.split(":", 1)[1].startswith(_WRITES) for g in touching for a in g.actions):
            needed.add("kms:GenerateDataKey")
        on_key = {a for g in iam.ROLES[role] if g.resource == "kms_key" for a in g.actions}
        missing = needed - on_key
        assert not missing, (
            f"role {role} uses encrypted {sorted({g.resource for g in touching})} but lacks {sorted(missing)}"
        )
        key_arns = _body(modules[role]["resources"]["kms_key"])  # type: ignore[index]
        assert key_arns == "${local.kms}"
        assert "aws_kms_key.this.arn" in _body(tf["root"].locals["kms"])
