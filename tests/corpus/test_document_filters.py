"""Document filters (FineWeb2's Korean rules): each rule alone, planted spam among clean news, the
sources they never touch, and their counts in the build report."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.corpus.document_filters import (
    DOCUMENT_FILTER_RULES,
    DUP_N_GRAMS,
    TOP_N_GRAMS,
    DocumentFilterConfig,
    document_reject_reason,
)
from kmb.corpus.local_files import AddOptions, add_paths
from kmb.corpus.sample_news import generate
from kmb.errors import KmbError
from kmb.storage import DOCUMENTS, write_rows

DEFAULTS = DocumentFilterConfig()
TEXTBOOKS = Path(__file__).resolve().parents[2] / "samples" / "textbooks"
NGRAM_RULES = [f"top_{n}_gram" for n, _ in TOP_N_GRAMS] + [f"dup_{n}_gram" for n, _ in DUP_N_GRAMS]


def alone(rule: str, **threshold) -> DocumentFilterConfig:
    """Only ``rule`` on, at its default threshold (or the one given)."""
    off = dict(
        dup_line_frac=None, dup_line_char_frac=None, dup_para_frac=None, top_n_grams=(), dup_n_grams=(), min_stopwords=0
    )
    if rule in NGRAM_RULES:
        n = int(rule.split("_")[1])
        table = "top_n_grams" if rule.startswith("top_") else "dup_n_grams"
        off[table] = tuple(x for x in getattr(DEFAULTS, table) if x[0] == n)
    elif rule == "few_stopwords":
        off["min_stopwords"] = DEFAULTS.min_stopwords
    else:
        off[rule] = getattr(DEFAULTS, rule)
    off.update(threshold)
    return DocumentFilterConfig(**off)


def planted(phrase: str, times: int, filler_words: int) -> str:
    """``filler_words`` distinct words with ``phrase`` put in ``times`` times, spread evenly."""
    out, step = [], filler_words // times
    for i in range(filler_words):
        out.append(f"항목{i}번은")
        if i % step == 0 and times:
            out.append(phrase)
            times -= 1
    return " ".join(out)


LINES = [
    "독감 예방접종은 매년 맞아야 한다.",
    "고혈압 환자는 싱겁게 먹는 것이 좋다.",
    "당뇨병은 합병증 관리가 중요하다.",
    "수면이 부족하면 면역력이 떨어진다.",
    "금연은 폐암 위험을 크게 낮춘다.",
    "하루 30분 걷기가 심장 건강에 도움이 된다.",
    "골다공증은 폐경 이후 여성에게 흔하다.",
    "천식 환자는 미세먼지에 주의해야 한다.",
    "치매 초기에는 기억력 저하가 나타난다.",
    "우울증은 치료하면 좋아지는 병이다.",
]
LONG_LINE = "이 줄은 길게 쓴 광고 문구로 같은 내용이 문서 안에서 한 번 더 나온다는 점이 문제가 된다."
TRIP_AND_PASS = {
    # 3 of 5 lines equal: 2 duplicates / 5 lines = 0.4 > 0.374; one repeat in 5 lines: 0.2.
    "dup_line_frac": ("\n".join(LINES[:2] + [LINES[2]] * 3), "\n".join(LINES[:4] + [LINES[0]])),
    # one long line twice among 9 lines: 1/10 of the lines, but 0.14 of the characters (>= 0.1);
    # a short line twice among long ones: under 0.1.
    "dup_line_char_frac": ("\n".join(LINES[:8] + [LONG_LINE] * 2), "\n".join(LINES + ["짧다"] * 2)),
    "few_stopwords": ("COVID-19 mRNA 백신 접종 현황 2023 통계", "독감 예방접종은 매년 맞아야 한다."),
}


@pytest.mark.parametrize("rule", ["dup_line_frac", "dup_line_char_frac", "few_stopwords"])
def test_line_and_stopword_rules_alone(rule):
    tripping, passing = TRIP_AND_PASS[rule]
    assert document_reject_reason(tripping, alone(rule)) == rule
    assert document_reject_reason(passing, alone(rule)) is None
    # One line of five repeated is under dup_line_frac, but a fifth of the characters: the next rule.
    expected = "dup_line_char_frac" if rule == "dup_line_frac" else None
    assert document_reject_reason(passing, DEFAULTS) == expected


def test_duplicate_paragraphs_count_when_the_text_keeps_blank_lines():
    tripping = "첫째 문단이다. 내용이 있다.\n\n둘째 문단이다.\n\n첫째 문단이다. 내용이 있다."
    assert document_reject_reason(tripping, alone("dup_para_frac", dup_para_frac=0.3)) == "dup_para_frac"
    assert (
        document_reject_reason(tripping.replace("첫째", "셋째", 1), alone("dup_para_frac", dup_para_frac=0.3)) is None
    )
    assert DEFAULTS.dup_para_frac is None  # off, as in FineWeb2: a build's text has no blank lines


@pytest.mark.parametrize("rule", NGRAM_RULES)
def test_each_ngram_rule_alone(rule):
    n = int(rule.split("_")[1])
    phrase = " ".join(f"반복{j}어구" for j in range(n))
    assert document_reject_reason(planted(phrase, 20, 50), alone(rule)) == rule
    assert document_reject_reason(planted(phrase, 2, 120), alone(rule)) is None  # twice in a long text is fine
    assert document_reject_reason(planted(phrase, 2, 120), DEFAULTS) is None


def test_ngram_rules_leave_short_documents_alone():
    short = "첫 문장은 충분히 길다. 셋째 문장도 충분히 길다. 넷째 문장도 역시 길다."  # "충분히 길다." 0.3 of it
    assert document_reject_reason(short, alone("top_2_gram")) is None
    assert document_reject_reason(short, alone("top_2_gram", min_ngram_words=5)) == "top_2_gram"


def test_stopwords_are_function_words_or_endings():
    assert document_reject_reason("그리고 또 검사", DEFAULTS) is None  # two function words
    assert document_reject_reason("고혈압 당뇨병 비만 고지혈증 흡연 음주", DEFAULTS) == "few_stopwords"
    assert document_reject_reason("환자는 회복했다", DEFAULTS) is None  # 는, 다
    assert document_reject_reason("Patients recovered well after treatment.", DEFAULTS) == "few_stopwords"


def test_config_is_checked_and_sources_chosen():
    for bad in (
        dict(dup_line_frac=1.5),
        dict(top_n_grams=((0, 0.2),)),
        dict(min_stopwords=-1),
        dict(min_ngram_words=-1),
    ):
        with pytest.raises(KmbError):
            DocumentFilterConfig(**bad)
    for source in ("naver_health", "news", "other", "wikinews"):
        assert DEFAULTS.applies_to(source)
    for source in ("textbook", "article", "kci", "clinical"):
        assert not DEFAULTS.applies_to(source)
    assert not DocumentFilterConfig(enabled=False).applies_to("news")
    assert document_reject_reason("", DEFAULTS) is None


# --- planted spam among clean documents ----------------------------------------------------------
def clean_documents(n: int) -> list[str]:
    """Real Korean Wikinews articles when ../shared is there, else generated health news."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "wikinews" / "wikinews.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            return [row["내용"] for row, _ in zip(csv.DictReader(fh), range(n))]
    return [d.text for d in generate(n, seed=11, duplicate_share=0.0)]


