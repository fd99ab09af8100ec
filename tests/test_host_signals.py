"""Signals from outside: the test sends SIGINT, SIGTERM and SIGUSR1 to the emulator's host
process (as a terminal's Ctrl-C or another program would) and compares with qemu-aarch64, which
behaves as Linux here (tests/fixtures/signal/host_signals.c says what each mode does).

These go through emu/hostsignals.py: blocked in every host thread, taken by the watcher with
sigwaitinfo, posted to the guest with the host's siginfo (si_code SI_USER, si_pid the sender),
a thread blocked in read() or pause() interrupted.  SIGINT's default action kills the process
with SIGINT, as it would under Linux.  Each case runs twice (delivery races are intermittent).
"""
import signal
import subprocess
import sys
import time

import pytest

from harness import oracle

FIXTURE = oracle.FIXTURES / "signal" / "host_signals.c"
TIMEOUT = 60.0


def _build():
    try:
        return oracle.compile_c(FIXTURE, "aarch64")
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        pytest.fail(f"cannot build {FIXTURE.name}: {exc}", pytrace=False)


def _drive(cmd, mode, sends, cwd):
    """Start cmd with SIGINT at its default (a background job's would be ignored), send each
    signal once the guest has printed "ready" for it; returns (stdout, returncode)."""
    p = subprocess.Popen(cmd + [mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=cwd,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        for sig in sends:
            while True:                     # up to the next "ready"
                line = p.stdout.readline()
                out += line
                if line in (b"ready\n", b""):
                    break
            if not line:
                break
            time.sleep(0.2)                 # let it reach its wait
            p.send_signal(sig)
        rest, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        out += rest
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail(f"{cmd[0]} {mode}: no exit {TIMEOUT} s after the signals; output {out!r}",
                    pytrace=False)
    finally:
        if p.stdin:
            p.stdin.close()
    return out, p.returncode


CASES = [("handled", [signal.SIGINT, signal.SIGTERM]),
         ("default", [signal.SIGINT]),
         ("blocked", [signal.SIGUSR1])]


@pytest.mark.parametrize("mode,sends", CASES, ids=[c[0] for c in CASES])
def test_host_signal_matches_qemu(mode, sends, qemu, aarch64_cc, tmp_path):
    exe = str(_build())
    ref = _drive([qemu, exe], mode, sends, tmp_path)
    assert ref[0].count(b"ready") == len(sends), f"qemu-aarch64 {mode}: {ref}"
    for attempt in range(2):
        got = _drive([sys.executable, "-m", "emu", "run", exe], mode, sends, tmp_path)
        assert got == ref, f"{mode} (run {attempt + 1}): emu {got} vs qemu-aarch64 {ref}"
