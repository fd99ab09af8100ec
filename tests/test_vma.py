"""kernel/vma.py: the VMA list over a real GuestMemory.

Checks address choice (hint, top-down, MAP_FIXED, MAP_FIXED_NOREPLACE),
splitting and merging on unmap/mprotect, page rights reaching GuestMemory,
brk, mremap, MADV_DONTNEED, file-backed fill, MAP_SHARED write-back and the
/proc/self/maps text.
"""
import ctypes
import os

import pytest

from emu.memory import ADDR_LIMIT, NPAGES, GuestFault, GuestMemory
from kernel import abi
from kernel.errors import SyscallError
from kernel.vma import MMAP_BASE, MMAP_MIN, AddressSpace, Backing

RW = abi.PROT_READ | abi.PROT_WRITE
ANON = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
PG = 4096

_libc = ctypes.CDLL(None)
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


@pytest.fixture
def mem():
    m = GuestMemory()
    yield m
    _libc.munmap(m.base, ADDR_LIMIT)          # give the 1 TiB reservation back
    _libc.munmap(m.flags_addr, NPAGES)


@pytest.fixture
def space(mem):
    return AddressSpace(mem)


def spans(space):
    return [(v.start, v.end, v.prot) for v in space.vmas]


def errno_of(fn, *args, **kw):
    with pytest.raises(SyscallError) as ei:
        fn(*args, **kw)
    return ei.value.errno


def test_top_down_below_mmap_base_and_merge(space):
    a = space.map(0, 3 * PG, RW, ANON)
    assert a == MMAP_BASE - 3 * PG
    b = space.map(0, PG, RW, ANON)
    assert b == a - PG
    # adjacent anonymous mappings with the same rights merge into one VMA
    assert spans(space) == [(b, MMAP_BASE, RW)]


def test_hint_honoured_only_when_free(space):
    a = space.map(0x1234_5000, 2 * PG, RW, ANON)
    assert a == 0x1234_5000
    b = space.map(0x1234_5000, PG, RW, ANON)      # taken: placed elsewhere
    assert b != a and not (a <= b < a + 2 * PG)
    c = space.map(0x2000_0001, PG, RW, ANON)      # unaligned hint rounds up
    assert c == 0x2000_1000


def test_map_rights_reach_guest_memory(space, mem):
    a = space.map(0, 2 * PG, abi.PROT_READ, ANON)
    assert mem.read(a, 8) == bytes(8)
    with pytest.raises(GuestFault):
        mem.write(a, b"x")
    space.protect(a, PG, RW)
    mem.write(a, b"hello")
    assert mem.read(a, 5) == b"hello"
    with pytest.raises(GuestFault):
        mem.write(a + PG, b"x")


def test_fixed_replaces_and_splits(space, mem):
    a = space.map(0x100000, 4 * PG, RW, ANON, fixed=True)
    mem.write(a, b"A" * (4 * PG))
    space.map(a + PG, PG, abi.PROT_READ, ANON | abi.MAP_FIXED)
    assert spans(space) == [(a, a + PG, RW), (a + PG, a + 2 * PG, abi.PROT_READ),
                            (a + 2 * PG, a + 4 * PG, RW)]
    assert mem.read(a + PG, 4) == bytes(4)         # replaced: fresh zero page
    assert mem.read(a, 1) == b"A" and mem.read(a + 2 * PG, 1) == b"A"


def test_fixed_noreplace_and_bad_args(space):
    a = space.map(0x100000, 2 * PG, RW, ANON, fixed=True)
    assert errno_of(space.map, a + PG, PG, RW, ANON | abi.MAP_FIXED_NOREPLACE) == abi.EEXIST
    assert space.map(a + 2 * PG, PG, RW, ANON | abi.MAP_FIXED_NOREPLACE) == a + 2 * PG
    assert errno_of(space.map, a + 1, PG, RW, ANON | abi.MAP_FIXED) == abi.EINVAL
    assert errno_of(space.map, 0, 0, RW, ANON) == abi.EINVAL
    assert errno_of(space.map, ADDR_LIMIT - PG, 2 * PG, RW, ANON, fixed=True) == abi.ENOMEM
    assert errno_of(space.map, 0, PG, 0x40, ANON) == abi.EINVAL


