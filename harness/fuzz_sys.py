"""The syscall and fault campaigns: `python -m harness fuzz syscalls|faults`.

  python -m harness fuzz syscalls [--count N] [--seed S] [--batch B] [--jobs J]
  python -m harness fuzz syscalls --seed S --case K        # replay one case, call by call
  python -m harness fuzz faults [--count N] [--seed S] [--only PHASE[:ROUND]]

**syscalls.** Cases are made here from kernel/table.py (every syscall it lists that is not
in EXCLUDED, so a new table entry is fuzzed without a change here; 3% of cases are numbers
the table does not list): six arguments each, by the syscall's strace format letters
(ARG_GENERATORS: descriptors valid and not, edge integers, huge and odd lengths, random
flags, pointers to zeroed / patterned buffers, read-only and PROT_NONE pages, an unmapped
hole, the last bytes before a guard page, the program's code, NULL, the kernel half, past
emu's 2**40 limit, misaligned), HINTS (values that get a call past its first check, 60% of
the time) and OVERRIDES for arguments that must stay harmless (pids, socket families, mknod
modes ...).  They are written to a case file that tests/fixtures/fuzz_syscalls.c runs under
`python -m emu run`: per batch of --batch cases one forked child (a case that kills itself
ends only its batch) in a fresh scratch directory (make_batch_dir) with a fixed descriptor
table (FDS).  A batch is judged by how its child ended, the case it was in, the results and
emu's stderr between the batch's markers; it fails on:
  - a Python traceback, `emu: internal error`, `Fatal Python error`, `LLVM ERROR`, ... (BAD_TEXT);
  - the child dying of a signal none of the calls it made can explain (OUTCOME_RULES: e.g. a
    SIGSEGV is the guest's own only after an mm call *and* with emu's fatal-signal line; a
    SIGPIPE only after a write) -- emu dying of a host signal;
  - an exit status when no exit/exit_group case asked for it (a child that made all its
    calls ends with a SIGKILL to itself, which the guest reports as `end`: an exit_group
    would cost emu a ~150 ms interpreter shutdown per child);
  - a timeout (the guest parent kills the child after --case-timeout) in a call that cannot
    block (OUTCOME_RULES "hang"); a stalled emu parent; the emu parent dying;
  - a kernel-internal restart code (-512..-516) returned to the guest;
  - a new entry in the host's / (a path escaped the scratch directory).
Case K of seed S depends on nothing else (its own random.Random), so `--seed S --case K`
replays its batch up to K and prints every call with its result.  All runs of one campaign
share one temporary code cache (EMU_CACHE_DIR); --jobs emu processes run at once.
Safety (root on the host): nothing fuzzed runs in the guest parent; path arguments are
strings of STRINGS (relative names inside the scratch tree, no `..`; absolute host paths
only for LOOKUP_ONLY syscalls, none a symbolic link out), read-only data or bad pointers --
never bytes a call could have written (getcwd writes only into its own buffer); pids are the
child's own or none; files are capped by RLIMIT_FSIZE; EXCLUDED says why each is left out.

**faults.** PHASES, each --count rounds on the fixture (default hello) with its own cache
dir: `kill` (SIGKILL after a random delay of a cold run, then a full run on that cache),
`torn` (record files truncated at random offsets), `altered` (round N does ALTERATIONS[N]:
a digit of a number in a description, a block's end lowered below its start by one digit --
the issue's `SystemError: Negative size` --, a byte of the object or the header, a record
replaced by another, emptied, garbage appended, random bytes), `orphan` (stale temporary
files of a dead writer planted), `concurrent` (--procs cold runs at once on one cache, then
a warm run).  Every run after the damage must print what the reference run printed, with
its status, no BAD_TEXT; a damaged record must be a miss (EMU_BLOCK_STATS cache_misses); no
temporary file may be left in the cache after a complete run.  `--only PHASE:N` replays a
round (a kill's delay is replayed, not the moment it lands).

Owns: both campaigns' case generation, safety tables, judging, runners, summaries and
reproducers.  Does not own: emu, the code cache (translator/codecache.py), the guest
program (tests/fixtures/fuzz_syscalls.c owns the kinds' addresses and the child protocol).
"""
import argparse
import errno
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness import oracle

MASK64 = (1 << 64) - 1
GUEST_SOURCE = oracle.FIXTURES / "fuzz_syscalls.c"
FILE_LIMIT = 16 << 20            # RLIMIT_FSIZE of every emu process of the campaign

# ---------------------------------------------------------------------------------------------
# Argument kinds: the guest resolves (kind, value) to an address (tests/fixtures/
# fuzz_syscalls.c, enum K_*; same order).
KINDS = ("lit", "zero", "pat", "small", "ro", "none", "unmap", "edge", "str", "code", "pid",
         "tid", "sro", "sedge", "sink")
K = {name: i for i, name in enumerate(KINDS)}
BUF, SMALLR = 65536, 16384       # sizes of the buffers in the guest

# The child's descriptors (made by the guest parent before each fork).
FDS = {0: "scratch file in0 (read)", 1: "scratch file out1", 2: "scratch file out2",
       3: "f0 O_RDWR", 4: "ro O_RDONLY", 5: "the batch directory", 6: "pipe read end",
       7: "pipe write end", 8: "socketpair", 9: "socketpair", 10: "eventfd",
       11: "epoll (pipe read end in it)", 12: "timerfd", 13: "memfd",
       14: "inotify", 15: "f0 O_RDWR|O_APPEND", 16: "UDP socket"}

# Strings a path argument can name.  SCRATCH_NAMES resolve inside the batch directory whatever
# the cwd or dirfd (all in the scratch tree): relative, no "..".  HOST_LOOKUP paths are
# only given to LOOKUP_ONLY syscalls and are no symbolic links to outside the scratch tree.
SCRATCH_NAMES = ["f0", "f1", "ro", "d0", "d0/f2", "d0/d1", "l0", "in0", "out1", "nx", "nx/f",
                 "", ".", "f0/", "d0/", "./f0", "d0/./f2", "newf", "newd", "l1", "user.fz",
                 "trusted.fz", "\x01\x7f", "a b", "x" * 255, "x" * 256, "d0/" * 1400]
HOST_LOOKUP = ["/", "/proc/self/maps", "/proc/self/status", "/proc/cpuinfo", "/etc/passwd",
               "/nonexistent", "/dev/null", "/proc/self", "/proc/self/fd"]
STRINGS = SCRATCH_NAMES + HOST_LOOKUP
LOOKUP_ONLY = {"newfstatat", "statx", "faccessat", "faccessat2", "readlinkat", "getxattr",
               "lgetxattr", "listxattr", "llistxattr", "statfs", "inotify_add_watch"}

# Syscalls never called, by name (names not in the table yet included, for when they come).
EXCLUDED = {
    "mount": "the host's mount table", "umount2": "the host's mount table",
    "pivot_root": "the host's mount table",
    "chroot": "moves the child's root: later path cases would leave the scratch tree",
    "reboot": "reboots the host", "kexec_load": "reboots the host",
    "kexec_file_load": "reboots the host",
    "init_module": "host kernel modules", "finit_module": "host kernel modules",
    "delete_module": "host kernel modules",
    "swapon": "host swap", "swapoff": "host swap", "acct": "host process accounting",
    "quotactl": "host disk quotas", "quotactl_fd": "host disk quotas",
    "syslog": "reads and clears the host kernel log", "vhangup": "hangs up the host's terminal",
    "nfsservctl": "host NFS server",
    **{n: "setuid family: the child's (host) credentials"
       for n in ("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
                 "setfsuid", "setfsgid", "setgroups")},
    "capset": "drops the child's (host) capabilities, as the setuid family",
    "ptrace": "attaches to other processes",
    "process_vm_readv": "other processes' memory", "process_vm_writev": "other processes' memory",
    "process_madvise": "other processes' memory", "process_mrelease": "other processes",
    "pidfd_send_signal": "signals other processes", "pidfd_getfd": "other processes' files",
    "clock_settime": "sets the host's clock", "settimeofday": "sets the host's clock",
    "adjtimex": "sets the host's clock", "clock_adjtime": "sets the host's clock",
    "sethostname": "renames the host", "setdomainname": "renames the host",
    "seccomp": "a filter would apply to the emu host process's own syscalls",
    "unshare": "namespaces of the host process", "setns": "namespaces of the host process",
    "sched_setattr": "real-time policies could starve the host",
    **{n: "host-wide IPC objects outlive the campaign (and others' could be removed)"
       for n in ("msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop",
                 "semtimedop", "shmget", "shmctl", "shmat", "shmdt", "mq_open", "mq_unlink",
                 "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr")},
    "add_key": "host keyrings", "request_key": "host keyrings", "keyctl": "host keyrings",
    "bpf": "loads programs into the host kernel", "perf_event_open": "host-wide counters",
    "fanotify_init": "permission events would make other host processes wait",
    "fanotify_mark": "permission events would make other host processes wait",
    "open_by_handle_at": "opens any host file by handle, outside the scratch tree",
    **{n: "the mount API" for n in ("open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
                                    "fspick", "mount_setattr")},
    "userfaultfd": "a registered range would make emu's own accesses wait forever",
    **{n: "submits host I/O (opens, unlinks ...) that no argument rule here covers"
       for n in ("io_uring_setup", "io_uring_enter", "io_uring_register")},
}

