"""The made-up labelled notes, and the issue's goal measured on them."""

from __future__ import annotations

import json

from kmb.deid.files import RunOptions
from kmb.deid.scoring import score_file
from kmb.deid.synthetic_notes import make_notes, write_notes

HIGH_RECALL = ("RRN", "PHONE", "EMAIL", "PATIENT_ID", "BIRTH_DATE")


def test_notes_are_the_same_for_the_same_seed_and_their_spans_fit():
    first, again = list(make_notes(50, seed=3)), list(make_notes(50, seed=3))
    assert first == again and first != list(make_notes(50, seed=4))
    for note in first:
        for span in note["phi"] + note["keep"]:
            assert 0 <= span["start"] < span["end"] <= len(note["text"])
        assert note["text"][note["phi"][0]["start"] : note["phi"][0]["end"]].strip()


def test_goal_on_a_thousand_notes(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_notes(gold, 1000, seed=11)
    report = score_file(gold, RunOptions(), samples=5)
    per_type = report["per_type"]
    for kind in HIGH_RECALL:
        assert per_type[kind]["recall"] >= 0.99, (kind, per_type[kind])
    for kind in ("NAME", "ADDRESS"):
        assert per_type[kind]["recall"] >= 0.97, (kind, per_type[kind])
    assert report["overall"]["precision"] >= 0.98
    assert report["look_alikes"]["kept_share"] >= 0.99
    assert report["overall"]["leaked"] <= report["overall"]["gold"] * 0.005
    names = {
        json.loads(line)["text"][s["start"] : s["end"]]
        for line in gold.open(encoding="utf-8")
        for s in json.loads(line)["phi"]
    }
    assert not any(name in json.dumps(report, ensure_ascii=False) for name in names if len(name) > 2)
