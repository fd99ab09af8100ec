"""Paths and the file system: lookup, open, stat, directories.

Owns: guest path -> host path resolution (-L ROOTFS first, then the host
path, the qemu-user convention; /proc, /sys and /dev are always the host's;
/proc/self/exe is the guest executable, /proc/self/fd/N follows the guest fd
table, /proc/self/maps and /proc/self/cmdline show the guest's view), and
openat, fstat/newfstatat/statx, readlinkat, getcwd/chdir/fchdir, faccessat,
unlinkat, mkdirat, renameat2, symlinkat, linkat, fchmod(at), (f)truncate,
fsync, (f)statfs, getdents64, umask.
Does not own: the fd table or fd-level I/O (fd.py).

Known limits: absolute symlinks inside ROOTFS resolve on the host (as in
qemu-user); getcwd strips a ROOTFS prefix so the guest sees its own view.
"""
import ctypes
import os
import re
import stat as _stat
import struct

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import OutBuffer, read_path, s32, s64, write_struct

_libc = ctypes.CDLL(None, use_errno=True)
_HOST_ONLY = (b"/proc/", b"/sys/", b"/dev/")
_PROC_FD = re.compile(rb"^/proc/self/fd/(\d+)(/.*)?$")


def _libc_call(ret):
    if ret < 0:
        raise SyscallError(ctypes.get_errno())
    return ret


# -- path resolution ---------------------------------------------------------
def _proc_self(k, path):
    """Normalise /proc/<our pid>/... and /proc/thread-self/... to /proc/self/..."""
    for prefix in (b"/proc/%d/" % os.getpid(), b"/proc/thread-self/"):
        if path.startswith(prefix):
            return b"/proc/self/" + path[len(prefix):]
    return path


def host_abs(k, path):
    """An absolute guest path -> the host path to use."""
    path = _proc_self(k, path)
    if path == b"/proc/self/exe" and k.exe_path:
        return os.fsencode(k.exe_path)
    m = _PROC_FD.match(path)
    if m:
        f = k.fds.files.get(int(m.group(1)))
        if f is None:
            raise SyscallError(abi.ENOENT)
        return b"/proc/self/fd/%d%s" % (f.host, m.group(2) or b"")
    if k.rootfs and not path.startswith(_HOST_ONLY) and path not in (b"/proc", b"/sys", b"/dev"):
        cand = os.fsencode(k.rootfs) + path
        if os.path.lexists(cand):
            return cand
    return path


def resolve(k, dirfd, path):
    """(host path, host dir_fd or None) for a guest (dirfd, path) pair."""
    if not path:
        raise SyscallError(abi.ENOENT)
    if path.startswith(b"/"):
        return host_abs(k, path), None
    dirfd = s32(dirfd)
    if dirfd == abi.AT_FDCWD:
        return path, None
    return path, k.fds.host(dirfd)


def _dirfd_host(k, dirfd):
    dirfd = s32(dirfd)
    return abi.AT_FDCWD if dirfd == abi.AT_FDCWD else k.fds.host(dirfd)


def _proc_text(k, path):
    """Contents for /proc files that must show the guest's view, else None."""
    path = _proc_self(k, path)
    if path == b"/proc/self/maps":
        return k.space.maps_text().encode()
    if path == b"/proc/self/cmdline":
        return b"".join(os.fsencode(a) + b"\0" for a in k.cmdline)
    return None


# -- open / stat -------------------------------------------------------------------
def sys_openat(k, dirfd, pathname, flags, mode):
    path = read_path(k.mem, pathname)
    cloexec = bool(flags & abi.O_CLOEXEC)
    text = _proc_text(k, path) if path.startswith(b"/proc/") else None
    if text is not None:
        h = os.memfd_create("emu-proc", os.MFD_CLOEXEC)
        os.write(h, text)
        os.lseek(h, 0, os.SEEK_SET)
        return k.fds.install(h, cloexec, path)
    hp, dfd = resolve(k, dirfd, path)
    h = os.open(hp, abi.open_flags_to_host(flags) | os.O_CLOEXEC, mode & 0o7777, dir_fd=dfd)
    return k.fds.install(h, cloexec, path)


def _write_stat(k, buf, st):
    write_struct(k.mem, buf, abi.stat_from_host(st))
    return 0


def sys_fstat(k, fd, buf):
    return _write_stat(k, buf, os.fstat(k.fds.host(fd)))


def sys_newfstatat(k, dirfd, pathname, buf, flags):
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_NO_AUTOMOUNT | abi.AT_EMPTY_PATH):
        raise SyscallError(abi.EINVAL)
    path = read_path(k.mem, pathname)
    if not path and flags & abi.AT_EMPTY_PATH:
        h = _dirfd_host(k, dirfd)
        return _write_stat(k, buf, os.stat(".") if h == abi.AT_FDCWD else os.fstat(h))
    hp, dfd = resolve(k, dirfd, path)
    return _write_stat(k, buf, os.stat(hp, dir_fd=dfd,
                                       follow_symlinks=not flags & abi.AT_SYMLINK_NOFOLLOW))


def sys_statx(k, dirfd, pathname, flags, mask, buf):
    # struct statx is arch-independent: let the host kernel fill it.
    path = read_path(k.mem, pathname)
    out = OutBuffer(k.mem, buf, abi.STATX_SIZE)
    host_buf = ctypes.create_string_buffer(abi.STATX_SIZE)
    if not path and flags & abi.AT_EMPTY_PATH:
        hp, dfd = b"", _dirfd_host(k, dirfd)
    else:
        hp, dfd = resolve(k, dirfd, path)
        dfd = abi.AT_FDCWD if dfd is None else dfd
    _libc_call(_libc.statx(dfd, hp, ctypes.c_int(s32(flags)), ctypes.c_uint(mask & 0xFFFFFFFF),
                           host_buf))
    out.view[:] = host_buf.raw
    out.commit(abi.STATX_SIZE)
    return 0


