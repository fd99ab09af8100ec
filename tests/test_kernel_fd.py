"""kernel/fd.py and kernel/poll.py: descriptor syscalls driven through registers.

Expected values come from the host: bytes that reached a file or pipe, what os.*
says about the host descriptor behind a guest fd, Linux's documented errors.
"""
import fcntl
import os
import struct
import time

import pytest

from kernel import abi
import test_kernel_abi as base
from test_kernel_abi import BAD, PG, RW

mem, g = base.mem, base.g        # fixtures: GuestMemory, Guest driving a Kernel


def pipe(g, flags=0):
    assert g.call("pipe2", g.buf + 8000, flags) == 0
    return struct.unpack("<ii", g.mem.read(g.buf + 8000, 8))


def put_iov(g, at, pieces):
    """Write iovecs for (address, length) pieces at guest address `at`."""
    g.mem.write(at, b"".join(struct.pack("<QQ", a, n) for a, n in pieces))
    return at


def test_pipe_nonblocking_eagain_and_espipe(g):
    r, w = pipe(g, abi.O_NONBLOCK)
    assert g.call("read", r, g.buf, 10) == -abi.EAGAIN
    assert g.call("lseek", r, 0, os.SEEK_CUR) == -abi.ESPIPE
    assert g.call("fcntl", r, abi.F_GETFL) & abi.O_NONBLOCK
    assert g.call("fcntl", r, abi.F_SETFL, 0) == 0
    assert os.get_blocking(g.k.fds.host(r))
    assert g.call("fcntl", w, abi.F_GETPIPE_SZ) == fcntl.fcntl(g.k.fds.host(w), 1032)
    assert g.call("fcntl", w, abi.F_SETPIPE_SZ, 1 << 16) >= 1 << 16
    assert g.call("fcntl", w, abi.F_GETPIPE_SZ) >= 1 << 16
    assert g.call("fcntl", w, 0x7777) == -abi.EINVAL


def test_close_range(g, tmp_path):
    (tmp_path / "f").write_bytes(b"")
    fds = [g.call("openat", abi.AT_FDCWD, g.s(tmp_path / "f"), 0) for _ in range(5)]
    assert g.call("close_range", fds[1], fds[2], abi.CLOSE_RANGE_CLOEXEC) == 0
    assert g.call("fcntl", fds[1], abi.F_GETFD) == abi.FD_CLOEXEC
    assert g.call("fcntl", fds[0], abi.F_GETFD) == 0
    hosts = [g.k.fds.host(f) for f in fds[2:]]
    assert g.call("close_range", fds[2], 0xFFFFFFFF, 0) == 0
    assert [g.call("fcntl", f, abi.F_GETFD) for f in fds[2:]] == [-abi.EBADF] * 3
    for h in hosts:                                   # the host fds are gone too
        with pytest.raises(OSError):
            os.fstat(h)
    assert g.call("close_range", 9, 3, 0) == -abi.EINVAL
    assert g.call("close_range", 3, 9, 1) == -abi.EINVAL


def test_preadv_pwritev_and_v2(g, tmp_path):
    p = tmp_path / "v"
    p.write_bytes(b"0123456789")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    iov = put_iov(g, g.buf + 4096, [(g.buf, 3), (g.buf + 100, 4)])
    assert g.call("preadv", fd, iov, 2, 2, 0) == 7
    assert g.mem.read(g.buf, 3) + g.mem.read(g.buf + 100, 4) == b"2345678"
    assert g.call("lseek", fd, 0, os.SEEK_CUR) == 0          # position untouched
    assert g.call("preadv2", fd, iov, 2, -1 & (2**64 - 1), 0, 0) == 7   # -1: current position
    assert g.call("lseek", fd, 0, os.SEEK_CUR) == 7
    g.mem.write(g.buf, b"ABC")
    assert g.call("pwritev", fd, put_iov(g, g.buf + 4096, [(g.buf, 3)]), 1, 5, 0) == 3
    assert p.read_bytes() == b"01234ABC89"
    assert g.call("pwritev2", fd, put_iov(g, g.buf + 4096, [(g.buf, 1)]), 1, 0, 0,
                  abi.RWF_DSYNC) == 1
    assert p.read_bytes() == b"A1234ABC89"
    assert g.call("preadv2", fd, iov, 2, 0, 0, 0x1000) == -abi.EOPNOTSUPP
    assert g.call("preadv", fd, iov, 2, -5 & (2**64 - 1), 0) == -abi.EINVAL
    assert g.call("readv", fd, iov, 2000) == -abi.EINVAL      # > IOV_MAX


