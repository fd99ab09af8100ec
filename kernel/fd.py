"""File descriptors: the guest->host fd table and fd-level I/O syscalls.

Owns: FdTable (small guest fd numbers -> host fds; guest 0/1/2 start as host
0/1/2; every other guest fd owns its own host fd, so closing a guest fd can
never close an emulator-internal one), and read/write/readv/writev/
pread64/pwrite64/preadv/pwritev/preadv2/pwritev2, lseek, close/close_range,
dup/dup3, fcntl (every command, locks included), pipe2, flock,
sendfile/splice/tee/vmsplice/copy_file_range, memfd_create and the
terminal/file ioctls.
Data safety: guest writes go straight to the host fd (no Python buffering),
reads land directly in guest memory.  Blocking calls (read on a pipe,
F_SETLKW, flock) are plain host calls made with the GIL released and no
emulator lock held, so other guest threads keep running.
Emulated files (OpenFile.emul: /proc/self/mem, pagemap, syscall, made by
procfs.py) are read, written and seeked through their emul object; their host
fd is a placeholder, and the calls that would move its bytes between host fds
(sendfile, splice, tee, copy_file_range, vmsplice) refuse them with EINVAL, as
Linux does for files without splice support.
Does not own: path lookup and open (fs.py), poll/select (poll.py),
directory contents (fs.py fills OpenFile.dirents).
"""
import ctypes
import fcntl
import os
import threading

from kernel import abi, hostio
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import OutBuffer, in_view, read_path, read_struct, s32, s64

_libc = ctypes.CDLL(None, use_errno=True)
_libc.tee.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint]
_libc.tee.restype = ctypes.c_ssize_t


class OpenFile:
    """One guest fd: its host fd, close-on-exec, and directory stream state.

    virtual: for files whose contents the emulator made (/proc/self/maps...)
    the guest path readlink shows; lister: a function giving the directory
    entries when they are not the host directory's (/proc/self/fd); emul: the
    emulated file (procfs.EmulatedFile) whose io/vector/lseek answer reads,
    writes and seeks (shared by dups, like an open file description).
    """
    __slots__ = ("host", "cloexec", "path", "dirents", "dirpos", "virtual", "lister", "emul")

    def __init__(self, host, cloexec=False, path=None, virtual=None, lister=None, emul=None):
        self.host, self.cloexec, self.path = host, cloexec, path
        self.virtual, self.lister, self.emul = virtual, lister, emul
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

    def install(self, hfd, cloexec=False, path=None, lowest=0, virtual=None, lister=None,
                emul=None):
        """Give host fd hfd (now owned by the table) the lowest free guest number."""
        with self.lock:
            g = lowest
            while g in self.files:
                g += 1
            if g >= self.limit:
                os.close(hfd)
                raise SyscallError(abi.EMFILE)
            self._set(g, OpenFile(hfd, cloexec, path, virtual, lister, emul))
            return g

    def adopt(self, g, hfd):
        """Guest fd g is host fd hfd (handed over by the execve that started us)."""
        with self.lock:
            self._set(g, OpenFile(hfd, False))

    def _set(self, g, f):
        self.files[g] = f
        os.set_inheritable(f.host, not f.cloexec)

    def close(self, gfd):
        with self.lock:
            f = self.files.pop(s32(gfd), None)
        if f is None:
            raise SyscallError(abi.EBADF)
        os.close(f.host)

    def close_range(self, first, last, cloexec):
        with self.lock:
            nums = [n for n in self.files if first <= n <= last]
            if cloexec:
                for n in nums:
                    self.files[n].cloexec = True
                    os.set_inheritable(self.files[n].host, False)
                return
            gone = [self.files.pop(n) for n in nums]
        for f in gone:
            try:
                os.close(f.host)
            except OSError:
                pass

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
            self._set(new, OpenFile(hfd, cloexec, src.path, src.virtual, src.lister,
                                    src.emul))
        return new


def _host_open(n):
    try:
        os.fstat(n)
        return True
    except OSError:
        return False


# -- read/write ------------------------------------------------------------------
def _plain(k, fd):
    """The host fd of a guest fd whose bytes may move between host fds (splice...)."""
    f = k.fds.get(fd)
    if f.emul is not None:
        raise SyscallError(abi.EINVAL)
    return f.host


