"""Sockets (family `net`): host sockets behind guest descriptors.

Owns: socket, socketpair, bind, listen, accept/accept4, connect, getsockname/getpeername,
sendto/recvfrom, setsockopt/getsockopt, shutdown.  The calls go to the host on the host fd:
struct sockaddr, the SOCK_* type flags and the common option values and structures (int,
struct linger, struct timeval) are the same on AArch64 and x86-64.  AF_UNIX addresses carry
paths: an absolute guest path is looked up in the guest root (-L) like any other path on the
way in, and a host path inside the root is shown as the guest path on the way out; abstract
names and relative paths pass unchanged (the host's current directory is the guest's).
bash asks getpeername(0) at start-up whether stdin is a network connection (and reads
~/.bashrc as if started by sshd on unexpected errors): files and pipes give ENOTSOCK, as on
Linux.  Blocking calls (accept, connect, recvfrom) run with the GIL released.
Does not own: sendmsg/recvmsg, sendmmsg/recvmmsg (ENOSYS: control messages would need fd
translation), descriptors (fd.py).
"""
import ctypes
import os

from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import OutBuffer, in_view, s32

_libc = ctypes.CDLL(None, use_errno=True)
_SOCKADDR_MAX = 128        # sizeof(struct sockaddr_storage)
_AF_UNIX = 1
_SUN_PATH = 108
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000      # = O_NONBLOCK, O_CLOEXEC on both
_HOST_SOCK_CLOEXEC = 0o2000000

for _f, _args in (("socket", [ctypes.c_int] * 3),
                  ("socketpair", [ctypes.c_int] * 3 + [ctypes.c_void_p]),
                  ("bind", [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]),
                  ("connect", [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]),
                  ("listen", [ctypes.c_int, ctypes.c_int]),
                  ("accept4", [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]),
                  ("shutdown", [ctypes.c_int, ctypes.c_int]),
                  ("sendto", [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                              ctypes.c_char_p, ctypes.c_uint32]),
                  ("recvfrom", [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                ctypes.c_void_p, ctypes.c_void_p]),
                  ("setsockopt", [ctypes.c_int] * 3 + [ctypes.c_char_p, ctypes.c_uint32]),
                  ("getsockopt", [ctypes.c_int] * 3 + [ctypes.c_void_p, ctypes.c_void_p])):
    getattr(_libc, _f).argtypes = _args
_libc.sendto.restype = _libc.recvfrom.restype = ctypes.c_ssize_t


def _check(r):
    if r < 0:
        raise SyscallError(ctypes.get_errno())
    return r


def _addr_in(k, addr, addrlen):
    """A guest sockaddr -> host bytes (AF_UNIX absolute paths looked up in the guest root)."""
    addrlen &= 0xFFFFFFFF
    if addrlen > _SOCKADDR_MAX or addrlen & 0x80000000:
        raise SyscallError(abi.EINVAL)
    raw = k.mem.read(addr, addrlen) if addrlen else b""
    if len(raw) > 2 and int.from_bytes(raw[:2], "little") == _AF_UNIX and raw[2:3] == b"/":
        path = raw[2:].split(b"\0", 1)[0]
        if k.rootfs_b:
            from kernel.path import resolve
            host, _ = resolve(k, abi.AT_FDCWD, path, True)
            if len(host) >= _SUN_PATH:
                raise SyscallError(abi.ENAMETOOLONG)
            raw = raw[:2] + host + b"\0"
    return raw


def _addr_out(k, raw):
    """Host sockaddr bytes -> what the guest sees (AF_UNIX host paths in the root re-named)."""
    if len(raw) > 2 and int.from_bytes(raw[:2], "little") == _AF_UNIX and raw[2:3] == b"/" \
            and k.rootfs_b:
        from kernel.path import to_guest
        path = raw[2:].split(b"\0", 1)[0]
        raw = raw[:2] + to_guest(k, path) + b"\0"
    return raw


def _put_addr(k, addr, addrlen_ptr, raw):
    if not addr:
        return
    guest_len = k.mem.read_u32(addrlen_ptr)
    if guest_len & 0x80000000:
        raise SyscallError(abi.EINVAL)
    k.mem.write(addr, raw[:guest_len])
    k.mem.write_u32(addrlen_ptr, len(raw))


def _name(k, call, fd, addr, addrlen_ptr):
    host = k.fds.host(fd)
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    if call(host, buf, ctypes.byref(length)) < 0:      # ENOTSOCK first, as Linux checks
        raise SyscallError(ctypes.get_errno())
    guest_len = k.mem.read_u32(addrlen_ptr)
    if guest_len & 0x80000000:
        raise SyscallError(abi.EINVAL)
    raw = _addr_out(k, buf.raw[:min(length.value, _SOCKADDR_MAX)])
    k.mem.write(addr, raw[:guest_len])
    k.mem.write_u32(addrlen_ptr, len(raw) if raw != buf.raw[:length.value] else length.value)
    return 0


def sys_getsockname(k, fd, addr, addrlen):
    return _name(k, _libc.getsockname, fd, addr, addrlen)


def sys_getpeername(k, fd, addr, addrlen):
    return _name(k, _libc.getpeername, fd, addr, addrlen)