# What a batch may legitimately do after a call of these (judge()).  "hang": the call may
# wait forever (the child is killed at its deadline); "any-signal": it may make the child
# die of any signal; "fault": a SIGSEGV/SIGBUS/SIGILL/SIGTRAP/SIGFPE that emu reports with
# its fatal-signal line is the guest's own ("fault-quiet": even without the line); "SIGPIPE"/"SIGXFSZ": those; "exit": ends the
# child with the status it asks for; "anything": no outcome but BAD_TEXT is a failure.
OUTCOME_RULES = [
    ({"read", "readv", "pread64", "preadv", "preadv2", "recvfrom", "accept", "accept4",
      "connect", "write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendfile",
      "splice", "tee", "vmsplice", "copy_file_range"}, {"hang"},
     "a descriptor made blocking in the batch (pipe2, socket, fcntl F_SETFL), a full pipe"),
    ({"ppoll", "pselect6", "epoll_pwait", "epoll_pwait2", "nanosleep", "clock_nanosleep",
      "futex", "rt_sigsuspend", "rt_sigtimedwait", "wait4", "waitid"}, {"hang"},
     "NULL or long timeouts from the buffers, a futex word that matches, no signal comes"),
    ({"flock", "fcntl"}, {"hang"},
     "a lock held by the child's other open file description of f0 (fds 3 and 15)"),
    ({"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"},
     {"any-signal", "hang"}, "sends the child any signal (SIGSTOP: it stops)"),
    ({"setitimer", "timer_settime", "fcntl", "ioctl"}, {"any-signal"},
     "timers (any signal number from the buffers), SIGIO owners, F_SETSIG"),
    ({"mmap", "munmap", "mremap", "mprotect", "pkey_mprotect", "brk", "madvise",
      "sigaltstack", "clone"}, {"fault"},
     "the child's own code, stack or buffers unmapped or protected"),
    ({"rt_sigaction"}, {"fault", "fault-quiet"},
     "a handler at a random address, or one whose frame cannot be written (force_sigsegv: "
     "no fatal-signal line)"),
    ({"write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendfile", "splice",
      "tee", "vmsplice", "copy_file_range"}, {"SIGPIPE", "SIGXFSZ"},
     "a write to a pipe or socket without reader, past RLIMIT_FSIZE"),
    ({"truncate", "ftruncate", "fallocate"}, {"SIGXFSZ"}, "past RLIMIT_FSIZE"),
    ({"exit", "exit_group"}, {"exit"}, "ends the child with its own status"),
    ({"rt_sigreturn", "execve"}, {"anything"},
     "registers restored from whatever the stack holds; a replaced program"),
]
FAULT_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGTRAP, signal.SIGFPE}
BAD_TEXT = ("Traceback (most recent call last)", "emu: internal error", "Fatal Python error",
            "Exception ignored in", "SystemError", "LLVM ERROR")
EMU_FATAL = re.compile(r"^emu: SIG[A-Z0-9]+: ")
RESTART_CODES = {-512, -513, -514, -516}      # ERESTARTSYS ... never reach user space
UNKNOWN_SHARE = 0.03
NONEXISTENT_PID = 0x3FFFFFFF                  # above any pid_max
CONFIRM_FACTOR = 5                            # a hang is confirmed with 5x the deadline


def _allows(name):
    out = set()
    for names, allows, _ in OUTCOME_RULES:
        if name in names:
            out |= allows
    return out


# ---------------------------------------------------------------------------------------------
# Argument generators: rng -> (kind, value).

def _lit(v):
    return (K["lit"], v & MASK64)


def _pick(r, weighted):
    total = sum(w for w, _ in weighted)
    x = r.random() * total
    for w, fn in weighted:
        x -= w
        if x < 0:
            return fn()
    return weighted[-1][1]()


INT_EDGES = [-1, -2, -100, -4096, 0x7FFFFFFF, -0x80000000, 0xFFFFFFFF, 1 << 31, 1 << 32,
             (1 << 32) | 3, 1 << 63, MASK64, 1000, 1024, 65535, 1 << 20]
SIZE_EDGES = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 128, 255, 256, 512, 1024,
              4095, 4096, 4097, 8192, 16384, 65535, 65536, 65537, 1 << 20, 1 << 24,
              (1 << 31) - 1, 1 << 31, 1 << 32, (1 << 32) + 1, 1 << 47, 1 << 63, MASK64, -4096]
LONG_EDGES = [0, 1, 2, -1, -2, 4095, 4096, 8192, 1 << 31, 1 << 32, 1 << 40, 1 << 62,
              (1 << 63) - 1, -(1 << 63), -4096]
MODE_EDGES = [0, 0o644, 0o755, 0o777, 0o7777, 0o4755, 0o170777, MASK64]
# Addresses that are never guest memory: NULL and near it, the top of the 64-bit space, the
# kernel half, just past emu's 2**40 guest limit, non-canonical ones.
BAD_POINTERS = [0, 1, 8, 0xFFF, 0x1000, MASK64, -4096, -8, 0xFFFF800000000000,
                0xFFFFFFFF80000000, 1 << 40, (1 << 40) - 4096, 1 << 47, 1 << 48, 1 << 63,
                0x0000DEADBEEF0000]
BUF_OFFSETS = [0, 0, 0, 1, 2, 3, 4, 7, 8, 16, 24, 64, 4092, 4095, 4096, 8192, BUF - 8,
               BUF - 1, BUF, -8, -1]


def g_int(r):
    return _pick(r, [(6, lambda: _lit(r.randrange(0, 17))), (1, lambda: _lit(r.randrange(17, 25))),
                     (2, lambda: _lit(r.randint(-3, 70))),
                     (2, lambda: _lit(r.choice(INT_EDGES))),
                     (1, lambda: _lit(r.getrandbits(32))), (1, lambda: _lit(r.getrandbits(64)))])


def g_dirfd(r):
    return _pick(r, [(5, lambda: _lit(-100)), (2, lambda: _lit(5)),
                     (2, lambda: _lit(r.randrange(0, 25))), (1, lambda: _lit(r.choice(INT_EDGES)))])


def g_size(r):
    return _pick(r, [(6, lambda: _lit(r.choice(SIZE_EDGES))), (2, lambda: _lit(r.randrange(0, 70000))),
                     (1, lambda: _lit(r.getrandbits(64)))])


def g_long(r):
    return _pick(r, [(4, lambda: _lit(r.choice(LONG_EDGES))), (2, lambda: _lit(r.randrange(0, 1 << 16))),
                     (1, lambda: _lit(r.getrandbits(64)))])


def g_flags(r):
    def bits():
        v = 0
        for _ in range(r.randint(1, 4)):
            v |= 1 << r.randrange(32)
        return v
    return _pick(r, [(5, lambda: _lit(0)), (3, lambda: _lit(r.randrange(0, 17))), (4, lambda: _lit(bits())),
                     (1, lambda: _lit(0xFFFFFFFF)), (1, lambda: _lit(r.getrandbits(32))),
                     (1, lambda: _lit(r.getrandbits(64)))])


def g_mode(r):
    return _pick(r, [(3, lambda: _lit(r.choice(MODE_EDGES))), (2, lambda: _lit(r.getrandbits(12))),
                     (1, lambda: _lit(r.getrandbits(16)))])


def g_ptr(r):
    off = lambda: r.choice(BUF_OFFSETS)
    small = lambda: r.choice([0, 1, 8, 16, 4095, 4096, SMALLR - 8, SMALLR - 1])
    return _pick(r, [
        (20, lambda: (K["zero"], off() & MASK64)), (10, lambda: (K["pat"], off() & MASK64)),
        (10, lambda: (K["small"], off() & MASK64)),
        (10, lambda: (K["edge"], r.choice([0, 1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 4096]))),
        (6, lambda: (K["ro"], small())), (5, lambda: (K["none"], small())),
        (5, lambda: (K["unmap"], small())), (3, lambda: (K["code"], r.choice([0, 1, 4, 8]))),
        (12, lambda: _lit(r.choice(BAD_POINTERS))), (1, lambda: _lit(r.getrandbits(64)))])


