"""File descriptors: the guest->host fd table and fd-level I/O syscalls.

Owns: FdTable (small guest fd numbers -> host fds; guest 0/1/2 start as host
0/1/2; every other guest fd owns its own host fd, so closing a guest fd can
never close an emulator-internal one), and read/write/readv/writev/pread64/
pwrite64/lseek/close/dup/dup3/fcntl/pipe2/ioctl.
Data safety: guest writes go straight to the host fd with os.write (no Python
buffering), and reads land directly in guest memory.
Does not own: path lookup and open (fs.py), directory streams' contents
(fs.py fills OpenFile.dirents).
"""
import fcntl
import os
import threading

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import OutBuffer, in_view, read_struct, s32, s64


class OpenFile:
    """One guest fd: its host fd, close-on-exec, and directory stream state."""
    __slots__ = ("host", "cloexec", "path", "dirents", "dirpos")

    def __init__(self, host, cloexec=False, path=None):
        self.host, self.cloexec, self.path = host, cloexec, path
        self.dirents = None     # list of (ino, type, name) once getdents64 ran
        self.dirpos = 0


class FdTable:
    def __init__(self, limit=1024):
        self.files = {}
        self.limit = limit
        self.lock = threading.Lock()
        for n in (0, 1, 2):
            try:
                os.fstat(n)
            except OSError:
                continue
            self.files[n] = OpenFile(n)

    def get(self, gfd):
        f = self.files.get(s32(gfd))
        if f is None:
            raise SyscallError(abi.EBADF)
        return f

    def host(self, gfd):
        return self.get(gfd).host

    def install(self, hfd, cloexec=False, path=None, lowest=0):
        """Give host fd hfd (now owned by the table) the lowest free guest number."""
        with self.lock:
            g = lowest
            while g in self.files:
                g += 1
            if g >= self.limit:
                os.close(hfd)
                raise SyscallError(abi.EMFILE)
            self._set(g, OpenFile(hfd, cloexec, path))
            return g

    def _set(self, g, f):
        self.files[g] = f
        os.set_inheritable(f.host, not f.cloexec)

    def close(self, gfd):
        with self.lock:
            f = self.files.pop(s32(gfd), None)
        if f is None:
            raise SyscallError(abi.EBADF)
        os.close(f.host)

    def dup_to(self, old, new, cloexec):
        """dup2/dup3: make guest fd new refer to old's open file."""
        src = self.get(old)
        with self.lock:
            cur = self.files.get(new)
            # Keep guest n == host n for the standard streams when that host
            # number is ours to use, so children and shells see the same fds.
            if new < 3 and (cur is None and not _host_open(new) or cur is not None and cur.host == new):
                hfd = os.dup2(src.host, new, inheritable=not cloexec)
            else:
                hfd = os.dup(src.host)
                if cur is not None:
                    os.close(cur.host)
            self._set(new, OpenFile(hfd, cloexec, src.path))
        return new


def _host_open(n):
    try:
        os.fstat(n)
        return True
    except OSError:
        return False


# -- read/write ------------------------------------------------------------------
def sys_read(k, fd, buf, count):
    h = k.fds.host(fd)
    out = OutBuffer(k.mem, buf, count)
    if count == 0:
        os.read(h, 0)
        return 0
    return out.commit(os.readv(h, [out.view]))


def sys_write(k, fd, buf, count):
    h = k.fds.host(fd)
    return os.write(h, in_view(k.mem, buf, count))


def sys_pread64(k, fd, buf, count, off):
    h = k.fds.host(fd)
    out = OutBuffer(k.mem, buf, count)
    return out.commit(os.preadv(h, [out.view], s64(off)) if count else 0)


def sys_pwrite64(k, fd, buf, count, off):
    h = k.fds.host(fd)
    return os.pwrite(h, in_view(k.mem, buf, count), s64(off))


def _iovecs(k, iov, iovcnt):
    n = s32(iovcnt)
    if n < 0 or n > abi.IOV_MAX:
        raise SyscallError(abi.EINVAL)
    vecs = [read_struct(k.mem, iov + 16 * i, abi.Iovec) for i in range(n)]
    return [(v.iov_base, v.iov_len) for v in vecs if v.iov_len]


def sys_readv(k, fd, iov, iovcnt):
    h = k.fds.host(fd)
    outs = [OutBuffer(k.mem, base, n) for base, n in _iovecs(k, iov, iovcnt)]
    if not outs:
        return 0
    got = os.readv(h, [o.view for o in outs])
    left = got
    for o in outs:
        o.commit(min(left, o.length))
        left -= min(left, o.length)
    return got


def sys_writev(k, fd, iov, iovcnt):
    h = k.fds.host(fd)
    views = [in_view(k.mem, base, n) for base, n in _iovecs(k, iov, iovcnt)]
    return os.writev(h, views) if views else 0


