"""The workspace: one directory that holds everything a run produces, and its DuckDB views.

    raw/<source>/*.parquet        documents, one folder per source (naver_health, kci, textbook, ...)
    raw/<source>/rejects/         pages or files that could not be used, with the reason
    corpus/sentences/, corpus/documents/, corpus/report.json
    terms/terms.parquet, terms/term_freq.parquet
    vocab/<name>/                 tokenizer directories
    pretrain/<name>/              pair shards and checkpoints
    models/<name>/                Hugging Face model directories
    eval/<run>/                   evaluation results; eval/report.md
    crawl/<spider>/               crawl state for --resume
    kmb.duckdb                    views over the Parquet above

Chosen by ``--workspace`` or ``KMB_WORKSPACE``; default ``./kmb-workspace``. Part of kmb's
foundation (with ``storage.py`` and ``errors.py``): every stage imports it, and it imports no stage.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kmb.errors import KmbError
from kmb.storage import atomic_path, recover_dirs, sql_string

DEFAULT_WORKSPACE = "kmb-workspace"
ENV_VAR = "KMB_WORKSPACE"
# The v1.0 storage format: the DuckDB CLI most users have (1.x) cannot open a file in the newer
# format that the Python package (2.x) writes by default.
STORAGE_COMPATIBILITY = "v1.0.0"
STAGE_FOLDERS = ("raw", "corpus", "terms", "vocab", "pretrain", "models", "eval", "crawl")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike | None = None) -> Workspace:
        """Open (and create) a workspace; ``None`` means $KMB_WORKSPACE or ./kmb-workspace."""
        root = Path(root or os.environ.get(ENV_VAR) or DEFAULT_WORKSPACE).expanduser().resolve()
        # A directory caught between the two renames of a swap by a kill (corpus/ already renamed
        # to its hidden .old, the new one not yet in) is put back BEFORE the stage folders are
        # made: an empty corpus/ made first would count as the new copy, and the old one would be
        # dropped. Then what killed writers left (raw/<source>/, pretrain/<name>/ ...) is swept.
        recover_dirs(root)
        for name in STAGE_FOLDERS:
            (root / name).mkdir(parents=True, exist_ok=True)
        for folder in (root / name for name in STAGE_FOLDERS):
            recover_dirs(folder)
            for sub in _visible_dirs(folder):
                recover_dirs(sub)
        return cls(root)

    # --- paths, one per stage ----------------------------------------------------------------
    def raw(self, source: str) -> Path:
        return self.root / "raw" / source

    def rejects(self, source: str) -> Path:
        return self.root / "raw" / source / "rejects"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    def sentence_files(self) -> list[Path]:
        """The built corpus's sentence parts (corpus/sentences/*.parquet), or the one error that
        says to build the corpus first."""
        return sentence_files(self.corpus / "sentences")

    @property
    def terms(self) -> Path:
        return self.root / "terms"

    def vocab(self, name: str) -> Path:
        return self.root / "vocab" / name

    def pretrain(self, name: str) -> Path:
        return self.root / "pretrain" / name

    def model(self, name: str) -> Path:
        return self.root / "models" / name

    def eval(self, run: str) -> Path:
        return self.root / "eval" / run

    def crawl_state(self, spider: str) -> Path:
        return self.root / "crawl" / spider

    @property
    def duckdb_path(self) -> Path:
        return self.root / "kmb.duckdb"

    # --- writers -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, area: str) -> Iterator[Path]:
        """Hold the one writer's lock of an area of the workspace for the ``with`` block.

        ``area`` names what is written: ``"corpus"``, ``"terms"``, ``"raw/naver_health"``,
        ``"vocab/medical"``, ``"pretrain/km-bert"``, ``"eval/ner"``. The lock is an flock on
        ``<workspace>/.locks/<area>.lock``: a second writer of the same area gets one KmbError line
        at once (it never waits), and the kernel releases the lock when the holder dies, so a
        killed command never leaves a stale lock behind.
        """
        folder = self.root / ".locks"
        folder.mkdir(exist_ok=True)
        path = folder / (area.strip("/").replace("/", "~") + ".lock")
        handle = open(path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise KmbError(
                f"another kmb command is writing {area} in this workspace; wait for it to end", path=path
            ) from None
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def raw_sources(self) -> list[str]:
        raw = self.root / "raw"
        return sorted(p.name for p in raw.iterdir() if p.is_dir() and any(p.glob("*.parquet")))

    # --- DuckDB ------------------------------------------------------------------------------
    def refresh_views(self) -> list[str]:
        """(Re)create kmb.duckdb with views over whatever Parquet exists now.

        The file holds only views, so it is rebuilt each time under a temporary name and renamed
        into place: a reader never sees it half made, and a file left in another storage format
        (by an older kmb or another DuckDB) is replaced. Paths are absolute so the views work from
        any working directory. A table with no file yet gets no view (DuckDB cannot create a view
        over an empty glob). Returns the views made.
        """
        selects = {name: select for name, _, select in VIEWS}
        views = {name: glob for name, glob, _ in VIEWS if _has_files(self.root, glob)}
        with atomic_path(self.duckdb_path) as tmp:
            tmp.unlink()  # DuckDB creates the file itself
            con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
            try:
                for name, glob in views.items():
                    # A view cannot take parameters: the path is a literal, quoted by sql_string.
                    source = f"read_parquet({sql_string(self.root / glob)}, union_by_name=true)"
                    con.execute(f'create view "{name}" as {selects[name].format(src=source)}')
            finally:
                con.close()
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
        return sorted(views)

    def refresh_views_after_save(self) -> list[str]:
        """refresh_views for a command whose output is already saved: a fault here (a damaged
        Parquet file elsewhere, a full disk) is a one-line warning naming it, not a failure of
        the command, which did what it was asked. ``kmb views`` retries and reports it as an error."""
        import sys

        from kmb.faults import as_kmb_error

        try:
            return self.refresh_views()
        except Exception as exc:
            error = as_kmb_error(exc)
            if error is None:
                raise
            sys.stderr.write(f"kmb: warning: your output is saved, but the DuckDB views were not refreshed: {error}\n")
            return []

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection to kmb.duckdb (read-only by default: refresh_views owns the file)."""
        return duckdb.connect(str(self.duckdb_path), read_only=read_only)


