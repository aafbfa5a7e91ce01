"""PAIRS files for intrinsic evaluation: reading them, and drawing them from a corpus.

A PAIRS file is a UTF-8 TSV with the header ``type<TAB>sentence1<TAB>sentence2`` and one pair of
consecutive sentences per line; ``type`` names the kind of text (textbook, news, article, ...),
so MLM and NSP can be reported per corpus type as in the paper (Fig. 3, Table 2).

``make_pairs`` draws such a file from a built corpus (``corpus/sentences/*.parquet``) with one
DuckDB query: two sentences are consecutive when the same document holds ``sent_idx`` i and i+1
(a gap means the corpus build removed a sentence in between, so that pair is not taken). By
default it samples the validation split, both sentences at least ``min_chars`` characters, up to
``per_type`` pairs per type (the paper used 294), preferring different documents, seeded.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError
from kmb.evaluation.options import check_pairs_options
from kmb.evaluation.results import atomic_text
from kmb.evaluation.tsv import tsv_rows
from kmb.workspace import sentence_files

HEADER = ["type", "sentence1", "sentence2"]

# corpus source -> PAIRS type. NAVER health news is the paper's "health information news",
# KCI journal articles its "medical research articles".
SOURCE_TYPES = {"naver_health": "news", "news": "news", "kci": "article", "article": "article", "textbook": "textbook"}


# The paper's order of corpus types (Table 2); other types follow alphabetically.
PAPER_TYPE_ORDER = ("textbook", "news", "article")


def ordered_types(types) -> list[str]:
    known = [t for t in PAPER_TYPE_ORDER if t in types]
    return known + sorted(t for t in set(types) if t not in PAPER_TYPE_ORDER)


@dataclass
class SentencePair:
    type: str
    sentence1: str
    sentence2: str


def read_pairs(path: str | Path) -> list[SentencePair]:
    """Read a PAIRS TSV (a few hundred to a few thousand pairs: small enough to hold)."""
    path = Path(path)
    if not path.is_file():
        raise KmbError("PAIRS file not found", path=path)
    pairs: list[SentencePair] = []
    header_help = "expected the header type<TAB>sentence1<TAB>sentence2"
    for number, parts in tsv_rows(path, HEADER, header_help, " (type, sentence1, sentence2)"):
        kind, s1, s2 = (unicodedata.normalize("NFC", p.strip()) for p in parts)
        if not kind or not s1 or not s2:
            raise KmbError("empty type or sentence", path=path, line=number)
        pairs.append(SentencePair(kind, s1, s2))
    if not pairs:
        raise KmbError("no pairs in the file", path=path)
    return pairs


def make_pairs(
    sentences_dir: str | Path,
    out: str | Path,
    *,
    split: str | None = "valid",
    min_chars: int = 20,
    per_type: int = 294,
    seed: int = 42,
) -> dict[str, int]:
    """Write a PAIRS file drawn from a corpus; returns the number of pairs per type."""
    import duckdb

    check_pairs_options(min_chars, per_type, seed)
    sentences_dir = Path(sentences_dir)
    files = sentence_files(sentences_dir)
    mapping = " ".join(f"when '{src}' then '{kind}'" for src, kind in SOURCE_TYPES.items())
    query = f"""
        with s as (select * from read_parquet(?, union_by_name=true) {"where split = ?" if split else ""}),
        p as (
            select case a.source {mapping} else a.source end as type,
                   a.text as sentence1, b.text as sentence2, a.doc_id, a.sent_idx,
                   md5(a.doc_id || ':' || a.sent_idx::varchar || ':' || ?::varchar) as draw
            from s a join s b on a.doc_id = b.doc_id and b.sent_idx = a.sent_idx + 1
            where a.n_chars >= ? and b.n_chars >= ?
        ),
        ranked as (
            select *, row_number() over (partition by doc_id order by draw) as in_doc from p
        ),
        picked as (
            select *, row_number() over (partition by type order by in_doc, draw) as in_type from ranked
        )
        select type, sentence1, sentence2 from picked where in_type <= ?
        order by type, doc_id, sent_idx
    """
    params: list = [[str(f) for f in files]]
    if split:
        params.append(split)
    params += [str(seed), min_chars, min_chars, per_type]
    counts: dict[str, int] = {}
    con = duckdb.connect()
    try:
        cursor = con.execute(query, params)
        with atomic_text(Path(out)) as handle:
            handle.write("\t".join(HEADER) + "\n")
            while rows := cursor.fetchmany(10_000):
                for kind, s1, s2 in rows:
                    # A tab or newline inside a sentence would break the TSV; the corpus has none,
                    # but a space is the safe stand-in.
                    s1, s2 = (" ".join(x.split()) for x in (s1, s2))
                    handle.write(f"{kind}\t{s1}\t{s2}\n")
                    counts[kind] = counts.get(kind, 0) + 1
            if not counts:
                raise KmbError(
                    f"no consecutive sentence pairs{' in split ' + repr(split) if split else ''} with at least {min_chars} characters each",
                    path=sentences_dir,
                )
    finally:
        con.close()
    return counts
