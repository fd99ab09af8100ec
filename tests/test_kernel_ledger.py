"""kernel/table.py as a whole and SYSCALL_LEDGER.md generated from it.

Every asm-generic number up to the last one a 6.1 kernel knows is accounted for
(a handler line or a comment line with its family), names are unique, strace
formats only use known letters, and the committed ledger is what the table gives.
"""
import re

from harness import syscall_ledger
from kernel import table

ARM64_UNUSED = set(range(244, 260)) | set(range(295, 424))   # arch-specific / 32-bit only


def test_every_number_is_accounted_for():
    rows = syscall_ledger.rows()
    nrs = [r[0] for r in rows]
    assert len(nrs) == len(set(nrs)), "a number listed twice"
    assert set(nrs) == set(range(0, 451)) - ARM64_UNUSED
    names = [r[1] for r in rows]
    assert len(names) == len(set(names))
    assert {r[3] for r in rows} <= set(syscall_ledger.STATUSES)


def test_strace_formats_are_well_formed():
    for s in table.TABLE:
        args, _, ret = s.fmt.partition(">")
        assert re.fullmatch(r"[dluxopfsbB]*", args), s
        assert len(args) <= 6 and ret in ("", "d", "x", "p"), s


def test_partial_marks_say_what_is_missing():
    for s in table.TABLE:
        note = getattr(s.handler, "partial", None)
        if note is not None:
            assert isinstance(note, str) and len(note) > 10, s.name


def test_committed_ledger_is_current():
    assert syscall_ledger.LEDGER_MD.read_text() == syscall_ledger.render(), \
        "SYSCALL_LEDGER.md is stale: run `python -m harness syscall-ledger`"
