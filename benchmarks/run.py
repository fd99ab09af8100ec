#!/usr/bin/env python3
"""Benchmark emu against qemu-aarch64 and a native x86-64 build of benchmarks/cpu_bench.c.

    python3 benchmarks/run.py [--n1 2] [--n2 6] [--repeat 1] [--timeout 900] [--no-emu] [--out FILE]

Builds cpu_bench.c for AArch64 (aarch64-linux-gnu-gcc -static -O2) and for the host (gcc -O2),
both with -ffp-contract=off so the only fused multiply-adds are the explicit fma() calls and
the output is bit-identical everywhere.  Then, for two iteration counts N1 < N2, runs the AArch64
binary under `python -m emu run --stats` and under `qemu-aarch64`, and the native binary, checks
that the three print the same, and prints a Markdown table: wall time, emu/qemu and emu/native
ratios, guest instructions per second (when EMU_BLOCK_STATS reports executed instructions),
translation share ((decode_s + lift_s + compile_s) / wall) and the steady-state cost of one
extra iteration, (t(N2) - t(N1)) / (N2 - N1), for each engine and as ratios.
A failing or timing-out emu run is reported in the table, never a crash.  Exit status: 0 when
every run succeeded with identical output, 1 otherwise.
"""
import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness import oracle  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "cpu_bench.c"
FLAGS = ("-ffp-contract=off",)
# emu-cold: every run starts with an empty code cache (everything translated in the run);
# emu: the code cache was primed by one untimed run (what a user sees from the second run on).
ENGINES = ("emu-cold", "emu", "qemu", "native")
STATS_RE = re.compile(rb"^EMU_BLOCK_STATS (\{.*\})\s*$", re.M)
# Names under which EMU_BLOCK_STATS may report executed (not translated) guest instructions.
EXECUTED_KEYS = ("insns_executed", "guest_insns_executed", "executed_insns", "insns_retired")


@dataclass
class Run:
    engine: str
    n: int
    wall: float | None = None            # best of the repeats; None when the run failed
    stdout: bytes = b""
    error: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.wall is not None and not self.error


def parse_stats(stderr: bytes) -> dict:
    found = STATS_RE.findall(stderr)
    if not found:
        return {}
    try:
        return json.loads(found[-1])
    except json.JSONDecodeError:
        return {}


def run_one(engine: str, binaries: dict, n: int, repeat: int, timeout: float,
            warm_cache: str = "") -> Run:
    run = Run(engine, n)
    for _ in range(repeat):
        if engine == "emu-cold":
            with tempfile.TemporaryDirectory(prefix="emu-cold-cache-") as cold:
                res = oracle.run_emu([binaries["aarch64"], n], stats=True, timeout=timeout,
                                     env={"EMU_CACHE_DIR": cold})
        elif engine == "emu":
            res = oracle.run_emu([binaries["aarch64"], n], stats=True, timeout=timeout,
                                 env={"EMU_CACHE_DIR": warm_cache})
        elif engine == "qemu":
            res = oracle.run_qemu([binaries["aarch64"], n], timeout=timeout)
        else:
            res = oracle.run_native([binaries["native"], n], timeout=timeout)
        if res.status != 0:
            run.error = res.describe()
            run.stdout = res.stdout
            run.wall = None
            return run
        if run.wall is None or res.seconds < run.wall:
            run.wall, run.stdout = res.seconds, res.stdout
            if engine.startswith("emu"):
                run.stats = parse_stats(res.stderr)
    return run


def fmt_s(v):
    return "n/a" if v is None else f"{v:.3f}"


def fmt_ratio(a, b):
    return "n/a" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def guest_ips(run: Run) -> str:
    for key in EXECUTED_KEYS:
        if key in run.stats and run.wall:
            return f"{run.stats[key] / run.wall / 1e6:.1f} M/s"
    return "n/a"


def translation_share(run: Run) -> str:
    if not run.stats or not run.wall:
        return "n/a"
    t = sum(float(run.stats.get(k, 0.0) or 0.0)
            for k in ("decode_s", "lift_s", "compile_s", "compile2_s", "cache_load_s"))
    return f"{100 * t / run.wall:.1f}%"


def output_check(runs: dict, n: int) -> dict:
    """Per engine: 'ok', 'FAILED: ...' or 'DIFFERS from X: ...' (native is the reference)."""
    verdict = {}
    ref_engine = next((e for e in ("native", "qemu", "emu", "emu-cold")
                       if runs[e, n] and runs[e, n].ok), None)
    for e in ENGINES:
        r = runs[e, n]
        if r is None:
            verdict[e] = "not run"
        elif not r.ok:
            verdict[e] = f"FAILED: {r.error}"
        elif e != ref_engine and r.stdout != runs[ref_engine, n].stdout:
            verdict[e] = f"DIFFERS from {ref_engine}: " + oracle.first_difference(
                runs[ref_engine, n].stdout, r.stdout, ref_engine, e)
        else:
            verdict[e] = "ok"
    return verdict


