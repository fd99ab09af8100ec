"""harness/fuzz_insn.py: the instruction-fuzzing campaign.

A short seeded campaign has no failure; the campaign can fail: an exception raised inside a
(monkeypatched) translator, a write into the page-flags table, into the host canary or next to
the guest reservation, an unexpected exit reason and a dying worker process are each reported
as a failure with a command line that replays the case.  The deep run (100,000 cases) is slow.
"""
import ctypes
import shlex
import subprocess
import sys

import pytest

from emu import snippet
from emu.cpustate import ExitReason
from emu.memory import ADDR_LIMIT, NPAGES
from harness import fuzz_insn as fz
from translator.jit import Translator

REPO = fz.REPO
NOP = 0xD503201F


def _cli(argv, capsys):
    rc = fz.cli("instructions", argv, "fuzz")
    return rc, capsys.readouterr().out


def _reproducers(out):
    return [line.split("reproduce: ", 1)[1] for line in out.splitlines() if "reproduce: " in line]


def test_short_campaign_has_no_failure():
    stats = fz.run_campaign(fz.Config(seed=7, count=300))
    assert stats.failures == []
    assert stats.cases == 300
    for label in ("BRK", "UNDEF", "FAULT_EXEC", "FAULT_READ"):
        assert stats.labels[label] > 0, stats.labels
    assert stats.compared > 0
    assert any("canary" in n for n in stats.notes), stats.notes


def test_cases_cover_the_families_and_wild_branches():
    cases = [fz.make_case(3, k) for k in range(3000)]
    families = {c.family.split(":")[0] for c in cases}
    assert families == {name for _, name, _ in fz.FAMILIES}
    assert {c.family for c in cases} >= {"off-page:top", "off-page:before-data", "off-page:lone"}
    names = {"BR", "BLR", "RET"}
    wild = 0
    for c in cases:
        if c.family == "indirect":
            pat, fields = fz.patterns.decode(c.words[-1])
            assert pat.name in names
            if fields["n"] < 31 and c.regs[fields["n"]] >= ADDR_LIMIT:
                wild += 1
    assert wild > 20
    again = fz.make_case(3, 1234)
    assert (again.words, again.regs, again.data) == (cases[1234].words, cases[1234].regs,
                                                     cases[1234].data)


def test_an_exception_in_the_translator_is_a_failure_with_its_reproducer(monkeypatch, capsys):
    real = Translator.translate

    def translate(self, pc):
        if self.fetch_word(pc) == NOP:
            raise KeyError("injected")
        return real(self, pc)
    monkeypatch.setattr(Translator, "translate", translate)
    rc, out = _cli(["--in-process", "--words", f"{NOP:#x}", "--count", "2"], capsys)
    assert rc == 1, out
    assert "exception escaped: KeyError: 'injected'" in out
    repro = _reproducers(out)
    want = f"python3 -m harness fuzz instructions --words {NOP:#x} --seed 1 --case 0"
    assert repro and repro[0] == want
    rc, out = _cli(shlex.split(repro[0])[5:], capsys)     # the reproducer reproduces it
    assert rc == 1 and "KeyError" in out
    monkeypatch.setattr(Translator, "translate", real)
    rc, out = _cli(shlex.split(repro[0])[5:], capsys)
    assert rc == 0, out


def _corrupting(monkeypatch, at_case, seed, damage):
    """run_snippet that calls damage(result) after running case `at_case`'s words."""
    real = snippet.run_snippet
    target = fz.make_case(seed, at_case).words

    def run(words, *a, **kw):
        r = real(words, *a, **kw)
        if list(words) == target:
            damage(r)
        return r
    monkeypatch.setattr(snippet, "run_snippet", run)


def _failures_of(cfg):
    stats = fz.run_campaign(cfg)
    return {f["case"]: f for f in stats.failures}


@pytest.mark.parametrize("what, expect", [
    ("flags-window", "page flags changed: page 0x123 (guest 0x123000) is 0x3, expected 0x0"),
    ("flags-tail", "page flags changed: guard/tail entry +0x8"),
    ("host-canary", "host canary page"),
    ("exit-reason", "unexpected exit reason REQUEST"),
])
def test_a_broken_invariant_is_a_failure_of_its_case(monkeypatch, what, expect):
    seed, at = 5, 6

    def damage(r):
        if what == "flags-window":
            r.mem.flags[0x123] = 3
        elif what == "flags-tail":
            ctypes.c_uint8.from_address(r.mem.flags_addr + NPAGES + 8).value = 1
        elif what == "host-canary":
            ctypes.c_uint8.from_address(fz.host_canary().addr + 100).value ^= 0xFF
        else:
            r.reason = ExitReason.REQUEST
    _corrupting(monkeypatch, at, seed, damage)
    try:
        failures = _failures_of(fz.Config(seed=seed, count=10))
    finally:
        for tier in (1, 2):
            mem = snippet._guest(False, tier)[1]
            mem.flags[0x123] = 0
            ctypes.c_uint8.from_address(mem.flags_addr + NPAGES + 8).value = 0
    assert set(failures) == {at}, failures
    f = failures[at]
    assert any(expect in w for w in f["what"]), f["what"]
    assert f["repro"] == f"python3 -m harness fuzz instructions --seed {seed} --case {at}"


def test_a_flags_write_far_from_the_case_is_found_by_the_full_scan(monkeypatch):
    far = NPAGES // 2 + 12345
    seed, at = 5, 3

    def damage(r):
        r.mem.flags[far] = 1
    _corrupting(monkeypatch, at, seed, damage)
    try:
        stats = fz.run_campaign(fz.Config(seed=seed, count=8, scan_every=4))
    finally:
        for tier in (1, 2):
            snippet._guest(False, tier)[1].flags[far] = 0
    found = [w for f in stats.failures for w in f["what"]]
    assert any("full flags-table scan" in w and f"page {far:#x}" in w for w in found), found
    assert stats.failures[0]["case"] == at


def test_a_dying_worker_is_a_failure_and_the_campaign_goes_on():
    """Case 5 kills its worker; workers also hand over every 4 cases (--per-worker)."""
    cmd = [sys.executable, "-m", "harness", "fuzz", "instructions", "--count", "12",
           "--seed", "3", "--crash-at", "5", "--per-worker", "4"]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "worker process died: killed by SIGSEGV" in p.stdout
    assert "reproduce: python3 -m harness fuzz instructions --seed 3 --case 5" in p.stdout
    summary = p.stdout.strip().splitlines()[-1]
    assert summary.startswith("fuzz instructions: seed 3, 12 cases"), summary
    assert "CRASH 1" in summary and summary.endswith("failures: 1"), summary


def test_one_case_is_replayed_in_detail(capsys):
    rc, out = _cli(["--seed", "2", "--case", "4"], capsys)
    assert rc == 0, out
    assert out.startswith("case 4: family ")
    assert "invariants: hold" in out and "exit: " in out


@pytest.mark.slow
def test_campaign_of_100000_cases():
    cmd = [sys.executable, "-m", "harness", "fuzz", "instructions", "--count", "100000",
           "--seed", "1", "--jobs", "2"]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
    summary = p.stdout.strip().splitlines()[-1]
    print(summary)                     # the figures, with pytest -s
    assert p.returncode == 0, p.stdout[-5000:] + p.stderr[-2000:]
    assert "100000 cases" in summary and summary.endswith("failures: 0"), summary
