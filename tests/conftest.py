"""Shared fixtures: a fresh workspace per test, and the path of ../shared/data (skip if absent)."""

from __future__ import annotations

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
