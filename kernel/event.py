"""Event descriptors: eventfd, epoll, timerfd and inotify (family `event`).

Owns: eventfd2, epoll_create1/epoll_ctl/epoll_pwait/epoll_pwait2,
timerfd_create/settime/gettime, inotify_init1/add_watch/rm_watch.  Each is
a real host descriptor in the guest fd table, so read/write/poll/close
work on it through fd.py unchanged, and waits block in the host with the
GIL released.  The one conversion is struct epoll_event: 16 bytes on
AArch64 (u32 events, 4 bytes of padding, u64 data), 12 bytes packed on
x86-64; `data` is opaque and comes back as the guest gave it.  Flag values
(EFD_*, TFD_*, IN_*, EPOLL*) are the same on both.  The signal masks
of epoll_pwait/epoll_pwait2 are swapped in for the call (poll.with_mask).
Does not own: signalfd (signals), the fd table (fd.py).
"""
import ctypes
import struct

from kernel import abi, poll
from kernel.errors import SyscallError
from kernel.path import resolve
from kernel.status import partial
from kernel.uaccess import read_path, read_struct, s32

_libc = ctypes.CDLL(None, use_errno=True)

EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC = 1, abi.O_NONBLOCK, abi.O_CLOEXEC
EPOLL_CLOEXEC = abi.O_CLOEXEC
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
IN_DONT_FOLLOW = 0x02000000
_HOST_CLOEXEC = 0o2000000     # O_CLOEXEC on the host (every event fd is made close-on-exec there)
EP_MAX_EVENTS = 0x7FFFFFFF // 16


def _call(ret):
    if ret < 0:
        raise SyscallError(ctypes.get_errno())
    return ret


def _install(k, hfd, flags, name):
    return k.fds.install(hfd, bool(flags & abi.O_CLOEXEC), name)


# -- eventfd ----------------------------------------------------------------------------
def sys_eventfd2(k, initval, flags):
    if flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC):
        raise SyscallError(abi.EINVAL)
    h = _call(_libc.eventfd(ctypes.c_uint(initval & 0xFFFFFFFF),
                            ctypes.c_int((flags & ~EFD_CLOEXEC) | _HOST_CLOEXEC)))
    return _install(k, h, flags, b"anon_inode:[eventfd]")


# -- epoll -------------------------------------------------------------------------------
class HostEpollEvent(ctypes.Structure):
    """struct epoll_event on x86-64: __attribute__((packed)), 12 bytes."""
    _pack_ = 1
    _fields_ = [("events", ctypes.c_uint32), ("data", ctypes.c_uint64)]


assert ctypes.sizeof(HostEpollEvent) == 12


def sys_epoll_create1(k, flags):
    if flags & ~EPOLL_CLOEXEC:
        raise SyscallError(abi.EINVAL)
    h = _call(_libc.epoll_create1(ctypes.c_int(_HOST_CLOEXEC)))
    return _install(k, h, flags, b"anon_inode:[eventpoll]")


def sys_epoll_ctl(k, epfd, op, fd, event):
    ep, target = k.fds.host(epfd), k.fds.host(fd)
    op = s32(op)
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        raise SyscallError(abi.EINVAL)
    ev = None
    if op != EPOLL_CTL_DEL:
        g = read_struct(k.mem, event, abi.EpollEvent)
        ev = HostEpollEvent(g.events, g.data)
    return _call(_libc.epoll_ctl(ep, op, target, ctypes.byref(ev) if ev is not None else None))


def _wait(k, epfd, events, maxevents, timeout_ms):
    ep = k.fds.host(epfd)
    n = s32(maxevents)
    if n <= 0 or n > EP_MAX_EVENTS:
        raise SyscallError(abi.EINVAL)
    # Like Linux, the buffer is only touched when there are events to store:
    # a bad pointer with nothing ready returns 0, with events ready EFAULT.
    host = (HostEpollEvent * n)()
    got = _call(_libc.epoll_wait(ep, host, n, ctypes.c_int(timeout_ms)))
    if got:
        # Only the fields are stored (as Linux's __put_user does): padding is left alone.
        out = bytearray(k.mem.read(events, 16 * got))
        for i in range(got):
            struct.pack_into("<I", out, 16 * i, host[i].events)
            struct.pack_into("<Q", out, 16 * i + 8, host[i].data)
        k.mem.write(events, bytes(out))
    return got


