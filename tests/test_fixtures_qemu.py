"""Whole C programs: each tests/fixtures/*.c is built with aarch64-linux-gnu-gcc -static -O2 during
the run and executed under qemu-aarch64 (the oracle) and under `python -m emu run`; stdout and exit
status must match.  A second, emu-independent check runs each portable fixture natively too, so a
fixture that is nondeterministic or architecture-dependent is caught as a fixture bug.
"""
import pytest

from harness import lanes, oracle
from oracle_helpers import assert_same, build, check_reference

FIXTURES = lanes.fixture_names()


@pytest.mark.parametrize("name", FIXTURES)
def test_emu_matches_qemu(name, qemu, aarch64_cc, tmp_path):
    exe = build(name)
    args, env = lanes.fixture_args(name)
    ref = oracle.run_qemu([exe, *args], env=env, cwd=tmp_path)
    check_reference(ref, f"qemu-aarch64 {name}")
    got = oracle.run_emu([exe, *args], env=env, cwd=tmp_path)
    assert_same(ref, got, f"fixture {name}")


@pytest.mark.parametrize("name", [n for n in FIXTURES if lanes.fixture_is_portable(n)])
def test_fixture_is_deterministic_and_portable(name, qemu, aarch64_cc, native_cc, tmp_path):
    """qemu-aarch64 and a native x86-64 build print the same (checks the fixture, not emu)."""
    exe, native = build(name), build(name, "native")
    args, env = lanes.fixture_args(name)
    ref = oracle.run_qemu([exe, *args], env=env, cwd=tmp_path)
    check_reference(ref, f"qemu-aarch64 {name}")
    nat = oracle.run_native([native, *args], env=env, cwd=tmp_path)
    assert_same(ref, nat, f"fixture {name} (qemu vs native build)", "qemu", "native")
    again = oracle.run_qemu([exe, *args], env=env, cwd=tmp_path)
    assert_same(ref, again, f"fixture {name} (two qemu runs)", "qemu", "qemu again")