def sys_socket(k, domain, type_, protocol):
    type_ = s32(type_)
    h = _check(_libc.socket(s32(domain), (type_ & ~SOCK_CLOEXEC) | _HOST_SOCK_CLOEXEC,
                            s32(protocol)))
    return k.fds.install(h, bool(type_ & SOCK_CLOEXEC), b"socket:")


def sys_socketpair(k, domain, type_, protocol, sv):
    type_ = s32(type_)
    k.mem.check(sv, 8, write=True)
    pair = (ctypes.c_int * 2)()
    _check(_libc.socketpair(s32(domain), (type_ & ~SOCK_CLOEXEC) | _HOST_SOCK_CLOEXEC,
                            s32(protocol), pair))
    cloexec = bool(type_ & SOCK_CLOEXEC)
    a = k.fds.install(pair[0], cloexec, b"socket:")
    b = k.fds.install(pair[1], cloexec, b"socket:")
    k.mem.write(sv, a.to_bytes(4, "little") + b.to_bytes(4, "little"))
    return 0


def sys_bind(k, fd, addr, addrlen):
    h = k.fds.host(fd)
    raw = _addr_in(k, addr, addrlen)
    return _check(_libc.bind(h, raw, len(raw)))


def sys_connect(k, fd, addr, addrlen):
    h = k.fds.host(fd)
    raw = _addr_in(k, addr, addrlen)
    return _check(_libc.connect(h, raw, len(raw)))


def sys_listen(k, fd, backlog):
    return _check(_libc.listen(k.fds.host(fd), s32(backlog)))


def sys_accept4(k, fd, addr, addrlen_ptr, flags):
    h = k.fds.host(fd)
    flags = s32(flags)
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise SyscallError(abi.EINVAL)
    if addr:
        k.mem.check(addrlen_ptr, 4, write=True)
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    nh = _check(_libc.accept4(h, buf, ctypes.byref(length),
                              (flags & ~SOCK_CLOEXEC) | _HOST_SOCK_CLOEXEC))
    g = k.fds.install(nh, bool(flags & SOCK_CLOEXEC), b"socket:")
    _put_addr(k, addr, addrlen_ptr, _addr_out(k, buf.raw[:min(length.value, _SOCKADDR_MAX)]))
    return g


def sys_accept(k, fd, addr, addrlen_ptr):
    return sys_accept4(k, fd, addr, addrlen_ptr, 0)


def sys_shutdown(k, fd, how):
    return _check(_libc.shutdown(k.fds.host(fd), s32(how)))


def sys_sendto(k, fd, buf, length, flags, addr, addrlen):
    h = k.fds.host(fd)
    data = in_view(k.mem, buf, min(length, abi.MAX_RW_COUNT))
    raw = _addr_in(k, addr, addrlen) if addr else None
    cbuf = (ctypes.c_char * len(data)).from_buffer_copy(data) if len(data) else None
    return _check(_libc.sendto(h, cbuf, len(data), s32(flags), raw, len(raw) if raw else 0))


def sys_recvfrom(k, fd, buf, length, flags, addr, addrlen_ptr):
    h = k.fds.host(fd)
    out = OutBuffer(k.mem, buf, min(length, abi.MAX_RW_COUNT))
    if addr:
        k.mem.check(addrlen_ptr, 4, write=True)
    tmp = ctypes.create_string_buffer(max(out.length, 1))
    name = ctypes.create_string_buffer(_SOCKADDR_MAX)
    nlen = ctypes.c_uint32(_SOCKADDR_MAX)
    n = _check(_libc.recvfrom(h, tmp, out.length, s32(flags), name if addr else None,
                              ctypes.byref(nlen) if addr else None))
    got = min(n, out.length)
    out.view[:got] = tmp.raw[:got]
    out.commit(got)
    if addr:
        _put_addr(k, addr, addrlen_ptr, _addr_out(k, name.raw[:min(nlen.value, _SOCKADDR_MAX)]))
    return n


@partial("options passed to the host as bytes (int, linger, timeval: the same layouts)")
def sys_setsockopt(k, fd, level, name, val, vlen):
    h = k.fds.host(fd)
    vlen &= 0xFFFFFFFF
    if vlen > 4096:
        raise SyscallError(abi.EINVAL)
    raw = k.mem.read(val, vlen) if vlen else b""
    return _check(_libc.setsockopt(h, s32(level), s32(name), raw, vlen))


@partial("options passed to the host as bytes (int, linger, timeval: the same layouts)")
def sys_getsockopt(k, fd, level, name, val, vlen_ptr):
    h = k.fds.host(fd)
    want = k.mem.read_u32(vlen_ptr)
    if want & 0x80000000:
        raise SyscallError(abi.EINVAL)
    want = min(want, 4096)
    buf = ctypes.create_string_buffer(max(want, 1))
    length = ctypes.c_uint32(want)
    _check(_libc.getsockopt(h, s32(level), s32(name), buf, ctypes.byref(length)))
    k.mem.write(val, buf.raw[:min(length.value, want)])
    k.mem.write_u32(vlen_ptr, length.value)
    return 0
