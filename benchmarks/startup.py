#!/usr/bin/env python3
"""Start-up cost of real programs from a Debian arm64 rootfs: emu (cold and warm code cache)
against qemu-aarch64, in one run.

    python3 benchmarks/startup.py --rootfs DIR [--baseline CHECKOUT] [--only NAME ...] [--out FILE]

Each row is a short command (python3 -c, bash -c, perl -e ...) run under `qemu-aarch64 -L DIR`
and under `python -m emu run -L DIR --stats`: once with an empty code cache (emu-cold: all the
code it runs is translated in the run) and once more with the cache that run left (emu-warm).
`--baseline CHECKOUT` also runs emu from another checkout (e.g. a `git worktree` of an older
commit), cold, so a before/after ratio comes from the same machine and the same minutes.
Outputs must be identical to qemu's; a row whose program is missing from the rootfs is
reported as unsupported, never skipped.  Times are user+system CPU seconds of the process
tree (the machine may be shared; CPU time is what translation costs) and wall seconds.
The rootfs comes from `python3 -m emu rootfs build DIR --profile base --profile python
--profile scripting --profile data`.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATS_RE = re.compile(rb"^EMU_BLOCK_STATS (\{.*\})\s*$", re.M)

ROWS = [
    ("bash -c loop", ["/bin/bash", "-c", "for i in 1 2 3; do echo $((i * i)); done"]),
    ("python3 -c", ["/usr/bin/python3", "-c", "print(6*7)"]),
    ("perl -e", ["/usr/bin/perl", "-e", "print join(',', map { $_ * 2 } 1..5), \"\\n\""]),
    ("lua5.4 -e", ["/usr/bin/lua5.4", "-e", "print(string.format('%.3f', math.pi))"]),
    ("sqlite3", ["/usr/bin/sqlite3", ":memory:", "select 6*7;"]),
]


def _timed(cmd, env, timeout):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, b"", b"", time.perf_counter() - t0, None
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, p.stdout, p.stderr, wall, cpu


def _emu(checkout, rootfs, argv, cache, timeout):
    env = dict(os.environ, PYTHONPATH=str(checkout), EMU_CACHE_DIR=str(cache))
    return _timed([sys.executable, "-m", "emu", "run", "--stats", "-L", str(rootfs), *argv], env,
                  timeout)


def _stats(stderr):
    m = STATS_RE.findall(stderr)
    return json.loads(m[-1]) if m else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rootfs", required=True, type=Path)
    ap.add_argument("--baseline", type=Path, help="another emu checkout, run cold")
    ap.add_argument("--only", nargs="*", help="row names to run")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out", type=Path)
    ns = ap.parse_args()
    if not (ns.rootfs / "bin").exists():
        print(f"startup.py: {ns.rootfs} is not a rootfs (no bin/)", file=sys.stderr)
        return 2
    lines = ["| program | qemu cpu s | emu cold cpu s | emu warm cpu s | cold/qemu | warm/qemu |"
             + (" baseline cold cpu s | baseline/cold |" if ns.baseline else "")
             + " insns translated cold | output |",
             "|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if ns.baseline else "") + "---:|---|"]
    status = 0
    for name, argv in ROWS:
        if ns.only and name not in ns.only:
            continue
        host = ns.rootfs / argv[0].lstrip("/")
        if not host.exists():
            lines.append(f"| {name} | unsupported: {argv[0]} not in the rootfs |")
            continue
        q = _timed(["qemu-aarch64", "-L", str(ns.rootfs), str(host), *argv[1:]], None, ns.timeout)
        with tempfile.TemporaryDirectory(prefix="emu-startup-") as d:
            cold = _emu(REPO, ns.rootfs, argv, Path(d) / "new", ns.timeout)
            warm = _emu(REPO, ns.rootfs, argv, Path(d) / "new", ns.timeout)
            base = (_emu(ns.baseline, ns.rootfs, argv, Path(d) / "old", ns.timeout)
                    if ns.baseline else None)
        runs = [cold, warm] + ([base] if base else [])
        same = all(r[0] == q[0] and r[1] == q[1] for r in runs)
        status |= 0 if same else 1
        print(f"{name}: qemu {q[4]:.2f}s cold {cold[4]:.2f}s warm {warm[4]:.2f}s"
              + (f" baseline {base[4]:.2f}s" if base else ""), file=sys.stderr)
        row = (f"| {name} | {q[4]:.2f} | {cold[4]:.2f} | {warm[4]:.2f} | {cold[4] / q[4]:.0f}x "
               f"| {warm[4] / q[4]:.1f}x |")
        if base:
            row += f" {base[4]:.2f} | {base[4] / cold[4]:.1f}x |"
        row += f" {_stats(cold[2]).get('insns_translated', '?')} | {'ok' if same else 'DIFFERS'} |"
        lines.append(row)
    out = "\n".join(lines) + "\n"
    print(out)
    if ns.out:
        ns.out.write_text(out)
    return status


if __name__ == "__main__":
    sys.exit(main())