def g_string(r, lookup_ok):
    n = len(STRINGS) if lookup_ok else len(SCRATCH_NAMES)
    return _pick(r, [
        (16, lambda: (K["str"], r.randrange(n))),
        (1, lambda: (K["sro"], r.choice([0, 1, 4095, 4096, SMALLR - 1]))),
        (1, lambda: (K["sedge"], r.choice([1, 2, 16, 255, 4096, 4097]))),
        (1, lambda: (K["none"], 0)), (1, lambda: (K["unmap"], 0)),
        (1, lambda: _lit(r.choice(BAD_POINTERS)))])


def g_pid_other(r):          # kill's pid: this child, or none at all; never 0 or -1 (groups)
    return r.choice([(K["pid"], 0), (K["pid"], 0), _lit(NONEXISTENT_PID), _lit(-NONEXISTENT_PID),
                     _lit(-0x80000000)])


def g_pid_self(r):           # a pid where 0 means the caller
    return r.choice([(K["pid"], 0), _lit(0), _lit(0), _lit(NONEXISTENT_PID), _lit(-1),
                     _lit(-0x80000000)])


def g_who(r):                # setpriority/ioprio_set: who=0 is the caller's group or user
    return r.choice([(K["pid"], 0), _lit(NONEXISTENT_PID)])


def g_tid(r):
    return r.choice([(K["tid"], 0), (K["tid"], 0), _lit(NONEXISTENT_PID), _lit(0), _lit(-1)])


def g_signal(r):
    return _pick(r, [(8, lambda: _lit(r.randrange(0, 65))),
                     (1, lambda: _lit(r.choice([65, 128, -1, 1 << 31, (1 << 32) | 9])))])


def g_which(r):
    return _lit(r.choice([0, 1, 2, 3, -1, 100]))


def g_policy(r):             # never SCHED_FIFO/RR/DEADLINE (1, 2, 6): a busy child would starve the host
    return _lit(r.choice([0, 3, 5, 7, 8, -1, 100, 0x40000000, 0x40000003]))


def g_mknod_mode(r):         # never a device node (S_IFCHR/S_IFBLK) nor a FIFO (an open blocks)
    fmt = r.choice([0o100000, 0o140000, 0, 0o170000, 0o050000, 0o030000])
    return _lit(fmt | r.getrandbits(12))


def g_domain(r):             # no netlink, packet or other raw families (root: host network)
    return _lit(r.choice([1, 1, 2, 10, 0, 46, 255, -1, 0x10001]))


def g_socktype(r):           # no SOCK_RAW (3), SOCK_PACKET (10)
    return _lit(r.choice([1, 2, 5, 0, 4, 6, 11, 15]) | r.choice([0, 0x800, 0x80000, 0x80800]))


def g_sink(r):               # getcwd's output: absolute paths only ever land here
    return r.choice([(K["sink"], 0), (K["sink"], BUF - 16), (K["edge"], 8), (K["none"], 0),
                     _lit(0), _lit(MASK64)])


CLONE_BITS = [0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x20000,
              0x40000, 0x80000, 0x100000, 0x200000, 0x400000, 0x800000, 0x1000000, 0x80000000]


def g_clone_flags(r):
    v = r.choice([17, 17, 0, r.randrange(65)])
    if r.random() < 0.15:
        v |= 0x3D0F00                      # glibc's thread flags
    elif r.random() < 0.2:
        v |= 0x4100                        # vfork
    for b in CLONE_BITS:
        if r.random() < 0.08:
            v |= b
    return _lit(v)


FCNTL_CMDS = list(range(0, 17)) + [36, 37, 38] + list(range(1024, 1036))


def g_fcntl_cmd(r):
    return _pick(r, [(9, lambda: _lit(r.choice(FCNTL_CMDS))), (1, lambda: g_int(r))])


# Format letter -> generator (kernel/strace.py's letters).
ARG_GENERATORS = {"d": g_int, "f": g_dirfd, "u": g_size, "l": g_long, "x": g_flags, "o": g_mode,
                  "p": g_ptr, "b": g_ptr, "B": g_ptr}

# Arguments (by index) that must stay harmless, with the reason in the generator's comment.
OVERRIDES = {
    "kill": {0: g_pid_other, 1: g_signal},
    "tkill": {0: g_tid, 1: g_signal},
    "tgkill": {0: g_pid_other, 1: g_tid, 2: g_signal},
    "rt_sigqueueinfo": {0: g_pid_other, 1: g_signal},
    "rt_tgsigqueueinfo": {0: g_pid_other, 1: g_tid, 2: g_signal},
    "setpriority": {0: g_which, 1: g_who}, "ioprio_set": {0: g_which, 1: g_who},
    "setpgid": {0: g_pid_self},
    "sched_setscheduler": {0: g_pid_self, 1: g_policy}, "sched_setparam": {0: g_pid_self},
    "sched_setaffinity": {0: g_pid_self}, "prlimit64": {0: g_pid_self},
    "mknodat": {2: g_mknod_mode},
    "socket": {0: g_domain, 1: g_socktype}, "socketpair": {0: g_domain, 1: g_socktype},
    "getcwd": {0: g_sink},
    "clone": {0: g_clone_flags},
    "fcntl": {1: g_fcntl_cmd},
}


# Values that get a call past its first check (a sigset size of 8, a valid timer id, the
# right descriptor kind ...), used for an argument 60% of the time: the paths behind the
# checks are where the interesting failures are.  Plain integers or (kind, value) pairs.
_SIG = list(range(1, 65))
_Z = [(K["zero"], 0), (K["zero"], 64), (K["small"], 0)]
HINTS = {
    "rt_sigaction": {0: _SIG, 3: [8]}, "rt_sigprocmask": {0: [0, 1, 2], 3: [8]},
    "rt_sigpending": {1: [8]}, "rt_sigsuspend": {1: [8]}, "rt_sigtimedwait": {3: [8]},
    "epoll_pwait": {0: [11], 3: [0, 1], 5: [8]}, "epoll_pwait2": {0: [11], 5: [8]},
    "ppoll": {4: [8]},
    "timer_create": {0: [0, 1, 2, 3], 1: [(K["small"], 0), (K["zero"], 0)], 2: _Z},
    "timer_settime": {0: [0, 1], 1: [0, 1]}, "timer_gettime": {0: [0, 1]},
    "timer_getoverrun": {0: [0, 1]}, "timer_delete": {0: [0, 1]},
    "clock_nanosleep": {0: [0, 1], 1: [0, 1], 2: _Z},
    "nanosleep": {0: _Z},
    "faccessat": {2: [0, 1, 2, 4, 7]}, "faccessat2": {2: [0, 1, 2, 4, 7], 3: [0, 0x100, 0x200, 0x1000]},
    "statx": {2: [0, 0x100, 0x800, 0x1000, 0x6000], 3: [0x7FF, 0xFFF, 0, 1]},
    "newfstatat": {3: [0, 0x100, 0x1000]}, "utimensat": {3: [0, 0x100]},
    "mmap": {2: [0, 1, 3, 5, 7], 3: [0x22, 0x01, 0x02, 0x12, 0x32, 0x21, 0x100022],
             4: [-1, 3, 4, 13]},
    "mremap": {3: [0, 1, 3]}, "mprotect": {2: [0, 1, 3, 5, 7]},
    "pkey_alloc": {0: [0], 1: [0, 1, 2]}, "pkey_mprotect": {3: [-1]}, "pkey_free": {0: [0, 1]},
    "openat2": {3: [24]}, "set_robust_list": {1: [24]}, "get_robust_list": {0: [0]},
    "setsockopt": {0: [8, 9, 16], 1: [1, 0, 6, 17], 2: list(range(1, 21)), 4: [4, 8, 16]},
    "getsockopt": {0: [8, 9, 16], 1: [1, 0, 6, 17], 2: list(range(1, 21))},
    "bind": {0: [8, 16], 2: [16, 110]}, "connect": {0: [8, 16], 2: [16, 110]},
    "listen": {0: [8, 16]}, "shutdown": {0: [8, 9, 16], 1: [0, 1, 2]},
    "sendto": {0: [8, 9, 16]}, "recvfrom": {0: [8, 9, 16]},
    "getsockname": {0: [8, 9, 16]}, "getpeername": {0: [8, 9, 16]},
    "wait4": {0: [-1, 0], 2: [0, 1, 0x40000000]}, "waitid": {0: [0, 1, 2], 3: [4, 5, 1 | 4]},
    "futex": {1: [0, 1, 128, 129, 9, 10]},
    "epoll_ctl": {0: [11], 1: [1, 2, 3], 2: [6, 7, 8, 10]},
    "inotify_add_watch": {0: [14]}, "inotify_rm_watch": {0: [14], 1: [1, 2]},
    "getdents64": {0: [5]}, "fchdir": {0: [5]},
    "sendfile": {0: [3, 7, 9, 13, 15], 1: [3, 4, 6, 8, 13]},
    "splice": {0: [6, 8, 3], 2: [7, 9, 3, 13]}, "tee": {0: [6], 1: [7]},
    "vmsplice": {0: [7, 6]}, "copy_file_range": {0: [3, 4, 13], 2: [3, 13, 15]},
    "timerfd_settime": {0: [12], 1: [0, 1]}, "timerfd_gettime": {0: [12]},
    "readv": {0: [3, 4, 6, 8, 13]}, "writev": {0: [3, 7, 9, 13]},
    "preadv": {0: [3, 4, 13]}, "pwritev": {0: [3, 13]},
    "setitimer": {0: [0, 1, 2]}, "getitimer": {0: [0, 1, 2]},
    "sigaltstack": {0: _Z + [0], 1: _Z + [0]},
    "fgetxattr": {1: [20, 21]}, "fsetxattr": {1: [20, 21]},       # user.fz / trusted.fz
    "getxattr": {1: [20, 21]}, "lgetxattr": {1: [20, 21]}, "setxattr": {1: [20, 21]},
    "lsetxattr": {1: [20, 21]}, "removexattr": {1: [20, 21]}, "lremovexattr": {1: [20, 21]},
    "fremovexattr": {1: [20, 21]},
    "ioctl": {1: [0x5401, 0x541B, 0x5421, 0x5451, 0x5450, 0x5460, 0x40049409]},
    "capget": {0: _Z}, "sched_setscheduler": {1: [0, 3, 5]},
}
_STRING_HINT = {"fgetxattr", "fsetxattr", "getxattr", "lgetxattr", "setxattr", "lsetxattr",
                "removexattr", "lremovexattr", "fremovexattr"}   # their hints index STRINGS
