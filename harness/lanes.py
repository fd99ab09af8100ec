"""Lanes: named sets of rows, each row one guest program compared against an oracle.

Owns: the row definitions shared by pytest (tests/) and `python -m harness lane NAME` (the
busybox applets and their input files, the C fixtures and their arguments, static and dynamic,
the rootfs programs per profile and their inputs), running a lane into
Outcomes (pass / fail / unsupported with a reason, durations) and the Markdown report.
A row whose prerequisites are missing (no qemu-aarch64, no cross compiler, package not
fetchable) is `unsupported` with the reason: it is reported, never skipped, and the lane exits
nonzero.  Does not own: how programs are built or run (oracle.py, fetch.py).
"""
import datetime
import os
import platform
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import fetch, oracle

# ---------------------------------------------------------------------------------------------
# C fixtures: tests/fixtures/<name>.c, built static for AArch64, run under qemu and emu.

# Arguments and guest environment per fixture (default: no arguments).  fileio gets "." and runs
# in a fresh temporary directory.
FIXTURE_ARGS: dict[str, tuple[list[str], dict[str, str]]] = {
    "args_env": (["alpha", "two words", "", "ünïcødé", "--flag=x", "*"],
                 {"EMU_TEST_VALUE": "v=1 2", "EMU_TEST_EMPTY": "", "EMU_TEST_A": "a"}),
    "fileio": (["."], {}),
    "threads_lifecycle": (["pipe-block"], {}),
}
# A fixture whose source contains this marker prints architecture-dependent output, so it is
# not compared with its native x86-64 build (all others are, to check the fixture itself).
QEMU_ONLY_MARKER = "oracle: qemu-only"


DYNAMIC_ONLY_PREFIX = "dyn_"     # tests/fixtures/dyn_*.c: only built dynamically (dlopen, auxv)


def fixture_names() -> list[str]:
    """The fixtures built static (all but dyn_*)."""
    return sorted(p.stem for p in oracle.FIXTURES.glob("*.c")
                  if not p.stem.startswith(DYNAMIC_ONLY_PREFIX))


def dynamic_fixture_names() -> list[str]:
    """The fixtures built dynamically: all of them, dyn_* included."""
    return sorted(p.stem for p in oracle.FIXTURES.glob("*.c"))


def fixture_args(name: str) -> tuple[list[str], dict[str, str]]:
    args, env = FIXTURE_ARGS.get(name, ([], {}))
    return list(args), dict(env)


def fixture_is_portable(name: str) -> bool:
    return QEMU_ONLY_MARKER not in oracle.fixture(name).read_text(errors="replace")


# ---------------------------------------------------------------------------------------------
# busybox-static (Debian arm64), applets compared with qemu-aarch64 on the same binary.

BUSYBOX_PACKAGE = "busybox-static"
BUSYBOX_APPLETS: list[tuple[str, list[str]]] = [
    ("echo", ["echo", "hello", "world"]),
    ("sh-loop", ["sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo $i"]),
    ("sha256sum", ["sha256sum", "data.txt"]),
    ("sort", ["sort", "lines.txt"]),
    ("awk", ["awk", "BEGIN{s=0; for(i=1;i<=100;i++) s+=i*i; print s}"]),
    ("wc", ["wc", "data.txt"]),
]


def busybox_binary() -> Path:
    """Fetch (cached) busybox-static:arm64 and return the busybox executable."""
    root = fetch.fetch(BUSYBOX_PACKAGE)
    exe = root / "bin" / "busybox"
    if not exe.is_file():
        raise fetch.FetchError(f"{BUSYBOX_PACKAGE} unpacked in {root} has no bin/busybox")
    return exe


