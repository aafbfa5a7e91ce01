"""The house rules that keep kmb readable, checked on the package's own source.

Data and imports flow one way, crawlers -> corpus -> vocab -> training -> evaluation; every stage
may use the foundation (storage, workspace, errors) and the public names of the stages before it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
STAGES = ["crawlers", "deid", "corpus", "vocab", "training", "evaluation"]
FOUNDATION = {"storage", "schemas", "workspace", "errors", "checks", "faults", "worker_processes", "json_lines"}
# Not part of the library a user imports: generated sites, tests, benchmarks.
SKIPPED = {"tests", "benchmarks", "replay_site", "docs", "samples", ".venv", "build"}
MAX_FUNCTION_LINES = 80


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if SKIPPED.intersection(rel.parts) or any(
            part.startswith(".") or part.endswith(".egg-info") for part in rel.parts
        ):
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.Module):
    """(module path under kmb, names imported from it) for every `kmb.*` import, nested ones too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kmb":
            yield node.module.split(".")[1:], [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kmb":
                    yield alias.name.split(".")[1:], []


def test_imports_follow_the_flow():
    wrong = []
    for rel, tree in _modules():
        owner = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for target, names in _imports(tree):
            if not target:
                continue
            if owner in STAGES + sorted(FOUNDATION) and target[0] == "demo":
                wrong.append(f"{rel}: the library imports the demo sites kmb.{'.'.join(target)}")
            if owner in FOUNDATION and target[0] in STAGES:
                wrong.append(f"{rel}: the foundation imports the stage kmb.{'.'.join(target)}")
            if owner in STAGES and target[0] in STAGES and target[0] != owner:
                if STAGES.index(target[0]) > STAGES.index(owner):
                    wrong.append(f"{rel}: imports the later stage kmb.{'.'.join(target)}")
                private = [n for n in names if n.startswith("_")] + [p for p in target if p.startswith("_")]
                if private:
                    wrong.append(f"{rel}: imports another stage's private {private} from kmb.{'.'.join(target)}")
    assert wrong == []


def test_no_function_is_longer_than_a_screenful():
    long = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name} has {lines} lines")
    assert long == []


@pytest.mark.parametrize("stage", STAGES)
def test_test_files_are_named_after_the_module_they_test(stage):
    # Tests mirror the modules: tests/<stage>/test_<module>[_<aspect>].py, never named after an issue.
    modules = {path.stem for path in (PACKAGE / stage).rglob("*.py")}
    strays = []
    for test in sorted((PACKAGE / "tests" / stage).rglob("test_*.py")):
        words = test.stem.removeprefix("test_").split("_")
        if not any("_".join(words[:n]) in modules for n in range(1, len(words) + 1)):
            strays.append(test.name)
    assert strays == [], f"tests/{stage}/ has test files named after no module: {strays}"


def test_tests_are_grouped_by_package_folder():
    folders = {p.name for p in (PACKAGE / "tests").iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders <= set(STAGES) | {"foundation", "fixtures"}


def _stage_names(tree: ast.Module) -> set[str]:
    """Names a cli module imports from a stage (not from the foundation or the cli itself)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kmb."):
            top = node.module.split(".")[1]
            if top not in FOUNDATION and top != "cli":
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def test_each_cli_command_makes_one_library_call():
    # Options objects (classes) may be built; of the stages' functions, a command calls exactly one.
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stage_names = _stage_names(tree)
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            if not any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "command"
                for d in fn.decorator_list
            ):
                continue
            calls = [
                n.func.id
                for n in ast.walk(fn)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id in stage_names
                and not n.func.id[0].isupper()
            ]
            assert len(calls) == 1, f"{path.name}:{fn.name} calls {calls or 'no library function'}"