def test_sendfile_copy_file_range_splice_tee(g, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"abcdefghij" * 10)
    dst = tmp_path / "dst"
    fi = g.call("openat", abi.AT_FDCWD, g.s(src), 0)
    fo = g.call("openat", abi.AT_FDCWD, g.s(dst), abi.O_RDWR | abi.O_CREAT, 0o644)
    g.mem.write_u64(g.buf, 10)                                 # offset in/out
    assert g.call("sendfile", fo, fi, g.buf, 5) == 5
    assert g.mem.read_u64(g.buf) == 15 and dst.read_bytes() == b"abcde"
    assert g.call("lseek", fi, 0, os.SEEK_CUR) == 0           # offset given: file pos kept
    assert g.call("sendfile", fo, fi, 0, 3) == 3               # no offset: file pos moves
    assert g.call("lseek", fi, 0, os.SEEK_CUR) == 3 and dst.read_bytes() == b"abcdeabc"
    g.mem.write_u64(g.buf, 20)
    g.mem.write_u64(g.buf + 8, 0)
    assert g.call("copy_file_range", fi, g.buf, fo, g.buf + 8, 4, 0) == 4
    assert g.mem.read_u64(g.buf) == 24 and g.mem.read_u64(g.buf + 8) == 4
    assert dst.read_bytes()[:4] == b"abcd"
    assert g.call("copy_file_range", fi, 0, fo, 0, 4, 1) == -abi.EINVAL
    r, w = pipe(g)
    g.mem.write_u64(g.buf, 30)
    assert g.call("splice", fi, g.buf, w, 0, 6, 0) == 6       # file -> pipe
    assert g.mem.read_u64(g.buf) == 36
    r2, w2 = pipe(g)
    assert g.call("tee", r, w2, 6, 0) == 6                    # duplicate pipe contents
    assert os.read(g.k.fds.host(r2), 10) == b"abcdef"
    assert g.call("splice", r, 0, fo, 0, 6, 0) == 6           # pipe -> file (at its pos)
    g.mem.write(g.buf, b"vm-data")
    assert g.call("vmsplice", w, put_iov(g, g.buf + 64, [(g.buf, 7)]), 1, 0) == 7
    assert os.read(g.k.fds.host(r), 10) == b"vm-data"
    assert g.call("splice", fi, 0, fo, 0, 6, 0) == -abi.EINVAL   # neither end is a pipe


def test_memfd_create(g):
    fd = g.call("memfd_create", g.s("guest-buf"), abi.MFD_CLOEXEC | abi.MFD_ALLOW_SEALING)
    assert fd >= 3
    assert g.call("fcntl", fd, abi.F_GETFD) == abi.FD_CLOEXEC
    assert g.call("ftruncate", fd, PG) == 0
    a = g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, 0)
    g.mem.write(a, b"shared through memfd")
    assert os.pread(g.k.fds.host(fd), 20, 0) == b"shared through memfd"   # coherent
    # F_SEAL_WRITE while a shared writable mapping exists: EBUSY, as on Linux
    assert g.call("fcntl", fd, abi.F_ADD_SEALS, 0x0008) == -abi.EBUSY
    assert g.call("fcntl", fd, abi.F_ADD_SEALS, 0x0004) == 0             # F_SEAL_GROW
    assert g.call("fcntl", fd, abi.F_GET_SEALS) == 0x0004
    assert g.call("ftruncate", fd, 2 * PG) == -abi.EPERM
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(f"/proc/self/fd/{fd}"), g.buf, 100)
    assert g.mem.read(g.buf, n).startswith(b"/memfd:guest-buf")
    assert g.call("memfd_create", g.s("x" * 250), 0) == -abi.EINVAL
    assert g.call("memfd_create", g.s("x"), 0x100) == -abi.EINVAL


