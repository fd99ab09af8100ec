"""Copying between guest memory and the kernel layer (Linux's uaccess).

Owns: argument decoding helpers (signed views of raw u64 registers), reading
and writing guest structures, strings and zero-copy buffers for host I/O.
Every helper raises GuestFault for a bad guest pointer; the dispatcher turns
that into -EFAULT.  Does not own: page rights or code invalidation
(emu/memory.py decides both).
"""
import ctypes

from emu.memory import PAGE_CODE, PAGE_SHIFT, GuestFault
from kernel import abi
from kernel.errors import SyscallError

MASK64 = (1 << 64) - 1


def s32(v):
    """A raw register as a C int."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v):
    """A raw register as a C long."""
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def read_struct(mem, addr, cls):
    return cls.from_buffer_copy(mem.read(addr, ctypes.sizeof(cls)))


def write_struct(mem, addr, obj):
    mem.write(addr, bytes(memoryview(obj).cast("B")))


def read_path(mem, addr, limit=4096):
    """A NUL-terminated path (bytes); ENAMETOOLONG past PATH_MAX."""
    if addr == 0:
        raise SyscallError(abi.EFAULT)
    try:
        return mem.read_cstr(addr, limit)
    except GuestFault as exc:      # a fault just past the limit means "too long"
        if exc.addr == addr + limit and mem.is_mapped(addr, limit):
            raise SyscallError(abi.ENAMETOOLONG) from None
        raise


def _has_code(mem, addr, length):
    flags = mem.flags
    return any(flags[p] & PAGE_CODE
               for p in range(addr >> PAGE_SHIFT, ((addr + length - 1) >> PAGE_SHIFT) + 1))


def in_view(mem, addr, length):
    """A read-only zero-copy view of guest bytes (checked readable)."""
    mem.check(addr, length, write=False)
    if length == 0:
        return b""
    return memoryview((ctypes.c_char * length).from_address(mem.host_addr(addr))).cast("B")


class OutBuffer:
    """A guest buffer a host call fills: zero-copy unless it holds code.

    Use .view for the host call, then .commit(n) with the byte count written,
    which routes through GuestMemory.write when translated code must be
    invalidated.
    """

    def __init__(self, mem, addr, length):
        mem.check(addr, length, write=True)
        self.mem, self.addr, self.length = mem, addr, length
        self.slow = length > 0 and _has_code(mem, addr, length)
        if self.slow:
            self.view = memoryview(bytearray(length))
        elif length:
            self.view = memoryview((ctypes.c_char * length).from_address(
                mem.host_addr(addr))).cast("B")
        else:
            self.view = memoryview(bytearray(0))

    def commit(self, n):
        if self.slow and n > 0:
            self.mem.write(self.addr, bytes(self.view[:n]))
        return n