def sentence_files(folder: str | os.PathLike) -> list[Path]:
    """Sentence parts in ``folder`` (a corpus/sentences/ folder), sorted; the one "no corpus" error."""
    folder = Path(folder)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        raise KmbError("no corpus sentences yet: run `kmb corpus build` first", path=folder)
    from kmb.stored_parquet import parquet_footer

    for part in files:  # a damaged part is one line naming it, before any reader starts work
        parquet_footer(part)
    return files


def check_run_name(name: str, option: str = "--output") -> str:
    """A run name becomes one folder (models/<name>/, eval/<name>/): no path, nothing hidden."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise KmbError(f"{option} must be a plain name, not {name!r}")
    return name


_CORE = "doc_id, source, url, title, text, language, published_at, crawled_at"

# (view name, glob under the workspace, select over {src}). Later stages add theirs here.
VIEWS: list[tuple[str, str, str]] = [
    ("documents", "raw/*/*.parquet", f"select {_CORE} from {{src}}"),
    ("raw_documents", "raw/*/*.parquet", "select * from {src}"),
    ("rejects", "raw/*/rejects/*.parquet", "select * from {src}"),
    ("sentences", "corpus/sentences/*.parquet", "select * from {src}"),
    ("corpus_documents", "corpus/documents/*.parquet", "select * from {src}"),
    ("terms", "terms/terms.parquet", "select * from {src}"),
    ("term_freq", "terms/term_freq.parquet", "select * from {src}"),
]


def _has_files(root: Path, glob: str) -> bool:
    return next(iter(root.glob(glob)), None) is not None


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