def test_locks_flock_and_ofd(g, tmp_path):
    p = tmp_path / "lock"
    p.write_bytes(b"x" * 100)
    a = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    b = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    assert g.call("flock", a, abi.LOCK_EX) == 0
    assert g.call("flock", b, abi.LOCK_EX | abi.LOCK_NB) == -abi.EAGAIN
    assert g.call("flock", a, abi.LOCK_UN) == 0
    assert g.call("flock", b, abi.LOCK_SH | abi.LOCK_NB) == 0
    assert g.call("flock", b, 99) == -abi.EINVAL
    lk = abi.Flock(1, os.SEEK_SET, 10, 20, 0)          # F_WRLCK on [10, 30)
    g.mem.write(g.buf, bytes(lk))
    assert g.call("fcntl", a, abi.F_OFD_SETLK, g.buf) == 0
    g.mem.write(g.buf, bytes(abi.Flock(1, os.SEEK_SET, 0, 0, 0)))
    assert g.call("fcntl", b, abi.F_OFD_GETLK, g.buf) == 0
    got = abi.Flock.from_buffer_copy(g.mem.read(g.buf, 32))
    assert (got.l_type, got.l_start, got.l_len, got.l_pid) == (1, 10, 20, -1)
    g.mem.write(g.buf, bytes(abi.Flock(1, os.SEEK_SET, 15, 1, 0)))
    assert g.call("fcntl", b, abi.F_OFD_SETLK, g.buf) == -abi.EAGAIN
    g.mem.write(g.buf, bytes(abi.Flock(0, os.SEEK_SET, 0, 0, 0)))   # F_RDLCK, classic lock:
    assert g.call("fcntl", a, abi.F_SETLK, g.buf) == -abi.EAGAIN     # OFD locks conflict
    g.mem.write(g.buf, bytes(abi.Flock(0, os.SEEK_SET, 50, 10, 0)))
    assert g.call("fcntl", a, abi.F_SETLK, g.buf) == 0
    assert g.call("fcntl", a, abi.F_GETLK, BAD) == -abi.EFAULT


def test_fcntl_misc(g, tmp_path):
    p = tmp_path / "m"
    p.write_bytes(b"")
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    assert g.call("fcntl", fd, abi.F_GETFL) & abi.O_LARGEFILE     # 64-bit opens are large
    assert g.call("fcntl", fd, abi.F_SETOWN, os.getpid()) == 0
    assert g.call("fcntl", fd, abi.F_GETOWN) == os.getpid()
    assert g.call("fcntl", fd, abi.F_GETSIG) == 0
    assert g.call("fcntl", fd, abi.F_DUPFD, 50) == 50
    assert g.call("fcntl", fd, abi.F_DUPFD, -1 & 0xFFFFFFFF) == -abi.EINVAL
    assert g.call("fcntl", fd, abi.F_GETLEASE) == 2          # F_UNLCK
    assert g.call("fcntl", fd, abi.F_SETFL, abi.O_APPEND | abi.O_RDWR) == 0
    fl = g.call("fcntl", fd, abi.F_GETFL)
    assert fl & abi.O_APPEND and fl & abi.O_ACCMODE == abi.O_RDONLY   # access mode kept


