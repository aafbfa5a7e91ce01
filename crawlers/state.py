"""A crawl's own progress in ``<workspace>/crawl/<source>/``: what ``--resume`` goes on from.

The file formats. In a crawl, only the source's item pipeline reads and writes them (the spider asks
the pipeline, :mod:`kmb.crawlers.session`); ``naver_crawl``/``kci_harvest`` touch them only before
Scrapy starts (dropping a killed run's queue, refusing another endpoint's resume point).

NAVER: ``done_days.txt`` (days whose listed articles are all written), and two files written
only at a clean stop, for a resume that finds Scrapy's JOBDIR queue intact. KCI: ``state.json``
(the next resumption token, saved only after the documents before it are on disk).
"""

from __future__ import annotations

import json
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import fsync_open_file, write_json_atomic

DONE_DAYS_FILE = "done_days.txt"
DAYS_STARTED_FILE = "days_started.json"  # days whose list requests are in the queue
OPEN_DAYS_FILE = "open_days.json"  # listed days still waiting for some articles (pipeline)
KCI_STATE_FILE = "state.json"


# --- NAVER ---------------------------------------------------------------------------------------
def read_done_days(state_dir: Path) -> set[str]:
    path = Path(state_dir) / DONE_DAYS_FILE
    if not path.is_file():
        return set()
    # A kill can leave a partial last line; a day counts only on a complete line.
    lines = path.read_text(encoding="utf-8").split("\n")
    return {line.strip() for line in lines[:-1] if len(line.strip()) == 8 and line.strip().isdigit()}


def append_done_day(state_dir: Path, day: str) -> None:
    path = Path(state_dir) / DONE_DAYS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(day + "\n")
        fh.flush()
        fsync_open_file(fh, path)


def read_json(path: Path, default):
    """A state file, or ``default`` when it is missing or damaged. Only used where starting over is
    safe (stored documents are skipped by doc_id, so nothing is stored twice): a damaged file says so."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, type(default)):
        _warn_damaged(path)
        return default
    return value


def _warn_damaged(path: Path) -> None:
    import sys

    sys.stderr.write(
        f"kmb: warning: {path}: crawl state is damaged; going on as if it were missing "
        "(documents already stored are skipped, none is stored twice)\n"
    )


def write_json(path: Path, value) -> None:
    """Atomically: a temporary file, then os.replace."""
    write_json_atomic(path, value, indent=None)


def forget_progress(state_dir: Path) -> None:
    """A fresh (not resumed) crawl forgets the last run's days; stored articles stay and are not refetched."""
    for name in (DONE_DAYS_FILE, DAYS_STARTED_FILE, OPEN_DAYS_FILE):
        (Path(state_dir) / name).unlink(missing_ok=True)


def forget_queued_days(state_dir: Path) -> None:
    """After a kill, Scrapy's queue is dropped: the days it held are listed again."""
    for name in (DAYS_STARTED_FILE, OPEN_DAYS_FILE):
        (Path(state_dir) / name).unlink(missing_ok=True)


# --- KCI -----------------------------------------------------------------------------------------
def kci_state_path(ws) -> Path:
    return ws.crawl_state("kci") / KCI_STATE_FILE


def read_kci_state(ws) -> dict:
    return read_json(kci_state_path(ws), {})


def write_kci_state(ws, state: dict) -> None:
    """Atomically: a temp file in the same folder, fsynced, then renamed."""
    write_json_atomic(kci_state_path(ws), state, indent=1)


def kci_resume_point(ws, endpoint: str) -> tuple[str | None, str | None]:
    """(resumption token, metadata prefix) saved by the last harvest of ``endpoint``; (None, None) when none."""
    state = read_kci_state(ws)
    if state.get("endpoint") not in (None, endpoint):
        raise KmbError(
            f"--resume: the saved harvest was from {state['endpoint']}, not {endpoint}", path=kci_state_path(ws)
        )
    if state.get("next_token"):
        return state["next_token"], state.get("metadata_prefix")
    return None, None
