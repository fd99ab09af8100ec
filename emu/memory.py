"""Guest memory: one host reservation, host address = base + guest address.

Owns: the host reservation for the whole guest address space, the per-page
flags table that compiled loads and stores check inline, committing and
releasing host pages, and byte access from Python (read/write/strings).
Does not own: which guest ranges are mapped and why (the VMA list lives in
kernel/vma.py), nor translation invalidation (the runtime does that when a
page loses PAGE_CODE).
"""
import ctypes
import ctypes.util
import mmap as _mmap

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1
ADDR_BITS = 40                      # guest addresses below 2**40 are valid
ADDR_LIMIT = 1 << ADDR_BITS
NPAGES = ADDR_LIMIT >> PAGE_SHIFT

# Page flag bits, shared with the lifter (translator/ir.py reads them).
PAGE_READ = 1
PAGE_WRITE = 2
PAGE_EXEC = 4
PAGE_CODE = 8                       # translated code exists for this page

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                       ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
_libc.memset.restype = ctypes.c_void_p

_MAP_PRIVATE = 0x02
_MAP_FIXED = 0x10
_MAP_ANON = 0x20
_MAP_NORESERVE = 0x4000
_MADV_DONTNEED = 4
_MAP_FAILED = ctypes.c_void_p(-1).value


class GuestFault(Exception):
    """A Python-side access touched a guest page without the needed right."""

    def __init__(self, addr, write):
        super().__init__(f"guest fault at {addr:#x} ({'write' if write else 'read'})")
        self.addr = addr
        self.write = write


def _host_mmap(addr, length, prot, flags):
    p = _libc.mmap(addr, length, prot, flags, -1, 0)
    if p is None or p == _MAP_FAILED:
        raise OSError(ctypes.get_errno(), "mmap of guest reservation failed")
    return p


def page_floor(a):
    return a & ~PAGE_MASK


def page_ceil(a):
    return (a + PAGE_MASK) & ~PAGE_MASK


