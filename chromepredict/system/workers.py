"""Worker processes that never outlive the run that started them, under any start method.

Workers get everything they need in their task (no inherited caches or module state), so the
pools work the same under ``fork``, ``forkserver`` and ``spawn``. Each worker asks the kernel to
kill it when its parent dies (``PR_SET_PDEATHSIG``, Linux) and, everywhere, watches the run's
process and exits when it is gone (``kill -9`` of a run leaves no worker behind).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1
_MANAGER_EXIT_SECONDS = 5  # a failed run waits at most this long for its pool's thread (its workers are dead)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie — killed, not yet reaped — does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _watch(run: int) -> None:
    while _alive(run):
        time.sleep(0.2)
    os._exit(1)


def _die_with_parent(run: int) -> None:
    """Worker initializer: end this process when the run's process ``run`` ends (under forkserver
    the worker's parent is the fork server, so the run is watched by its pid)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the watcher alone
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if not _alive(run):  # the run died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(run,), daemon=True, name="run-watch").start()


@contextlib.contextmanager
def process_pool(workers: int, context=None) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process; ``context`` a multiprocessing context
    (default: the platform's start method). When the block fails — a worker that could not be
    started (too many open files or processes), an error, Ctrl-C or SIGTERM — its workers are
    killed at once rather than waited for, so that a failed run never hangs on its own pool."""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    try:
        yield pool
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.kill()
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        if manager is not None:
            # The pool's thread sees its killed workers and closes its wake-up pipe; let it finish,
            # or Python 3.11's exit hook may write to that pipe as it closes and print a traceback
            # ("OSError: [Errno 9] Bad file descriptor") after the run's one error line.
            manager.join(timeout=_MANAGER_EXIT_SECONDS)
        raise
    pool.shutdown(wait=True)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a scheduler's allocation sets it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores)
