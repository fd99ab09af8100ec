"""kernel/: guest ABI structures, flag conversion, and syscalls driven the way
the runtime drives them (number in x8, arguments in x0-x5, result in x0).

Each syscall test compares with what the host says (os.stat of the same file,
the bytes that came out of a pipe) rather than with the kernel's own view.
"""
import ctypes
import io
import os
import struct
import threading
import time

import pytest

from emu.cpustate import CPUState
from emu.memory import ADDR_LIMIT, NPAGES, GuestMemory
from kernel import Kernel, ProcessExit, abi, delivery
from kernel.table import BY_NUMBER, TABLE
from kernel.vma import AddressSpace

PG = 4096
RW = abi.PROT_READ | abi.PROT_WRITE
ANON = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
NR = {s.name: s.nr for s in TABLE}
BAD = 0xDEAD_0000            # never mapped in these tests

_libc = ctypes.CDLL(None)
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


# -- structures and constants -----------------------------------------------------------
def test_stat_layout_is_asm_generic_128_bytes():
    S = abi.Stat
    assert ctypes.sizeof(S) == 128
    offsets = dict(st_dev=0, st_ino=8, st_mode=16, st_nlink=20, st_uid=24, st_gid=28,
                   st_rdev=32, st_size=48, st_blksize=56, st_blocks=64, st_atime=72,
                   st_atime_nsec=80, st_mtime=88, st_mtime_nsec=96, st_ctime=104,
                   st_ctime_nsec=112)
    for name, off in offsets.items():
        assert getattr(S, name).offset == off, name


@pytest.mark.parametrize("cls,size", [
    (abi.Timespec, 16), (abi.Timeval, 16), (abi.Utsname, 390), (abi.Sysinfo, 112),
    (abi.Rlimit, 16), (abi.Iovec, 16), (abi.Winsize, 8), (abi.Termios, 36),
    (abi.KSigaction, 32), (abi.StackT, 24), (abi.Tms, 32), (abi.Rusage, 144),
])
def test_struct_sizes(cls, size):
    assert ctypes.sizeof(cls) == size


def test_struct_offsets():
    assert abi.Utsname.machine.offset == 4 * 65
    assert abi.Sysinfo.procs.offset == 80 and abi.Sysinfo.mem_unit.offset == 104
    assert abi.KSigaction.sa_mask.offset == 24 and abi.KSigaction.sa_restorer.offset == 16
    assert abi.StackT.ss_size.offset == 16
    assert abi.Termios.c_cc.offset == 17
    assert abi.Rusage.ru_maxrss.offset == 32


def test_open_flags_arm64_values_and_conversion():
    assert (abi.O_DIRECTORY, abi.O_NOFOLLOW, abi.O_DIRECT, abi.O_LARGEFILE) == \
        (0o40000, 0o100000, 0o200000, 0o400000)
    pairs = [(abi.O_DIRECTORY, 0o200000), (abi.O_NOFOLLOW, 0o400000),
             (abi.O_DIRECT, 0o40000), (abi.O_LARGEFILE, 0o100000)]   # x86-64 host values
    for g, h in pairs:
        assert abi.open_flags_to_host(g) == h
        assert abi.open_flags_from_host(h) == g
    common = abi.O_WRONLY | abi.O_CREAT | abi.O_TRUNC | abi.O_APPEND | abi.O_CLOEXEC | abi.O_NONBLOCK
    assert abi.open_flags_to_host(common) == (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
                                              | os.O_CLOEXEC | os.O_NONBLOCK)
    assert abi.open_flags_to_host(abi.O_RDWR | abi.O_DIRECTORY | abi.O_NOFOLLOW) == \
        os.O_RDWR | os.O_DIRECTORY | os.O_NOFOLLOW
    tmpfile = abi.O__TMPFILE | abi.O_DIRECTORY
    assert abi.open_flags_to_host(tmpfile) == os.O_TMPFILE
    assert abi.open_flags_from_host(os.O_TMPFILE) == tmpfile


def test_syscall_numbers_are_asm_generic():
    expect = dict(getcwd=17, dup3=24, fcntl=25, ioctl=29, openat=56, close=57, getdents64=61,
                  lseek=62, read=63, write=64, readv=65, writev=66, readlinkat=78,
                  newfstatat=79, fstat=80, exit=93, exit_group=94, set_tid_address=96,
                  futex=98, clock_gettime=113, tgkill=131, rt_sigaction=134,
                  rt_sigprocmask=135, uname=160, getpid=172, gettid=178, brk=214,
                  munmap=215, mremap=216, mmap=222, mprotect=226, madvise=233,
                  prlimit64=261, getrandom=278, statx=291, rseq=293)
    assert {n: NR[n] for n in expect} == expect
    assert len(BY_NUMBER) == len(TABLE)


