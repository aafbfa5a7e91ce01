"""`kmb vocab build`: the KM-BERT paper's extended vocabulary, every step counted.

The paper ("Extended vocabulary"): merge the term lists and drop the overlap; count each term in
the corpus; drop terms seen fewer than 3 times; keep the 10,000 most frequent; add an extra list
(1,629 words in the paper); drop those already in the KR-BERT vocab; append what is left to the
KR-BERT vocab, whose tokens keep their ids. :func:`plan_vocab` does exactly that on plain values,
counting each step, plus one step the paper did not have: terms that BERT's basic tokenizer would
split (whitespace, punctuation, CJK ideographs inside) are *rejected* and listed, because
WordPiece only ever sees the pieces between those splits and could never produce them.

Options beyond the paper, off unless asked for:
- ``continuation``: also append ``##term`` so a term inside a compound (e.g. 급성고혈압) can match;
- ``pad_to_multiple``: pad the vocab with ``[unusedN]`` to a multiple of N (64 suits GPUs).

:func:`build_vocab` reads the workspace's ``terms`` and ``term_freq`` tables, writes the tokenizer
directory (vocab.txt, tokenizer.json, tokenizer_config.json, build_report.json) atomically and
measures coverage before and after on the validation split.

A BPE or Unigram base (a tokenizer directory whose tokenizer.json has no vocab.txt beside it, e.g.
a RoBERTa-style byte-level BPE or an XLM-R-style Unigram) cannot take appended WordPiece entries:
there the selected terms become the tokenizers library's *added tokens* (matched as whole strings
before the model splits the text, wherever they occur, absorbing a space before them), appended
after the base ids. The same steps select them; a term is "already in base" when the base
tokenizer gives it as one token, and only terms with white space inside are rejected.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kmb.errors import KmbError
from kmb.stored_parquet import parquet_footer
from kmb.vocab.bidirectional import basic_words, read_vocab_file
from kmb.vocab.tokenizers import BIDIRECTIONAL as BIDIRECTIONAL_WP
from kmb.vocab.tokenizers import FORWARD as FORWARD_WP
from kmb.vocab.tokenizers import prepend_marker_at_text_start_only

REPORT_FILE = "build_report.json"
WORDPIECE = "wordpiece"
ADDED_TOKEN_KINDS = ("bpe", "unigram")


@dataclass
class BuildConfig:
    min_count: int = 3  # paper: drop terms seen fewer than 3 times
    top: int = 10_000  # paper: keep the 10,000 most frequent
    extra: Path | None = None  # paper: an extra word list (1,629 words), one term per line
    continuation: bool = False  # also add ##term forms (not in the paper)
    pad_to_multiple: int = 0  # pad with [unusedN] to a multiple of this (0 = off, the paper's way)
    bidirectional: bool = False  # record KR-BERT's bidirectional WordPiece in the tokenizer config
    coverage_sentences: int = 100_000  # validation sentences read for the coverage report (0 = skip)

    def __post_init__(self):
        # The numeric options, checked on construction: before anything reads or writes the workspace.
        for option, value in (
            ("--min-count", self.min_count),
            ("--top", self.top),
            ("--pad-to-multiple", self.pad_to_multiple),
            ("--coverage-sentences", self.coverage_sentences),
        ):
            if value < 0:
                raise KmbError(f"{option} must be 0 or more, not {value}")


@dataclass
class VocabPlan:
    tokens: list[str]  # the full new vocab, id = index
    report: dict  # ordered step counts
    rejected: list[dict] = field(default_factory=list)  # {"term", "reason", "count"}
    added_terms: list[str] = field(default_factory=list)  # whole-word terms appended, in id order


# --- inputs ----------------------------------------------------------------------------------------
def resolve_base_vocab(path: str | Path) -> Path:
    """A vocab.txt file, or a model/tokenizer directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "vocab.txt"
        if not path.is_file():
            raise KmbError("no vocab.txt in this directory", path=path.parent)
        return path
    if path.is_file():
        return path
    raise KmbError(
        "base vocab not found (give a vocab.txt or a local model directory; download a hub model "
        "first, e.g. `hf download snunlp/KR-BERT-char16424 --local-dir DIR`)",
        path=path,
    )


