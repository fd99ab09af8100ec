#!/usr/bin/env python3
"""Thread scaling of emu against qemu-aarch64 and native x86-64, in one run.

    python3 benchmarks/threads.py [--iters 200000000] [--repeat 3] [--threads 1,2]

Builds benchmarks/thread_bench.c (T threads, each the same CPU-bound loop of ITERS iterations)
for AArch64 (static) and natively, runs it with 1 and 2 threads under emu (warm code cache:
one untimed run first), qemu-aarch64 and natively, checks that the engines print the same,
and prints a Markdown table: best wall time of --repeat runs, throughput of T threads relative
to one thread (T * t(1) / t(T): 2.0 is perfect scaling on 2 cores), and emu/qemu, emu/native.
Exit status 0 when every run succeeded with identical output.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness import oracle  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "thread_bench.c"


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=200_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ns = ap.parse_args(argv)
    counts = [int(x) for x in ns.threads.split(",")]
    exe = oracle.compile_c(SOURCE)
    native = oracle.compile_c(SOURCE, "native")
    ok = True
    rows = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {"EMU_CACHE_DIR": cache}
        engines = {
            "emu": lambda t: oracle.run_emu([exe, str(t), str(ns.iters)], env=env, timeout=3600),
            "qemu": lambda t: oracle.run_qemu([exe, str(t), str(ns.iters)], timeout=3600),
            "native": lambda t: oracle.run_native([native, str(t), str(ns.iters)], timeout=3600),
        }
        oracle.run_emu([exe, "1", str(ns.iters)], env=env, timeout=3600)   # warm the code cache (tier 2 too)
        for name, run in engines.items():
            for t in counts:
                best, out = None, None
                for _ in range(ns.repeat):
                    dt, r = timed(lambda: run(t))
                    if r.status != 0:
                        ok = False
                        print(f"{name} T={t}: {r.describe()}", file=sys.stderr)
                    best = dt if best is None else min(best, dt)
                    out = r.stdout
                rows[name, t] = (best, out)
    print(f"#### thread_bench: {ns.iters} iterations per thread, best of {ns.repeat}\n")
    print("| engine | threads | wall s | throughput vs 1 thread | emu/qemu | emu/native | output |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in ("emu", "qemu", "native"):
        for t in counts:
            wall, out = rows[name, t]
            same = out == rows["native", t][1]
            ok &= same
            scale = t * rows[name, 1][0] / wall if 1 in counts else float("nan")
            vs_q = f"{wall / rows['qemu', t][0]:.2f}x" if name == "emu" else ""
            vs_n = f"{wall / rows['native', t][0]:.2f}x" if name == "emu" else ""
            print(f"| {name} | {t} | {wall:.3f} | {scale:.2f}x | {vs_q} | {vs_n} | "
                  f"{'ok' if same else 'DIFFERS'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