def write_busybox_inputs(directory: Path) -> None:
    """Deterministic input files for the applets: data.txt (text + binary-ish) and lines.txt."""
    seed = 20240601
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "Iota", "kappa",
             "10", "9", "-3", "", "  lead", "tail  ", "MiXeD", "zz", "a b c"]
    lines = []
    for i in range(2000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        lines.append(f"{words[seed % len(words)]} {seed % 1000}".rstrip() if i % 7 else words[seed % len(words)])
    (directory / "lines.txt").write_text("\n".join(lines) + "\n")
    data = "".join(f"line {i}: {'x' * (i % 61)} {i * i}\n" for i in range(3000))
    (directory / "data.txt").write_text(data + "no newline at end")


# ---------------------------------------------------------------------------------------------
# Running rows.

@dataclass
class Outcome:
    row: str
    status: str                      # "pass" | "fail" | "unsupported"
    detail: str = ""
    emu_s: float | None = None
    oracle_s: float | None = None


@dataclass
class Lane:
    name: str
    description: str
    rows: Callable[[], list[tuple[str, Callable[[Path], Outcome]]]]
    prerequisites: Callable[[], list[str]] = field(default=lambda: [])   # missing things


def _compare_row(row: str, argv: list, cwd: Path, env: dict | None = None, rootfs=None,
                 timeout: float | None = None) -> Outcome:
    ref = oracle.run_qemu(argv, rootfs=rootfs, env=env, cwd=cwd, timeout=timeout)
    if ref.timed_out or (ref.status is not None and ref.status < 0):
        return Outcome(row, "unsupported", f"qemu-aarch64 itself failed: {ref.describe()}",
                       oracle_s=ref.seconds)
    got = oracle.run_emu(argv, rootfs=rootfs, env=env, cwd=cwd, timeout=timeout)
    problems = oracle.compare(ref, got)
    return Outcome(row, "fail" if problems else "pass", "; ".join(problems), got.seconds, ref.seconds)


def _tool_prereqs(*tools: str) -> list[str]:
    missing = []
    for tool in tools:
        try:
            oracle.require_tool(tool)
        except oracle.ToolMissing as exc:
            missing.append(str(exc))
    return missing


def _fixture_rows():
    def make(name):
        def run(workdir: Path) -> Outcome:
            try:
                exe = oracle.compile_c(oracle.fixture(name), "aarch64")
            except (oracle.BuildError, oracle.ToolMissing) as exc:
                return Outcome(name, "fail", f"build: {exc}")
            args, env = fixture_args(name)
            return _compare_row(name, [exe, *args], workdir, env)
        return run
    return [(name, make(name)) for name in fixture_names()]


def _busybox_rows():
    state: dict = {}

    def make(row, applet_args):
        def run(workdir: Path) -> Outcome:
            if "exe" not in state:
                try:
                    state["exe"] = busybox_binary()
                except fetch.FetchError as exc:
                    state["exe"] = exc
            if isinstance(state["exe"], Exception):
                return Outcome(row, "unsupported", f"cannot fetch {BUSYBOX_PACKAGE}: {state['exe']}")
            write_busybox_inputs(workdir)
            return _compare_row(row, [state["exe"], *applet_args], workdir)
        return run
    return [(row, make(row, args)) for row, args in BUSYBOX_APPLETS]


# ---------------------------------------------------------------------------------------------
# Dynamically linked C fixtures: tests/fixtures/<name>.c built without -static, run with
# -L /usr/aarch64-linux-gnu (the cross toolchain's glibc and ld-linux-aarch64.so.1).

CROSS_ROOT = Path(os.environ.get("EMU_CROSS_ROOT", "/usr/aarch64-linux-gnu"))


def _cross_root_prereqs() -> list[str]:
    if (CROSS_ROOT / "lib" / "ld-linux-aarch64.so.1").exists():
        return []
    return [f"{CROSS_ROOT}/lib/ld-linux-aarch64.so.1 missing (apt-get install "
            f"libc6-dev-arm64-cross, or: bash .ci/setup)"]


def _dynamic_rows():
    def make(name):
        def run(workdir: Path) -> Outcome:
            try:
                exe = oracle.compile_c(oracle.fixture(name), "aarch64-dynamic")
            except (oracle.BuildError, oracle.ToolMissing) as exc:
                return Outcome(name, "fail", f"build: {exc}")
            args, env = fixture_args(name)
            return _compare_row(name, [exe, *args], workdir, env, rootfs=CROSS_ROOT)
        return run
    return [(name, make(name)) for name in dynamic_fixture_names()]


# ---------------------------------------------------------------------------------------------
# Programs from an arm64 Debian bookworm rootfs (harness/rootfs.py builds it, one profile at a
# time), each command run under `qemu-aarch64 -L ROOT -0 ARGV0 HOSTPATH` and `emu run -L ROOT
# ARGV0` on the same rootfs and compared.  qemu-user does not apply -L to the program path (it
# opens it on the host), hence the host path plus -0 for the guest's argv[0].
# qemu-user applies -L only to open/openat/execve-like calls, not to stat/statx on absolute
# paths; so rows that look at file metadata under absolute paths run in the rootfs directory
# with relative paths instead (cwd="root"), where qemu's view is consistent.  `ls -la /` itself
# has no qemu oracle: qemu stats the host's "/" (and "/.." is the host's parent of ROOT), while
# emu shows the guest root, with /dev, /proc and /sys from the host as if mounted.

@dataclass(frozen=True)
class Step:
    argv: tuple                     # argv[0]: the program's absolute guest path (or ./name)
    stdin: bytes | None = None


@dataclass(frozen=True)
class RootfsRow:
    name: str
    profile: str
    steps: tuple                    # Steps run one after the other in the same directory
    cwd: str = "work"               # "work": a fresh directory with the inputs; "root": the rootfs
    env: tuple = ()                 # extra guest variables; "{work}" is replaced by the directory
    expect: tuple | None = None     # per step (stdout, status) when qemu-user cannot be the oracle
    why_expect: str = ""


def _row(name, profile, *argv, stdin=None, cwd="work", env=()):
    return RootfsRow(name, profile, (Step(tuple(argv), stdin),), cwd, tuple(env))


def _steps(name, profile, *argvs, cwd="work", env=(), expect=None, why_expect=""):
    return RootfsRow(name, profile, tuple(Step(tuple(a)) for a in argvs), cwd, tuple(env),
                     tuple(expect) if expect else None, why_expect)


_JAVA = "/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
_NO_BINFMT = ("written expectation: the program execve()s AArch64 helpers, which qemu-user hands "
              "to the host kernel (fails without binfmt_misc)")
_CC1 = "/usr/lib/gcc/aarch64-linux-gnu/12/cc1"
_PY_MIX = ("import json, hashlib, re, collections, math\n"
           "d = {'a': [1, 2, 3], 'b': {'c': 'ü', 'f': 1.5}}\n"
           "print(json.dumps(d, sort_keys=True, ensure_ascii=False))\n"
           "print(hashlib.sha256(b'emu' * 1000).hexdigest())\n"
           "print(collections.Counter('mississippi').most_common(2))\n"
           "print(re.sub(r'(\\d+)', lambda m: str(int(m.group()) * 2), 'a1b22c333'))\n"
           "print(sum(i * i for i in range(100000)), math.factorial(30), f'{math.pi:.10f}')\n"
           "print(sorted({x % 17 for x in range(1000)})[-3:], 2 ** 100, 1e300 * 10)\n")
_PY_SIGNALS = ("import signal, os, time\n"
               "got = []\n"
               "signal.signal(signal.SIGUSR1, lambda s, f: got.append(('usr1', s)))\n"
               "os.kill(os.getpid(), signal.SIGUSR1)\n"
               "signal.signal(signal.SIGALRM, lambda s, f: got.append(('alrm', s)))\n"
               "signal.setitimer(signal.ITIMER_REAL, 0.05)\n"
               "signal.pause()\n"
               "signal.signal(signal.SIGCHLD, lambda s, f: got.append(('chld', s)))\n"
               "pid = os.fork()\n"
               "if pid == 0:\n    os._exit(4)\n"
               "_, st = os.waitpid(pid, 0)\n"
               "deadline = time.time() + 5\n"
               "while len(got) < 3 and time.time() < deadline:\n    time.sleep(0.01)\n"
               "print(got, os.WEXITSTATUS(st))\n"
               "try:\n    signal.raise_signal(signal.SIGINT)\nexcept KeyboardInterrupt:\n"
               "    print('KeyboardInterrupt')\n")
_PERL_MIX = ('my %h; $h{$_ % 97} += $_ for 1 .. 20000; '
             'print join(",", map {"$_=$h{$_}"} (sort {$a <=> $b} keys %h)[0..5]), "\\n"; '
             'printf("%.6f %s %d\\n", atan2(1, 1) * 4, uc(join "-", reverse split //, "emu"), '
             '2**40); my $s = "a1b22c333"; $s =~ s/(\\d+)/$1*2/ge; print "$s\\n"; '
             'print scalar(@{[grep { /7/ } 1 .. 1000]}), "\\n";')
_LUA_MIX = ('local t = {} for i = 1, 10000 do t[i] = i * i end local s = 0 '
            'for _, v in ipairs(t) do s = s + v end '
            'print(s, string.format("%.6f", math.pi), ("abc"):rep(3):upper(), 7 // 2, 7 / 2, '
            '#t, math.maxinteger) '
            'local w = {} for word in ("the quick brown fox"):gmatch("%a+") do w[#w + 1] = word:reverse() end '
            'print(table.concat(w, " "))')
_SQL_MIX = ("create table t(a integer primary key, b text, c real);"
            "with recursive n(x) as (select 1 union all select x + 1 from n where x < 2000) "
            "insert into t select x, printf('row%05d', x), x * 0.5 from n;"
            "create index tb on t(b);"
            "select count(*), sum(a), avg(c), max(b) from t;"
            "select b from t where a % 499 = 0 order by b desc;")
_NODE_MIX = ("let s = 0; for (let i = 0; i < 1e6; i++) s += i; "
             "console.log(s, JSON.stringify({a: [1, 2], b: 'ü'}), [3, 1, 2].sort().join(), "
             "(0.1 + 0.2).toFixed(5), typeof BigInt(1), 2n ** 70n)")

ROOTFS_ROWS: list[RootfsRow] = [
    # base: shell and core tools
    _row("bash -c loop", "base", "/bin/bash", "-c", "echo hi; for i in 1 2 3; do echo $i; done"),
    _row("bash arithmetic+strings", "base", "/bin/bash", "-c",
         'x=0; for ((i=0; i<3000; i++)); do x=$((x + i*i % 7)); done; echo $x; a=(b c d); '
         'echo ${#a[@]} ${a[1]^^}; s="hello world"; echo ${s/world/there} ${s:1:3}; '
         'printf "%05d|%-4s|%x\\n" 42 ab 255; declare -A m=([k]=v); echo ${m[k]}'),
    _row("bash pipeline (fork)", "base", "/bin/bash", "-c",
         "for i in 1 2 3; do echo $i; done | while read x; do echo \"<$x>\"; done"),
    _row("bash subshells, $(...), (fork + wait4)", "base", "/bin/bash", "-c",
         'x=$(echo a; echo b | (read y; echo "[$y]")); echo "$x"; (exit 3); echo "status $?"; '
         'f() { echo "in f $1"; return 5; }; y=$(f z); echo "$y $?"; '
         'for i in 1 2 3; do (echo "sub $i"; exit $i) & wait $!; echo "job $?"; done'),
    _steps("bash runs programs (execve)", "base",
           ["/bin/bash", "-c", "printf '%s\\n' c b a | /usr/bin/sort | /usr/bin/tr a-z A-Z; "
            "/bin/echo done; /usr/bin/env -i X=1 /usr/bin/printenv X; "
            "exec /bin/sh -c 'echo \"sh: $0 $1\"; exit 7' zero one"],
           expect=[(b"A\nB\nC\ndone\n1\nsh: zero one\n", 7)], why_expect=_NO_BINFMT),
    _row("sh (dash) loop", "base", "/bin/sh", "-c",
         "i=0; while [ $i -lt 500 ]; do i=$((i+1)); done; echo $i"),
    _row("busybox sh", "base", "/bin/busybox", "sh", "-c", 'echo $((6*7)); x=abcd; echo ${#x} ${x#ab}'),
    _row("sort", "base", "/usr/bin/sort", "lines.txt"),
    _row("sort -k2n -u", "base", "/usr/bin/sort", "-k2n", "-u", "lines.txt"),
    _row("sha256sum", "base", "/usr/bin/sha256sum", "data.txt", "lines.txt"),
    _row("wc", "base", "/usr/bin/wc", "data.txt", "lines.txt"),
    _row("cat /etc/os-release", "base", "/bin/cat", "/etc/os-release"),
    _row("ls -la usr etc var (in the rootfs)", "base", "/bin/ls", "-la", "usr", "etc", "var",
         cwd="root"),
    _row("find /usr/lib -name *.so*", "base", "/usr/bin/find", "/usr/lib", "-name", "*.so*"),
    _row("grep -r", "base", "/bin/grep", "-rn", "-E", "line 1[0-9]{2}:|beta 4", "."),
    _row("sed", "base", "/bin/sed", "-n", "-e", "s/^line \\([0-9]*\\): x*/<\\1>/p", "data.txt"),
    _row("uname -m", "base", "/bin/uname", "-m", "-s"),
    _row("printenv", "base", "/usr/bin/printenv", "PATH", "HOME", "LC_ALL", "TERM"),
    _row("date -d @N", "base", "/bin/date", "-u", "-d", "@1700000000", "+%F %T %A"),
    _row("stat", "base", "/usr/bin/stat", "-c", "%n %s %F %a %h", "data.txt", ".", cwd="work"),
    _row("factor", "base", "/usr/bin/factor", "1234567", "600851475143", "18446744073709551557"),
    # scripting
    _row("perl -e", "scripting", "/usr/bin/perl", "-e", 'print 6*7, "\\n"'),
    _row("perl mix", "scripting", "/usr/bin/perl", "-e", _PERL_MIX),
    _row("lua5.4 -e", "scripting", "/usr/bin/lua5.4", "-e", "print(2^10)"),
    _row("lua5.4 mix", "scripting", "/usr/bin/lua5.4", "-e", _LUA_MIX),
    _row("bc -l", "scripting", "/usr/bin/bc", "-l", stdin=b"4*a(1)\n"),
    _row("bc big", "scripting", "/usr/bin/bc", "-l", stdin=b"scale=60; 4*a(1)\n2^300\nsqrt(2)\n"),
    # data
    _row("sqlite3 :memory:", "data", "/usr/bin/sqlite3", ":memory:", "select 1+1;"),
    _row("sqlite3 table", "data", "/usr/bin/sqlite3", ":memory:", _SQL_MIX),
    _steps("sqlite3 file db", "data", ["/usr/bin/sqlite3", "t.db", _SQL_MIX],
           ["/usr/bin/sqlite3", "t.db", "select count(*), min(b) from t;"]),
    _row("xz -c", "data", "/usr/bin/xz", "-T1", "-6", "-c", "data.txt"),
    _row("xz -dc (stdin)", "data", "/usr/bin/xz", "-dc", stdin=b"@data.txt.xz"),
    _steps("xz files", "data", ["/usr/bin/xz", "-T1", "-k", "lines.txt"],
           ["/usr/bin/xz", "-t", "lines.txt.xz"], ["/usr/bin/xz", "-dc", "lines.txt.xz"],
           ["/usr/bin/sha256sum", "lines.txt.xz"]),
    _steps("bzip2 files", "data", ["/bin/bzip2", "-k", "lines.txt"],
           ["/bin/bzip2", "-t", "lines.txt.bz2"], ["/bin/bzip2", "-dc", "lines.txt.bz2"],
           ["/usr/bin/sha256sum", "lines.txt.bz2"]),
    _row("bzip2 -dc (stdin)", "data", "/bin/bzip2", "-dc", stdin=b"@data.txt.bz2"),
    _row("file /bin/bash", "data", "/usr/bin/file", "/bin/bash"),
    _row("file (several)", "data", "/usr/bin/file", "data.txt", "data.txt.xz", "data.txt.bz2",
         "hello.c", "/usr/lib/aarch64-linux-gnu/libc.so.6"),
    # python
    _row("python3 -c", "python", "/usr/bin/python3", "-c", "print(sum(range(10)))"),
    _row("python3 mix", "python", "/usr/bin/python3", "-c", _PY_MIX),
    _row("python3 platform", "python", "/usr/bin/python3", "-c",
         "import sys, platform; print(platform.machine(), sys.byteorder, sys.maxsize, "
         "sys.getfilesystemencoding(), sys.flags.optimize)"),
    _steps("python3 subprocess (vfork + execve)", "python",
           ["/usr/bin/python3", "-c",
            "import subprocess, os\n"
            "r = subprocess.run(['/bin/echo', 'hi', 'there'], capture_output=True)\n"
            "print(r.returncode, r.stdout)\n"
            "print(os.system('exit 3') >> 8)\n"
            "print(subprocess.check_output('echo $((6*7)) | tr 4 X', shell=True))\n"],
           expect=[(b"0 b'hi there\\n'\n3\nb'X2\\n'\n", 0)], why_expect=_NO_BINFMT),
    _row("python3 signal handlers (kill, setitimer, SIGCHLD)", "python", "/usr/bin/python3", "-c",
         _PY_SIGNALS),
    # c
    _row("gcc --version", "c", "/usr/bin/gcc", "--version"),
    _row("cc1 (compile to assembly)", "c", _CC1, "-quiet", "-O2", "freestanding.c", "-o", "-"),
    _steps("as (assemble)", "c", [_CC1, "-quiet", "-O2", "freestanding.c", "-o", "f.s"],
           ["/usr/bin/as", "-o", "f.o", "f.s"], ["/usr/bin/sha256sum", "f.o"]),
    _steps("gcc hello.c && ./hello", "c", ["/usr/bin/gcc", "-O2", "-o", "hello", "hello.c"],
           ["./hello"], expect=[(b"", 0), (b"hello, world\n", 3)], why_expect=_NO_BINFMT),
    # node
    _row("node -e", "node", "/usr/bin/node", "-e", "console.log(1+1)"),
    _row("node -p process.arch", "node", "/usr/bin/node", "-p", "process.arch"),
    _row("node mix", "node", "/usr/bin/node", "-e", _NODE_MIX),
    # go
    _row("go version", "go", "/usr/bin/go", "version"),
    _row("go env", "go", "/usr/bin/go", "env", "GOARCH", "GOOS", "GOROOT",
         env=[("GOCACHE", "{work}/gocache"), ("GOPATH", "{work}/gopath")]),
    _steps("go build && ./hello", "go", ["/usr/bin/go", "build", "-o", "hello", "hello.go"],
           ["./hello"], env=[("GOCACHE", "{work}/gocache"), ("GOPATH", "{work}/gopath")],
           expect=[(b"", 0), (b"hello from go arm64\n", 0)], why_expect=_NO_BINFMT),
    # Go's runtime needs signals: SIGURG preemption (tgkill), SIGSEGV for nil dereferences,
    # per-thread alternate stacks.  No GODEBUG setting.
    _steps("go run goroutines, GC, recovered nil dereference", "go",
           ["/usr/bin/go", "run", "goroutines.go"],
           env=[("GOCACHE", "{work}/gocache"), ("GOPATH", "{work}/gopath")],
           expect=[(b"total 13999992\nrecovered: runtime error: invalid memory address or nil "
                    b"pointer dereference\n", 0)], why_expect=_NO_BINFMT),
    # (the first field only: the rest is the package's path and the time taken)
    _steps("go test (a small package)", "go",
           ["/bin/bash", "-c", "set -o pipefail; /usr/bin/go test -count=1 ./gopkg | cut -f1"],
           env=[("GOCACHE", "{work}/gocache"), ("GOPATH", "{work}/gopath"),
                ("GO111MODULE", "off")],
           expect=[(b"ok  \n", 0)], why_expect=_NO_BINFMT),
    # java: HotSpot takes SIGSEGV for implicit null checks and safepoint polls, generates its
    # interpreter and compiled code at run time (stores into code), runs a thread pool
    _row("java -version", "java", _JAVA, "-version"),
    _row("java Hello.java (thread pool, NullPointerException)", "java", _JAVA, "Hello.java"),
    # rust
    _row("rustc --version", "rust", "/usr/bin/rustc", "--version"),
    _row("cargo --version", "rust", "/usr/bin/cargo", "--version"),
    _row("rustc --print cfg", "rust", "/usr/bin/rustc", "--print", "cfg"),
    _steps("rustc hello.rs && ./hello", "rust", ["/usr/bin/rustc", "-O", "-o", "hello", "hello.rs"],
           ["./hello"], expect=[(b"", 0), (b"hello from rust 55\n", 0)], why_expect=_NO_BINFMT),
]

_FREESTANDING_C = """\
/* no #include: cc1 run directly sees only this file */
struct pt { long x, y; };
long dot(const struct pt *a, const struct pt *b, int n) {
    long s = 0;
    for (int i = 0; i < n; i++) s += a[i].x * b[i].x + a[i].y * b[i].y;
    return s;
}
unsigned crc(const unsigned char *p, unsigned long n) {
    unsigned c = ~0u;
    while (n--) { c ^= *p++; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1)); }
    return ~c;
}
double poly(double x) { return ((3.5 * x - 2.0) * x + 1.25) * x - 7.0; }
"""
_HELLO_GO = 'package main\n\nimport (\n\t"fmt"\n\t"runtime"\n)\n\nfunc main() {\n' \
            '\tfmt.Println("hello from go", runtime.GOARCH)\n}\n'
_GOROUTINES_GO = """\
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

type T struct{ x int }

func nilDeref() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	var p *T
	return fmt.Errorf("%d", p.x)
}

func main() {
	var wg sync.WaitGroup
	ch := make(chan int, 100)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 1000000; j++ {
				s += j % (i + 1)
			}
			ch <- s
		}(i)
	}
	wg.Wait()
	close(ch)
	total := 0
	for v := range ch {
		total += v
	}
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	fmt.Println("total", total)
	fmt.Println(nilDeref())
}
"""
_GOPKG_GO = "package gopkg\n\nfunc Sum(n int) int {\n\ts := 0\n\tfor i := 1; i <= n; i++ {\n" \
            "\t\ts += i\n\t}\n\treturn s\n}\n"
_GOPKG_TEST_GO = """\
package gopkg

import (
	"sync"
	"testing"
)

func TestSum(t *testing.T) {
	if Sum(10) != 55 {
		t.Fatal("Sum(10)")
	}
}

func TestParallel(t *testing.T) {
	var wg sync.WaitGroup
	out := make([]int, 4)
	for i := range out {
		wg.Add(1)
		go func(i int) { defer wg.Done(); out[i] = Sum(1000 * (i + 1)) }(i)
	}
	wg.Wait()
	if out[3] != 8002000 {
		t.Fatal(out)
	}
}
"""
_HELLO_JAVA = """\
import java.util.*;
import java.util.concurrent.*;

public class Hello {
    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> parts = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            final int k = t;
            parts.add(pool.submit(() -> {
                long s = 0;
                for (int i = 0; i < 200000; i++) s += (long) i * (k + 1) % 7;
                return s;
            }));
        }
        long total = 0;
        for (Future<Long> f : parts) total += f.get();
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.SECONDS);
        int[] a = null;
        try {
            System.out.println(a.length);
        } catch (NullPointerException e) {
            System.out.println("caught NPE");
        }
        System.out.println("hello from java, total " + total);
    }
}
"""
_HELLO_RS = 'fn main() {\n    let s: u32 = (1..=10).sum();\n    println!("hello from rust {}", s);\n}\n'


def write_rootfs_inputs(directory: Path) -> None:
    """The input files rootfs rows read: busybox's data.txt/lines.txt, compressed copies made
    on the host (lzma, bz2), a small tree for grep -r, C/Go/Rust sources."""
    import bz2
    import lzma
    write_busybox_inputs(directory)
    data = (directory / "data.txt").read_bytes()
    (directory / "data.txt.xz").write_bytes(lzma.compress(data, format=lzma.FORMAT_XZ))
    (directory / "data.txt.bz2").write_bytes(bz2.compress(data, 9))
    tree = directory / "tree" / "sub" / "deeper"
    tree.mkdir(parents=True)
    (directory / "tree" / "a.txt").write_text("alpha\nbeta 4\ngamma\n")
    (tree / "b.txt").write_text("line 123: not data\nbeta 42\n")
    (directory / "hello.c").write_text(oracle.fixture("hello").read_text())
    (directory / "freestanding.c").write_text(_FREESTANDING_C)
    (directory / "hello.go").write_text(_HELLO_GO)
    (directory / "hello.rs").write_text(_HELLO_RS)
    (directory / "goroutines.go").write_text(_GOROUTINES_GO)
    (directory / "Hello.java").write_text(_HELLO_JAVA)
    (directory / "gopkg").mkdir()
    (directory / "gopkg" / "sum.go").write_text(_GOPKG_GO)
    (directory / "gopkg" / "sum_test.go").write_text(_GOPKG_TEST_GO)


def rootfs_rows(profiles: list[str] | None = None) -> list[RootfsRow]:
    return [r for r in ROOTFS_ROWS if profiles is None or r.profile in profiles]


def _row_id(row: RootfsRow) -> str:
    return f"{row.profile}: {row.name}"


ROOTFS_TIMEOUT = float(os.environ.get("EMU_ROOTFS_TIMEOUT", "900"))   # seconds per program run
ROOTFS_PROFILES: list[str] | None = None        # set by `python -m harness lane rootfs --profile`


def _step_stdin(step: Step, workdir: Path) -> bytes | None:
    if step.stdin and step.stdin.startswith(b"@"):          # @FILE: that input file's bytes
        return (workdir / step.stdin[1:].decode()).read_bytes()
    return step.stdin


def _qemu_rootfs(argv, root: Path, env, stdin, cwd, timeout) -> oracle.RunResult:
    """qemu-aarch64 -L ROOT -0 ARGV0 HOSTPATH ARGS (qemu opens the program on the host)."""
    from harness import rootfs
    prog = str(argv[0])
    host = rootfs.host_path(root, prog) if prog.startswith("/") else prog
    cmd = [oracle.require_tool(oracle.QEMU), "-L", str(root), "-0", prog, str(host),
           *[str(a) for a in argv[1:]]]
    return oracle._run(cmd, oracle.guest_env(env), stdin, cwd, timeout)


def run_rootfs_row(row: RootfsRow, root: Path, workdir: Path, emu_only: bool = False) -> Outcome:
    """Run every step under qemu (own directory) and emu (own directory) and compare."""
    rid = _row_id(row)
    qdir, edir = workdir / "qemu", workdir / "emu"
    for d in (qdir, edir):
        d.mkdir()
        write_rootfs_inputs(d)
    timeout = ROOTFS_TIMEOUT
    emu_s = qemu_s = 0.0
    for i, step in enumerate(row.steps):
        what = f"step {i + 1} ({' '.join(map(str, step.argv))[:60]}): " if len(row.steps) > 1 else ""
        if row.expect is None and not emu_only:
            qcwd = root if row.cwd == "root" else qdir
            env = {k: v.replace("{work}", str(qdir)) for k, v in row.env}
            ref = _qemu_rootfs(step.argv, root, env, _step_stdin(step, qdir), qcwd, timeout)
            qemu_s += ref.seconds
            if ref.timed_out or (ref.status is not None and ref.status < 0) or ref.status == 127:
                return Outcome(rid, "unsupported", f"{what}qemu-aarch64 itself failed: "
                               f"{ref.describe()}", None, qemu_s)
        else:
            out, status = row.expect[i]
            ref = oracle.RunResult(out, b"", status, 0.0)
        ecwd = root if row.cwd == "root" else edir
        env = {k: v.replace("{work}", str(edir)) for k, v in row.env}
        got = oracle.run_emu(list(step.argv), rootfs=root, env=env, stdin=_step_stdin(step, edir),
                             cwd=ecwd, timeout=timeout)
        emu_s += got.seconds
        problems = oracle.compare(ref, got, "expected" if row.expect else "qemu")
        if problems:
            tail = oracle.last_line(got.stderr)
            return Outcome(rid, "fail", what + "; ".join(problems) +
                           (f"; emu stderr: {tail}" if tail and tail not in problems[0] else ""),
                           emu_s, qemu_s if row.expect is None else None)
    note = row.why_expect if row.expect else ""
    return Outcome(rid, "pass", note, emu_s, qemu_s if row.expect is None else None)


def _rootfs_lane_rows():
    from harness import rootfs
    root = rootfs.default_root()

    def make(row):
        def run(workdir: Path) -> Outcome:
            if not rootfs.is_built(root, row.profile):
                return Outcome(_row_id(row), "unsupported",
                               f"profile {row.profile} not built in {root} (run: emu rootfs build "
                               f"{root} --profile {row.profile})")
            return run_rootfs_row(row, root, workdir)
        return run
    return [(_row_id(r), make(r)) for r in rootfs_rows(ROOTFS_PROFILES)]


LANES: dict[str, Lane] = {
    "fixtures": Lane("fixtures", "every C fixture in tests/fixtures, static AArch64, emu vs qemu-aarch64",
                     _fixture_rows, lambda: _tool_prereqs(oracle.AARCH64_CC, oracle.QEMU)),
    "busybox": Lane("busybox", "busybox-static (Debian arm64) applets, emu vs qemu-aarch64",
                    _busybox_rows, lambda: _tool_prereqs(oracle.QEMU)),
    "dynamic": Lane("dynamic", "every C fixture built dynamically (no -static), run with "
                    "-L /usr/aarch64-linux-gnu, emu vs qemu-aarch64", _dynamic_rows,
                    lambda: _tool_prereqs(oracle.AARCH64_CC, oracle.QEMU) + _cross_root_prereqs()),
    "rootfs": Lane("rootfs", "programs from an arm64 Debian bookworm rootfs (harness/rootfs.py, "
                   "per profile), emu vs qemu-aarch64 -L on the same rootfs", _rootfs_lane_rows,
                   lambda: _tool_prereqs(oracle.QEMU)),
}


def _safe(text: str) -> str:
    """A row name usable in a file name."""
    return re.sub(r"[^\w.+-]+", "_", text)[:40]


ROW_FILTER: list[str] | None = None      # set by `python -m harness lane NAME --row TEXT`


def run_lane(name: str, progress: Callable[[Outcome], None] | None = None) -> tuple[list[Outcome], float]:
    lane = LANES[name]
    start = time.monotonic()
    missing = lane.prerequisites()
    outcomes = []
    for row, fn in lane.rows():
        if ROW_FILTER and not any(text in row for text in ROW_FILTER):
            continue
        if missing:
            out = Outcome(row, "unsupported", "; ".join(missing))
        else:
            with tempfile.TemporaryDirectory(prefix=f"emu-lane-{_safe(row)}-") as tmp:
                try:
                    out = fn(Path(tmp))
                except Exception as exc:          # a harness bug must not hide the other rows
                    out = Outcome(row, "fail", f"harness error: {type(exc).__name__}: {exc}")
        outcomes.append(out)
        if progress:
            progress(out)
    return outcomes, time.monotonic() - start


def summary_line(name: str, outcomes: list[Outcome], seconds: float) -> str:
    count = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "unsupported")}
    return (f"lane {name}: {count['pass']} pass, {count['fail']} fail, {count['unsupported']} "
            f"unsupported of {len(outcomes)} rows in {seconds:.1f} s")


def _git_revision() -> str:
    try:
        proc = subprocess.run(["git", "-C", str(oracle.REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        rev = proc.stdout.strip() or "no commit"
        dirty = subprocess.run(["git", "-C", str(oracle.REPO), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def markdown_report(name: str, outcomes: list[Outcome], seconds: float) -> str:
    lane = LANES[name]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fmt = lambda s: "" if s is None else f"{s:.2f}"
    cell = lambda text: text.replace("|", "\\|").replace("\n", " ")
    out = [f"# Lane `{name}`", "",
           f"{lane.description}.", "",
           f"- date: {now}", f"- revision: {_git_revision()}",
           f"- host: {platform.node() or '?'} {platform.machine()}, Python {platform.python_version()}, "
           f"{os.cpu_count()} CPUs", "",
           "| row | result | emu s | qemu s | notes |", "|---|---|---:|---:|---|"]
    for o in outcomes:
        out.append(f"| {cell(o.row)} | {o.status} | {fmt(o.emu_s)} | {fmt(o.oracle_s)} | {cell(o.detail)} |")
    out += ["", f"**{summary_line(name, outcomes, seconds)}**", ""]
    return "\n".join(out)