def table(runs: dict, n1: int, n2: int) -> str:
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    lines = ["| engine | N | wall s | emu/qemu | emu/native | guest insns/s | translation share | output |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for n in (n1, n2):
        verdict = output_check(runs, n)
        wall = {e: runs[e, n].wall if runs[e, n] else None for e in ENGINES}
        for e in ENGINES:
            r = runs[e, n]
            if r is None:
                continue
            is_emu = e.startswith("emu")
            lines.append("| " + " | ".join(cell(c) for c in (
                e, n, fmt_s(r.wall),
                fmt_ratio(wall[e], wall["qemu"]) if is_emu else "",
                fmt_ratio(wall[e], wall["native"]) if is_emu else "",
                guest_ips(r) if is_emu else "",
                translation_share(r) if is_emu else "",
                verdict[e])) + " |")
    lines += ["", f"Steady state: seconds per extra iteration, (t(N={n2}) - t(N={n1})) / {n2 - n1}.", "",
              "| engine | s / iteration | vs qemu | vs native |", "|---|---:|---:|---:|"]
    per = {}
    for e in ENGINES:
        a, b = runs[e, n1], runs[e, n2]
        per[e] = (b.wall - a.wall) / (n2 - n1) if a and b and a.ok and b.ok else None
    for e in ENGINES:
        if runs[e, n1] is None:
            continue
        lines.append(f"| {e} | {fmt_s(per[e])} | {fmt_ratio(per[e], per['qemu']) if e != 'qemu' else ''} "
                     f"| {fmt_ratio(per[e], per['native']) if e != 'native' else ''} |")
    emu_runs = [runs[e, n] for e in ("emu-cold", "emu") for n in (n1, n2)
                if runs[e, n] and runs[e, n].stats]
    if emu_runs:
        lines += ["", "EMU_BLOCK_STATS (selected fields):"]
        for r in emu_runs:
            keep = {k: r.stats[k] for k in ("blocks_translated", "insns_translated", "insns_executed",
                                            "regions", "promotions", "cache_hits", "compile_s",
                                            "compile2_s", "lift_s", "links", "exits")
                    if k in r.stats}
            lines.append(f"- {r.engine} N={r.n}: `{json.dumps(keep, sort_keys=True)}`")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n1", type=int, default=2, help="smaller iteration count (default 2)")
    ap.add_argument("--n2", type=int, default=6, help="larger iteration count (default 6)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell, best time kept (default 1)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run (default 900)")
    ap.add_argument("--no-emu", action="store_true", help="only qemu and native (checks the benchmark)")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    if not 0 <= args.n1 < args.n2:
        ap.error("need 0 <= N1 < N2")

    try:
        binaries = {"aarch64": oracle.compile_c(SOURCE, "aarch64", FLAGS),
                    "native": oracle.compile_c(SOURCE, "native", FLAGS)}
        oracle.require_tool(oracle.QEMU)
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        print(f"benchmarks/run.py: {exc}", file=sys.stderr)
        return 1

    engines = [e for e in ENGINES if not (args.no_emu and e.startswith("emu"))]
    runs = {(e, n): None for e in ENGINES for n in (args.n1, args.n2)}
    warm = tempfile.mkdtemp(prefix="emu-warm-cache-")
    if "emu" in engines:
        print("priming the emu code cache (untimed run, N=1) ...", file=sys.stderr, flush=True)
        oracle.run_emu([binaries["aarch64"], 1], timeout=args.timeout, env={"EMU_CACHE_DIR": warm})
    for n in (args.n1, args.n2):
        for e in engines:
            print(f"running {e} N={n} ...", file=sys.stderr, flush=True)
            runs[e, n] = run_one(e, binaries, n, args.repeat, args.timeout, warm)
            r = runs[e, n]
            print(f"  {e} N={n}: {fmt_s(r.wall)} s {r.error}", file=sys.stderr, flush=True)

    text = (f"## cpu_bench: emu vs qemu-aarch64 vs native (N1={args.n1}, N2={args.n2}, "
            f"best of {args.repeat})\n\n" + table(runs, args.n1, args.n2) + "\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    good = all(r is None or r.ok for r in runs.values()) and all(
        v in ("ok", "not run") for n in (args.n1, args.n2) for v in output_check(runs, n).values())
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
