"""The sentence splitter: the cheap-boundary fast path directly, and kss on the tricky cases."""

from __future__ import annotations

import csv
import unicodedata

import pytest

from kmb.corpus.sample_news import TRICKY
from kmb.corpus.sentence_split import (
    DEFAULT_BACKEND,
    SentenceSplitter,
    boundary_agreement,
    boundary_offsets,
    cheap_pieces,
    is_plain_piece,
)

# Those the default backend (punct) gets right; docs/corpus.md lists the rest as known misses.
PUNCT_GETS_RIGHT = {0, 1, 4, 6, 7, 8, 11, 12, 13, 14, 15}


@pytest.fixture(scope="module")
def splitters():
    """kmb's splitter and plain kss (its full import, 8-10 s, paid once for the module)."""
    return SentenceSplitter(DEFAULT_BACKEND), SentenceSplitter(DEFAULT_BACKEND, fast_path=False, accelerate_kss=False)


# --- the fast path, no kss ---------------------------------------------------------------------
def test_cheap_pieces_cut_only_at_unambiguous_boundaries():
    paragraph = "고혈압은 흔하다. 증상이 없을까? 정기 검진이 중요합니다. 약은 3.5mg을 먹는다."
    assert cheap_pieces(paragraph) == [
        "고혈압은 흔하다.",
        "증상이 없을까?",
        "정기 검진이 중요합니다.",
        "약은 3.5mg을 먹는다.",
    ]
    # "다." then a character that is itself followed by "." (a numbered list) is not cheap: kss
    # does not split there (its exception 7).
    assert cheap_pieces("결과가 나왔다. 2. 다음 단계다.") == ["결과가 나왔다. 2. 다음 단계다."]


def test_cheap_boundaries_where_kss_punct_splits_too():
    # Each of these cuts is where plain kss (punct) puts the boundary.
    assert cheap_pieces("수송을 의결했다. KTX 법인이 생겼다.") == ["수송을 의결했다.", "KTX 법인이 생겼다."]
    assert cheap_pieces("발표했다. 3일에 다시 모였다.") == ["발표했다.", "3일에 다시 모였다."]
    assert cheap_pieces("제출했다. (지자체와) 조율했다.") == ["제출했다.", "(지자체와) 조율했다."]
    assert cheap_pieces("말했다. “좋다”고 답했다.") == ["말했다.", "“좋다”고 답했다."]
    assert cheap_pieces("밝혔다.[1][2] 작업은 끝났다.") == ["밝혔다.[1][2]", "작업은 끝났다."]
    assert is_plain_piece("밝혔다.[1][2]")
    assert cheap_pieces("이름은 레드벨벳. 이번 법안은 통과됐다.") == ["이름은 레드벨벳.", "이번 법안은 통과됐다."]
    # Left to kss: a citation after a space, a list item, a next word that continues the clause.
    assert cheap_pieces("주장이다. [3] 끝났다.") == ["주장이다. [3] 끝났다."]
    assert cheap_pieces("했다. A. B 순이다.") == ["했다. A. B 순이다."]
    assert cheap_pieces("그렇게 했다. 라고 말했다.") == ["그렇게 했다. 라고 말했다."]
    assert cheap_pieces("제3항. 다음 조항이다.") == ["제3항. 다음 조항이다."]  # a numbered clause: kss decides
    assert cheap_pieces("결과는 ㄱ. 다음이다.") == ["결과는 ㄱ. 다음이다."]  # a jamo list mark is not a syllable


def test_cheap_pieces_never_cut_inside_quotes_or_brackets():
    quoted = '그는 "예방이 중요하다. 백신을 맞아야 한다"고 말했다. 이어 설명했다.'
    assert cheap_pieces(quoted) == ['그는 "예방이 중요하다. 백신을 맞아야 한다"고 말했다.', "이어 설명했다."]
    curly = "그는 “치료가 된다. 희망을 갖자”고 했다. 모두 박수를 쳤다."
    assert cheap_pieces(curly) == ["그는 “치료가 된다. 희망을 갖자”고 했다.", "모두 박수를 쳤다."]
    bracket = "(결과가 좋았다. 부작용도 적었다) 연구팀이 밝혔다. 끝났다."
    assert cheap_pieces(bracket) == ["(결과가 좋았다. 부작용도 적었다) 연구팀이 밝혔다.", "끝났다."]


