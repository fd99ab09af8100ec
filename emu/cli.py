"""Command line: `emu run [-L ROOTFS] [-E VAR=VAL] [-U VAR] [--strace] [--stats] PROGRAM ARGS...`.

Owns: argument parsing, turning bad input into one error line and exit
status 2, and handing a prepared guest to emu.runtime.  Does not own: any
part of running the guest.
"""
import argparse
import os
import sys

USAGE_STATUS = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise SystemExit(_fail(f"{self.prog}: {message}"))


def _fail(msg):
    sys.stderr.write(f"emu: {msg}\n" if not msg.startswith("emu") else msg + "\n")
    return USAGE_STATUS


def build_parser():
    p = _Parser(prog="emu", description="AArch64 Linux user-mode emulator (LLVM JIT)")
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="run an AArch64 Linux ELF")
    r.add_argument("-L", dest="rootfs", metavar="ROOTFS",
                   help="guest root: absolute guest paths resolve here first")
    r.add_argument("-E", dest="setenv", action="append", default=[], metavar="VAR=VAL",
                   help="set a variable in the guest environment")
    r.add_argument("-U", dest="unsetenv", action="append", default=[], metavar="VAR",
                   help="remove a variable from the guest environment")
    r.add_argument("--strace", action="store_true", help="log every guest syscall on stderr")
    r.add_argument("--stats", action="store_true",
                   help="print EMU_BLOCK_STATS {json} on stderr at exit (also EMU_BLOCK_STATS=1)")
    r.add_argument("--no-cache", action="store_true",
                   help="do not use the on-disk cache of compiled code (EMU_CACHE_DIR)")
    r.add_argument("--no-batch", action="store_true", help="translate one block per LLVM module")
    r.add_argument("--tier", default="auto", choices=("auto", "1", "2"),
                   help="auto: quick tier-1 code, hot regions recompiled optimised (default); "
                        "1 or 2: one tier only")
    r.add_argument("program")
    r.add_argument("args", nargs=argparse.REMAINDER)
    f = sub.add_parser("rootfs", help="build an arm64 Debian bookworm rootfs (emu rootfs build "
                                      "DIR --profile NAME)")
    from harness import rootfs
    rootfs.add_arguments(f)
    return p


def guest_environment(setenv, unsetenv):
    env = dict(os.environ)
    for item in setenv:
        if "=" not in item:
            raise SystemExit(_fail(f"-E expects VAR=VALUE, got {item!r}"))
        k, v = item.split("=", 1)
        env[k] = v
    for k in unsetenv:
        env.pop(k, None)
    return [f"{k}={v}" for k, v in env.items()]


def main(argv=None):
    parser = build_parser()
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if ns.cmd == "rootfs":
        from harness import rootfs
        return rootfs.main(ns)
    if ns.cmd != "run":
        return _fail("usage: emu run [-L ROOTFS] [-E VAR=VAL] PROGRAM [ARGS...]")
    if ns.rootfs and not os.path.isdir(ns.rootfs):
        return _fail(f"-L {ns.rootfs}: not a directory")
    from emu import runtime      # deferred: keeps `emu --help` and errors fast
    envp = guest_environment(ns.setenv, ns.unsetenv)
    stats = ns.stats or os.environ.get("EMU_BLOCK_STATS", "") not in ("", "0")
    try:
        proc = runtime.Process.create(ns.program, [ns.program] + ns.args, envp,
                                      rootfs=ns.rootfs, strace=ns.strace, stats=stats,
                                      batch=not ns.no_batch, code_cache=not ns.no_cache,
                                      tiering=ns.tier if ns.tier == "auto" else int(ns.tier))
    except runtime.LoadError as e:
        return _fail(str(e))
    return proc.run()


if __name__ == "__main__":
    sys.exit(main())
