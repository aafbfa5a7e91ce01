"""metrics.jsonl is an append-only log: a kill mid-append leaves a torn last line, which is dropped."""

from __future__ import annotations

import json

from kmb.training.metrics import append_metrics, read_metrics, truncate_metrics


def test_a_torn_last_line_is_dropped_and_complete_records_are_kept(tmp_path):
    path = tmp_path / "run" / "metrics.jsonl"
    append_metrics(path, {"step": 0, "phase": "base", "mlm_accuracy": 0.1})
    append_metrics(path, {"step": 10, "mlm_accuracy": 0.2})
    with open(path, "a", encoding="utf-8") as handle:  # what a kill during the next append leaves
        handle.write(json.dumps({"step": 20, "mlm_accuracy": 0.3})[:9])
    assert [r["step"] for r in read_metrics(path)] == [0, 10]
    truncate_metrics(path, after_step=10)  # --resume rewrites it whole, without the torn record
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert [r["step"] for r in read_metrics(path)] == [0, 10]


def test_no_file_is_no_records(tmp_path):
    assert read_metrics(tmp_path / "metrics.jsonl") == []