assert STRINGS[20:22] == ["user.fz", "trusted.fz"]


def _hint(name, i, r):
    values = HINTS.get(name, {}).get(i)
    if not values or r.random() >= 0.6:
        return None
    v = r.choice(values)
    if isinstance(v, tuple):
        return v
    return (K["str"], v) if name in _STRING_HINT else _lit(v)


def _fix_fcntl(r, args):
    """F_SETOWN's argument names the process (group, if negative) SIGIO goes to."""
    if args[1][0] == K["lit"] and (args[1][1] & 0xFFFFFFFF) == 8:
        args[2] = g_pid_self(r) if r.random() < 0.5 else _lit(NONEXISTENT_PID)
    return args


FIXUPS = {"fcntl": _fix_fcntl}


# ---------------------------------------------------------------------------------------------
# The syscalls fuzzed.

_COMMENT = re.compile(r"^\s*#\s*(\d+)\s+([a-z_0-9]+)\s+([a-z_]+)\s*$")


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    fmt: str


_SYSCALLS = None


def syscalls():
    """(fuzzed [Syscall], unknown numbers [int], excluded {nr: name}) from kernel/table.py."""
    global _SYSCALLS
    if _SYSCALLS is None:
        if str(oracle.REPO) not in sys.path:
            sys.path.insert(0, str(oracle.REPO))
        from kernel import table
        listed = {s.nr: s.name for s in table.TABLE}
        for line in (oracle.REPO / "kernel" / "table.py").read_text().splitlines():
            m = _COMMENT.match(line)
            if m:
                listed.setdefault(int(m.group(1)), m.group(2))
        fuzzed = [Syscall(s.nr, s.name, s.fmt.partition(">")[0]) for s in table.TABLE
                  if s.name not in EXCLUDED]
        excluded = {nr: name for nr, name in listed.items() if name in EXCLUDED}
        known = {s.nr for s in table.TABLE}
        unknown = [n for n in range(512) if n not in known and n not in excluded]
        unknown += [1000, 4096, 65535, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
        _SYSCALLS = (fuzzed, unknown, excluded)
    return _SYSCALLS


@dataclass
class Case:
    index: int
    nr: int
    name: str
    args: list            # six (kind, value)
    nargs: int = 6        # how many the syscall takes (the others are junk registers)


def make_case(seed, k):
    r = random.Random(f"fuzz-syscalls:{seed}:{k}")
    fuzzed, unknown, _ = syscalls()
    if r.random() < UNKNOWN_SHARE:
        nr = r.choice(unknown)
        return Case(k, nr, f"syscall_{nr}", [g_int(r) for _ in range(6)])
    sc = r.choice(fuzzed)
    over = OVERRIDES.get(sc.name, {})
    args = []
    for i in range(6):
        hinted = _hint(sc.name, i, r) if i < len(sc.fmt) else None
        if i in over:
            args.append(over[i](r))
        elif hinted is not None:
            args.append(hinted)
        elif i < len(sc.fmt):
            letter = sc.fmt[i]
            args.append(g_string(r, sc.name in LOOKUP_ONLY) if letter == "s"
                        else ARG_GENERATORS[letter](r))
        else:
            args.append(_lit(r.choice([0, r.getrandbits(64)])))     # unused registers: junk
    if sc.name in FIXUPS:
        args = FIXUPS[sc.name](r, args)
    return Case(k, sc.nr, sc.name, args, len(sc.fmt))


def write_case_file(path, cases):
    strtab = b"".join(s.encode("latin-1") + b"\0" for s in STRINGS)
    strtab += b"\0" * (-len(strtab) % 8)
    out = [struct.pack("<4sIIIII", b"FZSY", 1, len(cases), len(STRINGS), len(strtab), 0), strtab]
    for c in cases:
        out.append(struct.pack("<II", c.nr, 0))
        for kind, val in c.args:
            out.append(struct.pack("<IIQ", kind, 0, val & MASK64))
    Path(path).write_bytes(b"".join(out))


def pattern(n, seed):
    """The guest's pattern bytes (fuzz_syscalls.c pattern()): never '/'."""
    out = bytearray(((i + seed) * 0x9D + 0x5A) & 0xFF for i in range(n))
    return bytes(out.replace(b"/", b"0"))


def make_batch_dir(d):
    """A batch's scratch directory as every child starts with it (see FDS)."""
    d.mkdir()
    for name, size, mode, seed in (("f0", 4096, 0o644, 1), ("f1", 0, 0o644, 2),
                                   ("ro", 100, 0o444, 3), ("in0", 64, 0o644, 4),
                                   ("out1", 0, 0o644, 5), ("out2", 0, 0o644, 6)):
        (d / name).write_bytes(pattern(size, seed))
        os.chmod(d / name, mode)
    (d / "d0").mkdir()
    (d / "d0" / "f2").write_bytes(pattern(10, 7))
    os.symlink("f0", d / "l0")


def _signed(v):
    return v - (1 << 64) if v >> 63 else v


def show_arg(a):
    kind, val = a
    if kind == K["lit"]:
        s = _signed(val)
        return str(s) if -4096 < s < 4096 else hex(val)
    if kind == K["str"]:
        s = STRINGS[val] if val < len(STRINGS) else "?"
        return repr(s if len(s) <= 40 else s[:16] + f"...({len(s)} chars)")
    name = KINDS[kind]
    if name == "edge" or name == "sedge":
        return f"{name}_end-{val}"
    s = _signed(val)
    return name if s == 0 else f"{name}{s:+d}"


def show_call(c):
    return f"{c.name}({', '.join(show_arg(a) for a in c.args[:c.nargs])})"


def show_ret(ret):
    if -4096 < ret < 0:
        return f"{ret} {errno.errorcode.get(-ret, '?')}"
    return hex(ret) if ret > 4096 else str(ret)


# ---------------------------------------------------------------------------------------------
# Judging one batch.

@dataclass
class Failure:
    case: int             # the case to replay (the one running, else the batch's last)
    reason: str
    detail: str = ""


@dataclass
class BatchEnd:
    batch: int
    how: str              # exit | signal | timeout | forkfail | lost (the parent died)
    value: int
    cur: int
    done: int
    rets: list
    stderr: list          # emu's lines between the markers


def judge(cases, first, end, e):
    """(outcome label, [Failure]) for batch cases[first:end] that ended as `e`: at most one
    failure for the case running (all that is wrong with it), plus one per restart code."""
    ran_to = e.cur if e.cur >= 0 else first + e.done - 1
    culprit = min(max(ran_to, first), end - 1)
    allows = set()
    for c in cases[first:culprit + 1]:
        allows |= _allows(c.name)
    running = e.cur >= 0 and e.done < e.cur - first + 1     # died inside case e.cur
    problems, detail = [], _tail(e.stderr)
    bad = next((b for b in BAD_TEXT if any(b in ln for ln in e.stderr)), None)
    if bad:
        problems.append(f"emu printed {bad!r}")
        detail = _excerpt(e.stderr, bad)
    fatal_line = any(EMU_FATAL.match(ln) for ln in e.stderr)
    label = {"end": "completed", "exit": "exited", "signal": "signalled",
             "timeout": "blocked"}.get(e.how, e.how)
    if e.how == "exit":
        asked = (running and cases[e.cur].name in ("exit", "exit_group")
                 and (cases[e.cur].args[0][1] & 0xFF) == e.value)
        if not asked and "anything" not in allows:
            problems.append(f"child exited with status {e.value} after {e.done} of "
                            f"{end - first} cases")
    elif e.how == "signal":
        sig = e.value
        if not ("any-signal" in allows or "anything" in allows
                or (sig in FAULT_SIGNALS and "fault" in allows and fatal_line)
                or (sig in FAULT_SIGNALS and "fault-quiet" in allows)
                or (sig == signal.SIGPIPE and "SIGPIPE" in allows)
                or (sig == signal.SIGXFSZ and "SIGXFSZ" in allows)):
            problems.append(f"child died of {_signame(sig)} that none of its calls explains "
                            f"(emu's host process crashed?)")
    elif e.how == "timeout":
        hung = cases[e.cur] if running else None
        if not (hung is not None and "hang" in _allows(hung.name)) and "anything" not in allows \
                and "any-signal" not in allows:
            where = show_call(hung) if hung else "between calls"
            problems.append(f"child hung ({where}) in a call that cannot block")
    elif e.how == "forkfail":
        problems.append(f"the guest parent could not fork (errno {e.value})")
    failures = [Failure(culprit, "; ".join(problems), detail)] if problems else []
    for i, ret in enumerate(e.rets):
        if ret in RESTART_CODES:
            failures.append(Failure(first + i, f"kernel-internal restart code {ret} reached "
                                    f"the guest: {show_call(cases[first + i])}"))
    return label, failures                # "lost": the caller reports the parent's end


def _signame(sig):
    if 32 <= sig <= 64:
        return "SIGRT"                   # glibc's 32, 33 and the real-time ones, as a group
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _tail(lines, n=6):
    lines = [ln for ln in lines if ln.strip()]
    return "\n".join(lines[-n:])


def _excerpt(lines, needle, n=12):
    """The lines from the first holding `needle`; of a traceback, its head, its last frames
    and the exception line."""
    for i, ln in enumerate(lines):
        if needle not in ln:
            continue
        if not ln.startswith("Traceback"):
            return "\n".join(lines[i:i + n])
        j = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")),
                 len(lines) - 1)
        frames = lines[max(i + 1, j - (n - 3)):j]
        skipped = ["  ..."] if j - (n - 3) > i + 1 else []
        return "\n".join([ln, *skipped, *frames, *lines[j:j + 1]])
    return _tail(lines)


