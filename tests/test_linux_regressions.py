"""Regression tests for Linux-layer bugs found running real programs, each named after what
broke.  Semantics are checked against oracles elsewhere (the syscall contracts compare with
qemu-aarch64 and a native x86-64 build); these tests pin the emulator-side reporting that has
no oracle: counters in EMU_BLOCK_STATS and notes on --strace lines.
"""
import json
import tempfile

from harness import oracle
from test_syscall_contracts import _build


def _stats(stderr: bytes) -> dict:
    lines = [ln for ln in stderr.decode(errors="replace").splitlines()
             if ln.startswith("EMU_BLOCK_STATS ")]
    assert len(lines) == 1, f"expected one EMU_BLOCK_STATS line, stderr: {stderr[-2000:]!r}"
    return json.loads(lines[0].split(" ", 1)[1])


def test_unknown_ioctl_is_enotty_counted_and_traced(aarch64_cc):
    """tty contract: ioctl(file, 0x5471, 0) is an ioctl Linux does not know on a file.  The
    guest must see ENOTTY (as Linux gives; the tty contract checks it against a native run),
    EMU_BLOCK_STATS must count it under unknown_ioctls and --strace must say so."""
    binary = _build("aarch64")
    with tempfile.TemporaryDirectory(prefix="emu-ioctl-") as d:
        got = oracle.run_emu([binary, "tty"], cwd=d, stats=True, extra_args=["--strace"])
    assert got.status == 0, got.describe()
    assert "unknown ioctl: -ENOTTY" in got.stdout.decode().splitlines()
    stats = _stats(got.stderr)
    assert stats.get("unknown_ioctls", {}).get("0x5471") == 1, stats.get("unknown_ioctls")
    traced = [ln for ln in got.stderr.decode(errors="replace").splitlines()
              if ln.startswith("ioctl(") and "0x5471" in ln]
    assert len(traced) == 1 and "ENOTTY" in traced[0] and "unknown ioctl 0x5471" in traced[0], \
        traced


def test_harness_runs_this_checkouts_emu(tmp_path):
    """The harness ran whichever `emu` `pip install -e` pointed at (another worktree) when that
    one was importable: every lane row then tested someone else's code.  The emu it starts,
    from any directory, must be this checkout's."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", "import emu, kernel; print(emu.__file__); "
                           "print(kernel.__file__)"], capture_output=True, text=True,
                          env=oracle.emu_process_env(), cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.splitlines():
        assert line.startswith(str(oracle.REPO) + "/"), (line, oracle.REPO)


def test_guest_closing_stderr_keeps_stats_and_status(tmp_path, qemu, busybox):
    """GNU tools close descriptors 1 and 2 at exit; emu wrote --stats/--strace to the same
    descriptor, lost them and exited 120 (Python failing to flush stderr) instead of the
    guest's status.  Both must survive the guest closing its stderr."""
    argv = [busybox, "sh", "-c", "exec 2>&-; echo out; exit 3"]
    ref = oracle.run_qemu(argv, cwd=tmp_path)
    got = oracle.run_emu(argv, cwd=tmp_path, stats=True, extra_args=["--strace"])
    assert ref.status == 3 and ref.stdout == b"out\n", ref.describe()
    assert got.status == ref.status and got.stdout == ref.stdout, got.describe()
    _stats(got.stderr)
    assert b"exit_group(3) = ?" in got.stderr, got.stderr[-500:]


def test_execve_from_a_directory_holding_an_emu_package(tmp_path, busybox):
    """A guest execve re-runs `python -m emu`, which put the guest's current directory first on
    sys.path: a directory holding an `emu` (or `kernel`) package took over.  Oracle: the same
    shell command run natively."""
    shadow = tmp_path / "project"
    (shadow / "emu").mkdir(parents=True)
    (shadow / "emu" / "__init__.py").write_text("raise SystemExit('shadowed emu imported')\n")
    (shadow / "kernel").mkdir()
    (shadow / "kernel" / "__init__.py").write_text("raise SystemExit('shadowed kernel')\n")
    script = "cd {} && exec {} exec ok"
    ref = oracle.run_native(["/bin/sh", "-c", script.format(shadow, "/bin/echo")], cwd=tmp_path)
    got = oracle.run_emu([busybox, "sh", "-c", script.format(shadow, f"{busybox} echo")],
                         cwd=tmp_path)
    assert ref.stdout == b"exec ok\n" and ref.status == 0, ref.describe()
    assert got.stdout == ref.stdout and got.status == ref.status, got.describe()
