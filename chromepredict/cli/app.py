"""The Typer app: registering commands, their option rules, and exit codes. Each command is a
module of this package (its Typer function, its rule table, its run on the Python API).

Options are defined once, in :mod:`chromepredict.cli.options`; :func:`command` adds a group's options
to every command that takes it and checks the command's rule table (:mod:`chromepredict.cli.rules`)
before the command runs. Every failure ends as one ``error:`` line on stderr: exit code 2 for usage
and input mistakes (a bad option value included), 1 for what the system refused during a run (a full
disk, memory) and for a samplesheet with a failed sample.
"""

import contextlib
import copy
import dataclasses
import errno
import inspect
import os
import sys
import typing
from collections.abc import Mapping
from typing import Annotated

import typer
import typer.core
from rich.console import Console

from chromepredict import __version__
from chromepredict.cli.options import TrackOptions
from chromepredict.cli.rules import Rule, validate
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

#: click's base exception, whichever click (typer's own copy, or click itself) this typer uses: no
#: one static type.
_ClickException: typing.Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
#: OS errors a run can meet on the way that are the system's, not a mistake in the inputs.
_SYSTEM_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error",
    errno.EMFILE: "too many open files for this process",
    errno.ENFILE: "too many open files on this system",
}


def _fail(message: str, code: int) -> typing.NoReturn:
    Report(console=Console(stderr=True)).error(message)
    sys.exit(code)


def _system_error(exc: OSError) -> str:
    what = _SYSTEM_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space or choose another output location"
    elif exc.errno in (errno.EMFILE, errno.ENFILE):
        fix = "raise the limit of open files (ulimit -n 1024) or use fewer cores (-p)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the inputs readable and the output location writable, or choose another one"
    else:
        fix = "check the file and the disk"
    return f"{what}{where}; nothing was written: {fix}, then run again"


class _Group(typer.core.TyperGroup):
    """Every way a run can fail ends as one line on stderr with the exit code of its kind."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except UserError as exc:
            _fail(str(exc), 2)
        except _ClickException as exc:
            if (
                type(exc).__name__ == "NoArgsIsHelpError"
            ):  # bare `chromepredict`: the help, as --help shows it
                typer.echo(exc.ctx.get_help())
                sys.exit(0)
            command = getattr(getattr(exc, "ctx", None), "command_path", "chromepredict")
            message = exc.format_message().replace("Value error, ", "")  # pydantic's prefix (typer ≥ 0.20)
            if "No such option: --version" in message:  # chromepredict's own option, given after a command
                message = "--version is an option of chromepredict itself: chromepredict --version"
            _fail(f"{message} (see {command} --help)", 2)
        except typer.Abort:
            _fail("interrupted; nothing was written", 130)
        except MemoryError:
            _fail("out of memory; score fewer genes at a time or use a smaller window", 1)
        except OSError as exc:
            if os.environ.get("CHROMEPREDICT_DEBUG"):
                raise
            _fail(_system_error(exc), 1)
        except Exception as exc:  # a defect: still one line, with the way to see more
            if os.environ.get("CHROMEPREDICT_DEBUG"):
                raise
            text = " ".join(str(exc).split())
            _fail(
                f"unexpected {type(exc).__name__}: {text} (a defect in chromepredict: please report it; "
                "CHROMEPREDICT_DEBUG=1 shows the traceback)",
                1,
            )
        if code == 130:  # typer ≥ 0.20 turns Ctrl-C into exit 130 without a word
            _fail("interrupted; nothing was written", 130)
        sys.exit(code or 0)


def _no_type(ctx: object = None) -> None:
    """An argument's type, as shown in its help: none."""
    return None


class _Command(typer.core.TyperCommand):
    """Arguments show their placeholder alone (typer would add the Python type, ``<list[str]>``)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, typer.core.TyperArgument) and param.metavar:
                param.display_type_rich = _no_type  # type: ignore[method-assign]  # typer has no setting for it
        return params


app = typer.Typer(
    cls=_Group,
    name="chromepredict",
    help="Predict gene expression from histone-mark bigWigs and explain it (DeepChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_QUIET = inspect.Parameter(
    "quiet",
    inspect.Parameter.KEYWORD_ONLY,
    annotation=Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or status lines (warnings still show).")
    ],
    default=False,
)


#: Each command's rule table, by command name (a test checks that every option has a rule).
RULES: dict[str, Mapping[str, Rule]] = {}


def _with_help(annotation, text: str):
    """An option's annotation with another help text (the option is shared, its meaning per command)."""
    base, *extras = typing.get_args(annotation)
    infos = [copy.copy(e) for e in extras]
    for info in infos:
        info.help = text
    return Annotated[(base, *infos)]


