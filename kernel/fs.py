"""Path-based file syscalls: open, stat, links, directories, attributes.

Owns: openat/openat2 (AArch64 O_* values converted; /proc views opened
through procfs.py, and every file the host opened for the guest vetted by
procfs.vet, so no spelling reaches this process's own host /proc files),
newfstatat/fstat/statx/statfs/fstatfs, readlinkat, faccessat/faccessat2,
mkdirat, mknodat, unlinkat, renameat/renameat2, linkat, symlinkat,
fchmod/fchmodat, fchown/fchownat, utimensat, truncate/ftruncate, fallocate,
fsync/fdatasync/sync/syncfs/sync_file_range, fadvise64/readahead,
getdents64, getcwd/chdir/fchdir/chroot (emulated: it moves the guest root),
mount/umount2/pivot_root (EPERM), umask and the
xattr calls (passed to the host).  Every path goes through path.resolve
(-L ROOTFS semantics live there) with the right symlink-follow rule for the
call; the host syscall then runs with the GIL released and its errno is the
guest's.
Does not own: path walking (path.py), /proc contents (procfs.py), the fd
table and fd-level I/O (fd.py).
"""
import ctypes
import os
import stat as _stat
import struct

from kernel import abi, procfs
from kernel.errors import SyscallError
from kernel.path import guest_cwd, resolve
from kernel.status import partial
from kernel.uaccess import OutBuffer, in_view, read_path, s32, s64, write_struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_libc.readahead.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_size_t]
_libc.readahead.restype = ctypes.c_ssize_t
_libc.syscall.restype = ctypes.c_long
_HOST_NR_OPENAT2 = 437          # x86-64 and asm-generic share the new numbers
_HOST_NR_UTIMENSAT = 280        # x86-64


def _libc_call(ret):
    if ret < 0:
        raise SyscallError(ctypes.get_errno())
    return ret


def _dirfd_host(k, dirfd):
    dirfd = s32(dirfd)
    return abi.AT_FDCWD if dirfd == abi.AT_FDCWD else k.fds.host(dirfd)


def _at(k, dirfd, pathname, follow=True):
    """(host path, host dirfd for *at calls) of a guest (dirfd, path)."""
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname), follow)
    return hp, abi.AT_FDCWD if dfd is None else dfd


def _check_flags(flags, allowed):
    if flags & ~allowed:
        raise SyscallError(abi.EINVAL)


# -- open ----------------------------------------------------------------------------
def _install_view(k, view, flags, path):
    return k.fds.install(view.host, bool(flags & abi.O_CLOEXEC), path, virtual=view.virtual,
                         emul=view.emul)


def _install(k, h, flags, path, lister=None):
    """Give the guest host fd h, just opened for it, unless it is one of this
    process's own /proc files: those are replaced by the guest's view (procfs.vet)."""
    view = procfs.vet(k, h, flags)          # closes h when it returns a view or raises
    if view is not None:
        return _install_view(k, view, flags, path)
    return k.fds.install(h, bool(flags & abi.O_CLOEXEC), path, lister=lister)


def _open(k, dirfd, path, flags, mode, open_fn):
    follow = not flags & abi.O_NOFOLLOW and \
        (flags & (abi.O_CREAT | abi.O_EXCL)) != (abi.O_CREAT | abi.O_EXCL)
    hp, dfd = resolve(k, dirfd, path, follow)
    lister = None
    if dfd is None and hp.startswith(b"/proc/"):
        view = procfs.open_view(k, hp, flags)
        if view is not None:
            return _install_view(k, view, flags, path)
        lister = procfs.dir_lister(k, hp)
    return _install(k, open_fn(hp, dfd), flags, path, lister=lister)


def sys_openat(k, dirfd, pathname, flags, mode):
    path = read_path(k.mem, pathname)
    hflags = abi.open_flags_to_host(flags) | os.O_CLOEXEC
    return _open(k, dirfd, path, flags, mode,
                 lambda hp, dfd: os.open(hp, hflags, mode & 0o7777, dir_fd=dfd))


# struct open_how { __u64 flags; __u64 mode; __u64 resolve; };
RESOLVE_BENEATH, RESOLVE_IN_ROOT = 0x08, 0x10
RESOLVE_ALL = 0x3F
OPEN_HOW_SIZE = 24


