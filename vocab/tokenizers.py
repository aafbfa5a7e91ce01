"""Loading a tokenizer directory the way every stage should: `load_tokenizer(path)`.

Later stages (pretraining shards, evaluation) call this instead of `AutoTokenizer` directly, so a
directory whose config asks for KR-BERT's bidirectional WordPiece gets it everywhere.
"""

from __future__ import annotations

from pathlib import Path

from kmb.errors import KmbError


def load_tokenizer(path: str | Path):
    """Load a BERT WordPiece tokenizer directory (forward, or bidirectional when its config says so)."""
    from transformers import AutoTokenizer

    path = Path(path)
    if not path.is_dir():
        raise KmbError("tokenizer directory not found", path=path)
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # transformers raises many types for a broken directory
        raise KmbError(f"cannot load a tokenizer from this directory: {exc}", path=path) from exc