def spam_documents(n: int, seed: int = 5) -> list[str]:
    """One line (one or two real-looking sentences) repeated 6-12 times, on lines or in one line."""
    rng = random.Random(seed)
    sentences = [s.rstrip(".") + "." for d in generate(40, seed=seed) for s in d.text.split("\n")[2].split(". ")]
    docs = []
    for i in range(n):
        line = " ".join(rng.sample(sentences, rng.randint(1, 2)))
        docs.append(("\n" if i % 2 == 0 else " ").join([line] * rng.randint(6, 12)))
    return docs


def test_planted_spam_is_removed_and_clean_text_kept():
    clean, spam = clean_documents(200), spam_documents(50)
    assert len(clean) == 200
    clean_kept = sum(document_reject_reason(t) is None for t in clean)
    spam_removed = sum(document_reject_reason(t) is not None for t in spam)
    assert spam_removed >= 0.95 * len(spam), spam_removed
    assert clean_kept >= 0.98 * len(clean), clean_kept


# --- in the build -------------------------------------------------------------------------------
def _raw(ws, source: str, texts: list[str]) -> list[str]:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    rows = [{"doc_id": d, "source": source, "text": t} for d, t in zip(ids, texts)]
    write_rows(ws.raw(source) / "part-1.parquet", rows, DOCUMENTS)
    return ids


def _documents(ws) -> dict:
    rows = duckdb.sql(f"select doc_id, dropped from read_parquet('{ws.corpus}/documents/*.parquet')").fetchall()
    return dict(rows)