def sys_read(k, fd, buf, count):
    f = k.fds.get(fd)
    if f.emul is not None:
        return f.emul.io(buf, count, None, False)
    h = f.host
    count = min(count, abi.MAX_RW_COUNT)
    out = OutBuffer(k.mem, buf, count)
    if count == 0:
        os.read(h, 0)
        return 0
    return out.commit(hostio.readv(h, [out.view]))


def sys_write(k, fd, buf, count):
    f = k.fds.get(fd)
    if f.emul is not None:
        return f.emul.io(buf, count, None, True)
    h = f.host
    view = in_view(k.mem, buf, min(count, abi.MAX_RW_COUNT))
    return hostio.writev(h, [view]) if len(view) else os.write(h, b"")


def _offset(off):
    off = s64(off)
    if off < 0:
        raise SyscallError(abi.EINVAL)
    return off


def sys_pread64(k, fd, buf, count, off):
    f = k.fds.get(fd)
    h = f.host
    off = _offset(off)
    if f.emul is not None:
        return f.emul.io(buf, count, off, False)
    out = OutBuffer(k.mem, buf, min(count, abi.MAX_RW_COUNT))
    if not out.length:
        os.pread(h, 0, off)
        return 0
    return out.commit(os.preadv(h, [out.view], off))


def sys_pwrite64(k, fd, buf, count, off):
    f = k.fds.get(fd)
    h = f.host
    if f.emul is not None:
        return f.emul.io(buf, count, _offset(off), True)
    return os.pwrite(h, in_view(k.mem, buf, min(count, abi.MAX_RW_COUNT)), _offset(off))


def _iovecs(k, iov, iovcnt):
    n = s32(iovcnt)
    if n < 0 or n > abi.IOV_MAX:
        raise SyscallError(abi.EINVAL)
    vecs = [read_struct(k.mem, iov + 16 * i, abi.Iovec) for i in range(n)]
    total = 0
    for v in vecs:
        if v.iov_len > (1 << 63) - 1 - total:
            raise SyscallError(abi.EINVAL)
        total += v.iov_len
    return [(v.iov_base, v.iov_len) for v in vecs if v.iov_len]


def _read_into(k, iov, iovcnt, call):
    outs = [OutBuffer(k.mem, base, n) for base, n in _iovecs(k, iov, iovcnt)]
    if not outs:
        return call([])
    got = call([o.view for o in outs])
    left = got
    for o in outs:
        o.commit(min(left, o.length))
        left -= min(left, o.length)
    return got


def _write_from(k, iov, iovcnt, call):
    return call([in_view(k.mem, base, n) for base, n in _iovecs(k, iov, iovcnt)])


def _emul_vector(k, f, iov, iovcnt, pos, write):
    if not (f.emul.writable if write else f.emul.readable):
        raise SyscallError(abi.EBADF)
    return f.emul.vector(_iovecs(k, iov, iovcnt), pos, write)


def sys_readv(k, fd, iov, iovcnt):
    f = k.fds.get(fd)
    if f.emul is not None:
        return _emul_vector(k, f, iov, iovcnt, None, False)
    h = f.host
    return _read_into(k, iov, iovcnt, lambda bufs: hostio.readv(h, bufs))


def sys_writev(k, fd, iov, iovcnt):
    f = k.fds.get(fd)
    if f.emul is not None:
        return _emul_vector(k, f, iov, iovcnt, None, True)
    h = f.host
    return _write_from(k, iov, iovcnt, lambda bufs: hostio.writev(h, bufs))


def sys_preadv(k, fd, iov, iovcnt, pos_l, pos_h):
    # On 64-bit the offset is pos_l whole (pos_h is shifted out by the kernel).
    f = k.fds.get(fd)
    h, off = f.host, _offset(pos_l)
    if f.emul is not None:
        return _emul_vector(k, f, iov, iovcnt, off, False)
    return _read_into(k, iov, iovcnt, lambda bufs: os.preadv(h, bufs, off) if bufs else 0)


def sys_pwritev(k, fd, iov, iovcnt, pos_l, pos_h):
    f = k.fds.get(fd)
    h, off = f.host, _offset(pos_l)
    if f.emul is not None:
        return _emul_vector(k, f, iov, iovcnt, off, True)
    return _write_from(k, iov, iovcnt, lambda bufs: os.pwritev(h, bufs, off) if bufs else 0)


_RWF_ALL = abi.RWF_HIPRI | abi.RWF_DSYNC | abi.RWF_SYNC | abi.RWF_NOWAIT | abi.RWF_APPEND


