"""The guest memory map: VMAs, address selection, brk, /proc/self/maps.

Owns: the sorted list of VMAs (start, end, prot, flags, name, file offset,
backing file) and every call to GuestMemory.commit/release/set_prot.
Mapping, unmapping (splitting VMAs), mprotect, mremap, MADV_DONTNEED, the
program break, address choice for non-fixed mappings (hint if free, else
top-down below mmap_base; hints past the 2**40 limit fall back the same
way, as Linux does for hints it cannot honour).
File-backed mappings are real host mappings of the file placed inside the
guest reservation (mmap MAP_FIXED at base + guest address): private ones
are copy-on-write and load lazily, shared ones are coherent with read(),
write() and other mappings of the file, as on Linux.  Only the pages that
hold file data are file-mapped; whole pages past the end of the file are
anonymous zero pages (Linux would raise SIGBUS there; a file truncated
under a live mapping still can make a host SIGBUS).  mremap moves pages
with the host's mremap (contents and file backing move with them), falling
back to a copy when the host refuses.
Does not own: host memory itself (emu/memory.py), syscall argument
decoding (kernel/mm.py), translation invalidation (GuestMemory reports
code-page changes to the runtime).

Failures raise SyscallError(errno).

Layout (guest addresses, all below ADDR_LIMIT = 2**40):
    0x10000 ...             static ET_EXEC images, brk heap after them
    0x55_0000_0000          PIE / static-PIE images (loader's choice)
    ... < 0x7f_0000_0000    mmap area, filled top-down (ld.so, libraries)
    STACK_TOP - 8 MiB       [stack]
"""
import bisect
import ctypes
import fcntl
import os
import threading

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mremap.restype = ctypes.c_void_p
_libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                         ctypes.c_void_p]
_libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_MAP_FAILED = ctypes.c_void_p(-1).value
_HOST_MAP_SHARED, _HOST_MAP_PRIVATE, _HOST_MAP_FIXED = 0x01, 0x02, 0x10
_HOST_MREMAP_MAYMOVE, _HOST_MREMAP_FIXED, _HOST_MREMAP_DONTUNMAP = 1, 2, 4
_HOST_MADV_REMOVE = 9

from emu.memory import ADDR_LIMIT, PAGE_MASK, page_ceil
from kernel import abi
from kernel.errors import SyscallError

MMAP_MIN = 0x10000
MMAP_BASE = 0x7F_0000_0000
STACK_TOP = 0xFF_F000_0000
STACK_SIZE = 8 << 20
_PROT_IGNORED = 0x10 | 0x20 | 0x01000000 | 0x02000000   # BTI, MTE, GROWSDOWN/UP


class Backing:
    """The file behind a mapping: its host path (reopened when a mapping
    grows in place), device and inode (for maps).  fd, a host fd owned
    here, is kept for MAP_SHARED mappings of files opened O_RDWR (so they
    can grow in place even when the path is gone); writable says whether
    the file was opened for writing (a shared mapping may become PROT_WRITE
    only then)."""
    __slots__ = ("path", "dev", "ino", "fd", "writable")

    def __init__(self, path, dev=0, ino=0, fd=None, writable=False):
        self.path, self.dev, self.ino = path, dev, ino
        self.fd, self.writable = fd, writable

    @classmethod
    def from_fd(cls, hfd, path, keep=False):
        st = os.fstat(hfd)
        acc = fcntl.fcntl(hfd, fcntl.F_GETFL) & os.O_ACCMODE
        return cls(path, st.st_dev, st.st_ino, os.dup(hfd) if keep else None,
                   acc == os.O_RDWR)


class Vma:
    __slots__ = ("start", "end", "prot", "flags", "name", "offset", "backing")

    def __init__(self, start, end, prot, flags, name="", offset=0, backing=None):
        self.start, self.end, self.prot, self.flags = start, end, prot, flags
        self.name, self.offset, self.backing = name, offset, backing

    @property
    def shared(self):
        return (self.flags & abi.MAP_TYPE) in (abi.MAP_SHARED, abi.MAP_SHARED_VALIDATE)

    def copy(self, start, end):
        off = self.offset + (start - self.start) if self.backing else 0
        return Vma(start, end, self.prot, self.flags, self.name, off, self.backing)

    def __repr__(self):
        return f"Vma({self.start:#x}-{self.end:#x} {self.perms()} {self.name!r})"

    def perms(self):
        p = self.prot
        return ("r" if p & abi.PROT_READ else "-") + ("w" if p & abi.PROT_WRITE else "-") \
            + ("x" if p & abi.PROT_EXEC else "-") + ("s" if self.shared else "p")