# -- a guest driving the kernel through registers -----------------------------------------
class Guest:
    def __init__(self, mem, space, **kw):
        self.mem, self.space = mem, space
        self.k = Kernel(mem, space, **kw)
        self.cpu = CPUState()
        self.buf = space.map(0, 16 * PG, RW, ANON)     # scratch memory for arguments
        self._str = self.buf + 12 * PG

    def call(self, name_or_nr, *args):
        nr = NR[name_or_nr] if isinstance(name_or_nr, str) else name_or_nr
        self.cpu.x[8] = nr
        for i in range(6):
            self.cpu.x[i] = (args[i] if i < len(args) else 0) & (2**64 - 1)
        orig_x0 = self.cpu.x[0]
        ret = self.k.syscall(self.cpu)
        assert self.cpu.x[0] == ret & (2**64 - 1)
        # What the runtime's exit loop does next: signals the call made deliverable.
        if delivery.needs_delivery(self.k, self.cpu, ret):
            delivery.deliver(self.k, self.cpu, ret, orig_x0)
        return ret

    def s(self, text):
        """Put a C string in guest memory and return its address."""
        data = os.fsencode(text) + b"\0"
        addr = self._str
        self.mem.write(addr, data)
        self._str += (len(data) + 15) & ~15
        return addr


@pytest.fixture
def mem():
    m = GuestMemory()
    yield m
    _libc.munmap(m.base, ADDR_LIMIT)
    _libc.munmap(m.flags_addr, NPAGES)


@pytest.fixture
def g(mem):
    guest = Guest(mem, AddressSpace(mem))
    yield guest
    for n in list(guest.k.fds.files):
        if n > 2:
            guest.k.fds.close(n)


def test_write_to_pipe(g):
    assert g.call("pipe2", g.buf, abi.O_CLOEXEC) == 0
    r, w = struct.unpack("<ii", g.mem.read(g.buf, 8))
    assert r > 2 and w > 2 and r != w
    g.mem.write(g.buf + 64, b"through the pipe")
    assert g.call("write", w, g.buf + 64, 16) == 16
    assert os.read(g.k.fds.host(r), 100) == b"through the pipe"
    assert g.call("fcntl", r, abi.F_GETFD) == abi.FD_CLOEXEC
    # the guest's read side
    os.write(g.k.fds.host(w), b"back")
    assert g.call("read", r, g.buf + 256, 100) == 4
    assert g.mem.read(g.buf + 256, 4) == b"back"


def test_write_to_stdout_goes_straight_to_host_fd(g, capfd):
    g.mem.write(g.buf, b"guest says hi\n")
    assert g.call("write", 1, g.buf, 14) == 14
    assert capfd.readouterr().out == "guest says hi\n"


def test_openat_read_lseek_pread_close(g, tmp_path):
    p = tmp_path / "data.txt"
    p.write_bytes(b"0123456789abcdef")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    assert fd >= 3
    assert g.call("read", fd, g.buf, 4) == 4 and g.mem.read(g.buf, 4) == b"0123"
    assert g.call("lseek", fd, 10, os.SEEK_SET) == 10
    assert g.call("read", fd, g.buf, 100) == 6 and g.mem.read(g.buf, 6) == b"abcdef"
    assert g.call("read", fd, g.buf, 100) == 0
    assert g.call("pread64", fd, g.buf, 3, 2) == 3 and g.mem.read(g.buf, 3) == b"234"
    assert g.call("close", fd) == 0
    assert g.call("close", fd) == -abi.EBADF
    assert g.call("openat", abi.AT_FDCWD, g.s(tmp_path / "missing"), 0) == -abi.ENOENT


