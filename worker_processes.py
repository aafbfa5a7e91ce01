"""Worker processes that end with their parent: the one initializer every kmb pool uses.

A pool worker blocked on a pipe outlives a parent killed with SIGKILL (the resource tracker too),
holding its memory and, for ``terms count``, printing ``BrokenPipeError`` tracebacks when it
finally writes. On Linux the kernel can send a child a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); :func:`start_worker` asks for SIGTERM, whose default action ends
the worker quietly. Elsewhere it is a no-op, and the pools' own shutdown is all there is.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> None:
    """Have the kernel end this process (SIGTERM) when ``parent_pid``, its parent, dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return
    # Ctrl-C reaches the whole process group: the parent stops the pool, the worker need not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)


def start_worker(parent_pid: int, init=None, *args) -> None:
    """A pool ``initializer``: ``initializer=start_worker, initargs=(os.getpid(), init, *args)``."""
    end_with_parent(parent_pid)
    if init is not None:
        init(*args)


def map_in_order(function, items, workers: int, init=None, initargs: tuple = ()):
    """``function(item)`` for each item, in order, in ``workers`` processes (here when 1), with at
    most three items per worker in flight, so a long input streams in bounded memory
    (``Pool.imap`` would read the whole input ahead). ``function`` must be a module-level function."""
    import itertools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    items = iter(items)
    first = list(itertools.islice(items, 2))
    if workers <= 1 or len(first) < 2:  # one item: starting processes would cost more than it saves
        if init is not None:
            init(*initargs)
        for item in itertools.chain(first, items):
            yield function(item)
        return
    context = multiprocessing.get_context("spawn")  # DuckDB and Arrow threads do not survive fork
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker, initargs=(os.getpid(), init, *initargs)
    ) as pool:
        in_flight = []
        for item in itertools.chain(first, items):
            in_flight.append(pool.submit(function, item))
            if len(in_flight) >= workers * 3:
                yield in_flight.pop(0).result()
        for future in in_flight:
            yield future.result()
