"""STS data: KorSTS TSV, KM-BERT's MedSTS CSV, KLUE-STS JSON -> :class:`StsPair` lists.

The readers live in :mod:`kmb.corpus.eval_files` (the corpus stage reads the same files); this
module re-exports them for the evaluation stage.

The formats (korsts, medsts, klue) and the score rule (0-5) are described there.
"""

from __future__ import annotations

from kmb.corpus.eval_files import (  # noqa: F401 (re-exported)
    KORSTS_HEADER,
    StsPair,
    read_klue_sts,
    read_korsts,
    read_medsts,
    read_sts,
)