def sys_openat2(k, dirfd, pathname, how, size):
    if size < OPEN_HOW_SIZE or size > 4096:
        raise SyscallError(abi.EINVAL)
    raw = k.mem.read(how, size)
    if any(raw[OPEN_HOW_SIZE:]):
        raise SyscallError(abi.E2BIG)
    flags, mode, res = struct.unpack_from("<QQQ", raw)
    if flags & ~abi.O_VALID or res & ~RESOLVE_ALL or \
            (mode and not flags & (abi.O_CREAT | abi.O__TMPFILE)) or mode & ~0o7777:
        raise SyscallError(abi.EINVAL)
    path = read_path(k.mem, pathname)
    hflags = abi.open_flags_to_host(flags) | os.O_CLOEXEC
    if res & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
        # Resolution is relative to dirfd, a real host directory: the host does it.
        hp, dfd = path, _dirfd_host(k, dirfd)
        h = _host_openat2(dfd, hp, hflags, mode, res)
        return _install(k, h, flags, path)
    return _open(k, dirfd, path, flags, mode,
                 lambda hp, dfd: _host_openat2(abi.AT_FDCWD if dfd is None else dfd,
                                               hp, hflags, mode, res))


def _host_openat2(dfd, path, hflags, mode, res):
    how = struct.pack("<QQQ", hflags, mode, res)
    return _libc_call(_libc.syscall(ctypes.c_long(_HOST_NR_OPENAT2), ctypes.c_int(dfd),
                                    ctypes.c_char_p(path), ctypes.c_char_p(how),
                                    ctypes.c_size_t(len(how))))


# -- stat ----------------------------------------------------------------------------
def _write_stat(k, buf, st):
    write_struct(k.mem, buf, abi.stat_from_host(st))
    return 0


def sys_fstat(k, fd, buf):
    return _write_stat(k, buf, os.fstat(k.fds.host(fd)))


def sys_newfstatat(k, dirfd, pathname, buf, flags):
    _check_flags(flags, abi.AT_SYMLINK_NOFOLLOW | abi.AT_NO_AUTOMOUNT | abi.AT_EMPTY_PATH)
    k.mem.check(buf, ctypes.sizeof(abi.Stat), write=True)
    path = read_path(k.mem, pathname)
    if not path and flags & abi.AT_EMPTY_PATH:
        h = _dirfd_host(k, dirfd)
        return _write_stat(k, buf, os.stat(".") if h == abi.AT_FDCWD else os.fstat(h))
    hp, dfd = resolve(k, dirfd, path, not flags & abi.AT_SYMLINK_NOFOLLOW)
    return _write_stat(k, buf, os.stat(hp, dir_fd=dfd,
                                       follow_symlinks=not flags & abi.AT_SYMLINK_NOFOLLOW))


def sys_statx(k, dirfd, pathname, flags, mask, buf):
    # struct statx is arch-independent: let the host kernel fill it.
    _check_flags(flags, abi.AT_SYMLINK_NOFOLLOW | abi.AT_NO_AUTOMOUNT | abi.AT_EMPTY_PATH
                 | abi.AT_STATX_SYNC_TYPE)
    path = read_path(k.mem, pathname)
    out = OutBuffer(k.mem, buf, abi.STATX_SIZE)
    host_buf = ctypes.create_string_buffer(abi.STATX_SIZE)
    if not path and flags & abi.AT_EMPTY_PATH:
        hp, dfd = b"", _dirfd_host(k, dirfd)
    else:
        hp, dfd = resolve(k, dirfd, path, not flags & abi.AT_SYMLINK_NOFOLLOW)
        dfd = abi.AT_FDCWD if dfd is None else dfd
    _libc_call(_libc.statx(dfd, hp, ctypes.c_int(s32(flags)), ctypes.c_uint(mask & 0xFFFFFFFF),
                           host_buf))
    out.view[:] = host_buf.raw
    out.commit(abi.STATX_SIZE)
    return 0


def _statfs(k, buf, call, target):
    # struct statfs has the same 120-byte layout on arm64 and x86-64 (abi.Statfs).
    k.mem.check(buf, ctypes.sizeof(abi.Statfs), write=True)
    host_buf = ctypes.create_string_buffer(ctypes.sizeof(abi.Statfs))
    _libc_call(call(target, host_buf))
    k.mem.write(buf, host_buf.raw)
    return 0


def sys_statfs(k, pathname, buf):
    hp, _ = resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))
    return _statfs(k, buf, _libc.statfs, hp)


def sys_fstatfs(k, fd, buf):
    return _statfs(k, buf, _libc.fstatfs, k.fds.host(fd))


