"""Shared fixtures: a fresh workspace per test, and the path of ../shared/data (skip if absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


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
