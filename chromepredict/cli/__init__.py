"""The command line: the Typer app (:mod:`~chromepredict.cli.app`), its shared options and one module
per command. ``chromepredict.cli:main`` is the console script."""

from chromepredict.cli.app import app, main

__all__ = ["app", "main"]
