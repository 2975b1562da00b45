"""Messages on stderr: status lines (hidden by ``--quiet``), warnings (never hidden), progress bars."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chromepredict.system.errors import ChromepredictWarning, UserError


class Report:
    """Where commands say what they do. One instance per run; ``quiet`` silences status and progress,
    ``strict`` (``--strict``) turns every warning into an error."""

    def __init__(self, quiet: bool = False, console: Console | None = None, strict: bool = False):
        self.quiet = quiet
        self.strict = strict
        self.console = console or Console(stderr=True)
        #: every warning said so far, in one-line form: what the run's outputs record
        self.warnings: list[str] = []

    @classmethod
    def python(cls, strict: bool = False) -> Report:
        """The report of the Python API: status lines to the ``chromepredict`` logger, warnings as
        :class:`~chromepredict.system.errors.ChromepredictWarning` (``strict``: a UserError)."""
        return PythonReport(strict=strict)

    @classmethod
    def silent(cls) -> Report:
        """A report that prints nothing: for worker processes whose warnings the parent prints."""
        import io

        return cls(quiet=True, console=Console(file=io.StringIO()))

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        """A status line, unless --quiet."""
        if not self.quiet:
            self._line(escape(message))

    def warn(self, message: str) -> None:
        """A one-line warning: a result that is probably wrong. --quiet never hides it; with
        ``strict`` it is a :class:`UserError` instead (raised before anything is written)."""
        line = " ".join(message.split())
        if self.strict:
            raise UserError(f"{line} (--strict: a warning is an error)")
        if line not in self.warnings:
            self.warnings.append(line)
        self._line("[yellow]warning:[/] " + escape(line))

    def error(self, message: str) -> None:
        self._line("[bold red]error:[/] " + escape(" ".join(message.split())))

    def provenance(self, provenance) -> None:
        """The notes (status) and warnings a source collected."""
        for note in provenance.notes:
            self.info(note)
        for warning in provenance.warnings:
            self.warn(warning)

    @contextlib.contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr (none when quiet or not a terminal); yields advance(n, text=None)."""
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=self.quiet or not self.console.is_terminal,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=total)

            def advance(n: int, description: str | None = None) -> None:
                bar.update(task, advance=n, description=description or None)

            yield advance


class PythonReport(Report):
    """A :class:`Report` for the Python API: notes to :mod:`logging`, warnings through
    :mod:`warnings` (kept in :attr:`warnings` too), no progress bars."""

    def __init__(self, strict: bool = False):
        import io

        super().__init__(quiet=True, console=Console(file=io.StringIO()), strict=strict)

    def info(self, message: str) -> None:
        import logging

        logging.getLogger("chromepredict").info(" ".join(message.split()))

    def warn(self, message: str) -> None:
        import warnings

        line = " ".join(message.split())
        if self.strict:
            raise UserError(f"{line} (strict: a warning is an error)")
        if line not in self.warnings:
            self.warnings.append(line)
        warnings.warn(line, ChromepredictWarning, stacklevel=3)
