"""What the corpus build removed stays visible: ``corpus/removed/`` and `kmb corpus removed`.

Every document a document filter drops, every sentence a sentence filter drops and every sentence
``--decontaminate`` removes is written to ``corpus/removed/*.parquet`` (schema ``REMOVED``: doc id,
source, rule, sentence index or null for a whole document, the text cut at
:data:`MAX_TEXT_CHARS`), up to :data:`BUDGET_CHARS` characters per rule and build, so that a person
can look at what a rule took (as datatrove's exclusion writers allow) without the folder growing
with the corpus. What is beyond the budget is counted, not kept. Duplicates are not written here:
their kept copy is in the corpus, and ``corpus/documents`` names it (``duplicate_of``).

An incremental build links the earlier builds' parts in, so the folder always describes the whole
corpus; ``--rebuild`` starts it over.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from kmb.errors import KmbError
from kmb.storage import REMOVED, ParquetSink, part_name

MAX_TEXT_CHARS = 10_000
BUDGET_CHARS = 20_000_000  # per rule and build: about 60 MB of Korean text at most


class RemovedLog:
    """The sink of one build's removed text, with a character budget per rule."""

    def __init__(self, folder: Path, budget: int = BUDGET_CHARS):
        self.sink = ParquetSink(folder / part_name("removed"), REMOVED)
        self.budget = budget
        self.written: Counter = Counter()  # characters per rule
        self.kept: Counter = Counter()  # rows per rule
        self.over_budget: Counter = Counter()

    def add(self, doc_id: str, source: str | None, rule: str, sent_idx: int | None, text: str) -> None:
        if self.written[rule] >= self.budget:
            self.over_budget[rule] += 1
            return
        cut = text[:MAX_TEXT_CHARS]
        self.written[rule] += len(cut)
        self.kept[rule] += 1
        row = {
            "doc_id": doc_id,
            "source": source,
            "rule": rule,
            "sent_idx": sent_idx,
            "text": cut,
            "n_chars": len(text),
        }
        self.sink.write_row(row)

    def close(self) -> dict:
        """Commit the part (nothing when nothing was removed); the counts for report.json."""
        if sum(self.kept.values()):
            self.sink.close()
        else:
            self.sink.abort()
        return {"kept": dict(self.kept), "over budget (counted, not kept)": dict(self.over_budget)}

    def abort(self) -> None:
        self.sink.abort()


def removed_sample(corpus: Path, rule: str | None = None, sample: int = 10, seed: int = 0) -> dict:
    """`kmb corpus removed`: the rows per rule, and ``sample`` rows of ``rule`` (a uniform sample
    by reservoir, streamed: memory is the sample)."""
    folder = corpus / "removed"
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not parts and not (corpus / "report.json").is_file():
        raise KmbError("no corpus yet: run `kmb corpus build` first", path=corpus)
    if sample < 0:
        raise KmbError(f"--sample must be 0 or more, not {sample}")
    counts: Counter = Counter()
    rng, reservoir, seen = random.Random(seed), [], 0
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=8_192):
            for row in batch.to_pylist():
                counts[row["rule"]] += 1
                if rule is None or row["rule"] != rule:
                    continue
                seen += 1
                if len(reservoir) < sample:
                    reservoir.append(row)
                elif (j := rng.randrange(seen)) < sample:
                    reservoir[j] = row
    if rule is not None and rule not in counts:
        known = ", ".join(sorted(counts)) or "none yet"
        raise KmbError(f"no removed text under the rule {rule!r} (rules with removed text: {known})")
    return {"rules": dict(sorted(counts.items())), "rule": rule, "sample": reservoir}
