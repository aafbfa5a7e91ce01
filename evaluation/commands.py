"""The `kmb evaluate ...` commands as library calls: check, open the workspace, run, summarise.

Each function checks every option first (so a bad number writes nothing, not even the workspace),
then resolves the models, runs the task into ``<workspace>/eval/<run>/`` and returns the
:class:`Summary` the command prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from kmb.evaluation.options import check_pairs_options
from kmb.evaluation.results import ModelRef, Summary, resolve_models
from kmb.evaluation.tables import mean_pm_std
from kmb.storage import files_together

if TYPE_CHECKING:
    from kmb.evaluation.options import ClassifyTask, FinetuneConfig, IntrinsicConfig, NerTask, StsTask


def open_run(workspace: Path, model_specs: Sequence[str], run: str):
    """(workspace, models, run folder); the run name is checked before the workspace is opened."""
    from kmb.workspace import Workspace, check_run_name

    check_run_name(run, "--out")
    ws = Workspace.open(workspace)
    models: list[ModelRef] = resolve_models(model_specs, ws.root / "models")
    return ws, models, ws.eval(run)


@contextmanager
def run_folder(ws, run: str):
    """A temporary folder for the run's files that replaces ``eval/<run>/`` only when the run has
    finished: a kill leaves the previous run's files, never a mix of two runs. One run of a name
    at a time (the ``eval/<run>`` lock)."""
    from kmb.storage import atomic_dir

    with ws.lock(f"eval/{run}"), atomic_dir(ws.eval(run)) as tmp:
        yield tmp


# The evaluate formats under kmb corpus overlap's names (NER and STS both have a "klue").
_OVERLAP_FORMATS = {"ner": {"klue": "klue-ner"}, "sts": {"klue": "klue-sts"}, "classify": {}}


def warn_about_overlap(ws, paths, task: str, fmt: str) -> int:
    """Warn (stderr) when items of the test data occur in this workspace's corpus, the corpus the
    models pretrained here have seen: their scores would be read off text seen in pretraining.
    Returns the overlapping items; never fails the evaluation (no corpus, no warning)."""
    import sys

    from kmb.corpus.overlap import OverlapOptions, corpus_overlap
    from kmb.errors import KmbError

    files = []
    for path in (Path(p) for p in paths if p is not None):
        files += sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    try:
        report = corpus_overlap(ws, files, OverlapOptions(format=_OVERLAP_FORMATS[task].get(fmt, fmt)))
    except KmbError:
        return 0  # no corpus yet, or a file the overlap reader does not take
    overlapping = 0
    for found in report.files:
        overlapping += found["overlapping"]
        if found["overlapping"]:
            print(
                f"kmb: warning: {found['overlapping']:,} of {found['items']:,} items of {found['path']} occur in this "
                "workspace's corpus, which models pretrained here have seen: `kmb corpus overlap` lists them, "
                "`kmb corpus build --decontaminate FILE` removes them",
                file=sys.stderr,
            )
    return overlapping


def make_pairs_command(
    workspace: Path, out: Path | None, split: str, min_chars: int, per_type: int, seed: int
) -> Summary:
    from kmb.evaluation.pairs import make_pairs
    from kmb.workspace import Workspace

    check_pairs_options(min_chars, per_type, seed)
    ws = Workspace.open(workspace)
    target = out or ws.root / "eval" / "pairs.tsv"
    counts = make_pairs(
        ws.corpus / "sentences",
        target,
        split=None if split == "all" else split,
        min_chars=min_chars,
        per_type=per_type,
        seed=seed,
    )
    return Summary(f"pairs written to {target}", {**counts, "total": sum(counts.values())}, {"counts": counts})


def intrinsic_command(
    task: str,
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    data: Path,
    config: IntrinsicConfig,
    progress: Callable[[str], None],
) -> Summary:
    """`kmb evaluate mlm` or `nsp` (``task``): the options checked, then the models opened and run."""
    from kmb.evaluation.intrinsic import run_intrinsic

    config.check()
    ws, models, out_dir = open_run(workspace, model_specs, run)
    with run_folder(ws, run) as tmp:
        result = run_intrinsic(task, models, data, tmp, config=config, progress=progress)
    if task == "mlm":
        rows = {m: mean_pm_std(s["overall"]) for m, s in result["models"].items()}
    else:
        rows = {
            m: "n/a (no NSP head)" if s["accuracy"] is None else f"{s['accuracy']['overall']:.3f}"
            for m, s in result["models"].items()
        }
    return Summary(f"{task} results in {out_dir}", rows, result)


def _finetune_run(task: str, workspace, model_specs, run, test_data, runner, summary_rows, config, progress) -> Summary:
    """Open the models, warn about test data seen in pretraining, and run ``runner`` (run_ner,
    run_sts or run_classify with the task's options bound) into the run folder; --predictions-out
    files appear only with the run. ``test_data`` is what the overlap warning checks."""
    ws, models, out_dir = open_run(workspace, model_specs, run)
    warn_about_overlap(ws, [test_data], task, runner.keywords["fmt"])
    with files_together() as predictions, run_folder(ws, run) as tmp:
        result = runner(models, out_dir=tmp, config=config, progress=progress, predictions_file=predictions.text)
    return Summary(f"{task} results in {out_dir}", summary_rows(result), result)


def ner_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    data: Path,
    task: NerTask,
    config: FinetuneConfig,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.ner import check_ner_options, run_ner, summary_rows

    check_ner_options(task.folds, task.scheme, config)
    runner = partial(run_ner, data=data, **vars(task))
    return _finetune_run("ner", workspace, model_specs, run, data, runner, summary_rows, config, progress)


def sts_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    train: Path,
    test: Path,
    task: StsTask,
    config: FinetuneConfig,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.sts import check_sts_options, run_sts, summary_rows

    check_sts_options(task.heads, config, task.max_train, task.max_test)
    runner = partial(run_sts, train_path=train, test_path=test, **vars(task))
    return _finetune_run("sts", workspace, model_specs, run, test, runner, summary_rows, config, progress)


def classify_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    task: ClassifyTask,
    config: FinetuneConfig,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.classify import check_classify_options, run_classify, summary_rows
    from kmb.evaluation.classify_data import load_splits

    check_classify_options(task.data, task.train, task.test, task.fmt, task.folds, task.seeds, config)
    # Bad input stops here, before the workspace is opened: nothing is written yet.
    splits = load_splits(task.data, task.train, task.test, task.fmt, task.folds, config.seed)
    runner = partial(run_classify, splits=splits, **vars(task))
    test_data = task.test if task.test is not None else task.data
    return _finetune_run("classify", workspace, model_specs, run, test_data, runner, summary_rows, config, progress)


def report_command(workspace: Path) -> tuple[str, Path]:
    """The report's text and where it was written."""
    from kmb.evaluation.report import build_report
    from kmb.workspace import Workspace

    ws = Workspace.open(workspace)
    return build_report(ws.root / "eval"), ws.root / "eval" / "report.md"
