"""Oracles: build C fixtures and run one guest program under qemu-aarch64, under emu and natively.

Owns: compiling a C file for AArch64 (`aarch64-linux-gnu-gcc -static -O2`) or for the host
(`gcc -O2`), cached by a hash of the source, compiler and flags in a build directory
($EMU_BUILD_DIR, default ~/.cache/emu/build); running a command under `qemu-aarch64`, under
`python -m emu run` (in a subprocess: a crashing emu is a failed row, never a crashed harness)
and natively, each returning a RunResult (stdout, stderr, exit status, seconds); and comparing
two results the way every lane and test does (stdout bytes and exit status).
Exit status convention: the process's own code; a guest killed by signal N is -N (qemu-user
re-raises the guest's signal, so emu must too); None when the run timed out.
Does not own: what is being compared (lanes.py) or the pass/fail policy (tests/, __main__).
"""
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

from harness.fetch import cache_root

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

AARCH64_CC = os.environ.get("EMU_AARCH64_CC", "aarch64-linux-gnu-gcc")
NATIVE_CC = os.environ.get("EMU_NATIVE_CC", "gcc")
QEMU = os.environ.get("EMU_QEMU", "qemu-aarch64")
AARCH64_FLAGS = ("-static", "-O2")
AARCH64_DYNAMIC_FLAGS = ("-O2",)        # target "aarch64-dynamic": run with -L /usr/aarch64-linux-gnu
NATIVE_FLAGS = ("-O2",)
DEFAULT_TIMEOUT = float(os.environ.get("EMU_TEST_TIMEOUT", "120"))   # seconds per run

# The environment every guest sees (qemu-user passes its own environment to the guest; emu is
# expected to do the same), so runs do not depend on the caller's shell.
GUEST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/root", "TERM": "dumb"}

INSTALL_HINT = {
    AARCH64_CC: "apt-get install gcc-aarch64-linux-gnu (or: bash .ci/setup)",
    NATIVE_CC: "apt-get install gcc (or: bash .ci/setup)",
    QEMU: "apt-get install qemu-user (or: bash .ci/setup)",
}


class ToolMissing(RuntimeError):
    """A host tool the oracle needs is not installed; the message names the package."""


class BuildError(RuntimeError):
    """A fixture did not compile; the message carries the compiler's first error."""


class RunResult(NamedTuple):
    stdout: bytes
    stderr: bytes
    status: int | None      # exit code, -signal, or None on timeout
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.status is None

    def describe(self) -> str:
        """One line: status and the last line of stderr."""
        if self.status is None:
            head = f"timed out after {self.seconds:.0f} s"
        elif self.status < 0:
            head = f"killed by signal {-self.status}"
        else:
            head = f"exit status {self.status}"
        tail = last_line(self.stderr)
        return f"{head}; stderr: {tail}" if tail else head


def last_line(data: bytes, limit: int = 300) -> str:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:limit] if lines else ""


def require_tool(name: str) -> str:
    """Absolute path of a host tool, or ToolMissing naming the package to install."""
    path = shutil.which(name)
    if not path:
        hint = INSTALL_HINT.get(name, "install it")
        raise ToolMissing(f"`{name}` not found on PATH ({hint})")
    return path


def build_dir() -> Path:
    return Path(os.environ.get("EMU_BUILD_DIR") or cache_root() / "build")


@lru_cache(maxsize=None)
def _compiler_id(cc: str) -> str:
    proc = subprocess.run([cc, "--version"], capture_output=True, text=True)
    return proc.stdout.splitlines()[0] if proc.stdout else cc


