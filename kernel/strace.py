"""--strace output: one `name(arg, ...) = result` line per syscall, as strace(1) prints it.

Owns: rendering a call's arguments and result the way strace does: strings quoted and cut
at 32 bytes, errors as `-1 ENOENT (No such file or directory)`, numbers in C's `%#x`/`%#o`
(0 is `0`), flags and constants by name with the AArch64 guest's values
(`O_RDONLY|O_CLOEXEC`, `PROT_READ|PROT_WRITE`, `MAP_PRIVATE|MAP_ANONYMOUS`, `AT_FDCWD`,
`CLONE_VM|...|SIGCHLD`, `SIGINT`, `FUTEX_WAIT_PRIVATE`), signal sets (`[INT TERM]`,
`~[KILL STOP]`), a few structures (timespec, sigaction, flock, wait status), and the
`--- SIGX {si_signo=..., si_code=...} ---` line of a delivered signal.

Three layers, most specific first:
  CALLS   syscalls whose shape strace changes: arguments shown or hidden by a flag
          (openat's mode, futex's operands, fcntl's third argument), named arguments
          (clone), structures read back after the call (wait4's status, sigprocmask's old
          set); a function (k, args, ret) -> (argument texts, result text or None).
  ARGS    (syscall, argument index, decoder): one argument shown by name (a flag table, a
          constant table, a signal, a sigset, a timespec).
  letters the table's format letters (kernel/table.py) for everything else:
    d int   l long   u unsigned   x hex   o octal   p pointer   f dirfd
    s C string   b buffer in (length = next arg)   B buffer out (length = result)
    '>' then the result's letter (default d; x/p print hex).
Flag and constant tables are tuples of (name, guest value) in strace's order (its
src/xlat/*.in files): printflags takes names in that order, then the rest in hex.
An argument that cannot be read or decoded is shown as a pointer: tracing never fails.
Does not own: which syscalls exist and their arity (table.py), where lines go and the
`[pid N]` prefix (core.py).
"""
import errno as _errno
import os
import struct

from kernel import abi
from kernel import sigframe as sf
from kernel.uaccess import s32, s64

STRLEN = 32


def _named(module, *names):
    """(name, value) pairs for constants a kernel module already defines."""
    return tuple((n, getattr(module, n)) for n in names)


