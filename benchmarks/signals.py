#!/usr/bin/env python3
"""Signal delivery cost of emu against qemu-aarch64 and native x86-64, in one run.

    python3 benchmarks/signals.py [--n 10000] [--repeat 3]

Builds benchmarks/signal_bench.c (N raise() to a handler, then N signals handed to a thread
that computes, each acknowledged through a semaphore) for AArch64 (static) and natively, runs
it under emu (warm code cache: one untimed run first), qemu-aarch64 and natively, checks that
all three print the same counts, and prints a Markdown table: best wall time of --repeat runs,
microseconds per delivered signal (2N of them, start-up included), emu/qemu and emu/native.
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

SOURCE = Path(__file__).resolve().parent / "signal_bench.c"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args(argv)
    exe = oracle.compile_c(SOURCE)
    native = oracle.compile_c(SOURCE, "native")
    args = [str(ns.n)]
    ok, best, outs = True, {}, {}
    with tempfile.TemporaryDirectory() as cache:
        env = {"EMU_CACHE_DIR": cache}
        engines = {
            "emu": lambda: oracle.run_emu([exe, *args], env=env, timeout=3600),
            "qemu": lambda: oracle.run_qemu([exe, *args], timeout=3600),
            "native": lambda: oracle.run_native([native, *args], timeout=3600),
        }
        engines["emu"]()                                    # warm the code cache
        for name, run in engines.items():
            for _ in range(ns.repeat):
                t0 = time.perf_counter()
                r = run()
                dt = time.perf_counter() - t0
                if r.status != 0:
                    ok = False
                    print(f"{name}: {r.describe()}", file=sys.stderr)
                outs.setdefault(name, r.stdout)
                best[name] = min(best.get(name, dt), dt)
    if len(set(outs.values())) != 1:
        ok = False
        print(f"outputs differ: {outs}", file=sys.stderr)
    per = {k: v / (2 * ns.n) * 1e6 for k, v in best.items()}
    print(f"| engine | wall s (best of {ns.repeat}) | us per signal | emu / this |")
    print("|---|---:|---:|---:|")
    for k in ("emu", "qemu", "native"):
        print(f"| {k} | {best[k]:.3f} | {per[k]:.1f} | {best['emu'] / best[k]:.1f}x |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
