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
FOUNDATION = {
    "storage",
    "stored_parquet",
    "schemas",
    "workspace",
    "errors",
    "checks",
    "faults",
    "worker_processes",
    "json_lines",
}
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


# --- Every file appears whole or not at all ------------------------------------------------------
# Parquet through storage.ParquetSink, other files through storage.atomic_path / atomic_text,
# directories through storage.atomic_dir. A write is fine inside such a temporary: under
# `with atomic_dir(...) as tmp:` (or atomic_path, atomic_text, make_temp_dir) a call that names tmp,
# or a name made from it (`path = tmp / "x"`, `with open(tmp / "x", "w") as fh`), writes a file that
# appears only when the whole temporary is renamed into place.
ATOMIC = {"atomic_dir", "atomic_path", "atomic_text", "make_temp_dir"}
WRITE_MODES = set("wax+")
SHUTIL_WRITES = {"copy", "copy2", "copyfile", "copytree", "move"}
FILE_WRITERS = {"ParquetWriter", "PdfPages"}  # constructors that create a file at their path
WRITE_METHODS = {"write_text", "write_bytes", "save_pretrained", "savefig"}
SAVE_METHODS = {"save", "to_csv", "to_parquet", "to_json"}  # writes when given a destination
# (module, function, write): why this write is allowed although the scan cannot see a temporary.
STORAGE_RULE_ALLOWED = {
    ("workspace.py", "lock", "open(w/a)"): "an flock file: never holds data, only the lock",
    ("corpus/build_folders.py", "__enter__", "open(w/a)"): "the build's flock file: never holds data",
    ("corpus/build_folders.py", "link_tree", "shutil.copy2"): "fills the build's own temporary folder, swapped in whole",
    ("crawlers/state.py", "append_done_day", "open(w/a)"):
        "an append-only log, fsynced per line; its reader counts only complete lines",
    ("vocab/tokenizers.py", "save_tokenizer_dir", "save_pretrained"): "writes into the caller's atomic_dir temporary",
    ("vocab/tokenizers.py", "save_tokenizer_dir", "write_text"): "writes into the caller's atomic_dir temporary",
    ("vocab/bidirectional_tokenizer.py", "save_pretrained", "save_pretrained"):
        "the save_pretrained override: writes where its caller does (an atomic_dir temporary)",
    ("vocab/bidirectional_tokenizer.py", "mark_bidirectional", "save"):
        "called from save_pretrained, into the same temporary",
    ("training/model.py", "save_pretrained", "save_pretrained"):
        "the save_pretrained override: writes where Trainer.save_model is told (save_model_dir's atomic_dir temporary)",
    ("training/output.py", "_copy_tokenizer", "shutil.copy2"): "called only by save_model_dir, into its atomic_dir temporary",
    ("training/output.py", "_copy_tokenizer", "save_pretrained"): "called only by save_model_dir, into its atomic_dir temporary",
    ("training/output.py", "_mark_plain_bert", "write_text"): "called only by save_model_dir, on a file in its atomic_dir temporary",
    ("deid/files.py", "__enter__", "open(w/a)"): "RowWriter opens the atomic_path temporary that deid.files.deidentify_file gives it",
    ("deid/files.py", "_flush_parquet", "pq.ParquetWriter"): "RowWriter writes into its caller's atomic_path temporary, with the input's own schema",
    ("training/metrics.py", "append_metrics", "open(w/a)"): "an append-only log, one fsynced line per record; read_metrics drops a torn last line",
}  # fmt: skip


def _call_name(node: ast.Call) -> tuple[str | None, str | None]:
    """(owner, name) of a call: `shutil.copy2(...)` is ("shutil", "copy2"), `open(...)` (None, "open")."""
    func = node.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    return None, None


def _open_mode(node: ast.Call, owner: str | None) -> str:
    position = 1 if owner in (None, "gzip", "bz2", "lzma", "io", "codecs") else 0  # open(path, mode), Path.open(mode)
    for keyword in node.keywords:
        if keyword.arg == "mode" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    if len(node.args) > position and isinstance(node.args[position], ast.Constant):
        return str(node.args[position].value)
    return "r"


def _direct_write(node: ast.Call) -> str | None:
    """What kind of file write this call is, or None."""
    owner, name = _call_name(node)
    if name == "open" and WRITE_MODES & set(_open_mode(node, owner)):
        return "open(w/a)"
    if isinstance(node.func, ast.Attribute) and (name in WRITE_METHODS or name in SAVE_METHODS and node.args):
        return name
    if name in FILE_WRITERS or (name == "write_table" and owner in ("pq", "parquet")):
        return f"{owner + '.' if owner else ''}{name}"
    if (owner, name) in {("os", "replace"), ("os", "rename"), ("json", "dump"), ("pickle", "dump")}:
        return f"{owner}.{name}"
    if owner == "shutil" and name in SHUTIL_WRITES:
        return f"{owner}.{name}"
    if name == "rename" and isinstance(node.func, ast.Attribute):
        return "Path.rename"
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _WriteScan(ast.NodeVisitor):
    """Direct writes of one module, each with its function and whether it writes into a temporary."""

    def __init__(self):
        self.function, self.temps, self.found = "<module>", set(), []

    def visit_FunctionDef(self, node):
        outer = (self.function, self.temps)
        self.function, self.temps = node.name, set()
        self.generic_visit(node)
        self.function, self.temps = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node):
        for item in node.items:
            self.visit(item.context_expr)
            made_atomic = isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr)[1] in ATOMIC
            if isinstance(item.optional_vars, ast.Name) and (made_atomic or _names(item.context_expr) & self.temps):
                self.temps.add(item.optional_vars.id)
        for statement in node.body:
            self.visit(statement)

    def visit_Assign(self, node):
        self.visit(node.value)
        value_is_temp = _names(node.value) & self.temps or (
            isinstance(node.value, ast.Call) and _call_name(node.value)[1] in ATOMIC
        )
        if value_is_temp:
            self.temps.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def visit_Call(self, node):
        kind = _direct_write(node)
        if kind is not None and not _names(node) & self.temps:
            self.found.append((self.function, kind, node.lineno))
        self.generic_visit(node)


def _direct_writes():
    for rel, tree in _modules():
        if rel.as_posix() == "storage.py":
            continue
        scan = _WriteScan()
        scan.visit(tree)
        for function, kind, line in scan.found:
            yield rel.as_posix(), function, kind, line


def test_every_file_is_written_whole_or_not_at_all():
    wrong = [
        f"{rel}:{line} {function}() writes with {kind} outside a storage temporary"
        for rel, function, kind, line in _direct_writes()
        if (rel, function, kind) not in STORAGE_RULE_ALLOWED
    ]
    assert wrong == [], "use storage.ParquetSink / atomic_path / atomic_text / atomic_dir:\n" + "\n".join(wrong)


def test_the_storage_rule_allowlist_has_no_stale_entries():
    found = {(rel, function, kind) for rel, function, kind, _ in _direct_writes()}
    assert sorted(set(STORAGE_RULE_ALLOWED) - found) == []
