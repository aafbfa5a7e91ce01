"""Loading and making tokenizer directories the way every stage should.

Later stages (pretraining shards, evaluation) call :func:`load_tokenizer` instead of
`AutoTokenizer` directly, so a directory whose tokenizer_config.json says
``"kmb_wordpiece": "bidirectional"`` gets KR-BERT's bidirectional WordPiece everywhere, and any
other directory a fast (Rust) BERT WordPiece tokenizer. Both speak the same transformers API:
``tok(texts_a, texts_b, truncation=True, max_length=128)``, ``len(tok)``,
``tok.convert_tokens_to_ids``, ``tok.cls_token_id``, ``tok.save_pretrained``.

Known traps with tokenizers 0.23 / transformers 5.x that this module avoids (tests pin each):
- ``BertNormalizer(lowercase=True, strip_accents=None)`` strips accents, i.e. applies NFD, which
  turns every Hangul syllable into jamo: we always pass ``lowercase=False, strip_accents=False``.
- ``BertTokenizer(vocab_file=...)`` is silently ignored in transformers 5 (the argument is
  ``vocab=``) and leaves a 5-token vocab: we pass ``vocab=`` and check the length.
- A directory with only vocab.txt loads through AutoTokenizer as that 5-token vocab: we build it
  from vocab.txt ourselves.
- A bare ``tokenizers`` WordPiece has no [CLS]/[SEP] post-processor: ``BertTokenizer`` adds it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

from kmb.errors import KmbError

BIDIRECTIONAL = "bidirectional"
FORWARD = "forward"


def forward_tokenizer_from_tokens(tokens: list[str]):
    """A fast BERT WordPiece tokenizer over `tokens` (id = index): cased, no accent stripping."""
    from transformers import BertTokenizer

    vocab = OrderedDict((token, idx) for idx, token in enumerate(tokens))
    tok = BertTokenizer(vocab=vocab, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True)
    if len(tok) != len(tokens):  # e.g. a transformers that ignores `vocab=` as 5.x ignores `vocab_file=`
        raise KmbError(f"transformers built a {len(tok)}-token tokenizer from a {len(tokens)}-token vocab")
    keep_placeholders_whole(tok, tokens)
    return tok


def keep_placeholders_whole(tok, tokens) -> None:
    """Make each de-identification placeholder in the vocab ([NAME], [PHONE] ...) one token:
    BERT's basic tokenizer would split "[NAME]" at its brackets into three. As added tokens they are
    matched before any splitting, with the ids they already have."""
    from tokenizers import AddedToken

    from kmb.deid.detect import PLACEHOLDERS

    present = [t for t in PLACEHOLDERS.values() if t in set(tokens)]
    if present:
        tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in present])
        if len(tok) != len(tokens):
            raise KmbError(f"the placeholders {' '.join(present)} changed the vocab size")


def prepend_marker_at_text_start_only(tok) -> bool:
    """Give a Metaspace ("▁") pre-tokenizer ``prepend_scheme="first"``; True when one changed.

    The tokenizers library cuts the text at added tokens before pre-tokenizing, and with
    ``"always"`` Metaspace gives every piece after an added token its own "▁": "고혈압으로" with
    고혈압 added came out as 고혈압 ▁ 으로, a word start that is not in the text. With ``"first"``
    only the piece at the start of the text gets one (as transformers' non-legacy Llama and T5
    tokenizers do); everywhere else "▁" comes from the spaces, as before."""
    from tokenizers import pre_tokenizers

    pre = getattr(getattr(tok, "backend_tokenizer", None), "pre_tokenizer", None)
    changed = False
    for part in _sequence_parts(pre) if isinstance(pre, pre_tokenizers.Sequence) else [pre]:
        if isinstance(part, pre_tokenizers.Metaspace) and part.prepend_scheme == "always":
            part.prepend_scheme = "first"
            changed = True
    return changed


def _sequence_parts(sequence) -> list:
    parts = []  # a tokenizers Sequence has no len(); it indexes until IndexError
    while True:
        try:
            parts.append(sequence[len(parts)])
        except IndexError:
            return parts


def bidirectional_tokenizer(vocab_file: str | Path, **kwargs):
    """KR-BERT's bidirectional WordPiece over a vocab.txt, as a transformers tokenizer."""
    from kmb.vocab.bidirectional_tokenizer import BidirectionalBertTokenizer

    return BidirectionalBertTokenizer(str(vocab_file), **kwargs)


