"""Forms Unicorn 2.1 (QEMU 5) cannot run, against qemu-aarch64 7.2.

FEAT_I8MM (USDOT, SUDOT, USMMLA, UMMLA, SMMLA) is not in Unicorn 2.1: it stops with an
undefined-instruction exception on them (test_unicorn_cannot_run_them keeps that claim true).
Their oracle here is qemu-aarch64 7.2 (-cpu max) through the rig's state runner
(tests/unicorn_rig.py run_qemu_batch: a static AArch64 program that loads every register
from a state, runs the code and reports registers, flags, V registers, FPSR and the data
pages from the signal context at the final BRK): a few random encodings of each decode-table
row (tests/test_isa_simd.py form_words), EMU_FUZZ_CASES states with integer edge lanes.
tests/test_isa_simd.py also checks them against the ARM pseudocode.
"""
import pytest

from tests.fpvals import IOC, DZC, QC, check_qemu, int_hook
from tests.test_isa_simd import NOT_IN_UNICORN, SWEEP_WORDS, form_words
from tests.unicorn_rig import unicorn_runs


def _rows():
    import translator.jit  # noqa: F401  (registers every form)
    from translator import patterns
    return [p for p in patterns.TABLE if p.name in NOT_IN_UNICORN]


ROWS = _rows()


def test_rows_exist():
    assert {p.name for p in ROWS} == NOT_IN_UNICORN


@pytest.mark.parametrize("pat", ROWS, ids=[p.name for p in ROWS])
def test_unicorn_cannot_run_them(pat):
    for w in form_words(pat):
        assert not unicorn_runs([w]), f"Unicorn runs {w:#010x} ({pat.name}): test it there"


@pytest.mark.parametrize("pat", ROWS, ids=[p.name for p in ROWS])
def test_against_qemu(pat):
    words = form_words(pat)
    assert len(words) == SWEEP_WORDS
    check_qemu(words, int_hook, fpsr_mask=IOC | DZC | QC)
