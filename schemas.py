"""Every table's Arrow schema, declared once (part of kmb's foundation, with ``storage.py``).

The tables are documented in ``docs/storage.md``; keep the two in step. ``kmb.storage``
re-exports every name here, so stages import schemas and writers from one place.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

# --- raw documents: raw/<source>/*.parquet ---------------------------------------------------
# Every source writes these core columns (the `documents` DuckDB view selects them), then its own.
DOCUMENT_CORE_FIELDS = [
    pa.field("doc_id", pa.string(), nullable=False),  # stable: "naver:{oid}:{aid}", "kci:{id}", ...
    pa.field("source", pa.string(), nullable=False),  # naver_health, kci, textbook, article, news, clinical, other
    pa.field("url", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),  # NFC, paragraphs separated by "\n"
    pa.field("language", pa.string()),  # ISO 639-1 where known ("ko")
    pa.field("published_at", TIMESTAMP),
    pa.field("crawled_at", TIMESTAMP),  # when kmb fetched or imported it
]
DOCUMENTS = pa.schema(DOCUMENT_CORE_FIELDS)

NAVER_DOCUMENTS = pa.schema(
    DOCUMENT_CORE_FIELDS
    + [
        pa.field("press", pa.string()),
        pa.field("reporter", pa.string()),
        pa.field("modified_at", TIMESTAMP),
        pa.field("sid1", pa.string()),
        pa.field("sid2", pa.string()),
        pa.field("oid", pa.string()),
        pa.field("aid", pa.string()),
        pa.field("html_sha256", pa.string()),
        pa.field("parser_version", pa.string()),
        pa.field("html", pa.string()),  # only with --keep-html, else null
    ]
)

KCI_DOCUMENTS = pa.schema(
    DOCUMENT_CORE_FIELDS
    + [
        pa.field("oai_identifier", pa.string()),
        pa.field("metadata_format", pa.string()),  # oai_kci or oai_dc
        pa.field("journal", pa.string()),
        pa.field("issn", pa.string()),
        pa.field("year", pa.int16()),
        pa.field("doi", pa.string()),
        pa.field("open_access", pa.bool_()),
        pa.field("title_en", pa.string()),
        pa.field("abstract_en", pa.string()),
        pa.field("fulltext_chars", pa.int32()),  # 0 when only the abstract is in `text`
    ]
)

LOCAL_DOCUMENTS = pa.schema(
    DOCUMENT_CORE_FIELDS
    + [
        pa.field("path", pa.string()),  # as given, relative where possible
        pa.field("file_sha256", pa.string()),
        pa.field("format", pa.string()),  # txt, pdf, jats, jsonl, csv
        pa.field("encoding", pa.string()),  # detected text encoding, null for binary formats
        pa.field("record", pa.int32()),  # record number within a jsonl/csv file, else 0
    ]
)

# Pages or files that could not be used: raw/<source>/rejects/*.parquet. Never silently dropped.
REJECTS = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string()),  # or a file path
        pa.field("status", pa.int32()),  # HTTP status, or null for local files
        pa.field("reason", pa.string(), nullable=False),
        pa.field("seen_at", TIMESTAMP),
    ]
)

# --- corpus build: corpus/sentences/*.parquet, corpus/documents/*.parquet ---------------------
SENTENCES = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("sent_idx", pa.int32(), nullable=False),  # order within the document, from 0
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_chars", pa.int32()),
        pa.field("n_words", pa.int32()),  # whitespace-separated eojeol
        pa.field("split", pa.string(), nullable=False),  # train or valid
    ]
)

CORPUS_DOCUMENTS = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("split", pa.string()),  # null when dropped
        pa.field("n_sentences", pa.int32()),
        pa.field("n_words", pa.int64()),
        pa.field("n_chars", pa.int64()),
        pa.field("dropped", pa.string()),  # null when kept, else the rule that dropped it
        pa.field("duplicate_of", pa.string()),  # doc_id of the kept copy for exact/near duplicates
    ]
)

# --- terms: terms/terms.parquet, terms/term_freq.parquet --------------------------------------
TERMS = pa.schema(
    [
        pa.field("term", pa.string(), nullable=False),  # NFC, trimmed, Korean
        pa.field("sources", pa.list_(pa.string()), nullable=False),  # several when lists overlap
        pa.field("english", pa.string()),
        pa.field("gloss", pa.string()),  # Hanja or other gloss that was in parentheses
        pa.field("category", pa.string()),
        pa.field("first_file", pa.string()),
    ]
)

TERM_FREQ = pa.schema(
    [
        pa.field("term", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),  # occurrences in the train split
        pa.field("doc_freq", pa.int64(), nullable=False),  # documents containing it
        pa.field("mode", pa.string(), nullable=False),  # word-start or anywhere
    ]
)

# --- pretraining: pretrain/<name>/shards/<split>-NNNNN.arrow (Arrow IPC, memory-mapped) --------
# One row per NSP pair, already tokenized: [CLS] A [SEP] B [SEP]. uint16 ids while the vocab has
# at most 65,536 tokens, else uint32 (kmb.training.shards picks). Written by kmb.training.shards.
PAIR_SHARDS = pa.schema(
    [
        pa.field("input_ids", pa.list_(pa.uint16()), nullable=False),
        pa.field("n_first", pa.int16(), nullable=False),  # tokens of segment 0: [CLS] A [SEP]
        pa.field("length", pa.int16(), nullable=False),  # len(input_ids)
        pa.field("next_sentence_label", pa.int8(), nullable=False),  # 0 IsNext, 1 NotNext (HF convention)
        pa.field("doc_id_a", pa.string(), nullable=False),
        pa.field("sent_idx_a", pa.int32(), nullable=False),
        pa.field("doc_id_b", pa.string(), nullable=False),
        pa.field("sent_idx_b", pa.int32(), nullable=False),
        # positions where the vocab's word-start rule is wrong next to an added token (kmb.training.word_starts)
        pa.field("word_start_flips", pa.list_(pa.int16()), nullable=False),
    ]
)

# --- MLM-only pretraining: pretrain/<name>/segments/<split>-NNNNN.arrow (Arrow IPC) -------------
# One row per segment of consecutive sentences of one document, already tokenized:
# [CLS] s1 ... sk [SEP] (the tokenizer's own cls/sep). uint16/uint32 ids as in PAIR_SHARDS.
# Written by kmb.training.segment_shards.
SEGMENT_SHARDS = pa.schema(
    [
        pa.field("input_ids", pa.list_(pa.uint16()), nullable=False),
        pa.field("length", pa.int16(), nullable=False),  # len(input_ids)
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("sent_idx", pa.int32(), nullable=False),  # the first sentence's sent_idx
        pa.field("n_sentences", pa.int32(), nullable=False),  # consecutive sentences in the segment
        # positions where the vocab's word-start rule is wrong next to an added token (kmb.training.word_starts)
        pa.field("word_start_flips", pa.list_(pa.int16()), nullable=False),
    ]
)

# Kept documents' fingerprints, so an incremental build dedups new documents against old ones:
# corpus/signatures/*.parquet (written by kmb.corpus.build).
CORPUS_SIGNATURES = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text_md5", pa.string(), nullable=False),  # MD5 of the cleaned, normalised text
        pa.field("minhash", pa.binary(), nullable=False),  # uint32 MinHash values, little-endian
    ]
)


# --- what the build removed: corpus/removed/*.parquet (a sample within a size bound, see docs) ----
REMOVED = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("rule", pa.string(), nullable=False),  # the filter or step that removed it
        pa.field("sent_idx", pa.int32()),  # null: a whole document
        pa.field("text", pa.string(), nullable=False),  # cut at 10,000 characters
        pa.field("n_chars", pa.int64(), nullable=False),  # the length before the cut
    ]
)
