"""Regression tests for the robustness findings of issue 14, each named after what broke.

The oracle is qemu-aarch64 running the same static fixture (tests/fixtures/robustness.c),
except where qemu-aarch64 7.2 is wrong itself: a 64 MiB sched_setaffinity mask makes it
segfault, so that case compares with the native x86-64 build of the same C.
"""
import time

import pytest

from harness import oracle
from oracle_helpers import assert_same, build, check_reference

SEGV_MAPERR = b"signal 11 code 1 addr "


@pytest.mark.parametrize("case,addr", [
    ("jump-2p40", 0x10000000000), ("jump-2p48", 0x1000000000000),
    ("jump-kernel", 0xffff000000000000), ("jump-below-zero", 0xfffffffffff00ffc),
    ("off-top-page", 0x10000000000)])
def test_jump_outside_guest_space_is_sigsegv_not_traceback(case, addr, qemu, aarch64_cc, tmp_path):
    """br/blr/ret at or above 2**40, a direct branch below 0 and code running off the top
    page killed emu with an IndexError traceback (status 1): the guest's handler must see
    SIGSEGV/SEGV_MAPERR at the target, with the PC there, as under qemu-aarch64."""
    exe = build("robustness")
    ref = oracle.run_qemu([exe, case], cwd=tmp_path, timeout=60)
    check_reference(ref, f"qemu-aarch64 robustness {case}")
    assert ref.stdout == SEGV_MAPERR + f"{addr:#x} pc {addr:#x}\n".encode(), ref.describe()
    got = oracle.run_emu([exe, case], cwd=tmp_path, timeout=120)
    assert_same(ref, got, f"robustness {case}")
    assert b"Traceback" not in got.stderr, got.describe()


def test_sched_setaffinity_large_mask_is_linear(aarch64_cc, native_cc, tmp_path):
    """A 64 MiB mask did not finish (256 KiB took 38 s: the mask became a set bit by bit).
    Oracle: the native build (qemu-aarch64 7.2 segfaults on it)."""
    exe, native = build("robustness"), build("robustness", "native")
    ref = oracle.run_native([native, "affinity-64m"], cwd=tmp_path, timeout=60)
    check_reference(ref, "native robustness affinity-64m")
    assert ref.stdout == b"sched_setaffinity: 0\ncpu 0 only: 1\n", ref.describe()
    start = time.monotonic()
    got = oracle.run_emu([exe, "affinity-64m"], cwd=tmp_path, timeout=120)
    assert_same(ref, got, "robustness affinity-64m", "native")
    assert time.monotonic() - start < 10, "0.3 s here; the bit-by-bit set took 25 s"


def test_stop_signals_stop_the_process(qemu, aarch64_cc, tmp_path):
    """SIGSTOP and SIGTSTP a guest sent itself did not stop it (stops were not modelled): the
    parent's waitpid(WUNTRACED) must see the stop with its signal, and SIGCONT resume it."""
    exe = build("robustness")
    ref = oracle.run_qemu([exe, "stop"], cwd=tmp_path, timeout=60)
    check_reference(ref, "qemu-aarch64 robustness stop")
    assert ref.stdout.count(b"continued: 1\nexited: 1 status 7\n") == 2, ref.describe()
    assert b"stopped: 1 signal 19\n" in ref.stdout and b"stopped: 1 signal 20\n" in ref.stdout
    got = oracle.run_emu([exe, "stop"], cwd=tmp_path, timeout=120)
    assert_same(ref, got, "robustness stop")


def test_branch_to_misaligned_pc_is_sigbus_adraln(qemu, aarch64_cc, tmp_path):
    """br to a PC that is not a multiple of 4 gave SIGSEGV/SEGV_ACCERR (found by `harness fuzz
    instructions`, and QEMU's pcalign-a64 test): Linux gives SIGBUS/BUS_ADRALN at that PC (a
    PC alignment fault), as qemu-aarch64 does."""
    exe = build("robustness")
    ref = oracle.run_qemu([exe, "jump-misaligned"], cwd=tmp_path, timeout=60)
    check_reference(ref, "qemu-aarch64 robustness jump-misaligned")
    assert ref.stdout.startswith(b"signal 7 code 1 addr "), ref.describe()
    got = oracle.run_emu([exe, "jump-misaligned"], cwd=tmp_path, timeout=120)
    assert_same(ref, got, "robustness jump-misaligned")


CACHE_MAINT_UNMAPPED = b"".join(
    f"{name}: signal 11 code 1 at the address: 1\n".encode()
    for name in ("dc cvac", "dc cvau", "dc civac", "dc cvap", "dc zva", "ic ivau"))


def test_cache_maintenance_on_unmapped_address_faults(qemu, aarch64_cc, tmp_path):
    """DC CVAC/CVAU/CIVAC/CVAP and IC IVAU on an unmapped address did nothing (QEMU's
    dcpop/dcpodp tests): a by-VA maintenance instruction takes a translation fault and Linux
    delivers SIGSEGV/SEGV_MAPERR at that address.  Written expectation (qemu-aarch64 7.2
    faults only for DC ZVA, and has no DC CVAP); on a mapped page none faults, compared with
    qemu-aarch64 without DC CVAP and with the written expectation with it."""
    exe = build("cache_maint")
    ref = oracle.run_qemu([exe], cwd=tmp_path, timeout=60)
    check_reference(ref, "qemu-aarch64 cache_maint")
    assert ref.stdout.count(b": no fault\n") == 5, ref.describe()
    assert_same(ref, oracle.run_emu([exe], cwd=tmp_path, timeout=120), "cache_maint")
    got = oracle.run_emu([exe, "mapped"], cwd=tmp_path, timeout=120)
    assert got.status == 0 and got.stdout.count(b": no fault\n") == 6, got.describe()
    got = oracle.run_emu([exe, "unmapped"], cwd=tmp_path, timeout=120)
    assert got.status == 0 and got.stdout == CACHE_MAINT_UNMAPPED, got.describe()