def sys_lseek(k, fd, off, whence):
    f = k.fds.get(fd)
    off, whence = s64(off), s32(whence)
    if f.dirents is not None:
        # A directory stream being read by getdents64: offsets are entry
        # indexes (the d_off values handed out); 0 rewinds and re-lists.
        if whence != os.SEEK_SET or off < 0:
            raise SyscallError(abi.EINVAL)
        f.dirpos = off
        if off == 0:
            f.dirents = None
        return off
    return os.lseek(f.host, off, whence)


# -- fd management ---------------------------------------------------------------
def sys_close(k, fd):
    k.fds.close(fd)
    return 0


def sys_dup(k, fd):
    f = k.fds.get(fd)
    return k.fds.install(os.dup(f.host), False, f.path)


def sys_dup3(k, old, new, flags):
    old, new = s32(old), s32(new)
    if flags & ~abi.O_CLOEXEC or old == new:
        raise SyscallError(abi.EINVAL)
    if new < 0 or new >= k.fds.limit:
        raise SyscallError(abi.EBADF)
    return k.fds.dup_to(old, new, bool(flags & abi.O_CLOEXEC))


def sys_pipe2(k, fds, flags):
    if flags & ~(abi.O_CLOEXEC | abi.O_NONBLOCK | abi.O_DIRECT):
        raise SyscallError(abi.EINVAL)
    k.mem.check(fds, 8, write=True)
    r, w = os.pipe2(abi.open_flags_to_host(flags) | os.O_CLOEXEC)
    cloexec = bool(flags & abi.O_CLOEXEC)
    gr = k.fds.install(r, cloexec, "pipe:")
    gw = k.fds.install(w, cloexec, "pipe:")
    k.mem.write(fds, gr.to_bytes(4, "little") + gw.to_bytes(4, "little"))
    return 0


def sys_fcntl(k, fd, cmd, arg):
    f = k.fds.get(fd)
    cmd = s32(cmd)
    if cmd in (abi.F_DUPFD, abi.F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        if lowest < 0 or lowest >= k.fds.limit:
            raise SyscallError(abi.EINVAL)
        return k.fds.install(os.dup(f.host), cmd == abi.F_DUPFD_CLOEXEC, f.path, lowest)
    if cmd == abi.F_GETFD:
        return abi.FD_CLOEXEC if f.cloexec else 0
    if cmd == abi.F_SETFD:
        f.cloexec = bool(arg & abi.FD_CLOEXEC)
        os.set_inheritable(f.host, not f.cloexec)
        return 0
    if cmd == abi.F_GETFL:
        return abi.open_flags_from_host(fcntl.fcntl(f.host, fcntl.F_GETFL))
    if cmd == abi.F_SETFL:
        fcntl.fcntl(f.host, fcntl.F_SETFL, abi.open_flags_to_host(arg))
        return 0
    if cmd in (abi.F_GETLK, abi.F_SETLK, abi.F_SETLKW):
        # struct flock is 32 bytes with the same layout on arm64 and x86-64.
        data = fcntl.fcntl(f.host, cmd, k.mem.read(arg, 32))
        if cmd == abi.F_GETLK:
            k.mem.write(arg, data)
        return 0
    raise SyscallError(abi.EINVAL)


# -- ioctl -------------------------------------------------------------------------
# request -> (bytes copied in from the guest, bytes copied back out).  Layouts
# and numbers are identical on arm64 and x86-64, so these pass through.
_IOCTL_PASS = {
    abi.TCGETS: (0, 36), abi.TCSETS: (36, 0), abi.TCSETSW: (36, 0), abi.TCSETSF: (36, 0),
    abi.TIOCGWINSZ: (0, 8), abi.TIOCSWINSZ: (8, 0),
    abi.TIOCGPGRP: (0, 4), abi.TIOCSPGRP: (4, 0),
    abi.FIONREAD: (0, 4), abi.FIONBIO: (4, 0),
}


def sys_ioctl(k, fd, request, arg):
    f = k.fds.get(fd)
    request &= 0xFFFFFFFF
    if request in (abi.FIOCLEX, abi.FIONCLEX):
        f.cloexec = request == abi.FIOCLEX
        os.set_inheritable(f.host, not f.cloexec)
        return 0
    spec = _IOCTL_PASS.get(request)
    if spec is None:
        k.unknown_ioctls[request] += 1
        raise SyscallError(abi.ENOTTY)
    n_in, n_out = spec
    if n_out:
        k.mem.check(arg, n_out, write=True)
    data = k.mem.read(arg, n_in) if n_in else bytes(n_out)
    res = fcntl.ioctl(f.host, request, data)
    if n_out:
        k.mem.write(arg, res)
    return 0
