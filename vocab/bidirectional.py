"""KR-BERT's BidirectionalWordPiece, fast enough for whole corpora.

KR-BERT (Lee et al. 2020) tokenizes each word two ways and keeps one:

- forward: the usual WordPiece greedy longest match from the left (``##`` on every piece but the
  first);
- backward: repeatedly take the longest *suffix* of the not-yet-covered prefix that is in the
  vocab, written with ``##`` unless it starts at the word's first character;
- choice: drop the special ids (``[PAD] [UNK] [CLS] [SEP] [MASK]``, ids 0-4 in KR-BERT's vocab)
  from each candidate, sort each id list ascending and take forward if ``sorted(forward) <
  sorted(backward)`` as lists, else backward. KR-BERT's learned pieces are numbered by
  descending frequency, so the candidate whose best piece is more frequent wins; exact ties go to
  backward. If either direction cannot cover the word it is ``[UNK]``; so is a word longer than
  200 characters.

Speed: words repeat (Zipf), so each distinct word is split once and its ids kept in a bounded
dict cache; the word split before it (BERT's basic tokenizer: whitespace, punctuation, CJK
ideographs, control characters removed; cased, no normalisation) is one compiled regular
expression instead of BERT's per-character Python loop. Unlike BERT's Python code, the line and
paragraph separators U+2028/U+2029 are white space (as in the Rust tokenizer and KR-BERT's code), so
``고혈압\u2028환자`` is two words, not one [UNK].

:class:`kmb.vocab.bidirectional_tokenizer.BidirectionalBertTokenizer` wraps this in the standard `transformers` tokenizer API
(``tok(a, b, truncation=True, max_length=128)``, ``len(tok)``, ``save_pretrained``...), so every
stage can use it where it would use the forward tokenizer; see :func:`kmb.vocab.tokenizers.load_tokenizer`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import write_text_atomic

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_WORD_CHARS = 200
# Key in tokenizer_config.json that records which WordPiece a tokenizer directory uses.
CONFIG_KEY = "kmb_wordpiece"
CACHE_WORDS = 1 << 20  # distinct words kept; the cache is cleared when full (bounded memory)


# --- vocab files -----------------------------------------------------------------------------
def read_vocab_file(path: str | Path) -> list[str]:
    """Read a BERT vocab.txt (one token per line, id = line index) and check it.

    A duplicate line, a blank line, or a missing special token is a :class:`KmbError` naming the
    file and line: silently renumbered ids would shift every embedding of the model.
    """
    path = Path(path)
    if not path.is_file():
        raise KmbError("vocab file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KmbError(f"vocab file is not UTF-8 ({exc.reason} at byte {exc.start})", path=path) from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        token = raw.rstrip("\r")
        if token == "":
            raise KmbError("blank line in vocab (every line is one token; ids would shift)", path=path, line=number)
        if token in seen:
            raise KmbError(f"duplicate token {token!r} (first on line {seen[token]})", path=path, line=number)
        seen[token] = number
    missing = [t for t in SPECIAL_TOKENS if t not in seen]
    if missing:
        raise KmbError(f"vocab lacks the special token(s) {' '.join(missing)}", path=path)
    return [raw.rstrip("\r") for raw in lines]


def write_vocab_file(tokens: list[str], path: str | Path) -> None:
    """Write vocab.txt atomically (temp name, then rename)."""
    write_text_atomic(path, "\n".join(tokens) + "\n")


# --- BERT's basic tokenizer as one regular expression ------------------------------------------
def _is_cjk(cp: int) -> bool:
    # The CJK Unified Ideographs blocks BERT puts spaces around (not Hangul, not kana).
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _ranges(codepoints: list[int]) -> str:
    parts, start, prev = [], None, None
    for cp in codepoints:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            parts.append((start, prev))
            start = prev = cp
    if start is not None:
        parts.append((start, prev))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in parts)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, re.Pattern]:
    """(words, removed): built once per process from the Unicode tables (~0.2 s)."""
    single, removed, space = [], [], []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        # Zl/Zp: U+2028 LINE and U+2029 PARAGRAPH SEPARATOR separate words, as in the Rust
        # tokenizer and KR-BERT's own code (BERT's Python tokenizer lets them join words).
        if ch in " \t\n\r" or cat in ("Zs", "Zl", "Zp"):
            space.append(cp)
        elif cp == 0 or cp == 0xFFFD or cat in ("Cc", "Cf"):
            removed.append(cp)
        elif (
            (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126)
            or cat.startswith("P")
            or _is_cjk(cp)
        ):
            single.append(cp)
    one, gone, blank = _ranges(single), _ranges(removed), _ranges(space)
    words = re.compile(f"[{one}]|[^{one}{blank}]+")
    return words, re.compile(f"[{gone}]+")


def basic_words(text: str) -> list[str]:
    """BERT's basic tokenizer, cased and without normalisation: the words WordPiece sees."""
    words, removed = _patterns()
    if removed.search(text):
        text = removed.sub("", text)
    return words.findall(text)