# --- tables: (name, AArch64 guest value), in strace's order -----------------------------------
OPEN_ACCESS = _named(abi, "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
OPEN_FLAGS = (          # strace xlat/open_mode_flags.in
    ("O_CREAT", abi.O_CREAT), ("O_EXCL", abi.O_EXCL), ("O_NOCTTY", abi.O_NOCTTY),
    ("O_TRUNC", abi.O_TRUNC), ("O_APPEND", abi.O_APPEND), ("O_NONBLOCK", abi.O_NONBLOCK),
    ("O_SYNC", abi.O__SYNC | abi.O_DSYNC), ("__O_SYNC", abi.O__SYNC), ("O_DSYNC", abi.O_DSYNC),
    ("O_DIRECT", abi.O_DIRECT), ("O_LARGEFILE", abi.O_LARGEFILE),
    ("O_NOFOLLOW", abi.O_NOFOLLOW), ("O_NOATIME", abi.O_NOATIME), ("O_CLOEXEC", abi.O_CLOEXEC),
    ("O_PATH", abi.O_PATH), ("O_TMPFILE", abi.O__TMPFILE | abi.O_DIRECTORY),
    ("__O_TMPFILE", abi.O__TMPFILE), ("O_DIRECTORY", abi.O_DIRECTORY),
    ("FASYNC", abi.O_ASYNC),
)
FD_FLAGS = _named(abi, "FD_CLOEXEC")
PROT = _named(abi, "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC") + (
    ("PROT_SEM", 0x8), ("PROT_GROWSDOWN", 0x01000000), ("PROT_GROWSUP", 0x02000000))
MAP_TYPES = _named(abi, "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE")
MAP_FLAGS = _named(abi, "MAP_FIXED", "MAP_ANONYMOUS", "MAP_NORESERVE", "MAP_POPULATE",
                   "MAP_NONBLOCK", "MAP_GROWSDOWN", "MAP_DENYWRITE", "MAP_EXECUTABLE",
                   "MAP_LOCKED", "MAP_STACK", "MAP_HUGETLB") + (
    ("MAP_SYNC", 0x80000), ("MAP_UNINITIALIZED", 0x4000000),
    ("MAP_FIXED_NOREPLACE", abi.MAP_FIXED_NOREPLACE))
MAP_HUGE_SHIFT, MAP_HUGE_MASK = 26, 0x3F
MADV = _named(abi, "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
              "MADV_DONTNEED", "MADV_FREE", "MADV_REMOVE") + (
    ("MADV_DONTFORK", 10), ("MADV_DOFORK", 11), ("MADV_MERGEABLE", 12),
    ("MADV_UNMERGEABLE", 13), ("MADV_HUGEPAGE", 14), ("MADV_NOHUGEPAGE", 15),
    ("MADV_DONTDUMP", 16), ("MADV_DODUMP", 17), ("MADV_WIPEONFORK", 18),
    ("MADV_KEEPONFORK", 19), ("MADV_COLD", 20), ("MADV_PAGEOUT", 21),
    ("MADV_POPULATE_READ", 22), ("MADV_POPULATE_WRITE", 23),
    ("MADV_DONTNEED_LOCKED", abi.MADV_DONTNEED_LOCKED), ("MADV_COLLAPSE", 25),
    ("MADV_HWPOISON", 100), ("MADV_SOFT_OFFLINE", 101))
MS_FLAGS = _named(abi, "MS_ASYNC", "MS_INVALIDATE", "MS_SYNC")
MREMAP_FLAGS = _named(abi, "MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP")
MCL_FLAGS = (("MCL_CURRENT", 1), ("MCL_FUTURE", 2), ("MCL_ONFAULT", 4))
MLOCK_FLAGS = (("MLOCK_ONFAULT", 1),)
AT_FLAGS = _named(abi, "AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR", "AT_SYMLINK_FOLLOW",
                  "AT_NO_AUTOMOUNT", "AT_EMPTY_PATH") + (("AT_RECURSIVE", 0x8000),)
FACCESSAT_FLAGS = _named(abi, "AT_SYMLINK_NOFOLLOW", "AT_EACCESS", "AT_EMPTY_PATH")
STATX_SYNC = (("AT_STATX_SYNC_AS_STAT", 0), ("AT_STATX_FORCE_SYNC", 0x2000),
              ("AT_STATX_DONT_SYNC", 0x4000))
STATX_MASK = (("STATX_ALL", 0xFFF), ("STATX_BASIC_STATS", 0x7FF), ("STATX_TYPE", 0x1),
              ("STATX_MODE", 0x2), ("STATX_NLINK", 0x4), ("STATX_UID", 0x8), ("STATX_GID", 0x10),
              ("STATX_ATIME", 0x20), ("STATX_MTIME", 0x40), ("STATX_CTIME", 0x80),
              ("STATX_INO", 0x100), ("STATX_SIZE", 0x200), ("STATX_BLOCKS", 0x400),
              ("STATX_BTIME", 0x800), ("STATX_MNT_ID", 0x1000), ("STATX_DIOALIGN", 0x2000))
ACCESS_MODES = (("F_OK", 0), ("R_OK", 4), ("W_OK", 2), ("X_OK", 1))
RENAME_FLAGS = _named(abi, "RENAME_NOREPLACE", "RENAME_EXCHANGE", "RENAME_WHITEOUT")
SEEK_WHENCE = (("SEEK_SET", 0), ("SEEK_CUR", 1), ("SEEK_END", 2), ("SEEK_DATA", 3),
               ("SEEK_HOLE", 4))
FLOCK_OPS = _named(abi, "LOCK_SH", "LOCK_EX", "LOCK_NB", "LOCK_UN")
LOCK_TYPES = (("F_RDLCK", 0), ("F_WRLCK", 1), ("F_UNLCK", 2))
CLOSE_RANGE_FLAGS = _named(abi, "CLOSE_RANGE_UNSHARE", "CLOSE_RANGE_CLOEXEC")
MFD_FLAGS = _named(abi, "MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MFD_HUGETLB", "MFD_NOEXEC_SEAL",
                   "MFD_EXEC")
EFD_FLAGS = (("EFD_SEMAPHORE", 1), ("EFD_CLOEXEC", abi.O_CLOEXEC),
             ("EFD_NONBLOCK", abi.O_NONBLOCK))
EPOLL_FLAGS = (("EPOLL_CLOEXEC", abi.O_CLOEXEC),)
EPOLL_CTL = (("EPOLL_CTL_ADD", 1), ("EPOLL_CTL_DEL", 2), ("EPOLL_CTL_MOD", 3))
INOTIFY_FLAGS = (("IN_NONBLOCK", abi.O_NONBLOCK), ("IN_CLOEXEC", abi.O_CLOEXEC))
TFD_FLAGS = (("TFD_CLOEXEC", abi.O_CLOEXEC), ("TFD_NONBLOCK", abi.O_NONBLOCK))
TFD_SETTIME_FLAGS = (("TFD_TIMER_ABSTIME", 1), ("TFD_TIMER_CANCEL_ON_SET", 2))
TIMER_FLAGS = _named(abi, "TIMER_ABSTIME")
GRND_FLAGS = _named(abi, "GRND_NONBLOCK", "GRND_RANDOM", "GRND_INSECURE")
CLOCKS = (("CLOCK_REALTIME", 0), ("CLOCK_MONOTONIC", 1), ("CLOCK_PROCESS_CPUTIME_ID", 2),
          ("CLOCK_THREAD_CPUTIME_ID", 3), ("CLOCK_MONOTONIC_RAW", 4),
          ("CLOCK_REALTIME_COARSE", 5), ("CLOCK_MONOTONIC_COARSE", 6), ("CLOCK_BOOTTIME", 7),
          ("CLOCK_REALTIME_ALARM", 8), ("CLOCK_BOOTTIME_ALARM", 9), ("CLOCK_TAI", 11))
ITIMERS = (("ITIMER_REAL", 0), ("ITIMER_VIRTUAL", 1), ("ITIMER_PROF", 2))
RLIMITS = (("RLIMIT_CPU", 0), ("RLIMIT_FSIZE", 1), ("RLIMIT_DATA", 2), ("RLIMIT_STACK", 3),
           ("RLIMIT_CORE", 4), ("RLIMIT_RSS", 5), ("RLIMIT_NPROC", 6), ("RLIMIT_NOFILE", 7),
           ("RLIMIT_MEMLOCK", 8), ("RLIMIT_AS", 9), ("RLIMIT_LOCKS", 10),
           ("RLIMIT_SIGPENDING", 11), ("RLIMIT_MSGQUEUE", 12), ("RLIMIT_NICE", 13),
           ("RLIMIT_RTPRIO", 14), ("RLIMIT_RTTIME", 15))
WAIT_OPTIONS = (("WNOHANG", 1), ("WUNTRACED", 2), ("WEXITED", 4), ("WCONTINUED", 8),
                ("WNOWAIT", 0x01000000), ("__WCLONE", 0x80000000), ("__WALL", 0x40000000),
                ("__WNOTHREAD", 0x20000000))
WAITID_TYPES = (("P_ALL", 0), ("P_PID", 1), ("P_PGID", 2), ("P_PIDFD", 3))
ADDRESS_FAMILIES = (("AF_UNSPEC", 0), ("AF_UNIX", 1), ("AF_INET", 2), ("AF_INET6", 10),
                    ("AF_NETLINK", 16), ("AF_PACKET", 17), ("AF_ALG", 38), ("AF_VSOCK", 40))
SOCK_TYPES = (("SOCK_STREAM", 1), ("SOCK_DGRAM", 2), ("SOCK_RAW", 3), ("SOCK_RDM", 4),
              ("SOCK_SEQPACKET", 5), ("SOCK_DCCP", 6), ("SOCK_PACKET", 10))
SOCK_FLAGS = (("SOCK_CLOEXEC", abi.O_CLOEXEC), ("SOCK_NONBLOCK", abi.O_NONBLOCK))
IP_PROTOCOLS = (("IPPROTO_IP", 0), ("IPPROTO_ICMP", 1), ("IPPROTO_TCP", 6),
                ("IPPROTO_UDP", 17), ("IPPROTO_ICMPV6", 58))
MSG_FLAGS = (("MSG_OOB", 0x1), ("MSG_PEEK", 0x2), ("MSG_DONTROUTE", 0x4), ("MSG_CTRUNC", 0x8),
             ("MSG_PROBE", 0x10), ("MSG_TRUNC", 0x20), ("MSG_DONTWAIT", 0x40),
             ("MSG_EOR", 0x80), ("MSG_WAITALL", 0x100), ("MSG_FIN", 0x200), ("MSG_SYN", 0x400),
             ("MSG_CONFIRM", 0x800), ("MSG_RST", 0x1000), ("MSG_ERRQUEUE", 0x2000),
             ("MSG_NOSIGNAL", 0x4000), ("MSG_MORE", 0x8000), ("MSG_WAITFORONE", 0x10000),
             ("MSG_BATCH", 0x40000), ("MSG_ZEROCOPY", 0x4000000), ("MSG_FASTOPEN", 0x20000000),
             ("MSG_CMSG_CLOEXEC", 0x40000000))
SHUTDOWN_HOW = (("SHUT_RD", 0), ("SHUT_WR", 1), ("SHUT_RDWR", 2))
SIGPROCMASK_HOW = _named(abi, "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK")
SA_FLAGS = _named(sf, "SA_RESTORER", "SA_ONSTACK", "SA_RESTART") + (("SA_INTERRUPT", 0x20000000),) \
    + _named(sf, "SA_NODEFER", "SA_RESETHAND", "SA_SIGINFO", "SA_NOCLDSTOP", "SA_NOCLDWAIT")
SIG_HANDLERS = (("SIG_DFL", abi.SIG_DFL), ("SIG_IGN", abi.SIG_IGN))
SIGNALS = _named(abi, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
                 "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
                 "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
                 "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
                 "SIGIO", "SIGPWR", "SIGSYS", "SIGRTMIN")   # 32 has its own name in strace
CLONE_FLAGS = (         # linux/sched.h, strace xlat/clone_flags.in (CSIGNAL, the low byte, apart)
    ("CLONE_VM", 0x100), ("CLONE_FS", 0x200), ("CLONE_FILES", 0x400), ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000), ("CLONE_PTRACE", 0x2000), ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000), ("CLONE_THREAD", 0x10000), ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000), ("CLONE_SETTLS", 0x80000), ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000), ("CLONE_UNTRACED", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000), ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000), ("CLONE_NEWIPC", 0x8000000), ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000), ("CLONE_NEWNET", 0x40000000), ("CLONE_IO", 0x80000000))