def test_openat_creates_and_writev_readv(g, tmp_path):
    p = tmp_path / "out.bin"
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR | abi.O_CREAT | abi.O_TRUNC, 0o640)
    assert fd >= 3
    assert os.stat(p).st_mode & 0o777 == 0o640 & ~_umask()
    g.mem.write(g.buf + 1024, b"hello ")
    g.mem.write(g.buf + 2048, b"world")
    g.mem.write(g.buf, struct.pack("<QQQQ", g.buf + 1024, 6, g.buf + 2048, 5))
    assert g.call("writev", fd, g.buf, 2) == 11
    assert p.read_bytes() == b"hello world"          # no buffering between guest and file
    assert g.call("lseek", fd, 0, os.SEEK_SET) == 0
    g.mem.write(g.buf, struct.pack("<QQQQ", g.buf + 4096, 3, g.buf + 4200, 100))
    assert g.call("readv", fd, g.buf, 2) == 11
    assert g.mem.read(g.buf + 4096, 3) == b"hel" and g.mem.read(g.buf + 4200, 8) == b"lo world"
    assert g.call("pwrite64", fd, g.buf + 2048, 5, 0) == 5
    assert p.read_bytes() == b"world world"
    assert g.call("fcntl", fd, abi.F_GETFL) & abi.O_ACCMODE == abi.O_RDWR


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old


def test_fstat_matches_host_stat(g, tmp_path):
    p = tmp_path / "st.bin"
    p.write_bytes(b"x" * 12345)
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    assert g.call("fstat", fd, g.buf) == 0
    st = abi.Stat.from_buffer_copy(g.mem.read(g.buf, 128))
    h = os.stat(p)
    assert (st.st_dev, st.st_ino, st.st_mode, st.st_nlink) == (h.st_dev, h.st_ino, h.st_mode, h.st_nlink)
    assert (st.st_uid, st.st_gid, st.st_size) == (h.st_uid, h.st_gid, 12345)
    assert (st.st_blksize, st.st_blocks) == (h.st_blksize, h.st_blocks)
    assert st.st_mtime * 10**9 + st.st_mtime_nsec == h.st_mtime_ns
    # raw offsets, as an AArch64 libc reads them
    raw = g.mem.read(g.buf, 128)
    assert struct.unpack_from("<Q", raw, 8)[0] == h.st_ino
    assert struct.unpack_from("<I", raw, 16)[0] == h.st_mode
    assert struct.unpack_from("<q", raw, 48)[0] == 12345