def test_unmap_middle_splits(space, mem):
    a = space.map(0x200000, 5 * PG, RW, ANON, fixed=True)
    space.unmap(a + PG, 2 * PG)
    assert spans(space) == [(a, a + PG, RW), (a + 3 * PG, a + 5 * PG, RW)]
    assert not mem.is_mapped(a + PG) and not mem.is_mapped(a + 2 * PG)
    assert mem.is_mapped(a) and mem.is_mapped(a + 3 * PG)
    assert space.find(a + PG) is None and space.find(a + 3 * PG).start == a + 3 * PG
    space.unmap(a + 10 * PG, PG)                  # unmapping nothing is fine
    assert errno_of(space.unmap, a + 1, PG) == abi.EINVAL
    assert errno_of(space.unmap, a, 0) == abi.EINVAL
    space.unmap(a, 5 * PG)                        # spans a hole
    assert space.vmas == []


def test_protect_splits_then_merges_back(space):
    a = space.map(0x300000, 4 * PG, RW, ANON, fixed=True)
    space.protect(a + PG, PG, abi.PROT_READ)
    assert spans(space) == [(a, a + PG, RW), (a + PG, a + 2 * PG, abi.PROT_READ),
                            (a + 2 * PG, a + 4 * PG, RW)]
    space.protect(a + PG, PG, RW)
    assert spans(space) == [(a, a + 4 * PG, RW)]


def test_protect_errors(space):
    a = space.map(0x300000, 2 * PG, RW, ANON, fixed=True)
    assert errno_of(space.protect, a + 3 * PG, PG, abi.PROT_READ) == abi.ENOMEM
    assert errno_of(space.protect, a, 4 * PG, abi.PROT_READ) == abi.ENOMEM   # runs into a hole
    # Linux changes the VMAs before the hole (tests/contracts/vm.c shows it natively)
    assert spans(space) == [(a, a + 2 * PG, abi.PROT_READ)]
    assert errno_of(space.protect, a + 8, PG, abi.PROT_READ) == abi.EINVAL
    assert space.protect(a, 0, abi.PROT_READ) == 0


def test_brk_grows_shrinks_and_refuses_collisions(space, mem):
    space.set_brk(0x500123)
    assert space.brk_start == 0x501000
    assert space.brk(0) == 0x501000                   # query
    assert space.brk(0x400000) == 0x501000            # below the start: refused
    assert space.brk(0x503010) == 0x503010
    v = space.find(0x501000)
    assert (v.start, v.end, v.name) == (0x501000, 0x504000, "[heap]")
    mem.write(0x503000, b"heap")
    assert space.brk(0x502000) == 0x502000
    assert not mem.is_mapped(0x503000)
    space.map(0x510000, PG, RW, ANON, fixed=True)
    assert space.brk(0x520000) == 0x502000            # would overlap: unchanged
    assert space.brk(0x505000) == 0x505000
    assert [v.name for v in space.vmas] == ["[heap]", ""]


def test_remap_shrink_grow_move(space, mem):
    a = space.map(0x600000, 2 * PG, RW, ANON, fixed=True)
    mem.write(a, b"keep me")
    assert space.remap(a, 2 * PG, 4 * PG, 0) == a          # grows in place
    assert spans(space) == [(a, a + 4 * PG, RW)]
    assert space.remap(a, 4 * PG, PG, 0) == a              # shrinks
    assert spans(space) == [(a, a + PG, RW)]
    space.map(a + PG, PG, abi.PROT_READ, ANON, fixed=True)   # block growth in place
    assert errno_of(space.remap, a, PG, 3 * PG, 0) == abi.ENOMEM
    b = space.remap(a, PG, 3 * PG, abi.MREMAP_MAYMOVE)
    assert b != a and mem.read(b, 7) == b"keep me"
    assert space.find(a) is None and space.find(b).end == b + 3 * PG
    c = space.remap(b, 3 * PG, 3 * PG, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, 0x700000)
    assert c == 0x700000 and mem.read(c, 7) == b"keep me"
    assert errno_of(space.remap, 0x900000, PG, PG, 0) == abi.EFAULT


