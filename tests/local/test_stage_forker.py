"""`clawbus up`'s stages forked from warm imports (cli/stage_forker.py) behave as spawned ones do: each is
its own process with its own environment and log, `up` waits for it, reads its exit code and signals it;
one that fails to start fails its wave by name with its last log line and the others are stopped; a killed
one is restarted; ingress gets its held port. Without a forker, stages start the usual way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from clawbus.cli.stage_forker import Forker
from clawbus.local.forked import ForkedProcess
from clawbus.local.supervisor import Stage, StageFailed, Supervisor
from tests.conftest import Bus
from tests.helpers import free_port, stage_supervisor, wait_for


@pytest.fixture
def forking(bus: Bus, tmp_path: Path) -> Iterator[tuple[Supervisor, dict[str, str]]]:
    """A supervisor with a forker that has finished its imports, as `up`'s second wave gets it."""
    env = {**bus.env, "CLAWBUS_AGENTCORE__PORT": str(free_port()), "CLAWBUS_INGRESS__PORT": str(free_port())}
    supervisor = stage_supervisor(tmp_path / "logs", env)
    forker = Forker(tmp_path / "logs" / "forker.log", supervisor.base_env)
    supervisor.forker = forker
    try:
        assert forker.await_ready(), (tmp_path / "logs" / "forker.log").read_text()
        yield supervisor, env
    finally:
        supervisor.stop_all(grace_s=10)


def test_a_forked_stage_is_its_own_process_with_its_own_log_and_held_port(
    forking: tuple[Supervisor, dict[str, str]],
) -> None:
    supervisor, env = forking
    agentcore = Stage.clawbus("agentcore", "agentcore.started", "local-agentcore")
    port = int(env["CLAWBUS_INGRESS__PORT"])
    ingress = Stage.clawbus("ingress", "ingress.started", "ingress", listen=("127.0.0.1", port))
    supervisor.start_all([agentcore, ingress])
    for stage in (agentcore, ingress):
        assert isinstance(stage.process, ForkedProcess)  # forked, not spawned
        child = psutil.Process(stage.process.pid)
        assert child.ppid() == os.getpid()  # adopted: this process waits for it and reads its exit code
        assert os.getsid(child.pid) == child.pid  # a session of its own, as a spawned stage has
        assert stage.log_path is not None
        assert f'"event": "{stage.ready_event}"' in stage.log_path.read_text()
    assert agentcore.process is not None
    assert ingress.process is not None
    assert agentcore.process.pid != ingress.process.pid
    # ingress serves on the socket the supervisor holds, passed to the fork
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    codes = dict(supervisor.stop_all(grace_s=10))
    assert codes == {"agentcore": 0, "ingress": 0}  # each stopped cleanly on its SIGTERM


def test_a_forked_stage_that_fails_to_start_fails_the_wave_by_name_and_the_others_stop(
    forking: tuple[Supervisor, dict[str, str]],
) -> None:
    supervisor, _env = forking
    fine = Stage.clawbus("agentcore", "agentcore.started", "local-agentcore")
    broken = Stage.clawbus("broken", "broken.started", "egress", "no-such-channel")
    with pytest.raises(StageFailed, match=r"broken exited \(2\): .*invalid choice: 'no-such-channel'"):
        supervisor.start_all([fine, broken])
    assert fine.process is not None
    codes = dict(supervisor.stop_all(grace_s=10))
    assert codes["broken"] == 2
    assert fine.process.poll() is not None  # stopped with the rest, not left running


def test_a_killed_forked_stage_is_seen_dead_and_restarted(forking: tuple[Supervisor, dict[str, str]]) -> None:
    supervisor, _env = forking
    agentcore = Stage.clawbus("agentcore", "agentcore.started", "local-agentcore")
    supervisor.start_all([agentcore])
    assert agentcore.process is not None
    first = agentcore.process.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: supervisor.exited() is agentcore, timeout=10)
    assert agentcore.process.returncode == -signal.SIGKILL
    supervisor.restart(agentcore)
    assert isinstance(agentcore.process, ForkedProcess)
    assert agentcore.process.pid != first