def test_newfstatat_paths_and_empty_path(g, tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    os.symlink(p, tmp_path / "link")
    assert g.call("newfstatat", abi.AT_FDCWD, g.s(p), g.buf, 0) == 0
    assert abi.Stat.from_buffer_copy(g.mem.read(g.buf, 128)).st_size == 3
    assert g.call("newfstatat", abi.AT_FDCWD, g.s(tmp_path / "link"), g.buf,
                  abi.AT_SYMLINK_NOFOLLOW) == 0
    assert abi.Stat.from_buffer_copy(g.mem.read(g.buf, 128)).st_mode & 0o170000 == 0o120000
    dfd = g.call("openat", abi.AT_FDCWD, g.s(tmp_path), abi.O_RDONLY | abi.O_DIRECTORY)
    assert g.call("newfstatat", dfd, g.s("f"), g.buf, 0) == 0           # relative to dirfd
    assert abi.Stat.from_buffer_copy(g.mem.read(g.buf, 128)).st_ino == os.stat(p).st_ino
    assert g.call("newfstatat", dfd, g.s(""), g.buf, abi.AT_EMPTY_PATH) == 0
    assert abi.Stat.from_buffer_copy(g.mem.read(g.buf, 128)).st_ino == os.stat(tmp_path).st_ino
    assert g.call("newfstatat", dfd, g.s(""), g.buf, 0) == -abi.ENOENT
    assert g.call("statx", abi.AT_FDCWD, g.s(p), 0, 0xFFF, g.buf) == 0
    assert struct.unpack_from("<Q", g.mem.read(g.buf, 256), 40)[0] == 3   # stx_size


def test_getdents64_lists_directory(g, tmp_path):
    for name in ("a", "bb", "ccc"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    fd = g.call("openat", abi.AT_FDCWD, g.s(tmp_path), abi.O_RDONLY | abi.O_DIRECTORY)
    names = {}
    while True:
        n = g.call("getdents64", fd, g.buf, 64)          # small buffer: several calls
        assert n >= 0
        if n == 0:
            break
        data, off = g.mem.read(g.buf, n), 0
        while off < n:
            ino, _, reclen, dtype = struct.unpack_from("<QqHB", data, off)
            name = data[off + 19:off + reclen].split(b"\0")[0]
            names[name] = dtype
            off += reclen
    assert names == {b".": abi.DT_DIR, b"..": abi.DT_DIR, b"a": abi.DT_REG, b"bb": abi.DT_REG,
                     b"ccc": abi.DT_REG, b"sub": abi.DT_DIR}
    assert g.call("getdents64", fd, g.buf, 10) == 0
    assert g.call("lseek", fd, 0, os.SEEK_SET) == 0      # rewinddir
    assert g.call("getdents64", fd, g.buf, 16) == -abi.EINVAL   # too small for one record


def test_mmap_munmap_anonymous(g):
    a = g.call("mmap", 0, 3 * PG, RW, ANON, -1, 0)
    assert a > 0 and a % PG == 0
    g.mem.write(a + PG, b"mapped")
    assert g.mem.read(a + PG, 6) == b"mapped"
    assert g.call("munmap", a, 3 * PG) == 0
    assert not g.mem.is_mapped(a + PG)
    assert g.call("mmap", 0, 0, RW, ANON, -1, 0) == -abi.EINVAL
    assert g.call("mmap", 0, PG, RW, abi.MAP_ANONYMOUS, -1, 0) == -abi.EINVAL   # no type
    fixed = g.call("mmap", 0x4000_0000, PG, RW, ANON | abi.MAP_FIXED, -1, 0)
    assert fixed == 0x4000_0000


def test_mmap_file_private_and_mprotect(g, tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(b"file contents" + bytes(5000))
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    a = g.call("mmap", 0, 2 * PG, abi.PROT_READ, abi.MAP_PRIVATE, fd, 0)
    assert g.mem.read(a, 13) == b"file contents"
    assert g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, 0) == -abi.EACCES   # read-only fd
    assert g.call("mmap", 0, PG, RW, abi.MAP_PRIVATE, fd, 1) == -abi.EINVAL  # unaligned offset
    assert g.call("mmap", 0, PG, RW, abi.MAP_PRIVATE, 99, 0) == -abi.EBADF
    assert g.call("mprotect", a, PG, RW) == 0
    g.mem.write(a, b"F")
    assert p.read_bytes()[:1] == b"f"
    assert g.call("mprotect", 0x6000_0000, PG, RW) == -abi.ENOMEM
    assert f"{a:08x}-{a + PG:08x} rw-p" in g.space.maps_text()


def test_mmap_shared_file_reaches_the_file(g, tmp_path):
    p = tmp_path / "shared.bin"
    p.write_bytes(bytes(PG))
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    a = g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, 0)
    g.mem.write(a, b"shared data")
    assert g.call("msync", a, PG, abi.MS_SYNC) == 0
    assert p.read_bytes()[:11] == b"shared data"


def test_brk_grow(g):
    g.space.set_brk(0x60_0000)
    assert g.call("brk", 0) == 0x60_0000
    assert g.call("brk", 0x62_0010) == 0x62_0010
    g.mem.write(0x62_0000, b"heap!")
    assert g.mem.read(0x62_0000, 5) == b"heap!"
    assert g.call("brk", 0x10) == 0x62_0010            # refused: returns the current break


def test_madvise_dontneed_zeroes(g):
    a = g.call("mmap", 0, PG, RW, ANON, -1, 0)
    g.mem.write(a, b"gone soon")
    assert g.call("madvise", a, PG, abi.MADV_DONTNEED) == 0
    assert g.mem.read(a, 9) == bytes(9)


def test_uname(g):
    assert g.call("uname", g.buf) == 0
    u = abi.Utsname.from_buffer_copy(g.mem.read(g.buf, 390))
    assert u.machine == b"aarch64" and u.sysname == b"Linux"
    assert u.release.startswith(b"6.")


def test_unknown_syscall_is_enosys_and_counted(g):
    assert g.call(4000) == -abi.ENOSYS
    assert g.call(4000) == -abi.ENOSYS
    assert g.call(NR["rseq"]) == -abi.ENOSYS              # known, deliberately ENOSYS
    assert g.k.unknown_syscalls[4000] == 2
    assert NR["rseq"] not in g.k.unknown_syscalls
    assert g.call(0) == -abi.ENOSYS                       # io_setup: commented out in the table
    assert g.k.unknown_syscalls[0] == 1


def test_bad_pointers_are_efault(g, tmp_path):
    assert g.call("write", 1, BAD, 10) == -abi.EFAULT
    assert g.call("uname", BAD) == -abi.EFAULT
    assert g.call("openat", abi.AT_FDCWD, BAD, 0) == -abi.EFAULT
    assert g.call("clock_gettime", 0, BAD) == -abi.EFAULT
    p = tmp_path / "x"
    p.write_bytes(b"data")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), 0)
    assert g.call("read", fd, BAD, 4) == -abi.EFAULT
    assert g.call("lseek", fd, 0, os.SEEK_CUR) == 0       # nothing was consumed
    assert g.call("fstat", fd, BAD) == -abi.EFAULT
    assert g.call("writev", 1, BAD, 1) == -abi.EFAULT
    ro = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    assert g.call("read", fd, ro, 4) == -abi.EFAULT       # read into read-only memory
    assert g.call("rt_sigaction", 10, BAD, 0, 8) == -abi.EFAULT