def _mergeable(a, b):
    if a.end != b.start or a.prot != b.prot or a.flags != b.flags or a.name != b.name:
        return False
    if a.backing is not b.backing:
        return False
    return a.backing is None or b.offset == a.offset + (a.end - a.start)


class AddressSpace:
    """The VMA list of one guest process (shared by its threads)."""

    def __init__(self, mem, mmap_base=MMAP_BASE, stack_top=STACK_TOP):
        self.mem = mem
        self.mmap_base = mmap_base
        self.stack_top = stack_top
        self.vmas = []
        self.brk_start = self.brk_cur = 0
        self.lock = threading.RLock()
        # What the loader recorded for /proc/self (Linux keeps these in mm_struct):
        # the auxiliary vector as [(type, value)], the argv/envp string areas
        # and the initial stack pointer.
        self.saved_auxv = []
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.start_stack = 0

    # -- queries -------------------------------------------------------------
    def find(self, addr):
        """The VMA containing addr, or None."""
        i = bisect.bisect_right(self.vmas, addr, key=lambda v: v.start) - 1
        if i >= 0 and self.vmas[i].end > addr:
            return self.vmas[i]
        return None

    def overlapping(self, start, end):
        """VMAs intersecting [start, end), in address order."""
        i = max(bisect.bisect_right(self.vmas, start, key=lambda v: v.start) - 1, 0)
        out = []
        for v in self.vmas[i:]:
            if v.start >= end:
                break
            if v.end > start:
                out.append(v)
        return out

    def is_free(self, start, length):
        return (start >= MMAP_MIN and start + length <= ADDR_LIMIT
                and not self.overlapping(start, start + length))

    def find_free(self, length, hint=0):
        """A free page-aligned range: hint if free, else top-down below mmap_base."""
        length = page_ceil(length)
        if hint:
            hint = page_ceil(hint)
            if self.is_free(hint, length):
                return hint
        gaps = []
        prev = MMAP_MIN
        for v in self.vmas:
            if v.start > prev:
                gaps.append((prev, v.start))
            prev = max(prev, v.end)
        gaps.append((prev, ADDR_LIMIT))
        for lo, hi in reversed(gaps):          # top-down below mmap_base
            hi = min(hi, self.mmap_base)
            if hi - lo >= length:
                return hi - length
        for lo, hi in gaps:                     # then bottom-up above it
            lo = max(lo, self.mmap_base)
            if hi - lo >= length:
                return lo
        raise SyscallError(abi.ENOMEM)

    # -- mapping -------------------------------------------------------------
    def map(self, addr, length, prot, flags, name="", fixed=False, offset=0,
            backing=None, src_fd=None):
        """Map [addr, addr+length) (or a chosen range) and return its start.

        fixed (or MAP_FIXED in flags) replaces what is there;
        MAP_FIXED_NOREPLACE fails with EEXIST instead.  With src_fd, the
        range is filled from that host fd starting at offset (bytes past the
        file's end stay zero).  backing records the file for maps/DONTNEED.
        """
        prot = self._check_prot(prot)
        if length <= 0:
            raise SyscallError(abi.EINVAL)
        length = page_ceil(length)
        noreplace = bool(flags & abi.MAP_FIXED_NOREPLACE)
        fixed = bool(fixed or flags & abi.MAP_FIXED or noreplace)
        with self.lock:
            if fixed:
                if addr & PAGE_MASK:
                    raise SyscallError(abi.EINVAL)
                if addr + length > ADDR_LIMIT:
                    raise SyscallError(abi.ENOMEM)
                if self.overlapping(addr, addr + length):
                    if noreplace:
                        raise SyscallError(abi.EEXIST)
                    self._remove(addr, addr + length)
            else:
                addr = self.find_free(length, addr)
            self.mem.commit(addr, length, prot)
            if src_fd is not None:
                shared = (flags & abi.MAP_TYPE) != abi.MAP_PRIVATE
                try:
                    self._map_file(addr, length, src_fd, offset, shared,
                                   backing is not None and backing.writable)
                except OSError as e:
                    self.mem.release(addr, length)
                    raise SyscallError(e.errno or abi.ENODEV) from None
            v = Vma(addr, addr + length, prot, flags & ~(abi.MAP_FIXED | abi.MAP_FIXED_NOREPLACE),
                    name, offset if backing else 0, backing)
            self._insert(v)
            self._merge_around(addr, addr + length)
            return addr

    def unmap(self, addr, length):
        if addr & PAGE_MASK or length <= 0 or addr + length > ADDR_LIMIT:
            raise SyscallError(abi.EINVAL)
        with self.lock:
            self._remove(addr, addr + page_ceil(length))
        return 0

    def protect(self, addr, length, prot):
        prot = self._check_prot(prot)
        if addr & PAGE_MASK:
            raise SyscallError(abi.EINVAL)
        end = addr + page_ceil(length)
        if end == addr:
            return 0
        with self.lock:
            # Like Linux, VMAs are changed in address order; a hole or a refused
            # VMA stops there with an error, and what came before stays changed.
            at, err = addr, 0
            for v in self.overlapping(addr, end):
                if v.start > at:
                    break
                if (prot & abi.PROT_WRITE and v.shared and v.backing is not None
                        and not v.backing.writable):
                    err = abi.EACCES
                    break
                at = v.end
            done = min(at, end)
            if done < end and not err:
                err = abi.ENOMEM
            if done > addr:
                self._split_at(addr)
                self._split_at(done)
                for v in self.overlapping(addr, done):
                    v.prot = prot
                self.mem.set_prot(addr, done - addr, prot)
                self._merge_around(addr, done)
            if err:
                raise SyscallError(err)
        return 0

    def dontneed(self, addr, length, shared_too=False):
        """MADV_DONTNEED: private pages go back to zero (anon) or file contents;
        shared pages keep their contents.  shared_too (MADV_REMOVE) also frees
        the file's pages under shared mappings, which then read as zero."""
        if addr & PAGE_MASK:
            raise SyscallError(abi.EINVAL)
        end = addr + page_ceil(length)
        with self.lock:
            self.require_mapped(addr, end)
            for v in self.overlapping(addr, end):
                lo, hi = max(v.start, addr), min(v.end, end)
                if v.shared:
                    if shared_too:
                        if _libc.madvise(self.mem.host_addr(lo), hi - lo, _HOST_MADV_REMOVE):
                            raise SyscallError(ctypes.get_errno())
                    continue
                self.mem.zero(lo, hi - lo)      # the host drops the pages; code is dropped
        return 0

    def remap(self, old, old_len, new_len, flags, new_addr=0):
        """mremap: shrink, grow in place, or move (MREMAP_MAYMOVE/FIXED)."""
        if old & PAGE_MASK or flags & ~(abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED | abi.MREMAP_DONTUNMAP):
            raise SyscallError(abi.EINVAL)
        if flags & (abi.MREMAP_FIXED | abi.MREMAP_DONTUNMAP) and not flags & abi.MREMAP_MAYMOVE:
            raise SyscallError(abi.EINVAL)
        old_len, new_len = page_ceil(old_len), page_ceil(new_len)
        if new_len == 0 or old_len == 0:
            raise SyscallError(abi.EINVAL)
        with self.lock:
            v = self.find(old)
            if v is None or old + old_len > v.end:
                raise SyscallError(abi.EFAULT)
            if flags & abi.MREMAP_FIXED:
                if new_addr & PAGE_MASK or (new_addr < old + old_len and old < new_addr + new_len):
                    raise SyscallError(abi.EINVAL)
                return self._move(v, old, old_len, new_len, new_addr, flags)
            if new_len <= old_len:
                if new_len < old_len:
                    self._remove(old + new_len, old + old_len)
                return old
            grow = new_len - old_len
            if old + old_len == v.end and self.is_free(v.end, grow):
                self._extend(v, old, old_len, grow)
                return old
            if not flags & abi.MREMAP_MAYMOVE:
                raise SyscallError(abi.ENOMEM)
            return self._move(v, old, old_len, new_len, None, flags)

    def sync(self, addr, length, flags=abi.MS_SYNC):
        """msync: shared file mappings are the host's page cache: the host's
        msync writes them to their files."""
        if addr & PAGE_MASK:
            raise SyscallError(abi.EINVAL)
        end = addr + page_ceil(length)
        with self.lock:
            self.require_mapped(addr, end)
            ranges = [(max(v.start, addr), min(v.end, end)) for v in self.overlapping(addr, end)
                      if v.shared and v.backing is not None]
        for lo, hi in ranges:          # disk I/O: without the lock other threads need
            if _libc.msync(self.mem.host_addr(lo), hi - lo, flags):
                raise SyscallError(ctypes.get_errno())
        return 0

    def flush(self):
        """Process exit: nothing to do, shared mappings already are the files' pages."""

    # -- brk -------------------------------------------------------------------
    def set_brk(self, start):
        self.brk_start = self.brk_cur = page_ceil(start)

    def brk(self, new):
        """Move the program break; returns the (possibly unchanged) break."""
        with self.lock:
            if new < self.brk_start or new > ADDR_LIMIT:
                return self.brk_cur
            old_top, new_top = page_ceil(self.brk_cur), page_ceil(new)
            if new_top > old_top:
                if not self.is_free(old_top, new_top - old_top):
                    return self.brk_cur
                self.map(old_top, new_top - old_top, abi.PROT_READ | abi.PROT_WRITE,
                         abi.MAP_PRIVATE | abi.MAP_ANONYMOUS, name="[heap]", fixed=True)
            elif new_top < old_top:
                self._remove(new_top, old_top)
            self.brk_cur = new
            return new

    # -- /proc/self/maps ------------------------------------------------------
    def maps_text(self):
        lines = []
        with self.lock:
            for v in self.vmas:
                dev = v.backing.dev if v.backing else 0
                ino = v.backing.ino if v.backing else 0
                line = (f"{v.start:08x}-{v.end:08x} {v.perms()} {v.offset:08x} "
                        f"{os.major(dev):02x}:{os.minor(dev):02x} {ino} ")
                if v.name:
                    line = line.ljust(73) + v.name
                lines.append(line + "\n")
        return "".join(lines)

    # -- internals -------------------------------------------------------------
    @staticmethod
    def _check_prot(prot):
        prot &= ~_PROT_IGNORED
        if prot & ~(abi.PROT_READ | abi.PROT_WRITE | abi.PROT_EXEC):
            raise SyscallError(abi.EINVAL)
        return prot

    def require_mapped(self, start, end):
        at = start
        for v in self.overlapping(start, end):
            if v.start > at:
                break
            at = v.end
        if at < end:
            raise SyscallError(abi.ENOMEM)

    def _insert(self, v):
        i = bisect.bisect_left(self.vmas, v.start, key=lambda x: x.start)
        self.vmas.insert(i, v)

    def _split_at(self, addr):
        v = self.find(addr)
        if v is None or v.start == addr:
            return
        right = v.copy(addr, v.end)
        v.end = addr
        self._insert(right)

    def _merge_around(self, start, end):
        i = max(bisect.bisect_left(self.vmas, start, key=lambda v: v.start) - 1, 0)
        while i + 1 < len(self.vmas) and self.vmas[i].start <= end:
            a, b = self.vmas[i], self.vmas[i + 1]
            if _mergeable(a, b):
                a.end = b.end
                del self.vmas[i + 1]
            else:
                i += 1

    def _remove(self, start, end):
        """Drop [start, end) from the map (splitting VMAs at the edges)."""
        self._split_at(start)
        self._split_at(end)
        gone = self.overlapping(start, end)
        for v in gone:
            self.mem.release(v.start, v.end - v.start)
        if gone:
            i = self.vmas.index(gone[0])
            del self.vmas[i:i + len(gone)]
        for b in {id(v.backing): v.backing for v in gone if v.backing and v.backing.fd is not None}.values():
            if not any(v.backing is b for v in self.vmas):
                os.close(b.fd)
                b.fd = None

    def _map_file(self, addr, length, fd, offset, shared, writable):
        """Map the file pages of [addr, addr+length) from host fd at offset.

        Committed (zeroed, flagged) pages must already be there; whole pages
        past the end of the file stay anonymous.  Raises OSError."""
        size = os.fstat(fd).st_size
        n = min(length, page_ceil(max(size - offset, 0)))
        if n <= 0:
            return
        prot = abi.PROT_READ | (abi.PROT_WRITE if writable or not shared else 0)
        p = _libc.mmap(self.mem.host_addr(addr), n, prot,
                       _HOST_MAP_FIXED | (_HOST_MAP_SHARED if shared else _HOST_MAP_PRIVATE),
                       fd, offset)
        if p is None or p == _MAP_FAILED:
            err = ctypes.get_errno()
            self.mem.commit(addr, n, abi.PROT_NONE)    # keep the reservation whole
            raise OSError(err, os.strerror(err))

    def _extend(self, v, old, old_len, grow):
        at = old + old_len
        self.mem.commit(at, grow, v.prot)
        if v.backing is not None:
            self._file_tail(v, at, grow, v.offset + (at - v.start))
        self._insert(Vma(at, at + grow, v.prot, v.flags, v.name,
                         v.offset + (at - v.start) if v.backing else 0, v.backing))
        self._merge_around(v.start, at + grow)

    def _file_tail(self, v, at, length, offset):
        """File pages for committed [at, at+length) of v's file at offset (best effort)."""
        b = v.backing
        try:
            if b.fd is not None:
                self._map_file(at, length, b.fd, offset, v.shared, b.writable)
            elif b.path:
                fd = os.open(b.path, os.O_RDWR if v.shared and b.writable else os.O_RDONLY)
                try:
                    self._map_file(at, length, fd, offset, v.shared, b.writable)
                finally:
                    os.close(fd)
        except OSError:
            self.mem.commit(at, length, v.prot)      # the file is gone: zero pages

    def _move(self, v, old, old_len, new_len, new_addr, flags):
        keep = min(old_len, new_len)
        attrs = v.copy(old, old + keep)
        if new_addr is None:
            new_addr = self.find_free(new_len)
        else:
            if new_addr + new_len > ADDR_LIMIT:
                raise SyscallError(abi.ENOMEM)
            self._remove(new_addr, new_addr + new_len)
        if self._host_move(v, old, keep, new_addr):
            # The pages (with their file backing) moved; the old range stays
            # mapped on the host (MREMAP_DONTUNMAP), so the reservation never
            # has a hole another host mapping could fall into.
            self.mem.set_prot(new_addr, keep, attrs.prot)
            if new_len > keep:
                self.mem.commit(new_addr + keep, new_len - keep, attrs.prot)
                if v.backing is not None:
                    self._file_tail(v, new_addr + keep, new_len - keep, attrs.offset + keep)
        else:
            data = ctypes.string_at(self.mem.host_addr(old), keep)
            self.mem.commit(new_addr, new_len, attrs.prot)
            ctypes.memmove(self.mem.host_addr(new_addr), data, keep)
        self._insert(Vma(new_addr, new_addr + new_len, attrs.prot, attrs.flags, attrs.name,
                         attrs.offset, attrs.backing))
        if flags & abi.MREMAP_DONTUNMAP:
            self.dontneed(old, old_len)
        else:
            self._remove(old, old + old_len)
        self._merge_around(new_addr, new_addr + new_len)
        return new_addr

    def _host_move(self, v, old, length, new_addr):
        """Move [old, old+length) to new_addr with the host's mremap; False if refused."""
        if v.shared and v.backing is None:
            return False      # shared anonymous memory: the copy below is what we can do
        p = _libc.mremap(self.mem.host_addr(old), length, length,
                         _HOST_MREMAP_MAYMOVE | _HOST_MREMAP_FIXED | _HOST_MREMAP_DONTUNMAP,
                         self.mem.host_addr(new_addr))
        return not (p is None or p == _MAP_FAILED)