def test_build_counts_each_rule_and_never_touches_textbooks_or_notes(workspace):
    clean = _raw(workspace, "news", [d.text for d in generate(20, seed=2, duplicate_share=0.0)])
    spam_ids = _raw(workspace, "naver_health", spam_documents(10))
    repetitive = spam_documents(3, seed=9)  # as repetitive as spam, but a textbook and a clinical note
    textbook_ids = _raw(workspace, "textbook", repetitive[:2])
    note_ids = _raw(workspace, "clinical", repetitive[2:])
    add_paths(workspace, [TEXTBOOKS], AddOptions(source="textbook"))
    result = build_corpus(workspace, BuildConfig(workers=1))
    report = json.loads((workspace.corpus / "report.json").read_text(encoding="utf-8"))
    dropped = _documents(workspace)

    assert list(report["document_filters"]) == list(DOCUMENT_FILTER_RULES)
    removed = [d for d in spam_ids if dropped[d] in DOCUMENT_FILTER_RULES]
    assert len(removed) >= 9
    assert sum(report["document_filters"].values()) == report["documents"]["dropped"]["document_filter"] == len(removed)
    assert all(dropped[d] is None for d in clean)
    textbooks = [d for d in dropped if d.startswith("textbook:")]
    assert len(textbooks) == len(textbook_ids) + len(list(TEXTBOOKS.glob("*.txt")))
    assert not any(dropped[d] in DOCUMENT_FILTER_RULES for d in textbooks + note_ids)
    assert report["seconds_per_step"]["document_filter"] >= 0
    summary = result.summary()["document filters"]
    assert all(f"{rule} {n}" in summary for rule, n in report["document_filters"].items() if n)


def test_no_document_filters_keeps_the_spam(workspace, run_kmb):
    spam_ids = _raw(workspace, "news", spam_documents(4))
    code, out, err = run_kmb("corpus", "build", "-w", workspace.root, "--workers", "1", "--no-document-filters")
    assert code == 0, err
    assert "off (--no-document-filters)" in out
    report = json.loads((workspace.corpus / "report.json").read_text(encoding="utf-8"))
    assert report["documents"]["dropped"]["document_filter"] == 0
    assert not any(_documents(workspace)[d] in DOCUMENT_FILTER_RULES for d in spam_ids)


# --- the shortcuts change no verdict --------------------------------------------------------------
def reference_ngram_reason(text: str, config: DocumentFilterConfig = DEFAULTS) -> str | None:
    """The n-gram rules counted out in full, without the bounds that let most texts skip them."""
    words = text.split()
    if len(words) < config.min_ngram_words:
        return None
    for n, share in config.top_n_grams:
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        gram, count = Counter(grams).most_common(1)[0]
        if count >= 2 and (sum(map(len, gram)) + n - 1) * count / len(text) > share:
            return f"top_{n}_gram"
    for n, share in config.dup_n_grams:
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        first, chars, idx = {}, 0, 0
        for i, gram in enumerate(grams):
            first.setdefault(gram, i)
        while idx < len(grams):
            if first[grams[idx]] < idx:
                chars += len(" ".join(grams[idx]))
                idx += n
            else:
                idx += 1
        if chars / len(text) > share:
            return f"dup_{n}_gram"
    return None


def test_fast_ngram_rules_agree_with_counting_everything():
    rng = random.Random(3)
    vocabulary = [f"낱말{i}" for i in range(30)] + ["이", "그", "있다.", "매우긴낱말" * 3]
    texts = clean_documents(200) + spam_documents(50) + [d.text for d in generate(100, seed=4)]
    texts += [" ".join(rng.choices(vocabulary[: rng.randint(3, 34)], k=rng.randint(20, 300))) for _ in range(300)]
    phrases = [" ".join(f"반복{j}" * rng.randint(1, 3) for j in range(n)) for n in range(1, 11)]
    texts += [planted(p, k, filler) for p in phrases for k in range(2, 21, 3) for filler in (30, 60, 120)]
    verdicts = Counter(map(reference_ngram_reason, texts))
    assert verdicts[None] > 300 and len(verdicts) >= 8, verdicts  # near every threshold, both ways
    line_rules_off = dict(dup_line_frac=None, dup_line_char_frac=None, min_stopwords=0)
    for text in texts:
        text = " ".join(text.split())  # one line: only the n-gram rules decide
        assert document_reject_reason(text, DocumentFilterConfig(**line_rules_off)) == reference_ngram_reason(text)


def test_a_huge_document_is_judged_on_its_first_million_characters_in_bounded_memory():
    import random
    import tracemalloc

    from kmb.corpus.document_filters import MAX_CHARS, DocumentFilterConfig, document_reject_reason

    rng = random.Random(0)
    syllables = [chr(0xAC00 + i) for i in range(0, 11172, 7)]
    words = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + rng.choice("은는이가을를다")
        for _ in range(900_000)
    ]
    text = " ".join(words)  # about 3.5 M characters, no repetition
    assert len(text) > 3 * MAX_CHARS

    def peak(t: str) -> int:
        tracemalloc.start()
        document_reject_reason(t, DocumentFilterConfig())
        high = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return high

    assert peak(text) < 2 * peak(text[:MAX_CHARS]) + (1 << 20)  # the rest of the document adds nothing
