"""Host I/O calls a signal can interrupt: read(v) and write(v) through libc.

Owns: readv/writev on host descriptors that return EINTR to the caller when a signal (emu's
KICK, or a host signal) interrupts them, as the kernel layer needs to deliver a guest signal
to a thread blocked in a read or write.  Python's os.read/os.readv/os.write/os.writev retry
on EINTR by themselves (PEP 475), so a guest thread blocked in one of them could never be
interrupted.  The GIL is released during the call (ctypes), and a call that transferred
bytes before the signal returns that count, as Linux does.
Does not own: which guest buffers are passed (kernel/fd.py, kernel/uaccess.py).
"""
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.readv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.readv.restype = ctypes.c_ssize_t
_libc.writev.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.writev.restype = ctypes.c_ssize_t
IOV_MAX = 1024


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _iovecs(bufs):
    """A host iovec array for buffers (writable memoryviews, or read-only bytes-likes);
    returns (array, keep-alive list)."""
    arr = (_Iovec * max(len(bufs), 1))()
    keep = []
    for i, b in enumerate(bufs):
        n = len(b)
        if not n:
            continue
        try:
            c = (ctypes.c_char * n).from_buffer(b)
        except TypeError:                       # read-only: a private copy
            c = ctypes.create_string_buffer(bytes(b), n)
        keep.append(c)
        arr[i].base, arr[i].len = ctypes.addressof(c), n
    return arr, keep


def _call(fn, fd, bufs):
    arr, keep = _iovecs(bufs)
    n = fn(fd, arr, len(bufs))
    if n < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    del keep
    return n


def readv(fd, bufs):
    """readv(2) into writable buffers; OSError(EINTR) when a signal interrupts it."""
    return _call(_libc.readv, fd, bufs[:IOV_MAX]) if bufs else 0


def writev(fd, bufs):
    """writev(2) from buffers; OSError(EINTR) when a signal interrupts it."""
    return _call(_libc.writev, fd, bufs[:IOV_MAX]) if bufs else 0