class GuestMemory:
    """The guest's address space as host memory plus a page flags table."""

    def __init__(self):
        self.base = _host_mmap(None, ADDR_LIMIT, 0,
                               _MAP_PRIVATE | _MAP_ANON | _MAP_NORESERVE)
        # One extra guard entry (always 0) at index NPAGES: compiled code
        # clamps the page index with umin instead of a range check.
        self.flags_addr = _host_mmap(None, NPAGES + PAGE_SIZE, _mmap.PROT_READ | _mmap.PROT_WRITE,
                                     _MAP_PRIVATE | _MAP_ANON | _MAP_NORESERVE)
        self.flags = (ctypes.c_uint8 * NPAGES).from_address(self.flags_addr)
        # Called with (first_page, last_page) when pages holding translated
        # code lose it (unmap, protect, overwrite); set by the runtime.
        self.on_code_change = None
        # Pages with PAGE_CODE set (kept by the translator through mark_code).
        self.code_pages = set()

    def mark_code(self, page):
        self.code_pages.add(page)
        self.flags[page] |= PAGE_CODE

    def unmark_code(self, page):
        self.code_pages.discard(page)
        self.flags[page] &= ~PAGE_CODE

    # -- mapping (used by kernel/vma.py) -------------------------------------
    def commit(self, addr, length, prot):
        """Back [addr, addr+length) with zeroed host pages and set flags."""
        self._check_range(addr, length)
        _host_mmap(self.base + addr, length, _mmap.PROT_READ | _mmap.PROT_WRITE,
                   _MAP_PRIVATE | _MAP_ANON | _MAP_FIXED | _MAP_NORESERVE)
        self._drop_code(addr, length)
        self.set_prot(addr, length, prot)

    def release(self, addr, length):
        """Unmap: pages become inaccessible and their contents are dropped."""
        self._check_range(addr, length)
        self._drop_code(addr, length)
        _host_mmap(self.base + addr, length, 0,
                   _MAP_PRIVATE | _MAP_ANON | _MAP_FIXED | _MAP_NORESERVE)
        first = addr >> PAGE_SHIFT
        _libc.memset(self.flags_addr + first, 0, length >> PAGE_SHIFT)

    def zero(self, addr, length):
        """MADV_DONTNEED on private anonymous memory: contents read as zero."""
        self._drop_code(addr, length)
        _libc.madvise(self.base + addr, length, _MADV_DONTNEED)

    def set_prot(self, addr, length, prot):
        """Set the guest-visible rights of committed pages."""
        bits = ((PAGE_READ if prot & (PROT_READ | PROT_EXEC) else 0)
                | (PAGE_WRITE if prot & PROT_WRITE else 0)
                | (PAGE_EXEC if prot & PROT_EXEC else 0))
        first = addr >> PAGE_SHIFT
        n = length >> PAGE_SHIFT
        if not (prot & PROT_EXEC):
            self._drop_code(addr, length)
        _libc.memset(self.flags_addr + first, bits, n)
        for p in self._code_pages_in(first, first + n - 1):
            self.flags[p] |= PAGE_CODE

    def _code_pages_in(self, first, last):
        if last - first < 64:
            return [p for p in range(first, last + 1) if p in self.code_pages]
        # Another guest thread's translation may add pages meanwhile: scan a snapshot
        # (tuple() copies the set in one step under the GIL; iterating the set itself
        # raised "Set changed size during iteration" when the JVM mmapped while translating).
        return [p for p in tuple(self.code_pages) if first <= p <= last]

    def _drop_code(self, addr, length):
        first = addr >> PAGE_SHIFT
        last = (addr + length - 1) >> PAGE_SHIFT
        pages = self._code_pages_in(first, last)
        if pages:
            if self.on_code_change is not None:
                for p in pages:
                    self.on_code_change(p, p)
            for p in pages:
                self.flags[p] &= ~PAGE_CODE
                self.code_pages.discard(p)

    @staticmethod
    def _check_range(addr, length):
        if addr & PAGE_MASK or length & PAGE_MASK or addr + length > ADDR_LIMIT:
            raise ValueError(f"bad guest range {addr:#x}+{length:#x}")

    # -- access from Python ---------------------------------------------------
    def check(self, addr, length, write=False):
        """Raise GuestFault unless the whole range has the needed right."""
        if length <= 0:
            return
        if addr < 0 or addr + length > ADDR_LIMIT:
            raise GuestFault(addr, write)
        need = PAGE_WRITE if write else PAGE_READ
        flags = self.flags
        for p in range(addr >> PAGE_SHIFT, ((addr + length - 1) >> PAGE_SHIFT) + 1):
            if not flags[p] & need:
                raise GuestFault(max(addr, p << PAGE_SHIFT), write)

    def is_mapped(self, addr, length=1):
        try:
            self.check(addr, length)
            return True
        except GuestFault:
            return False

    def read(self, addr, length):
        self.check(addr, length)
        return ctypes.string_at(self.base + addr, length)

    def write(self, addr, data, force=False):
        """Write bytes as the guest would; force=True ignores the W right (loader)."""
        n = len(data)
        if not n:
            return
        self.check(addr, n, write=not force)
        self._drop_code(addr & ~PAGE_MASK, page_ceil(addr + n) - (addr & ~PAGE_MASK))
        ctypes.memmove(self.base + addr, bytes(data), n)

    def read_u64(self, addr):
        return int.from_bytes(self.read(addr, 8), "little")

    def read_u32(self, addr):
        return int.from_bytes(self.read(addr, 4), "little")

    def write_u64(self, addr, value):
        self.write(addr, (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def write_u32(self, addr, value):
        self.write(addr, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    def read_cstr(self, addr, limit=1 << 16):
        """A NUL-terminated guest string (bytes, without the NUL)."""
        out = bytearray()
        while len(out) < limit:
            chunk_len = PAGE_SIZE - ((addr + len(out)) & PAGE_MASK)
            chunk = self.read(addr + len(out), chunk_len)
            i = chunk.find(b"\0")
            if i >= 0:
                out += chunk[:i]
                return bytes(out)
            out += chunk
        raise GuestFault(addr + len(out), False)

    def host_addr(self, addr):
        return self.base + addr
