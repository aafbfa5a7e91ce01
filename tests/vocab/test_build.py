"""`kmb vocab build`: the paper's procedure counted step by step, the saved tokenizer, bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from kmb.errors import KmbError
from kmb.storage import SENTENCES, TERM_FREQ, TERMS, ParquetSink, write_rows
from kmb.vocab.build import BuildConfig, build_vocab, plan_vocab
from kmb.vocab.term_counts import CountConfig, count_workspace_terms

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BASE = SPECIALS + [".", ",", "(", ")", "##은", "##을", "##이", "##는", "##과", "당뇨", "고", "##혈", "##압", "##병", "환", "##자",
                   "약", "##물", "위", "##염", "천", "##식", "두", "##통", "콜", "##레", "##라", "장", "##티", "##푸", "##스",
                   "수", "##두", "비", "##만", "홍", "##역"]  # fmt: skip


def test_plan_counts_every_step():
    counts = {
        "고혈압": 9,
        "당뇨병": 7,
        "위염": 5,
        "천식": 4,
        "비만": 3,
        "두통": 2,
        "콜레라": 0,
        "당뇨": 8,
        "심근 경색": 6,
        "A.형": 3,
    }
    terms = list(counts)  # 10 distinct terms out of 12 table rows (2 duplicates merged upstream)
    plan = plan_vocab(BASE, 12, terms, counts, ["아세트아미노펜", "위염", "高血壓"], BuildConfig(min_count=3, top=6))
    assert plan.report == {
        "terms in": 12, "after merge": 10,
        "below min count": 2,  # 두통 (2), 콜레라 (0)
        "top-N cut": 2,  # 8 frequent terms, top 6 kept: 고혈압 당뇨 당뇨병 심근 경색 위염 천식; cut 비만 A.형
        "kept top-N": 6,
        "extra in list": 3, "extra added": 2,  # 위염 was already kept
        "already in base": 1,  # 당뇨
        "rejected": 2,  # 심근 경색 (whitespace), 高血壓 (CJK: split into 3 words)
        "new terms": 5, "placeholders": 0,
        "continuation forms": 0, "padding": 0, "base tokens": len(BASE), "vocab size": len(BASE) + 5,
    }  # fmt: skip
    assert plan.added_terms == ["고혈압", "당뇨병", "위염", "천식", "아세트아미노펜"]
    assert plan.tokens[: len(BASE)] == BASE
    assert [(r["term"], r["reason"]) for r in plan.rejected] == [
        ("심근 경색", "whitespace"),
        ("高血壓", "CJK ideograph"),
    ]


def test_plan_continuation_and_padding():
    counts = {"고혈압": 5, "위염": 4}
    plan = plan_vocab(BASE, 2, list(counts), counts, [], BuildConfig(continuation=True, pad_to_multiple=16))
    added = plan.tokens[len(BASE) :]
    assert added[:4] == ["고혈압", "위염", "##고혈압", "##위염"]
    assert len(plan.tokens) % 16 == 0 and added[4] == "[unused0]"
    assert plan.report["continuation forms"] == 2 and plan.report["padding"] == len(added) - 4


SENTS_TRAIN = [
    "고혈압은 흔한 질환이다.", "고혈압 환자는 약물을 먹는다.", "고혈압과 당뇨병은 함께 온다.",
    "당뇨병 환자는 고혈압을 조심한다.", "당뇨병이 있으면 위험하다.", "위염은 위의 염증이다.",
    "위염 환자가 늘었다.", "위염, 두통, 천식.", "천식은 기도 질환이다.", "천식 환자.",
]  # fmt: skip
SENTS_VALID = ["고혈압과 당뇨병 환자.", "위염은 두통을 부른다."]


def make_workspace(ws, terms):
    rows = [
        dict(
            doc_id=f"t{i // 3}",
            source="test",
            sent_idx=i,
            text=t,
            n_chars=len(t),
            n_words=len(t.split()),
            split="train",
        )
        for i, t in enumerate(SENTS_TRAIN)
    ]
    rows += [
        dict(doc_id=f"v{i}", source="test", sent_idx=0, text=t, n_chars=len(t), n_words=len(t.split()), split="valid")
        for i, t in enumerate(SENTS_VALID)
    ]
    write_rows(ws.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)
    write_rows(ws.terms / "terms.parquet", [dict(term=t, sources=["test"]) for t in terms], TERMS)


@pytest.fixture
def base_vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(BASE) + "\n", encoding="utf-8")
    return path


def test_build_writes_a_plain_autotokenizer_directory(workspace, base_vocab):
    make_workspace(workspace, ["고혈압", "당뇨병", "위염", "천식", "두통", "당뇨", "콜레라"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    out = workspace.vocab("medical")
    report = build_vocab(workspace, base_vocab, out, BuildConfig(min_count=3))
    # word-start counts: 고혈압 4, 당뇨병 3, 당뇨 3 (starts 당뇨병; already in base), 위염 3, 천식 3, 두통 1, 콜레라 0
    assert report["steps"]["new terms"] == 4
    assert {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "build_report.json"} <= {
        p.name for p in out.iterdir()
    }
    tok = AutoTokenizer.from_pretrained(str(out))  # plain transformers
    assert type(tok).__name__ == "BertTokenizer" and len(tok) == len(BASE) + 4
    assert tok.tokenize("고혈압은 천식") == ["고혈압", "##은", "천식"]  # an added term is one token
    assert tok.convert_tokens_to_ids(BASE) == list(range(len(BASE)))  # base ids unchanged
    assert tok.backend_tokenizer.normalizer.normalize_str("고혈압") == "고혈압"
    assert (out / "vocab.txt").read_text(encoding="utf-8").splitlines()[len(BASE) :] == [
        "고혈압",
        "당뇨병",
        "위염",
        "천식",
    ]
    coverage = report["coverage"]
    assert coverage["before"]["single-token share of term occurrences"] == pytest.approx(3 / 17, abs=1e-4)  # 당뇨 only
    assert coverage["after"]["single-token share of term occurrences"] == pytest.approx(
        16 / 17, abs=1e-4
    )  # 두통 stays split
    assert coverage["after"]["tokens per sentence"] < coverage["before"]["tokens per sentence"]
    assert coverage["sentences measured"] == 2 and coverage["sentences split"] == "valid"
    saved = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
    assert saved["steps"] == report["steps"] and saved["count mode"] == "word-start"


def test_build_bidirectional_is_recorded(workspace, base_vocab):
    from kmb.vocab.tokenizers import load_tokenizer

    make_workspace(workspace, ["고혈압", "위염"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    out = workspace.vocab("bi")
    build_vocab(workspace, base_vocab, out, BuildConfig(min_count=1, bidirectional=True))
    tok = load_tokenizer(out)
    assert type(tok).__name__ == "BidirectionalBertTokenizer"
    assert tok.tokenize("고혈압은") == ["고혈압", "##은"]


def test_cli_build_prints_the_report(workspace, base_vocab):
    from typer.testing import CliRunner

    from kmb.cli import app

    make_workspace(workspace, ["고혈압", "위염", "심근 경색"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    result = CliRunner().invoke(
        app,
        [
            "vocab",
            "build",
            "-w",
            str(workspace.root),
            "--base-vocab",
            str(base_vocab),
            "--min-count",
            "0",
            "--pad-to-multiple",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "new terms" in result.output and "심근 경색 (whitespace)" in result.output
    assert len((workspace.vocab("medical") / "vocab.txt").read_text().splitlines()) % 8 == 0


@pytest.mark.parametrize(
    "vocab_lines, message",
    [
        (BASE + ["위"], "duplicate token '위'"),
        ([t for t in BASE if t != "[CLS]"], r"lacks the special token\(s\) \[CLS\]"),
    ],
)
def test_bad_base_vocab_writes_nothing(workspace, tmp_path, vocab_lines, message):
    make_workspace(workspace, ["고혈압"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    bad = tmp_path / "bad_vocab.txt"
    bad.write_text("\n".join(vocab_lines) + "\n", encoding="utf-8")
    with pytest.raises(KmbError, match=message):
        build_vocab(workspace, bad, workspace.vocab("medical"))
    assert list(workspace.vocab("medical").parent.iterdir()) == []


def test_empty_term_table_writes_nothing(workspace, base_vocab):
    make_workspace(workspace, [])
    write_rows(workspace.terms / "term_freq.parquet", [], TERM_FREQ)
    with pytest.raises(KmbError, match="term table is empty"):
        build_vocab(workspace, base_vocab, workspace.vocab("medical"))
    assert list(workspace.vocab("medical").parent.iterdir()) == []


# --- real data: KCD disease names as the term list -------------------------------------------
# Our own sentences naming a few KCD diseases (the KCD file gives only the term list).
KCD_SENTENCES = [
    "콜레라는 오염된 물로 퍼진다.", "콜레라 환자가 보고되었다.", "콜레라와 장티푸스는 수인성 감염병이다.",
    "장티푸스 예방접종을 맞았다.", "장티푸스의 증상은 발열이다.", "천식 환자는 흡입제를 쓴다.",
    "천식이 심해졌다.", "천식, 두통, 비만은 흔하다.", "두통이 계속되었다.", "두통과 어지럼.",
    "비만은 위험 요인이다.", "비만 관리.", "홍역은 전염성이 높다.", "홍역 예방접종.", "수두와 홍역.",
    "대상포진은 수두 바이러스가 원인이다.",
]  # fmt: skip


def test_kcd_terms_give_the_documented_counts(workspace, shared_data, base_vocab, tmp_path):
    tsv = shared_data / "kcd" / "kcd_book.tsv"
    if not tsv.is_file():
        pytest.skip(f"{tsv} is absent")
    with open(tsv, encoding="utf-8", newline="") as fh, ParquetSink(workspace.terms / "terms.parquet", TERMS) as sink:
        for row in csv.DictReader(fh, delimiter="\t"):
            sink.write_row(
                {
                    "term": row["ko"],
                    "sources": ["kcd"],
                    "english": row["en"],
                    "category": "disease",
                    "first_file": tsv.name,
                }
            )
    rows = [
        dict(
            doc_id=f"k{i // 4}",
            source="test",
            sent_idx=i,
            text=t,
            n_chars=len(t),
            n_words=len(t.split()),
            split="train",
        )
        for i, t in enumerate(KCD_SENTENCES)
    ]
    write_rows(workspace.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)
    count_workspace_terms(workspace, CountConfig(workers=1))
    extra = tmp_path / "extra.txt"
    extra.write_text("# extra list\n아세트아미노펜\n콜레라\n", encoding="utf-8")
    report = build_vocab(
        workspace, base_vocab, workspace.vocab("kcd"), BuildConfig(min_count=3, top=10_000, extra=extra)
    )
    # The numbers documented in docs/vocab.md ("A worked example on real data").
    assert report["steps"] == {
        "terms in": 22551, "after merge": 22028, "below min count": 22022, "top-N cut": 0, "kept top-N": 6,
        "extra in list": 2, "extra added": 1, "already in base": 0, "rejected": 0, "new terms": 7, "placeholders": 0,
        "continuation forms": 0, "padding": 0, "base tokens": len(BASE), "vocab size": len(BASE) + 7,
    }  # fmt: skip
    assert report["added terms"] == ["두통", "비만", "장티푸스", "천식", "콜레라", "홍역", "아세트아미노펜"]
    tok = AutoTokenizer.from_pretrained(str(workspace.vocab("kcd")))
    assert tok.tokenize("장티푸스는") == ["장티푸스", "##는"]


def test_cli_error_is_one_line_and_exit_1(workspace, tmp_path, monkeypatch, capsys):
    from kmb import cli

    make_workspace(workspace, ["고혈압"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    bad = tmp_path / "dup_vocab.txt"
    bad.write_text("\n".join(BASE + ["위"]) + "\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["kmb", "vocab", "build", "-w", str(workspace.root), "--base-vocab", str(bad)])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kmb: error: {bad}:{len(BASE) + 1}: duplicate token '위' (first on line {BASE.index('위') + 1})"]
    assert list(workspace.vocab("medical").parent.iterdir()) == []


def test_continuation_forms_match_inside_compounds(workspace, tmp_path):
    from kmb.vocab.tokenizers import load_tokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(BASE + ["급", "##성"]) + "\n", encoding="utf-8")
    make_workspace(workspace, ["고혈압"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    plain, cont = workspace.vocab("plain"), workspace.vocab("cont")
    build_vocab(workspace, vocab, plain, BuildConfig(min_count=1))
    build_vocab(workspace, vocab, cont, BuildConfig(min_count=1, continuation=True))
    assert load_tokenizer(plain).tokenize("급성고혈압") == ["[UNK]"]  # no ##고 in the base: the word is lost
    assert load_tokenizer(cont).tokenize("급성고혈압") == ["급", "##성", "##고혈압"]
    assert load_tokenizer(cont).convert_tokens_to_ids("고혈압") == load_tokenizer(plain).convert_tokens_to_ids("고혈압")


# --- a BPE or Unigram base: the terms become added tokens ---------------------------------------
TOKENIZER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers"


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_a_bpe_or_unigram_base_gets_the_terms_as_added_tokens(workspace, kind, plain_python):
    base_dir = TOKENIZER_FIXTURES / kind
    base = AutoTokenizer.from_pretrained(str(base_dir))
    terms = ["고혈압", "당뇨병", "질환", "염증", "약물", "심근 경색", "콜레라"]
    make_workspace(workspace, terms)
    count_workspace_terms(workspace, CountConfig(workers=1))
    out = workspace.vocab(kind)
    report = build_vocab(workspace, base_dir, out, BuildConfig(min_count=0))
    steps, added = report["steps"], report["added terms"]
    assert report["tokenizer"] == f"{kind} + added tokens"
    one_word = [t for t in terms if " " not in t]
    in_base = [t for t in one_word if 1 in (len(base.tokenize(t)), len(base.tokenize(" " + t)))]
    assert set(added) == {t for t in one_word if t not in in_base}
    counts = {r["term"]: r["count"] for r in pq.read_table(workspace.terms / "term_freq.parquet").to_pylist()}
    assert added == sorted(added, key=lambda t: (-counts[t], t))  # most frequent first, as the paper's
    assert {"질환", "염증", "약물"} <= set(added)
    assert steps["already in base"] == len(in_base) and steps["below min count"] == 0
    assert [(r["term"], r["reason"]) for r in report["rejected"]] == [("심근 경색", "whitespace")]
    assert steps["added tokens"] == steps["new terms"] == len(added)
    assert steps["vocab size"] == len(base) + len(added) and steps["base tokens"] == len(base)
    after, before = report["coverage"]["after"], report["coverage"]["before"]
    assert after["mean pieces per term"] < before["mean pieces per term"]
    assert json.loads((out / "build_report.json").read_text())["steps"] == steps
    pre_tokenizer = json.loads((out / "tokenizer.json").read_text())["pre_tokenizer"]
    if kind == "unigram":  # no "▁" of its own after an added term: 질환으로 is 질환 으로, not 질환 ▁ 으로
        assert pre_tokenizer["prepend_scheme"] == "first"
        pieces = AutoTokenizer.from_pretrained(str(out)).tokenize(f"{added[0]}으로")
        assert pieces[0] == added[0] and not any(t.startswith("▁") for t in pieces[1:]), pieces
    # plain AutoTokenizer, without kmb: the terms are whole tokens after the base ids, also before a particle
    script = f"""
import sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained({str(out)!r})
ids = tok({"환자의 " + " ".join(t + "은" for t in added)!r}, add_special_tokens=False)["input_ids"]
tokens = tok.convert_ids_to_tokens(ids)
assert all(t in tokens for t in {added!r}), tokens
assert all(tok.convert_tokens_to_ids(t) >= {len(base)} for t in {added!r})
assert len(tok) == {len(base) + len(added)} and not any(m.startswith("kmb") for m in sys.modules)
"""
    done = plain_python(script, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(
        app,
        [
            "vocab",
            "build",
            "-w",
            str(workspace.root),
            "--base-vocab",
            str(base_dir),
            "--min-count",
            "0",
            "--out",
            str(workspace.vocab("cli")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"vocab build ({kind} + added tokens) -> " in result.output
    assert re.search(rf"\n  added tokens +{len(added)}\n", result.output), result.output
    assert "rejected (white space inside a token): 심근 경색 (whitespace)" in result.output


def test_wordpiece_only_options_on_a_bpe_base_are_one_error(workspace):
    make_workspace(workspace, ["질환"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    with pytest.raises(KmbError, match="need a WordPiece vocab.txt; this base is a bpe tokenizer"):
        build_vocab(workspace, TOKENIZER_FIXTURES / "bpe", workspace.vocab("x"), BuildConfig(continuation=True))
    assert list(workspace.vocab("x").parent.iterdir()) == []


# --- numeric options: checked before anything runs (one line, exit 1, nothing written) -----------
@pytest.mark.parametrize(
    "args, message",
    [
        (["vocab", "build", "--min-count", "-1"], "--min-count must be 0 or more, not -1"),
        (["vocab", "build", "--top", "-5"], "--top must be 0 or more, not -5"),
        (["vocab", "build", "--pad-to-multiple", "-8"], "--pad-to-multiple must be 0 or more, not -8"),
        (["vocab", "build", "--coverage-sentences", "-1"], "--coverage-sentences must be 0 or more, not -1"),
        (["vocab", "extend-model", "--seed", "-1"], "--seed must be 0 or more, not -1"),
        (["vocab", "extend-model", "--init", "zeros"], "unknown --init 'zeros'"),
        (["terms", "count", "--workers", "-2"], "--workers must be 0 (one per CPU core) or more, not -2"),
        (["terms", "count", "--batch-rows", "0"], "--batch-rows must be at least 1, not 0"),
        (["terms", "list", "--limit", "-1"], "--limit must be 0 or more, not -1"),
    ],
)
def test_numeric_options_are_checked_before_anything_runs(
    workspace, base_vocab, tmp_path, monkeypatch, capsys, args, message
):
    from kmb import cli

    make_workspace(workspace, ["고혈압"])
    count_workspace_terms(workspace, CountConfig(workers=1))
    before = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*"))
    stamps = {p: p.stat().st_mtime_ns for p in workspace.root.rglob("*") if p.is_file()}
    extra = {
        "build": ["--base-vocab", str(base_vocab)],
        "extend-model": [
            "--model",
            str(tmp_path / "model"),
            "--vocab",
            str(tmp_path / "new"),
            "--out",
            str(tmp_path / "out"),
        ],
    }.get(args[1], [])
    monkeypatch.setattr(
        "sys.argv",
        ["kmb", *args, *extra, "-w", str(workspace.root)] if args[1] != "extend-model" else ["kmb", *args, *extra],
    )
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"kmb: error: {message}" + (": choose one of normal, subword-mean" if "--init" in args else "")
    ]
    assert sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*")) == before
    assert {p: p.stat().st_mtime_ns for p in workspace.root.rglob("*") if p.is_file()} == stamps
    assert not (tmp_path / "out").exists()
