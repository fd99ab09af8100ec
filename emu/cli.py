"""Command line: qemu-aarch64's, plus emu's subcommands.

    emu [options] PROGRAM [ARGS...]        run an AArch64 Linux program, as qemu-aarch64 does
    emu run [options] PROGRAM [ARGS...]    the same (for a PROGRAM named like a subcommand)
    emu rootfs build DIR --profile NAME    build an arm64 Debian rootfs (harness/rootfs.py)

Options are qemu-aarch64's single-dash spellings (`-L`, `-E A=1,B=2`, `-strace`, `-d strace`,
`-D FILE`, `-cpu max`, `-seed N`, `-s SIZE`...; `--x` is read as `-x`, as qemu does), and
emu's own (`--aslr`, `--stats`); the table OPTIONS is what `emu -h` prints.  Each option
with a variable can also come from the environment, EMU_<NAME> first, then qemu's
QEMU_<NAME>; the command line wins over both.  Options end at the first argument that is
not one (or after `--`): that is PROGRAM, and everything after it goes to the guest as is.

Exit statuses, as the shell and env(1) give them:
    the guest's own   the guest ran (killed by signal N: emu dies of N too)
    127               PROGRAM, or its ELF interpreter, does not exist
    126               PROGRAM cannot be executed: a directory, no execute permission (EACCES,
                      as Linux), not an AArch64 ELF, a truncated or malformed ELF
    125               emu's own error before the guest starts: bad usage, an unknown,
                      unsupported or malformed option
    `emu rootfs` keeps its own: 2 bad input, 1 failure.
Every error is one `emu:` line on stderr, never a traceback.

Owns: parsing, the statuses above, the log destination (-D) and items (-d), and handing a
prepared guest to emu.runtime (with the options a guest execve must pass on, through
EMU_* variables of emu's own environment).  Does not own: any part of running the guest.
"""
import argparse
import errno
import os
import stat
import sys
from collections import Counter, namedtuple

STATUS_NOT_FOUND = 127
STATUS_NOT_EXECUTABLE = 126
STATUS_EMU_ERROR = 125
ROOTFS_USAGE_STATUS = 2          # `emu rootfs`: as harness/rootfs.py's own errors

USAGE = "usage: emu [options] PROGRAM [ARGS...]"


class UsageError(Exception):
    """Bad input to emu itself: one line, STATUS_EMU_ERROR."""


def _fail(msg, status=STATUS_EMU_ERROR):
    sys.stderr.write(msg if msg.startswith("emu") else f"emu: {msg}")
    sys.stderr.write("\n")
    return status


