"""Bad input from the guest never becomes a Python traceback.

Every syscall in the table is called with arguments built from its strace format:
pointers aimed at an unmapped page, then at a read-only page, descriptors that are
not open, odd sizes.  Each call must return a number (a result or -errno) and never
raise; pointer arguments the call dereferences give EFAULT, as on Linux.  Calls
whose side effects would hit the test process itself are left out by name.
"""
import os

import pytest

from kernel import abi
from kernel.table import TABLE
import test_kernel_abi as base
from test_kernel_abi import ANON, BAD, PG

mem, g = base.mem, base.g        # fixtures: GuestMemory, Guest driving a Kernel

# end or stop the calling process, or change its identity/session
_SKIP = {"exit", "exit_group", "kill", "tkill", "tgkill", "setsid", "setpgid", "setuid",
         "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
         "setgroups", "chroot", "chdir", "fchdir", "umask", "rt_sigprocmask", "personality",
         "sched_setaffinity", "sched_setscheduler", "sched_setparam", "setpriority",
         "setrlimit", "prlimit64", "capset", "sync", "syncfs", "munmap", "mremap", "brk",
         "mprotect", "pkey_mprotect", "madvise", "mlockall",
         "clone",                   # forks the test process (tests/contracts/proc.c covers it)
         "rt_sigsuspend",           # waits for a signal (readable memory: an empty mask)
         "rt_sigreturn"}            # no frame at SP: SIGSEGV ends the process, as Linux
                                    # (tests/test_signal_delivery.py covers bad frames)
_NOFD = 0x7F00                      # a descriptor number that is never open


def _args(fmt, ptr, fd=_NOFD):
    out = []
    for c in fmt.partition(">")[0]:
        if c in "psbB":
            out.append(ptr)
        elif c in "df":
            out.append(fd)
        elif c == "u":
            out.append(64)
        else:
            out.append(0)
    return out


CASES = [s for s in TABLE if s.name not in _SKIP]


@pytest.mark.parametrize("where", ["unmapped", "readonly", "readonly-open-fd"])
def test_every_syscall_survives_bad_pointers(g, where, tmp_path):
    ptr, fd = BAD, _NOFD
    if where != "unmapped":
        ptr = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    if where == "readonly-open-fd":
        (tmp_path / "f").write_bytes(b"some bytes")
        fd = g.call("openat", abi.AT_FDCWD, g.s(tmp_path / "f"), abi.O_RDWR)
    problems = []
    for s in CASES:
        if s.name == "close":
            continue
        args = _args(s.fmt, ptr, fd)
        try:
            ret = g.call(s.nr, *args)
        except Exception as e:          # noqa: BLE001 — the point is that nothing escapes
            problems.append(f"{s.name}: {type(e).__name__}: {e}")
            continue
        if not isinstance(ret, int) or not -4096 < ret < 2**63:
            problems.append(f"{s.name}: returned {ret!r}")
    assert not problems, "\n".join(problems)


def test_pointer_arguments_give_efault(g, tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"0123456789")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    dfd = g.call("openat", abi.AT_FDCWD, g.s(tmp_path), abi.O_RDONLY | abi.O_DIRECTORY)
    ro = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    r = g.call("pipe2", g.buf, 0)
    assert r == 0
    cases = {
        "read": (fd, BAD, 4), "pread64": (fd, ro, 4, 0), "write": (fd, BAD, 4),
        "readv": (fd, BAD, 1), "writev": (fd, BAD, 1), "preadv": (fd, BAD, 1, 0, 0),
        "newfstatat": (abi.AT_FDCWD, BAD, g.buf, 0), "fstat": (fd, ro),
        "statx": (abi.AT_FDCWD, g.s(p), 0, 0xFFF, ro), "statfs": (g.s(p), BAD),
        "fstatfs": (fd, ro), "getcwd": (BAD, 4096), "openat": (abi.AT_FDCWD, BAD, 0, 0),
        "openat2": (abi.AT_FDCWD, g.s(p), BAD, 24), "readlinkat": (abi.AT_FDCWD, BAD, g.buf, 9),
        "mkdirat": (abi.AT_FDCWD, BAD, 0o755), "unlinkat": (abi.AT_FDCWD, BAD, 0),
        "getdents64": (dfd, BAD, 100), "pipe2": (ro, 0), "uname": (ro,),
        "clock_gettime": (0, ro), "clock_getres": (0, BAD), "gettimeofday": (BAD, 0),
        "nanosleep": (BAD, 0), "times": (BAD,), "getrusage": (0, BAD), "sysinfo": (ro,),
        "getrandom": (ro, 8, 0), "ppoll": (BAD, 1, 0, 0, 8), "pselect6": (3, BAD, 0, 0, 0, 0),
        "utimensat": (abi.AT_FDCWD, g.s(p), BAD, 0), "sendfile": (fd, fd, BAD, 1),
        "sched_getaffinity": (0, 128, ro), "capget": (BAD, 0), "prlimit64": (0, 7, 0, ro),
        "getxattr": (g.s(p), BAD, g.buf, 64), "memfd_create": (BAD, 0),
        "getresuid": (ro, ro, ro), "rt_sigaction": (10, BAD, 0, 8), "mincore": (g.buf, PG, ro),
        "fcntl": (fd, abi.F_GETLK, ro), "ioctl": (0, abi.TIOCGWINSZ, BAD),
        "copy_file_range": (fd, BAD, fd, 0, 1, 0),
    }
    by_name = {s.name: s for s in TABLE}
    wrong = {}
    for name, args in cases.items():
        ret = g.call(by_name[name].nr, *args)
        # ioctl(0, TIOCGWINSZ) when stdin is not a terminal is ENOTTY before the copy
        if ret != -abi.EFAULT and not (name == "ioctl" and ret == -abi.ENOTTY):
            wrong[name] = ret
    assert not wrong, wrong
    assert g.call("lseek", fd, 0, os.SEEK_CUR) == 0         # nothing was consumed by read


def test_strings_past_path_max_and_unterminated(g):
    long = g.buf + 2 * PG
    g.mem.write(long, b"a" * 5000 + b"\0")
    assert g.call("openat", abi.AT_FDCWD, long, 0) == -abi.ENAMETOOLONG
    edge = g.call("mmap", 0, PG, abi.PROT_READ | abi.PROT_WRITE, ANON, -1, 0)
    g.mem.write(edge, b"b" * PG)                                # no NUL before unmapped memory
    g.call("munmap", edge + PG, PG)
    assert g.call("openat", abi.AT_FDCWD, edge + PG - 100, 0) == -abi.EFAULT
    # 4096 bytes without a NUL: Linux copies PATH_MAX bytes and stops, never faulting
    assert g.call("openat", abi.AT_FDCWD, edge, 0) == -abi.ENAMETOOLONG