def test_ids_and_tid(g):
    assert g.call("getpid") == os.getpid()
    assert g.call("getppid") == os.getppid()
    assert g.call("getuid") == os.getuid() and g.call("geteuid") == os.geteuid()
    assert g.call("getgid") == os.getgid() and g.call("getegid") == os.getegid()
    g.cpu.tid = 4242
    assert g.call("gettid") == 4242
    assert g.call("set_tid_address", g.buf) == 4242
    assert g.call("set_robust_list", g.buf, 24) == 0
    assert g.call("set_robust_list", g.buf, 23) == -abi.EINVAL


def test_exit_group_raises_process_exit(g):
    with pytest.raises(ProcessExit) as ei:
        g.call("exit_group", 300)
    assert ei.value.status == 300 & 0xFF and ei.value.signal is None


def test_tgkill_sigabrt_exits_134(g):
    with pytest.raises(ProcessExit) as ei:
        g.call("tgkill", os.getpid(), g.call("gettid"), abi.SIGABRT)
    assert ei.value.status == 134 and ei.value.signal == abi.SIGABRT


def test_blocked_sigabrt_fires_when_unblocked(g):
    # glibc's raise(): block everything, tgkill, restore the mask.
    g.mem.write_u64(g.buf, 2**64 - 1)
    assert g.call("rt_sigprocmask", abi.SIG_BLOCK, g.buf, g.buf + 8, 8) == 0
    assert g.mem.read_u64(g.buf + 8) == 0
    assert g.call("kill", os.getpid(), abi.SIGABRT) == 0
    g.mem.write_u64(g.buf, 0)
    with pytest.raises(ProcessExit) as ei:
        g.call("rt_sigprocmask", abi.SIG_SETMASK, g.buf, 0, 8)
    assert ei.value.status == 134


def test_ignored_and_default_ignored_signals_do_not_exit(g):
    assert g.call("tgkill", os.getpid(), g.call("gettid"), abi.SIGCHLD) == 0
    act = abi.KSigaction(abi.SIG_IGN, 0, 0, 0)
    g.mem.write(g.buf, bytes(act))
    assert g.call("rt_sigaction", abi.SIGTERM, g.buf, 0, 8) == 0
    assert g.call("kill", os.getpid(), abi.SIGTERM) == 0


def test_rt_sigaction_records_and_returns_old(g):
    act = abi.KSigaction(0x401000, 0x04000000 | 0x10000000, 0x402000, 0x5)
    g.mem.write(g.buf, bytes(act))
    assert g.call("rt_sigaction", abi.SIGUSR1, g.buf, 0, 8) == 0
    assert g.call("rt_sigaction", abi.SIGUSR1, 0, g.buf + 64, 8) == 0
    old = abi.KSigaction.from_buffer_copy(g.mem.read(g.buf + 64, 32))
    assert (old.sa_handler, old.sa_flags, old.sa_restorer, old.sa_mask) == \
        (0x401000, 0x14000000, 0x402000, 0x5)
    assert g.call("rt_sigaction", abi.SIGKILL, g.buf, 0, 8) == -abi.EINVAL
    assert g.call("rt_sigaction", abi.SIGUSR1, g.buf, 0, 16) == -abi.EINVAL
    assert g.call("rt_sigaction", 65, g.buf, 0, 8) == -abi.EINVAL


def test_sigaltstack_records(g):
    g.mem.write(g.buf, bytes(abi.StackT(0x7000_0000, 0, 64 * 1024)))
    assert g.call("sigaltstack", g.buf, g.buf + 64) == 0
    old = abi.StackT.from_buffer_copy(g.mem.read(g.buf + 64, 24))
    assert old.ss_flags == abi.SS_DISABLE
    assert g.call("sigaltstack", 0, g.buf + 64) == 0
    cur = abi.StackT.from_buffer_copy(g.mem.read(g.buf + 64, 24))
    assert (cur.ss_sp, cur.ss_flags, cur.ss_size) == (0x7000_0000, 0, 64 * 1024)
    g.mem.write(g.buf, bytes(abi.StackT(0x7000_0000, 0, 100)))
    assert g.call("sigaltstack", g.buf, 0) == -abi.ENOMEM


