"""``--deadline SECONDS``: once that much time has passed since the run started, the tests not yet
started are skipped ("deadline"), so a run that must end within a wall-clock limit (a 10-minute
call on the lent GPU machine, bench/gpu_test_run.sh) still ends with pytest's own summary line
instead of being killed part-way. With pytest-timeout's ``--timeout`` no test runs long past it.
Off unless given; under pytest-xdist each worker counts from its own start."""

from __future__ import annotations

import time

import pytest

_STARTED = time.monotonic()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--deadline",
        type=float,
        default=None,
        metavar="SECONDS",
        help="skip the tests not started SECONDS after the run began (the summary still prints)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    deadline = item.config.getoption("deadline")
    if deadline is not None and time.monotonic() - _STARTED > deadline:
        pytest.skip(f"deadline: not started within {deadline:g} s of the run")
