"""-strace lines decoded as strace(1) prints them (kernel/strace.py).

Oracle: strace 6.1's output, written down here.  Each expected line below is what `strace -f`
printed for the same call made by a native C program on Linux (flag names and their order
come from strace's src/xlat/*.in tables, and its futex.c, clone.c, signal.c, wait.c and
printsiginfo.c decoders), with the AArch64 guest's values for the few flags whose numbers
differ from x86-64 (O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE).  The calls are rendered
by strace.format_call on a small fake guest memory, so no guest runs; one end-to-end test
checks the same forms in a real `emu -strace` run of busybox.
"""
import struct
import subprocess
import sys
from types import SimpleNamespace

import pytest

from emu.memory import GuestFault
from harness import oracle
from kernel import abi, sigframe, strace

BASE = 0x10000
MASK = (1 << 64) - 1
ENOENT, EAGAIN, EINVAL, ENOSYS = -abi.ENOENT, -abi.EAGAIN, -abi.EINVAL, -abi.ENOSYS


class FakeMem:
    """A 64 KiB guest memory at BASE; anything else faults (as GuestMemory does)."""

    def __init__(self):
        self.data = bytearray(0x10000)
        self.top = 0

    def put(self, data):
        addr = BASE + self.top
        self.data[self.top:self.top + len(data)] = data
        self.top += (len(data) + 15) & ~15
        return addr

    def read(self, addr, length):
        off = addr - BASE
        if off < 0 or off + length > len(self.data):
            raise GuestFault(addr, False)
        return bytes(self.data[off:off + length])

    def read_cstr(self, addr, limit=1 << 16):
        out = bytearray()
        while len(out) < limit:
            b = self.read(addr + len(out), 1)
            if b == b"\0":
                break
            out += b
        return bytes(out)


@pytest.fixture
def k():
    return SimpleNamespace(mem=FakeMem())


def line(k, name, *args, ret=0, fmt=None):
    from kernel.table import TABLE
    if fmt is None:
        fmt = next(e.fmt for e in TABLE if e.name == name)
    return strace.format_call(k, name, fmt, [a & MASK for a in args], ret)


def cstr(k, text):
    return k.mem.put(text.encode() + b"\0")


# --- open flags -------------------------------------------------------------------------------
O = abi