CSIGNAL = 0xFF
_FUTEX_CMDS = (("FUTEX_WAIT", 0), ("FUTEX_WAKE", 1), ("FUTEX_FD", 2), ("FUTEX_REQUEUE", 3),
               ("FUTEX_CMP_REQUEUE", 4), ("FUTEX_WAKE_OP", 5), ("FUTEX_LOCK_PI", 6),
               ("FUTEX_UNLOCK_PI", 7), ("FUTEX_TRYLOCK_PI", 8), ("FUTEX_WAIT_BITSET", 9),
               ("FUTEX_WAKE_BITSET", 10), ("FUTEX_WAIT_REQUEUE_PI", 11),
               ("FUTEX_CMP_REQUEUE_PI", 12), ("FUTEX_LOCK_PI2", 13))
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
# strace xlat/futexops.in: every command, its _PRIVATE form, and the waits with
# |FUTEX_CLOCK_REALTIME (the only commands that take that flag).
FUTEX_OPS = tuple(
    (n + p + c, v | pv | cv) for n, v in _FUTEX_CMDS
    for c, cv in (("", 0), ("|FUTEX_CLOCK_REALTIME", FUTEX_CLOCK_REALTIME))
    if not cv or v in (0, 9, 11)
    for p, pv in (("", 0), ("_PRIVATE", FUTEX_PRIVATE_FLAG)))
FUTEX_BITSET = (("FUTEX_BITSET_MATCH_ANY", 0xFFFFFFFF),)
FUTEX_WAKE_OPS = (("FUTEX_OP_SET", 0), ("FUTEX_OP_ADD", 1), ("FUTEX_OP_OR", 2),
                  ("FUTEX_OP_ANDN", 3), ("FUTEX_OP_XOR", 4))
FUTEX_WAKE_CMPS = (("FUTEX_OP_CMP_EQ", 0), ("FUTEX_OP_CMP_NE", 1), ("FUTEX_OP_CMP_LT", 2),
                   ("FUTEX_OP_CMP_LE", 3), ("FUTEX_OP_CMP_GT", 4), ("FUTEX_OP_CMP_GE", 5))
FCNTL_CMDS = _named(abi, "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK",
                    "F_SETLK", "F_SETLKW", "F_SETOWN", "F_GETOWN", "F_SETSIG", "F_GETSIG",
                    "F_SETOWN_EX", "F_GETOWN_EX", "F_GETOWNER_UIDS", "F_OFD_GETLK",
                    "F_OFD_SETLK", "F_OFD_SETLKW", "F_SETLEASE", "F_GETLEASE", "F_NOTIFY",
                    "F_CANCELLK", "F_DUPFD_CLOEXEC", "F_SETPIPE_SZ", "F_GETPIPE_SZ",
                    "F_ADD_SEALS", "F_GET_SEALS", "F_GET_RW_HINT", "F_SET_RW_HINT",
                    "F_GET_FILE_RW_HINT", "F_SET_FILE_RW_HINT")
F_SEALS = (("F_SEAL_SEAL", 1), ("F_SEAL_SHRINK", 2), ("F_SEAL_GROW", 4), ("F_SEAL_WRITE", 8),
           ("F_SEAL_FUTURE_WRITE", 0x10))
IOCTLS = _named(abi, "TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TCSBRK", "TCXONC", "TCFLSH",
                "TIOCEXCL", "TIOCNXCL", "TIOCSCTTY", "TIOCGPGRP", "TIOCSPGRP", "TIOCOUTQ",
                "TIOCSTI", "TIOCGWINSZ", "TIOCSWINSZ", "TIOCMGET", "TIOCMBIS", "TIOCMBIC",
                "TIOCMSET", "FIONREAD", "TIOCLINUX", "TIOCCONS", "TIOCPKT", "FIONBIO",
                "TIOCNOTTY", "TIOCSETD", "TIOCGETD", "TCSBRKP", "TIOCSBRK", "TIOCCBRK",
                "TIOCGSID", "TCGETS2", "TCSETS2", "TCSETSW2", "TCSETSF2", "TIOCGPTN",
                "TIOCSPTLCK", "TIOCGPTLCK", "TIOCGPKT", "TIOCVHANGUP", "FIONCLEX", "FIOCLEX",
                "FIOASYNC", "TIOCGLCKTRMIOS", "TIOCSLCKTRMIOS", "FIOQSIZE", "FICLONE",
                "FICLONERANGE")
