"""The syscall and fault campaigns (harness/fuzz_sys.py): short seeded runs of both are clean,
the case generator keeps its safety rules, and each campaign does report a failure (with its
reproducer) when emu misbehaves -- a traceback, a host signal, a hang, a leftover temporary
file, a damaged cache record taken for a hit.  The long campaigns are marked slow.

Owns: these tests.  Does not own: the campaigns (harness/fuzz_sys.py), the guest program
(tests/fixtures/fuzz_syscalls.c).  Every run uses the campaigns' own temporary code cache
directories, never ~/.cache/emu/jit.
"""
import os
import signal
import sys
import textwrap

import pytest

from harness import fuzz_sys
from harness.fuzz_sys import K, BatchEnd, Case, judge


# --- the generator's safety rules (no emu) ----------------------------------------------------

def test_generated_cases_keep_the_safety_rules():
    fuzzed, unknown, excluded = fuzz_sys.syscalls()
    assert {s.name for s in fuzzed}.isdisjoint(fuzz_sys.EXCLUDED)
    assert set(unknown).isdisjoint(excluded) and set(unknown).isdisjoint({s.nr for s in fuzzed})
    n_scratch = len(fuzz_sys.SCRATCH_NAMES)
    for name in fuzz_sys.SCRATCH_NAMES:
        assert not name.startswith("/") and ".." not in name.split("/"), name
    assert b"/" not in fuzz_sys.pattern(1 << 16, 0)
    seen = set()
    for k in range(6000):
        c = fuzz_sys.make_case(7, k)
        seen.add(c.name)
        assert c.name not in fuzz_sys.EXCLUDED and c.nr not in excluded
        fmt = next((s.fmt for s in fuzzed if s.nr == c.nr), "")
        for i, (kind, val) in enumerate(c.args):
            if i < len(fmt) and fmt[i] == "s" and kind == K["str"]:
                assert val < n_scratch or c.name in fuzz_sys.LOOKUP_ONLY, (k, c.name)
            if i < len(fmt) and fmt[i] == "s":      # never bytes a call could have written
                assert kind in (K["str"], K["sro"], K["sedge"], K["none"], K["unmap"], K["lit"])
        if c.name == "kill":
            kind, val = c.args[0]
            assert kind == K["pid"] or fuzz_sys._signed(val) in (
                fuzz_sys.NONEXISTENT_PID, -fuzz_sys.NONEXISTENT_PID, -0x80000000), (k, val)
        if c.name == "mknodat":
            assert c.args[2][1] & 0o170000 not in (0o020000, 0o060000, 0o010000)
    assert len(seen) > 150                      # most of the table is reached


def test_a_case_depends_only_on_seed_and_index():
    a = [fuzz_sys.make_case(3, k) for k in (0, 5, 999)]
    b = [fuzz_sys.make_case(3, k) for k in (999, 0, 5)]
    assert [c.args for c in a] == [b[1].args, b[2].args, b[0].args]
    assert fuzz_sys.make_case(3, 5).args != fuzz_sys.make_case(4, 5).args


# --- judging one batch (no emu) ---------------------------------------------------------------

def _case(k, name, nr=0, args=None):
    return Case(k, nr, name, args or [(K["lit"], 0)] * 6, 6)


def _judge(names, how, value, cur, done, rets=None, stderr=()):
    cases = [_case(k, n) for k, n in enumerate(names)]
    return judge(cases, 0, len(cases), BatchEnd(0, how, value, cur, done, rets or [0] * done,
                                                list(stderr)))


def test_judge_accepts_what_the_calls_explain():
    assert _judge(["getpid", "getpid"], "end", 0, -1, 2) == ("completed", [])
    segv = ["emu: SIGSEGV: read at address 0x0, pc=0x400123"]
    assert _judge(["munmap", "getpid"], "signal", signal.SIGSEGV, 1, 2, stderr=segv)[1] == []
    assert _judge(["getpid", "read"], "timeout", 0, 1, 1)[1] == []
    assert _judge(["kill"], "signal", signal.SIGUSR1, 0, 0)[1] == []
    assert _judge(["write"], "signal", signal.SIGPIPE, 0, 0)[1] == []
    ex = [_case(0, "getpid"), _case(1, "exit_group", args=[(K["lit"], 0x1234)] + [(0, 0)] * 5)]
    assert judge(ex, 0, 2, BatchEnd(0, "exit", 0x34, 1, 1, [0], []))[1] == []


