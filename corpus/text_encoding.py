"""Decode the bytes of a Korean text file: UTF-8 (with or without BOM), UTF-16/32 with BOM, CP949.

Korean files come in a handful of encodings, so kmb tries them in a fixed order instead of
guessing statistically:

1. a byte-order mark decides (UTF-8-SIG, UTF-16 LE/BE, UTF-32 LE/BE);
2. strict UTF-8 (random or legacy bytes almost never decode as valid UTF-8);
3. strict CP949 (a superset of EUC-KR), accepted only when the result looks like Korean:
   CP949 maps so many byte pairs that Shift-JIS, Latin-1 or binary data often "decode" into rare
   syllables, while real Korean text stays almost entirely inside the 2,350 common KS X 1001
   syllables (the ones EUC-KR can encode).

Anything else raises :class:`UndecodableText` rather than returning mojibake. The benchmark
(`benchmarks/bench_sources.py`) compares this with charset-normalizer on the same files.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
_LETTER = re.compile(r"[^\W\d_]")  # any Unicode letter
_LATIN = re.compile(r"[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# A CP949 decoding is plausible when at least this share of its non-ASCII characters is
# EUC-KR-encodable (KS X 1001: common Hangul, Hanja, symbols) and half of them are Hangul.
MIN_KSX1001_SHARE = 0.9
MIN_HANGUL_SHARE = 0.5


class UndecodableText(ValueError):
    """The bytes are in none of the encodings kmb reads."""


def decode_korean_text(data: bytes, complete: bool = True) -> tuple[str, str]:
    """Return ``(text, encoding)``; raise :class:`UndecodableText` with the reason.

    ``complete=False`` means ``data`` is only the head of a longer file: a multi-byte character
    cut at its end is not an error (used to sniff the encoding of big CSV/JSONL files).
    """

    def decode(encoding: str) -> str:
        return codecs.getincrementaldecoder(encoding)("strict").decode(data, final=complete)

    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                text = decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableText(
                    f"starts with a {encoding} byte-order mark but is not valid {encoding} (byte {exc.start})"
                ) from None
            text = text.lstrip("\ufeff")
            _reject_binary(text, encoding)
            return text, "utf-8-sig" if encoding == "utf-8-sig" else _bom_name(bom, encoding)
    try:
        text = decode("utf-8")
        _reject_binary(text, "utf-8")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = decode("cp949")
    except UnicodeDecodeError as exc:
        raise UndecodableText(
            f"not UTF-8, UTF-16 with BOM or CP949/EUC-KR (invalid byte at offset {exc.start})"
        ) from None
    _reject_binary(text, "cp949")
    if not looks_like_korean(text):
        raise UndecodableText(
            "not UTF-8, UTF-16 with BOM or CP949/EUC-KR (decodes as CP949 only into implausible characters)"
        )
    # Pure KS X 1001 content is plain EUC-KR; anything beyond it needs Microsoft's CP949.
    if all(_encodable_euc_kr(c) for c in set(text)):
        return text, "euc-kr"
    return text, "cp949"


def looks_like_korean(text: str) -> bool:
    """Whether a CP949 decoding is real Korean rather than mis-decoded other bytes."""
    counts = {c: n for c, n in Counter(text).items() if ord(c) > 0x7F}
    if not counts:
        return True
    total = sum(counts.values())
    ksx = sum(n for c, n in counts.items() if _encodable_euc_kr(c))
    hangul = sum(n for c, n in counts.items() if "\uac00" <= c <= "\ud7a3")
    return ksx / total >= MIN_KSX1001_SHARE and hangul / total >= MIN_HANGUL_SHARE


def hangul_share(text: str) -> float:
    """Share of Hangul syllables among the letters of ``text`` (0 when it has none)."""
    letters = len(_LETTER.findall(text))
    return len(_HANGUL_SYLLABLE.findall(text)) / letters if letters else 0.0


def guess_language(text: str) -> str | None:
    """'ko' when Hangul dominates, 'en' when ASCII letters do, else None (unknown)."""
    sample = text[:20_000]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    if len(_HANGUL_SYLLABLE.findall(sample)) / letters >= 0.3:
        return "ko"
    return "en" if len(_LATIN.findall(sample)) / letters >= 0.8 else None


def _encodable_euc_kr(char: str) -> bool:
    # Python's euc_kr codec spells syllables outside KS X 1001 as 8-byte jamo sequences;
    # only a 2-byte code is a real KS X 1001 character.
    try:
        return len(char.encode("euc_kr")) <= 2
    except UnicodeEncodeError:
        return False


def _reject_binary(text: str, encoding: str) -> None:
    # NUL and other C0 controls do not occur in text files; they mean binary data.
    controls = len(_CONTROL.findall(text[:100_000]))
    if controls > max(2, len(text[:100_000]) // 1000):
        raise UndecodableText(f"looks like binary data, not text ({controls} control characters as {encoding})")


def _bom_name(bom: bytes, encoding: str) -> str:
    return {
        codecs.BOM_UTF16_LE: "utf-16-le",
        codecs.BOM_UTF16_BE: "utf-16-be",
        codecs.BOM_UTF32_LE: "utf-32-le",
        codecs.BOM_UTF32_BE: "utf-32-be",
    }.get(bom, encoding)