def test_stages_start_the_usual_way_when_the_forker_is_gone(bus: Bus, tmp_path: Path) -> None:
    env = {**bus.env, "CLAWBUS_AGENTCORE__PORT": str(free_port())}
    supervisor = stage_supervisor(tmp_path / "logs", env)
    forker = Forker(tmp_path / "logs" / "forker.log", supervisor.base_env)
    supervisor.forker = forker
    assert forker.process is not None
    forker.process.kill()  # died before it was ready
    forker.process.wait()
    try:
        assert not forker.await_ready()
        agentcore = Stage.clawbus("agentcore", "agentcore.started", "local-agentcore")
        supervisor.start_all([agentcore])
        assert isinstance(agentcore.process, subprocess.Popen)
    finally:
        assert dict(supervisor.stop_all(grace_s=10)) == {"agentcore": 0}


REAPER_SCRIPT = """
import os, subprocess, sys, time
import psutil
from clawbus.local.forked import PR_SET_CHILD_SUBREAPER, prctl, reap_orphans

assert prctl(PR_SET_CHILD_SUBREAPER, 1)
stage = subprocess.Popen(["sh", "-c", "exit 3"], start_new_session=True)  # its code is the supervisor's
other = subprocess.Popen(["sh", "-c", "exit 5"], start_new_session=True)  # someone else's child
leaver = subprocess.Popen(
    ["sh", "-c", "sleep 0.3 & echo $!"], stdout=subprocess.PIPE, text=True, start_new_session=True
)
orphan = int(leaver.communicate()[0])  # `sleep`, left behind and reparented here when `sh` exited
deadline = time.monotonic() + 20
def zombies():
    return {c.pid for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE}
while {orphan, stage.pid, other.pid} - zombies():
    assert time.monotonic() < deadline, "the orphan and the children never exited"
    time.sleep(0.05)
reaped = reap_orphans({stage.pid}, {stage.pid, leaver.pid})
print(reaped == [orphan], zombies() == {stage.pid, other.pid}, stage.wait(), other.wait())
"""


def test_a_process_a_stage_left_behind_is_reaped_and_a_stages_own_exit_code_is_kept() -> None:
    """`up` is a child subreaper (to adopt forked stages), so it inherits what a dead stage leaves
    behind; its watchdog reaps those zombies (`reap_orphans`: in a stage's session), never a stage's own,
    whose exit code the supervisor still reads, nor another child of the process (the chaos harness runs
    a watchdog inside a pytest worker whose other tests' children it once reaped). Run in a process of
    its own: a subreaper changes who inherits orphans."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", REAPER_SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "3", "5"]


def test_a_forked_command_prints_what_a_spawned_one_prints(
    forking: tuple[Supervisor, dict[str, str]], tmp_path: Path
) -> None:
    """A command forked with a stdout of its own (`clawbus config show`, as the tests' `run_cli` forks
    the CLI) writes there, and starts with a fresh interpreter's logging, not the forker's JSON log
    lines: its exit code, stdout and stderr are a spawned one's."""
    supervisor, env = forking
    forker = supervisor.forker
    assert isinstance(forker, Forker)
    # A HOME of its own: defaults under it (the workspace, the sessions) are the command's, not the forker's.
    env = {**env, "CLAWBUS_LOCAL__DATA_DIR": str(tmp_path), "HOME": str(tmp_path / "home")}
    args = ["config", "show", "--json"]
    spawned = subprocess.run(
        [sys.executable, "-m", "clawbus.cli", *args], env=env, capture_output=True, timeout=60, check=False
    )
    out_read, out_write = os.pipe()
    forked = forker.spawn(args, env, None, stdout_fd=out_write)
    os.close(out_write)
    assert isinstance(forked, ForkedProcess)
    assert forked.stderr is not None
    with os.fdopen(out_read, "rb") as out, forked.stderr as err:
        printed = out.read()
        logged = err.read()
    assert forked.wait(timeout=60) == spawned.returncode == 0, logged
    assert json.loads(printed) == json.loads(spawned.stdout)
    assert logged == spawned.stderr
