"""An evaluation run folder appears whole or not at all, one run of a name at a time."""

from __future__ import annotations

import json

import pytest

from kmb.errors import KmbError
from kmb.evaluation.commands import run_folder
from kmb.evaluation.report import load_results


def test_a_failed_run_leaves_the_previous_run_whole(workspace):
    with run_folder(workspace, "ner") as tmp:
        (tmp / "result.json").write_text(json.dumps({"task": "ner", "n": 1}), encoding="utf-8")
        (tmp / "ner.md").write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), run_folder(workspace, "ner") as tmp:
        (tmp / "ner.md").write_text("new\n", encoding="utf-8")  # the new run's first file ...
        raise RuntimeError("killed")  # ... and then it dies
    run = workspace.eval("ner")
    assert (run / "ner.md").read_text(encoding="utf-8") == "old\n"
    assert json.loads((run / "result.json").read_text(encoding="utf-8"))["n"] == 1
    assert [p.name for p in run.parent.iterdir()] == ["ner"]


def test_a_finished_run_replaces_the_old_one_whole(workspace):
    for n in (1, 2):
        with run_folder(workspace, "ner") as tmp:
            (tmp / "result.json").write_text(json.dumps({"task": "ner", "n": n}), encoding="utf-8")
            if n == 1:
                (tmp / "stale.csv").write_text("x\n", encoding="utf-8")
    assert sorted(p.name for p in workspace.eval("ner").iterdir()) == ["result.json"]


def test_two_runs_of_one_name_are_refused(workspace):
    with workspace.lock("eval/ner"), pytest.raises(KmbError), run_folder(workspace, "ner"):
        pass
    assert not workspace.eval("ner").exists()


def test_the_report_reads_no_half_written_run(workspace):
    hidden = workspace.root / "eval" / ".ner.host-p1.abcd.tmp"
    hidden.mkdir(parents=True)
    (hidden / "result.json").write_text(json.dumps({"task": "ner"}), encoding="utf-8")
    assert load_results(workspace.root / "eval") == []
