"""pytest plugin: how many differential cases ran each decode-table form.

Registered from tests/conftest.py (`pytest_plugins`); `python -m harness ledger` also passes
it with `-p`.  While a test item of the ISA test set runs (harness/ledger.py ISA_TESTS:
tests/test_isa_*.py, tests/test_risu.py), every call of `tests.unicorn_rig.run_unicorn` is one
differential case: the rig's `compare`/`check`, tests/fpvals.py `check_flags` and the risu
streams all run the oracle through it, once per case; so is every state given to
`tests.unicorn_rig.run_qemu_batch` (qemu-aarch64 as the oracle, tests/fpvals.py `check_qemu`,
for forms Unicorn cannot run).  Each word of the case's code is decoded
with `translator.patterns.decode`; the case counts once for every form among them, and the
distinct words seen per form are kept.  At session end the per-item counts are merged into
build/isa-coverage.json, from which ISA_LEDGER.md is generated.

Determinism (the ledger must not depend on how the tests were run):
- counts are kept per test item, and every item's cases come from its own seeded RNG, so
  they do not depend on order, timing, or which other items ran in the session;
- items are merged by node id: a partial run replaces only the items it ran;
- the file carries a fingerprint of the sources that decide the counts (translator, rig,
  ISA tests); a session with another fingerprint starts the file afresh;
- a session with a non-default EMU_FUZZ_CASES records nothing (it says so);
- for every ISA test file collected, the full list of its items (before -k/-m selection) is
  stored, so the ledger can tell a complete record from a partial one; slow items are
  recorded with their flag and left out of the ledger.
The patch is installed lazily, when pytest first meets an ISA test file (before importing
it), so sessions without ISA tests import nothing heavy.  tests/test_jit_core.py imports the
rig as top-level `unicorn_rig` (a second module object) and is not counted.
"""
import fcntl
import json
import os
from pathlib import Path

import pytest

from harness import ledger

_current = None          # the _Item being run, or None
_items = {}              # nodeid -> _Item (run in this session)
_files = {}              # ISA test file -> {nodeid: slow}, complete per file
_patched = False


class _Item:
    __slots__ = ("slow", "outcome", "cases", "words")

    def __init__(self, slow):
        self.slow = slow
        self.outcome = "not run"
        self.cases = {}          # form key -> cases
        self.words = {}          # form key -> set of distinct words

    def case(self, words):
        for k, ws in _forms_of(tuple(words)).items():
            self.cases[k] = self.cases.get(k, 0) + 1
            self.words.setdefault(k, set()).update(ws)

    def record(self):
        return {"slow": self.slow, "outcome": self.outcome,
                "forms": {k: [self.cases[k], sorted(self.words[k])] for k in sorted(self.cases)}}


_decoded = {}


def _forms_of(words):
    """form key -> words of that form in `words` (cached: a check runs the same words for
    hundreds of states)."""
    keys = _decoded.get(words)
    if keys is None:
        import translator.jit  # noqa: F401  (the whole decode table, whatever the import order)
        from translator import patterns
        keys = {}
        for w in words:
            pat, _ = patterns.decode(w & 0xFFFFFFFF)
            if pat is not None:
                keys.setdefault(ledger.form_key(pat), set()).add(w & 0xFFFFFFFF)
        _decoded[words] = keys
    return keys


def _patch():
    """Wrap tests.unicorn_rig.run_unicorn (before any test module binds it)."""
    global _patched
    if _patched:
        return
    _patched = True
    from tests import unicorn_rig
    inner = unicorn_rig.run_unicorn

    def run_unicorn(words, *args, **kwargs):
        if _current is not None:
            _current.case(list(words))
        return inner(words, *args, **kwargs)

    run_unicorn.__wrapped__ = inner
    run_unicorn.__doc__ = inner.__doc__
    unicorn_rig.run_unicorn = run_unicorn

    inner_q = unicorn_rig.run_qemu_batch

    def run_qemu_batch(words, states, *args, **kwargs):
        """qemu-aarch64 as the oracle: one case per state."""
        if _current is not None:
            for _ in states:
                _current.case(list(words))
        return inner_q(words, states, *args, **kwargs)

    run_qemu_batch.__wrapped__ = inner_q
    run_qemu_batch.__doc__ = inner_q.__doc__
    unicorn_rig.run_qemu_batch = run_qemu_batch


def _rel(path):
    try:
        return Path(path).resolve().relative_to(ledger.REPO).as_posix()
    except ValueError:
        return None


def _is_isa(rel):
    return rel is not None and ledger.is_isa_test(rel)


def pytest_collect_file(file_path, parent):
    if _is_isa(_rel(file_path)):
        _patch()


def pytest_collectreport(report):
    """A module's report lists all its items, whatever -k/-m/:: later select."""
    if not report.passed or not report.nodeid or "::" in report.nodeid:
        return
    rel = report.nodeid
    if not _is_isa(rel):
        return
    entry = _files.setdefault(rel, {})
    for node in report.result:
        if isinstance(node, pytest.Item):
            entry[node.nodeid] = node.get_closest_marker("slow") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current
    rel = item.nodeid.split("::", 1)[0]
    if not _is_isa(rel):
        return (yield)
    rec = _items[item.nodeid] = _Item(item.get_closest_marker("slow") is not None)
    _current = rec
    try:
        return (yield)
    finally:
        _current = None


def pytest_runtest_logreport(report):
    rec = _items.get(report.nodeid)
    if rec is None:
        return
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        if rec.outcome in ("not run", "passed"):
            rec.outcome = outcome


_fingerprint = None


def pytest_sessionstart(session):
    """The sources are fingerprinted as the session starts: an edit made while the tests
    run leaves a record that is stale for the edited code, not one that claims to match it."""
    global _fingerprint
    _fingerprint = ledger.fingerprint()


def _write():
    """Merge this session's items into build/isa-coverage.json (locked, atomic)."""
    path = ledger.COVERAGE_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    fp = _fingerprint
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = ledger.load_coverage()
        if not data or data.get("fingerprint") != fp or data.get("version") != ledger.JSON_VERSION:
            data = {"version": ledger.JSON_VERSION, "fingerprint": fp, "files": {}, "items": {}}
        for rel, items in _files.items():
            data["files"][rel] = {k: items[k] for k in sorted(items)}
            # items that no longer exist in a re-collected file go
            data["items"] = {k: v for k, v in data["items"].items()
                             if k.split("::", 1)[0] != rel or k in items}
        for nodeid, rec in _items.items():
            if rec.outcome != "not run":
                data["items"][nodeid] = rec.record()
        data["items"] = {k: data["items"][k] for k in sorted(data["items"])}
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
        os.replace(tmp, path)
    return len(_items)


_note = None


def pytest_sessionfinish(session, exitstatus):
    global _note
    if not _items and not _files:
        return
    bad = ledger.non_default_knobs()
    if bad:
        _note = (f"ISA coverage not recorded in {ledger.COVERAGE_JSON.relative_to(ledger.REPO)}: "
                 f"{bad} is not the default the ledger counts with")
        return
    n = _write()
    _note = (f"ISA coverage: {n} item(s) recorded in "
             f"{ledger.COVERAGE_JSON.relative_to(ledger.REPO)}")


def pytest_terminal_summary(terminalreporter):
    if _note:
        terminalreporter.write_line(_note)
