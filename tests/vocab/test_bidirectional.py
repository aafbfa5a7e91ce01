"""KR-BERT's BidirectionalWordPiece on hand-made vocabs where the two directions disagree."""

from __future__ import annotations

import pytest

from kmb.vocab.bidirectional import BidirectionalWordPiece, basic_words, prefer_forward

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0-4, as in KR-BERT


def wordpiece(*pieces: str) -> BidirectionalWordPiece:
    """Specials at 0-4, then `pieces` at ids 5, 6, ... (a lower id = a more frequent piece)."""
    return BidirectionalWordPiece({t: i for i, t in enumerate(SPECIALS + list(pieces))})


def test_backward_wins_with_the_lower_lowest_id():
    # The logic of the real 연세대출: forward 연세대 ##출 (7, 8), backward 연 ##세 ##대출 (5, 6, 9).
    wp = wordpiece("연", "##세", "연세대", "##출", "##대출")
    assert wp.forward("연세대출") == ["연세대", "##출"]
    assert wp.backward("연세대출") == ["연", "##세", "##대출"]
    assert list(wp.split_word("연세대출")[0]) == ["연", "##세", "##대출"]  # 5 < 7


def test_forward_wins_with_the_lower_lowest_id():
    # The logic of the real 북한이므로: forward 북한이 ##므 ##로 (5, 7, 8), backward 북한 ##이므로 (6, 9).
    wp = wordpiece("북한이", "북한", "##므", "##로", "##이므로")
    assert wp.backward("북한이므로") == ["북한", "##이므로"]
    assert wp.split_word("북한이므로") == (("북한이", "##므", "##로"), (5, 7, 8))  # 5 < 6


@pytest.mark.parametrize(
    "ids_of, expected",
    [
        # forward 가나 ##다 ##라 / backward 가 ##나다 ##라: both hold ##라 (5); the next piece decides.
        ({"##라": 5, "가나": 6, "가": 7, "##나다": 8, "##다": 9}, ["가나", "##다", "##라"]),  # [5,6,9] < [5,7,8]
        ({"##라": 5, "가나": 7, "가": 6, "##나다": 8, "##다": 9}, ["가", "##나다", "##라"]),  # [5,7,9] > [5,6,8]
    ],
)
def test_a_tie_on_the_best_piece_falls_to_the_next(ids_of, expected):
    order = sorted(ids_of, key=ids_of.get)
    wp = wordpiece(*order)
    assert wp.forward("가나다라") == ["가나", "##다", "##라"]
    assert wp.backward("가나다라") == ["가", "##나다", "##라"]
    assert list(wp.split_word("가나다라")[0]) == expected


def test_the_comparison_rule_itself():
    special = {0, 1, 2, 3, 4}
    assert prefer_forward([9, 5], [5, 9, 12], special)  # a proper prefix wins (forward)
    assert not prefer_forward([5, 9, 12], [9, 5], special)  # ... (backward)
    assert not prefer_forward([5, 9], [9, 5], special)  # exact tie -> backward
    assert not prefer_forward([2, 7], [6], special)  # specials dropped first: [7] vs [6]
    assert prefer_forward([6, 1], [7], special)


def test_exact_tie_returns_the_backward_candidate():
    wp = wordpiece("가나", "##다")
    forward, backward = ["가나", "##다"], ["가나", "##다"]
    assert wp.choose(forward, backward) is backward


def test_unk_when_only_forward_fails():
    wp = wordpiece("가나", "가", "##나다")  # forward 가나 then no ##다; backward ##나다 + 가
    assert wp.forward("가나다") is None and wp.backward("가나다") == ["가", "##나다"]
    assert wp.split_word("가나다") == (("[UNK]",), (1,))


def test_unk_when_only_backward_fails():
    wp = wordpiece("가나", "##다", "##나다")  # forward 가나 ##다; backward ##나다 then no 가
    assert wp.forward("가나다") == ["가나", "##다"] and wp.backward("가나다") is None
    assert wp.split_word("가나다") == (("[UNK]",), (1,))


def test_words_over_200_characters_are_unk():
    wp = wordpiece("가", "##가")
    assert wp.split_word("가" * 200)[0] == ("가",) + ("##가",) * 199
    assert wp.split_word("가" * 201)[0] == ("[UNK]",)


def test_tokenize_splits_words_like_bert_and_caches():
    wp = wordpiece("연", "##세", "연세대", "##출", "##대출", "##은", ".", "(", ")", "高")
    assert wp.tokenize("연세대출은 (연세대출).") == [
        "연",
        "##세",
        "##대출",
        "##은",
        "(",
        "연",
        "##세",
        "##대출",
        ")",
        ".",
    ]
    assert wp.encode("연세대출") == [5, 6, 9]
    assert "연세대출" in wp._cache


def test_basic_words_match_transformers_basic_tokenizer():
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer

    text = "고혈압(高血壓)은  위험하다!\t당뇨병,\u200b비만… 그리고 Café-au-lait\x00 2형당뇨병 «인용» 50%를"
    reference = BasicTokenizer(do_lower_case=False, tokenize_chinese_chars=True, strip_accents=False).tokenize(text)
    assert basic_words(text) == reference


def test_forward_direction_equals_rust_wordpiece():
    from kmb.vocab.tokenizers import forward_tokenizer_from_tokens

    pieces = [
        "고",
        "##혈",
        "##압",
        "고혈압",
        "##은",
        "##을",
        "연",
        "##세",
        "##대",
        "##출",
        "연세대",
        "당뇨",
        "##병",
        "위",
        "##험",
    ]
    tokens = SPECIALS + pieces
    wp = BidirectionalWordPiece({t: i for i, t in enumerate(tokens)})
    rust = forward_tokenizer_from_tokens(tokens)
    for word in ["고혈압은", "연세대출", "당뇨병을", "위험", "고혈", "위험을은", "없는말"]:
        expected = rust.tokenize(word)
        got = wp.forward(word) or ["[UNK]"]
        assert got == expected, word


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_are_white_space(separator):
    from kmb.vocab.tokenizers import forward_tokenizer_from_tokens

    tokens = SPECIALS + ["고혈압", "환자", "##환자"]
    text = f"고혈압{separator}환자"
    assert basic_words(text) == ["고혈압", "환자"]
    wp = BidirectionalWordPiece({t: i for i, t in enumerate(tokens)})
    assert wp.tokenize(text) == ["고혈압", "환자"] == forward_tokenizer_from_tokens(tokens).tokenize(text)