def test_judge_reports_what_nothing_explains():
    segv = ["emu: SIGSEGV: read at address 0x0, pc=0x400123"]
    for args, what in [
            ((["getpid"], "signal", signal.SIGSEGV, 0, 0, None, segv), "died of SIGSEGV"),
            ((["munmap"], "signal", signal.SIGSEGV, 0, 0), "died of SIGSEGV"),   # no emu line
            ((["getpid", "getuid"], "timeout", 0, 1, 1), "hung"),
            ((["getpid"], "exit", 70, 0, 1), "exited with status 70"),
            ((["read"], "end", 0, -1, 1, [-512]), "restart code -512"),
            ((["getpid"], "end", 0, -1, 1, None,
              ["Traceback (most recent call last):", "SystemError: x"]), "Traceback")]:
        label, failures = _judge(*args)
        assert failures and what in failures[0].reason, (args, failures)


# --- the guest protocol against fake runners (no emu) -----------------------------------------

FAKE_GUEST = textwrap.dedent("""
    import os, signal, sys
    crash, trace, hang, casefile, scratch, first, end, batch, timeout = sys.argv[1:10]
    first, end, batch, timeout = int(first), int(end), int(batch), int(timeout)
    crash = {int(x) for x in crash.split(",") if x}
    trace = {int(x) for x in trace.split(",") if x}
    always = hang.endswith("!")             # hangs however long the deadline
    hang = {int(x) for x in hang.rstrip("!").split(",") if x}
    b0 = first - first % batch
    while b0 < end:
        b, lo, hi = b0 // batch, max(b0, first), min(b0 + batch, end)
        print(f"@@S {b}", file=sys.stderr, flush=True)
        if b in crash:
            os.kill(os.getpid(), signal.SIGSEGV)
        if b in trace:
            print("Traceback (most recent call last):\\n  File 'x'\\nSystemError: fake",
                  file=sys.stderr, flush=True)
        rets = " ".join("0" for _ in range(hi - lo))
        if b in hang and (always or timeout < 10000):
            print(f"@@E {b} timeout 0 {lo} 0", file=sys.stderr, flush=True)
        else:
            print(f"@@E {b} end 0 -1 {hi - lo} {rets}", file=sys.stderr, flush=True)
        b0 += batch
    print("@@D", file=sys.stderr, flush=True)
""")


@pytest.fixture
def fake_guest(monkeypatch, tmp_path):
    script = tmp_path / "fake_guest.py"
    script.write_text(FAKE_GUEST)
    monkeypatch.setattr(fuzz_sys, "guest_command", lambda binary, argv: [
        sys.executable, str(script), os.environ.get("FAKE_CRASH", ""),
        os.environ.get("FAKE_TRACEBACK", ""), os.environ.get("FAKE_HANG", ""), *argv])
    monkeypatch.setattr(fuzz_sys, "make_case", lambda seed, k: _case(k, "getpid", 172))
    monkeypatch.setattr(fuzz_sys, "guest_binary", lambda: "unused")
    return monkeypatch


def test_a_traceback_is_a_failure_with_its_reproducer(fake_guest):
    fake_guest.setenv("FAKE_TRACEBACK", "1")
    c = fuzz_sys.SyscallCampaign(5, 32, batch=8, jobs=1).run()
    assert len(c.failures) == 1, c.failures
    f = c.failures[0]
    assert 8 <= f.case < 16 and "Traceback" in f.reason
    assert c.reproducer(f.case) == f"python -m harness fuzz syscalls --seed 5 --case {f.case}"
    assert c.outcomes["completed"] == 4


def test_the_guest_parent_dying_is_a_failure_and_the_campaign_goes_on(fake_guest):
    fake_guest.setenv("FAKE_CRASH", "1")
    c = fuzz_sys.SyscallCampaign(5, 32, batch=8, jobs=2).run()
    assert len(c.failures) == 1, c.failures
    f = c.failures[0]
    assert f.case == 8 and "status -11 during batch 1" in f.reason
    assert c.outcomes["completed"] == 3 and c.outcomes["lost"] == 1


def test_a_hang_counts_only_when_a_longer_deadline_does_not_end_it(fake_guest):
    fake_guest.setenv("FAKE_HANG", "2")             # hangs at 3 s, not at 15 s: a slow child
    c = fuzz_sys.SyscallCampaign(5, 32, batch=8, jobs=1).run()
    assert not c.failures and c.unconfirmed_hangs == 1 and c.outcomes["blocked"] == 1
    fake_guest.setenv("FAKE_HANG", "2!")
    c = fuzz_sys.SyscallCampaign(5, 32, batch=8, jobs=1).run()
    assert len(c.failures) == 1, c.failures
    assert c.failures[0].case == 16 and "hung (getpid(" in c.failures[0].reason
    assert "again with a 15 s deadline" in c.failures[0].reason