def _emul_vector2(k, f, iov, iovcnt, off, flags, write):
    """preadv2/pwritev2 on an emulated file: its f_op has no read_iter, so only
    RWF_HIPRI is accepted (do_loop_readv_writev)."""
    if flags & ~abi.RWF_HIPRI:
        raise SyscallError(abi.EOPNOTSUPP)
    return _emul_vector(k, f, iov, iovcnt, None if off == -1 else off, write)


def sys_preadv2(k, fd, iov, iovcnt, pos_l, pos_h, flags):
    """preadv with RWF_* flags; offset -1 means the file position (like readv)."""
    f = k.fds.get(fd)
    h, off = f.host, s64(pos_l)
    if flags & ~_RWF_ALL or off < -1:
        raise SyscallError(abi.EOPNOTSUPP if flags & ~_RWF_ALL else abi.EINVAL)
    if f.emul is not None:
        return _emul_vector2(k, f, iov, iovcnt, off, flags, False)
    if off == -1 and not flags:
        return _read_into(k, iov, iovcnt, lambda bufs: hostio.readv(h, bufs))
    return _read_into(k, iov, iovcnt, lambda bufs: os.preadv(h, bufs, off, flags) if bufs else 0)


def sys_pwritev2(k, fd, iov, iovcnt, pos_l, pos_h, flags):
    f = k.fds.get(fd)
    h, off = f.host, s64(pos_l)
    if flags & ~_RWF_ALL or off < -1:
        raise SyscallError(abi.EOPNOTSUPP if flags & ~_RWF_ALL else abi.EINVAL)
    if f.emul is not None:
        return _emul_vector2(k, f, iov, iovcnt, off, flags, True)
    if off == -1 and not flags:
        return _write_from(k, iov, iovcnt, lambda bufs: hostio.writev(h, bufs))
    return _write_from(k, iov, iovcnt, lambda bufs: os.pwritev(h, bufs, off, flags) if bufs else 0)


def sys_lseek(k, fd, off, whence):
    f = k.fds.get(fd)
    off, whence = s64(off), s32(whence)
    if f.emul is not None:
        return f.emul.lseek(off, whence)
    if f.dirents is not None or (f.lister is not None and whence == os.SEEK_SET):
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


def sys_close_range(k, first, last, flags):
    first, last = first & 0xFFFFFFFF, last & 0xFFFFFFFF
    if flags & ~(abi.CLOSE_RANGE_UNSHARE | abi.CLOSE_RANGE_CLOEXEC) or first > last:
        raise SyscallError(abi.EINVAL)
    k.fds.close_range(first, last, bool(flags & abi.CLOSE_RANGE_CLOEXEC))
    return 0


def sys_dup(k, fd):
    f = k.fds.get(fd)
    return k.fds.install(os.dup(f.host), False, f.path, virtual=f.virtual, lister=f.lister,
                         emul=f.emul)


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


# fcntl commands whose argument is a plain int and whose result is the host's
_FCNTL_INT = {abi.F_SETOWN, abi.F_GETOWN, abi.F_SETSIG, abi.F_GETSIG, abi.F_SETLEASE,
              abi.F_GETLEASE, abi.F_NOTIFY, abi.F_SETPIPE_SZ, abi.F_GETPIPE_SZ,
              abi.F_ADD_SEALS, abi.F_GET_SEALS, abi.F_CANCELLK}
# commands with a pointer argument: bytes copied in, and whether they are copied back
_FCNTL_PTR = {
    abi.F_GETLK: (32, True), abi.F_SETLK: (32, False), abi.F_SETLKW: (32, False),
    abi.F_OFD_GETLK: (32, True), abi.F_OFD_SETLK: (32, False), abi.F_OFD_SETLKW: (32, False),
    abi.F_GETOWN_EX: (8, True), abi.F_SETOWN_EX: (8, False), abi.F_GETOWNER_UIDS: (8, True),
    abi.F_GET_RW_HINT: (8, True), abi.F_SET_RW_HINT: (8, False),
    abi.F_GET_FILE_RW_HINT: (8, True), abi.F_SET_FILE_RW_HINT: (8, False),
}
_SETFL_MASK = abi.O_APPEND | abi.O_ASYNC | abi.O_DIRECT | abi.O_NOATIME | abi.O_NONBLOCK


