"""Step 1 of the corpus build: make text comparable before anything looks at it.

- Unicode NFC. Never NFD/NFKD: they decompose Hangul syllables into jamo, and NFKC would also
  rewrite full-width and compatibility characters that are meaningful in medical text (㎎, ℃).
- HTML entities left by extraction (``&amp;``, ``&nbsp;``, ``&#39;``) are decoded.
- Control characters (except the newline that separates paragraphs) and zero-width characters
  (ZWSP, ZWNJ, ZWJ, word joiner, BOM) are removed; no-break and other Unicode spaces become a space.
- Every other Unicode line break (the characters ``str.splitlines`` breaks at) is white space:
  U+2029 PARAGRAPH SEPARATOR becomes the ``\n`` between paragraphs, and U+2028 LINE SEPARATOR,
  U+0085 NEL, VT, FF and the file/group/record separators become a space.
- Runs of spaces are collapsed, lines are trimmed, empty lines dropped: paragraphs stay one per line.
"""

from __future__ import annotations

import html
import re
import unicodedata

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# C0/C1 controls except \n (paragraphs) and \t (turned into a space below).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A paragraph separator ends a paragraph, as "\n" does in kmb's text, so it becomes "\n". The
# others become a space, not a paragraph break: a line separator is a soft break inside a
# paragraph (Shift+Enter), and NEL, VT and FF are layout left over from extraction (FF between
# PDF pages), so a sentence may run across any of them and cutting there would split it in two.
_PARAGRAPH_SEPARATOR = "\u2029"
_LINE_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028]")
_SPACES = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def normalise(text: str | None) -> str:
    """Return NFC text with entities decoded, invisible characters removed, spaces tidied."""
    if not text:
        return ""
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)  # first: an entity may stand for a line break (&#8233;)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_PARAGRAPH_SEPARATOR, "\n")
    text = _LINE_BREAKS.sub(" ", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