def test_an_unmatched_quote_or_closer_leaves_the_sentences_before_it_to_kss(splitters):
    # kss regroups the sentences before a quote it cannot match: a cheap cut there would differ.
    stray_quote = '그는 치안 우려를 표했다. "하루에 수감 상태였기에 참석하지 못하였다. 다음 날 돌아왔다.'
    assert cheap_pieces(stray_quote) == [
        '그는 치안 우려를 표했다. "하루에 수감 상태였기에 참석하지 못하였다.',
        "다음 날 돌아왔다.",
    ]
    stray_closer = "연구팀은 결과를 발표했다. 환자 수는 늘었다. 조사 범위’에서도 확인됐다. 이어 설명했다. 끝났다."
    assert cheap_pieces(stray_closer) == [
        "연구팀은 결과를 발표했다. 환자 수는 늘었다. 조사 범위’에서도 확인됐다.",
        "이어 설명했다.",
        "끝났다.",
    ]
    assert cheap_pieces("정상적인 문단이다. (괄호) 안도 있다. 끝났다.") == [
        "정상적인 문단이다.",
        "(괄호) 안도 있다.",
        "끝났다.",
    ]
    fast, plain = splitters
    for text in (stray_quote, stray_closer):
        assert fast.split(text).sentences == plain.split(text).sentences


def test_plain_piece_needs_no_analysis():
    assert is_plain_piece("하루 3.5mg을 투여했다.")
    assert is_plain_piece("연구팀(서울대병원)은 ‘걷기’를 권했다.")
    assert not is_plain_piece("A군 vs. B군을 비교했다.")
    assert not is_plain_piece("정말 그럴까? 아니다.")
    # Without final punctuation a morpheme backend might split at "다 "; punct never does.
    assert is_plain_piece("병원에 가야 한다 그러나 쉬면 낫는다", "punct")
    assert not is_plain_piece("병원에 가야 한다 그러나 쉬면 낫는다", "mecab")


def test_plain_text_is_split_without_importing_kss():
    splitter = SentenceSplitter()
    result = splitter.split("고혈압은 흔하다. 증상이 없다.\n정기 검진이 중요합니다. 걷기를 권한다.")
    assert result.sentences == ["고혈압은 흔하다.", "증상이 없다.", "정기 검진이 중요합니다.", "걷기를 권한다."]
    assert (result.fast_pieces, result.kss_pieces) == (4, 0)
    assert splitter._kss_split is None


def test_one_enormous_line(splitters):
    splitter = SentenceSplitter()
    # Real sentences on one line: cut at the cheap boundaries, fast, nothing lost.
    long_line = " ".join(f"환자 {i}번은 회복했다." for i in range(20_000))
    result = splitter.split(long_line)
    assert len(result.sentences) == 20_000 and result.too_long == 0
    assert result.kss_pieces == 0
    # Sentences kss has to see (digits after the period) on one huge line: chunked, then kss.
    fast, _ = splitters
    result = fast.split(" ".join(f"검사 {i}. {i}번 환자는 회복했다." for i in range(600)))
    assert len(result.sentences) >= 600 and result.too_long == 0 and result.kss_pieces >= 3
    # A huge run with no boundary is not a sentence: counted, not sent to kss.
    result = splitter.split("가나다라마바사 " * 1_000)
    assert result.sentences == [] and result.too_long == 1 and splitter._kss_split is None


def test_boundary_agreement_counts_shared_sentence_ends():
    assert boundary_offsets(["가 나.", "다라."]) == {3, 6}
    assert boundary_agreement([["가나.", "다라."]], [["가나.", "다라."]]) == 1.0
    assert boundary_agreement([["가나.다라."]], [["가나.", "다라."]]) == 0.5


# --- kss -----------------------------------------------------------------------------------------
def test_tricky_cases_fast_path_equals_plain_kss(splitters):
    fast, plain = splitters
    for text, _right in TRICKY:
        assert fast.split(text).sentences == plain.split(text).sentences, text


def test_tricky_cases_default_backend_accuracy(splitters):
    fast, _ = splitters
    got = {i for i, (text, right) in enumerate(TRICKY) if fast.split(text).sentences == right}
    assert got == PUNCT_GETS_RIGHT


def test_agreement_with_plain_kss_on_real_news(shared_data, splitters):
    fast, plain = splitters
    docs = []
    with open(shared_data / "wikinews" / "wikinews.csv", newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= 120:
                break
            docs.append(unicodedata.normalize("NFC", row["내용"]))
    ours = [fast.split(d).sentences for d in docs]
    reference = [plain.split(d).sentences for d in docs]
    assert sum(map(len, reference)) > 500
    assert boundary_agreement(ours, reference) >= 0.99


def test_text_the_fast_path_already_handled_splits_as_before():
    # Recorded with the splitter before its cheap boundaries were extended: generated news
    # documents it split with no kss at all. They must come out exactly as they did.
    import json
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures" / "corpus" / "fast_path_sentences.jsonl"
    records = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 20
    splitter = SentenceSplitter()
    for record in records:
        result = splitter.split(record["text"])
        assert result.sentences == record["sentences"], record["doc_id"]
        assert result.kss_pieces == 0
