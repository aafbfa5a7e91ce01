"""NER encodes each word as the tokenizer does in the running sentence, for every tokenizer kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.evaluation.ner_data import NerSentence, tokenize_windows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers"
WORDS = ["환자는", "고혈압으로", "병원에서", "치료를", "받았다", "."]


def _tokenizer(kind: str, tiny_models):
    from transformers import AutoTokenizer

    if kind == "wordpiece":
        return AutoTokenizer.from_pretrained(str(tiny_models[0]))
    return AutoTokenizer.from_pretrained(str(FIXTURES / kind))


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_input_ids_equal_the_tokenizers_own_for_the_sentence(kind, tiny_models):
    tokenizer = _tokenizer(kind, tiny_models)
    sentence = NerSentence(WORDS, ["B-DS", "I-DS", "O", "O", "O", "O"], "d")
    (window,) = tokenize_windows([sentence], tokenizer, {"O": 0, "B-DS": 1, "I-DS": 2}, max_length=128)
    assert window.input_ids == tokenizer(" ".join(WORDS))["input_ids"]
    # every word has its own span, in order, covering all non-special tokens
    assert len(window.spans) == len(WORDS)
    assert window.spans[0][0] == 1 and window.spans[-1][1] == len(window.input_ids) - 1
    assert all(a[1] == b[0] for a, b in zip(window.spans, window.spans[1:]))


def test_byte_level_words_after_the_first_carry_the_space_mark():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(FIXTURES / "bpe"))
    sentence = NerSentence(WORDS[:3], ["O"] * 3, "d")
    (window,) = tokenize_windows([sentence], tokenizer, {"O": 0}, max_length=128)
    firsts = [tokenizer.convert_ids_to_tokens(window.input_ids[start]) for start, _ in window.spans]
    assert not firsts[0].startswith("Ġ") and all(t.startswith("Ġ") for t in firsts[1:])


def test_long_sentence_windows_keep_running_text_ids():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(FIXTURES / "unigram"))
    words = WORDS * 8
    sentence = NerSentence(words, ["O"] * len(words), "d")
    windows = tokenize_windows([sentence], tokenizer, {"O": 0}, max_length=16)
    assert len(windows) > 1 and sum(w.n_words for w in windows) == len(words)
    inner = [i for w in windows for i in w.input_ids[1:-1]]
    assert inner == tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