# --- the options ------------------------------------------------------------------------------
# names: the spellings (the first is the one help shows); env: the variable's NAME (EMU_NAME,
# alias QEMU_NAME) or None; arg: the value's metavar, None for a flag; kind: "user" (shown
# by -h), "dev" (developer options: working, not shown) or "exec" (set by a guest execve).
Opt = namedtuple("Opt", "names env arg dest kind help")
OPTIONS = (
    Opt(("-h", "-help"), None, None, "help", "user", "print this help and exit"),
    Opt(("-L",), "LD_PREFIX", "path", "rootfs", "user",
        "guest root: absolute guest paths (the ELF interpreter too) resolve here first"),
    Opt(("-E",), "SET_ENV", "var=value", "setenv", "user",
        "set guest environment variables (comma-separated, repeatable)"),
    Opt(("-U",), "UNSET_ENV", "var", "unsetenv", "user",
        "unset guest environment variables (comma-separated, repeatable)"),
    Opt(("-0",), "ARGV0", "argv0", "argv0", "user",
        "the guest's argv[0] (default: PROGRAM as given)"),
    Opt(("-s",), "STACK_SIZE", "size", "stack_size", "user",
        "stack size in bytes, k/M/G suffixes (default 8M, at least 128k)"),
    Opt(("-cpu",), "CPU", "model", "cpu", "user", "CPU model: max (-cpu help lists them)"),
    Opt(("-r",), "UNAME", "uname", "uname", "user", "the uname release the guest sees"),
    Opt(("-strace",), "STRACE", None, "strace", "user", "log every guest syscall, as strace"),
    Opt(("-d",), "LOG", "item[,...]", "log", "user",
        "log items: strace, unimp, page (-d help lists them)"),
    Opt(("-D",), "LOG_FILENAME", "logfile", "logfile", "user",
        "write -strace and -d logs to logfile (default stderr)"),
    Opt(("-seed",), "RAND_SEED", "seed", "seed", "user",
        "seed the guest's AT_RANDOM bytes: reproducible runs"),
    Opt(("-p",), "PAGESIZE", "pagesize", "pagesize", "user", "page size: only 4096"),
    Opt(("-singlestep",), "SINGLESTEP", None, "singlestep", "user",
        "accepted; no effect (emu has no per-instruction log)"),
    Opt(("-g",), "GDB", "port", "gdb", "user", "gdb stub: not implemented yet"),
    Opt(("-B",), "GUEST_BASE", "address", "guest_base", "user", "guest base: not supported"),
    Opt(("-R",), "RESERVED_VA", "size", "reserved_va", "user",
        "reserved guest address space: not supported"),
    Opt(("-dfilter",), "DFILTER", "range[,...]", "dfilter", "user", "log filter: not supported"),
    Opt(("-trace",), "TRACE", "pattern", "trace", "user", "trace events: not supported"),
    Opt(("-plugin",), "PLUGIN", "file", "plugin", "user", "TCG plugins: not supported"),
    Opt(("--aslr",), "ASLR", None, "aslr", "user",
        "load PIE programs at a random base (default: fixed, as qemu)"),
    Opt(("--stats",), "BLOCK_STATS", None, "stats", "user",
        "print EMU_BLOCK_STATS {json} on stderr at exit"),
    Opt(("-version",), None, None, "version", "user",
        "print emu's, llvmlite's/LLVM's and capstone's versions and exit"),
    # Developer options (README): working, not in -h.
    Opt(("--no-cache",), None, None, "no_cache", "dev",
        "do not use the on-disk cache of compiled code (EMU_CACHE_DIR)"),
    Opt(("--no-batch",), None, None, "no_batch", "dev", "translate one block per LLVM module"),
    Opt(("--tier",), None, "auto|1|2", "tier", "dev",
        "auto: quick tier-1 code, hot regions recompiled optimised; 1 or 2: one tier only"),
    # Set by a guest execve (kernel/process.py), which re-runs emu on the new program.
    Opt(("--environ-fd",), None, "fd", "environ_fd", "exec", "the guest envp, NUL-separated"),
    Opt(("--execfn",), None, "path", "execfn", "exec", "AT_EXECFN"),
    Opt(("--fd",), None, "guest:host", "fd", "exec", "a descriptor handed over (repeatable)"),
    Opt(("--signals",), None, "mask:ignored:pending", "signals", "exec", "signal state (hex)"),
)
_BY_NAME = {n.lstrip("-"): o for o in OPTIONS for n in o.names}
_REPEATED = {"fd"}
_ENV_EDITS = {"setenv", "unsetenv"}
_ENV_PREFIXES = ("EMU_", "QEMU_")

# -d items: qemu's names (qemu-aarch64 -d help) and whether emu writes them.
LOG_ITEMS = (
    ("strace", True, "log every guest syscall, its arguments and result (as -strace)"),
    ("unimp", True, "log syscalls and ioctls emu does not implement"),
    ("page", True, "print the guest's memory layout when it starts"),
    ("guest_errors", False, "log when the guest does something invalid"),
    ("in_asm", False, "guest code of each translated block"),
    ("out_asm", False, "host code of each translated block"),
    ("op", False, "intermediate code of each block"),
    ("op_opt", False, "intermediate code after optimization"),
    ("op_ind", False, "intermediate code before indirect lowering"),
    ("int", False, "interrupts and exceptions"),
    ("exec", False, "each executed block"),
    ("cpu", False, "CPU registers before each block"),
    ("fpu", False, "FPU registers with cpu"),
    ("mmu", False, "MMU activity"),
    ("pcall", False, "x86 only"),
    ("cpu_reset", False, "CPU state at reset"),
    ("nochain", False, "do not chain blocks"),
    ("plugin", False, "output from TCG plugins"),
    ("tid", False, "one log file per thread"),
)
_LOG_ITEMS = {name: produced for name, produced, _ in LOG_ITEMS}
CPU_MODELS = ("max",)
MIN_STACK = 128 << 10           # qemu's STACK_LOWER_LIMIT (32 pages)
PAGE_SIZE = 4096
AT_RANDOM = 25