# -- links and names -------------------------------------------------------------------
def sys_readlinkat(k, dirfd, pathname, buf, bufsiz):
    bufsiz = s32(bufsiz)
    if bufsiz <= 0:
        raise SyscallError(abi.EINVAL)
    path = read_path(k.mem, pathname)
    target = procfs.readlink(k, path) if path.startswith(b"/proc/") else None
    if target is None:
        if not path:
            target = os.readlink(b"", dir_fd=k.fds.host(dirfd))
        else:
            hp, dfd = resolve(k, dirfd, path, follow=False)
            target = os.readlink(hp, dir_fd=dfd)
    target = target[:bufsiz]
    k.mem.write(buf, target)
    return len(target)


def sys_faccessat2(k, dirfd, pathname, mode, flags):
    _check_flags(flags, abi.AT_EACCESS | abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH)
    if mode & ~7:
        raise SyscallError(abi.EINVAL)
    path = read_path(k.mem, pathname)
    if not path and flags & abi.AT_EMPTY_PATH:
        hp, dfd = b"", _dirfd_host(k, dirfd)
    else:
        hp, dfd = resolve(k, dirfd, path, not flags & abi.AT_SYMLINK_NOFOLLOW)
        dfd = abi.AT_FDCWD if dfd is None else dfd
    return _libc_call(_libc.faccessat(dfd, hp, s32(mode), s32(flags)))


def sys_faccessat(k, dirfd, pathname, mode):
    return sys_faccessat2(k, dirfd, pathname, mode, 0)


def sys_mkdirat(k, dirfd, pathname, mode):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname), follow=False)
    os.mkdir(hp, mode & 0o7777, dir_fd=dfd)
    return 0


def sys_mknodat(k, dirfd, pathname, mode, dev):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname), follow=False)
    fmt = mode & 0o170000
    if fmt == 0:
        mode |= _stat.S_IFREG
    elif fmt not in (_stat.S_IFREG, _stat.S_IFCHR, _stat.S_IFBLK, _stat.S_IFIFO, _stat.S_IFSOCK):
        raise SyscallError(abi.EINVAL)
    os.mknod(hp, mode & 0o177777, dev & 0xFFFFFFFF, dir_fd=dfd)
    return 0


def sys_unlinkat(k, dirfd, pathname, flags):
    _check_flags(flags, abi.AT_REMOVEDIR)
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname), follow=False)
    (os.rmdir if flags & abi.AT_REMOVEDIR else os.unlink)(hp, dir_fd=dfd)
    return 0


def sys_renameat2(k, olddirfd, oldpath, newdirfd, newpath, flags):
    ohp, odfd = _at(k, olddirfd, oldpath, follow=False)
    nhp, ndfd = _at(k, newdirfd, newpath, follow=False)
    return _libc_call(_libc.renameat2(odfd, ohp, ndfd, nhp, ctypes.c_uint(flags & 0xFFFFFFFF)))


def sys_renameat(k, olddirfd, oldpath, newdirfd, newpath):
    return sys_renameat2(k, olddirfd, oldpath, newdirfd, newpath, 0)


def sys_symlinkat(k, target, newdirfd, linkpath):
    tgt = read_path(k.mem, target)
    hp, dfd = resolve(k, newdirfd, read_path(k.mem, linkpath), follow=False)
    if not tgt:
        raise SyscallError(abi.ENOENT)
    os.symlink(tgt, hp, dir_fd=dfd)          # the target is stored as the guest wrote it
    return 0


def sys_linkat(k, olddirfd, oldpath, newdirfd, newpath, flags):
    _check_flags(flags, abi.AT_SYMLINK_FOLLOW | abi.AT_EMPTY_PATH)
    old = read_path(k.mem, oldpath)
    if not old and flags & abi.AT_EMPTY_PATH:
        ohp, odfd = b"", _dirfd_host(k, olddirfd)
    else:
        ohp, odfd = resolve(k, olddirfd, old, bool(flags & abi.AT_SYMLINK_FOLLOW))
        odfd = abi.AT_FDCWD if odfd is None else odfd
    nhp, ndfd = _at(k, newdirfd, newpath, follow=False)
    return _libc_call(_libc.linkat(odfd, ohp, ndfd, nhp, s32(flags)))


# -- attributes ------------------------------------------------------------------------
def sys_fchmod(k, fd, mode):
    os.fchmod(k.fds.host(fd), mode & 0o7777)
    return 0


def sys_fchmodat(k, dirfd, pathname, mode):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname))
    os.chmod(hp, mode & 0o7777, dir_fd=dfd)
    return 0