def base_tokenizer_kind(path: str | Path) -> str:
    """'wordpiece' for a vocab.txt (or a directory holding one), else the model type ('bpe',
    'unigram') of the directory's tokenizer.json."""
    path = Path(path)
    if path.is_file() or (path / "vocab.txt").is_file() or not (path / "tokenizer.json").is_file():
        return WORDPIECE  # resolve_base_vocab says what is missing
    try:
        kind = str(json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))["model"]["type"]).lower()
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise KmbError(f"tokenizer.json is not a tokenizers file ({exc})", path=path / "tokenizer.json") from exc
    if kind == WORDPIECE:
        raise KmbError("a WordPiece tokenizer.json without its vocab.txt: give the vocab.txt", path=path)
    if kind not in ADDED_TOKEN_KINDS:
        raise KmbError(f"base tokenizer model {kind!r}: kmb extends WordPiece, BPE and Unigram", path=path)
    return kind


def read_extra_terms(path: str | Path) -> list[str]:
    """One term per line, NFC; blank lines and lines starting with '#' skipped; first of duplicates kept."""
    path = Path(path)
    if not path.is_file():
        raise KmbError("extra term list not found", path=path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise KmbError(f"extra term list is not UTF-8 ({exc.reason} at byte {exc.start})", path=path) from exc
    seen: dict[str, None] = {}
    for line in lines:
        term = unicodedata.normalize("NFC", line.strip())
        if term and not term.startswith("#"):
            seen.setdefault(term, None)
    return list(seen)


def read_term_table(terms_path: Path) -> tuple[int, list[str]]:
    """(rows in the terms table, distinct NFC terms in table order). Empty -> KmbError."""
    import pyarrow.parquet as pq

    if not terms_path.is_file():
        raise KmbError("no term table: run `kmb terms import FILE` first", path=terms_path)
    parquet_footer(terms_path)  # damaged: one line naming it, before anything is built
    column = pq.read_table(terms_path, columns=["term"]).column("term").to_pylist()
    distinct: dict[str, None] = {}
    for term in column:
        term = unicodedata.normalize("NFC", (term or "").strip())
        if term:
            distinct.setdefault(term, None)
    if not distinct:
        raise KmbError("the term table is empty: import term lists with `kmb terms import FILE`", path=terms_path)
    return len(column), list(distinct)


def read_term_counts(freq_path: Path) -> tuple[dict[str, int], str]:
    """term -> count from term_freq.parquet, and its counting mode."""
    import pyarrow.parquet as pq

    if not freq_path.is_file():
        raise KmbError("no term counts: run `kmb terms count` first", path=freq_path)
    parquet_footer(freq_path)
    table = pq.read_table(freq_path, columns=["term", "count", "mode"])
    modes = set(table.column("mode").to_pylist())
    counts = dict(zip(table.column("term").to_pylist(), table.column("count").to_pylist()))
    return counts, ",".join(sorted(modes)) or "none"


# --- the procedure -----------------------------------------------------------------------------------
def rejection_reason(term: str) -> str | None:
    """Why WordPiece could never produce `term` as one token, or None if it could."""
    if basic_words(term) == [term]:
        return None
    if any(ch.isspace() for ch in term):
        return "whitespace"
    if any(0x4E00 <= ord(ch) <= 0x9FFF or 0x3400 <= ord(ch) <= 0x4DBF or 0xF900 <= ord(ch) <= 0xFAFF for ch in term):
        return "CJK ideograph"
    if any(unicodedata.category(ch).startswith("P") or (ch.isascii() and not ch.isalnum()) for ch in term):
        return "punctuation"
    return "split by BERT's basic tokenizer"


def select_terms(
    n_term_rows: int,
    terms: list[str],
    counts: dict[str, int],
    extra_terms: list[str],
    config: BuildConfig,
    in_base,
    reason,
) -> tuple[list[str], list[dict], dict[str, int]]:
    """The paper's selection, every step counted: (accepted terms in order, rejected, report).

    ``in_base(term)`` says whether the base vocab already has the term; ``reason(term)`` why it
    cannot be added (None when it can)."""
    report: dict[str, int] = {"terms in": n_term_rows, "after merge": len(terms)}

    frequent = [t for t in terms if counts.get(t, 0) >= config.min_count]
    report["below min count"] = len(terms) - len(frequent)
    # Most frequent first; ties by term so the same inputs give the same vocab.
    frequent.sort(key=lambda t: (-counts.get(t, 0), t))
    kept = frequent[: config.top]
    report["top-N cut"] = len(frequent) - len(kept)
    report["kept top-N"] = len(kept)

    kept_set = set(kept)
    extra_new = [t for t in extra_terms if t not in kept_set]
    report["extra in list"] = len(extra_terms)
    report["extra added"] = len(extra_new)
    candidates = kept + extra_new

    not_in_base = [t for t in candidates if not in_base(t)]
    report["already in base"] = len(candidates) - len(not_in_base)

    accepted, rejected = [], []
    for term in not_in_base:
        why = reason(term)
        if why is None:
            accepted.append(term)
        else:
            rejected.append({"term": term, "reason": why, "count": int(counts.get(term, 0))})
    report["rejected"] = len(rejected)
    report["new terms"] = len(accepted)
    return accepted, rejected, report


def plan_vocab(
    base_tokens: list[str],
    n_term_rows: int,
    terms: list[str],
    counts: dict[str, int],
    extra_terms: list[str],
    config: BuildConfig,
    placeholders: list[str] = (),
) -> VocabPlan:
    """The paper's procedure on plain values; every step counted in the report, in order. The
    de-identification placeholders the corpus holds (``placeholders``) are appended after the
    terms, so that each stays one token."""
    base = set(base_tokens)
    accepted, rejected, report = select_terms(
        n_term_rows, terms, counts, extra_terms, config, base.__contains__, rejection_reason
    )
    new_placeholders = [p for p in placeholders if p not in base and p not in accepted]
    report["placeholders"] = len(new_placeholders)
    terms_added, accepted = accepted, accepted + new_placeholders
    tokens = list(base_tokens) + accepted
    continuation = []
    if config.continuation:
        have = set(tokens)
        continuation = [f"##{t}" for t in terms_added if f"##{t}" not in have]
        tokens += continuation
    report["continuation forms"] = len(continuation)

    padding = 0
    if config.pad_to_multiple and config.pad_to_multiple > 1:
        have = set(tokens)
        index = 0
        while len(tokens) % config.pad_to_multiple:
            name = f"[unused{index}]"
            index += 1
            if name not in have:
                tokens.append(name)
                padding += 1
    report["padding"] = padding
    report["base tokens"] = len(base_tokens)
    report["vocab size"] = len(tokens)
    return VocabPlan(tokens=tokens, report=report, rejected=rejected, added_terms=accepted)


def placeholders_in_corpus(sentences_dir: Path) -> list[str]:
    """The de-identification placeholders ([NAME], [PHONE] ...) that the corpus's sentences hold."""
    import duckdb

    from kmb.deid.detect import PLACEHOLDERS

    if not sentences_dir.is_dir() or next(sentences_dir.glob("*.parquet"), None) is None:
        return []
    pattern = r"\[(?:" + "|".join(PLACEHOLDERS) + r")\]"
    rows = duckdb.sql(
        "select distinct unnest(regexp_extract_all(text, $pattern)) from read_parquet($files)",
        params={"pattern": pattern, "files": str(sentences_dir / "*.parquet")},
    ).fetchall()
    found = {row[0] for row in rows}
    return [p for p in PLACEHOLDERS.values() if p in found]


# --- coverage ------------------------------------------------------------------------------------------
def wordpiece_encoder(tokens: list[str], bidirectional: bool):
    """A function: list of texts -> list of id lists (no special tokens), for a WordPiece vocab."""
    if bidirectional:
        from kmb.vocab.bidirectional import BidirectionalWordPiece

        wordpiece = BidirectionalWordPiece({t: i for i, t in enumerate(tokens)})
        return lambda texts: [wordpiece.encode(t) for t in texts]
    from kmb.vocab.tokenizers import forward_tokenizer_from_tokens

    return tokenizer_encoder(forward_tokenizer_from_tokens(tokens))


def tokenizer_encoder(tokenizer):
    """The same function for a fast transformers tokenizer (its Rust backend, added tokens included)."""
    backend = tokenizer.backend_tokenizer
    return lambda texts: [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]


def coverage_report(encoders: dict, counts: dict[str, int], sentences_dir: Path | None, max_sentences: int) -> dict:
    """Single-token share of term occurrences, mean pieces per term, tokens per valid sentence,
    for the ``{"before": encode, "after": encode}`` functions (texts -> id lists)."""
    seen_terms = [t for t, c in counts.items() if c > 0]
    weights = [counts[t] for t in seen_terms]
    total = sum(weights)
    result: dict[str, dict] = {}
    for name, encode in encoders.items():
        pieces = [len(ids) for ids in encode(seen_terms)] if seen_terms else []
        single = sum(w for w, n in zip(weights, pieces) if n == 1)
        result[name] = {
            "single-token share of term occurrences": round(single / total, 4) if total else None,
            "mean pieces per term": round(sum(pieces) / len(pieces), 3) if pieces else None,
        }
    n_sentences, n_tokens = 0, {"before": 0, "after": 0}
    split = None
    if sentences_dir is not None and max_sentences > 0 and any(Path(sentences_dir).glob("*.parquet")):
        from kmb.vocab.term_counts import count_sentences, sentence_batches

        # The validation split; a corpus too small to have one is measured on its train split.
        split = "valid" if count_sentences(Path(sentences_dir), "valid") else "train"
        for batch in sentence_batches(Path(sentences_dir), split, 10_000):
            texts = [t for t in batch.column("text").to_pylist()[: max_sentences - n_sentences] if t]
            for name, encode in encoders.items():
                n_tokens[name] += sum(len(ids) for ids in encode(texts))
            n_sentences += len(texts)
            if n_sentences >= max_sentences:
                break
    for name in encoders:
        result[name]["tokens per sentence"] = round(n_tokens[name] / n_sentences, 3) if n_sentences else None
    result["terms measured"] = len(seen_terms)
    result["sentences measured"] = n_sentences
    result["sentences split"] = split
    return result


# --- the command -----------------------------------------------------------------------------------------
def build_vocab(
    ws, base_vocab: str | Path, out_dir: str | Path | None, config: BuildConfig | None = None, force: bool = False
) -> dict:
    """`kmb vocab build`: write the extended tokenizer directory (None: vocab/medical); returns the
    full report dict.

    ``base_vocab`` is a WordPiece vocab.txt (or a directory holding one): the terms are appended
    to it. A directory with only a BPE or Unigram tokenizer.json gets them as added tokens. An
    existing ``out_dir`` that kmb did not write as a tokenizer is refused (``force``: replace
    another kind of kmb output)."""
    from kmb.storage import check_output_dir

    config = config or BuildConfig()
    out_dir = Path(out_dir) if out_dir is not None else ws.vocab("medical")
    check_output_dir(out_dir, TOKENIZER_OUTPUT, force)
    with ws.lock(f"vocab/{out_dir.name}"):
        return _build_vocab(ws, base_vocab, out_dir, config, force)


TOKENIZER_OUTPUT = "tokenizer"


def _build_vocab(ws, base_vocab, out_dir: Path, config: BuildConfig, force: bool) -> dict:
    base_kind = base_tokenizer_kind(base_vocab)
    if base_kind != WORDPIECE and (config.continuation or config.bidirectional or config.pad_to_multiple):
        raise KmbError(
            f"--continuation, --bidirectional and --pad-to-multiple need a WordPiece vocab.txt; "
            f"this base is a {base_kind} tokenizer",
            path=base_vocab,
        )
    base_path = resolve_base_vocab(base_vocab) if base_kind == WORDPIECE else Path(base_vocab)
    n_rows, terms = read_term_table(ws.terms / "terms.parquet")
    counts, mode = read_term_counts(ws.terms / "term_freq.parquet")
    extra_terms = read_extra_terms(config.extra) if config.extra else []
    inputs = (n_rows, terms, counts, extra_terms, placeholders_in_corpus(ws.corpus / "sentences"))
    if base_kind == WORDPIECE:
        return _build_wordpiece(ws, base_path, out_dir, config, inputs, mode, force)
    return _build_added_tokens(ws, base_path, base_kind, out_dir, config, inputs, mode, force)


def _report(
    base: Path,
    mode: str,
    tokenizer: str,
    config: BuildConfig,
    steps: dict,
    rejected: list,
    coverage: dict,
    added: list[str],
) -> dict:
    return {
        "base vocab": str(base),
        "count mode": mode,
        "wordpiece" if tokenizer in (FORWARD_WP, BIDIRECTIONAL_WP) else "tokenizer": tokenizer,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "steps": steps,
        "rejected": rejected,
        "coverage": coverage,
        "added terms": added,
    }


def _build_wordpiece(
    ws, base_path: Path, out_dir: Path, config: BuildConfig, inputs: tuple, mode: str, force: bool
) -> dict:
    from kmb.storage import atomic_dir
    from kmb.vocab.tokenizers import save_tokenizer_dir

    n_rows, terms, counts, extra_terms, placeholders = inputs
    base_tokens = read_vocab_file(base_path)
    plan = plan_vocab(base_tokens, n_rows, terms, counts, extra_terms, config, placeholders)
    encoders = {
        "before": wordpiece_encoder(base_tokens, config.bidirectional),
        "after": wordpiece_encoder(plan.tokens, config.bidirectional),
    }
    coverage = coverage_report(
        encoders, {t: counts.get(t, 0) for t in terms}, ws.corpus / "sentences", config.coverage_sentences
    )
    wordpiece = BIDIRECTIONAL_WP if config.bidirectional else FORWARD_WP
    full_report = _report(base_path, mode, wordpiece, config, plan.report, plan.rejected, coverage, plan.added_terms)
    with atomic_dir(out_dir, kind=TOKENIZER_OUTPUT, force=force) as tmp:
        save_tokenizer_dir(plan.tokens, tmp, wordpiece, extra_config={"kmb_base_vocab_size": len(base_tokens)})
        (tmp / REPORT_FILE).write_text(json.dumps(full_report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    full_report["out"] = str(out_dir)
    return full_report


def _build_added_tokens(
    ws, base_dir: Path, kind: str, out_dir: Path, config: BuildConfig, inputs: tuple, mode: str, force: bool
) -> dict:
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    from kmb.storage import atomic_dir, write_json_atomic

    n_rows, terms, counts, extra_terms, placeholders = inputs
    try:
        base, extended = (AutoTokenizer.from_pretrained(str(base_dir)) for _ in range(2))
    except Exception as exc:  # transformers raises many types for a broken directory
        raise KmbError(f"cannot load the base tokenizer: {exc}", path=base_dir) from exc
    encode = tokenizer_encoder(base)

    def in_base(term: str) -> bool:  # one token alone or at a word start in running text
        return any(len(ids) == 1 for ids in encode([term, " " + term]))

    def reason(term: str) -> str | None:
        return "whitespace" if any(ch.isspace() for ch in term) else None

    accepted, rejected, steps = select_terms(n_rows, terms, counts, extra_terms, config, in_base, reason)
    new_placeholders = [p for p in placeholders if p not in base.get_vocab() and p not in accepted]
    steps["placeholders"] = len(new_placeholders)
    added = extended.add_tokens(
        [AddedToken(t, single_word=False, lstrip=True, rstrip=False, normalized=True) for t in accepted]
        + [AddedToken(p, normalized=False) for p in new_placeholders]
    )
    accepted = accepted + new_placeholders
    prepend_marker_at_text_start_only(extended)
    if added != len(accepted) or len(extended) != len(base) + len(accepted):
        raise KmbError(f"the tokenizers library added {added} of {len(accepted)} terms", path=base_dir)
    steps.update({"added tokens": added, "base tokens": len(base), "vocab size": len(extended)})
    coverage = coverage_report(
        {"before": encode, "after": tokenizer_encoder(extended)},
        {t: counts.get(t, 0) for t in terms},
        ws.corpus / "sentences",
        config.coverage_sentences,
    )
    full_report = _report(base_dir, mode, f"{kind} + added tokens", config, steps, rejected, coverage, accepted)
    with atomic_dir(out_dir, kind=TOKENIZER_OUTPUT, force=force) as tmp:
        extended.save_pretrained(str(tmp))
        config_path = tmp / "tokenizer_config.json"
        write_json_atomic(
            config_path, {**json.loads(config_path.read_text(encoding="utf-8")), "kmb_base_vocab_size": len(base)}
        )
        write_json_atomic(tmp / REPORT_FILE, full_report)
    full_report["out"] = str(out_dir)
    return full_report