def help_text():
    rows = []
    for o in OPTIONS:
        if o.kind != "user":
            continue
        arg = f"{o.names[0]} {o.arg}" if o.arg else o.names[0]
        env = f"EMU_{o.env}" if o.env else ""
        rows.append(f"{arg:<20} {env:<18} {o.help}")
    return "\n".join([
        USAGE,
        "       emu run [options] PROGRAM [ARGS...]   (the same; a PROGRAM named like a "
        "subcommand)",
        "       emu rootfs build DIR --profile NAME   (an arm64 Debian rootfs: emu rootfs -h)",
        "AArch64 Linux user-mode emulator (LLVM JIT), with qemu-aarch64's options.",
        "",
        "Options and their environment variables (QEMU_<NAME> is read too; the command",
        "line wins; a flag's variable is on unless empty or 0; --option is -option):",
        "",
        f"{'Argument':<20} {'Env-variable':<18} Description",
        *rows,
        "",
        "-E and -U take comma-separated lists (A=1,B=2) and repeat; the last change to a",
        "variable stays in effect.  Everything after PROGRAM goes to the guest unchanged.",
        "Exit status: the guest's; 127 PROGRAM not found, 126 PROGRAM not executable or",
        "not an AArch64 ELF, 125 emu's own error (bad usage or option).",
    ]) + "\n"


