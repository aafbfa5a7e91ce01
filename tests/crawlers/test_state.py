"""kmb.crawlers.state: the resume state both crawls keep in <workspace>/crawl/<source>/."""

from __future__ import annotations

import pytest

from kmb.crawlers.state import (
    DAYS_STARTED_FILE,
    DONE_DAYS_FILE,
    OPEN_DAYS_FILE,
    append_done_day,
    forget_progress,
    kci_resume_point,
    read_done_days,
    write_kci_state,
)
from kmb.errors import KmbError


def test_done_days_count_only_complete_lines(tmp_path):
    append_done_day(tmp_path, "20201228")
    append_done_day(tmp_path, "20201229")
    with open(tmp_path / DONE_DAYS_FILE, "a", encoding="utf-8") as fh:
        fh.write("202012")  # a kill in the middle of a line
    assert read_done_days(tmp_path) == {"20201228", "20201229"}
    assert read_done_days(tmp_path / "absent") == set()


def test_a_fresh_crawl_forgets_the_days_but_not_the_articles(tmp_path):
    for name in (DONE_DAYS_FILE, DAYS_STARTED_FILE, OPEN_DAYS_FILE, "other.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    forget_progress(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_kci_resume_point_belongs_to_one_endpoint(workspace):
    assert kci_resume_point(workspace, "http://a/oai") == (None, None)
    write_kci_state(workspace, {"endpoint": "http://a/oai", "metadata_prefix": "oai_dc", "next_token": "t-3"})
    assert kci_resume_point(workspace, "http://a/oai") == ("t-3", "oai_dc")
    with pytest.raises(KmbError, match="--resume: the saved harvest was from http://a/oai, not http://b/oai"):
        kci_resume_point(workspace, "http://b/oai")


@pytest.mark.parametrize("damage", [b'{"endpoint": "http://x/oai", "next_tok', b"\xff\xfe\x00", b"[1, 2]"])
def test_a_damaged_kci_state_starts_over_and_says_so(tmp_path, capsys, damage):
    from kmb.crawlers.state import kci_resume_point, kci_state_path
    from kmb.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    kci_state_path(ws).parent.mkdir(parents=True, exist_ok=True)
    kci_state_path(ws).write_bytes(damage)
    assert kci_resume_point(ws, "http://x/oai") == (None, None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crawl state is damaged" in err and "none is stored twice" in err
