"""The Markdown tables of scores that every task's results and the report are made of."""

from __future__ import annotations

from collections.abc import Sequence


def winner(scores: dict[str, float]) -> str | None:
    """The model with the highest score; None when tied (or no model), so no false winner is named."""
    if not scores:
        return None
    top = max(scores.values())
    leaders = [m for m, v in scores.items() if abs(v - top) < 1e-12]
    return leaders[0] if len(leaders) == 1 else None


def table_start(title: str, caption: str, columns: Sequence[str]) -> list[str]:
    """The opening lines of a result table: heading, caption, header row and separator."""
    return [
        f"### {title}",
        "",
        caption,
        "",
        "| Model | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]


def mean_pm_std(score: dict | None) -> str:
    """``0.812 ± 0.031`` for a {mean, std} score; ``n/a`` where the score does not exist."""
    return "n/a" if score is None else f"{score['mean']:.3f} ± {score['std']:.3f}"
