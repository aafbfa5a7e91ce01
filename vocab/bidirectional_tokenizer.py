"""KR-BERT's bidirectional WordPiece behind the standard `transformers` tokenizer API.

:class:`BidirectionalBertTokenizer` is transformers' Python BERT tokenizer (vocab.txt,
``[CLS] A [SEP] B [SEP]``, token_type_ids, truncation, padding, save_pretrained) with its word
splitting replaced by :class:`kmb.vocab.bidirectional.BidirectionalWordPiece`. It is a
module-level class so it pickles (DataLoader workers, multiprocessing).

A saved directory records ``"kmb_wordpiece": "bidirectional"`` in tokenizer_config.json and also
holds a forward tokenizer.json, so plain ``AutoTokenizer`` still loads it (as forward WordPiece)
while :func:`kmb.vocab.tokenizers.load_tokenizer` gives this class back.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from kmb.storage import write_text_atomic
from kmb.vocab.bidirectional import CONFIG_KEY, BidirectionalWordPiece, read_vocab_file
from kmb.vocab.tokenizers import keep_placeholders_whole


class BidirectionalBertTokenizer(BertTokenizerLegacy):
    """A cased BERT tokenizer (no accent stripping, no normalisation) splitting words bidirectionally."""

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, vocab_file, **kwargs):
        # KR-BERT's settings are fixed: a config asking otherwise would silently change the ids.
        for key in (
            "do_lower_case",
            "strip_accents",
            "tokenize_chinese_chars",
            "do_basic_tokenize",
            "tokenizer_class",
            CONFIG_KEY,
            "backend",
        ):
            kwargs.pop(key, None)
        kwargs.setdefault("model_max_length", 512)
        read_vocab_file(vocab_file)  # one clear error for duplicates / missing specials
        super().__init__(vocab_file, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True, **kwargs)
        self.wordpiece = BidirectionalWordPiece(dict(self.vocab), unk_token=str(self.unk_token))
        keep_placeholders_whole(self, list(self.vocab))

    def _tokenize(self, text, split_special_tokens=False):
        return self.wordpiece.tokenize(text)

    # Shortcuts past the generic Python tokenizer's per-token overhead (it dominates otherwise):
    # text without "[" cannot hold a special/added token ([CLS], [MASK], ...), so it goes straight
    # to the word splitter; token -> id is one dict lookup; [CLS]/[SEP] ids are looked up once.
    def tokenize(self, text, **kwargs):
        if "[" not in text and not any(kwargs.get(k) for k in kwargs) and self._added_all_bracketed():
            return self.wordpiece.tokenize(text)
        return super().tokenize(text, **kwargs)

    def convert_tokens_to_ids(self, tokens):
        ids, unk = self._token_ids()
        if isinstance(tokens, str):
            return ids.get(tokens, unk)
        return [ids.get(t, unk) for t in tokens]

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        cls, sep = self._cls_sep()
        if token_ids_1 is None:
            return [cls] + token_ids_0 + [sep]
        return [cls] + token_ids_0 + [sep] + token_ids_1 + [sep]

    def _added_all_bracketed(self) -> bool:
        added = self._added_tokens_encoder
        if getattr(self, "_bracketed_key", None) != len(added):
            self._bracketed = all(t.startswith("[") for t in added)
            self._bracketed_key = len(added)
        return self._bracketed

    def _token_ids(self) -> tuple[dict, int]:
        added = self._added_tokens_encoder
        if getattr(self, "_ids_key", None) != len(added):
            self._ids = {**self.vocab, **added}
            self._ids_key = len(added)
            self._unk = self._ids.get(str(self.unk_token), 1)
            self._cls_sep_ids = (self._ids[str(self.cls_token)], self._ids[str(self.sep_token)])
        return self._ids, self._unk

    def _cls_sep(self) -> tuple[int, int]:
        self._token_ids()
        return self._cls_sep_ids

    def save_pretrained(self, save_directory, *args, **kwargs):
        files = super().save_pretrained(save_directory, *args, **kwargs)
        tokens = [self.ids_to_tokens[i] for i in range(len(self.vocab))]
        mark_bidirectional(Path(save_directory), tokens)
        return files


def mark_bidirectional(directory: Path, tokens: list[str]) -> None:
    """Record the choice in tokenizer_config.json and write a forward tokenizer.json beside it."""
    from kmb.vocab.tokenizers import forward_tokenizer_from_tokens

    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    config.update(
        {
            "tokenizer_class": "BertTokenizer",
            "backend": "tokenizers",
            "do_lower_case": False,
            "strip_accents": False,
            CONFIG_KEY: "bidirectional",
        }
    )
    config.pop("auto_map", None)
    forward_tokenizer_from_tokens(tokens).backend_tokenizer.save(str(directory / "tokenizer.json"))
    write_text_atomic(config_path, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