def test_readlinkat_proc_self_exe(mem, tmp_path):
    exe = tmp_path / "prog"
    exe.write_bytes(b"\x7fELF")
    g = Guest(mem, AddressSpace(mem), exe_path=str(exe))
    n = g.call("readlinkat", abi.AT_FDCWD, g.s("/proc/self/exe"), g.buf, 4096)
    assert g.mem.read(g.buf, n) == os.fsencode(exe)
    assert g.call("readlinkat", abi.AT_FDCWD, g.s("/proc/self/exe"), g.buf, 4) == 4
    fd = g.call("openat", abi.AT_FDCWD, g.s("/proc/self/exe"), 0)
    assert g.call("read", fd, g.buf, 4) == 4 and g.mem.read(g.buf, 4) == b"\x7fELF"


def test_rootfs_first_then_host(mem, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "only-in-root").write_bytes(b"guest")
    (root / "bin").mkdir()
    (root / "bin" / "prog").write_bytes(b"\x7fELFprog")
    host_file = tmp_path / "host-only"
    host_file.write_bytes(b"host")
    g = Guest(mem, AddressSpace(mem), rootfs=str(root), exe_path="/bin/prog")
    fd = g.call("openat", abi.AT_FDCWD, g.s("/etc/only-in-root"), 0)
    assert g.call("read", fd, g.buf, 10) == 5 and g.mem.read(g.buf, 5) == b"guest"
    fd = g.call("openat", abi.AT_FDCWD, g.s(host_file), 0)      # not in rootfs: host path
    assert g.call("read", fd, g.buf, 10) == 4
    n = g.call("readlinkat", abi.AT_FDCWD, g.s("/proc/self/exe"), g.buf, 100)
    assert g.mem.read(g.buf, n) == b"/bin/prog"                  # the guest's view
    fd = g.call("openat", abi.AT_FDCWD, g.s("/proc/self/exe"), 0)
    assert g.call("read", fd, g.buf, 8) == 8 and g.mem.read(g.buf, 8) == b"\x7fELFprog"
    # a file mapping from ROOTFS: maps shows the guest's name, DONTNEED re-reads the host file
    fd = g.call("openat", abi.AT_FDCWD, g.s("/etc/only-in-root"), 0)
    a = g.call("mmap", 0, PG, RW, abi.MAP_PRIVATE, fd, 0)
    g.mem.write(a, b"XXXXX")
    assert g.call("madvise", a, PG, abi.MADV_DONTNEED) == 0
    assert g.mem.read(a, 6) == b"guest\0"
    line = next(l for l in g.space.maps_text().splitlines() if l.startswith(f"{a:08x}"))
    assert line.endswith(" /etc/only-in-root")
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(f"/proc/self/fd/{fd}"), g.buf, 4096)
    assert g.mem.read(g.buf, n) == b"/etc/only-in-root"


def test_proc_self_maps_shows_guest_map(g):
    a = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    fd = g.call("openat", abi.AT_FDCWD, g.s("/proc/self/maps"), 0)
    n = g.call("read", fd, g.buf, 8192)
    text = g.mem.read(g.buf, n).decode()
    assert f"{a:08x}-{a + PG:08x} r--p 00000000 00:00 0" in text


def test_clock_gettime_and_friends(g):
    assert g.call("clock_gettime", abi.CLOCK_MONOTONIC, g.buf) == 0
    t = abi.Timespec.from_buffer_copy(g.mem.read(g.buf, 16))
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert 0 <= now - (t.tv_sec * 10**9 + t.tv_nsec) < 10**9
    assert g.call("clock_gettime", 12345, g.buf) == -abi.EINVAL
    assert g.call("clock_getres", abi.CLOCK_MONOTONIC, g.buf) == 0
    assert g.call("gettimeofday", g.buf, 0) == 0
    tv = abi.Timeval.from_buffer_copy(g.mem.read(g.buf, 16))
    assert abs(tv.tv_sec - time.time()) < 5
    g.mem.write(g.buf, bytes(abi.Timespec(0, 1_000_000)))
    assert g.call("nanosleep", g.buf, 0) == 0
    g.mem.write(g.buf, bytes(abi.Timespec(0, 2_000_000_000)))
    assert g.call("nanosleep", g.buf, 0) == -abi.EINVAL
    assert g.call("times", g.buf) > 0
    assert g.call("getrusage", 0, g.buf) == 0


