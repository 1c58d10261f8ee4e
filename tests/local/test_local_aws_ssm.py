"""The loopback AWS API's SSM backend loads without moto's EC2 (0.9 CPU-s of its start) and still
reaches EC2 the first time SSM needs it (local/aws_ssm.py). Run in a fresh interpreter: which modules
are loaded is the point."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from clawbus.local.aws_ssm import import_ssm

import_ssm()
assert "moto.ec2" not in sys.modules, "EC2 was imported with SSM"
from moto.backends import get_backend

ssm = get_backend("ssm")["123456789012"]["us-east-1"]
ssm.put_parameter(
    name="/clawbus/config", description="", value="{}", parameter_type="String", allowed_pattern=None,
    keyid=None, overwrite=False, tags=[], data_type="text", tier=None, policies=None,
)
assert ssm.get_parameter("/clawbus/config").value == "{}"
assert "moto.ec2" not in sys.modules, "storing a parameter loaded EC2"
import moto.ssm.models as models

assert type(models.ec2_backends["123456789012"]["us-east-1"]).__name__ == "EC2Backend"
import moto.ec2

assert moto.ec2.ec2_backends is models.ec2_backends._real()  # the real module, not the stand-in
print("ok")
"""


def test_ssm_stores_parameters_without_ec2_and_reaches_ec2_when_it_needs_it() -> None:
    argv = [sys.executable, "-c", CHECK]
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "ok"