def version_text():
    from importlib import metadata

    def dist(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"
    try:
        from llvmlite import binding
        llvm = ".".join(map(str, binding.llvm_version_info))
    except Exception:           # noqa: BLE001 -- a version line must come out regardless
        llvm = "unknown"
    return (f"emu {_emu_version()} (llvmlite {dist('llvmlite')}, LLVM {llvm}, "
            f"capstone {dist('capstone')})\n")


def _emu_version():
    from importlib import metadata
    try:
        return metadata.version("emu")
    except metadata.PackageNotFoundError:
        pass
    try:                        # a checkout not installed: its pyproject.toml
        import tomllib
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(here, "pyproject.toml"), "rb") as f:
            return tomllib.load(f)["project"]["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"


# --- parsing ------------------------------------------------------------------------------------
def _flag_on(text):
    return text not in ("", "0")


def parse(argv, environ=None):
    """argv (after `emu` or `emu run`) -> (settings dict, PROGRAM or None, guest args).
    Environment variables first (EMU_ then QEMU_), then the command line in order."""
    environ = os.environ if environ is None else environ
    settings = {o.dest: ([] if o.dest in _REPEATED else None) for o in OPTIONS}
    settings["env_edits"] = []
    for o in OPTIONS:
        if not o.env:
            continue
        for prefix in _ENV_PREFIXES:
            text = environ.get(prefix + o.env)
            if text is None:
                continue
            if o.arg is None:
                _set(settings, o, _flag_on(text))
            else:
                _set(settings, o, text)
            break
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        key = a[2:] if a.startswith("--") else a[1:]
        key, eq, inline = key.partition("=") if a.startswith("--") else (key, "", "")
        o = _BY_NAME.get(key)
        if o is None:
            raise UsageError(f"unknown option '{a}' (emu -h lists them)")
        if o.arg is None:
            if eq:
                raise UsageError(f"option '{a.partition('=')[0]}' takes no value")
            _set(settings, o, True)
        else:
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise UsageError(f"missing argument for option '{a}'")
            _set(settings, o, value)
        i += 1
    rest = argv[i:]
    return settings, (rest[0] if rest else None), rest[1:]


def _set(settings, o, value):
    if o.dest in _ENV_EDITS:                # -E and -U: one list, in the order given
        settings["env_edits"].append((o.dest, value))
    elif o.dest in _REPEATED:
        settings[o.dest].append(value)
    else:
        settings[o.dest] = value


def env_changes(edits):
    """[("setenv"|"unsetenv", text)] -> [(name, value, or None to unset)] in order, each
    text split on commas as qemu does (no escape: a value cannot hold a comma)."""
    out = []
    for kind, item in edits:
        for part in item.split(","):
            if kind == "setenv":
                if "=" not in part:
                    raise UsageError(f"-E expects VAR=VALUE, got {part!r}")
                k, v = part.split("=", 1)
                out.append((k, v))
            else:
                if "=" in part or not part:
                    raise UsageError(f"-U expects a variable name, got {part!r}")
                out.append((part, None))
    return out


def guest_environment(changes, base=None):
    env = dict(os.environ if base is None else base)
    for k, v in changes:
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return [f"{k}={v}" for k, v in env.items()]


def parse_size(text, what):
    """qemu's sizes: a number (0x.. too) with an optional k/K, M or G suffix."""
    t = text.strip()
    scale = 1
    if t and t[-1] in "kKMG":
        scale = {"k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[t[-1]]
        t = t[:-1]
    try:
        n = int(t, 0)
    except ValueError:
        raise UsageError(f"{what}: not a size: {text!r}") from None
    if n <= 0:
        raise UsageError(f"{what}: size must be positive, got {text!r}")
    return n * scale


def parse_log_items(text):
    """-d ITEMS -> (items emu writes, items it does not); an unknown item is a UsageError."""
    made, not_made = [], []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        if item.startswith("trace:"):
            not_made.append(item)
            continue
        if item not in _LOG_ITEMS:
            raise UsageError(f"-d: unknown log item {item!r} (emu -d help lists them)")
        (made if _LOG_ITEMS[item] else not_made).append(item)
    return made, not_made


def log_items_help():
    lines = ["Log items (comma separated):"]
    for name, produced, what in LOG_ITEMS:
        lines.append(f"{name:<15} {what}{'' if produced else ' (not produced by emu yet)'}")
    return "\n".join(lines) + "\n"


def parse_cpu(text):
    """-cpu MODEL[,PROP=VALUE...] -> the properties emu ignores (that ask for something)."""
    model, *props = text.split(",")
    if model not in CPU_MODELS:
        raise UsageError(f"-cpu: unknown CPU model {model!r} (emu -cpu help lists them)")
    return [p for p in props if not p.endswith("=off")]


def parse_seed(text):
    try:
        return int(text, 0)
    except ValueError:
        try:
            return int(text, 8 if text.startswith("0") else 10)
        except ValueError:
            raise UsageError(f"-seed: not a number: {text!r}") from None


_UNSUPPORTED = {
    "gdb": "-g: the gdb stub is not implemented yet",
    "guest_base": "-B: setting the guest base is not supported (emu places guest memory "
                  "itself)",
    "reserved_va": "-R: reserving guest address space is not supported (emu reserves 2**40 "
                   "bytes)",
    "dfilter": "-dfilter: log filters are not supported",
    "trace": "-trace: trace events are not supported",
    "plugin": "-plugin: TCG plugins are not supported",
}


# --- the program ----------------------------------------------------------------------------------
def check_program(program, rootfs):
    """(host path, None) or (None, (status, message)): the checks execve makes before loading."""
    from emu import loader
    host = loader._resolve(program, rootfs)
    try:
        st = os.stat(host)
    except OSError as e:
        status = STATUS_NOT_FOUND if e.errno == errno.ENOENT else STATUS_NOT_EXECUTABLE
        return None, (status, f"{program}: {os.strerror(e.errno)}")
    if stat.S_ISDIR(st.st_mode):
        return None, (STATUS_NOT_EXECUTABLE, f"{program}: Is a directory")
    if not stat.S_ISREG(st.st_mode) or not os.access(host, os.X_OK):
        return None, (STATUS_NOT_EXECUTABLE, f"{program}: {os.strerror(errno.EACCES)}")
    return host, None


def _load_error_status(host, rootfs):
    from emu import loader
    try:
        return STATUS_NOT_FOUND if loader.check_exec(host, rootfs) == errno.ENOENT \
            else STATUS_NOT_EXECUTABLE
    except Exception:           # noqa: BLE001 -- the status of an error must not be one
        return STATUS_NOT_EXECUTABLE


# --- helpers for the run ------------------------------------------------------------------------
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


def _open_log(path, append):
    """-D FILE, opened once per emu (a guest execve appends), on a descriptor the guest's
    numbers do not reach."""
    import fcntl
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | (0 if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o644)
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
    finally:
        os.close(fd)
    return open(high, "w", buffering=1, errors="backslashreplace", closefd=True)


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
            raise UsageError(f"--fd expects GUEST:HOST, got {item!r}")
        out.append((int(g), int(h)))
    return out


def _signal_state(text):
    if text is None:
        return None
    try:
        mask, ignored, pending = (int(x, 16) for x in text.split(":"))
    except ValueError:
        raise UsageError(f"--signals expects MASK:IGNORED:PENDING in hex, got {text!r}") from None
    return mask, ignored, pending


class _LoggedCounter(Counter):
    """Kernel.unknown_syscalls / unknown_ioctls under -d unimp: each count also logs a line
    (qemu's `Unsupported syscall: N`)."""

    def __init__(self, counts, log, text):
        super().__init__(counts)
        self._log, self._text = log, text

    def __setitem__(self, key, value):
        if value > self.get(key, 0):
            try:
                self._log.write(self._text(key) + "\n")
                self._log.flush()
            except (OSError, ValueError):
                pass
        super().__setitem__(key, value)


def page_layout(space):
    """-d page: the guest's mappings as qemu prints them."""
    lines = [f"{'start':<16} {'end':<16} {'size':<16} prot"]
    for v in list(space.vmas):
        lines.append(f"{v.start:016x}-{v.end:016x} {v.end - v.start:016x} {v.perms()[:3]}")
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------
def main(argv=None):
    argv = sys.argv[1:] if argv is None else [os.fsdecode(a) for a in argv]
    try:
        if argv and argv[0] == "rootfs":
            return _rootfs(argv[1:])
        if argv and argv[0] == "run":
            argv = argv[1:]
        return _run(argv)
    except UsageError as e:
        return _fail(str(e))
    except KeyboardInterrupt:   # Ctrl-C before the guest runs: die of SIGINT, no traceback
        import signal
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 128 + signal.SIGINT
    except BrokenPipeError:     # `emu -h | head`
        return 0


class _RootfsParser(argparse.ArgumentParser):
    def error(self, message):
        raise SystemExit(_fail(f"{self.prog}: {message}", ROOTFS_USAGE_STATUS))


def _rootfs(argv):
    from harness import rootfs
    p = _RootfsParser(prog="emu rootfs",
                      description="build an arm64 Debian bookworm rootfs for -L")
    rootfs.add_arguments(p)
    for action in p._actions:                        # no internal dest names in messages
        if isinstance(action, argparse._SubParsersAction):
            action.metavar = "COMMAND"
    return rootfs.main(p.parse_args(argv))


def _run(argv):
    s, program, args = parse(argv)
    answer = _answer(s)
    if answer is not None:
        sys.stdout.write(answer)
        return 0
    plan = _plan(s)
    if program is None:
        raise UsageError(f"no program given ({USAGE})")
    host, problem = check_program(program, plan.rootfs)
    if problem:
        return _fail(problem[1], problem[0])
    for _ in range(4):                  # a `#!` script runs its interpreter, as execve does
        try:
            line = script_interpreter(host)
        except OSError as e:
            return _fail(f"{program}: {e.strerror}", STATUS_NOT_EXECUTABLE)
        if line is None:
            break
        if not line:
            return _fail(f"{program}: {os.strerror(errno.ENOEXEC)}", STATUS_NOT_EXECUTABLE)
        interp, *opt = line.split(None, 1)
        args = opt + [program] + args
        if plan.execfn is None:
            plan.execfn = program       # AT_EXECFN and /proc/self/exe's name: the script
        plan.argv0 = interp             # Linux drops the script's argv[0] (-0 too)
        host, problem = check_program(interp, plan.rootfs)
        if problem:                     # as bash reports a script's missing interpreter
            why = problem[1][len(interp) + 2:]
            return _fail(f"{program}: {interp}: bad interpreter: {why}", problem[0])
        program = interp
    for note in plan.notes:
        _fail(note)
    return _start(plan, program, args, host)


def script_interpreter(host):
    """The `#!` line of a script (interpreter and optional argument, as text; "" for an
    empty or over-long line), or None for anything else (an ELF: the loader judges it)."""
    with open(host, "rb") as f:
        head = f.read(256)
    if not head.startswith(b"#!"):
        return None
    rest = head[2:]
    if b"\n" not in rest and len(head) == 256:
        return ""
    return os.fsdecode(rest.split(b"\n", 1)[0].strip())


def _answer(s):
    """The options that print something and exit 0 (qemu's order: before any other check)."""
    if s["help"]:
        return help_text()
    if s["version"]:
        return version_text()
    if s["cpu"] in ("help", "?"):
        return "Available CPUs:\n" + "".join(f"  {m}\n" for m in CPU_MODELS)
    if s["log"] == "help":
        return log_items_help()
    return None


def _plan(s):
    """Check every option (UsageError on the first bad one) and turn them into what _start
    needs; notes are the one-line remarks on options accepted but without effect."""
    for dest, msg in _UNSUPPORTED.items():
        if s[dest] is not None:
            raise UsageError(msg)
    p = argparse.Namespace(notes=[], rootfs=s["rootfs"], strace=bool(s["strace"]),
                           stats=bool(s["stats"]), aslr=bool(s["aslr"]), argv0=s["argv0"],
                           uname=s["uname"], logfile=s["logfile"], execfn=s["execfn"],
                           batch=not s["no_batch"], code_cache=not s["no_cache"])
    ignored = parse_cpu(s["cpu"]) if s["cpu"] is not None else []
    if ignored:
        p.notes.append(f"-cpu: properties ignored ({','.join(ignored)}): emu's CPU features "
                       "are fixed")
    p.log, not_made = parse_log_items(s["log"]) if s["log"] else ([], [])
    if not_made:
        p.notes.append(f"-d: not produced by emu yet, ignored: {','.join(not_made)}")
    p.strace = p.strace or "strace" in p.log
    if s["pagesize"] is not None and parse_size(s["pagesize"], "-p") != PAGE_SIZE:
        raise UsageError(f"-p: only {PAGE_SIZE}-byte pages are supported")
    p.stack = None
    if s["stack_size"] is not None:
        size = parse_size(s["stack_size"], "-s")
        p.stack = max(MIN_STACK, (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    p.seed = parse_seed(s["seed"]) if s["seed"] is not None else None
    tier = s["tier"] or "auto"
    if tier not in ("auto", "1", "2"):
        raise UsageError(f"--tier expects auto, 1 or 2, got {tier!r}")
    p.tiering = tier if tier == "auto" else int(tier)
    p.environ_fd = None
    if s["environ_fd"] is not None:
        if not s["environ_fd"].isdigit():
            raise UsageError(f"--environ-fd expects a descriptor, got {s['environ_fd']!r}")
        p.environ_fd = int(s["environ_fd"])
    p.fds = _fd_map(s["fd"])
    p.signals = _signal_state(s["signals"])
    p.env_changes = env_changes(s["env_edits"])
    if p.rootfs and not os.path.isdir(p.rootfs):
        raise UsageError(f"-L {p.rootfs}: not a directory")
    return p


def _start(p, program, args, host):
    _private_stderr()
    from emu import runtime      # deferred: keeps `emu -h` and errors fast
    if p.environ_fd is not None:    # a guest execve: the environment it passed
        try:
            envp = _environ_from_fd(p.environ_fd)
        except OSError as e:
            raise UsageError(f"--environ-fd {p.environ_fd}: {e.strerror}") from None
    else:
        envp = guest_environment(p.env_changes)
    log = sys.stderr
    if p.logfile:
        path = os.path.abspath(p.logfile)
        try:
            log = _open_log(path, append=p.environ_fd is not None)
        except OSError as e:
            raise UsageError(f"-D {p.logfile}: {e.strerror}") from None
        os.environ["EMU_LOG_FILENAME"] = path
    # What a guest execve's emu must do too: it reads these from emu's own environment
    # (the guest's, computed above, does not see them).
    for name, value in (("ASLR", "1" if p.aslr else None), ("LOG", ",".join(p.log) or None),
                        ("STACK_SIZE", p.stack), ("RAND_SEED", p.seed), ("UNAME", p.uname)):
        if value is not None:
            os.environ["EMU_" + name] = str(value)
    # Two settings emu's modules keep as module constants: set them before the guest exists.
    if p.stack is not None:
        from emu import loader
        loader.STACK_SIZE = p.stack
    if p.uname is not None:
        from kernel import info
        info.RELEASE = p.uname
    argv0 = program if p.argv0 is None else p.argv0
    try:
        proc = runtime.Process.create(program, [argv0] + args, envp, rootfs=p.rootfs,
                                      strace=p.strace, stats=p.stats, batch=p.batch,
                                      code_cache=p.code_cache, tiering=p.tiering,
                                      execfn=p.execfn, fds=p.fds, signals=p.signals)
    except runtime.LoadError as e:
        return _fail(str(e), _load_error_status(host, p.rootfs))
    k = proc.kernel
    k.strace_file = log
    if p.seed is not None:
        _seed_at_random(proc, p.seed)
    if "unimp" in p.log:
        k.unknown_syscalls = _LoggedCounter(k.unknown_syscalls, log,
                                            lambda nr: f"Unsupported syscall: {nr}")
        k.unknown_ioctls = _LoggedCounter(k.unknown_ioctls, log,
                                          lambda req: f"Unsupported ioctl: cmd={req:#06x}")
    if "page" in p.log:
        log.write(page_layout(proc.space))
        log.flush()
    return proc.run()


def _seed_at_random(proc, seed):
    """-seed: the 16 AT_RANDOM bytes (glibc's stack guard and pointer guard) from the seed."""
    import random
    for key, addr in proc.space.saved_auxv:
        if key == AT_RANDOM:
            proc.mem.write(addr, random.Random(seed).randbytes(16), force=True)


if __name__ == "__main__":
    sys.exit(main())