# ---------------------------------------------------------------------------------------------
# Running the guest.

def guest_binary():
    return oracle.compile_c(GUEST_SOURCE, "aarch64")


def guest_command(binary, argv):
    """The command running the guest (oracle.emu_command: EMU_COMMAND is honoured)."""
    return oracle.emu_command([binary, *argv])


def _limits():
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def spawn(cmd, env, cwd):
    """One guest run: stderr piped (the protocol), stdout and stdin /dev/null."""
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, preexec_fn=_limits,
                            start_new_session=True)


@dataclass
class Chunk:
    """Batches [lo, hi) (as case indices) run by one emu process at a time."""
    lo: int
    hi: int
    scratch: Path
    next: int = 0
    proc: object = None
    buf: bytes = b""
    current: int = None
    seg: list = field(default_factory=list)
    pre: list = field(default_factory=list)
    done_marker: bool = False
    batches_this_run: int = 0
    last: float = 0.0
    starts: int = 0
    deaths_at_start: int = 0
    stalled: bool = False


class SyscallCampaign:
    def __init__(self, seed, count, batch=8, jobs=2, case_timeout=3.0, stall=None,
                 progress=None, keep=False, stop_at=None):
        self.seed, self.count, self.batch = seed, count, batch
        self.jobs = max(1, jobs)
        self.case_timeout = case_timeout
        self.stall = stall if stall is not None else case_timeout + 60
        self.progress = progress or (lambda text: None)
        self.keep = keep
        self.stop_at = stop_at            # --case K: run the batch of K up to K only
        self.failures = []
        self.outcomes = Counter()
        self.names = Counter()
        self.errnos = Counter()
        self.signals = Counter()
        self.suspects = {}                # batch -> its hang, to be confirmed
        self.confirming = self.confirmed = False
        self.unconfirmed_hangs = 0
        self.cases_made = 0
        self.children = 0
        self.ends = {}
        self.seconds = 0.0
        self.cases = []

    def run(self):
        t0 = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="emu-fuzz-sys-"))
        root_before = set(os.listdir("/"))
        try:
            binary = guest_binary()
            end = self.count if self.stop_at is None else self.stop_at + 1
            self.cases = [make_case(self.seed, k) for k in range(end)]
            casefile = work / "cases.bin"
            write_case_file(casefile, self.cases)
            env = oracle.emu_process_env({"EMU_CACHE_DIR": str(work / "cache")})
            first = 0 if self.stop_at is None else self.stop_at - self.stop_at % self.batch
            self._run_chunks(binary, casefile, work, env, first, end)
            self._confirm_hangs(binary, casefile, work, env, end)
        finally:
            escaped = set(os.listdir("/")) - root_before
            for name in sorted(escaped):
                self.failures.append(Failure(-1, f"/{name} appeared in the host's / during the "
                                             f"campaign (a path escaped the scratch directory?)"))
            if not self.keep:
                shutil.rmtree(work, ignore_errors=True)
            self.seconds = time.monotonic() - t0
        return self

    def _confirm_hangs(self, binary, casefile, work, env, end):
        """A hang in a call that cannot block is run again alone, with CONFIRM_FACTOR times
        the deadline, before it counts: on a loaded machine a slow child is not a hung one."""
        suspects, self.suspects = sorted(self.suspects.items()), {}
        if not suspects:
            return
        self.confirming, saved = True, self.case_timeout
        self.case_timeout *= CONFIRM_FACTOR
        try:
            for b, first_failure in suspects:
                self.confirmed = False
                self._run_chunks(binary, casefile, work, env, max(b * self.batch, 0),
                                 min((b + 1) * self.batch, end))
                if not self.confirmed:
                    self.unconfirmed_hangs += 1
                    self.progress(f"batch {b}: {first_failure.reason}, but not again with a "
                                  f"{self.case_timeout:.0f} s deadline (not counted)")
        finally:
            self.confirming, self.case_timeout = False, saved

    # -- the processes -----------------------------------------------------------------------
    def _split(self, first, end):
        nb = -(-(end - first) // self.batch)
        per = -(-nb // self.jobs)
        bounds, lo = [], first
        while lo < end:
            hi = min(end, lo + per * self.batch)
            bounds.append((lo, hi))
            lo = hi
        return bounds

    def _start(self, ch, binary, casefile, env):
        ch.scratch.mkdir(parents=True, exist_ok=True)
        for b in range(ch.next // self.batch, -(-ch.hi // self.batch)):
            if not (ch.scratch / f"b{b}").exists():
                make_batch_dir(ch.scratch / f"b{b}")
        argv = [casefile, ch.scratch, ch.next, ch.hi, self.batch, int(self.case_timeout * 1000)]
        ch.proc = spawn(guest_command(binary, [str(a) for a in argv]), env, ch.scratch)
        os.set_blocking(ch.proc.stderr.fileno(), False)
        ch.buf, ch.current, ch.seg, ch.pre = b"", None, [], []
        ch.done_marker, ch.batches_this_run = False, 0
        ch.last = time.monotonic()
        ch.starts += 1

    def _run_chunks(self, binary, casefile, work, env, first, end):
        chunks = [Chunk(lo, hi, work / f"scratch{i}", next=lo)
                  for i, (lo, hi) in enumerate(self._split(first, end))]
        sel = selectors.DefaultSelector()
        live = []

        def start(ch):
            self._start(ch, binary, casefile, env)
            sel.register(ch.proc.stderr, selectors.EVENT_READ, ch)
            live.append(ch)

        def finish(ch):
            sel.unregister(ch.proc.stderr)
            ch.proc.stderr.close()
            live.remove(ch)
            if self._ended(ch, ch.proc.wait()):
                start(ch)

        try:
            for ch in chunks:
                start(ch)
            while live:
                for key, _ in sel.select(timeout=0.5):
                    ch = key.data
                    try:
                        data = os.read(key.fileobj.fileno(), 65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        finish(ch)
                        continue
                    ch.last = time.monotonic()
                    ch.buf += data
                    *lines, ch.buf = ch.buf.split(b"\n")
                    for ln in lines:
                        self._line(ch, ln.decode("utf-8", "replace"))
                now = time.monotonic()
                for ch in list(live):
                    if ch.proc.poll() is not None:
                        # ended, but a guest child it left behind holds the pipe open
                        if now - ch.last > 5:
                            reap_strays(ch.scratch)
                        if now - ch.last > 15:
                            finish(ch)
                    elif now - ch.last > self.stall + (240 if ch.batches_this_run == 0 else 0):
                        _kill_group(ch.proc)
                        ch.stalled = True
        finally:
            for ch in live:
                _kill_group(ch.proc)
            reap_strays(work)

    def _line(self, ch, line):
        if line.startswith("@@S "):
            ch.current = int(line.split()[1])
            ch.seg = []
        elif line.startswith("@@E "):
            f = line.split()
            b = int(f[1])
            e = BatchEnd(b, f[2], int(f[3]), int(f[4]), int(f[5]), [int(x) for x in f[6:]],
                         ch.seg)
            self._judge_batch(ch, e)
            shutil.rmtree(ch.scratch / f"b{b}", ignore_errors=True)
            ch.current, ch.seg = None, []
            ch.batches_this_run += 1
        elif line.startswith("@@D"):
            ch.done_marker = True
        elif ch.current is not None:
            ch.seg.append(line)
        else:
            ch.pre.append(line)

    def _bounds(self, ch, b):
        return max(b * self.batch, ch.lo), min((b + 1) * self.batch, ch.hi)

    def _judge_batch(self, ch, e):
        first, end = self._bounds(ch, e.batch)
        label, failures = judge(self.cases, first, end, e)
        ch.next = end
        if self.confirming:
            for f in failures:
                self.confirmed = True
                self._fail(Failure(f.case, f"{f.reason} (again with a {self.case_timeout:.0f} s "
                                   f"deadline)" if e.how == "timeout" else f.reason, f.detail))
            return
        if e.how == "timeout" and len(failures) == 1 and "hung" in failures[0].reason:
            self.suspects[e.batch] = failures[0]
            failures = []
        self.ends[e.batch] = e
        self.children += 1
        self.outcomes[label] += 1
        if e.how == "signal":
            self.signals[_signame(e.value)] += 1
        ran = e.done + (1 if e.cur >= 0 and e.done < e.cur - first + 1 else 0)
        self.cases_made += ran
        for c in self.cases[first:first + ran]:
            self.names[c.name] += 1
        for ret in e.rets:
            if -4096 < ret < 0:
                self.errnos[-ret] += 1
            else:
                self.errnos[0] += 1
        for f in failures:
            self._fail(f)
        if self.children % 100 == 0:
            self.progress(f"{self.children} children, {self.cases_made} cases, "
                          f"{len(self.failures)} failures")

    def _fail(self, f):
        self.failures.append(f)
        self.progress(f"FAIL case {f.case}: {f.reason}\n  repro: {self.reproducer(f.case)}"
                      + (("\n  " + f.detail.replace("\n", "\n  ")) if f.detail else ""))

    def _ended(self, ch, status):
        """The emu process of a chunk ended: report what it cut short; start it again?"""
        stalled, ch.stalled = ch.stalled, False
        if ch.done_marker and status == 0 and not stalled:
            return False
        how = "stalled (no output for a while: killed)" if stalled else \
            f"ended with status {status}"
        if ch.current is not None:
            b = ch.current
            first, end = self._bounds(ch, b)
            _, failures = judge(self.cases, first, end,
                                BatchEnd(b, "lost", status, -1, 0, [], ch.seg))
            also = f"; {failures[0].reason}" if failures else ""
            self._fail(Failure(first, f"the guest parent (emu) {how} during batch {b}{also}",
                               _tail(ch.seg + ch.pre, 12)))
            self.children += 1
            self.outcomes["lost"] += 1
            ch.next = end
        elif ch.batches_this_run == 0:
            ch.deaths_at_start += 1
            if ch.deaths_at_start >= 2:
                self._fail(Failure(ch.next, f"the campaign's emu run {how} before its first "
                                   f"batch: giving up on cases {ch.next}..{ch.hi - 1}",
                                   _tail(ch.pre, 12)))
                return False
        else:
            self._fail(Failure(ch.next, f"the guest parent (emu) {how} between batches",
                               _tail(ch.pre + ch.seg, 12)))
        return ch.next < ch.hi

    # -- reporting ---------------------------------------------------------------------------
    def reproducer(self, case):
        extra = f" --batch {self.batch}" if self.batch != 8 else ""
        return f"python -m harness fuzz syscalls --seed {self.seed} --case {case}{extra}"

    def summary(self):
        top = ", ".join(f"{errno.errorcode.get(n, n) if n else 'ok'} {c}"
                        for n, c in self.errnos.most_common(6))
        outs = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        if self.signals:
            outs += " [" + ", ".join(f"{k} {v}" for k, v in self.signals.most_common()) + "]"
        unknown = sum(1 for n in self.names if n.startswith("syscall_"))
        return (f"fuzz syscalls: seed {self.seed}, {self.cases_made} cases made "
                f"({len(self.cases)} generated) in {self.children} children ({outs}), "
                f"{len(self.names) - unknown} syscalls + {unknown} unlisted numbers, "
                f"{self.seconds:.1f} s: "
                f"{len(self.failures)} failures"
                + (f" ({self.unconfirmed_hangs} hangs not confirmed)" if self.unconfirmed_hangs
                   else "") + f"; results: {top}")


def reap_strays(work):
    """SIGKILL guest children a dead guest parent left behind: processes (of this
    campaign: found by id, their cwd is in its private temporary directory)."""
    work = str(work)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == work or cwd.startswith(work + "/"):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def replay_case(seed, case, batch, case_timeout, out=print):
    """--case K: the batch of K up to K, in one child; every call with its result."""
    c = SyscallCampaign(seed, case + 1, batch=batch, jobs=1, case_timeout=case_timeout,
                        stop_at=case, progress=out)
    c.run()
    first = case - case % batch
    e = c.ends.get(case // batch)
    out(f"seed {seed}, batch {case // batch}: cases {first}..{case}")
    for k in range(first, case + 1):
        cs = c.cases[k]
        if e is not None and k - first < len(e.rets):
            res = show_ret(e.rets[k - first])
        elif e is not None and e.cur == k:
            res = f"? (the child ended here: {e.how} {e.value})"
        else:
            res = "(not reached)"
        out(f"  case {k}: {show_call(cs)} = {res}")
    if e is not None and e.stderr:
        out("  emu stderr:\n    " + "\n    ".join(e.stderr[-20:]))
    out(c.summary())
    return c


# ---------------------------------------------------------------------------------------------
# The fault campaign.

PHASES = ("kill", "torn", "altered", "orphan", "concurrent")
DEFAULT_FIXTURE = "hello"


@dataclass
class FaultFailure:
    phase: str
    round: int
    reason: str
    detail: str = ""


def emu_run(binary, cache, cwd, timeout=300.0):
    """One run of the fixture under emu with this code cache (stats on, for the misses)."""
    cmd = [sys.executable, "-m", "emu", "run", "--stats", str(binary)]
    env = oracle.emu_process_env({"EMU_CACHE_DIR": str(cache)})
    env.pop("EMU_BLOCK_STATS", None)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env, cwd=cwd,
                           timeout=timeout, preexec_fn=_limits)
    except subprocess.TimeoutExpired as exc:
        return oracle.RunResult(exc.stdout or b"", exc.stderr or b"", None,
                                time.monotonic() - start)
    return oracle.RunResult(p.stdout, p.stderr, p.returncode, time.monotonic() - start)


def emu_start(binary, cache, cwd):
    """A run to be killed: Popen, output to files in cwd."""
    cmd = [sys.executable, "-m", "emu", "run", str(binary)]
    env = oracle.emu_process_env({"EMU_CACHE_DIR": str(cache)})
    out = open(Path(cwd) / "killed.out", "wb")
    err = open(Path(cwd) / "killed.err", "wb")
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                cwd=cwd, preexec_fn=_limits)
    finally:
        out.close()
        err.close()


def stats_of(result):
    for ln in result.stderr.decode("utf-8", "replace").splitlines():
        if ln.startswith("EMU_BLOCK_STATS "):
            try:
                return json.loads(ln.split(" ", 1)[1])
            except ValueError:
                return None
    return None


def records(cache):
    return sorted(p for p in Path(cache).rglob("*.bin") if p.is_file())


def temp_files(cache):
    return sorted(p for p in Path(cache).rglob(".tmp*") if p.is_file())


def _description_span(blob):
    """(start, end) of the JSON description inside a record file (format-agnostic)."""
    i = blob.find(b'{"')
    if i < 0:
        return None
    try:
        _, n = json.JSONDecoder().raw_decode(blob[i:].decode("latin-1"))
    except ValueError:
        return None
    return i, i + n


def _number_digits(blob, span):
    """Offsets of the digits of the description's numbers (pcs, counts), not of its strings
    (a changed hash digit is caught by any validation; a changed pc or length is the test)."""
    out, in_str, esc = [], False, False
    for i in range(*span):
        c = blob[i]
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif 48 <= c <= 57:
            out.append(i)
    return out


ALTERATIONS = ("digit", "block-end", "object-byte", "header-byte", "swap", "empty",
               "garbage-tail", "random-bytes")
_BLOCK = re.compile(rb"\[(\d+), (\d+), \"")


def _lower_end(blob, span):
    """(offset, by, amount): one digit of a recorded block's end lowered (by `by`, the end by
    `amount`) so that the end falls
    just below the block's start (the issue's `SystemError: Negative size`); the smallest
    such change over the record's blocks (the end must stay in the program's code), or
    None."""
    best = None
    for m in _BLOCK.finditer(bytes(blob[span[0]:span[1]])):
        pc, end = int(m.group(1)), int(m.group(2))
        digits = m.group(2)
        for j in range(len(digits)):              # 10**j: the j-th digit from the right
            pos = len(digits) - 1 - j
            for d in range(1, digits[pos] - ord("0") + 1):
                amount = d * 10 ** j              # the end stays 4-aligned (instructions)
                if amount > end - pc and amount % 4 == 0 and (best is None or amount < best[2]):
                    best = (span[0] + m.start(2) + pos, d, amount)
    return best


def alter(r, path, others, what=None):
    """Damage one record file in place (`what`: one of ALTERATIONS, default random);
    returns a short description."""
    blob = bytearray(path.read_bytes())
    what = what or r.choice(ALTERATIONS)
    span = _description_span(bytes(blob))
    if what == "block-end" and span:
        low = _lower_end(blob, span)
        if low is not None:
            i = low[0]
            blob[i] -= low[1]
            path.write_bytes(bytes(blob))
            return f"digit at {i} of the description (a block's end) -> {chr(blob[i])}"
        what = "digit"
    if what == "digit" and span:
        digits = _number_digits(blob, span)
        leading = [i for i in digits if not 48 <= blob[i - 1] <= 57]
        if digits:
            i = r.choice(leading if r.random() < 0.5 else digits)
            blob[i] = r.choice([d for d in b"0123456789" if d != blob[i]])
            path.write_bytes(bytes(blob))
            return f"digit at {i} of the description -> {chr(blob[i])}"
        what = "object-byte"
    if what == "object-byte" and span and span[1] < len(blob):
        i = r.randrange(span[1], len(blob))
        blob[i] ^= r.randrange(1, 256)
        path.write_bytes(bytes(blob))
        return f"object byte {i} flipped"
    if what == "swap" and others:
        other = r.choice(others)
        path.write_bytes(other.read_bytes())
        return f"replaced by {other.name}"
    if what == "empty":
        path.write_bytes(b"")
        return "emptied"
    if what == "garbage-tail":
        path.write_bytes(bytes(blob) + bytes(r.getrandbits(8) for _ in range(r.randint(1, 64))))
        return "garbage appended"
    if what == "random-bytes":
        path.write_bytes(bytes(r.getrandbits(8) for _ in range(len(blob))))
        return "random bytes"
    i = r.randrange(min(24, len(blob))) if blob else 0        # header-byte (and fallbacks)
    if blob:
        blob[i] ^= r.randrange(1, 256)
    path.write_bytes(bytes(blob))
    return f"header byte {i} flipped"


class FaultCampaign:
    def __init__(self, seed, count, fixture=DEFAULT_FIXTURE, procs=8, only=None, progress=None,
                 keep=False, phases=PHASES):
        self.seed, self.count, self.fixture, self.procs = seed, count, fixture, procs
        self.only = only                  # (phase, round or None) or None
        self.phases = phases
        self.progress = progress or (lambda text: None)
        self.keep = keep
        self.failures = []
        self.rounds = Counter()
        self.kill_landed = Counter()
        self.seconds = 0.0
        self.ref = None

    def rng(self, phase, rnd):
        return random.Random(f"fuzz-faults:{self.seed}:{phase}:{rnd}")

    def run(self):
        t0 = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="emu-fuzz-faults-"))
        try:
            self.binary = oracle.compile_c(oracle.fixture(self.fixture), "aarch64")
            self.work = work
            if not self._reference():
                return self
            for phase in self.phases:
                if self.only and self.only[0] != phase:
                    continue
                rounds = ([self.only[1]] if self.only and self.only[1] is not None else
                          range(self._rounds(phase)))
                for rnd in rounds:
                    d = work / f"{phase}{rnd}"
                    d.mkdir()
                    getattr(self, f"_phase_{phase}")(self.rng(phase, rnd), rnd, d)
                    self.rounds[phase] += 1
                    if not self.keep:
                        shutil.rmtree(d, ignore_errors=True)
        finally:
            if not self.keep:
                shutil.rmtree(work, ignore_errors=True)
            self.seconds = time.monotonic() - t0
        return self

    def _rounds(self, phase):
        return max(1, self.count // 4) if phase in ("concurrent", "orphan") else self.count

    # -- checks --------------------------------------------------------------------------------
    def _fail(self, phase, rnd, reason, detail=""):
        f = FaultFailure(phase, rnd, reason, detail)
        self.failures.append(f)
        self.progress(f"FAIL {phase} round {rnd}: {reason}\n  repro: {self.reproducer(f)}"
                      + (("\n  " + detail.replace("\n", "\n  ")) if detail else ""))

    def _check(self, phase, rnd, res, what):
        """A complete run must be the reference run: stdout, status, no BAD_TEXT (one
        failure per run, naming every difference)."""
        lines = res.stderr.decode("utf-8", "replace").splitlines()
        problems, detail = [], _tail(lines)
        bad = next((b for b in BAD_TEXT if any(b in ln for ln in lines)), None)
        if bad:
            problems.append(f"emu printed {bad!r}")
            detail = _excerpt(lines, bad, 16)
        if res.status is None:
            problems.append(f"timed out after {res.seconds:.0f} s")
        elif res.status != self.ref.status or res.stdout != self.ref.stdout:
            problems.append(f"{res.describe()}, expected status {self.ref.status}; stdout "
                            f"{res.stdout[:80]!r} (expected {self.ref.stdout[:80]!r})")
        if problems:
            self._fail(phase, rnd, f"{what}: " + "; ".join(problems), detail)
        return not problems

    def _check_no_temp(self, phase, rnd, cache, what):
        left = temp_files(cache)
        if left:
            sizes = ", ".join(f"{p.parent.name}/{p.name} ({p.stat().st_size} bytes)" for p in left[:4])
            self._fail(phase, rnd, f"{what}: {len(left)} temporary file(s) left in the cache "
                       f"after a complete run: {sizes}")

    def _check_misses(self, phase, rnd, res, damaged, what):
        st = stats_of(res)
        if st is None or not self.every_record_used or not damaged:
            return
        if st.get("cache_misses", 0) < damaged:
            self._fail(phase, rnd, f"{what}: {damaged} damaged record(s) but "
                       f"{st.get('cache_misses', 0)} cache misses (a damaged record was used)")

    def _reference(self):
        d = self.work / "reference"
        d.mkdir()
        cache = d / "cache"
        cold = emu_run(self.binary, cache, d)
        text = cold.stderr.decode("utf-8", "replace")
        if cold.status is None or (cold.status or 0) < 0 or any(b in text for b in BAD_TEXT):
            self._fail("reference", 0, f"the cold reference run of {self.fixture} failed: "
                       f"{cold.describe()}", _tail(text.splitlines()))
            return False
        self.ref, self.cold_s = cold, cold.seconds
        self.template = d / "template"
        shutil.copytree(cache, self.template)
        warm = emu_run(self.binary, cache, d)
        self._check("reference", 0, warm, "the warm reference run")
        st = stats_of(warm) or {}
        self.nrecords = len(records(self.template))
        self.every_record_used = (st.get("cache_misses", 1) == 0
                                  and st.get("cache_hits", 0) == self.nrecords)
        self.progress(f"reference: {self.fixture} cold {cold.seconds:.2f} s, warm "
                      f"{warm.seconds:.2f} s, {self.nrecords} records")
        return self.nrecords > 0

    def _copy(self, d):
        cache = d / "cache"
        shutil.copytree(self.template, cache)
        return cache

    # -- phases --------------------------------------------------------------------------------
    def _phase_kill(self, r, rnd, d):
        """SIGKILL a cold run after a random delay, then a complete run on that cache."""
        cache = d / "cache"
        delay = r.uniform(0.05, self.cold_s * 1.1)
        p = emu_start(self.binary, cache, d)
        try:
            p.wait(timeout=delay)
            self.kill_landed["after the end"] += 1
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.kill_landed["during the run"] += 1
        err = (d / "killed.err").read_bytes().decode("utf-8", "replace")
        for bad in BAD_TEXT:
            if bad in err:
                self._fail("kill", rnd, f"the run killed after {delay:.2f} s printed {bad!r}",
                           _excerpt(err.splitlines(), bad))
        res = emu_run(self.binary, cache, d)
        if self._check("kill", rnd, res, f"the run after a SIGKILL at {delay:.2f} s"):
            self._check_no_temp("kill", rnd, cache, f"SIGKILL at {delay:.2f} s")

    def _phase_torn(self, r, rnd, d):
        cache = self._copy(d)
        recs = records(cache)
        hit = r.sample(recs, min(len(recs), r.randint(1, 3)))
        for p in hit:
            size = p.stat().st_size
            os.truncate(p, r.randrange(size) if size else 0)
        res = emu_run(self.binary, cache, d)
        what = f"{len(hit)} record(s) truncated"
        if self._check("torn", rnd, res, what):
            self._check_misses("torn", rnd, res, len(hit), what)
            self._check_no_temp("torn", rnd, cache, what)

    def _phase_altered(self, r, rnd, d):
        cache = self._copy(d)
        recs = records(cache)
        target = r.choice(recs)
        what = ALTERATIONS[rnd % len(ALTERATIONS)]
        if what == "block-end":      # the record whose block end moves least (stays in code)
            fits = []
            for p in recs:
                blob = p.read_bytes()
                span = _description_span(blob)
                low = span and _lower_end(blob, span)
                if low:
                    fits.append((low[2], p.name, p))
            if fits:
                target = r.choice([p for amount, _, p in sorted(fits) if amount == min(fits)[0]])
        how = alter(r, target, [p for p in recs if p != target], what)
        res = emu_run(self.binary, cache, d)
        what = f"record {target.name[:12]}: {how}"
        if self._check("altered", rnd, res, what):
            self._check_misses("altered", rnd, res, 1, what)

    def _phase_orphan(self, r, rnd, d):
        """Temporary files of a writer that died (a pid no process has) in record dirs."""
        cache = self._copy(d)
        recs = records(cache)
        planted = []
        for i, rec in enumerate(r.sample(recs, min(len(recs), 3))):
            tmp = rec.parent / f".tmp{NONEXISTENT_PID - i}.{r.getrandbits(40)}"
            tmp.write_bytes(b"" if i == 0 else rec.read_bytes()[:r.randrange(1, 200)])
            old = time.time() - 3600
            os.utime(tmp, (old, old))
            planted.append(tmp)
        res = emu_run(self.binary, cache, d)
        if self._check("orphan", rnd, res, "stale temporary files planted"):
            self._check_no_temp("orphan", rnd, cache, "stale temporary files of a dead writer")

    def _phase_concurrent(self, r, rnd, d):
        """--procs cold runs at once on one empty cache; then a warm run."""
        cache = d / "cache"
        cmd = [sys.executable, "-m", "emu", "run", str(self.binary)]
        env = oracle.emu_process_env({"EMU_CACHE_DIR": str(cache)})
        procs = []
        for i in range(self.procs):
            procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env, cwd=d,
                                          preexec_fn=_limits))
            time.sleep(r.uniform(0, 0.05))
        t0 = time.monotonic()
        for i, p in enumerate(procs):
            try:
                out, err = p.communicate(timeout=max(60.0, 600 - (time.monotonic() - t0)))
                res = oracle.RunResult(out, err, p.returncode, time.monotonic() - t0)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                res = oracle.RunResult(out, err, None, time.monotonic() - t0)
            self._check("concurrent", rnd, res, f"concurrent run {i + 1} of {self.procs}")
        self._check_no_temp("concurrent", rnd, cache, f"{self.procs} concurrent runs")
        warm = emu_run(self.binary, cache, d)
        self._check("concurrent", rnd, warm, f"the warm run after {self.procs} concurrent ones")
        st = stats_of(warm) or {}
        if self.every_record_used and st.get("cache_misses", 0):
            self._fail("concurrent", rnd, f"the warm run after {self.procs} concurrent ones "
                       f"missed {st['cache_misses']} regions (records lost or damaged)")

    # -- reporting -----------------------------------------------------------------------------
    def reproducer(self, f):
        extra = f" --fixture {self.fixture}" if self.fixture != DEFAULT_FIXTURE else ""
        only = "" if f.phase == "reference" else f" --only {f.phase}:{f.round}"
        return f"python -m harness fuzz faults --seed {self.seed}{only}{extra}"

    def summary(self):
        rounds = ", ".join(f"{p} {self.rounds[p]}" for p in PHASES if self.rounds[p])
        landed = ", ".join(f"{k} {v}" for k, v in sorted(self.kill_landed.items()))
        return (f"fuzz faults: seed {self.seed}, fixture {self.fixture}, rounds: {rounds or 'none'}"
                f"{' (kills: ' + landed + ')' if landed else ''}, {self.seconds:.1f} s: "
                f"{len(self.failures)} failures")