PRCTL_OPTIONS = _named(abi, "PR_SET_PDEATHSIG", "PR_GET_PDEATHSIG", "PR_GET_DUMPABLE",
                       "PR_SET_DUMPABLE", "PR_SET_NAME", "PR_GET_NAME") + (
    ("PR_GET_KEEPCAPS", 7), ("PR_SET_KEEPCAPS", 8), ("PR_GET_SECCOMP", 21),
    ("PR_SET_SECCOMP", 22), ("PR_CAPBSET_READ", 23), ("PR_CAPBSET_DROP", 24),
    ("PR_SET_TIMERSLACK", 29), ("PR_GET_TIMERSLACK", 30), ("PR_SET_MM", 35),
    ("PR_SET_CHILD_SUBREAPER", 36), ("PR_GET_CHILD_SUBREAPER", 37),
    ("PR_SET_NO_NEW_PRIVS", 38), ("PR_GET_NO_NEW_PRIVS", 39), ("PR_GET_TID_ADDRESS", 40),
    ("PR_SET_THP_DISABLE", 41), ("PR_GET_THP_DISABLE", 42), ("PR_CAP_AMBIENT", 47),
    ("PR_SVE_SET_VL", 50), ("PR_SVE_GET_VL", 51), ("PR_PAC_RESET_KEYS", 54),
    ("PR_SET_TAGGED_ADDR_CTRL", 55), ("PR_GET_TAGGED_ADDR_CTRL", 56),
    ("PR_SET_VMA", 0x53564D41), ("PR_SET_PTRACER", 0x59616D61))
# si_code: the generic codes (strace xlat/siginfo_codes.in), then each signal's own.
SI_CODES = _named(sf, "SI_USER", "SI_KERNEL", "SI_QUEUE", "SI_TIMER", "SI_MESGQ", "SI_ASYNCIO",
                  "SI_SIGIO", "SI_TKILL") + (("SI_DETHREAD", -7), ("SI_ASYNCNL", -60))
SIGNAL_CODES = {
    abi.SIGILL: _named(sf, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC",
                       "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK") + (("ILL_BADIADDR", 9),),
    abi.SIGFPE: _named(sf, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND",
                       "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB") + (("FPE_FLTUNK", 14),
                                                                   ("FPE_CONDTRAP", 15)),
    abi.SIGSEGV: _named(sf, "SEGV_MAPERR", "SEGV_ACCERR") + (
        ("SEGV_BNDERR", 3), ("SEGV_PKUERR", 4), ("SEGV_MTEAERR", 8), ("SEGV_MTESERR", 9)),
    abi.SIGBUS: _named(sf, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR") + (
        ("BUS_MCEERR_AR", 4), ("BUS_MCEERR_AO", 5)),
    abi.SIGTRAP: _named(sf, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT") + (
        ("TRAP_UNK", 5), ("TRAP_PERF", 6)),
    abi.SIGCHLD: _named(sf, "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED",
                        "CLD_STOPPED", "CLD_CONTINUED"),
    abi.SIGIO: (("POLL_IN", 1), ("POLL_OUT", 2), ("POLL_MSG", 3), ("POLL_ERR", 4),
                ("POLL_PRI", 5), ("POLL_HUP", 6)),
    abi.SIGSYS: (("SYS_SECCOMP", 1), ("SYS_USER_DISPATCH", 2)),
}
_SIGNAME = {v: n for n, v in SIGNALS}


# --- primitives: strace's printflags / printxval / printaddr ------------------------------
def _hex(v):
    """C's %#x: 0 is `0`."""
    return f"{v:#x}" if v else "0"


def _ptr(v):
    return "NULL" if v == 0 else f"{v:#x}"


def _umode(v):
    """strace's print_numeric_umode_t, C's %#03o: 0 -> 000, 0o644 -> 0644."""
    return (f"0{v:o}" if v else "0").rjust(3, "0")


def flags(v, table, unknown=None):
    """Names of v's bits in table order, then the rest in hex (strace's printflags).
    With no name at all: `0x.. /* X_??? */` (unknown given) or the hex; 0 is the table's
    zero name if its first entry has value 0, else `0`."""
    if v == 0:
        return table[0][0] if table and table[0][1] == 0 else "0"
    names = []
    for name, bit in table:
        if bit and v & bit == bit:
            names.append(name)
            v &= ~bit
    if v:
        if not names and unknown:
            return f"{v:#x} /* {unknown} */"
        names.append(f"{v:#x}")
    return "|".join(names)


def xval(v, table, unknown=None):
    """The name of the value v (strace's printxval), or `0x.. /* X_??? */`."""
    for name, val in table:
        if val == v:
            return name
    return f"{_hex(v)} /* {unknown} */" if unknown else _hex(v)


def open_modes(v):
    """open(2) flags: the access mode, always, then the other flags (O_RDONLY|O_CLOEXEC)."""
    v &= 0xFFFFFFFF
    mode = xval(v & abi.O_ACCMODE, OPEN_ACCESS)
    rest = v & ~abi.O_ACCMODE
    return mode if not rest else f"{mode}|{flags(rest, OPEN_FLAGS)}"


def signame(n):
    """SIGINT, SIGRTMIN (32), SIGRT_3 (signal 35), or None for a number that is no signal."""
    if n in _SIGNAME:
        return _SIGNAME[n]
    if abi.SIGRTMIN < n <= abi.NSIG:
        return f"SIGRT_{n - abi.SIGRTMIN}"
    return None


def signal_name(v):
    n = s32(v)
    return signame(n) or str(n)


