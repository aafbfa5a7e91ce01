"""Reading the tab-separated inputs (PAIRS files, KorSTS): header checked, blank lines skipped."""

from __future__ import annotations

from kmb.corpus.eval_files import tsv_rows  # noqa: F401 (re-exported; the reader lives with the other file readers)