def _statfs(k, buf, call, target):
    # struct statfs: 120 bytes, same layout on arm64 and x86-64 (long words).
    host_buf = ctypes.create_string_buffer(120)
    _libc_call(call(target, host_buf))
    k.mem.write(buf, host_buf.raw)
    return 0


def sys_statfs(k, pathname, buf):
    hp, _ = resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))
    return _statfs(k, buf, _libc.statfs, hp)


def sys_fstatfs(k, fd, buf):
    return _statfs(k, buf, _libc.fstatfs, k.fds.host(fd))


def sys_readlinkat(k, dirfd, pathname, buf, bufsiz):
    bufsiz = s32(bufsiz)
    if bufsiz <= 0:
        raise SyscallError(abi.EINVAL)
    path = _proc_self(k, read_path(k.mem, pathname))
    if path == b"/proc/self/exe" and k.exe_path:
        target = os.fsencode(k.exe_guest_path)
    else:
        hp, dfd = resolve(k, dirfd, path)
        target = os.readlink(hp, dir_fd=dfd)
        if path.startswith(b"/proc/self/") and target.startswith(b"/"):
            target = os.fsencode(k.guest_path(target))     # fd/N, cwd: the guest's view
    target = target[:bufsiz]
    k.mem.write(buf, target)
    return len(target)


def sys_faccessat2(k, dirfd, pathname, mode, flags):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname))
    return _libc_call(_libc.faccessat(abi.AT_FDCWD if dfd is None else dfd, hp,
                                      s32(mode), s32(flags)))


def sys_faccessat(k, dirfd, pathname, mode):
    return sys_faccessat2(k, dirfd, pathname, mode, 0)


# -- directories and names ------------------------------------------------------------
def sys_getcwd(k, buf, size):
    cwd = os.getcwdb()
    if k.rootfs:
        root = os.fsencode(k.rootfs)
        if cwd == root:
            cwd = b"/"
        elif cwd.startswith(root + b"/"):
            cwd = cwd[len(root):]
    cwd += b"\0"
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


def sys_mkdirat(k, dirfd, pathname, mode):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname))
    os.mkdir(hp, mode & 0o7777, dir_fd=dfd)
    return 0


def sys_unlinkat(k, dirfd, pathname, flags):
    if flags & ~abi.AT_REMOVEDIR:
        raise SyscallError(abi.EINVAL)
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname))
    (os.rmdir if flags & abi.AT_REMOVEDIR else os.unlink)(hp, dir_fd=dfd)
    return 0


def sys_renameat2(k, olddirfd, oldpath, newdirfd, newpath, flags):
    ohp, odfd = resolve(k, olddirfd, read_path(k.mem, oldpath))
    nhp, ndfd = resolve(k, newdirfd, read_path(k.mem, newpath))
    cwd = abi.AT_FDCWD
    return _libc_call(_libc.renameat2(cwd if odfd is None else odfd, ohp,
                                      cwd if ndfd is None else ndfd, nhp, s32(flags)))


def sys_renameat(k, olddirfd, oldpath, newdirfd, newpath):
    return sys_renameat2(k, olddirfd, oldpath, newdirfd, newpath, 0)


def sys_symlinkat(k, target, newdirfd, linkpath):
    hp, dfd = resolve(k, newdirfd, read_path(k.mem, linkpath))
    os.symlink(read_path(k.mem, target), hp, dir_fd=dfd)
    return 0


def sys_linkat(k, olddirfd, oldpath, newdirfd, newpath, flags):
    ohp, odfd = resolve(k, olddirfd, read_path(k.mem, oldpath))
    nhp, ndfd = resolve(k, newdirfd, read_path(k.mem, newpath))
    os.link(ohp, nhp, src_dir_fd=odfd, dst_dir_fd=ndfd,
            follow_symlinks=bool(flags & abi.AT_SYMLINK_FOLLOW))
    return 0


def sys_fchmod(k, fd, mode):
    os.fchmod(k.fds.host(fd), mode & 0o7777)
    return 0


def sys_fchmodat(k, dirfd, pathname, mode):
    hp, dfd = resolve(k, dirfd, read_path(k.mem, pathname))
    os.chmod(hp, mode & 0o7777, dir_fd=dfd)
    return 0


def sys_ftruncate(k, fd, length):
    os.ftruncate(k.fds.host(fd), s64(length))
    return 0


def sys_truncate(k, pathname, length):
    os.truncate(resolve(k, abi.AT_FDCWD, read_path(k.mem, pathname))[0], s64(length))
    return 0


def sys_fsync(k, fd):
    os.fsync(k.fds.host(fd))
    return 0


def sys_fdatasync(k, fd):
    os.fdatasync(k.fds.host(fd))
    return 0


def sys_umask(k, mask):
    return os.umask(mask & 0o777)


# -- getdents64 ---------------------------------------------------------------------
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
    entries = [(os.fstat(h).st_ino, abi.DT_DIR, b"."),
               (os.stat(b"..", dir_fd=h).st_ino, abi.DT_DIR, b"..")]
    with os.scandir(h) as it:      # works on a dup of h and rewinds it
        for e in it:
            entries.append((e.inode(), _dtype(e), os.fsencode(e.name)))
    return entries


def sys_getdents64(k, fd, dirp, count):
    f = k.fds.get(fd)
    if f.dirents is None:
        f.dirents = _list_dir(f.host)
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
