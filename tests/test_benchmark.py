"""benchmarks/: cpu_bench prints the same under qemu-aarch64 and natively (so run.py's output
check is meaningful), and run.py produces its table with emu in the loop (slow)."""
import subprocess
import sys

import pytest

from harness import oracle

BENCH = oracle.REPO / "benchmarks"


def test_cpu_bench_same_on_qemu_and_native(qemu, aarch64_cc, native_cc):
    src, flags = BENCH / "cpu_bench.c", ("-ffp-contract=off",)
    a64, nat = oracle.compile_c(src, "aarch64", flags), oracle.compile_c(src, "native", flags)
    ref, got = oracle.run_qemu([a64, 1]), oracle.run_native([nat, 1])
    assert ref.status == 0 and got.status == 0, (ref.describe(), got.describe())
    assert ref.stdout == got.stdout, oracle.first_difference(ref.stdout, got.stdout, "qemu", "native")
    assert [ln.split()[0] for ln in ref.stdout.decode().splitlines()] == ["int", "crc32", "qsort", "fma", "sieve"]


@pytest.mark.slow
def test_run_py_with_emu(qemu, aarch64_cc, native_cc, tmp_path):
    out = tmp_path / "bench.md"
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--n1", "1", "--n2", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=3600)
    assert out.is_file(), proc.stderr[-2000:]
    table = out.read_text()
    assert "| emu | 1 |" in table and "| qemu | 2 |" in table
    assert proc.returncode == 0, table


def test_signal_bench_same_on_emu_qemu_and_native(qemu, aarch64_cc, native_cc, tmp_path):
    """benchmarks/signals.py compares engines on signal_bench.c's counts: they must agree."""
    src = BENCH / "signal_bench.c"
    a64, nat = oracle.compile_c(src, "aarch64"), oracle.compile_c(src, "native")
    runs = {"qemu": oracle.run_qemu([a64, 300]), "native": oracle.run_native([nat, 300]),
            "emu": oracle.run_emu([a64, 300], cwd=tmp_path, timeout=120)}
    for name, r in runs.items():
        assert r.status == 0, f"{name}: {r.describe()}"
        assert r.stdout == b"self: 300\nto a computing thread: 300\n", (name, r.stdout)
