"""Where the API's notes and warnings go: the command line's report while a command runs, else
Python's :mod:`logging` and :mod:`warnings` (a :class:`~chromepredict.system.errors.ChromepredictWarning`)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from chromepredict.system.report import Report

_current: contextvars.ContextVar[Report | None] = contextvars.ContextVar("chromepredict_report", default=None)


@contextlib.contextmanager
def reporting_to(report: Report) -> Iterator[Report]:
    """Inside the block, the API reports to ``report`` (a command's: stderr, ``--quiet``, ``--strict``)."""
    token = _current.set(report)
    try:
        yield report
    finally:
        _current.reset(token)


def run_report(strict: bool = False) -> Report:
    """The report of an API call: the command's, when one runs, else one for Python (``strict``:
    a warning raises :class:`~chromepredict.system.errors.UserError`)."""
    report = _current.get()
    return report if report is not None else Report.python(strict)
