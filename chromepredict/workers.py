"""Worker processes that never outlive the run that started them, under any start method.

Workers get everything they need in their task (no inherited caches or module state), so the
pools work the same under ``fork``, ``forkserver`` and ``spawn``. Each worker asks the kernel to
kill it when its parent dies (``PR_SET_PDEATHSIG``, Linux) and, everywhere, watches its parent
and exits when the parent is gone (``kill -9`` of a run leaves no worker behind).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` ends."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the watcher alone
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def process_pool(workers: int, context=None) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process; ``context`` a multiprocessing context
    (default: the platform's start method)."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    )