def test_getrandom_sysinfo_prlimit_affinity(g):
    assert g.call("getrandom", g.buf, 64, 0) == 64
    assert g.mem.read(g.buf, 64) != bytes(64)
    assert g.call("getrandom", g.buf, 8, 0x80) == -abi.EINVAL
    assert g.call("sysinfo", g.buf) == 0
    si = abi.Sysinfo.from_buffer_copy(g.mem.read(g.buf, 112))
    assert si.totalram > 0 and si.mem_unit >= 1
    assert g.call("prlimit64", 0, abi.RLIMIT_NOFILE, 0, g.buf) == 0
    lim = abi.Rlimit.from_buffer_copy(g.mem.read(g.buf, 16))
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert lim.rlim_cur == soft
    assert g.call("getrlimit", abi.RLIMIT_STACK, g.buf) == 0
    g.mem.write(g.buf, bytes(abi.Rlimit(1 << 20, 1 << 20)))
    assert g.call("prlimit64", 0, abi.RLIMIT_AS, g.buf, 0) == 0   # recorded, not applied
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != 1 << 20
    assert g.call("getrlimit", abi.RLIMIT_AS, g.buf + 32) == 0
    assert abi.Rlimit.from_buffer_copy(g.mem.read(g.buf + 32, 16)).rlim_cur == 1 << 20
    n = g.call("sched_getaffinity", 0, 128, g.buf)
    assert n % 8 == 0 and n > 0
    mask = int.from_bytes(g.mem.read(g.buf, n), "little")
    assert {i for i in range(n * 8) if mask >> i & 1} == os.sched_getaffinity(0)
    assert g.call("sched_yield") == 0
    assert 1 <= g.call("getpriority", 0, 0) <= 40


def test_fd_table_dup_fcntl_and_isolation(g, tmp_path):
    p = tmp_path / "d"
    p.write_bytes(b"abcdef")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    d = g.call("dup", fd)
    assert d == fd + 1
    assert g.call("fcntl", fd, abi.F_DUPFD_CLOEXEC, 20) == 20
    assert g.call("fcntl", 20, abi.F_GETFD) == abi.FD_CLOEXEC
    assert g.call("dup3", fd, 30, abi.O_CLOEXEC) == 30
    assert g.call("dup3", fd, fd, 0) == -abi.EINVAL
    assert g.call("read", 30, g.buf, 2) == 2                # shares the file offset
    assert g.call("read", fd, g.buf, 2) == 2 and g.mem.read(g.buf, 2) == b"cd"
    g.mem.write(g.buf, b"O")
    assert g.call("fcntl", fd, abi.F_SETFL, abi.O_NONBLOCK) == 0
    assert g.call("fcntl", fd, abi.F_GETFL) & abi.O_NONBLOCK
    # a guest fd number that is an emulator-internal host fd is not the guest's
    internal = os.open(os.devnull, os.O_RDONLY)
    try:
        if internal not in g.k.fds.files:
            assert g.call("close", internal) == -abi.EBADF
            os.fstat(internal)                                # still open
    finally:
        os.close(internal)
    assert g.call("fcntl", 999, abi.F_GETFD) == -abi.EBADF


def test_ioctl_tty_passthrough_and_unknown(g):
    assert g.call("pipe2", g.buf, 0) == 0
    r, _ = struct.unpack("<ii", g.mem.read(g.buf, 8))
    assert g.call("ioctl", r, abi.TCGETS, g.buf + 64) == -abi.ENOTTY
    assert g.call("ioctl", r, abi.TIOCGWINSZ, g.buf + 64) == -abi.ENOTTY
    assert g.call("ioctl", r, 0x1234ABCD, g.buf + 64) == -abi.ENOTTY
    assert g.k.unknown_ioctls[0x1234ABCD] == 1
    assert g.call("ioctl", r, abi.FIONREAD, g.buf + 64) == 0
    assert g.mem.read_u32(g.buf + 64) == 0


