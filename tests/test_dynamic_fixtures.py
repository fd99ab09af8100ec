"""Dynamically linked C fixtures: each tests/fixtures/*.c built with aarch64-linux-gnu-gcc -O2
(no -static) runs with -L /usr/aarch64-linux-gnu (the cross toolchain's glibc: PT_INTERP
/lib/ld-linux-aarch64.so.1 resolved inside that root, libc.so.6 found by ld.so) under
qemu-aarch64 (the oracle) and under `python -m emu run`; stdout and exit status must match.
tests/fixtures/dyn_*.c are built dynamically only (dlopen, auxv, loaded objects).
The fixture list and arguments are harness.lanes' (the `dynamic` lane runs the same rows).
"""
import pytest

from harness import lanes, oracle
from oracle_helpers import assert_same, build, check_reference


@pytest.fixture(scope="session")
def cross_root(aarch64_cc) -> str:
    missing = lanes._cross_root_prereqs()
    if missing:
        pytest.fail(f"cannot run: {missing[0]}", pytrace=False)
    return str(lanes.CROSS_ROOT)


@pytest.mark.parametrize("name", lanes.dynamic_fixture_names())
def test_dynamic_fixture_matches_qemu(name, qemu, cross_root, tmp_path):
    exe = build(name, "aarch64-dynamic")
    args, env = lanes.fixture_args(name)
    ref = oracle.run_qemu([exe, *args], rootfs=cross_root, env=env, cwd=tmp_path)
    check_reference(ref, f"qemu-aarch64 -L {cross_root} {name}")
    got = oracle.run_emu([exe, *args], rootfs=cross_root, env=env, cwd=tmp_path)
    assert_same(ref, got, f"dynamic fixture {name}")


def test_dynamic_build_is_dynamic(aarch64_cc, cross_root):
    """The build really is dynamic: PT_INTERP names ld-linux-aarch64.so.1 (so these tests
    exercise the interpreter path, not a static binary)."""
    exe = build("hello", "aarch64-dynamic")
    data = exe.read_bytes()
    assert data[:4] == b"\x7fELF" and b"/lib/ld-linux-aarch64.so.1\0" in data[:4096], \
        f"{exe} has no PT_INTERP /lib/ld-linux-aarch64.so.1"