def test_dontneed_zeroes_anonymous(space, mem):
    a = space.map(0, 2 * PG, RW, ANON)
    mem.write(a, b"x" * 100)
    mem.write(a + PG, b"y" * 100)
    space.dontneed(a, PG)
    assert mem.read(a, 100) == bytes(100)
    assert mem.read(a + PG, 100) == b"y" * 100


def _file(tmp_path, data, name="f.bin"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_file_backed_private_fill_and_dontneed(space, mem, tmp_path):
    data = bytes(range(256)) * 40                      # 10240 bytes: 2.5 pages
    p = _file(tmp_path, data)
    fd = os.open(p, os.O_RDONLY)
    try:
        b = Backing.from_fd(fd, str(p))
        a = space.map(0, 4 * PG, RW, abi.MAP_PRIVATE, name=str(p), offset=PG,
                      backing=b, src_fd=fd)
    finally:
        os.close(fd)
    assert mem.read(a, len(data) - PG) == data[PG:]
    assert mem.read(a + len(data) - PG, 16) == bytes(16)  # past EOF reads zero
    mem.write(a, b"private change")
    assert p.read_bytes() == data                      # private: file untouched
    space.dontneed(a, PG)                              # back to the file's bytes
    assert mem.read(a, 32) == data[PG:PG + 32]
    line = space.maps_text().splitlines()[0]
    assert line.startswith(f"{a:08x}-{a + 4 * PG:08x} rw-p 00001000 ")
    assert line.endswith(" " + str(p)) and str(os.stat(p).st_ino) in line.split()


def test_shared_file_mapping_written_back(space, mem, tmp_path):
    p = _file(tmp_path, b"." * (2 * PG))
    fd = os.open(p, os.O_RDWR)
    try:
        b = Backing.from_fd(fd, str(p), keep=True)
        a = space.map(0, 2 * PG, RW, abi.MAP_SHARED, name=str(p), backing=b, src_fd=fd)
    finally:
        os.close(fd)
    mem.write(a + 10, b"msync")
    space.sync(a, PG)
    assert p.read_bytes()[10:15] == b"msync"
    mem.write(a + PG, b"munmap")
    space.unmap(a, 2 * PG)
    assert p.read_bytes()[PG:PG + 6] == b"munmap"
    assert len(p.read_bytes()) == 2 * PG
    assert b.fd is None                                # the kept host fd was closed


def test_readonly_shared_mapping_cannot_become_writable(space, tmp_path):
    p = _file(tmp_path, b"r" * PG)
    fd = os.open(p, os.O_RDONLY)
    try:
        b = Backing.from_fd(fd, str(p))
        a = space.map(0, PG, abi.PROT_READ, abi.MAP_SHARED, backing=b, src_fd=fd)
    finally:
        os.close(fd)
    assert errno_of(space.protect, a, PG, RW) == abi.EACCES


def test_maps_text_format(space):
    space.map(0x400000, PG, abi.PROT_READ | abi.PROT_EXEC, ANON, fixed=True)
    space.map(0x7ff000_0000, 2 * PG, RW, ANON | abi.MAP_GROWSDOWN, name="[stack]", fixed=True)
    lines = space.maps_text().splitlines()
    assert lines[0] == "00400000-00401000 r-xp 00000000 00:00 0 "
    assert lines[1].startswith("7ff0000000-7ff0002000 rw-p 00000000 00:00 0 ")
    assert lines[1].index("[stack]") == 73 and lines[1].endswith("[stack]")


def test_find_free_falls_back_above_mmap_base(mem):
    space = AddressSpace(mem, mmap_base=MMAP_MIN + 4 * PG)
    space.map(MMAP_MIN, 4 * PG, RW, ANON, fixed=True)
    a = space.map(0, PG, RW, ANON)
    assert a == MMAP_MIN + 4 * PG
