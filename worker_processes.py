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
