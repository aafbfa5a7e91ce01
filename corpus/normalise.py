"""Step 1 of the corpus build: make text comparable before anything looks at it.

- Unicode NFC. Never NFD/NFKD: they decompose Hangul syllables into jamo, and NFKC would also
  rewrite full-width and compatibility characters that are meaningful in medical text (㎎, ℃).
- HTML entities left by extraction (``&amp;``, ``&nbsp;``, ``&#39;``) are decoded.
- Control characters (except the newline that separates paragraphs) and zero-width characters
  (ZWSP, ZWNJ, ZWJ, word joiner, BOM) are removed; no-break and other Unicode spaces become a space.
- Runs of spaces are collapsed, lines are trimmed, empty lines dropped: paragraphs stay one per line.
"""

from __future__ import annotations

import html
import re
import unicodedata

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# C0/C1 controls except \n (paragraphs) and \t (turned into a space below).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def normalise(text: str | None) -> str:
    """Return NFC text with entities decoded, invisible characters removed, spaces tidied."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