def test_ppoll(g):
    r, w = pipe(g)
    pf = (abi.Pollfd * 3)((r, abi.POLLIN, 0), (w, abi.POLLOUT, 0), (-1, abi.POLLIN, 0))
    g.mem.write(g.buf, bytes(pf))
    g.mem.write(g.buf + 64, bytes(abi.Timespec(0, 0)))             # zero timeout: poll once
    assert g.call("ppoll", g.buf, 3, g.buf + 64, 0, 8) == 1
    out = (abi.Pollfd * 3).from_buffer_copy(g.mem.read(g.buf, 24))
    assert [p.revents for p in out] == [0, abi.POLLOUT, 0]
    os.write(g.k.fds.host(w), b"x")
    g.call("close", w)
    g.mem.write(g.buf, bytes((abi.Pollfd * 2)((r, abi.POLLIN, 0), (77, abi.POLLIN, 0))))
    t0 = time.monotonic()
    assert g.call("ppoll", g.buf, 2, 0, 0, 8) == 2                   # no timeout, but ready
    assert time.monotonic() - t0 < 5
    out = (abi.Pollfd * 2).from_buffer_copy(g.mem.read(g.buf, 16))
    assert out[0].revents == abi.POLLIN | abi.POLLHUP                # HUP reported unasked
    assert out[1].revents == abi.POLLNVAL
    g.mem.write(g.buf + 64, bytes(abi.Timespec(0, 20_000_000)))
    g.mem.write(g.buf, bytes((abi.Pollfd * 1)((0x7fff0000 >> 16, abi.POLLIN, 0))))
    r2, w2 = pipe(g)
    g.mem.write(g.buf, bytes((abi.Pollfd * 1)((r2, abi.POLLIN, 0))))
    t0 = time.monotonic()
    assert g.call("ppoll", g.buf, 1, g.buf + 64, 0, 8) == 0          # times out
    assert 0.015 < time.monotonic() - t0 < 2
    assert abi.Timespec.from_buffer_copy(g.mem.read(g.buf + 64, 16)).tv_nsec < 20_000_000
    g.mem.write(g.buf + 64, bytes(abi.Timespec(-1, 0)))
    assert g.call("ppoll", g.buf, 1, g.buf + 64, 0, 8) == -abi.EINVAL
    assert g.call("ppoll", g.buf, 1, 0, g.buf + 200, 4) == -abi.EINVAL   # bad sigsetsize
    assert g.call("ppoll", BAD, 1, 0, 0, 8) == -abi.EFAULT


def test_pselect6(g):
    r, w = pipe(g)
    r2, w2 = pipe(g)
    os.write(g.k.fds.host(w), b"x")
    nfds = max(r, w, r2, w2) + 1
    g.mem.write_u64(g.buf, (1 << r) | (1 << r2))                     # readfds
    g.mem.write_u64(g.buf + 8, 1 << w)                               # writefds
    g.mem.write_u64(g.buf + 16, 1 << r)                              # exceptfds
    g.mem.write(g.buf + 64, bytes(abi.Timespec(0, 0)))
    assert g.call("pselect6", nfds, g.buf, g.buf + 8, g.buf + 16, g.buf + 64, 0) == 2
    assert g.mem.read_u64(g.buf) == 1 << r and g.mem.read_u64(g.buf + 8) == 1 << w
    assert g.mem.read_u64(g.buf + 16) == 0
    g.mem.write_u64(g.buf, 1 << 60)
    assert g.call("pselect6", 61, g.buf, 0, 0, g.buf + 64, 0) == -abi.EBADF
    g.mem.write(g.buf + 64, bytes(abi.Timespec(0, 10_000_000)))
    g.mem.write_u64(g.buf, 1 << r2)
    t0 = time.monotonic()
    assert g.call("pselect6", nfds, g.buf, 0, 0, g.buf + 64, 0) == 0
    assert time.monotonic() - t0 >= 0.009 and g.mem.read_u64(g.buf) == 0
    assert g.call("pselect6", -1 & 0xFFFFFFFF, 0, 0, 0, 0, 0) == -abi.EINVAL


