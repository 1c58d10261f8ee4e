"""The loopback AWS API's SSM backend, imported without EC2 (issue 21, a fast start).

moto 5.2.5's `moto/ssm/models.py` begins with `from moto.ec2 import ec2_backends`, which imports the
whole EC2 service: 0.9 of the 1.0 CPU-s the loopback API spent loading its backends, on the path to
every stage's start (the configuration document lives in SSM). SSM uses EC2 only when a Run Command
targets instances or a parameter is typed `aws:ec2:image`; clawbus does neither. `import_ssm` imports
SSM against a stand-in whose `ec2_backends` loads the real EC2 backends the first time SSM touches them,
and takes the stand-in out of `sys.modules` again, so anything importing `moto.ec2` gets the real one.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _Ec2Backends:
    """`moto.ec2.ec2_backends` as SSM's module holds it: the real one, loaded on first use."""

    @staticmethod
    def _real() -> Any:
        return importlib.import_module("moto.ec2").ec2_backends

    def __getitem__(self, account_id: str) -> Any:
        return self._real()[account_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def import_ssm() -> None:
    """Import moto's SSM service (once), EC2 left for when SSM first needs it."""
    if "moto.ssm" in sys.modules or "moto.ec2" in sys.modules:
        return  # already imported, or EC2 is loaded anyway: nothing to save
    stand_in = types.ModuleType("moto.ec2")
    stand_in.ec2_backends = _Ec2Backends()  # type: ignore[attr-defined]
    sys.modules["moto.ec2"] = stand_in
    try:
        importlib.import_module("moto.ssm")
    finally:
        if sys.modules.get("moto.ec2") is stand_in:
            del sys.modules["moto.ec2"]
