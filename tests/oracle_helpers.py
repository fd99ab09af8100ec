"""Helpers for the whole-program tests: build a fixture, check the oracle run, compare runs.

Every helper fails the test with a one-paragraph reason (pytrace=False) instead of raising, so a
missing tool or a differing line reads as a sentence in the report.
"""
from pathlib import Path

import pytest

from harness import oracle


def build(name: str, target: str = "aarch64") -> Path:
    """Compile tests/fixtures/<name>.c (cached); a build error fails the test with the message."""
    try:
        return oracle.compile_c(oracle.fixture(name), target)
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        pytest.fail(f"cannot build fixture {name}: {exc}", pytrace=False)


def assert_same(expected: oracle.RunResult, actual: oracle.RunResult, what: str,
                expected_name: str = "qemu", actual_name: str = "emu") -> None:
    """Fail with a readable difference when stdout or exit status differ."""
    problems = oracle.compare(expected, actual, expected_name, actual_name)
    if problems:
        tail = oracle.last_line(actual.stderr) if expected.status == actual.status else ""
        pytest.fail(f"{what}: " + "; ".join(problems) + (f"\n{actual_name} stderr: {tail}" if tail else ""),
                    pytrace=False)


def check_reference(ref: oracle.RunResult, what: str) -> None:
    """The oracle run itself must have completed, or the comparison means nothing."""
    if ref.timed_out or (ref.status is not None and ref.status < 0) or ref.status == 127:
        pytest.fail(f"{what}: the reference run failed: {ref.describe()}", pytrace=False)
