"""EL0 system-register behaviour (issue 17: Unicorn runs at EL1, so the rig cannot see it).
Oracle: qemu-aarch64, which runs the guest at EL0 as Linux does, on
tests/fixtures/el0_sysregs.c; the fixture prints properties that hold on any conforming
Linux/arm64 (traps of EL1-only registers, DCZID vs DC ZVA, CNTVCT's rate vs CNTFRQ,
TPIDR_EL0/TPIDRRO_EL0, CTR_EL0's line sizes), never the implementation-defined values.
The qemu run must show each property too, so the comparison cannot pass on a broken oracle."""
from harness import oracle
from oracle_helpers import assert_same, build, check_reference

EXPECTED = b"""mrs daif: SIGILL
msr daifset: SIGILL
mrs sctlr_el1: SIGILL
mrs cntvct_el0: runs
dczid prohibited: 0
dc zva zeroes the dczid block: 1
cntvct counts at cntfrq: 1
tpidr_el0 read/write: 1
tpidrro_el0: 0
ctr line sizes sane: 1
"""


def test_el0_system_registers_like_qemu(qemu, aarch64_cc, tmp_path):
    exe = build("el0_sysregs")
    ref = oracle.run_qemu([exe], cwd=tmp_path, timeout=60)
    check_reference(ref, "qemu-aarch64 el0_sysregs")
    assert ref.stdout == EXPECTED, ref.describe()
    got = oracle.run_emu([exe], cwd=tmp_path, timeout=120)
    assert_same(ref, got, "el0_sysregs")
