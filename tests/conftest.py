"""Shared fixtures: a fresh workspace per test, the path of ../shared/data (skip if absent), `kmb`
in this process, and a plain Python without kmb for checking what a user of transformers sees."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0", socket.gethostname()}


def _local(host) -> bool:
    host = host.decode() if isinstance(host, bytes) else host
    return host in _LOCAL_HOSTS or (isinstance(host, str) and host.startswith("127."))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Tests never touch the internet: a name lookup or a connection to anything but this machine
    fails the test at once (test data such as "http://oai.example/oai" is only ever a string)."""
    lookup, connect, connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def guarded_lookup(host, *args, **kwargs):
        if not _local(host):
            raise OSError(f"a test tried to reach {host!r}: tests must stay offline")
        return lookup(host, *args, **kwargs)

    def guard(real):
        def guarded(self, address):
            if isinstance(address, tuple) and not _local(address[0]):
                raise OSError(f"a test tried to connect to {address[0]!r}: tests must stay offline")
            return real(self, address)

        return guarded

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guard(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(connect_ex))


@pytest.fixture
def workspace(tmp_path):
    from kmb.workspace import Workspace

    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def shared_data() -> Path:
    """Real third-party data, used by path only; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent (it lives beside the repository)")
    return SHARED_DATA


@pytest.fixture
def run_kmb(capsys, monkeypatch):
    """``run_kmb(*args)``: `kmb ARGS` in this process; returns (exit code, stdout, stderr)."""
    from kmb.cli import main

    def run(*args) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["kmb", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        return (code, *capsys.readouterr())

    return run


# Runs each script it is sent (one JSON line: script, args, cwd) as `python -c SCRIPT ARGS` would, in
# one interpreter that never imports kmb, and answers with one JSON line (returncode, stdout, stderr).
PLAIN_WORKER = r"""
import contextlib, io, json, os, sys, traceback
reply = os.fdopen(os.dup(1), "w")  # the answers; anything else written to fd 1 goes to stderr
os.dup2(2, 1)
for line in sys.stdin:
    request = json.loads(line)
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = ["-c", *request["args"]]
    os.chdir(request["cwd"])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(request["script"], "<string>", "exec"), {"__name__": "__main__"})
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if code and not isinstance(exc.code, int):
                print(exc.code, file=err)
        except BaseException:
            traceback.print_exc(file=err)
            code = 1
    reply.write(json.dumps({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    reply.flush()
"""


class PlainPython:
    """``plain_python(script, *args, cwd=..., timeout=...)``: like ``subprocess.run([sys.executable,
    "-c", script, *args], capture_output=True, text=True)``, but every script runs in the same
    interpreter, started once, that never imports kmb: a script can assert that loading a saved
    directory with plain transformers needs no kmb, without paying torch's and transformers' import
    (several seconds) in a new process each time. Each script gets fresh globals."""

    def __init__(self):
        handle, name = tempfile.mkstemp(prefix="kmb-plain-python-", suffix=".log")
        os.close(handle)
        self.log = Path(name)  # the interpreter's own stderr (library warnings), appended to
        self.proc = None

    def _start(self):
        with open(self.log, "a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", PLAIN_WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd="/",
            )

    def __call__(self, script: str, *args, cwd=None, timeout: float = 240) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", script, *map(str, args)]
        request = {"script": script, "args": [str(a) for a in args], "cwd": str(cwd or os.getcwd())}
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        logged = self.log.stat().st_size
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.proc.kill()
            raise subprocess.TimeoutExpired(command, timeout)
        line = self.proc.stdout.readline()
        with open(self.log, errors="replace") as err:
            err.seek(logged)
            logged_now = err.read()
        if not line:
            raise RuntimeError("the plain Python ended: " + logged_now[-2000:])
        answer = json.loads(line)
        return subprocess.CompletedProcess(
            command, answer["returncode"], answer["stdout"], logged_now + answer["stderr"]
        )

    def close(self):
        if self.proc is not None:
            self.proc.kill()  # it holds nothing to flush; a clean exit of torch takes seconds
            self.proc.wait()
            self.proc.stdin.close()
            self.proc.stdout.close()
        self.log.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def plain_python():
    """One plain Python (no kmb) for the whole session; see PlainPython."""
    python = PlainPython()
    yield python
    python.close()
