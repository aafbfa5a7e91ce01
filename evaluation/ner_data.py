"""NER data: folds by document and windows over long sentences; the file readers live in
:mod:`kmb.corpus.eval_files` (the corpus stage reads the same files) and are re-exported here.

The formats (kmbert, conll, klue) and the IOB2 rules are described there.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kmb.corpus.eval_files import DOCSTART, NerSentence, read_klue, read_ner  # noqa: F401 (re-exported)
from kmb.errors import KmbError
from kmb.training.masking import IGNORE_INDEX


@dataclass
class NerFold:
    """One cross-validation fold: train on ``train`` (a dev part is cut from it), test on ``test``."""

    index: int
    train: list[NerSentence] = field(default_factory=list)
    test: list[NerSentence] = field(default_factory=list)


def documents(sentences: Sequence[NerSentence]) -> list[list[NerSentence]]:
    """Group sentences by document, keeping file order."""
    grouped: dict[str, list[NerSentence]] = {}
    for sent in sentences:
        grouped.setdefault(sent.doc, []).append(sent)
    return list(grouped.values())


def folds_by_document(sentences: Sequence[NerSentence], k: int, seed: int) -> list[NerFold]:
    """Split into ``k`` folds by document (seeded shuffle, then round robin over documents).

    A document never appears in two folds, so no test sentence shares a document with training.
    """
    docs = documents(sentences)
    if k < 2:
        raise KmbError(f"--folds must be at least 2, got {k}")
    if len(docs) < k:
        raise KmbError(f"only {len(docs)} documents for {k} folds: a fold would be empty (use fewer --folds)")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    parts: list[list[NerSentence]] = [[] for _ in range(k)]
    for rank, doc_index in enumerate(order):
        parts[rank % k].extend(docs[doc_index])
    return [
        NerFold(i + 1, [s for j, part in enumerate(parts) if j != i for s in part], list(parts[i])) for i in range(k)
    ]


def split_dev(sentences: Sequence[NerSentence], fraction: float, seed: int) -> tuple[list, list]:
    """Cut a dev part (about ``fraction`` of the documents, at least one) from a training fold."""
    docs = documents(sentences)
    if len(docs) < 2:
        raise KmbError("a training fold needs at least 2 documents to cut a dev split from it")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(docs) * fraction))
    dev_ids = set(order[:n_dev])
    train = [s for i, d in enumerate(docs) if i not in dev_ids for s in d]
    dev = [s for i, d in enumerate(docs) if i in dev_ids for s in d]
    return train, dev


def load_folds(data: str | Path, fmt: str, k: int, seed: int) -> list[NerFold]:
    """Folds from a directory of fold files (see :func:`fold_files`), or made from one file by document."""
    data = Path(data)
    if data.is_dir():
        return [
            NerFold(i, _non_empty(read_ner(train, fmt), train), _non_empty(read_ner(test, fmt), test))
            for i, (train, test) in enumerate(fold_files(data), 1)
        ]
    if not data.is_file():
        raise KmbError("NER data not found", path=data)
    return folds_by_document(read_ner(data, fmt), k, seed)


# A fold file: train1 / eval1 (kmb's names), or train_<anything>N with eval_, test_ or dev_ partners
# (the names public k-fold sets use). The stem is matched, so any extension is fine.
_FOLD_NAME = re.compile(r"^(train|eval|test|dev)(?:_.*?)?(\d+)$")


def fold_files(folder: Path) -> list[tuple[Path, Path]]:
    """(train, test) file per fold, folds numbered 1..k without gaps; anything else is a KmbError."""
    found: dict[int, dict[str, list[Path]]] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        match = _FOLD_NAME.match(path.stem)
        if match:
            role = "train" if match.group(1) == "train" else "test"
            found.setdefault(int(match.group(2)), {"train": [], "test": []})[role].append(path)
    if not found:
        raise KmbError(
            "no fold files (train1/eval1, or train_<name>N with eval_/test_/dev_<name>N) in this directory", path=folder
        )
    pairs = []
    for number in sorted(found):
        files = found[number]
        for role, partner in (("train", "train_"), ("test", "eval_/test_/dev_")):
            if not files[role]:
                other = files["test" if role == "train" else "train"][0].name
                raise KmbError(f"fold {number}: {other} has no {partner} partner with the number {number}", path=folder)
            if len(files[role]) > 1:
                raise KmbError(
                    f"fold {number} has several {role} files: {', '.join(p.name for p in files[role])}", path=folder
                )
        pairs.append((files["train"][0], files["test"][0]))
    if sorted(found) != list(range(1, len(found) + 1)):
        missing = sorted(set(range(1, max(found) + 1)) - set(found))
        raise KmbError(
            f"folds must be numbered 1..k without gaps; found {sorted(found)}, missing {missing}", path=folder
        )
    return pairs


def _non_empty(sentences: list[NerSentence], path: Path) -> list[NerSentence]:
    if not sentences:
        raise KmbError("empty fold file", path=path)
    return sentences


# --- sentences repeated between a fold's training and test data -------------------------------
def leaked_test_sentences(fold: NerFold) -> list[int]:
    """Indices of the test sentences whose word sequence appears verbatim in the fold's training data."""
    seen = {tuple(s.words) for s in fold.train}
    return [i for i, s in enumerate(fold.test) if tuple(s.words) in seen]


