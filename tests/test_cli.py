"""The `emu` command line on bad input: status 2, exactly one line on stderr, never a traceback.

Bad programs: a missing file, a directory, an empty file, a text file, an x86-64 ELF, a 32-bit
ELF (built here by hand), an AArch64 static binary truncated inside its ELF header and inside its
segments.  Bad usage: no program, an unknown flag, no subcommand.  Also: the `emu` console script
is declared and points at emu.cli:main.
"""
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from harness import oracle
from oracle_helpers import build

TIMEOUT = 60


def run_emu_cli(args, cwd=None):
    cmd = [sys.executable, "-m", "emu", *[str(a) for a in args]]
    env = oracle.emu_process_env()
    try:
        proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, env=env,
                              cwd=cwd, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`emu {' '.join(map(str, args))}` did not finish within {TIMEOUT} s", pytrace=False)
    return proc


def assert_usage_error(proc, what):
    err = proc.stderr.decode("utf-8", "replace")
    lines = err.strip("\n").splitlines()
    shown = err if len(err) < 2000 else err[:2000] + "..."
    if "Traceback" in err:
        pytest.fail(f"{what}: traceback on stderr:\n{shown}", pytrace=False)
    if proc.returncode != 2:
        pytest.fail(f"{what}: exit status {proc.returncode}, expected 2; stderr:\n{shown}", pytrace=False)
    if len(lines) != 1 or not lines[0].strip():
        pytest.fail(f"{what}: expected exactly one line on stderr, got {len(lines)}:\n{shown}", pytrace=False)
    if proc.stdout:
        pytest.fail(f"{what}: unexpected stdout {proc.stdout[:200]!r}", pytrace=False)


def elf32_arm() -> bytes:
    """A minimal ELFCLASS32 little-endian ARM executable header with one PT_LOAD (qemu-arm runs it: exit 0)."""
    ehdr = struct.pack("<16sHHIIIIIHHHHHH",
                       b"\x7fELF\x01\x01\x01" + b"\0" * 9,  # class 32, LSB, version 1, SYSV
                       2, 40, 1,                 # ET_EXEC, EM_ARM, EV_CURRENT
                       0x10054, 52, 0,           # entry, phoff, shoff
                       0x05000200,               # flags: EABI5, soft-float
                       52, 32, 1, 40, 0, 0)      # ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    phdr = struct.pack("<IIIIIIII", 1, 0, 0x10000, 0x10000, 0x5c, 0x5c, 5, 0x1000)
    code = b"\x01\x70\xa0\xe3\x00\x00\xa0\xe3\x00\x00\x00\xef"  # mov r7,#1; mov r0,#0; svc 0
    return ehdr + phdr + code


def make_bad_program(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / kind
    if kind == "missing":
        return tmp_path / "does-not-exist"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an ELF file\njust text\n")
    elif kind == "x86_64-elf":
        host = shutil.which("true") or "/bin/true"
        path.write_bytes(Path(os.path.realpath(host)).read_bytes())
    elif kind == "elf32":
        path.write_bytes(elf32_arm())
    elif kind.startswith("truncated"):
        data = build("hello").read_bytes()
        assert data[:4] == b"\x7fELF" and data[4] == 2 and struct.unpack_from("<H", data, 18)[0] == 183
        path.write_bytes(data[:40] if kind == "truncated-header" else data[: len(data) // 3])
    else:
        raise ValueError(kind)
    if path.is_file():
        path.chmod(0o755)
    return path


BAD_PROGRAMS = ["missing", "directory", "empty", "text", "x86_64-elf", "elf32",
                "truncated-header", "truncated-segments"]


@pytest.mark.parametrize("kind", BAD_PROGRAMS)
def test_bad_program(kind, tmp_path, request):
    if kind.startswith("truncated"):
        request.getfixturevalue("aarch64_cc")
    program = make_bad_program(kind, tmp_path)
    proc = run_emu_cli(["run", program, "arg1"], cwd=tmp_path)
    assert_usage_error(proc, f"emu run <{kind}>")


@pytest.mark.parametrize("args", [["run"], ["run", "--no-such-flag", "x"], [], ["frobnicate"],
                                  ["run", "-L"]],
                         ids=["no-program", "bad-flag", "no-subcommand", "bad-subcommand", "L-without-dir"])
def test_bad_usage(args, tmp_path):
    proc = run_emu_cli(args, cwd=tmp_path)
    assert_usage_error(proc, f"emu {' '.join(args)}")


def test_rootfs_not_a_directory(tmp_path, hello_aarch64):
    proc = run_emu_cli(["run", "-L", tmp_path / "nope", hello_aarch64], cwd=tmp_path)
    assert_usage_error(proc, "emu run -L <missing dir>")


def test_console_script_declared():
    from importlib import metadata
    try:
        dist = metadata.distribution("emu")
    except metadata.PackageNotFoundError:
        pytest.fail("the `emu` distribution is not installed (run `bash .ci/setup`, which does "
                    "`pip install -e .`)", pytrace=False)
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts.get("emu") == "emu.cli:main", f"console_scripts: {scripts}"


# --- guest arguments reach the guest as given (qemu-aarch64 is the oracle) --------------------

def test_guest_double_dash_arguments_are_kept(tmp_path, qemu):
    """`emu run PROG -- a -- b`: argparse used to drop the first `--` after PROGRAM."""
    exe = build("args_env")
    args = ["--", "-x", "--", "-L", "--stats"]
    ref = oracle.run_qemu([exe, *args], cwd=tmp_path)
    got = oracle.run_emu([exe, *args], cwd=tmp_path)
    assert got.status == ref.status and got.stdout == ref.stdout, \
        (ref.stdout.decode(), got.stdout.decode(), got.stderr.decode()[-500:])


def test_argv0_option_like_qemu(tmp_path, qemu, busybox):
    """`-0 ARGV0` sets the guest's argv[0] (busybox picks its applet by it), as qemu's -0."""
    ref = oracle._run([qemu, "-0", "echo", str(busybox), "hello", "-0"], oracle.guest_env(),
                      None, tmp_path, None)
    got = oracle.run_emu(["-0", "echo", busybox, "hello", "-0"], cwd=tmp_path)
    assert ref.stdout == b"hello -0\n", ref
    assert got.status == 0 and got.stdout == ref.stdout, got.describe()
