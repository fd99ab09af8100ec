"""Lanes: named sets of rows, each row one guest program compared against an oracle.

Owns: the row definitions shared by pytest (tests/) and `python -m harness lane NAME` (the
busybox applets and their input files, the C fixtures and their arguments), running a lane into
Outcomes (pass / fail / unsupported with a reason, durations) and the Markdown report.
A row whose prerequisites are missing (no qemu-aarch64, no cross compiler, package not
fetchable) is `unsupported` with the reason: it is reported, never skipped, and the lane exits
nonzero.  Does not own: how programs are built or run (oracle.py, fetch.py).
"""
import datetime
import os
import platform
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
}
# A fixture whose source contains this marker prints architecture-dependent output, so it is
# not compared with its native x86-64 build (all others are, to check the fixture itself).
QEMU_ONLY_MARKER = "oracle: qemu-only"


def fixture_names() -> list[str]:
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


LANES: dict[str, Lane] = {
    "fixtures": Lane("fixtures", "every C fixture in tests/fixtures, static AArch64, emu vs qemu-aarch64",
                     _fixture_rows, lambda: _tool_prereqs(oracle.AARCH64_CC, oracle.QEMU)),
    "busybox": Lane("busybox", "busybox-static (Debian arm64) applets, emu vs qemu-aarch64",
                    _busybox_rows, lambda: _tool_prereqs(oracle.QEMU)),
}


def run_lane(name: str, progress: Callable[[Outcome], None] | None = None) -> tuple[list[Outcome], float]:
    lane = LANES[name]
    start = time.monotonic()
    missing = lane.prerequisites()
    outcomes = []
    for row, fn in lane.rows():
        if missing:
            out = Outcome(row, "unsupported", "; ".join(missing))
        else:
            with tempfile.TemporaryDirectory(prefix=f"emu-lane-{row}-") as tmp:
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
