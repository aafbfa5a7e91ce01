"""KR-BERT's bidirectional WordPiece behind the normal transformers API (kmb.vocab.bidirectional_tokenizer)."""

from __future__ import annotations

import pytest

from kmb.vocab.tokenizers import load_tokenizer, save_tokenizer_dir

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    ".", "##은", "##을", "고", "##혈", "##압", "혈", "압", "연", "##세", "연세대", "##출", "##대출",
    "북한이", "북한", "##므", "##로", "##이므로", "Café", "고혈압", "당뇨", "##병",
]  # fmt: skip


@pytest.fixture
def tok_dir(tmp_path):
    out = tmp_path / "tok"
    out.mkdir()
    return save_tokenizer_dir(TOKENS, out)


def test_bidirectional_tokenizer_api_and_round_trip(tok_dir, tmp_path):
    from transformers import AutoTokenizer

    bi = load_tokenizer(tok_dir, bidirectional=True)
    assert len(bi) == len(TOKENS) and bi.cls_token_id == 2 and bi.sep_token_id == 3 and bi.pad_token_id == 0
    assert bi.tokenize("연세대출은 북한이므로") == ["연", "##세", "##대출", "##은", "북한이", "##므", "##로"]
    assert bi.convert_tokens_to_ids(["연", "[MASK]"]) == [13, 4]
    assert bi.tokenize("연세대출[MASK] 고혈압") == ["연", "##세", "##대출", "[MASK]", "고혈압"]  # specials kept whole
    batch = bi(["연세대출은", "고혈압"], ["북한이므로", "당뇨병"], truncation=True, max_length=128)
    assert bi.convert_ids_to_tokens(batch["input_ids"][0]) == [
        "[CLS]",
        "연",
        "##세",
        "##대출",
        "##은",
        "[SEP]",
        "북한이",
        "##므",
        "##로",
        "[SEP]",
    ]
    assert batch["token_type_ids"][0] == [0] * 6 + [1] * 4
    short = bi("연세대출은", "북한이므로", truncation=True, max_length=6)
    assert len(short["input_ids"]) == 6

    saved = tmp_path / "bi"
    bi.save_pretrained(str(saved))
    again = load_tokenizer(saved)
    assert type(again).__name__ == "BidirectionalBertTokenizer"
    assert again.tokenize("연세대출") == ["연", "##세", "##대출"]
    plain = AutoTokenizer.from_pretrained(str(saved))  # still loads, as forward WordPiece
    assert plain.tokenize("연세대출") == ["연세대", "##출"]
    assert load_tokenizer(saved, bidirectional=False).tokenize("연세대출") == ["연세대", "##출"]


def test_bidirectional_tokenizer_pickles(tok_dir):
    import pickle

    bi = load_tokenizer(tok_dir, bidirectional=True)
    assert pickle.loads(pickle.dumps(bi)).tokenize("연세대출") == ["연", "##세", "##대출"]
