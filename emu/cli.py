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
    r.add_argument("-0", dest="argv0", metavar="ARGV0",
                   help="the guest's argv[0] (default: PROGRAM as given)")
    r.add_argument("--aslr", action="store_true",
                   help="load PIE programs at a random base (EMU_ASLR=1; default: fixed, as qemu)")
    r.add_argument("--strace", action="store_true", help="log every guest syscall on stderr")
    r.add_argument("--stats", action="store_true",
                   help="print EMU_BLOCK_STATS {json} on stderr at exit (also EMU_BLOCK_STATS=1)")
    r.add_argument("--no-cache", action="store_true",
                   help="do not use the on-disk cache of compiled code (EMU_CACHE_DIR)")
    r.add_argument("--no-batch", action="store_true", help="translate one block per LLVM module")
    r.add_argument("--tier", default="auto", choices=("auto", "1", "2"),
                   help="auto: quick tier-1 code, hot regions recompiled optimised (default); "
                        "1 or 2: one tier only")
    # Set by a guest execve (kernel/process.py), which re-runs emu on the new program:
    r.add_argument("--environ-fd", type=int, help=argparse.SUPPRESS)   # guest envp, NUL-separated
    r.add_argument("--execfn", help=argparse.SUPPRESS)                 # AT_EXECFN
    r.add_argument("--fd", action="append", default=[], help=argparse.SUPPRESS)  # GUEST:HOST
    r.add_argument("--signals", help=argparse.SUPPRESS)  # MASK:IGNORED:PENDING (hex)
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


def _private_stderr():
    """Emulator messages (--strace, --stats, fatal signals) go to a private copy of stderr:
    the guest owns descriptor 2 and may close or redirect it (GNU tools close it at exit),
    which must neither lose those messages nor turn the exit status into Python's 120."""
    import fcntl
    try:
        fd = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 100)
    except OSError:
        return
    sys.stderr.flush()
    sys.stderr = open(fd, "w", buffering=1, errors="backslashreplace", closefd=True)


def _environ_from_fd(fd):
    data = b""
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    return [e for e in data.split(b"\0") if e]


def _fd_map(items):
    out = []
    for item in items:
        g, _, h = item.partition(":")
        if not (g.isdigit() and h.isdigit()):
            raise SystemExit(_fail(f"--fd expects GUEST:HOST, got {item!r}"))
        out.append((int(g), int(h)))
    return out


_RUN_VALUE_OPTS = {"-L", "-E", "-U", "-0", "--tier", "--environ-fd", "--execfn", "--fd",
                   "--signals"}


def _protect_guest_args(argv):
    """`run ... PROGRAM ARGS`: put `--` before PROGRAM so that argparse leaves every guest
    argument alone (it would drop the first `--` among them)."""
    if not argv or argv[0] != "run" or "--" in argv[:1]:
        return argv
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv
        if a in _RUN_VALUE_OPTS:
            i += 2
            continue
        if a.startswith("-") and a != "-":
            i += 1
            continue
        return argv[:i] + ["--"] + argv[i:]
    return argv


def _signal_state(text):
    if text is None:
        return None
    try:
        mask, ignored, pending = (int(x, 16) for x in text.split(":"))
    except ValueError:
        raise SystemExit(_fail(f"--signals expects MASK:IGNORED:PENDING in hex, got {text!r}"))
    return mask, ignored, pending


def main(argv=None):
    parser = build_parser()
    ns = parser.parse_args(_protect_guest_args(sys.argv[1:] if argv is None else list(argv)))
    if ns.cmd == "rootfs":
        from harness import rootfs
        return rootfs.main(ns)
    if ns.cmd != "run":
        return _fail("usage: emu run [-L ROOTFS] [-E VAR=VAL] PROGRAM [ARGS...]")
    if ns.rootfs and not os.path.isdir(ns.rootfs):
        return _fail(f"-L {ns.rootfs}: not a directory")
    _private_stderr()
    from emu import runtime      # deferred: keeps `emu --help` and errors fast
    if ns.environ_fd is not None:
        try:
            envp = _environ_from_fd(ns.environ_fd)
        except OSError as e:
            return _fail(f"--environ-fd {ns.environ_fd}: {e.strerror}")
    else:
        envp = guest_environment(ns.setenv, ns.unsetenv)
    stats = ns.stats or os.environ.get("EMU_BLOCK_STATS", "") not in ("", "0")
    if ns.aslr:
        os.environ["EMU_ASLR"] = "1"     # after the guest's environment; execve'd emus inherit it
    argv0 = ns.program if ns.argv0 is None else ns.argv0
    args = ns.args
    try:
        proc = runtime.Process.create(ns.program, [argv0] + args, envp,
                                      rootfs=ns.rootfs, strace=ns.strace, stats=stats,
                                      batch=not ns.no_batch, code_cache=not ns.no_cache,
                                      tiering=ns.tier if ns.tier == "auto" else int(ns.tier),
                                      execfn=ns.execfn, fds=_fd_map(ns.fd),
                                      signals=_signal_state(ns.signals))
    except runtime.LoadError as e:
        return _fail(str(e))
    return proc.run()


if __name__ == "__main__":
    sys.exit(main())
