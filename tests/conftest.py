"""Shared pytest set-up for the emu suite.

Owns: the `slow` marker (tests over ~20 s; the default command deselects them with
-m "not slow"), the project rule that nothing is silently skipped (a skipped test is turned
into a failure that carries the skip reason; a module skipped at collection fails the session),
and session fixtures for the oracle prerequisites (qemu-aarch64, the cross compiler, fetched
busybox) that fail with the reason and the fix when something is missing.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:          # harness/ is importable even before `pip install -e .`
    sys.path.insert(0, str(REPO))

from harness import fetch, lanes, oracle  # noqa: E402
from oracle_helpers import build  # noqa: E402

pytest_plugins = ["tests.coverage_plugin"]   # ISA coverage record (harness/ledger.py)

SETUP_HINT = "run `bash .ci/setup` (installs gcc-aarch64-linux-gnu, qemu-user, the Python packages)"


# Environment switches that change what a green run means: each one swaps an oracle or the
# program under test, or thins the differential cases.  A run with one of them refuses to start
# unless EMU_TEST_SWITCHES=1 says it is meant, and then says so at the top and bottom.
SWITCHES = {
    "EMU_COMMAND": "replaces emu in every emu-vs-oracle test (all pass with qemu-aarch64)",
    "EMU_QEMU": "replaces the qemu-aarch64 oracle",
    "EMU_FUZZ_CASES": "changes the number of differential states per form (default 300)",
    "EMU_TIER0_CASES": "changes the number of tier-0 differential states per line (default 40)",
}


def _switches_set():
    return {k: v for k, v in os.environ.items() if k in SWITCHES}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~20 s; deselected by -m 'not slow'")
    switched = _switches_set()
    if switched and os.environ.get("EMU_TEST_SWITCHES") != "1":
        raise pytest.UsageError(
            "test switches set: " + "; ".join(f"{k}={v} ({SWITCHES[k]})" for k, v in switched.items())
            + ".  A run with them does not test what a default run tests: set EMU_TEST_SWITCHES=1 "
            "to run anyway, or unset them.")
    # The code cache of every emu the tests start: a directory of this session's, never the
    # user's (~/.cache/emu/jit); removed when the session ends.  (Fetched packages and built
    # fixtures stay in the emu cache directory: they are inputs, not results.)  A test that
    # sets EMU_CACHE_DIR or EMU_JIT_CACHE_DIR for its own runs still wins for those runs.
    if "EMU_JIT_CACHE_DIR" not in os.environ:
        d = tempfile.mkdtemp(prefix="emu-test-jit-")
        os.environ["EMU_JIT_CACHE_DIR"] = d
        config.add_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))


def pytest_report_header(config):
    switched = _switches_set()
    if switched:
        return [f"TEST SWITCH {k}={v}: {SWITCHES[k]}" for k, v in switched.items()]
    return None


# --- nothing is silently skipped --------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = (f"NOT RUN: {reason}\n(project rule: a test that cannot run fails with its "
                        f"reason instead of being skipped)")
    return rep


_collection_skips: list[str] = []


def pytest_collectreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _collection_skips.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter):
    for k, v in _switches_set().items():
        terminalreporter.write_line(f"TEST SWITCH {k}={v}: {SWITCHES[k]} (not a default run)",
                                    red=True)
    if _collection_skips:
        terminalreporter.section("modules not run (counted as failures)", red=True)
        for line in _collection_skips:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    if _collection_skips and exitstatus in (0, 5):   # 5: nothing else was collected
        session.exitstatus = 1


# --- prerequisites ----------------------------------------------------------------------------

def _need_tool(name: str) -> str:
    try:
        return oracle.require_tool(name)
    except oracle.ToolMissing as exc:
        pytest.fail(f"cannot run: {exc}; {SETUP_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def qemu() -> str:
    """Path of qemu-aarch64 (the program oracle)."""
    return _need_tool(oracle.QEMU)


@pytest.fixture(scope="session")
def aarch64_cc() -> str:
    """Path of aarch64-linux-gnu-gcc (builds the C fixtures)."""
    return _need_tool(oracle.AARCH64_CC)


@pytest.fixture(scope="session")
def native_cc() -> str:
    return _need_tool(oracle.NATIVE_CC)


@pytest.fixture(scope="session")
def busybox() -> Path:
    """busybox-static:arm64 from Debian, fetched once into the cache."""
    try:
        return lanes.busybox_binary()
    except fetch.FetchError as exc:
        pytest.fail(f"cannot run: {exc} (`python -m harness fetch busybox-static` needs apt, "
                    f"root and network once; {SETUP_HINT})", pytrace=False)


@pytest.fixture(scope="session")
def hello_aarch64(aarch64_cc) -> Path:
    return build("hello")
