"""Shared fixtures: the bundled real E003 data, the copied CSVs, and running the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chromepredict.cli import app
from chromepredict.io.datasets import example_data

DATA = Path(__file__).parent / "data"
SLOW_SECONDS = 1.5  # a test that runs longer on a quiet 2-core machine is marked slow (DEVELOPERS.md)

try:  # torch work in the tests on one thread: these small networks run fastest so, and never spin-wait
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass


@pytest.fixture(scope="session")
def example():
    return example_data()


@pytest.fixture(scope="session")
def tracks(example) -> list[str]:
    return [str(p) for p in example["tracks"]]


@pytest.fixture
def cli():
    """Run the real Typer app; returns (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: object):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, example):
    """A small class model trained through the real CLI on the bundled E003 tracks (3 epochs)."""
    out = tmp_path_factory.mktemp("trained") / "model"
    result = CliRunner().invoke(
        app,
        ["train", *[str(t) for t in example["tracks"]], "--gtf", str(example["gtf"]),
         "--expression", str(example["expression"]), "-o", str(out), "--max-epochs", "3", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out


_unmarked: list[tuple[float, str]] = []


def pytest_runtest_logreport(report):
    """Note the tests that ran ``SLOW_SECONDS`` or more without the ``slow`` mark."""
    if report.when == "call" and report.duration >= SLOW_SECONDS and "slow" not in report.keywords:
        _unmarked.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
    """List them, so the quick suite stays quick (a busy machine may list a few that are not slow)."""
    if _unmarked:
        terminalreporter.section(f"not marked slow, took {SLOW_SECONDS} s or more")
        for seconds, nodeid in sorted(_unmarked, reverse=True):
            terminalreporter.line(f"{seconds:5.1f} s  {nodeid}")