def command(rules: Mapping[str, Rule], helps: Mapping[str, str] | None = None, **settings):
    """Register a command with its rule table (:mod:`chromepredict.cli.rules`), checked before the
    command runs. Its parameters annotated with an option group (a dataclass of
    :mod:`chromepredict.cli.options`) are replaced by the group's options and receive one instance
    (``helps``: option → its help text in this command); a parameter annotated :class:`Report`
    receives the run's report (``-q`` before or after the command name; ``--strict`` from the track
    options)."""

    def decorate(func):
        hints = typing.get_type_hints(func, include_extras=True)
        params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
        groups, report_name, required = {}, None, []
        for name, own in inspect.signature(func).parameters.items():
            kind = hints[name]
            if kind is Report:
                report_name = name
            elif isinstance(kind, type) and dataclasses.is_dataclass(kind):
                groups[name] = kind
                types = typing.get_type_hints(kind, include_extras=True)
                for field in dataclasses.fields(kind):
                    default = inspect.Parameter.empty
                    if field.default is dataclasses.MISSING:
                        required.append(field.name)
                    else:
                        default = field.default
                    annotation = types[field.name]
                    if helps and field.name in helps:
                        annotation = _with_help(annotation, helps[field.name])
                    params.append(
                        inspect.Parameter(
                            field.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
                        )
                    )
            else:
                params.append(own.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=kind))
        params.append(_QUIET)

        def wrapper(ctx: typer.Context, **values):
            for name in required:  # typer 0.16 with click ≥ 8.2 lets a missing required option through
                if values.get(name) is None:
                    raise UserError(
                        f"Missing option '--{name.replace('_', '-')}' (see {ctx.command_path} --help)"
                    )
            quiet = values.pop("quiet") or bool(ctx.find_root().params.get("quiet"))
            validate(values, rules)
            call: dict[str, object] = {
                name: kind(**{f.name: values.pop(f.name) for f in dataclasses.fields(kind)})
                for name, kind in groups.items()
            }
            strict = any(getattr(group, "strict", False) for group in call.values())
            report = Report(quiet=quiet, strict=strict, console=Console(stderr=True))
            for group in call.values():
                if isinstance(group, TrackOptions) and (note := group.cap_threads()):
                    report.info(note)
            if report_name is not None:
                call[report_name] = report
            return func(**call, **values)

        wrapper.__name__, wrapper.__doc__, wrapper.__module__ = func.__name__, func.__doc__, func.__module__
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # what inspect reads (PEP 362)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        RULES[func.__name__] = rules
        return app.command(cls=_Command, **settings)(wrapper)

    return decorate


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chromepredict {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or status lines (warnings still show).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Predict gene expression from histone-mark bigWigs and explain it (DeepChrome)."""


def show_table(table, tsv: bool) -> None:
    """A table on stdout: a rich table on a terminal, tab-separated when piped or with ``tsv``."""
    if tsv or not sys.stdout.isatty():
        typer.echo(table.to_csv(sep="\t", index=False), nl=False)
        return
    from rich.table import Table

    view = Table(*map(str, table.columns), header_style="bold")
    for row in table.astype(str).itertuples(index=False):
        view.add_row(*row)
    Console().print(view)


def _terminated(signum, frame) -> None:
    """SIGTERM/SIGHUP (a scheduler's kill, a closed terminal) unwind like Ctrl-C, so that no
    half-written output is left behind."""
    raise SystemExit(128 + signum)


#: Open files a run needs at most: its tracks, each worker's copies and pipes, modules being imported.
OPEN_FILES = 256
#: Below this many, even a one-process run of five tracks can fail half-way: refused up front.
MIN_OPEN_FILES = 64


def _open_files() -> None:
    """Raise this process's limit of open files towards :data:`OPEN_FILES` (up to the hard limit, as
    any process may); a hard limit below :data:`MIN_OPEN_FILES` is one line and exit 1 before
    anything is read — never a track blamed as damaged, never a traceback from the error path."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
    if soft != resource.RLIM_INFINITY and soft < MIN_OPEN_FILES:
        sys.stderr.write(
            f"error: this shell allows {soft} open files per process (ulimit -n {soft}); chromepredict "
            f"needs at least {MIN_OPEN_FILES}: raise the limit (ulimit -n 1024), then run again\n"
        )
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    import signal

    _open_files()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminated)
    app()