def test_ioctl_on_a_real_terminal():
    import pty
    m = GuestMemory()
    try:
        g = Guest(m, AddressSpace(m))
        master, slave = pty.openpty()
        try:
            gfd = g.k.fds.install(os.dup(slave))
            assert g.call("ioctl", gfd, abi.TCGETS, g.buf) == 0
            t = abi.Termios.from_buffer_copy(g.mem.read(g.buf, 36))
            import termios
            assert t.c_lflag == termios.tcgetattr(slave)[3]
            assert g.call("ioctl", gfd, abi.TIOCGWINSZ, g.buf) == 0
        finally:
            os.close(master)
            os.close(slave)
    finally:
        _libc.munmap(m.base, ADDR_LIMIT)
        _libc.munmap(m.flags_addr, NPAGES)


def test_fs_family(g, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert g.call("mkdirat", abi.AT_FDCWD, g.s("newdir"), 0o755) == 0
    assert (tmp_path / "newdir").is_dir()
    assert g.call("mkdirat", abi.AT_FDCWD, g.s("newdir"), 0o755) == -abi.EEXIST
    assert g.call("faccessat", abi.AT_FDCWD, g.s("newdir"), os.F_OK) == 0
    assert g.call("faccessat", abi.AT_FDCWD, g.s("nope"), os.F_OK) == -abi.ENOENT
    assert g.call("chdir", g.s("newdir")) == 0
    n = g.call("getcwd", g.buf, 4096)
    assert g.mem.read(g.buf, n) == os.fsencode(tmp_path / "newdir") + b"\0"
    assert g.call("getcwd", g.buf, 3) == -abi.ERANGE
    assert g.call("chdir", g.s("..")) == 0
    assert g.call("unlinkat", abi.AT_FDCWD, g.s("newdir"), abi.AT_REMOVEDIR) == 0
    (tmp_path / "f").write_bytes(b"")
    assert g.call("unlinkat", abi.AT_FDCWD, g.s("f"), 0) == 0
    assert not (tmp_path / "f").exists()
    old = g.call("umask", 0o027)
    assert g.call("umask", old) == 0o027


def test_futex_single_thread(g):
    g.mem.write_u32(g.buf, 7)
    assert g.call("futex", g.buf, 1 | 128, 1) == 0                  # WAKE: nobody waits
    assert g.call("futex", g.buf, 0 | 128, 8) == -abi.EAGAIN        # WAIT, value differs
    g.mem.write(g.buf + 64, bytes(abi.Timespec(0, 10_000_000)))
    assert g.call("futex", g.buf, 0, 7, g.buf + 64) == -abi.ETIMEDOUT
    assert g.call("futex", g.buf + 1, 0, 7) == -abi.EINVAL


def test_futex_wait_is_woken_by_another_thread(g):
    g.mem.write_u32(g.buf, 0)
    woke = []

    def waker():
        while not g.k.futexes.queues:
            time.sleep(0.001)
        woke.append(g.k.futexes.wake(g.buf, 1))
    t = threading.Thread(target=waker)
    t.start()
    assert g.call("futex", g.buf, 0, 0) == 0
    t.join(5)
    assert woke == [1]


def test_prctl_name(g):
    g.mem.write(g.buf, b"a-very-long-thread-name\0")
    assert g.call("prctl", abi.PR_SET_NAME, g.buf) == 0
    assert g.call("prctl", abi.PR_GET_NAME, g.buf + 64) == 0
    assert g.mem.read(g.buf + 64, 16) == b"a-very-long-thr\0"
    assert g.call("prctl", 0x7777) == -abi.EINVAL


def test_strace_lines(mem):
    out = io.StringIO()
    g = Guest(mem, AddressSpace(mem), strace=True, strace_file=out)
    r, w = os.pipe()
    try:
        gw = g.k.fds.install(w)
        g.mem.write(g.buf, b"hi\n")
        g.call("write", gw, g.buf, 3)
        g.call("openat", abi.AT_FDCWD, g.s("/nonexistent/x"), 0)
        g.call(4000, 1, 2)
        lines = out.getvalue().splitlines()
        assert lines[0] == f'write({gw}, "hi\\n", 3) = 3'
        assert lines[1] == ('openat(AT_FDCWD, "/nonexistent/x", O_RDONLY) = '
                            '-1 ENOENT (No such file or directory)')     # as strace(1)
        assert lines[2].startswith("syscall_4000(0x1, 0x2, ") and \
            lines[2].endswith("= -1 ENOSYS (Function not implemented) <unknown syscall>")
        with pytest.raises(ProcessExit):
            g.call("exit_group", 0)
        assert out.getvalue().splitlines()[-1] == "exit_group(0) = ?"
    finally:
        os.close(r)
