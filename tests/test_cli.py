"""The `emu` command line: qemu-aarch64's options, exit statuses that tell emu's errors from the
guest's, one `emu:` line per error and never a traceback.

Statuses (emu/cli.py): 127 program (or its ELF interpreter) not found, 126 not executable (a
directory, no execute bit, not an AArch64 ELF: an empty file, a text file, an x86-64 ELF, a
32-bit ELF built here by hand, an AArch64 static binary truncated inside its ELF header and
inside its segments), 125 bad usage (no program, an unknown option, a missing value, -L not a
directory, an unknown -d item or -cpu model, an unsupported -B/-R).  Options are compared with
qemu-aarch64 running the same program (the oracle): -E/-U comma lists and their QEMU_*
variables, -0, `emu PROGRAM` without `run`, -s, -r.  Also: the `emu` console script is
declared and points at emu.cli:main; -h shows users' options only; --version names llvmlite,
LLVM and capstone.
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


NOT_FOUND, NOT_EXECUTABLE, EMU_ERROR = 127, 126, 125


def assert_usage_error(proc, what, status=EMU_ERROR):
    err = proc.stderr.decode("utf-8", "replace")
    lines = err.strip("\n").splitlines()
    shown = err if len(err) < 2000 else err[:2000] + "..."
    if "Traceback" in err:
        pytest.fail(f"{what}: traceback on stderr:\n{shown}", pytrace=False)
    if proc.returncode != status:
        pytest.fail(f"{what}: exit status {proc.returncode}, expected {status}; stderr:\n{shown}",
                    pytrace=False)
    if not lines or not lines[0].startswith("emu"):
        pytest.fail(f"{what}: the line does not start with emu: {shown}", pytrace=False)
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


# kind -> (status, what the line says), as bash says it for the same file
BAD_PROGRAMS = {"missing": (NOT_FOUND, "No such file or directory"),
                "directory": (NOT_EXECUTABLE, "Is a directory"),
                "no-exec-bit": (NOT_EXECUTABLE, "Permission denied"),
                "empty": (NOT_EXECUTABLE, "not an ELF"),
                "text": (NOT_EXECUTABLE, "not an ELF"),
                "x86_64-elf": (NOT_EXECUTABLE, "not AArch64"),
                "elf32": (NOT_EXECUTABLE, "32-bit"),
                "truncated-header": (NOT_EXECUTABLE, "truncated"),
                "truncated-segments": (NOT_EXECUTABLE, "truncated")}


@pytest.mark.parametrize("kind", sorted(BAD_PROGRAMS))
@pytest.mark.parametrize("run", [True, False], ids=["run", "qemu-style"])
def test_bad_program(kind, run, tmp_path, request):
    if kind.startswith("truncated"):
        request.getfixturevalue("aarch64_cc")
    if kind == "no-exec-bit":
        program = make_bad_program("text", tmp_path)
        program.write_bytes(build("hello").read_bytes())
        program.chmod(0o644)
    else:
        program = make_bad_program(kind, tmp_path)
    proc = run_emu_cli((["run"] if run else []) + [program, "arg1"], cwd=tmp_path)
    status, says = BAD_PROGRAMS[kind]
    assert_usage_error(proc, f"emu <{kind}>", status)
    assert says in proc.stderr.decode(), proc.stderr


def test_missing_interpreter_is_127(tmp_path, aarch64_cc):
    """A dynamic program whose ELF interpreter is not under -L: Linux's execve gives ENOENT,
    and the shell 127."""
    exe = oracle.compile_c(oracle.fixture("hello"), "aarch64-dynamic")
    (tmp_path / "root").mkdir()
    proc = run_emu_cli(["-L", tmp_path / "root", exe], cwd=tmp_path)
    assert_usage_error(proc, "emu <no interpreter>", NOT_FOUND)
    assert "interpreter" in proc.stderr.decode()


@pytest.mark.parametrize("args", [["run"], ["run", "--no-such-flag", "x"], [], ["-nosuch", "x"],
                                  ["run", "-L"], ["-E"], ["-E", "A=1,B", "x"], ["-U", "A=1", "x"],
                                  ["-d", "bogus", "x"], ["-cpu", "cortex-z9", "x"],
                                  ["-B", "0x10000", "x"], ["-R", "0x100000000", "x"],
                                  ["-s", "lots", "x"], ["-seed", "abc", "x"], ["--strace=1", "x"],
                                  ["--tier", "3", "x"]],
                         ids=["no-program", "bad-flag", "nothing", "unknown-option",
                              "L-without-dir", "E-without-value", "E-item-without-equals",
                              "U-with-equals", "d-unknown-item", "cpu-unknown", "B", "R",
                              "s-not-a-size", "seed-not-a-number", "flag-with-value", "bad-tier"])
def test_bad_usage(args, tmp_path):
    proc = run_emu_cli(args, cwd=tmp_path)
    assert_usage_error(proc, f"emu {' '.join(args)}")
    err = proc.stderr.decode()
    for internal in ("argument cmd", "rootfs_cmd", "dest", "Namespace"):
        assert internal not in err, err


def test_rootfs_not_a_directory(tmp_path, hello_aarch64):
    proc = run_emu_cli(["run", "-L", tmp_path / "nope", hello_aarch64], cwd=tmp_path)
    assert_usage_error(proc, "emu run -L <missing dir>")


def test_rootfs_subcommand_messages_have_no_internal_names(tmp_path):
    proc = run_emu_cli(["rootfs"], cwd=tmp_path)
    assert_usage_error(proc, "emu rootfs", 2)
    assert "rootfs_cmd" not in proc.stderr.decode() and "COMMAND" in proc.stderr.decode()


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


# --- qemu-aarch64's command line (qemu-aarch64 is the oracle) ---------------------------------

def _env_lines(stdout):
    return sorted(stdout.decode().splitlines())


@pytest.mark.parametrize("opts,env", [
    (["-E", "A=1,B=2"], {}),
    (["-E", "A=1", "-E", "B=2,C="], {}),
    (["-U", "X,Y", "-E", "Z=3"], {"X": "1", "Y": "2"}),
    (["-E", "X=9", "-U", "X"], {"X": "1"}),               # the last change wins
    (["-U", "X", "-E", "X=9"], {"X": "1"}),
    ([], {"QEMU_SET_ENV": "A=1,B=2", "QEMU_UNSET_ENV": "X"}),
    (["-E", "A=3"], {"QEMU_SET_ENV": "A=1,B=2"}),           # the command line after the variable
], ids=["comma-list", "repeated", "unset-list", "set-then-unset", "unset-then-set",
        "qemu-variables", "line-over-variable"])
def test_environment_options_like_qemu(opts, env, tmp_path, qemu, busybox):
    """-E/-U take qemu's comma lists and apply in order; QEMU_SET_ENV/QEMU_UNSET_ENV too.
    (qemu lists the environment in reverse order: lines are compared sorted.)"""
    ref = oracle._run([qemu, *opts, str(busybox), "env"], oracle.guest_env(env), None,
                      tmp_path, None)
    got = oracle._run([sys.executable, "-m", "emu", *opts, str(busybox), "env"],
                      oracle.emu_process_env(env), None, tmp_path, None)
    assert ref.status == 0, ref.describe()
    assert got.status == 0, got.describe()
    drop = ("PYTHONPATH=", "EMU_")  # emu's own process environment (the harness sets it)
    mine = [ln for ln in _env_lines(got.stdout) if not ln.startswith(drop)]
    assert mine == _env_lines(ref.stdout), (mine, _env_lines(ref.stdout))


def test_emu_variables_and_their_qemu_aliases(tmp_path, busybox):
    """EMU_<NAME> is read before QEMU_<NAME>; both are options' defaults."""
    env = {"EMU_SET_ENV": "A=emu", "QEMU_SET_ENV": "A=qemu", "QEMU_ARGV0": "echo"}
    got = oracle._run([sys.executable, "-m", "emu", str(busybox), "sh", "-c", "echo $A"],
                      oracle.emu_process_env(env), None, tmp_path, None)
    # QEMU_ARGV0=echo makes busybox the echo applet: it prints its arguments
    assert got.status == 0 and got.stdout == b"sh -c echo $A\n", got.describe()
    env = {"EMU_SET_ENV": "A=emu", "QEMU_SET_ENV": "A=qemu"}
    got = oracle._run([sys.executable, "-m", "emu", str(busybox), "sh", "-c", "echo $A"],
                      oracle.emu_process_env(env), None, tmp_path, None)
    assert got.status == 0 and got.stdout == b"emu\n", got.describe()