def sys_fchown(k, fd, uid, gid):
    os.fchown(k.fds.host(fd), s32(uid), s32(gid))
    return 0


def sys_fchownat(k, dirfd, pathname, uid, gid, flags):
    _check_flags(flags, abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH)
    path = read_path(k.mem, pathname)
    if not path and flags & abi.AT_EMPTY_PATH:
        h = _dirfd_host(k, dirfd)
        if h == abi.AT_FDCWD:
            os.chown(".", s32(uid), s32(gid))
        else:
            os.fchown(h, s32(uid), s32(gid))
        return 0
    follow = not flags & abi.AT_SYMLINK_NOFOLLOW
    hp, dfd = resolve(k, dirfd, path, follow)
    os.chown(hp, s32(uid), s32(gid), dir_fd=dfd, follow_symlinks=follow)
    return 0


def sys_utimensat(k, dirfd, pathname, times, flags):
    _check_flags(flags, abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH)
    ts = ctypes.create_string_buffer(k.mem.read(times, 32), 32) if times else None
    if pathname == 0:
        # utimensat(fd, NULL, ...) is futimens(fd); Linux rejects NOFOLLOW here.
        if flags & abi.AT_SYMLINK_NOFOLLOW:
            raise SyscallError(abi.EINVAL)
        h = _dirfd_host(k, dirfd)         # (glibc's wrapper refuses NULL: raw syscall)
        return _libc_call(_libc.syscall(ctypes.c_long(_HOST_NR_UTIMENSAT), ctypes.c_int(h),
                                        None, ts, ctypes.c_int(0)))
    path = read_path(k.mem, pathname)
    if not path and flags & abi.AT_EMPTY_PATH:
        hp, dfd = b"", _dirfd_host(k, dirfd)
    else:
        hp, dfd = resolve(k, dirfd, path, not flags & abi.AT_SYMLINK_NOFOLLOW)
        dfd = abi.AT_FDCWD if dfd is None else dfd
    return _libc_call(_libc.utimensat(dfd, hp, ts, s32(flags)))


def sys_ftruncate(k, fd, length):
    os.ftruncate(k.fds.host(fd), s64(length))
    return 0


def sys_truncate(k, pathname, length):
    os.truncate(resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))[0], s64(length))
    return 0


def sys_fallocate(k, fd, mode, offset, length):
    return _libc_call(_libc.fallocate(k.fds.host(fd), s32(mode), s64(offset), s64(length)))


def sys_fsync(k, fd):
    os.fsync(k.fds.host(fd))
    return 0


def sys_fdatasync(k, fd):
    os.fdatasync(k.fds.host(fd))
    return 0


def sys_sync(k):
    os.sync()
    return 0


def sys_syncfs(k, fd):
    return _libc_call(_libc.syncfs(k.fds.host(fd)))


def sys_sync_file_range(k, fd, offset, nbytes, flags):
    return _libc_call(_libc.sync_file_range(k.fds.host(fd), s64(offset), s64(nbytes),
                                            flags & 0xFFFFFFFF))


def sys_fadvise64(k, fd, offset, length, advice):
    os.posix_fadvise(k.fds.host(fd), s64(offset), s64(length), s32(advice))
    return 0


def sys_readahead(k, fd, offset, count):
    return _libc_call(_libc.readahead(k.fds.host(fd), s64(offset), count))


def sys_umask(k, mask):
    return os.umask(mask & 0o777)


# -- extended attributes (arch-independent: the host's answers) ----------------------------
def _xattr_target(k, which, pathname_or_fd, follow):
    if which == "f":
        return k.fds.host(pathname_or_fd), True
    hp, _ = resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname_or_fd), follow)
    return hp, follow


def _xattr_name(k, name):
    n = read_path(k.mem, name, 256)
    if not n or len(n) > 255:
        raise SyscallError(abi.ERANGE)
    return n


def _give(k, buf, size, data):
    if size == 0:
        return len(data)
    if len(data) > size:
        raise SyscallError(abi.ERANGE)
    k.mem.write(buf, data)
    return len(data)


def _getxattr(which, follow):
    def handler(k, target, name, value, size):
        t, fl = _xattr_target(k, which, target, follow)
        return _give(k, value, size, os.getxattr(t, _xattr_name(k, name), follow_symlinks=fl))
    return handler


