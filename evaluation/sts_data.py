"""STS data: KorSTS TSV, KM-BERT's MedSTS CSV, KLUE-STS JSON -> :class:`StsPair` lists.

The readers live in :mod:`kmb.corpus.eval_files` (the corpus stage reads the same files); this
module re-exports them for the evaluation stage.

- ``korsts``: header ``genre filename year id score sentence1 sentence2``, split on tabs only
  (sentences contain quotes, so no CSV quoting rules apply).
- ``medsts``: KM-BERT's CSV in cp949 with a header row; column 1 ``train``/``test``, column 3 the
  score, columns 4 and 5 the sentences. ``--train`` keeps the ``train`` rows of its file and
  ``--test`` the ``test`` rows of its file (they may be the same file).
- ``klue``: KLUE-STS JSON, a list of objects with ``sentence1``, ``sentence2`` and
  ``labels.real-label`` (or ``labels.label``).

Every score must lie in 0-5; anything else is a KmbError with the file and line (or record).
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