def test_without_run_and_program_named_like_a_subcommand(tmp_path, qemu, hello_aarch64):
    """`emu PROGRAM` is `emu run PROGRAM`; a program called `rootfs` runs through `emu run`."""
    ref = oracle.run_qemu([hello_aarch64], cwd=tmp_path)
    plain = run_emu_cli([hello_aarch64], cwd=tmp_path)
    assert (plain.returncode, plain.stdout) == (ref.status, ref.stdout), plain.stderr
    named = tmp_path / "rootfs"
    named.write_bytes(hello_aarch64.read_bytes())
    named.chmod(0o755)
    via_run = run_emu_cli(["run", "rootfs"], cwd=tmp_path)
    assert (via_run.returncode, via_run.stdout) == (ref.status, ref.stdout), via_run.stderr
    after_options = run_emu_cli(["-0", "x", "rootfs"], cwd=tmp_path)
    assert (after_options.returncode, after_options.stdout) == (ref.status, ref.stdout)


def test_stack_size_and_uname_like_qemu(tmp_path, qemu, busybox):
    """-s SIZE sizes [stack] (qemu: at least 128 KiB); -r RELEASE is what uname -r prints."""
    def stack_size(out):
        for ln in out.decode().splitlines():
            if ln.endswith("[stack]"):
                lo, hi = (int(x, 16) for x in ln.split()[0].split("-"))
                return hi - lo
        raise AssertionError(out)
    for size, expect in (("1M", 1 << 20), ("300000", 303104), ("1k", 128 << 10)):
        ref = oracle._run([qemu, "-s", size, str(busybox), "cat", "/proc/self/maps"],
                          oracle.guest_env(), None, tmp_path, None)
        got = run_emu_cli(["-s", size, busybox, "cat", "/proc/self/maps"], cwd=tmp_path)
        assert got.returncode == 0, got.stderr
        assert stack_size(got.stdout) == expect, (size, got.stdout.decode())
        assert abs(stack_size(ref.stdout) - expect) <= 4096, (size, ref.stdout.decode())
    ref = oracle._run([qemu, "-r", "9.8.7-emu", str(busybox), "uname", "-r"], oracle.guest_env(),
                      None, tmp_path, None)
    got = run_emu_cli(["-r", "9.8.7-emu", busybox, "uname", "-r"], cwd=tmp_path)
    assert got.returncode == 0 and got.stdout == ref.stdout == b"9.8.7-emu\n", got.stderr


