"""The command line: the Typer app (:mod:`~chromepredict.cli.app`), its shared options and rules,
and one module per command, each a thin layer over the Python API. ``chromepredict.cli:main`` is
the console script."""

# isort: off
# each module registers its command on the app, in the order --help lists them
from chromepredict.cli import predict, compare, explain, train, evaluate, benchmark, extract  # noqa: F401
from chromepredict.cli import models, demo, workflow  # noqa: F401

# isort: on
from chromepredict.cli.app import app, main

__all__ = ["app", "main"]
