"""Classification data: the splits (k folds of one file, a directory of folds, or a given train/test
pair), the label list, and the tokenized inputs. The file readers live in
:mod:`kmb.corpus.eval_files` (with the NER and STS readers) and are re-exported here.

- ``--data FILE``: ``--folds`` stratified folds, seeded (each label spread evenly over the folds);
  the labels are those of the whole file.
- ``--data DIR``: fold files named as for NER (``train1``/``eval1``, ``train_<name>N`` with
  ``eval_``/``test_``/``dev_<name>N``; :func:`kmb.evaluation.ner_data.fold_files`).
- ``--train FILE --test FILE``: one given split.

With given test files (a directory or ``--test``) the labels are those of the training files,
sorted; a test label that no training file has is a KmbError naming the test file and line (the
model could never predict it). Every fold's examples are all single texts or all pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kmb.corpus.classify_files import (  # noqa: F401 (re-exported)
    CLASSIFY_FORMATS,
    ClassifyExample,
    read_classify,
)
from kmb.errors import KmbError
from kmb.evaluation.finetune import Example


@dataclass
class ClassifyFold:
    """One split: train on ``train`` (a dev part is cut from it), test on ``test``."""

    index: int
    train: list[ClassifyExample] = field(default_factory=list)
    test: list[ClassifyExample] = field(default_factory=list)


@dataclass
class ClassifySplits:
    """The folds, the sorted label list (class id = index) and whether the inputs are text pairs."""

    folds: list[ClassifyFold]
    labels: list[str]
    paired: bool
    mode: str  # "kfold" (one file), "folds" (a directory of fold files) or "given" (--train/--test)


def label_list(examples: Sequence[ClassifyExample]) -> list[str]:
    """The labels, sorted (stable across runs and files)."""
    return sorted({e.label for e in examples})


def stratified_folds(examples: Sequence[ClassifyExample], k: int, seed: int) -> list[ClassifyFold]:
    """``k`` folds: a seeded shuffle, grouped by label, dealt round robin (labels spread evenly)."""
    if len(examples) < k:
        raise KmbError(f"only {len(examples)} examples for {k} folds: a fold would be empty (use fewer --folds)")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: examples[i].label)  # stable: the shuffle stays within each label
    parts: list[list[ClassifyExample]] = [[] for _ in range(k)]
    for rank, index in enumerate(order):
        parts[rank % k].append(examples[index])
    return [
        ClassifyFold(i + 1, [e for j, part in enumerate(parts) if j != i for e in part], parts[i]) for i in range(k)
    ]


def check_known_labels(test: Sequence[ClassifyExample], known: set[str], path: Path) -> None:
    """A test label the training data lacks is a KmbError naming the test file and line."""
    for example in test:
        if example.label not in known:
            raise KmbError(
                f"label {example.label!r} is not in the training data (labels: {', '.join(sorted(known))})",
                path=path,
                line=example.line,
            )


def _same_shape(parts: Sequence[tuple[Path, list[ClassifyExample]]]) -> bool:
    """Whether the inputs are text pairs; every file must agree."""
    shapes = {path: examples[0].text_pair is not None for path, examples in parts}
    if len(set(shapes.values())) > 1:
        paired = [str(p) for p, is_pair in shapes.items() if is_pair]
        single = [str(p) for p, is_pair in shapes.items() if not is_pair]
        raise KmbError(f"some files hold text pairs ({', '.join(paired)}) and some single texts ({', '.join(single)})")
    return next(iter(shapes.values()))


def load_splits(
    data: Path | None, train: Path | None, test: Path | None, fmt: str, folds: int, seed: int
) -> ClassifySplits:
    """The folds of ``data`` (a file or a fold directory), or the given ``train``/``test`` split."""
    from kmb.evaluation.ner_data import fold_files

    if data is not None:
        data = Path(data)
        if not data.exists():
            raise KmbError("classification data not found", path=data)
        if data.is_file():
            examples = read_classify(data, fmt)
            return ClassifySplits(
                stratified_folds(examples, folds, seed), label_list(examples), _same_shape([(data, examples)]), "kfold"
            )
        pairs = fold_files(data)
        mode = "folds"
    else:
        pairs = [(Path(train), Path(test))]
        mode = "given"
    read = [(read_classify(tr, fmt), read_classify(te, fmt)) for tr, te in pairs]
    paired = _same_shape([(p, ex) for (tr, te), exs in zip(pairs, read) for p, ex in zip((tr, te), exs)])
    labels = label_list([e for tr, _ in read for e in tr])
    for (_, test_path), (train_examples, test_examples) in zip(pairs, read):
        check_known_labels(test_examples, {e.label for e in train_examples}, test_path)
    fold_list = [ClassifyFold(i, tr, te) for i, (tr, te) in enumerate(read, 1)]
    return ClassifySplits(fold_list, labels, paired, mode)


def encode(examples: Sequence[ClassifyExample], tokenizer, label_ids: dict[str, int], max_length: int) -> list[Example]:
    """Tokenize in one batched call: ``[CLS] text [SEP]`` or ``[CLS] text [SEP] text_pair [SEP]``
    (the longer text truncated first), each with its class id."""
    if not examples:
        return []
    pairs = [e.text_pair for e in examples] if examples[0].text_pair is not None else None
    encoded = tokenizer(
        [e.text for e in examples], pairs, truncation="longest_first", max_length=max_length, return_token_type_ids=True
    )
    return [
        Example(ids, label_ids[e.label], types)
        for ids, types, e in zip(encoded["input_ids"], encoded["token_type_ids"], examples)
    ]
