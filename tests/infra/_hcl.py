"""Reading the Terraform statically (python-hcl2): modules, their blocks, and simple value resolution.

`terraform validate` and `plan` need provider downloads, which this machine cannot do, so the tests read
the configuration as data: every `.tf` file must parse, and values that matter are resolved from module
`locals` and a few known placeholders (`var.prefix`, `each.key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

TERRAFORM = Path(__file__).resolve().parents[2] / "infra" / "terraform"
_WHOLE = re.compile(r"^\$\{([^{}]*)\}$")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes and block labels' quotes: drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass
class Module:
    """One Terraform module directory, parsed."""

    path: Path
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def resolve(self, value: Any, **names: str) -> Any:
        """A literal, a `${local.x}` of this module, or a template with `${var.x}`/`${each.key}` filled in."""
        value = unquote(value)
        if not isinstance(value, str):
            return value
        whole = _WHOLE.match(value)
        if whole and whole.group(1).startswith("local.") and whole.group(1)[6:] in self.locals:
            return self.resolve(self.locals[whole.group(1)[6:]], **names)
        for name, replacement in names.items():
            value = value.replace("${" + name + "}", replacement)
        return value


def _labelled(blocks: list[dict[str, Any]], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block in blocks:
        for k1, v1 in block.items():
            if depth == 1:
                out[unquote(k1)] = v1
            else:
                inner = out.setdefault(unquote(k1), {})
                for k2, v2 in v1.items():
                    inner[unquote(k2)] = v2
    return out


def load_module(path: Path) -> Module:
    """Parse every `.tf` file of one module directory (raises on a file that does not parse)."""
    module = Module(path=path)
    for tf in sorted(path.glob("*.tf")):
        text = tf.read_text("utf-8")
        module.text += text
        parsed = hcl2.loads(text)
        for kind, depth, target in (
            ("resource", 2, module.resources),
            ("data", 2, module.data),
            ("module", 1, module.modules),
            ("variable", 1, module.variables),
            ("output", 1, module.outputs),
        ):
            for key, value in _labelled(parsed.get(kind, []), depth).items():
                if depth == 2:
                    target.setdefault(key, {}).update(value)
                else:
                    target[key] = value
        for block in parsed.get("locals", []):
            module.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
    return module


def all_modules() -> dict[str, Module]:
    """The root module ("root") and every module under modules/ (by directory name)."""
    found = {"root": load_module(TERRAFORM)}
    for child in sorted((TERRAFORM / "modules").iterdir()):
        if child.is_dir():
            found[child.name] = load_module(child)
    return found
