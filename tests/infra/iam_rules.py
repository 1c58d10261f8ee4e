"""infra/iam.py, the roles' grants, loaded from its file: it lives with the Terraform it renders, outside the
installed package (it imports only pydantic)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "infra" / "iam.py"
_NAME = "clawbus_infra_iam"


def _load() -> object:
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module  # pydantic resolves the models' postponed annotations through it
    spec.loader.exec_module(module)
    return module


iam = _load()