def sigset_text(mask, nbits=abi.NSIG):
    """A signal set as strace prints it: [INT TERM], or ~[KILL STOP] when 2/3 or more of
    the bits are set (the signals not in the set)."""
    mask &= (1 << nbits) - 1
    prefix = ""
    if bin(mask).count("1") >= nbits * 2 // 3:
        prefix, mask = "~", ~mask & ((1 << nbits) - 1)
    names = []
    for i in range(nbits):
        if mask >> i & 1:
            name = signame(i + 1)
            names.append(name[3:] if name else str(i + 1))
    return prefix + "[" + " ".join(names) + "]"


# --- guest memory -------------------------------------------------------------------------------
def quote(data, limit=STRLEN):
    out = []
    for b in data[:limit]:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


def _read(k, addr, size):
    return bytes(k.mem.read(addr, size))


def _or_pointer(render):
    """A structure read from guest memory, or its address when it cannot be read (strace's
    umove_or_printaddr)."""
    def wrapped(k, addr, *rest):
        try:
            return render(k, addr, *rest)
        except Exception:       # noqa: BLE001 -- a bad guest pointer, an odd value
            return _ptr(addr)
    wrapped.__doc__ = render.__doc__
    return wrapped


@_or_pointer
def _sigset(k, addr, size=abi.SIGSET_SIZE):
    if addr == 0:
        return "NULL"
    size = min(size, abi.SIGSET_SIZE)
    if size <= 0:
        return "[]"
    return sigset_text(int.from_bytes(_read(k, addr, size), "little"), 8 * size)


@_or_pointer
def _timespec(k, addr):
    if addr == 0:
        return "NULL"
    sec, nsec = struct.unpack("<qq", _read(k, addr, 16))
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


@_or_pointer
def _int_array(k, addr, n):
    return "[" + ", ".join(map(str, struct.unpack(f"<{n}i", _read(k, addr, 4 * n)))) + "]"


def wait_status(status):
    """A wait status as strace prints it: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]."""
    status &= 0xFFFFFFFF
    low = status & 0x7F
    if status & 0xFF == 0x7F:                                    # stopped
        sig = (status >> 8) & 0xFF
        text = (f"{{WIFSTOPPED(s) && WSTOPSIG(s) == {signame(sig & 0x7F) or sig & 0x7F}"
                f"{' | 0x80' if sig & 0x80 else ''}}}")
        rest = status & ~0xFFFF
    elif low and low != 0x7F:                                    # killed by a signal
        core = " && WCOREDUMP(s)" if status & 0x80 else ""
        text = f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signame(low) or low}{core}}}"
        rest = status & ~0xFF
    elif low == 0 and status != 0xFFFF:                          # exited
        text = f"{{WIFEXITED(s) && WEXITSTATUS(s) == {(status >> 8) & 0xFF}}}"
        rest = status & ~0xFF00
    elif status == 0xFFFF:
        text, rest = "{WIFCONTINUED(s)}", 0
    else:
        return f"[{status:#x}]"
    return "[" + text + (f" | {rest:#x}" if rest else "") + "]"


# --- the generic letters --------------------------------------------------------------------
def _arg(k, letter, v, nxt, ret):
    try:
        if letter == "d":
            return str(s32(v))
        if letter == "l":
            return str(s64(v))
        if letter == "u":
            return str(v)
        if letter == "x":
            return _hex(v)
        if letter == "o":
            return _umode(v & 0xFFFFFFFF)
        if letter == "f":
            return "AT_FDCWD" if s32(v) == abi.AT_FDCWD else str(s32(v))
        if letter == "s":
            return _ptr(v) if v == 0 else quote(k.mem.read_cstr(v, 4096))
        if letter == "b":
            return quote(k.mem.read(v, min(nxt, STRLEN + 1)) if nxt else b"")
        if letter == "B":
            if ret is None or ret < 0:
                return _ptr(v)
            return quote(k.mem.read(v, min(ret, STRLEN + 1)))
    except Exception:           # an unreadable argument is shown as a pointer
        return _ptr(v)
    return _ptr(v)


# --- ARGS: one argument by name -------------------------------------------------------------
def _int_flags(table, unknown):
    return lambda k, v, a, ret: flags(v & 0xFFFFFFFF, table, unknown)


def _int_xval(table, unknown):
    return lambda k, v, a, ret: xval(s32(v), table, unknown)