def compile_c(source: str | os.PathLike, target: str = "aarch64", extra_flags: Sequence[str] = (),
              out: str | os.PathLike | None = None) -> Path:
    """Compile one C file for target 'aarch64' (static), 'aarch64-dynamic' or 'native'; cached.

    With `out`, the cached binary is also copied there (when different) and `out` is returned.
    """
    source = Path(source)
    if target == "aarch64":
        cc, flags = AARCH64_CC, (*AARCH64_FLAGS, *extra_flags)
    elif target == "aarch64-dynamic":
        cc, flags = AARCH64_CC, (*AARCH64_DYNAMIC_FLAGS, *extra_flags)
    elif target == "native":
        cc, flags = NATIVE_CC, (*NATIVE_FLAGS, *extra_flags)
    else:
        raise ValueError(f"unknown target {target!r}")
    ccpath = require_tool(cc)
    if not source.is_file():
        raise BuildError(f"{source}: no such file")
    key = hashlib.sha256()
    key.update(source.read_bytes())
    key.update("\0".join((_compiler_id(ccpath), target, *flags)).encode())
    binary = build_dir() / f"{source.stem}-{target}-{key.hexdigest()[:16]}"
    if not binary.is_file():
        binary.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{binary.name}-", dir=binary.parent)
        os.close(fd)
        cmd = [ccpath, *flags, "-o", tmp, str(source), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            os.unlink(tmp)
            errors = [ln for ln in proc.stderr.splitlines() if "error" in ln] or proc.stderr.splitlines()
            raise BuildError(f"{' '.join(cmd)} failed: {(errors or ['?'])[0]}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, binary)
    if out is None:
        return binary
    out = Path(out)
    if not out.is_file() or out.read_bytes() != binary.read_bytes():
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, out)
    return out


def fixture(name: str) -> Path:
    """Path of tests/fixtures/<name>.c."""
    return FIXTURES / f"{name}.c"


def _run(cmd: list[str], env: dict, stdin: bytes | None, cwd, timeout: float | None) -> RunResult:
    timeout = timeout or DEFAULT_TIMEOUT
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, input=stdin if stdin is not None else b"",
                              capture_output=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return RunResult(exc.stdout or b"", exc.stderr or b"", None, time.monotonic() - start)
    except OSError as exc:
        return RunResult(b"", f"cannot execute {cmd[0]}: {exc}".encode(), 127,
                         time.monotonic() - start)
    return RunResult(proc.stdout, proc.stderr, proc.returncode, time.monotonic() - start)


def guest_env(extra: dict | None = None) -> dict:
    env = dict(GUEST_ENV)
    env.update(extra or {})
    return env


def run_qemu(argv: Sequence[str], *, rootfs=None, env: dict | None = None, stdin: bytes | None = None,
             cwd=None, timeout: float | None = None) -> RunResult:
    """Run argv[0] (an AArch64 ELF) with args under qemu-aarch64."""
    cmd = [require_tool(QEMU)]
    if rootfs:
        cmd += ["-L", str(rootfs)]
    return _run(cmd + [str(a) for a in argv], guest_env(env), stdin, cwd, timeout)


def emu_command(argv: Sequence[str], *, rootfs=None, stats: bool = False, strace: bool = False,
                extra_args: Sequence[str] = ()) -> list[str]:
    # EMU_COMMAND replaces `python -m emu run` (e.g. EMU_COMMAND=qemu-aarch64 checks the harness
    # and the fixtures against qemu itself, or compares another emulator).
    override = os.environ.get("EMU_COMMAND")
    cmd = shlex.split(override) if override else [sys.executable, "-m", "emu", "run"]
    if rootfs:
        cmd += ["-L", str(rootfs)]
    if stats and not override:
        cmd.append("--stats")
    if strace:
        cmd.append("--strace")
    return cmd + list(extra_args) + [str(a) for a in argv]


def emu_process_env(env: dict | None = None) -> dict:
    penv = guest_env(env)
    # Always this checkout's emu: an `pip install -e` of another checkout (another worktree)
    # would otherwise be what `python -m emu` imports from the run's directory.
    penv["PYTHONPATH"] = str(REPO)
    own_cache = env is not None and ("EMU_CACHE_DIR" in env or "EMU_JIT_CACHE_DIR" in env)
    for var in ("EMU_BLOCK_STATS", "EMU_CACHE_DIR", "EMU_JIT_CACHE_DIR", "XDG_CACHE_HOME"):
        if var == "EMU_JIT_CACHE_DIR" and own_cache:
            continue                    # the caller chose this run's cache
        if var in os.environ and var not in penv:
            penv[var] = os.environ[var]
    return penv


def run_emu(argv: Sequence[str], *, rootfs=None, env: dict | None = None, stdin: bytes | None = None,
            cwd=None, timeout: float | None = None, stats: bool = False,
            extra_args: Sequence[str] = ()) -> RunResult:
    """Run argv[0] (an AArch64 ELF) with args under `python -m emu run` in a subprocess."""
    cmd = emu_command(argv, rootfs=rootfs, stats=stats, extra_args=extra_args)
    return _run(cmd, emu_process_env(env), stdin, cwd, timeout)


def run_native(argv: Sequence[str], *, env: dict | None = None, stdin: bytes | None = None, cwd=None,
               timeout: float | None = None) -> RunResult:
    """Run a host program directly."""
    return _run([str(a) for a in argv], guest_env(env), stdin, cwd, timeout)


# stderr lines that belong to the emulator (or the oracle), not to the guest: not compared.
_OWN_STDERR = (b"emu:", b"EMU_", b"qemu:", b"qemu-aarch64:")


def guest_stderr(err: bytes) -> bytes:
    """A run's stderr without the emulator's own lines (messages, statistics)."""
    return b"".join(ln for ln in err.splitlines(keepends=True) if not ln.startswith(_OWN_STDERR))


def compare(expected: RunResult, actual: RunResult, expected_name: str = "qemu",
            actual_name: str = "emu", stderr: bool = True) -> list[str]:
    """Differences between two runs (stdout bytes, exit status, and with stderr the guest's
    stderr: all but the emulators' own lines) as readable lines; [] if equal."""
    problems = []
    if actual.timed_out:
        return [f"{actual_name} timed out after {actual.seconds:.0f} s"]
    if expected.status != actual.status:
        problems.append(f"exit status: {expected_name} {expected.status}, {actual_name} "
                        f"{actual.status} ({actual.describe()})")
    if expected.stdout != actual.stdout and not actual.stdout:
        problems.append(f"{actual_name} printed nothing ({expected_name} printed "
                        f"{len(expected.stdout.splitlines())} lines)")
    elif expected.stdout != actual.stdout:
        problems.append(f"stdout differs: {first_difference(expected.stdout, actual.stdout, expected_name, actual_name)}")
    if stderr:
        a, b = guest_stderr(expected.stderr or b""), guest_stderr(actual.stderr or b"")
        if a != b:
            problems.append(f"stderr differs: {first_difference(a, b, expected_name, actual_name)}")
    return problems


def first_difference(a: bytes, b: bytes, a_name: str = "qemu", b_name: str = "emu") -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else None
        y = lb[i] if i < len(lb) else None
        if x != y:
            show = lambda v: "<missing>" if v is None else repr(v[:160])[1:]
            return f"line {i + 1}: {a_name} {show(x)} / {b_name} {show(y)}"
    return f"{a_name} {len(a)} bytes, {b_name} {len(b)} bytes (trailing newline?)"
