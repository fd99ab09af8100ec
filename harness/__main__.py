"""`python -m harness`: fetch guest packages, build fixtures, run regression lanes.

  python -m harness fetch PKG...              unpack Debian arm64 packages, print their roots
  python -m harness build FILE.c [-o OUT] [--native]   compile a fixture (cached), print the path
  python -m harness lane NAME [--out FILE.md]  run a lane, write its Markdown report
  python -m harness lane rootfs [--rootfs DIR] [--profile NAME]... [--row TEXT]... [--build]
  python -m harness lanes                      list the lanes
  python -m harness ledger [--check]           regenerate (or check) ISA_LEDGER.md
  python -m harness syscall-ledger [--check]   regenerate (or check) SYSCALL_LEDGER.md
  python -m harness risu [--streams N] [--seed S]   random instruction streams vs Unicorn
  python -m harness rootfs build DIR --profile NAME...   arm64 Debian rootfs (see harness/rootfs.py)
  python -m harness fuzz instructions|syscalls|faults [--count N] [--seed S]   the robustness
                                               campaign (harness/fuzz_insn.py, harness/fuzz_sys.py)
Exit status: 0 on success; 1 when a lane has a failing or unsupported row or a fetch/build
fails; 2 on bad usage.
"""
import argparse
import os
import sys
from pathlib import Path

from harness import fetch, lanes, ledger, oracle, risu, rootfs, syscall_ledger


def _cmd_fetch(args) -> int:
    status = 0
    for pkg in args.packages:
        try:
            print(fetch.fetch(pkg))
        except fetch.FetchError as exc:
            print(f"harness fetch: {pkg}: {exc}", file=sys.stderr)
            status = 1
    return status


def _cmd_build(args) -> int:
    try:
        path = oracle.compile_c(args.source, "native" if args.native else "aarch64", out=args.output)
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        print(f"harness build: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _cmd_lanes(args) -> int:
    for name, lane in lanes.LANES.items():
        print(f"{name:10} {lane.description}")
    return 0


def _cmd_lane(args) -> int:
    if args.timeout:
        oracle.DEFAULT_TIMEOUT = lanes.ROOTFS_TIMEOUT = args.timeout
    if args.rootfs:
        os.environ["EMU_ROOTFS"] = str(Path(args.rootfs).resolve())
    if args.profile:
        try:
            rootfs.with_requirements(args.profile)
        except rootfs.RootfsError as exc:
            print(f"harness lane: {exc}", file=sys.stderr)
            return 2
        lanes.ROOTFS_PROFILES = args.profile
    if args.row:
        lanes.ROW_FILTER = args.row
    if args.build and args.name == "rootfs":
        wanted = args.profile or list(rootfs.PROFILES)
        try:
            print(rootfs.build(rootfs.default_root(), wanted).summary(), file=sys.stderr)
        except (rootfs.RootfsError, fetch.FetchError) as exc:
            print(f"harness lane: building the rootfs failed: {exc}", file=sys.stderr)
            return 1
    def progress(o: lanes.Outcome):
        t = "" if o.emu_s is None else f" ({o.emu_s:.2f} s)"
        print(f"{o.status:11} {o.row}{t}{': ' + o.detail if o.detail else ''}", file=sys.stderr, flush=True)
    outcomes, seconds = lanes.run_lane(args.name, progress)
    if not outcomes:
        print(f"harness lane: no row of lane {args.name} matches --row {args.row}", file=sys.stderr)
        return 2
    report = lanes.markdown_report(args.name, outcomes, seconds)
    out = Path(args.out or oracle.REPO / "build" / "lanes" / f"{args.name}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print(f"report written to {out}", file=sys.stderr)
    return 0 if all(o.status == "pass" for o in outcomes) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fetch", help="fetch and unpack Debian arm64 packages (cached)")
    p.add_argument("packages", nargs="+", metavar="PKG")
    p.set_defaults(fn=_cmd_fetch)
    p = sub.add_parser("build", help="compile a C file for AArch64 (static -O2) or natively")
    p.add_argument("source")
    p.add_argument("-o", "--output", help="also copy the binary here")
    p.add_argument("--native", action="store_true", help="build for the host with gcc -O2")
    p.set_defaults(fn=_cmd_build)
    p = sub.add_parser("lane", help="run a lane and write its Markdown report")
    p.add_argument("name", choices=sorted(lanes.LANES))
    p.add_argument("--out", help="report file (default build/lanes/NAME.md)")
    p.add_argument("--timeout", type=float, help="seconds per program run")
    p.add_argument("--rootfs", metavar="DIR", help="lane rootfs: the rootfs to use (default "
                   "$EMU_ROOTFS or ~/.cache/emu/rootfs/bookworm-arm64)")
    p.add_argument("--profile", action="append", metavar="NAME",
                   help="lane rootfs: only the rows of this profile (repeatable)")
    p.add_argument("--row", action="append", metavar="TEXT",
                   help="only the rows whose name contains TEXT (repeatable)")
    p.add_argument("--build", action="store_true",
                   help="lane rootfs: first build the profiles the rows need (downloads)")
    p.set_defaults(fn=_cmd_lane)
    p = sub.add_parser("lanes", help="list the lanes")
    p.set_defaults(fn=_cmd_lanes)
    p = sub.add_parser("ledger", help="regenerate ISA_LEDGER.md (or --check it is current)")
    ledger.add_arguments(p)
    p.set_defaults(fn=ledger.main)
    p = sub.add_parser("syscall-ledger",
                       help="regenerate SYSCALL_LEDGER.md from kernel/table.py (or --check it)")
    syscall_ledger.add_arguments(p)
    p.set_defaults(fn=syscall_ledger.main)
    p = sub.add_parser("risu", help="random instruction streams, Unicorn vs the JIT")
    risu.add_arguments(p)
    p.set_defaults(fn=risu.main)
    p = sub.add_parser("rootfs", help="build an arm64 Debian bookworm rootfs from profiles")
    rootfs.add_arguments(p)
    p.set_defaults(fn=lambda a: rootfs.main(a, "python -m harness rootfs"))
    p = sub.add_parser("fuzz", help="robustness campaign: random instructions, syscalls, faults")
    p.add_argument("kind", choices=sorted(FUZZ_KINDS))
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that campaign (--help)")
    p.set_defaults(fn=_cmd_fuzz)
    args = parser.parse_args(argv)
    return args.fn(args)


# campaign -> module whose cli(argv, prog) -> exit status runs it
FUZZ_KINDS = {"instructions": "harness.fuzz_insn", "syscalls": "harness.fuzz_sys",
              "faults": "harness.fuzz_sys"}


def _cmd_fuzz(args) -> int:
    import importlib
    mod = importlib.import_module(FUZZ_KINDS[args.kind])
    return mod.cli(args.kind, args.rest, f"python -m harness fuzz {args.kind}")


if __name__ == "__main__":
    sys.exit(main())
