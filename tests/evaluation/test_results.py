"""Naming the models being compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.errors import KmbError

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEADER = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"


def test_resolve_models(tmp_path):
    from kmb.evaluation.results import resolve_models

    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "models" / "m2").mkdir(parents=True)
    (tmp_path / "models" / "m2" / "config.json").write_text("{}", encoding="utf-8")
    refs = resolve_models([str(tmp_path / "m1"), "KM=m2"], tmp_path / "models")
    assert [(r.name, r.path.name) for r in refs] == [("m1", "m1"), ("KM", "m2")]
    with pytest.raises(KmbError, match="share a label"):
        resolve_models([str(tmp_path / "m1"), str(tmp_path / "m1")])
    with pytest.raises(KmbError, match="model directory not found"):
        resolve_models([str(tmp_path / "nope")])
    with pytest.raises(KmbError, match="at least one --model"):
        resolve_models([])
