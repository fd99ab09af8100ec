"""A guest that dies of a signal (issue 17: no test had one, because the oracle helpers call a
reference that dies of a signal "failed").  Oracle: qemu-aarch64 running the same static
fixture (tests/fixtures/die_of_signal.c): the same exit status (death by the same signal),
the same stdout (the write(2) line arrives, the unflushed stdio line does not), and one line
on stderr saying which signal ended the guest (qemu: "uncaught target signal"; emu: an
`emu:` line naming it) and no traceback."""
import signal

import pytest

from harness import oracle
from oracle_helpers import assert_same, build

CASES = {"segv": signal.SIGSEGV, "ill": signal.SIGILL, "bus": signal.SIGBUS,
         "trap": signal.SIGTRAP, "abrt": signal.SIGABRT, "fpe": signal.SIGFPE}


@pytest.mark.parametrize("case", sorted(CASES))
def test_guest_dies_of_signal_like_qemu(case, qemu, aarch64_cc, tmp_path):
    exe = build("die_of_signal")
    sig = CASES[case]
    ref = oracle.run_qemu([exe, case], cwd=tmp_path, timeout=60)
    assert ref.status == -sig and ref.stdout == b"written before the signal\n", ref.describe()
    got = oracle.run_emu([exe, case], cwd=tmp_path, timeout=120)
    assert_same(ref, got, f"die_of_signal {case}")
    err = got.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("emu:")]
    assert len(lines) == 1 and signal.Signals(sig).name in lines[0], err
