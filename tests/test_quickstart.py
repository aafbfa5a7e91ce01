"""The README's main command, end to end: `kmb quickstart` on the bundled sample, offline.

One run checks that every stage produced its files, that the DuckDB views show all sources
together, and that pretraining beat the untrained start on MLM. It pretrains for 8 epochs (120
steps) instead of the default 40: the tiny model's MLM accuracy is then about 0.04 against the
untrained start's 0.001 (the test asks for a gain of 0.01), and the run takes about 90 seconds
less; the other stages run exactly as `kmb quickstart` runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

# Pretraining epochs for the test's run (the command's default is 40; see the docstring).
EPOCHS = "8"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    ws = tmp_path_factory.mktemp("quickstart") / "ws"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "kmb", "quickstart", "--workspace", str(ws), "--epochs", EPOCHS],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return ws, proc.stdout


@pytest.mark.slow
def test_every_stage_wrote_its_output(quickstart):
    ws, out = quickstart
    for path in [
        "raw/naver_health",
        "raw/kci",
        "raw/textbook",
        "terms/terms.parquet",
        "terms/term_freq.parquet",
        "corpus/sentences",
        "corpus/report.json",
        "vocab/kmb/vocab.txt",
        "vocab/kmb/tokenizer.json",
        "models/base-tiny/config.json",
        "models/km-tiny/model.safetensors",
        "models/km-tiny/README.md",
        "eval/report.md",
        "eval/ner/result.json",
        "eval/sts/result.json",
        "eval/nsp/result.json",
    ]:
        assert (ws / path).exists(), f"quickstart did not write {path}"
    for n in range(1, 17):  # each step announces itself
        assert f"\n[{n}] " in out
    assert "kmb quickstart: done" in out


@pytest.mark.slow
def test_views_show_every_source_together(quickstart):
    ws, _ = quickstart
    con = duckdb.connect(str(ws / "kmb.duckdb"), read_only=True)
    sources = dict(con.execute("select source, count(*) from documents group by source").fetchall())
    sentences = con.execute("select count(*) from sentences").fetchone()[0]
    con.close()
    assert set(sources) == {"naver_health", "kci", "textbook"}
    assert sources["naver_health"] == 46 and sources["textbook"] == 6
    assert sentences > 500


@pytest.mark.slow
def test_vocab_grew_and_pretraining_beat_the_untrained_start(quickstart):
    ws, _ = quickstart
    base = (ws / "vocab/base/vocab.txt").read_text(encoding="utf-8").splitlines()
    extended = (ws / "vocab/kmb/vocab.txt").read_text(encoding="utf-8").splitlines()
    assert extended[: len(base)] == base and len(extended) > len(base)

    mlm = json.loads((ws / "eval/mlm/result.json").read_text(encoding="utf-8"))["models"]
    assert mlm["km-tiny"]["overall"]["mean"] > mlm["base-tiny"]["overall"]["mean"] + 0.01
    report = (ws / "eval/report.md").read_text(encoding="utf-8")
    assert "| mlm | mlm | MLM accuracy (overall, mean) | km-tiny" in report


def test_quickstart_never_deletes_a_users_workspace(tmp_path):
    from kmb.errors import KmbError
    from kmb.quickstart import MARKER, _fresh_workspace

    users = tmp_path / "mine"
    (users / "raw").mkdir(parents=True)
    with pytest.raises(KmbError, match="not made by the quickstart"):
        _fresh_workspace(users)
    assert (users / "raw").is_dir()

    earlier = tmp_path / "demo"
    (earlier / "raw").mkdir(parents=True)
    (earlier / MARKER).write_text("x")
    _fresh_workspace(earlier)
    assert not earlier.exists()  # an earlier quickstart's workspace starts over


@pytest.mark.parametrize("option", [["--epochs", "0"], ["--epochs", "-1"], ["--seed", "-1"]])
def test_bad_numbers_are_one_line_and_write_nothing(tmp_path, option):
    ws = tmp_path / "ws"
    proc = subprocess.run(
        [sys.executable, "-m", "kmb", "quickstart", "--workspace", str(ws), *option],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert option[0] in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not ws.exists()