# ---------------------------------------------------------------------------------------------
# Command line.

def _parser(kind, prog):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    if kind == "syscalls":
        p.add_argument("--count", type=int, default=2000, help="cases (default 2000)")
        p.add_argument("--case", type=int, help="replay this case (its batch up to it)")
        p.add_argument("--batch", type=int, default=8, help="cases per forked child (default 8)")
        p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                       help="emu processes at once (default: 2, or 1 on one CPU)")
        p.add_argument("--case-timeout", type=float, default=3.0,
                       help="seconds a child may run before it is killed (default 3)")
    else:
        p.add_argument("--count", type=int, default=8,
                       help="rounds per phase (default 8: every kind of alteration once; "
                            "orphan and concurrent: count/4)")
        p.add_argument("--only", help=f"one phase, or one round PHASE:N ({', '.join(PHASES)})")
        p.add_argument("--fixture", default=DEFAULT_FIXTURE,
                       help=f"tests/fixtures program to run (default {DEFAULT_FIXTURE})")
        p.add_argument("--procs", type=int, default=8, help="concurrent processes (default 8)")
    return p


def _say(text):
    print(text, flush=True)


def cli(kind, argv, prog) -> int:
    p = _parser(kind, prog)
    args = p.parse_args(argv)
    try:
        if kind == "syscalls":
            if args.count < 1 or not 1 <= args.batch <= 64:
                print(f"{prog}: --count must be positive and --batch 1..64", file=sys.stderr)
                return 2
            if args.case is not None:
                if args.case < 0:
                    print(f"{prog}: --case must be >= 0", file=sys.stderr)
                    return 2
                c = replay_case(args.seed, args.case, args.batch, args.case_timeout, _say)
            else:
                c = SyscallCampaign(args.seed, args.count, batch=args.batch, jobs=args.jobs,
                                    case_timeout=args.case_timeout, progress=_say,
                                    keep=args.keep).run()
                _say(c.summary())
            return 1 if c.failures else 0
        only = None
        if args.only:
            phase, _, rnd = args.only.partition(":")
            if phase not in PHASES or (rnd and not rnd.isdigit()):
                print(f"{prog}: --only PHASE[:ROUND], PHASE one of {', '.join(PHASES)}",
                      file=sys.stderr)
                return 2
            only = (phase, int(rnd) if rnd else None)
        if args.count < 1 or args.procs < 1:
            print(f"{prog}: --count and --procs must be positive", file=sys.stderr)
            return 2
        c = FaultCampaign(args.seed, args.count, fixture=args.fixture, procs=args.procs,
                          only=only, progress=_say, keep=args.keep).run()
        _say(c.summary())
        return 1 if c.failures else 0
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
