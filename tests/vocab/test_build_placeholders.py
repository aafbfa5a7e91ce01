"""De-identification placeholders in the corpus become single tokens of every built vocab."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from kmb.storage import SENTENCES, TERMS, write_rows
from kmb.vocab.build import BuildConfig, build_vocab, placeholders_in_corpus
from kmb.vocab.term_counts import CountConfig, count_workspace_terms
from kmb.vocab.tokenizers import load_tokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BASE = SPECIALS + [
    "[",
    "]",
    "N",
    "##A",
    "##M",
    "##E",
    "님",
    "##님",
    "##은",
    "환",
    "##자",
    "고",
    "##혈",
    "##압",
    "로",
    "##로",
    "연",
    "##락",
]
SENTENCES_TEXT = ["[NAME]님은 고혈압 환자", "[PHONE]로 연락", "[NAME]님은 고혈압", "고혈압 환자"]


def make_workspace(ws):
    rows = [
        dict(
            doc_id=f"d{i}",
            source="clinical",
            sent_idx=0,
            text=t,
            n_chars=len(t),
            n_words=len(t.split()),
            split="valid" if i == 3 else "train",
        )
        for i, t in enumerate(SENTENCES_TEXT)
    ]
    write_rows(ws.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)
    write_rows(ws.terms / "terms.parquet", [dict(term="고혈압", sources=["test"])], TERMS)
    count_workspace_terms(ws, CountConfig(workers=1))


def test_the_corpus_placeholders_are_found(workspace):
    make_workspace(workspace)
    assert placeholders_in_corpus(workspace.corpus / "sentences") == ["[PHONE]", "[NAME]"]
    assert placeholders_in_corpus(workspace.root / "nowhere") == []


@pytest.mark.parametrize("bidirectional", [False, True])
def test_each_placeholder_is_one_token_after_vocab_build(workspace, tmp_path, bidirectional):
    make_workspace(workspace)
    base = tmp_path / "vocab.txt"
    base.write_text("\n".join(BASE) + "\n", encoding="utf-8")
    out = workspace.vocab("medical")
    report = build_vocab(workspace, base, out, BuildConfig(min_count=1, bidirectional=bidirectional))
    assert report["steps"]["placeholders"] == 2
    assert (out / "vocab.txt").read_text(encoding="utf-8").splitlines()[len(BASE) :] == ["고혈압", "[PHONE]", "[NAME]"]
    tokenizers = [load_tokenizer(out), load_tokenizer(out, bidirectional=not bidirectional)]
    tokenizers.append(AutoTokenizer.from_pretrained(str(out)))  # plain transformers too
    for tok in tokenizers:
        assert tok.tokenize("[NAME]님은 [PHONE]로")[:1] == ["[NAME]"], type(tok).__name__
        assert "[PHONE]" in tok.tokenize("[NAME]님은 [PHONE]로")
        ids = tok("[NAME]님")["input_ids"]
        assert ids[1] == tok.convert_tokens_to_ids("[NAME]") == len(BASE) + 2
