"""The `kmb evaluate ...` commands as library calls: check, open the workspace, run, summarise.

Each function checks every option first (so a bad number writes nothing, not even the workspace),
then resolves the models, runs the task into ``<workspace>/eval/<run>/`` and returns the
:class:`Summary` the command prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kmb.evaluation.options import check_pairs_options
from kmb.evaluation.results import ModelRef, Summary, mean_pm_std, resolve_models
from kmb.storage import files_together

if TYPE_CHECKING:
    from kmb.evaluation.options import FinetuneConfig, IntrinsicConfig


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


def _intrinsic_run(runner, workspace, model_specs, run, data, config: IntrinsicConfig, progress) -> tuple[Path, dict]:
    """Check the options, open the models, run ``runner`` (run_mlm or run_nsp) into the run folder."""
    config.check()
    ws, models, out_dir = open_run(workspace, model_specs, run)
    with run_folder(ws, run) as tmp:
        result = runner(models, data, tmp, config=config, progress=progress)
    return out_dir, result


def mlm_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    data: Path,
    config: IntrinsicConfig,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.intrinsic import run_mlm

    out_dir, result = _intrinsic_run(run_mlm, workspace, model_specs, run, data, config, progress)
    return Summary(
        f"mlm results in {out_dir}", {m: mean_pm_std(s["overall"]) for m, s in result["models"].items()}, result
    )


def nsp_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    data: Path,
    config: IntrinsicConfig,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.intrinsic import run_nsp

    out_dir, result = _intrinsic_run(run_nsp, workspace, model_specs, run, data, config, progress)
    rows = {
        m: "n/a (no NSP head)" if s["accuracy"] is None else f"{s['accuracy']['overall']:.3f}"
        for m, s in result["models"].items()
    }
    return Summary(f"nsp results in {out_dir}", rows, result)


def ner_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    data: Path,
    *,
    fmt: str,
    folds: int,
    scheme: str,
    drop_leaks: bool,
    config: FinetuneConfig,
    predictions_out: Path | None,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.ner import check_ner_options, run_ner, summary_rows

    check_ner_options(folds, scheme, config)
    ws, models, out_dir = open_run(workspace, model_specs, run)
    warn_about_overlap(ws, [data], "ner", fmt)
    with files_together() as predictions, run_folder(ws, run) as tmp:  # predictions only with the run
        result = run_ner(
            models,
            data,
            tmp,
            fmt=fmt,
            folds=folds,
            scheme=scheme,
            drop_leaks=drop_leaks,
            config=config,
            predictions_out=predictions_out,
            progress=progress,
            predictions_file=predictions.text,
        )
    return Summary(f"ner results in {out_dir}", summary_rows(result), result)


def sts_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    train: Path,
    test: Path,
    *,
    fmt: str,
    six_class: bool,
    config: FinetuneConfig,
    predictions_out: Path | None,
    max_train: int | None,
    max_test: int | None,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.sts import check_sts_options, run_sts, summary_rows

    heads = ("regression", "6class") if six_class else ("regression",)
    check_sts_options(heads, config, max_train, max_test)
    ws, models, out_dir = open_run(workspace, model_specs, run)
    warn_about_overlap(ws, [test], "sts", fmt)
    with files_together() as predictions, run_folder(ws, run) as tmp:  # predictions only with the run
        result = run_sts(
            models,
            train,
            test,
            tmp,
            fmt=fmt,
            heads=heads,
            config=config,
            predictions_out=predictions_out,
            max_train=max_train,
            max_test=max_test,
            progress=progress,
            predictions_file=predictions.text,
        )
    return Summary(f"sts results in {out_dir}", summary_rows(result), result)


def classify_command(
    workspace: Path,
    model_specs: Sequence[str],
    run: str,
    *,
    data: Path | None,
    train: Path | None,
    test: Path | None,
    fmt: str,
    folds: int,
    seeds: int,
    config: FinetuneConfig,
    predictions_out: Path | None,
    progress: Callable[[str], None],
) -> Summary:
    from kmb.evaluation.classify import check_classify_options, run_classify, summary_rows
    from kmb.evaluation.classify_data import load_splits

    check_classify_options(data, train, test, fmt, folds, seeds, config)
    splits = load_splits(data, train, test, fmt, folds, config.seed)  # bad input stops here: nothing written yet
    ws, models, out_dir = open_run(workspace, model_specs, run)
    warn_about_overlap(ws, [test if test is not None else data], "classify", fmt)
    with files_together() as predictions, run_folder(ws, run) as tmp:  # predictions only with the run
        result = run_classify(
            models,
            tmp,
            data=data,
            train=train,
            test=test,
            fmt=fmt,
            folds=folds,
            seeds=seeds,
            config=config,
            predictions_out=predictions_out,
            progress=progress,
            predictions_file=predictions.text,
            splits=splits,
        )
    return Summary(f"classify results in {out_dir}", summary_rows(result), result)


def report_command(workspace: Path) -> tuple[str, Path]:
    """The report's text and where it was written."""
    from kmb.evaluation.report import build_report
    from kmb.workspace import Workspace

    ws = Workspace.open(workspace)
    return build_report(ws.root / "eval"), ws.root / "eval" / "report.md"
