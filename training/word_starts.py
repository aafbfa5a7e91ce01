"""Where words start, for whole-word masking: the vocab's rule, corrected around added tokens.

What a "word" is, by tokenizer kind (the unit :func:`kmb.training.masking.apply_whole_word_rule`
masks together):

- **WordPiece** (BERT, KR-BERT, KM-BERT): a word of BERT's basic tokenizer, which is an eojeol
  with its punctuation and each CJK (Han) character split off: "고혈압(HTN)은" is the five words
  고혈압 / ( / HTN / ) / 은. A token starts a word unless it is a "##" continuation piece
  (Google's whole-word masking rule).
- **Byte-level BPE** (RoBERTa, ModernBERT): an eojeol. A token starts a word when it carries
  "Ġ" (the space before it). Punctuation inside an eojeol stays in it: GPT-2's pre-tokenizer
  cuts it into its own piece, but without "Ġ".
- **Unigram with Metaspace** (XLM-R): an eojeol; "▁" starts one.
- **Added tokens** (medical terms that `kmb vocab build` adds to a BPE or Unigram base, and the
  de-identification placeholders such as "[NAME]") carry no marker, and the tokenizer matches
  them anywhere, also inside an eojeol ("항고혈압제" holds 고혈압). For them, and for the token
  right after one, the text decides. Such a token starts a word only when white space is before
  it (or it opens the sentence), and not when it follows a lone marker token ("Ġ", "▁"), whose
  word it continues. So "항고혈압제를" stays one word, and "[NAME]님은" is one word too, where
  the vocab rule alone would make "님" a second word.

The vocab rule is one table lookup per batch (:func:`kmb.training.masking.word_start_table`).
The corrections need the character offsets, so they are found once, when the shards are built.
Only sentences that hold an added token are encoded again with offsets. Each row stores the few
positions where the table is wrong (the ``word_start_flips`` column), and the collator flips
them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kmb.training.masking import WORD_MARKERS, word_start_table


class WordStartFlips:
    """The positions of a row where :func:`word_start_table` is wrong, found from offsets."""

    def __init__(self, tokenizer):
        self.table = word_start_table(tokenizer)
        decoder = getattr(tokenizer, "added_tokens_decoder", {})
        self.added = {i for i, token in decoder.items() if not getattr(token, "special", False)}
        vocab = tokenizer.get_vocab()
        self.bare_markers = {vocab[m] for m in WORD_MARKERS[1:] if m in vocab}
        # Offsets come from the Rust tokenizer; without one the vocab rule stands as it is.
        self.backend = None
        if self.added and getattr(tokenizer, "backend_tokenizer", None) is not None:
            from tokenizers import Tokenizer

            self.backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            self.backend.no_padding()
            self.backend.no_truncation()
        self._added = np.array(sorted(self.added), dtype=np.int64)

    def rows_with_added(self, ids: list[list[int]]) -> np.ndarray:
        """The rows of a batch of id lists that hold an added token."""
        if self.backend is None or not ids:
            return np.zeros(0, dtype=np.int64)
        column = pa.array(ids, type=pa.list_(pa.int64()))  # one C pass, no Python loop over tokens
        hits = np.flatnonzero(np.isin(column.values.to_numpy(), self._added))
        return np.unique(np.searchsorted(column.offsets.to_numpy(), hits, side="right") - 1)

    def encode_sentences(self, texts: list[str]) -> tuple[list[list[int]], dict[int, list[int]]]:
        """(ids, {row: flip positions}) of sentences encoded without special tokens, in one pass
        of the Rust tokenizer (which gives the offsets with the ids). Needs :attr:`backend`."""
        encodings = self.backend.encode_batch(texts, add_special_tokens=False)
        ids = [e.ids for e in encodings]
        return ids, self.from_encodings(encodings, [(t,) for t in texts], self.rows_with_added(ids))

    def for_pairs(self, texts_a, texts_b, ids: list[list[int]], max_length: int, encodings=None) -> dict:
        """{row: flip positions} for pairs encoded as ``[CLS] A [SEP] B [SEP]``, from their
        ``encodings`` when the caller has them, else from encoding the rows again."""
        rows = self.rows_with_added(ids)
        if len(rows) == 0:
            return {}
        if encodings is None:
            self.backend.enable_truncation(max_length, strategy="longest_first")
            again = self.backend.encode_batch([(texts_a[r], texts_b[r]) for r in rows])
            encodings = dict(zip(rows.tolist(), again, strict=True))
        return self.from_encodings(encodings, list(zip(texts_a, texts_b, strict=True)), rows, ids)

    def from_encodings(self, encodings, texts: list[tuple], rows: np.ndarray, ids=None) -> dict[int, list[int]]:
        """{row: flips} of the ``rows`` (those holding an added token) of a batch's encodings."""
        flips = {}
        for row in rows.tolist():
            encoding = encodings[row]
            if ids is None or encoding.ids == list(ids[row]):  # the same encoding, so its offsets apply
                found = self.row_flips(encoding.ids, encoding.offsets, encoding.sequence_ids, texts[row])
                if found:
                    flips[row] = found
        return flips

    def row_flips(self, ids, offsets, seqs, texts) -> list[int]:
        """Positions next to an added token whose start differs from the table's (see the module
        docstring). ``seqs[i]`` is the text token i came from (None for a special token)."""
        flips, added, previous = [], self.added, None
        for i, token in enumerate(ids):
            near, previous_token, previous = token in added or previous in added, previous, token
            if not near or seqs[i] is None:
                continue
            if i == 0 or seqs[i - 1] != seqs[i]:
                starts = True  # the first token of its text
            elif previous_token in self.bare_markers:
                starts = False  # a lone "Ġ"/"▁" opened this word
            else:
                text, at = texts[seqs[i]], offsets[i][0]
                starts = at == 0 or (at < len(text) and text[at].isspace()) or text[at - 1].isspace()
            if starts != bool(self.table[token]):
                flips.append(i)
        return flips


def apply_flips(word_starts: np.ndarray, flips: list[np.ndarray]) -> np.ndarray:
    """Flip each row's listed positions of a [rows, length] start mask, in place; returns it."""
    counts = [len(f) for f in flips]
    if sum(counts):
        rows = np.repeat(np.arange(len(flips)), counts)
        columns = np.concatenate([np.asarray(f, dtype=np.int64) for f in flips])
        word_starts[rows, columns] ^= True
    return word_starts