@pytest.mark.parametrize("flags,mode,shown", [
    (O.O_RDONLY, 0, "O_RDONLY"),
    (O.O_RDONLY | O.O_CLOEXEC, 0, "O_RDONLY|O_CLOEXEC"),
    (O.O_WRONLY | O.O_CREAT | O.O_TRUNC, 0o644, "O_WRONLY|O_CREAT|O_TRUNC, 0644"),
    (O.O_RDWR | O.O_APPEND | O.O_NONBLOCK | O.O_DIRECTORY | O.O_NOFOLLOW | 0x40000000, 0,
     "O_RDWR|O_APPEND|O_NONBLOCK|O_NOFOLLOW|O_DIRECTORY|0x40000000"),
    (O.O__TMPFILE | O.O_DIRECTORY | O.O_RDWR, 0o600, "O_RDWR|O_TMPFILE, 0600"),
    (O.O_PATH, 0, "O_RDONLY|O_PATH"),
    (3 | O.O__SYNC | O.O_DSYNC | O.O_EXCL | O.O_NOCTTY, 0, "O_ACCMODE|O_EXCL|O_NOCTTY|O_SYNC"),
    (O.O_DSYNC | O.O_ASYNC | O.O_DIRECT | O.O_NOATIME, 0,
     "O_RDONLY|O_DSYNC|O_DIRECT|O_NOATIME|FASYNC"),
    # the guest's (arm64) numbers, not the host's: 0o40000 is O_DIRECTORY on arm64 and
    # O_DIRECT on x86-64; 0o200000 the other way round; 0o400000 is O_LARGEFILE on arm64.
    (0o40000, 0, "O_RDONLY|O_DIRECTORY"),
    (0o200000, 0, "O_RDONLY|O_DIRECT"),
    (0o400000 | 1, 0, "O_WRONLY|O_LARGEFILE"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_openat_flags(k, flags, mode, shown):
    path = cstr(k, "/nonexistent")
    assert line(k, "openat", abi.AT_FDCWD, path, flags, mode, ret=ENOENT) == \
        f'openat(AT_FDCWD, "/nonexistent", {shown}) = -1 ENOENT (No such file or directory)'


def test_open_flags_elsewhere(k):
    assert line(k, "dup3", 1, 10, O.O_CLOEXEC, ret=10) == "dup3(1, 10, O_CLOEXEC) = 10"
    fds = k.mem.put(struct.pack("<ii", 3, 4))
    assert line(k, "pipe2", fds, O.O_CLOEXEC | O.O_NONBLOCK) == \
        "pipe2([3, 4], O_NONBLOCK|O_CLOEXEC) = 0"
    assert line(k, "fcntl", 1, abi.F_SETFL, O.O_NONBLOCK | O.O_APPEND) == \
        "fcntl(1, F_SETFL, O_RDONLY|O_APPEND|O_NONBLOCK) = 0"
    assert line(k, "fcntl", 1, abi.F_GETFL, ret=0o400001) == \
        "fcntl(1, F_GETFL) = 0x20001 (flags O_WRONLY|O_LARGEFILE)"
    assert line(k, "fcntl", 1, abi.F_SETFD, abi.FD_CLOEXEC) == "fcntl(1, F_SETFD, FD_CLOEXEC) = 0"
    assert line(k, "fcntl", 1, abi.F_GETFD, ret=1) == "fcntl(1, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
    assert line(k, "fcntl", 1, abi.F_DUPFD_CLOEXEC, 10, ret=11) == \
        "fcntl(1, F_DUPFD_CLOEXEC, 10) = 11"
    assert line(k, "fcntl", 1, 999, 0, ret=EINVAL) == \
        "fcntl(1, 0x3e7 /* F_??? */, 0) = -1 EINVAL (Invalid argument)"
    fl = k.mem.put(bytes(abi.Flock(l_type=1, l_whence=0, l_start=0, l_len=10)))
    assert line(k, "fcntl", 1, abi.F_SETLK, fl) == \
        "fcntl(1, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=10}) = 0"
    fl = k.mem.put(bytes(abi.Flock(l_type=2, l_whence=0, l_start=0, l_len=10, l_pid=0)))
    assert line(k, "fcntl", 1, abi.F_GETLK, fl) == \
        "fcntl(1, F_GETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=10, l_pid=0}) = 0"


# --- memory -----------------------------------------------------------------------------------
def test_mmap_and_mprotect(k):
    RW, ANON = abi.PROT_READ | abi.PROT_WRITE, abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
    assert line(k, "mmap", 0, 4096, RW, ANON, -1, 0, ret=0x7F0000000000) == \
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000"
    assert line(k, "mmap", 0, 4096, abi.PROT_NONE,
                ANON | abi.MAP_NORESERVE | abi.MAP_STACK | abi.MAP_GROWSDOWN, -1, 0,
                ret=0x1000) == ("mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|"
                                "MAP_NORESERVE|MAP_GROWSDOWN|MAP_STACK, -1, 0) = 0x1000")
    assert line(k, "mmap", 0x7000, 4096, abi.PROT_READ | abi.PROT_EXEC,
                abi.MAP_SHARED | abi.MAP_FIXED | 0x80000000, 3, 4096, ret=-abi.EACCES) == \
        ("mmap(0x7000, 4096, PROT_READ|PROT_EXEC, MAP_SHARED|MAP_FIXED|32<<MAP_HUGE_SHIFT, 3, "
         "0x1000) = -1 EACCES (Permission denied)")
    assert line(k, "mmap", 0x7000, 4096, abi.PROT_READ | abi.PROT_EXEC,
                abi.MAP_SHARED_VALIDATE | abi.MAP_FIXED_NOREPLACE | abi.MAP_POPULATE
                | abi.MAP_DENYWRITE | abi.MAP_HUGETLB | abi.MAP_LOCKED, 3, 4096, ret=EINVAL) == \
        ("mmap(0x7000, 4096, PROT_READ|PROT_EXEC, MAP_SHARED_VALIDATE|MAP_POPULATE|MAP_DENYWRITE|"
         "MAP_LOCKED|MAP_HUGETLB|MAP_FIXED_NOREPLACE, 3, 0x1000) = -1 EINVAL (Invalid argument)")
    assert line(k, "mmap", 0x7000, 4096, abi.PROT_READ | abi.PROT_EXEC | 0x10, 0xF, 3, 4096,
                ret=EINVAL) == ("mmap(0x7000, 4096, PROT_READ|PROT_EXEC|0x10, 0xf /* MAP_??? */, "
                                "3, 0x1000) = -1 EINVAL (Invalid argument)")
    assert line(k, "mprotect", 0x7000, 4096, abi.PROT_READ) == "mprotect(0x7000, 4096, PROT_READ) = 0"
    assert line(k, "mprotect", 0x7000, 4096, 0) == "mprotect(0x7000, 4096, PROT_NONE) = 0"
    assert line(k, "mprotect", 0x7000, 4096, 0x100, ret=EINVAL) == \
        "mprotect(0x7000, 4096, 0x100 /* PROT_??? */) = -1 EINVAL (Invalid argument)"
    assert line(k, "madvise", 0, 4096, abi.MADV_DONTNEED, ret=-abi.ENOMEM) == \
        "madvise(NULL, 4096, MADV_DONTNEED) = -1 ENOMEM (Cannot allocate memory)"


# --- futex ------------------------------------------------------------------------------------
def test_futex(k):
    u = k.mem.put(b"\0" * 4)
    ts = k.mem.put(struct.pack("<qq", 0, 1000))
    assert line(k, "futex", u, 129, 1) == f"futex({u:#x}, FUTEX_WAKE_PRIVATE, 1) = 0"
    assert line(k, "futex", u, 0, 1, 0, 0, 0, ret=EAGAIN) == \
        f"futex({u:#x}, FUTEX_WAIT, 1, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
    assert line(k, "futex", u, 128, 1, ts, ret=EAGAIN) == \
        (f"futex({u:#x}, FUTEX_WAIT_PRIVATE, 1, {{tv_sec=0, tv_nsec=1000}}) = "
         "-1 EAGAIN (Resource temporarily unavailable)")
    assert line(k, "futex", u, 9 | 128 | 256, 1, 0, 0, 0xFFFFFFFF, ret=EAGAIN) == \
        (f"futex({u:#x}, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, "
         "FUTEX_BITSET_MATCH_ANY) = -1 EAGAIN (Resource temporarily unavailable)")
    assert line(k, "futex", u, 99, 1, 0, 0, 0, ret=ENOSYS) == \
        f"futex({u:#x}, 0x63 /* FUTEX_??? */, 1, NULL, NULL, 0) = -1 ENOSYS (Function not implemented)"
    wake_op = (0 << 28) | (4 << 24) | (0 << 12) | 1       # FUTEX_OP(SET, 0, CMP_GT, 1)
    assert line(k, "futex", u, 5 | 128, 1, 1, u, wake_op) == \
        (f"futex({u:#x}, FUTEX_WAKE_OP_PRIVATE, 1, 1, {u:#x}, "
         "FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 0")
    assert line(k, "futex", u, 4 | 128, 1, 2, u, 0) == \
        f"futex({u:#x}, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, {u:#x}, 0) = 0"
    assert line(k, "futex", u, 7, 0, 0, 0, 0, ret=-abi.EPERM) == \
        f"futex({u:#x}, FUTEX_UNLOCK_PI) = -1 EPERM (Operation not permitted)"


# --- signals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig,shown", [(abi.SIGCHLD, "SIGCHLD"), (0, "0"), (40, "SIGRT_8"),
                                       (34, "SIGRT_2"), (32, "SIGRTMIN"), (64, "SIGRT_32"),
                                       (99, "99"), (abi.SIGIO, "SIGIO"), (abi.SIGSYS, "SIGSYS")])
def test_signal_names(k, sig, shown):
    assert line(k, "kill", 999999, sig, ret=-abi.ESRCH) == \
        f"kill(999999, {shown}) = -1 ESRCH (No such process)"


def test_tgkill_and_sigsets(k):
    assert line(k, "tgkill", 7, 8, abi.SIGWINCH) == "tgkill(7, 8, SIGWINCH) = 0"
    bit = lambda *sigs: struct.pack("<Q", sum(1 << (s - 1) for s in sigs))  # noqa: E731
    intr = k.mem.put(bit(abi.SIGINT, 40))
    full = k.mem.put(struct.pack("<Q", MASK & ~(3 << 31)))     # glibc's sigfillset: not 32, 33
    old = k.mem.put(bit(abi.SIGINT, 40))
    assert line(k, "rt_sigprocmask", abi.SIG_BLOCK, intr, 0, 8) == \
        "rt_sigprocmask(SIG_BLOCK, [INT RT_8], NULL, 8) = 0"
    assert line(k, "rt_sigprocmask", abi.SIG_SETMASK, intr, old, 8) == \
        "rt_sigprocmask(SIG_SETMASK, [INT RT_8], [INT RT_8], 8) = 0"
    assert line(k, "rt_sigprocmask", abi.SIG_BLOCK, full, old, 8) == \
        "rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [INT RT_8], 8) = 0"
    assert line(k, "rt_sigprocmask", 7, 0, 0, 8, ret=EINVAL) == \
        "rt_sigprocmask(0x7 /* SIG_??? */, NULL, NULL, 8) = -1 EINVAL (Invalid argument)"
    empty = k.mem.put(bit())
    assert line(k, "rt_sigsuspend", empty, 8, ret=-abi.EINTR) == \
        "rt_sigsuspend([], 8) = -1 EINTR (Interrupted system call)"


def test_rt_sigaction(k):
    sa = abi.KSigaction(sa_handler=0x4005D4,
                        sa_flags=sigframe.SA_RESTORER | sigframe.SA_RESTART | sigframe.SA_SIGINFO,
                        sa_restorer=0x400100,
                        sa_mask=(1 << (abi.SIGUSR1 - 1)) | (1 << (abi.SIGTERM - 1)))
    act = k.mem.put(bytes(sa))
    shown = ("{sa_handler=0x4005d4, sa_mask=[USR1 TERM], sa_flags=SA_RESTORER|SA_RESTART|"
             "SA_SIGINFO, sa_restorer=0x400100}")
    assert line(k, "rt_sigaction", abi.SIGUSR2, act, 0, 8) == \
        f"rt_sigaction(SIGUSR2, {shown}, NULL, 8) = 0"
    assert line(k, "rt_sigaction", abi.SIGUSR2, 0, act, 8) == \
        f"rt_sigaction(SIGUSR2, NULL, {shown}, 8) = 0"
    ign = k.mem.put(bytes(abi.KSigaction(sa_handler=abi.SIG_IGN)))
    assert line(k, "rt_sigaction", abi.SIGPIPE, ign, 0, 8) == \
        "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, NULL, 8) = 0"


# --- processes ----------------------------------------------------------------------------------
def test_clone(k):
    CHILD = 0x200000 | 0x1000000                    # CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID
    assert line(k, "clone", CHILD | abi.SIGCHLD, 0, 0, 0, 0, ret=18961) == \
        ("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
         "child_tidptr=NULL) = 18961")
    assert line(k, "clone", 0, 0, 0, 0, 0, ret=5) == "clone(child_stack=NULL, flags=0) = 5"
    tid = k.mem.put(struct.pack("<i", 4242))
    glibc_thread = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000
    assert line(k, "clone", glibc_thread, 0x7000, tid, 0x7100, tid, ret=4242) == \
        ("clone(child_stack=0x7000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
         "CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
         f"parent_tid=[4242], tls=0x7100, child_tidptr={tid:#x}) = 4242")


def test_wait4(k):
    st = k.mem.put(struct.pack("<i", 3 << 8))
    assert line(k, "wait4", 18961, st, 0, 0, ret=18961) == \
        "wait4(18961, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 18961"
    killed = k.mem.put(struct.pack("<i", abi.SIGKILL))
    assert line(k, "wait4", 18962, killed, 0, 0, ret=18962) == \
        "wait4(18962, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 18962"
    assert line(k, "wait4", 18962, st, 1 | 0x40000000, 0, ret=0) == \
        f"wait4(18962, {st:#x}, WNOHANG|__WALL, NULL) = 0"


# --- other constants --------------------------------------------------------------------------
def test_other_constants(k):
    p = cstr(k, "/x")
    ts = k.mem.put(struct.pack("<qq", 0, 1000))
    assert line(k, "lseek", 0, 0, 1) == "lseek(0, 0, SEEK_CUR) = 0"
    assert line(k, "clock_nanosleep", 1, 0, ts, 0) == \
        "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0"
    assert line(k, "socket", 1, 1 | O.O_CLOEXEC, 0, ret=5) == \
        "socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 5"
    assert line(k, "socket", 2, 2, 0, ret=6) == "socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 6"
    assert line(k, "socket", 10, 1 | O.O_NONBLOCK, 6, ret=7) == \
        "socket(AF_INET6, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 7"
    assert line(k, "flock", 3, abi.LOCK_EX | abi.LOCK_NB) == "flock(3, LOCK_EX|LOCK_NB) = 0"
    assert line(k, "eventfd2", 0, O.O_CLOEXEC | O.O_NONBLOCK, ret=8) == \
        "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 8"
    assert line(k, "epoll_create1", O.O_CLOEXEC, ret=9) == "epoll_create1(EPOLL_CLOEXEC) = 9"
    assert line(k, "unlinkat", abi.AT_FDCWD, p, abi.AT_REMOVEDIR, ret=ENOENT) == \
        'unlinkat(AT_FDCWD, "/x", AT_REMOVEDIR) = -1 ENOENT (No such file or directory)'
    assert line(k, "faccessat2", abi.AT_FDCWD, p, 4 | 1, 0, ret=ENOENT) == \
        'faccessat2(AT_FDCWD, "/x", R_OK|X_OK, 0) = -1 ENOENT (No such file or directory)'
    assert line(k, "faccessat", abi.AT_FDCWD, p, 0, ret=ENOENT) == \
        'faccessat(AT_FDCWD, "/x", F_OK) = -1 ENOENT (No such file or directory)'
    assert line(k, "umask", 0o22, ret=0o22) == "umask(022) = 022"
    assert line(k, "umask", 0, ret=0o22) == "umask(000) = 022"
    assert line(k, "mkdirat", abi.AT_FDCWD, p, 0o755, ret=ENOENT) == \
        'mkdirat(AT_FDCWD, "/x", 0755) = -1 ENOENT (No such file or directory)'
    assert line(k, "newfstatat", abi.AT_FDCWD, p, 0x7000, abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH) \
        == 'newfstatat(AT_FDCWD, "/x", 0x7000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) = 0'


def test_unreadable_arguments_fall_back_to_pointers(k):
    """Tracing never fails: a pointer outside guest memory is shown as a pointer."""
    assert line(k, "rt_sigprocmask", abi.SIG_BLOCK, 0xDEAD0000, 0, 8) == \
        "rt_sigprocmask(SIG_BLOCK, 0xdead0000, NULL, 8) = 0"
    assert line(k, "futex", 0xDEAD0000, 0, 1, 0xDEAD0000, ret=-abi.EFAULT) == \
        "futex(0xdead0000, FUTEX_WAIT, 1, 0xdead0000) = -1 EFAULT (Bad address)"
    assert line(k, "clock_gettime", 1, 0xDEAD0000) == "clock_gettime(CLOCK_MONOTONIC, 0xdead0000) = 0"
    for name in ("openat", "rt_sigaction", "wait4", "fcntl", "clone"):
        line(k, name, 5, 0xDEAD0000, 0xDEAD0000, 0xDEAD0000, 0xDEAD0000, 0xDEAD0000)


# --- the signal line ----------------------------------------------------------------------------
def test_signal_lines():
    info = sigframe.Siginfo()
    info.si_signo, info.si_code = abi.SIGCHLD, sigframe.CLD_EXITED
    raw = bytearray(bytes(info))
    struct.pack_into("<iii", raw, 16, 18961, 0, 3)
    assert strace.signal_line(raw) == ("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, "
                                       "si_pid=18961, si_uid=0, si_status=3, si_utime=0, "
                                       "si_stime=0} ---")
    struct.pack_into("<iii", raw, 0, abi.SIGCHLD, 0, sigframe.CLD_KILLED)
    struct.pack_into("<i", raw, 24, abi.SIGKILL)
    assert "si_code=CLD_KILLED, si_pid=18961, si_uid=0, si_status=SIGKILL," in strace.signal_line(raw)
    raw = bytearray(128)
    struct.pack_into("<iii", raw, 0, abi.SIGSEGV, 0, sigframe.SEGV_MAPERR)
    struct.pack_into("<Q", raw, 16, 0x28)
    assert strace.signal_line(raw) == \
        "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x28} ---"
    raw = bytearray(128)
    struct.pack_into("<iiiiii", raw, 0, abi.SIGUSR1, 0, sigframe.SI_TKILL, 0, 77, 1000)
    assert strace.signal_line(raw) == \
        "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=77, si_uid=1000} ---"


# --- a real run ---------------------------------------------------------------------------------
def test_emu_strace_run_decodes(tmp_path, busybox):
    """busybox cat of a missing file under `emu -strace`: the decoded forms in a real run."""
    cmd = [sys.executable, "-m", "emu", "-strace", str(busybox), "cat", "/nonexistent"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=oracle.emu_process_env(),
                          cwd=tmp_path, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert 'openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)' \
        in lines, proc.stderr[-2000:]
    assert "exit_group(1) = ?" in lines
    assert any(ln.startswith("prlimit64(0, RLIMIT_STACK, NULL, ") for ln in lines), lines
