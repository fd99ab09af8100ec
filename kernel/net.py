"""Sockets (family `net`): so far only the calls programs make on any descriptor.

Owns: getsockname/getpeername.  bash asks getpeername(0) at start-up whether stdin is a
network connection and, on any error but ENOTSOCK/ENOTCONN/EINVAL/EBADF (ENOSYS included),
reads ~/.bashrc as if started by sshd; so these must answer like Linux even before sockets
exist here.  The host call is made on the host fd: ENOTSOCK for files and pipes, the
address for a real socket (struct sockaddr is the same on AArch64 and x86-64: a u16 family
then family-defined bytes).
Does not own: creating sockets (not implemented yet: socket() is ENOSYS).
"""
import ctypes

from kernel.errors import SyscallError

_libc = ctypes.CDLL(None, use_errno=True)
_SOCKADDR_MAX = 128        # sizeof(struct sockaddr_storage)


def _name(k, call, fd, addr, addrlen_ptr):
    host = k.fds.host(fd)
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    if call(host, buf, ctypes.byref(length)) < 0:      # ENOTSOCK first, as Linux checks
        raise SyscallError(ctypes.get_errno())
    guest_len = k.mem.read_u32(addrlen_ptr)
    if guest_len & 0x80000000:
        raise SyscallError(22)                  # EINVAL: negative length
    k.mem.write(addr, buf.raw[:min(guest_len, length.value)])
    k.mem.write_u32(addrlen_ptr, length.value)
    return 0


def sys_getsockname(k, fd, addr, addrlen):
    return _name(k, _libc.getsockname, fd, addr, addrlen)


def sys_getpeername(k, fd, addr, addrlen):
    return _name(k, _libc.getpeername, fd, addr, addrlen)