def _setxattr(which, follow):
    def handler(k, target, name, value, size, flags):
        t, fl = _xattr_target(k, which, target, follow)
        if size > 65536:
            raise SyscallError(abi.E2BIG)
        os.setxattr(t, _xattr_name(k, name), bytes(in_view(k.mem, value, size)), s32(flags),
                    follow_symlinks=fl)
        return 0
    return handler


def _listxattr(which, follow):
    def handler(k, target, lst, size):
        t, fl = _xattr_target(k, which, target, follow)
        names = b"".join(os.fsencode(n) + b"\0" for n in os.listxattr(t, follow_symlinks=fl))
        return _give(k, lst, size, names)
    return handler


def _removexattr(which, follow):
    def handler(k, target, name):
        t, fl = _xattr_target(k, which, target, follow)
        os.removexattr(t, _xattr_name(k, name), follow_symlinks=fl)
        return 0
    return handler


sys_getxattr, sys_lgetxattr, sys_fgetxattr = \
    _getxattr("p", True), _getxattr("p", False), _getxattr("f", True)
sys_setxattr, sys_lsetxattr, sys_fsetxattr = \
    _setxattr("p", True), _setxattr("p", False), _setxattr("f", True)
sys_listxattr, sys_llistxattr, sys_flistxattr = \
    _listxattr("p", True), _listxattr("p", False), _listxattr("f", True)
sys_removexattr, sys_lremovexattr, sys_fremovexattr = \
    _removexattr("p", True), _removexattr("p", False), _removexattr("f", True)


# -- directories ---------------------------------------------------------------------------
def sys_getcwd(k, buf, size):
    cwd = guest_cwd(k) + b"\0"
    if len(cwd) > size:
        raise SyscallError(abi.ERANGE)
    k.mem.write(buf, cwd)
    return len(cwd)


def sys_chdir(k, pathname):
    os.chdir(resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))[0])
    return 0


def sys_fchdir(k, fd):
    os.fchdir(k.fds.host(fd))
    return 0


def sys_chroot(k, pathname):
    """Emulated: the directory becomes the guest's root (path.py walks in it)."""
    hp, dfd = resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))
    if not _stat.S_ISDIR(os.stat(hp).st_mode):
        raise SyscallError(abi.ENOTDIR)
    if os.geteuid() != 0:
        raise SyscallError(abi.EPERM)
    k.rootfs = os.path.abspath(os.fsdecode(hp))
    return 0


@partial("always EPERM: mounting needs privileges the guest does not get")
def sys_mount(k, *args):
    """Mounting needs privileges the guest does not get."""
    raise SyscallError(abi.EPERM)


def _dtype(entry):
    if entry.is_symlink():
        return abi.DT_LNK
    if entry.is_dir(follow_symlinks=False):
        return abi.DT_DIR
    if entry.is_file(follow_symlinks=False):
        return abi.DT_REG
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return abi.DT_UNKNOWN
    return {_stat.S_IFCHR: abi.DT_CHR, _stat.S_IFBLK: abi.DT_BLK, _stat.S_IFIFO: abi.DT_FIFO,
            _stat.S_IFSOCK: abi.DT_SOCK}.get(_stat.S_IFMT(mode), abi.DT_UNKNOWN)


def _list_dir(h):
    if not _stat.S_ISDIR(os.fstat(h).st_mode):
        raise SyscallError(abi.ENOTDIR)
    entries = [(os.fstat(h).st_ino, abi.DT_DIR, b"."),
               (os.stat(b"..", dir_fd=h).st_ino, abi.DT_DIR, b"..")]
    with os.scandir(h) as it:      # works on a dup of h and rewinds it
        for e in it:
            entries.append((e.inode(), _dtype(e), os.fsencode(e.name)))
    return entries


def sys_getdents64(k, fd, dirp, count):
    f = k.fds.get(fd)
    if f.dirents is None:
        f.dirents = f.lister() if f.lister is not None else _list_dir(f.host)
    out = bytearray()
    pos = f.dirpos
    while pos < len(f.dirents):
        ino, dtype, name = f.dirents[pos]
        reclen = (abi.DIRENT64_HEADER + len(name) + 1 + 7) & ~7
        if len(out) + reclen > count:
            break
        rec = struct.pack("<QqHB", ino, pos + 1, reclen, dtype) + name
        out += rec + bytes(reclen - len(rec))
        pos += 1
    if not out and pos < len(f.dirents):
        raise SyscallError(abi.EINVAL)
    k.mem.write(dirp, bytes(out))
    f.dirpos = pos
    return len(out)
