"""What `kmb corpus build` counted: the steps' tallies, the progress line, ``report.json`` and the
summary the command prints."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmb.corpus import cleaning, dedup, document_filters, filters
from kmb.corpus.build_steps import timed as timed_step
from kmb.deid.detect import TYPES

if TYPE_CHECKING:
    from kmb.corpus.build import BuildConfig


_SETTING_BEFORE_RECORDED = {"num_perm": dedup.DEFAULT_NUM_PERM, "shingle_hash": "sha1"}
# The steps timed in the report, in pipeline order. The worker steps (deidentify, normalise_clean,
# document_filter, split, filter, hash_minhash) are summed over the worker processes; the others
# run in this process.
STEPS = (
    "read",
    "deidentify",
    "normalise_clean",
    "document_filter",
    "split",
    "filter",
    "hash_minhash",
    "dedup",
    "write",
    "decontaminate",
)
START_UP = ("kss_import",)  # reported beside the steps: once per worker process, not per document


START_UP = ("kss_import",)  # reported beside the steps: once per worker process, not per document
PROGRESS_EVERY_S = 2.0


# --- the build ---------------------------------------------------------------------------------
@dataclass
class BuildReport:
    data: dict

    def summary(self) -> dict:
        d = self.data
        return {
            "mode": d["mode"],
            "new documents read": d["documents"]["read"],
            "documents kept": d["documents"]["kept"],
            "documents dropped": ", ".join(f"{k} {v}" for k, v in d["documents"]["dropped"].items() if v) or "0",
            "document filters": _document_filter_summary(d),
            "de-identified": _deid_summary(d.get("deidentification")),
            "sentences split": d["splitting"]["sentences"],
            "sentences filtered": sum(d["filters"].values()),
            "duplicate sentences": d["sentence_dedup"]["duplicates_dropped"],
            "decontaminated": _decontamination_summary(d.get("decontamination")),
            "removed text kept": _removed_summary(d.get("removed")),
            "sentences kept": d["sentences"]["kept"],
            "corpus total": f"{d['totals']['documents']} documents, {d['totals']['sentences']} sentences "
            f"(train {d['totals']['train']}, valid {d['totals']['valid']})",
            "time": f"{d['seconds']:.1f} s ({d['sentences_per_second']:.0f} sentences/s)",
            "time per step": ", ".join(f"{k} {v:.1f} s" for k, v in d.get("seconds_per_step", {}).items()),
        }


def _removed_summary(removed: dict | None) -> str:
    if not removed or not removed["kept"]:
        return "-"
    kept = sum(removed["kept"].values())
    over = sum(removed["over budget (counted, not kept)"].values())
    rules = len(removed["kept"])
    return (
        f"{kept:,} in corpus/removed/ ({rules} rule{'' if rules == 1 else 's'}; `kmb corpus removed --rule NAME`)"
        + (f", {over:,} over the budget" if over else "")
    )


def _decontamination_summary(decontamination: dict | None) -> str:
    if not decontamination:
        return "-"
    files = ", ".join(f"{Path(p).name} {v['sentences removed']:,}" for p, v in decontamination["files"].items())
    return f"{decontamination['sentences removed']:,} sentences removed ({files})"


def _document_filter_summary(d: dict) -> str:
    if not d["settings"].get("document_filters", {}).get("enabled", True):
        return "off (--no-document-filters)"
    counts = d.get("document_filters", {})
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "0 documents dropped"


def _deid_summary(deid: dict | None) -> str:
    if not deid or not deid["documents"]:
        return "0 documents"
    found = ", ".join(f"{k} {v:,}" for k, v in deid["identifiers"].items()) or "no identifiers found"
    return f"{deid['documents']:,} documents ({found})"


class Tally:
    """Counts and seconds of every step of one build, and the progress line."""

    def __init__(self, progress: Callable[[str], None] | None, expected_documents: int):
        names = ("documents", "dropped", "clean", "deid", "filters", "document_filters", "split")
        self.counts = {name: Counter() for name in names}
        self.seconds = Counter()
        self.progress = progress
        self.expected = expected_documents
        self.started = self.last_shown = time.monotonic()

    def timed(self, step: str):
        return timed_step(self.seconds, step)

    def add(self, result: dict) -> None:
        self.counts["documents"]["read"] += 1
        for name in ("clean", "deid", "filters", "document_filters", "split"):
            self.counts[name].update(result[name])
        if result["dropped"] is not None:
            self.counts["dropped"][result["dropped"]] += 1
        else:
            self.counts["documents"]["staged_sentences"] += len(result["sentences"])

    def show(self, final: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not final and now - self.last_shown < PROGRESS_EVERY_S):
            return
        self.last_shown = now
        self.progress(
            progress_line(
                self.counts["documents"]["read"], self.expected, self.counts["split"]["sentences"], now - self.started
            )
        )


def progress_line(documents: int, expected: int, sentences: int, elapsed: float) -> str:
    """``  ... 1,200 / 20,000 documents (6%), 16,480 sentences, 410 documents/s, ETA 0:00:41``"""
    rate = documents / elapsed if elapsed > 0 else 0.0
    left = max(expected - documents, 0)
    if left == 0:
        eta = "00:00:00"  # nothing left (also a build with no new documents: no rate to divide by)
    else:
        eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "?"
    share = f" ({documents / expected:.0%})" if expected else ""
    return (
        f"  ... {documents:,} / {expected:,} documents{share}, {sentences:,} sentences, "
        f"{rate:,.{0 if rate >= 10 else 1}f} documents/s, ETA {eta}"
    )


def add_run_facts(report: dict, config: BuildConfig, incremental: bool, previous: dict | None, started: float) -> None:
    report["mode"] = "incremental" if incremental else ("rebuild" if config.rebuild else "fresh")
    report["seconds"] = time.perf_counter() - started
    report["sentences_per_second"] = report["splitting"]["sentences"] / max(report["seconds"], 1e-9)
    if previous is not None and incremental:
        report["previous_runs"] = (previous.get("previous_runs") or []) + [
            {
                k: previous.get(k)
                for k in (
                    "built_at",
                    "mode",
                    "documents",
                    "sentences",
                    "cleaning",
                    "splitting",
                    "document_filters",
                    "filters",
                    "sentence_dedup",
                )
            }
        ]


def report_data(
    config: BuildConfig,
    tally: Tally,
    documents_written: Counter,
    kept_sentences: dict,
    totals: dict,
    near_pairs: list[dict],
) -> dict:
    counts = tally.counts
    dropped = {
        k: counts["dropped"].get(k, 0) for k in ("empty_text", "no_sentences", "exact_duplicate", "near_duplicate")
    }
    dropped["all_sentences_duplicate"] = documents_written.get("all_sentences_duplicate", 0)
    rules = {name: counts["document_filters"].get(name, 0) for name in document_filters.DOCUMENT_FILTER_RULES}
    rules.update(counts["document_filters"])  # and the n-grams of a config with other n
    dropped["document_filter"] = sum(rules.values())
    staged = counts["documents"]["staged_sentences"]
    return {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": config.settings(),
        "documents": {
            "read": counts["documents"]["read"],
            "kept": documents_written.get("kept", 0),
            "dropped": dropped,
        },
        "deidentification": {
            "documents": counts["deid"].get("documents", 0),
            "identifiers": {k: counts["deid"][k] for k in TYPES if counts["deid"].get(k)},
        },
        "cleaning": {name: counts["clean"].get(name, 0) for name in cleaning.ALL_RULE_NAMES},
        "splitting": {
            k: counts["split"].get(k, 0) for k in ("sentences", "fast_pieces", "kss_pieces", "too_long_pieces")
        },
        "document_filters": rules,  # documents dropped per rule (their reason in corpus/documents)
        "filters": {name: counts["filters"].get(name, 0) for name in filters.FILTER_RULES},
        "sentence_dedup": {"duplicates_dropped": staged - kept_sentences["kept"]},
        "sentences": kept_sentences,
        "near_duplicates": near_pairs[:1000],
        "near_duplicates_total": len(near_pairs),
        "totals": totals,
        # Worker steps are summed over the workers (CPU seconds), the others are this process's.
        "seconds_per_step": {step: round(tally.seconds.get(step, 0.0), 3) for step in STEPS + START_UP},
    }