def save_tokenizer_dir(
    tokens: list[str], out_dir: str | Path, wordpiece: str = FORWARD, extra_config: dict | None = None
) -> Path:
    """Write vocab.txt, tokenizer.json and tokenizer_config.json for `tokens` into `out_dir`
    (which must exist and is expected to be a fresh temporary directory; callers rename it)."""
    from kmb.vocab.bidirectional import CONFIG_KEY, write_vocab_file

    out_dir = Path(out_dir)
    tok = forward_tokenizer_from_tokens(tokens)
    tok.save_pretrained(str(out_dir))
    write_vocab_file(tokens, out_dir / "vocab.txt")
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.update({"do_lower_case": False, "strip_accents": False, CONFIG_KEY: wordpiece, "model_max_length": 512})
    config.update(extra_config or {})
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out_dir


def wordpiece_of(path: str | Path) -> str:
    """'bidirectional' or 'forward', as recorded in the directory's tokenizer_config.json."""
    from kmb.vocab.bidirectional import CONFIG_KEY

    config_path = Path(path) / "tokenizer_config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise KmbError(
                f"tokenizer_config.json is not valid JSON: {exc.msg}", path=config_path, line=exc.lineno
            ) from exc
        if config.get(CONFIG_KEY) == BIDIRECTIONAL:
            return BIDIRECTIONAL
    return FORWARD


def load_tokenizer(path: str | Path, bidirectional: bool | None = None):
    """Load a BERT WordPiece tokenizer directory (forward, or bidirectional when its config says so).

    `bidirectional` overrides the directory's recorded choice (True/False); None follows it.
    A bidirectional tokenizer needs vocab.txt; a forward one uses tokenizer.json when present,
    else vocab.txt (always cased, never accent-stripped).
    """
    from kmb.vocab.bidirectional import read_vocab_file

    path = Path(path)
    if not path.is_dir():
        raise KmbError("tokenizer directory not found", path=path)
    vocab_txt = path / "vocab.txt"
    tokenizer_json = path / "tokenizer.json"
    if bidirectional is None:
        bidirectional = wordpiece_of(path) == BIDIRECTIONAL
    if bidirectional:
        if not vocab_txt.is_file():
            raise KmbError("the bidirectional tokenizer needs vocab.txt in the directory", path=path)
        return bidirectional_tokenizer(vocab_txt)
    if not tokenizer_json.is_file():
        if not vocab_txt.is_file():
            raise KmbError("no tokenizer here: neither tokenizer.json nor vocab.txt", path=path)
        return forward_tokenizer_from_tokens(read_vocab_file(vocab_txt))
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # transformers raises many types for a broken directory
        raise KmbError(f"cannot load a tokenizer from this directory: {exc}", path=path) from exc
    if vocab_txt.is_file():
        expected = len(read_vocab_file(vocab_txt))
        if len(tok) != expected:
            raise KmbError(f"tokenizer.json has {len(tok)} tokens but vocab.txt has {expected}", path=path)
    return tok


def tokenize_texts(path: str | Path, texts: list[str], bidirectional: bool | None = None) -> list[str]:
    """`kmb vocab tokenize`: each text's tokens, joined by single spaces, one string per text."""
    tokenizer = load_tokenizer(path, bidirectional=bidirectional)
    return [" ".join(tokenizer.tokenize(text)) for text in texts]