def fold_leaks(fold: NerFold) -> dict:
    """How many of a fold's test sentences are also training sentences (count and share)."""
    leaked = len(leaked_test_sentences(fold))
    return {
        "fold": fold.index,
        "leaked": leaked,
        "n_test": len(fold.test),
        "share": leaked / len(fold.test) if fold.test else 0.0,
    }


def drop_leaks(fold: NerFold) -> tuple[NerFold, int]:
    """The fold without the training sentences that repeat a test sentence, and how many were dropped."""
    tested = {tuple(s.words) for s in fold.test}
    kept = [s for s in fold.train if tuple(s.words) not in tested]
    if not kept:
        raise KmbError(
            f"fold {fold.index}: every training sentence is also a test sentence; --drop-leaks leaves nothing to train on"
        )
    return NerFold(fold.index, kept, fold.test), len(fold.train) - len(kept)


# --- tokenization into windows ---------------------------------------------------------------
@dataclass
class NerWindow:
    """One model input: token ids, a label per word on its first sub-token (or on every one)."""

    sentence: int  # index into the sentence list
    first_word: int  # index of the window's first word in its sentence
    n_words: int
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX on [CLS]/[SEP] and (first-sub-token labelling) on non-first sub-tokens
    spans: list[tuple[int, int]] = field(default_factory=list)  # token positions [start, end) of each word


def tokenize_windows(
    sentences: Sequence[NerSentence],
    tokenizer,
    label_ids: dict[str, int],
    max_length: int = 128,
    every_subtoken: bool = False,
) -> list[NerWindow]:
    """Tokenize every sentence once; a sentence longer than ``max_length`` becomes several windows.

    Windows do not overlap, so every word is predicted exactly once. A single word longer than a
    window keeps its first sub-tokens. The word's label goes on its first sub-token (the others
    get IGNORE_INDEX), or with ``every_subtoken`` on each of its sub-tokens (the KM-BERT authors' scheme).
    """
    budget = max_length - 2
    windows: list[NerWindow] = []
    for s_index, (sent, word_pieces) in enumerate(zip(sentences, word_token_ids(sentences, tokenizer))):
        pieces = [(ids or [tokenizer.unk_token_id])[:budget] for ids in word_pieces]
        labels = [label_ids.get(tag, label_ids["O"]) for tag in sent.tags]
        start = 0
        while start < len(pieces):
            window = _window(s_index, start, pieces, labels, budget, every_subtoken, tokenizer)
            windows.append(window)
            start += window.n_words
    return windows


def word_token_ids(sentences: Sequence[NerSentence], tokenizer) -> list[list[list[int]]]:
    """Each word's token ids as the tokenizer gives them in the running sentence (words joined by spaces).

    Encoding words one by one would drop the word-start mark of byte-level BPE (``Ġ``) and could
    differ for Metaspace (``▁``); so the joined sentence is encoded once and each token goes to the
    word its character offsets fall in (a lone ``▁`` for the space before a word goes to that word).
    A slow tokenizer has no offsets: it is WordPiece here (kmb's bidirectional), where words are
    encoded one by one with the same result.
    """
    if not sentences:
        return []
    if not getattr(tokenizer, "is_fast", False):
        flat = tokenizer([w for s in sentences for w in s.words], add_special_tokens=False)["input_ids"]
        out, cursor = [], 0
        for sent in sentences:
            out.append(flat[cursor : cursor + len(sent.words)])
            cursor += len(sent.words)
        return out
    texts = [" ".join(s.words) for s in sentences]
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    out = []
    for sent, ids, offsets in zip(sentences, encoded["input_ids"], encoded["offset_mapping"]):
        ends = list(itertools.accumulate(len(w) + 1 for w in sent.words))  # exclusive end of each word, +1
        ends = [e - 1 for e in ends]
        per_word: list[list[int]] = [[] for _ in sent.words]
        for token_id, (start, _) in zip(ids, offsets):
            per_word[min(bisect.bisect_right(ends, start), len(per_word) - 1)].append(token_id)
        out.append(per_word)
    return out


def _window(s_index: int, start: int, pieces, labels, budget: int, every_subtoken: bool, tokenizer) -> NerWindow:
    """The window of as many words from ``start`` as fit in ``budget`` tokens, with [CLS] and [SEP]."""
    ids: list[int] = [tokenizer.cls_token_id]
    token_labels: list[int] = [IGNORE_INDEX]
    spans: list[tuple[int, int]] = []
    end = start
    while end < len(pieces) and len(ids) - 1 + len(pieces[end]) <= budget:
        spans.append((len(ids), len(ids) + len(pieces[end])))
        ids.extend(pieces[end])
        rest = labels[end] if every_subtoken else IGNORE_INDEX
        token_labels += [labels[end]] + [rest] * (len(pieces[end]) - 1)
        end += 1
    ids.append(tokenizer.sep_token_id)
    token_labels.append(IGNORE_INDEX)
    return NerWindow(s_index, start, end - start, ids, token_labels, spans)


def entity_types(sentences: Sequence[NerSentence]) -> list[str]:
    """The entity types of the tags, sorted (stable across runs)."""
    return sorted({t[2:] for s in sentences for t in s.tags if t != "O"})


def label_list(sentences: Sequence[NerSentence]) -> list[str]:
    """All tags, ``O`` first, then B-/I- of each type in sorted type order (stable across runs)."""
    return ["O"] + [f"{p}-{t}" for t in entity_types(sentences) for p in ("B", "I")]