def test_replay_prints_every_call(fake_guest):
    lines = []
    c = fuzz_sys.replay_case(1, 117, 8, 3.0, lines.append)
    assert not c.failures
    assert lines[0].startswith("seed 1, batch 14: cases 112..117")
    calls = [ln for ln in lines if ln.startswith("  case ")]
    assert len(calls) == 6 and all(ln.endswith(": getpid(0, 0, 0, 0, 0, 0) = 0") for ln in calls), calls


def test_cli_exit_status_and_usage(fake_guest, capsys):
    assert fuzz_sys.cli("syscalls", ["--count", "16"], "prog") == 0
    fake_guest.setenv("FAKE_TRACEBACK", "0")
    assert fuzz_sys.cli("syscalls", ["--count", "16", "--seed", "9"], "prog") == 1
    out = capsys.readouterr().out
    assert "--seed 9 --case " in out and "1 failures" in out
    assert fuzz_sys.cli("syscalls", ["--batch", "0"], "prog") == 2
    assert fuzz_sys.cli("faults", ["--only", "nonsense"], "prog") == 2


# --- short real campaigns ---------------------------------------------------------------------

def test_short_syscall_campaign_is_clean(aarch64_cc):
    c = fuzz_sys.SyscallCampaign(1, 240, jobs=1).run()
    assert not c.failures, "\n".join(f"case {f.case}: {f.reason}\n{f.detail}" for f in c.failures)
    assert c.children == 30 and c.outcomes["completed"] > 15 and c.cases_made > 180
    assert len(c.names) > 100


def test_short_fault_campaign_is_clean(aarch64_cc):
    c = fuzz_sys.FaultCampaign(1, 1, procs=4).run()
    assert not c.failures, "\n".join(f"{f.phase}:{f.round} {f.reason}\n{f.detail}"
                                     for f in c.failures)
    assert all(c.rounds[p] == 1 for p in fuzz_sys.PHASES)


def _wrap_emu_run(monkeypatch, damage):
    real = fuzz_sys.emu_run

    def run(binary, cache, cwd, timeout=300.0):
        res = real(binary, cache, cwd, timeout)
        return damage(res, cache, cwd) or res
    monkeypatch.setattr(fuzz_sys, "emu_run", run)


def test_fault_campaign_reports_tracebacks_leftovers_and_used_damage(monkeypatch, aarch64_cc):
    """emu's runs made worse after the fact: each kind of failure is counted, with its
    reproducer."""
    real = fuzz_sys.emu_run

    def run(binary, cache, cwd, timeout=300.0):
        res = real(binary, cache, cwd, timeout)
        if "altered" in str(cwd):
            return res._replace(stderr=res.stderr + b"Traceback (most recent call last):\n"
                                b"SystemError: Negative size passed to PyBytes_FromStringAndSize\n")
        if "orphan" in str(cwd):       # a temporary file of a live writer that stays
            sub = next(p for p in cache.rglob("*") if p.is_dir() and len(p.name) == 2)
            (sub / f".tmp{os.getpid()}.1").write_bytes(b"")
        if "torn" in str(cwd):         # as if the truncated records had been used
            return res._replace(stderr=res.stderr.replace(b'"cache_misses": ',
                                                          b'"cache_misses": 0, "x": '))
        return res
    monkeypatch.setattr(fuzz_sys, "emu_run", run)
    c = fuzz_sys.FaultCampaign(2, 1, phases=("torn", "altered", "orphan")).run()
    got = {f.phase: (f.reason, c.reproducer(f)) for f in c.failures}
    assert len(c.failures) == 3, got
    assert "Traceback" in got["altered"][0]
    assert got["altered"][1] == "python -m harness fuzz faults --seed 2 --only altered:0"
    assert "temporary file(s) left" in got["orphan"][0]
    assert "a damaged record was used" in got["torn"][0]


# --- the long campaigns -----------------------------------------------------------------------

@pytest.mark.slow
def test_syscall_campaign_20000_cases(aarch64_cc, capsys):
    status = fuzz_sys.cli("syscalls", ["--count", "20000", "--seed", "1"], "fuzz syscalls")
    out = capsys.readouterr().out
    assert status == 0, out[-4000:]


@pytest.mark.slow
def test_fault_campaign_full(aarch64_cc, capsys):
    status = fuzz_sys.cli("faults", ["--seed", "1"], "fuzz faults")
    out = capsys.readouterr().out
    assert status == 0, out[-4000:]
