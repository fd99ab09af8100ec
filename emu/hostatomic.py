"""Host compare-and-swap on guest memory, for the kernel layer.

Owns: cas32/cas64 (x86-64 `lock cmpxchg`) on a host address, callable from
Python with the GIL released.  Guest threads run translated code in
parallel with syscall handlers, so a handler that changes a guest word
other threads use atomically (futex WAKE_OP, PI futexes, robust lists) must
do it with a host atomic, as the guest's own LDXR/STXR and LSE code does.
The two functions are a few bytes of machine code placed in one executable
page at first use: no compiler involved.  Does not own: which words need it.
"""
import ctypes
import mmap

# mov eax, esi; lock cmpxchg [rdi], edx; ret  |  mov rax, rsi; lock cmpxchg [rdi], rdx; ret
_CODE = bytes.fromhex("89f0f00fb117c3" "4889f0f0480fb117c3")
_CAS32_AT, _CAS64_AT = 0, 7

_page = None
_cas32 = _cas64 = None


def _load():
    global _page, _cas32, _cas64
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_CODE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(page))
    _cas32 = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                              ctypes.c_uint32)(base + _CAS32_AT)
    _cas64 = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64,
                              ctypes.c_uint64)(base + _CAS64_AT)
    _page = page


def cas32(host_addr, expected, new):
    """Atomically: old = *addr; if old == expected: *addr = new.  Returns old."""
    if _cas32 is None:
        _load()
    return _cas32(host_addr, expected & 0xFFFFFFFF, new & 0xFFFFFFFF)


def cas64(host_addr, expected, new):
    if _cas64 is None:
        _load()
    return _cas64(host_addr, expected & 0xFFFFFFFFFFFFFFFF, new & 0xFFFFFFFFFFFFFFFF)


def update32(host_addr, fn):
    """Atomically replace the u32 at host_addr with fn(old); returns old."""
    old = ctypes.c_uint32.from_address(host_addr).value
    while True:
        got = cas32(host_addr, old, fn(old))
        if got == old:
            return old
        old = got