def test_ioctl_more(g, tmp_path):
    r, w = pipe(g)
    g.mem.write_u32(g.buf, 1)
    assert g.call("ioctl", r, abi.FIONBIO, g.buf) == 0
    assert not os.get_blocking(g.k.fds.host(r))
    assert g.call("read", r, g.buf, 1) == -abi.EAGAIN
    os.write(g.k.fds.host(w), b"abc")
    assert g.call("ioctl", r, abi.FIONREAD, g.buf) == 0 and g.mem.read_u32(g.buf) == 3
    assert g.call("ioctl", r, abi.TIOCGPGRP, g.buf) == -abi.ENOTTY
    assert g.call("ioctl", r, abi.TCFLSH, 0) == -abi.ENOTTY
    assert g.call("ioctl", r, abi.FIOCLEX, 0) == 0
    assert g.call("fcntl", r, abi.F_GETFD) == abi.FD_CLOEXEC
    a = tmp_path / "a"
    a.write_bytes(b"data")
    fa = g.call("openat", abi.AT_FDCWD, g.s(a), 0)
    fb = g.call("openat", abi.AT_FDCWD, g.s(tmp_path / "b"), abi.O_WRONLY | abi.O_CREAT, 0o644)
    res = g.call("ioctl", fb, abi.FICLONE, fa)                # the arg is a guest fd
    assert res == 0 or res in (-abi.EOPNOTSUPP, -abi.EXDEV, -abi.EINVAL, -abi.ENOTTY)
    assert g.call("ioctl", fb, abi.FICLONE, 999) == -abi.EBADF
    assert g.call("ioctl", r, abi.FIONREAD, BAD) == -abi.EFAULT
    before = sum(g.k.unknown_ioctls.values())
    assert g.call("ioctl", r, 0xC0DE0001, g.buf) == -abi.ENOTTY
    assert sum(g.k.unknown_ioctls.values()) == before + 1


def test_blocking_read_does_not_stop_other_threads(g):
    """A guest read blocked on an empty pipe holds no emulator lock: another
    thread can run syscalls (and write the byte that wakes it) meanwhile."""
    import threading
    from emu.cpustate import CPUState
    r, w = pipe(g)
    got = []
    t = threading.Thread(target=lambda: got.append(g.call("read", r, g.buf + 512, 1)))
    t.start()
    time.sleep(0.05)
    cpu2 = CPUState()
    cpu2.x[8], cpu2.x[0] = 172, 0                                  # getpid from "thread 2"
    assert g.k.syscall(cpu2) == os.getpid()
    g.mem.write(g.buf + 600, b"!")
    cpu2.x[8], cpu2.x[0], cpu2.x[1], cpu2.x[2] = 64, w, g.buf + 600, 1
    assert g.k.syscall(cpu2) == 1
    t.join(5)
    assert got == [1]


def test_epoll_events_use_the_16_byte_aarch64_layout(g):
    ev = g.call("eventfd2", 1, abi.O_CLOEXEC)
    ep = g.call("epoll_create1", abi.O_CLOEXEC)
    assert ev >= 3 and ep >= 3 and g.call("fcntl", ep, abi.F_GETFD) == abi.FD_CLOEXEC
    g.mem.write(g.buf, bytes(abi.EpollEvent(0x1, 0x1122334455667788)))      # EPOLLIN
    assert g.call("epoll_ctl", ep, 1, ev, g.buf) == 0
    g.mem.write(g.buf + 64, b"\xee" * 48)
    assert g.call("epoll_pwait", ep, g.buf + 64, 3, 0, 0, 8) == 1
    raw = g.mem.read(g.buf + 64, 32)
    assert struct.unpack_from("<IIQ", raw) == (0x1, 0xEEEEEEEE, 0x1122334455667788)  # pad kept
    assert raw[16:] == b"\xee" * 16                                           # one event only
    g.mem.write(g.buf + 200, bytes(abi.Timespec(0, 5_000_000)))
    assert g.call("read", ev, g.buf + 300, 8) == 8
    assert g.call("epoll_pwait2", ep, g.buf + 64, 3, g.buf + 200, 0, 8) == 0   # timed out
    assert g.call("epoll_ctl", ep, 2, ev, 0) == 0
    assert g.call("epoll_ctl", ep, 7, ev, g.buf) == -abi.EINVAL
    assert g.call("epoll_pwait", ep, g.buf + 64, 0, 0, 0, 8) == -abi.EINVAL
    tfd = g.call("timerfd_create", abi.CLOCK_MONOTONIC, 0)
    g.mem.write(g.buf, bytes(abi.Itimerspec(abi.Timespec(0, 0), abi.Timespec(5, 0))))
    assert g.call("timerfd_settime", tfd, 0, g.buf, g.buf + 64) == 0
    assert g.call("timerfd_gettime", tfd, g.buf + 128) == 0
    cur = abi.Itimerspec.from_buffer_copy(g.mem.read(g.buf + 128, 32))
    assert 4 <= cur.it_value.tv_sec <= 5
