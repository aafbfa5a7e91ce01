"""The model card says which evaluation files the corpus was cleaned against."""

from __future__ import annotations

import json

from kmb.training.model_card import _decontamination_line
from kmb.training.output import corpus_decontamination


def test_the_card_names_the_files_or_says_there_were_none(tmp_path):
    report = tmp_path / "report.json"
    assert corpus_decontamination(report) is None  # no corpus report
    report.write_text("{broken", encoding="utf-8")
    assert corpus_decontamination(report) is None
    decon = {"sentences removed": 3, "files": {"/data/klue_ner_test.txt": {"items": 100, "sentences removed": 3}}}
    report.write_text(json.dumps({"decontamination": decon}), encoding="utf-8")
    assert corpus_decontamination(report) == decon
    line = _decontamination_line(decon)
    assert "`klue_ner_test.txt` (100 items, 3 sentences removed)" in line
    assert "not decontaminated" in _decontamination_line(None) and "kmb corpus overlap" in _decontamination_line(None)
