"""kss_punct: kss's punct splitter without its dead work must return exactly what kss returns."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from kmb.corpus import kss_punct
from kmb.corpus.sample_news import TRICKY

EDGE_CASES = [
    "",
    " ",
    "a",
    "Dr. Kim이 왔다. no. 5가 나왔다. pp. 12-15를 보라.",
    "제1항. 다음은 2조. 그리고 ㄱ. 끝이다. A. 마지막 항목이다.",
    "vol. 3에 실렸다! 정말? 그렇다… 이어서 말했다.",
    "그는 “좋다. 아주 좋다”라고 말했다. 'Mr. Lee'는 웃었다. (결과. 끝) 다음이다.",
    "문의는 help@example.com 또는 https://example.com/a.b.c 로 하면 된다. 감사합니다 ^^ 네.",
    "ㅋㅋ. ㅎㅎ 그랬다. 😀 좋다. 3.5mg을 먹었다. U.S.A.에 갔다.",
]
# What kss swaps for digit stand-ins and back (its backup/restore): "letter, apostrophe, letter",
# its protected strings, URLs and e-mail addresses; and digit runs as long as a stand-in.
BACKUP_CASES = [
    "McDonald's 매장에서 don't라고 썼다. Rock’n’roll은 좋다. it`s 끝. 다음이다.",
    "몽키 D. 루피가 왔다. Monkey D. Luffy는 웃었다 :) 그리고 :-( 울었다. 알림 차단. 끝이다.",
    "번호 1234567890123456789012는 길다. 8410523917604325571도 있다. 짧은 123. 끝이다.",
    "주소는 www.example.co.kr/a.b 이다. 메일 kim.lee@hospital.ac.kr 로 보낸다. 끝이다.",
    "그는 '😀 좋다'고 했다. 이모지 🎉🎉 다음. ^^ 끝.",
]


@pytest.fixture(scope="module")
def both():
    fast, accelerated = kss_punct.load_split("punct")
    plain, plain_accelerated = kss_punct.load_split("punct", accelerate=False)
    assert accelerated and not plain_accelerated
    return fast, plain


def _compare(fast, plain, pieces):
    from kss._modules.sentences.split_sentences import _split_sentences

    _split_sentences.cache_clear()  # plain kss must compute, not replay its cache
    ours, theirs = fast(pieces), plain(pieces)
    for piece, a, b in zip(pieces, ours, theirs):
        assert a == b, piece


def test_same_output_as_kss_on_tricky_and_edge_cases(both):
    fast, plain = both
    _compare(fast, plain, [text for text, _ in TRICKY] + EDGE_CASES)
    for piece in EDGE_CASES:  # one piece at a time too (kss unwraps a one-element list)
        _compare(fast, plain, [piece])


def test_same_output_as_kss_where_it_backs_up_and_restores(both):
    fast, plain = both
    _compare(fast, plain, BACKUP_CASES)
    for piece in BACKUP_CASES:
        _compare(fast, plain, [piece])


def test_fewer_collections_puts_the_threshold_back():
    import gc

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), kss_punct.fewer_collections():
        assert gc.get_threshold()[0] == max(100_000, before[0])
        raise RuntimeError
    assert gc.get_threshold() == before


def test_same_output_as_kss_on_every_abbreviation(both):
    from kss._utils.const import sf_exception

    fast, plain = both
    # Eight abbreviations to a piece: each is checked, in fewer kss calls.
    sentences = [f"그 자료는 {abbreviation}. 다음 쪽에 있다." for abbreviation in sf_exception]
    pieces = [" ".join(sentences[i : i + 8]) for i in range(0, len(sentences), 8)]
    _compare(fast, plain, pieces)


def test_same_output_as_kss_on_our_generated_news(both):
    fast, plain = both
    fixture = Path(__file__).parents[1] / "fixtures" / "corpus" / "fast_path_sentences.jsonl"
    texts = [json.loads(line)["text"] for line in fixture.read_text(encoding="utf-8").splitlines()]
    _compare(fast, plain, [p for t in texts for p in t.split("\n") if p.strip()])


def test_same_output_as_kss_on_real_news(shared_data, both):
    fast, plain = both
    paragraphs = []
    with open(shared_data / "wikinews" / "wikinews.csv", newline="", encoding="utf-8") as fh:
        for _, row in zip(range(60), csv.DictReader(fh)):
            text = unicodedata.normalize("NFC", row["내용"])
            paragraphs.extend(p.strip() for p in text.split("\n") if p.strip())
    assert len(paragraphs) > 150
    _compare(fast, plain, paragraphs)


def test_kss_itself_is_left_unpatched(both):
    from kss._modules.sentences import split_sentences as module
    from kss._modules.sentences.sentence_splitter import SentenceSplitter

    fast, _ = both
    fast(["자료는 Dr. Kim이 냈다. 끝이다."])
    assert "_check_multiple_prev_texts_from_before" in SentenceSplitter.__dict__
    assert module._split_sentences.__wrapped__.__globals__["SentenceSplitter"] is SentenceSplitter


def test_other_backends_and_unchecked_kss_releases_use_plain_kss(monkeypatch):
    _, accelerated = kss_punct.load_split("mecab")
    assert not accelerated
    monkeypatch.setattr(kss_punct, "_kss_version", lambda: "7.0.0")
    split, accelerated = kss_punct.load_split("punct")
    assert not accelerated
    assert split(["첫 문장이다. 둘째 문장이다."]) == [["첫 문장이다.", "둘째 문장이다."]]


def test_loading_skips_the_kss_package_import():
    script = (
        "import sys, time\n"
        "from kmb.corpus.kss_punct import load_split\n"
        "started = time.perf_counter()\n"
        "split, accelerated = load_split('punct')\n"
        "seconds = time.perf_counter() - started\n"
        # No bare `kss` is left behind, so a later `import kss` runs the real package's __init__.
        "assert accelerated and 'kss' not in sys.modules and 'koparadigm' not in sys.modules\n"
        "print(split(['첫 문장이다. 둘째 문장이다.']))\n"
        "print(seconds)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    first, seconds = out.stdout.splitlines()
    assert first == str([["첫 문장이다.", "둘째 문장이다."]])
    assert float(seconds) < 5.0  # the full `import kss` takes 8-10 s on this machine