SEED_PROGRAM = r"""
#include <stdio.h>
#include <sys/auxv.h>
int main(void) {
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    for (int i = 0; i < 16; i++) printf("%02x", r[i]);
    printf("\n");
    return 0;
}
"""


def test_seed_makes_at_random_reproducible(tmp_path, aarch64_cc):
    src = tmp_path / "at_random.c"
    src.write_text(SEED_PROGRAM)
    exe = oracle.compile_c(src, "aarch64")
    runs = {}
    for key, args in (("a1", ["-seed", "1"]), ("a2", ["-seed", "1"]), ("b", ["-seed", "0x2"]),
                      ("none1", []), ("none2", [])):
        proc = run_emu_cli([*args, exe], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        runs[key] = proc.stdout
    assert runs["a1"] == runs["a2"] and runs["a1"] != runs["b"], runs
    assert runs["none1"] != runs["none2"], runs


def test_strace_to_a_log_file(tmp_path, busybox):
    """-strace -D FILE: the trace goes to FILE, the guest's stderr stays the guest's; a guest
    execve's emu appends to the same file."""
    log = tmp_path / "trace.log"
    proc = run_emu_cli(["-strace", "-D", log, busybox, "sh", "-c",
                        f"echo out; exec {busybox} echo again"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == b"out\nagain\n", proc.stderr
    assert b"exit_group" not in proc.stderr, proc.stderr[-1000:]
    text = log.read_text()
    assert 'write(1, "out\\n", 4) = 4' in text, text[-2000:]
    assert "execve(" in text and 'write(1, "again\\n", 6) = 6' in text, text[-2000:]
    assert text.rstrip().endswith("exit_group(0) = ?"), text[-500:]
    # -d strace is -strace; QEMU_STRACE and QEMU_LOG_FILENAME are the same options
    log2 = tmp_path / "trace2.log"
    got = oracle._run([sys.executable, "-m", "emu", "-d", "strace", str(busybox), "true"],
                      oracle.emu_process_env({"QEMU_LOG_FILENAME": str(log2)}), None,
                      tmp_path, None)
    assert got.status == 0 and "exit_group(0) = ?" in log2.read_text(), got.describe()
    got = oracle._run([sys.executable, "-m", "emu", str(busybox), "true"],
                      oracle.emu_process_env({"QEMU_STRACE": "1"}), None, tmp_path, None)
    assert got.status == 0 and b"exit_group(0) = ?" in got.stderr, got.describe()


UNIMP_PROGRAM = r"""
#include <sys/ioctl.h>
#include <unistd.h>
int main(void) {
    syscall(4000);              /* no such syscall */
    ioctl(0, 0x5471, 0);        /* an ioctl emu does not know */
    return 0;
}
"""


def test_log_items(tmp_path, busybox, aarch64_cc):
    """-d help lists the items; items emu does not produce say so in one line and run on;
    page prints the layout; unimp logs unknown syscalls and ioctls (qemu's wording)."""
    proc = run_emu_cli(["-d", "help"], cwd=tmp_path)
    assert proc.returncode == 0 and b"strace" in proc.stdout and b"in_asm" in proc.stdout
    proc = run_emu_cli(["-d", "in_asm,guest_errors", busybox, "true"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emu: -d:") and "in_asm" in lines[0], lines
    src = tmp_path / "unimp.c"
    src.write_text(UNIMP_PROGRAM)
    exe = oracle.compile_c(src, "aarch64")
    proc = run_emu_cli(["-d", "page,unimp", exe], cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert err.splitlines()[0].split() == ["start", "end", "size", "prot"], err
    assert "Unsupported syscall: 4000" in err.splitlines(), err
    assert "Unsupported ioctl: cmd=0x5471" in err.splitlines(), err


def test_cpu_option(tmp_path, busybox):
    proc = run_emu_cli(["-cpu", "help"], cwd=tmp_path)
    assert proc.returncode == 0 and b"max" in proc.stdout
    proc = run_emu_cli(["-cpu", "?"], cwd=tmp_path)
    assert proc.returncode == 0 and b"max" in proc.stdout
    proc = run_emu_cli(["-cpu", "max", busybox, "true"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    proc = run_emu_cli(["-cpu", "max,sve=off", busybox, "true"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr


def test_help_shows_users_options_only(tmp_path):
    for args in (["-h"], ["--help"], ["run", "-h"]):
        proc = run_emu_cli(args, cwd=tmp_path)
        out = proc.stdout.decode()
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
        for shown in ("usage: emu [options] PROGRAM [ARGS...]", "-L path", "EMU_LD_PREFIX",
                      "-strace", "-E var=value", "-seed", "-cpu model", "QEMU_<NAME>", "125"):
            assert shown in out, (shown, out)
        for hidden in ("no-batch", "tier", "environ-fd", "execfn", "signals", "rootfs_cmd",
                       "argument cmd"):
            assert hidden not in out, (hidden, out)


def test_version(tmp_path):
    from importlib import metadata
    for args in (["-version"], ["--version"]):
        proc = run_emu_cli(args, cwd=tmp_path)
        out = proc.stdout.decode()
        assert proc.returncode == 0 and out.startswith("emu "), (out, proc.stderr)
        assert f"llvmlite {metadata.version('llvmlite')}" in out, out
        assert f"capstone {metadata.version('capstone')}" in out and "LLVM " in out, out


def test_guest_status_is_the_guests(tmp_path, hello_aarch64):
    """Statuses 125-127 are only emu's: a guest exiting 3 exits 3, options or not."""
    for args in ([hello_aarch64], ["run", hello_aarch64], ["-strace", "-D", "/dev/null",
                                                             hello_aarch64]):
        proc = run_emu_cli(args, cwd=tmp_path)
        assert proc.returncode == 3 and proc.stdout == b"hello, world\n", proc.stderr


def test_hash_bang_script_as_the_program(tmp_path, busybox):
    """A `#!` script given as the program was refused ("not an ELF file"): the kernel runs its
    interpreter with the optional argument and the script's path, and so does emu (issue 16).
    Written expectation: qemu-aarch64 7.2 cannot run a script at all (it loads ELF files
    only); what runs is Linux's binfmt_script rule: argv = [interpreter, arg, script, args...]."""
    script = tmp_path / "s.sh"
    script.write_text(f'#!{busybox} sh\necho "$0" "$1" "$2"\n')
    script.chmod(0o755)
    got = oracle.run_emu([script, "a", "b c"], cwd=tmp_path)
    assert got.status == 0 and got.stdout == f"{script} a b c\n".encode(), got.describe()
    nested = tmp_path / "n.sh"                  # a script whose interpreter is a script
    nested.write_text(f"#!{script}\n")
    nested.chmod(0o755)
    got = oracle.run_emu([nested, "x"], cwd=tmp_path)
    assert got.status == 0 and got.stdout == f"{script} {nested} x\n".encode(), got.describe()
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/nonexistent/interp\n")
    bad.chmod(0o755)
    got = oracle.run_emu([bad], cwd=tmp_path)
    assert got.status == 127 and got.stderr.count(b"emu:") == 1, got.describe()
    assert b"bad interpreter" in got.stderr
    empty = tmp_path / "empty.sh"
    empty.write_text("#!\n")
    empty.chmod(0o755)
    got = oracle.run_emu([empty], cwd=tmp_path)
    assert got.status == 126 and b"Exec format error" in got.stderr, got.describe()