def sys_fcntl(k, fd, cmd, arg):
    f = k.fds.get(fd)
    cmd = s32(cmd)
    if cmd in (abi.F_DUPFD, abi.F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        if lowest < 0 or lowest >= k.fds.limit:
            raise SyscallError(abi.EINVAL)
        return k.fds.install(os.dup(f.host), cmd == abi.F_DUPFD_CLOEXEC, f.path, lowest,
                             virtual=f.virtual, lister=f.lister, emul=f.emul)
    if cmd == abi.F_GETFD:
        return abi.FD_CLOEXEC if f.cloexec else 0
    if cmd == abi.F_SETFD:
        f.cloexec = bool(arg & abi.FD_CLOEXEC)
        os.set_inheritable(f.host, not f.cloexec)
        return 0
    if cmd == abi.F_GETFL:
        return abi.open_flags_from_host(fcntl.fcntl(f.host, fcntl.F_GETFL))
    if cmd == abi.F_SETFL:
        fcntl.fcntl(f.host, fcntl.F_SETFL, abi.open_flags_to_host(arg & _SETFL_MASK))
        return 0
    if cmd in _FCNTL_INT:
        return fcntl.fcntl(f.host, cmd, s32(arg))
    spec = _FCNTL_PTR.get(cmd)
    if spec is None:
        raise SyscallError(abi.EINVAL)
    size, out = spec
    if out:
        k.mem.check(arg, size, write=True)
    data = fcntl.fcntl(f.host, cmd, k.mem.read(arg, size))   # GIL released while blocked
    if out:
        k.mem.write(arg, data)
    return 0


def sys_flock(k, fd, op):
    op = s32(op)
    if op & ~abi.LOCK_NB not in (abi.LOCK_SH, abi.LOCK_EX, abi.LOCK_UN):
        raise SyscallError(abi.EINVAL)
    fcntl.flock(k.fds.host(fd), op)
    return 0


# -- moving data between descriptors ---------------------------------------------------
def _read_off(k, ptr):
    if not ptr:
        return None
    off = s64(k.mem.read_u64(ptr))
    if off < 0:
        raise SyscallError(abi.EINVAL)
    return off


def _put_off(k, ptr, off, n):
    if ptr:
        k.mem.write_u64(ptr, off + n)


def sys_sendfile(k, out_fd, in_fd, offset, count):
    out_h, in_h = _plain(k, out_fd), _plain(k, in_fd)
    off = _read_off(k, offset)
    if offset:
        k.mem.check(offset, 8, write=True)
    n = os.sendfile(out_h, in_h, off, min(count, abi.MAX_RW_COUNT))
    if off is not None:
        _put_off(k, offset, off, n)
    return n


def sys_copy_file_range(k, fd_in, off_in, fd_out, off_out, length, flags):
    if flags:
        raise SyscallError(abi.EINVAL)
    hi, ho = _plain(k, fd_in), _plain(k, fd_out)
    oi, oo = _read_off(k, off_in), _read_off(k, off_out)
    for p in (off_in, off_out):
        if p:
            k.mem.check(p, 8, write=True)
    n = os.copy_file_range(hi, ho, min(length, abi.MAX_RW_COUNT), oi, oo)
    if oi is not None:
        _put_off(k, off_in, oi, n)
    if oo is not None:
        _put_off(k, off_out, oo, n)
    return n


def sys_splice(k, fd_in, off_in, fd_out, off_out, length, flags):
    hi, ho = _plain(k, fd_in), _plain(k, fd_out)
    oi, oo = _read_off(k, off_in), _read_off(k, off_out)
    for p in (off_in, off_out):
        if p:
            k.mem.check(p, 8, write=True)
    n = os.splice(hi, ho, min(length, abi.MAX_RW_COUNT), oi, oo, flags & 0xF)
    if oi is not None:
        _put_off(k, off_in, oi, n)
    if oo is not None:
        _put_off(k, off_out, oo, n)
    return n


def sys_tee(k, fd_in, fd_out, length, flags):
    n = _libc.tee(_plain(k, fd_in), _plain(k, fd_out), min(length, abi.MAX_RW_COUNT),
                  flags & 0xF)
    if n < 0:
        raise SyscallError(ctypes.get_errno())
    return n


@partial("pages are copied (readv/writev), never gifted")
def sys_vmsplice(k, fd, iov, nr_segs, flags):
    """Emulated with writev/readv on the pipe (the pages are copied, never gifted)."""
    h = _plain(k, fd)
    acc = fcntl.fcntl(h, fcntl.F_GETFL) & os.O_ACCMODE
    if acc == os.O_RDONLY:
        return _read_into(k, iov, nr_segs, lambda bufs: hostio.readv(h, bufs))
    return _write_from(k, iov, nr_segs, lambda bufs: hostio.writev(h, bufs))


def sys_memfd_create(k, name, flags):
    allowed = abi.MFD_CLOEXEC | abi.MFD_ALLOW_SEALING | abi.MFD_NOEXEC_SEAL | abi.MFD_EXEC
    if flags & ~allowed:
        raise SyscallError(abi.EINVAL)
    raw = read_path(k.mem, name, 250)
    if len(raw) > 249:
        raise SyscallError(abi.EINVAL)
    host_flags = (flags & abi.MFD_ALLOW_SEALING) | os.MFD_CLOEXEC
    h = os.memfd_create(os.fsdecode(raw), host_flags)
    return k.fds.install(h, bool(flags & abi.MFD_CLOEXEC), b"/memfd:" + raw)


# -- ioctl -------------------------------------------------------------------------
# request -> (bytes copied in from the guest, bytes copied back out), or "int"
# for requests whose argument is a value.  Layouts and numbers are identical
# on arm64 and x86-64 (asm-generic/ioctls.h, termbits.h), so these pass through.
_IOCTL_PASS = {
    abi.TCGETS: (0, 36), abi.TCSETS: (36, 0), abi.TCSETSW: (36, 0), abi.TCSETSF: (36, 0),
    abi.TCGETS2: (0, 44), abi.TCSETS2: (44, 0), abi.TCSETSW2: (44, 0), abi.TCSETSF2: (44, 0),
    abi.TIOCGLCKTRMIOS: (0, 36), abi.TIOCSLCKTRMIOS: (36, 0),
    abi.TIOCGWINSZ: (0, 8), abi.TIOCSWINSZ: (8, 0),
    abi.TIOCGPGRP: (0, 4), abi.TIOCSPGRP: (4, 0), abi.TIOCGSID: (0, 4),
    abi.TIOCOUTQ: (0, 4), abi.FIONREAD: (0, 4), abi.FIONBIO: (4, 0), abi.FIOASYNC: (4, 0),
    abi.TIOCSTI: (1, 0), abi.TIOCMGET: (0, 4), abi.TIOCMSET: (4, 0), abi.TIOCMBIS: (4, 0),
    abi.TIOCMBIC: (4, 0), abi.TIOCGETD: (0, 4), abi.TIOCSETD: (4, 0), abi.TIOCPKT: (4, 0),
    abi.TIOCGPKT: (0, 4), abi.TIOCGPTN: (0, 4), abi.TIOCSPTLCK: (4, 0), abi.TIOCGPTLCK: (0, 4),
    abi.FIOQSIZE: (0, 8),
    abi.TCSBRK: "int", abi.TCSBRKP: "int", abi.TCXONC: "int", abi.TCFLSH: "int",
    abi.TIOCSCTTY: "int", abi.TIOCNOTTY: "int", abi.TIOCEXCL: "int", abi.TIOCNXCL: "int",
    abi.TIOCSBRK: "int", abi.TIOCCBRK: "int", abi.TIOCCONS: "int", abi.TIOCVHANGUP: "int",
}


def sys_ioctl(k, fd, request, arg):
    f = k.fds.get(fd)
    request &= 0xFFFFFFFF
    if request in (abi.FIOCLEX, abi.FIONCLEX):
        f.cloexec = request == abi.FIOCLEX
        os.set_inheritable(f.host, not f.cloexec)
        return 0
    if request == abi.FICLONE:                  # the argument is a guest fd
        return fcntl.ioctl(f.host, request, k.fds.host(arg))
    spec = _IOCTL_PASS.get(request)
    if spec is None:
        k.unknown_ioctls[request] += 1
        k.note(f"unknown ioctl {request:#x}, counted in EMU_BLOCK_STATS unknown_ioctls")
        raise SyscallError(abi.ENOTTY)
    if spec == "int":
        return fcntl.ioctl(f.host, request, s32(arg))
    n_in, n_out = spec
    if n_out:
        k.mem.check(arg, n_out, write=True)
    data = k.mem.read(arg, n_in) if n_in else bytes(n_out)
    res = fcntl.ioctl(f.host, request, data)
    if n_out:
        k.mem.write(arg, res)
    return 0