def _wait_masked(k, epfd, events, maxevents, timeout_ms, mask):
    """epoll_wait under a temporary signal mask, in Linux's order (ep_poll): ready events are
    returned first and a zero timeout returns without looking at signals (a pending signal
    the mask unblocks then stays pending); otherwise such a signal makes the call fail with
    EINTR (delivered after it); else the wait runs with the mask swapped in."""
    if mask is None:
        return _wait(k, epfd, events, maxevents, timeout_ms)
    got = _wait(k, epfd, events, maxevents, 0)
    if got or timeout_ms == 0:
        return got
    with poll.with_mask(k, mask):          # EINTR at once if it unblocks a pending signal
        return _wait(k, epfd, events, maxevents, timeout_ms)


@partial(poll.MASK_NOTE)
def sys_epoll_pwait(k, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    mask = poll.read_sigmask(k, sigmask, sigsetsize)
    return _wait_masked(k, epfd, events, maxevents, s32(timeout), mask)


@partial(poll.MASK_NOTE)
def sys_epoll_pwait2(k, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    ms = -1
    if timeout:
        ts = read_struct(k.mem, timeout, abi.Timespec)
        if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < 1_000_000_000:
            raise SyscallError(abi.EINVAL)
        ms = min(ts.tv_sec * 1000 + (ts.tv_nsec + 999_999) // 1_000_000, 0x7FFFFFFF)
    mask = poll.read_sigmask(k, sigmask, sigsetsize)
    return _wait_masked(k, epfd, events, maxevents, ms, mask)


# -- timerfd -------------------------------------------------------------------------------
def sys_timerfd_create(k, clockid, flags):
    if flags & ~(abi.O_NONBLOCK | abi.O_CLOEXEC):
        raise SyscallError(abi.EINVAL)
    h = _call(_libc.timerfd_create(s32(clockid),
                                   ctypes.c_int((flags & ~abi.O_CLOEXEC) | _HOST_CLOEXEC)))
    return _install(k, h, flags, b"anon_inode:[timerfd]")


def sys_timerfd_settime(k, fd, flags, new, old):
    h = k.fds.host(fd)
    spec = ctypes.create_string_buffer(k.mem.read(new, 32), 32)    # struct itimerspec: same
    prev = ctypes.create_string_buffer(32)
    if old:
        k.mem.check(old, 32, write=True)
    _call(_libc.timerfd_settime(h, s32(flags), spec, prev))
    if old:
        k.mem.write(old, prev.raw)
    return 0


def sys_timerfd_gettime(k, fd, cur):
    h = k.fds.host(fd)
    k.mem.check(cur, 32, write=True)
    out = ctypes.create_string_buffer(32)
    _call(_libc.timerfd_gettime(h, out))
    k.mem.write(cur, out.raw)
    return 0


# -- inotify ---------------------------------------------------------------------------------
def sys_inotify_init1(k, flags):
    if flags & ~(abi.O_NONBLOCK | abi.O_CLOEXEC):
        raise SyscallError(abi.EINVAL)
    h = _call(_libc.inotify_init1(ctypes.c_int((flags & ~abi.O_CLOEXEC) | _HOST_CLOEXEC)))
    return _install(k, h, flags, b"anon_inode:inotify")


def sys_inotify_add_watch(k, fd, pathname, mask):
    h = k.fds.host(fd)
    hp, dfd = resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname),
                      follow=not mask & IN_DONT_FOLLOW)
    return _call(_libc.inotify_add_watch(h, ctypes.c_char_p(hp), ctypes.c_uint32(mask)))


def sys_inotify_rm_watch(k, fd, wd):
    return _call(_libc.inotify_rm_watch(k.fds.host(fd), s32(wd)))
