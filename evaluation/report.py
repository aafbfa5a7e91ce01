"""`kmb evaluate report`: every result under ``eval/`` in one Markdown report, eval/report.md.

Each run folder ``eval/<run>/result.json`` says its task. The report lists runs in the paper's
order (MLM Fig. 3, NSP Table 2, STS Table 3, NER Table 5; then classification, not in the paper), each with its table in the paper's
layout (rebuilt from result.json by the same function that wrote the run's own Markdown), its
figure, and the model that won it; a summary of winners comes first.
"""

from __future__ import annotations

import json
from pathlib import Path

from kmb.errors import KmbError
from kmb.evaluation.results import write_markdown
from kmb.evaluation.tables import winner

TASK_ORDER = ("mlm", "nsp", "sts", "ner", "classify")
FIGURES = {"mlm": "mlm.png", "nsp": "nsp.png", "sts": "sts.png", "ner": "ner_f1.png", "classify": "classify.png"}
TITLES = {
    "mlm": "Intrinsic: masked language model (paper Fig. 3)",
    "nsp": "Intrinsic: next sentence prediction (paper Table 2, Fig. 4)",
    "sts": "Extrinsic: semantic textual similarity (paper Table 3)",
    "ner": "Extrinsic: named entity recognition (paper Table 5)",
    "classify": "Classification (extrinsic: single texts and text pairs; not in the paper)",
}


def load_results(eval_dir: Path) -> list[tuple[str, dict]]:
    """(run name, result) for every ``eval/<run>/result.json``, in the paper's task order."""
    runs = []
    for path in sorted(Path(eval_dir).glob("*/result.json")):
        if path.parent.name.startswith("."):
            continue  # a run still being written (or killed): not a result
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise KmbError(f"broken result file: {exc.msg}", path=path, line=exc.lineno) from None
        if result.get("task") in TASK_ORDER:
            runs.append((path.parent.name, result))
    runs.sort(key=lambda run: (TASK_ORDER.index(run[1]["task"]), run[0]))
    return runs


def headline(result: dict) -> tuple[str, dict[str, float]]:
    """The score each task is won on, and its value per model."""
    task, models = result["task"], result["models"]
    if task == "mlm":
        return "MLM accuracy (overall, mean)", {m: s["overall"]["mean"] for m, s in models.items()}
    if task == "nsp":
        from kmb.evaluation.intrinsic import nsp_overall

        return "NSP accuracy (overall; n/a models left out)", nsp_overall(result)
    if task == "sts":
        head = result["heads"][0]
        return f"STS Pearson ({head})", {m: s[head]["pearson"] for m, s in models.items()}
    if task == "classify":
        from kmb.evaluation.classify import runs_phrase

        return f"Classification macro F1 (mean over {runs_phrase(result)})", {
            m: s["macro_f1"]["mean"] for m, s in models.items()
        }
    from kmb.evaluation.ner import headline_score

    key, what = headline_score(result)
    return what, {m: s[key]["mean"] for m, s in models.items()}


def section(result: dict) -> str:
    from kmb.evaluation.classify import classify_markdown
    from kmb.evaluation.intrinsic import mlm_markdown, nsp_markdown
    from kmb.evaluation.ner import ner_markdown
    from kmb.evaluation.sts import sts_markdown

    sections = {
        "mlm": mlm_markdown,
        "nsp": nsp_markdown,
        "sts": sts_markdown,
        "ner": ner_markdown,
        "classify": classify_markdown,
    }
    return sections[result["task"]](result)


def build_report(eval_dir: Path) -> str:
    """Write ``eval_dir/report.md`` and return its text."""
    eval_dir = Path(eval_dir)
    runs = load_results(eval_dir)
    if not runs:
        raise KmbError("no evaluation results here: run `kmb evaluate mlm|nsp|ner|sts|classify` first", path=eval_dir)
    lines = ["# kmb evaluation report", "", "## Winners", "", "| Run | Task | Score | Winner |", "|---|---|---|---|"]
    for run, result in runs:
        what, scores = headline(result)
        best = winner(scores)
        shown = f"{best} ({scores[best]:.3f})" if best else ("tie" if len(scores) > 1 else "one model only")
        lines.append(f"| {run} | {result['task']} | {what} | {shown} |")
    for task in TASK_ORDER:
        task_runs = [(run, result) for run, result in runs if result["task"] == task]
        if not task_runs:
            continue
        lines += ["", f"## {TITLES[task]}"]
        for run, result in task_runs:
            lines += [
                "",
                f"Run `{run}` (data: `{result.get('data') or result.get('test')}`)",
                "",
                section(result).rstrip("\n"),
            ]
            figure = eval_dir / run / FIGURES[task]
            if figure.is_file():
                lines += ["", f"![{task} {run}]({run}/{FIGURES[task]})"]
    text = "\n".join(lines) + "\n"
    write_markdown(eval_dir / "report.md", text)
    return text
