"""Each command's option rules in one table, checked in one place before anything is read.

A command's table has one :class:`Rule` per option (a test checks that every option has one): what
the option needs beside it, what it excludes, and any check of its value against the others'.
Ranges and choices of single options are the option's own (Typer's ``min``/``max``, enums).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chromepredict.system.errors import UserError


def given(value: object) -> bool:
    """Whether an option was given: not None, not off, not empty."""
    return value not in (None, False, "", [], ())


@dataclass(frozen=True)
class Rule:
    """What one option asks of the others when it is given (:func:`given`): ``needs`` every option
    named, ``excludes`` every one named; ``check`` (the options' values → the message, or None)
    for what depends on values. ``message`` is the one line said when ``needs`` or ``excludes``
    is broken."""

    needs: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    message: str = ""
    check: Callable[[Mapping[str, object]], str | None] | None = None
    always: bool = False  # run ``check`` whether the option is given or not (a switch turned off)

    def broken(self, option: str, values: Mapping[str, object]) -> str | None:
        """The message when ``option``, given, breaks this rule; None when it holds."""
        if not given(values[option]):
            return self.check(values) if self.always and self.check is not None else None
        missing = [o for o in self.needs if not given(values[o])]
        clash = [o for o in self.excludes if given(values[o])]
        if missing or clash:
            return self.message or (
                f"{flag(option)} needs {', '.join(map(flag, missing))}"
                if missing
                else f"{flag(option)} and {', '.join(map(flag, clash))} cannot be given together"
            )
        return self.check(values) if self.check is not None else None


#: An option with nothing to ask of the others (its range, if any, is its own).
FREE = Rule()


def flag(option: str) -> str:
    """An option's name on the command line (``expression_column`` → ``--expression-column``)."""
    return "BIGWIG arguments" if option == "tracks" else "--" + option.replace("_", "-")


def validate(values: Mapping[str, object], rules: Mapping[str, Rule]) -> None:
    """Every rule of a command's table, in the table's order: the first broken one is a UserError."""
    for option, rule in rules.items():
        problem = rule.broken(option, values)
        if problem:
            raise UserError(problem)