# --- the two directions and the choice ---------------------------------------------------------
def prefer_forward(forward_ids: list[int], backward_ids: list[int], special_ids) -> bool:
    """True when forward wins: its ids without specials, sorted, are lexicographically smaller.

    The lowest id (most frequent piece) decides, ties fall to the next piece, a proper prefix
    wins, an exact tie goes to backward.
    """
    f = sorted(i for i in forward_ids if i not in special_ids)
    b = sorted(i for i in backward_ids if i not in special_ids)
    return f < b


class BidirectionalWordPiece:
    """Split words with KR-BERT's bidirectional rule over a vocab (token -> id)."""

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", max_word_chars: int = MAX_WORD_CHARS):
        self.vocab = vocab
        self.unk_token = unk_token
        self.unk_id = vocab[unk_token]
        self.max_word_chars = max_word_chars
        self.special_ids = {vocab[t] for t in SPECIAL_TOKENS if t in vocab}
        # No piece is longer than this, so no longer substring needs a lookup.
        self.max_piece = max((len(t) - 2 if t.startswith("##") else len(t)) for t in vocab) if vocab else 1
        self._cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}

    def forward(self, word: str) -> list[str] | None:
        """Greedy longest match from the left; None when some position has no piece."""
        vocab, pieces, start, n = self.vocab, [], 0, len(word)
        while start < n:
            end = min(n, start + self.max_piece)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            else:
                return None
            pieces.append(piece)
            start = end
        return pieces

    def backward(self, word: str) -> list[str] | None:
        """Longest vocab suffix of the uncovered prefix, right to left; None when stuck."""
        vocab, pieces, end = self.vocab, [], len(word)
        while end > 0:
            start = max(0, end - self.max_piece)
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                start += 1
            else:
                return None
            pieces.append(piece)
            end = start
        pieces.reverse()
        return pieces

    def choose(self, forward: list[str], backward: list[str]) -> list[str]:
        """KR-BERT's rule between the two candidates' pieces (see :func:`prefer_forward`)."""
        vocab = self.vocab
        ids_f = [vocab[p] for p in forward]
        ids_b = [vocab[p] for p in backward]
        return forward if prefer_forward(ids_f, ids_b, self.special_ids) else backward

    def split_word(self, word: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """(pieces, ids) of one word, cached."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        pieces: list[str] | None = None
        if len(word) <= self.max_word_chars:
            forward = self.forward(word)
            backward = self.backward(word) if forward is not None else None
            if forward is not None and backward is not None:
                pieces = forward if forward == backward else self.choose(forward, backward)
        if pieces is None:
            result = ((self.unk_token,), (self.unk_id,))
        else:
            result = (tuple(pieces), tuple(self.vocab[p] for p in pieces))
        if len(self._cache) >= CACHE_WORDS:
            self._cache.clear()
        self._cache[word] = result
        return result

    def tokenize(self, text: str) -> list[str]:
        return self._split_text(text, 0)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` without special tokens (the fast path for whole corpora)."""
        return self._split_text(text, 1)

    def _split_text(self, text: str, part: int) -> list:
        """Pieces (part 0) or ids (part 1) of every word of `text`, in order."""
        out: list = []
        split = self.split_word
        for word in basic_words(text):
            out.extend(split(word)[part])
        return out