def _mmap_flags(k, v, a, ret):
    v &= 0xFFFFFFFF
    out = [xval(v & abi.MAP_TYPE, MAP_TYPES, "MAP_???")]
    huge = (v >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK
    rest = v & ~abi.MAP_TYPE & ~(MAP_HUGE_MASK << MAP_HUGE_SHIFT)
    if rest:
        out.append(flags(rest, MAP_FLAGS))
    if huge:
        out.append(f"{huge}<<MAP_HUGE_SHIFT")
    return "|".join(out)


def _statx_flags(k, v, a, ret):
    v &= 0xFFFFFFFF
    sync = xval(v & abi.AT_STATX_SYNC_TYPE, STATX_SYNC)
    rest = v & ~abi.AT_STATX_SYNC_TYPE
    return sync if not rest else f"{sync}|{flags(rest, AT_FLAGS)}"


def _socket_type(k, v, a, ret):
    v &= 0xFFFFFFFF
    text = xval(v & 0xF, SOCK_TYPES, "SOCK_???")
    rest = v & ~0xF
    return text if not rest else f"{text}|{flags(rest, SOCK_FLAGS)}"


def _socket_protocol(k, v, a, ret):
    if a[0] in (2, 10):                                         # AF_INET, AF_INET6
        return xval(s32(v), IP_PROTOCOLS)
    return str(s32(v))


def _signal(k, v, a, ret):
    return signal_name(v)


def _sigset_at(size_index):
    return lambda k, v, a, ret: _sigset(k, v, a[size_index])


def _sigset_out(size_index):
    return lambda k, v, a, ret: _sigset(k, v, a[size_index]) if ret == 0 else _ptr(v)


def _timespec_in(k, v, a, ret):
    return _timespec(k, v)


def _timespec_out(k, v, a, ret):
    return _timespec(k, v) if ret == 0 else _ptr(v)


def _fds_out(k, v, a, ret):
    return _int_array(k, v, 2) if ret == 0 else _ptr(v)


def _ioctl_request(k, v, a, ret):
    return xval(v & 0xFFFFFFFF, IOCTLS)


ARGS = (
    ("mmap", 2, _int_flags(PROT, "PROT_???")), ("mmap", 3, _mmap_flags),
    ("mprotect", 2, _int_flags(PROT, "PROT_???")),
    ("pkey_mprotect", 2, _int_flags(PROT, "PROT_???")),
    ("madvise", 2, _int_xval(MADV, "MADV_???")), ("msync", 2, _int_flags(MS_FLAGS, "MS_???")),
    ("mremap", 3, _int_flags(MREMAP_FLAGS, "MREMAP_???")),
    ("mlockall", 0, _int_flags(MCL_FLAGS, "MCL_???")),
    ("mlock2", 2, _int_flags(MLOCK_FLAGS, "MLOCK_???")),
    ("dup3", 2, _int_flags(OPEN_FLAGS, "O_???")), ("pipe2", 0, _fds_out),
    ("pipe2", 1, _int_flags(OPEN_FLAGS, "O_???")),
    ("inotify_init1", 0, _int_flags(INOTIFY_FLAGS, "IN_???")),
    ("eventfd2", 1, _int_flags(EFD_FLAGS, "EFD_???")),
    ("epoll_create1", 0, _int_flags(EPOLL_FLAGS, "EPOLL_???")),
    ("epoll_ctl", 1, _int_xval(EPOLL_CTL, "EPOLL_CTL_???")),
    ("timerfd_create", 0, _int_xval(CLOCKS, "CLOCK_???")),
    ("timerfd_create", 1, _int_flags(TFD_FLAGS, "TFD_???")),
    ("timerfd_settime", 1, _int_flags(TFD_SETTIME_FLAGS, "TFD_???")),
    ("memfd_create", 1, _int_flags(MFD_FLAGS, "MFD_???")),
    ("socket", 0, _int_xval(ADDRESS_FAMILIES, "AF_???")), ("socket", 1, _socket_type),
    ("socket", 2, _socket_protocol),
    ("socketpair", 0, _int_xval(ADDRESS_FAMILIES, "AF_???")), ("socketpair", 1, _socket_type),
    ("socketpair", 2, _socket_protocol), ("socketpair", 3, _fds_out),
    ("accept4", 3, _int_flags(SOCK_FLAGS, "SOCK_???")),
    ("sendto", 3, _int_flags(MSG_FLAGS, "MSG_???")),
    ("recvfrom", 3, _int_flags(MSG_FLAGS, "MSG_???")),
    ("shutdown", 1, _int_xval(SHUTDOWN_HOW, "SHUT_???")),
    ("newfstatat", 3, _int_flags(AT_FLAGS, "AT_???")),
    ("unlinkat", 2, _int_flags(AT_FLAGS, "AT_???")),
    ("fchownat", 4, _int_flags(AT_FLAGS, "AT_???")),
    ("linkat", 4, _int_flags(AT_FLAGS, "AT_???")),
    ("utimensat", 3, _int_flags(AT_FLAGS, "AT_???")),
    ("statx", 2, _statx_flags), ("statx", 3, _int_flags(STATX_MASK, "STATX_???")),
    ("faccessat", 2, _int_flags(ACCESS_MODES, None)),
    ("faccessat2", 2, _int_flags(ACCESS_MODES, None)),
    ("faccessat2", 3, _int_flags(FACCESSAT_FLAGS, "AT_???")),
    ("renameat2", 4, _int_flags(RENAME_FLAGS, "RENAME_???")),
    ("lseek", 2, _int_xval(SEEK_WHENCE, "SEEK_???")),
    ("flock", 1, _int_flags(FLOCK_OPS, "LOCK_???")),
    ("close_range", 2, _int_flags(CLOSE_RANGE_FLAGS, "CLOSE_RANGE_???")),
    ("ioctl", 1, _ioctl_request),
    ("kill", 1, _signal), ("tkill", 1, _signal), ("tgkill", 2, _signal),
    ("rt_sigqueueinfo", 1, _signal), ("rt_tgsigqueueinfo", 2, _signal),
    ("rt_sigsuspend", 0, _sigset_at(1)), ("rt_sigpending", 0, _sigset_out(1)),
    ("rt_sigtimedwait", 0, _sigset_at(3)),
    ("clock_gettime", 0, _int_xval(CLOCKS, "CLOCK_???")), ("clock_gettime", 1, _timespec_out),
    ("clock_getres", 0, _int_xval(CLOCKS, "CLOCK_???")), ("clock_getres", 1, _timespec_out),
    ("clock_settime", 0, _int_xval(CLOCKS, "CLOCK_???")), ("clock_settime", 1, _timespec_in),
    ("clock_nanosleep", 0, _int_xval(CLOCKS, "CLOCK_???")),
    ("clock_nanosleep", 1, _int_flags(TIMER_FLAGS, "TIMER_???")),
    ("clock_nanosleep", 2, _timespec_in), ("nanosleep", 0, _timespec_in),
    ("timer_create", 0, _int_xval(CLOCKS, "CLOCK_???")),
    ("timer_settime", 1, _int_flags(TIMER_FLAGS, "TIMER_???")),
    ("getitimer", 0, _int_xval(ITIMERS, "ITIMER_???")),
    ("setitimer", 0, _int_xval(ITIMERS, "ITIMER_???")),
    ("waitid", 0, _int_xval(WAITID_TYPES, "P_???")),
    ("waitid", 3, _int_flags(WAIT_OPTIONS, "W???")),
    ("getrlimit", 0, _int_xval(RLIMITS, "RLIMIT_???")),
    ("setrlimit", 0, _int_xval(RLIMITS, "RLIMIT_???")),
    ("prlimit64", 1, _int_xval(RLIMITS, "RLIMIT_???")),
    ("getrandom", 2, _int_flags(GRND_FLAGS, "GRND_???")),
    ("prctl", 0, _int_xval(PRCTL_OPTIONS, "PR_???")),
)
_ARGS = {name: {i: fn for n, i, fn in ARGS if n == name} for name, _, _ in ARGS}


# --- CALLS: syscalls shaped differently from their letters ----------------------------------
def _openat(k, a, ret):
    shown = [_arg(k, "f", a[0], 0, ret), _arg(k, "s", a[1], 0, ret), open_modes(a[2])]
    if a[2] & (abi.O_CREAT | abi.O__TMPFILE):
        shown.append(_umode(a[3] & 0o177777))
    return shown, None


def _clone(k, a, ret):
    """aarch64 clone(flags, stack, parent_tid, tls, child_tid), strace's named form."""
    fl, sig = a[0] & ~CSIGNAL, a[0] & CSIGNAL
    if fl:
        text = flags(fl, CLONE_FLAGS, "CLONE_???") + (f"|{signal_name(sig)}" if sig else "")
    else:
        text = signal_name(sig)
    shown = [f"child_stack={_ptr(a[1])}", f"flags={text}"]
    if fl & 0x101000:                          # CLONE_PARENT_SETTID | CLONE_PIDFD
        tid = _int_array(k, a[2], 1) if a[2] and ret is not None and ret >= 0 else _ptr(a[2])
        shown.append(f"parent_tid={tid}")
    if fl & 0x80000:                           # CLONE_SETTLS
        shown.append(f"tls={_ptr(a[3])}")
    if fl & 0x1200000:                         # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID
        shown.append(f"child_tidptr={_ptr(a[4])}")
    return shown, None


def _futex(k, a, ret):
    op = s32(a[1])
    cmd = op & 127
    val, val2, val3 = a[2] & 0xFFFFFFFF, a[3] & 0xFFFFFFFF, a[5] & 0xFFFFFFFF
    shown = [_ptr(a[0]), xval(op & 0xFFFFFFFF, FUTEX_OPS, "FUTEX_???")]
    if cmd in (0, 11):                              # WAIT, WAIT_REQUEUE_PI
        shown += [str(val), _timespec(k, a[3])] + ([_ptr(a[4])] if cmd == 11 else [])
    elif cmd in (6, 13):                            # LOCK_PI, LOCK_PI2
        shown.append(_timespec(k, a[3]))
    elif cmd == 9:                                  # WAIT_BITSET
        shown += [str(val), _timespec(k, a[3]), xval(val3, FUTEX_BITSET)]
    elif cmd == 10:                                 # WAKE_BITSET
        shown += [str(val), xval(val3, FUTEX_BITSET)]
    elif cmd == 3:                                  # REQUEUE
        shown += [str(val), str(val2), _ptr(a[4])]
    elif cmd in (4, 12):                            # CMP_REQUEUE, CMP_REQUEUE_PI
        shown += [str(val), str(val2), _ptr(a[4]), str(val3)]
    elif cmd == 5:                                  # WAKE_OP
        shown += [str(val), str(val2), _ptr(a[4]), _futex_wake_op(val3)]
    elif cmd in (1, 2):                             # WAKE, FD
        shown.append(str(val))
    elif cmd not in (7, 8):                         # UNLOCK_PI, TRYLOCK_PI: nothing more
        shown += [str(val), _ptr(a[3]), _ptr(a[4]), _hex(val3)]
    return shown, None


def _futex_wake_op(v):
    opcode = (v >> 28) & 7
    parts = ["FUTEX_OP_OPARG_SHIFT<<28"] if (v >> 28) & 8 else []
    parts.append(f"{xval(opcode, FUTEX_WAKE_OPS, 'FUTEX_OP_???')}<<28")
    parts.append(f"{_hex((v >> 12) & 0xFFF)}<<12")
    parts.append(f"{xval((v >> 24) & 0xF, FUTEX_WAKE_CMPS, 'FUTEX_OP_CMP_???')}<<24")
    parts.append(_hex(v & 0xFFF))
    return "|".join(parts)


@_or_pointer
def _flock_struct(k, addr, getlk):
    fl = abi.Flock.from_buffer_copy(_read(k, addr, 32))
    text = (f"{{l_type={xval(fl.l_type, LOCK_TYPES, 'F_???')}, "
            f"l_whence={xval(fl.l_whence, SEEK_WHENCE, 'SEEK_???')}, "
            f"l_start={fl.l_start}, l_len={fl.l_len}")
    return text + (f", l_pid={fl.l_pid}}}" if getlk else "}")


_F = {n: v for n, v in FCNTL_CMDS}


def _fcntl(k, a, ret):
    cmd = s32(a[1])
    shown = [str(s32(a[0])), xval(cmd & 0xFFFFFFFF, FCNTL_CMDS, "F_???")]
    arg = a[2]
    res = None
    if cmd == _F["F_SETFD"]:
        shown.append(flags(arg & 0xFFFFFFFF, FD_FLAGS, "FD_???"))
    elif cmd == _F["F_SETFL"]:
        shown.append(open_modes(arg))
    elif cmd in (_F["F_DUPFD"], _F["F_DUPFD_CLOEXEC"], _F["F_SETOWN"], _F["F_SETPIPE_SZ"]):
        shown.append(str(s32(arg)))
    elif cmd == _F["F_SETSIG"]:
        shown.append(signal_name(arg))
    elif cmd == _F["F_SETLEASE"]:
        shown.append(xval(s32(arg), LOCK_TYPES, "F_???"))
    elif cmd == _F["F_ADD_SEALS"]:
        shown.append(flags(arg & 0xFFFFFFFF, F_SEALS, "F_SEAL_???"))
    elif cmd in (_F["F_SETLK"], _F["F_SETLKW"], _F["F_OFD_SETLK"], _F["F_OFD_SETLKW"]):
        shown.append(_flock_struct(k, arg, False) if arg else "NULL")
    elif cmd in (_F["F_GETLK"], _F["F_OFD_GETLK"]):
        shown.append(_flock_struct(k, arg, True) if arg else "NULL")
    elif cmd == _F["F_GETFD"]:
        if ret is not None and ret > 0:
            res = f"{ret:#x} (flags {flags(ret, FD_FLAGS, 'FD_???')})"
    elif cmd == _F["F_GETFL"]:
        if ret is not None and ret >= 0:
            res = f"{_hex(ret)} (flags {open_modes(ret)})"
    elif cmd not in (_F["F_GETOWN"], _F["F_GETSIG"], _F["F_GETLEASE"], _F["F_GETPIPE_SZ"],
                     _F["F_GET_SEALS"]):
        shown.append(_hex(arg))
    return shown, res


def _rt_sigprocmask(k, a, ret):
    shown = [xval(s32(a[0]), SIGPROCMASK_HOW, "SIG_???"), _sigset(k, a[1], a[3]),
             _sigset(k, a[2], a[3]) if ret == 0 else _ptr(a[2]), str(a[3])]
    return shown, None


@_or_pointer
def _sigaction_struct(k, addr):
    if addr == 0:
        return "NULL"
    sa = abi.KSigaction.from_buffer_copy(_read(k, addr, 32))
    fl = sa.sa_flags & 0xFFFFFFFF
    handler = xval(sa.sa_handler, SIG_HANDLERS) if sa.sa_handler < 2 else _ptr(sa.sa_handler)
    text = (f"{{sa_handler={handler}, "
            f"sa_mask={sigset_text(sa.sa_mask)}, sa_flags={flags(fl, SA_FLAGS, 'SA_???')}")
    if fl & sf.SA_RESTORER:
        text += f", sa_restorer={_ptr(sa.sa_restorer)}"
    return text + "}"


def _rt_sigaction(k, a, ret):
    shown = [signal_name(a[0]), _sigaction_struct(k, a[1]),
             _sigaction_struct(k, a[2]) if ret == 0 else _ptr(a[2]), str(a[3])]
    return shown, None


@_or_pointer
def _wait_status_at(k, addr):
    return wait_status(struct.unpack("<i", _read(k, addr, 4))[0])


def _wait4(k, a, ret):
    status = _wait_status_at(k, a[1]) if a[1] and ret else _ptr(a[1])
    return [str(s32(a[0])), status, flags(a[2] & 0xFFFFFFFF, WAIT_OPTIONS, "W???"),
            _ptr(a[3])], None


def _umask(k, a, ret):
    """umask(022) = 022: strace prints the old mask in octal too (RVAL_OCTAL)."""
    return [_umode(a[0] & 0o777)], (f"0{ret:o}" if ret else "0") if ret is not None else None


CALLS = {
    "openat": _openat,
    "umask": _umask,
    "clone": _clone,
    "futex": _futex,
    "fcntl": _fcntl,
    "rt_sigprocmask": _rt_sigprocmask,
    "rt_sigaction": _rt_sigaction,
    "wait4": _wait4,
}


# --- results and lines ------------------------------------------------------------------------
# The kernel's internal restart codes, as strace shows them.
_RESTARTS = {512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
             513: "ERESTARTNOINTR (To be restarted)",
             514: "ERESTARTNOHAND (To be restarted if no handler)",
             516: "ERESTART_RESTARTBLOCK (Interrupted by signal)"}


def result(ret, letter="d"):
    if ret is None:
        return "?"
    if -ret in _RESTARTS:
        return "? " + _RESTARTS[-ret]
    if -4096 < ret < 0:
        code = -ret
        name = _errno.errorcode.get(code, str(code))
        return f"-1 {name} ({os.strerror(code)})"
    return f"{ret:#x}" if letter in "xp" else str(ret)


def format_call(k, name, fmt, args, ret):
    """The strace line (without newline) for one call; ret None = no return."""
    letters, _, ret_letter = fmt.partition(">")
    a = list(args) + [0] * (6 - len(args))
    res = None
    shown = None
    special = CALLS.get(name)
    if special is not None:
        try:
            shown, res = special(k, a, ret)
        except Exception:       # unreadable memory, odd values: the generic form instead
            shown, res = None, None
    if shown is None:
        decoders = _ARGS.get(name, {})
        shown = []
        for i, c in enumerate(letters):
            fn = decoders.get(i)
            text = None
            if fn is not None:
                try:
                    text = fn(k, a[i], a, ret)
                except Exception:
                    text = None
            if text is None:
                text = _arg(k, c, a[i], a[i + 1] if i + 1 < 6 else 0, ret)
            shown.append(text)
    if res is None or ret is None or ret < 0:
        res = result(ret, ret_letter or "d")
    return f"{name}({', '.join(shown)}) = {res}"


def _si_code(code, signo):
    for name, val in SI_CODES:
        if val == code:
            return name
    for name, val in SIGNAL_CODES.get(signo, ()):
        if val == code:
            return name
    return str(code)


def signal_line(info):
    """strace's line for a signal delivered to a handler: --- SIGX {si_signo=..., ...} ---"""
    raw = bytes(info)
    signo, errno_, code = struct.unpack_from("<iii", raw, 0)

    def i32(field):
        return struct.unpack_from("<i", raw, sf.SI_OFFSETS[field])[0]

    def u64(field):
        return struct.unpack_from("<Q", raw, sf.SI_OFFSETS[field])[0]

    sig = signame(signo) or str(signo)
    fields = [f"si_signo={sig}", f"si_code={_si_code(code, signo)}"]
    if errno_:
        fields.append(f"si_errno={_errno.errorcode.get(errno_, errno_)}")
    source = [f"si_pid={i32('si_pid')}", f"si_uid={i32('si_uid') & 0xFFFFFFFF}"]
    value = [f"si_int={i32('si_int')}", f"si_ptr={_ptr(u64('si_ptr'))}"]
    if code <= 0:                                             # sent by a process
        if code == sf.SI_TIMER:
            fields += [f"si_timerid={_hex(i32('si_timerid') & 0xFFFFFFFF)}",
                       f"si_overrun={i32('si_overrun')}"] + value
        elif code == sf.SI_SIGIO:
            fields += [f"si_band={struct.unpack_from('<q', raw, sf.SI_OFFSETS['si_band'])[0]}",
                       f"si_fd={i32('si_fd')}"]
        else:
            fields += source
            if code not in (sf.SI_USER, sf.SI_TKILL) and u64("si_ptr"):
                fields += value
    elif signo == abi.SIGCHLD:
        status = i32("si_status")
        shown = str(status) if code == sf.CLD_EXITED else (signame(status) or str(status))
        fields += source + [f"si_status={shown}", f"si_utime={s64(u64('si_utime'))}",
                            f"si_stime={s64(u64('si_stime'))}"]
    elif signo in (abi.SIGILL, abi.SIGFPE, abi.SIGBUS, abi.SIGSEGV, abi.SIGTRAP):
        fields.append(f"si_addr={_ptr(u64('si_addr'))}")
    elif signo == abi.SIGIO and 1 <= code <= 6:
        fields += [f"si_band={struct.unpack_from('<q', raw, sf.SI_OFFSETS['si_band'])[0]}",
                   f"si_fd={i32('si_fd')}"]
    return f"--- {sig} {{{', '.join(fields)}}} ---"
