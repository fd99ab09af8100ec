"""kernel/mm.py + kernel/vma.py: the memory syscalls as the guest calls them.

File mappings are checked against the file on the host (coherence both ways for
MAP_SHARED, copy-on-write for MAP_PRIVATE); address choice against Linux's rules
(hints, MAP_FIXED_NOREPLACE, the 2**40 limit); and translated-code invalidation
through GuestMemory's on_code_change hook (pages marked as holding code, then
unmapped, re-protected, remapped or overwritten).
"""
import os

import pytest

from emu.memory import ADDR_LIMIT, PAGE_SHIFT
from kernel import abi
import test_kernel_abi as base
from test_kernel_abi import ANON, BAD, PG, RW

mem, g = base.mem, base.g        # fixtures: GuestMemory, Guest driving a Kernel

M64 = 2**64 - 1


def test_shared_file_mapping_is_coherent_with_read_and_write(g, tmp_path):
    p = tmp_path / "shared"
    p.write_bytes(b"." * (3 * PG))
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    a = g.call("mmap", 0, 3 * PG, RW, abi.MAP_SHARED, fd, 0)
    g.mem.write(a + 5, b"via map")
    assert p.read_bytes()[5:12] == b"via map"                 # no msync needed
    with open(p, "r+b") as f:
        f.seek(PG)
        f.write(b"via write()")
    assert g.mem.read(a + PG, 11) == b"via write()"           # the mapping sees it
    b = g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, PG)     # a second view of page 1
    assert g.mem.read(b, 11) == b"via write()"
    g.mem.write(b + 100, b"second view")
    assert g.mem.read(a + PG + 100, 11) == b"second view"
    assert g.call("msync", a, 3 * PG, abi.MS_SYNC) == 0
    assert g.call("msync", a, PG, abi.MS_SYNC | abi.MS_ASYNC) == -abi.EINVAL
    assert g.call("munmap", a, 3 * PG) == 0
    assert p.read_bytes()[5:12] == b"via map"


def test_private_file_mapping_is_copy_on_write(g, tmp_path):
    p = tmp_path / "private"
    p.write_bytes(b"A" * PG + b"B" * 100)
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDONLY)
    a = g.call("mmap", 0, 3 * PG, RW, abi.MAP_PRIVATE, fd, 0)
    assert g.mem.read(a + PG, 101) == b"B" * 100 + b"\0"       # zero past EOF in the page
    assert g.mem.read(a + 2 * PG, 8) == bytes(8)               # a whole page past EOF: zero
    g.mem.write(a, b"private")
    assert p.read_bytes()[:7] == b"AAAAAAA"
    assert g.call("madvise", a, PG, abi.MADV_DONTNEED) == 0
    assert g.mem.read(a, 7) == b"AAAAAAA"                      # back to the file's bytes
    assert g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, 0) == -abi.EACCES
    wr = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_WRONLY)
    assert g.call("mmap", 0, PG, abi.PROT_READ, abi.MAP_PRIVATE, wr, 0) == -abi.EACCES
    r, w = os.pipe()
    gp = g.k.fds.install(r)
    assert g.call("mmap", 0, PG, abi.PROT_READ, abi.MAP_PRIVATE, gp, 0) == -abi.ENODEV
    os.close(w)


def test_fixed_noreplace_hints_and_the_address_limit(g):
    a = g.call("mmap", 0x12_3400_0000, PG, RW, ANON, -1, 0)
    assert a == 0x12_3400_0000                                  # a free hint is honoured
    assert g.call("mmap", a, PG, RW, ANON | abi.MAP_FIXED_NOREPLACE, -1, 0) == -abi.EEXIST
    b = g.call("mmap", a, PG, RW, ANON, -1, 0)                  # busy hint: elsewhere
    assert b > 0 and b != a
    go = g.call("mmap", 0xC0_0000_0000, 64 << 20, abi.PROT_NONE,
                ANON | abi.MAP_NORESERVE, -1, 0)                  # Go's arena hint
    assert go == 0xC0_0000_0000
    far = g.call("mmap", 0x7FC0_0000_0000, 64 << 20, abi.PROT_NONE, ANON, -1, 0)
    assert 0 < far < ADDR_LIMIT                                  # hint past 2**40: fallback
    assert g.call("mmap", ADDR_LIMIT - PG, 2 * PG, RW, ANON | abi.MAP_FIXED, -1, 0) == -abi.ENOMEM
    assert g.call("mmap", 0x1000, PG, RW, ANON | abi.MAP_FIXED, -1, 0) == -abi.EPERM
    for extra in (abi.MAP_GROWSDOWN, abi.MAP_POPULATE, abi.MAP_STACK, abi.MAP_LOCKED):
        c = g.call("mmap", 0, 2 * PG, RW, ANON | extra, -1, 0)
        assert c > 0
        g.mem.write(c + PG, b"ok")
    assert g.call("mmap", 0, PG, RW, ANON | abi.MAP_FIXED, -1, 0x1000 | 0) == -abi.EPERM


def test_partial_munmap_and_mprotect_split(g):
    a = g.call("mmap", 0, 4 * PG, RW, ANON, -1, 0)
    g.mem.write(a, b"0" * 4 * PG)
    assert g.call("munmap", a + PG, PG) == 0                    # a hole in the middle
    assert not g.mem.is_mapped(a + PG) and g.mem.is_mapped(a) and g.mem.is_mapped(a + 2 * PG)
    assert g.call("mprotect", a + 3 * PG, PG, abi.PROT_READ) == 0
    lines = [l.split()[:2] for l in g.k.space.maps_text().splitlines()]
    assert [f"{a:08x}-{a + PG:08x}", "rw-p"] in lines
    assert [f"{a + 2 * PG:08x}-{a + 3 * PG:08x}", "rw-p"] in lines
    assert [f"{a + 3 * PG:08x}-{a + 4 * PG:08x}", "r--p"] in lines
    assert g.call("mprotect", a, 4 * PG, RW) == -abi.ENOMEM     # the hole
    assert g.call("munmap", a + 1, PG) == -abi.EINVAL
    assert g.call("munmap", a, 0) == -abi.EINVAL
    assert g.call("mprotect", a, PG, 0x40) == -abi.EINVAL


def test_mremap_grow_move_fixed_and_shrink(g, tmp_path):
    a = g.call("mmap", 0, 2 * PG, RW, ANON, -1, 0)
    g.mem.write(a, b"keep me")
    g.call("mmap", a + 2 * PG, PG, abi.PROT_READ, ANON | abi.MAP_FIXED, -1, 0)   # blocks growth
    assert g.call("mremap", a, 2 * PG, 4 * PG, 0, 0) == -abi.ENOMEM
    b = g.call("mremap", a, 2 * PG, 4 * PG, abi.MREMAP_MAYMOVE, 0)
    assert b != a and g.mem.read(b, 7) == b"keep me" and g.mem.read(b + 3 * PG, 4) == bytes(4)
    assert not g.mem.is_mapped(a)
    c = 0x33_0000_0000
    assert g.call("mremap", b, 4 * PG, 2 * PG, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, c) == c
    assert g.mem.read(c, 7) == b"keep me" and not g.mem.is_mapped(c + 2 * PG)
    assert g.call("mremap", c, 2 * PG, PG, 0, 0) == c and not g.mem.is_mapped(c + PG)
    assert g.call("mremap", c, PG, PG, abi.MREMAP_FIXED, c + 8 * PG) == -abi.EINVAL
    assert g.call("mremap", BAD, PG, PG, 0, 0) == -abi.EFAULT
    # a file mapping keeps its file when it moves
    p = tmp_path / "f"
    p.write_bytes(b"F" * PG + b"G" * PG)
    fd = g.call("openat", abi.AT_FDCWD, g.s(p), abi.O_RDWR)
    m = g.call("mmap", 0, PG, RW, abi.MAP_SHARED, fd, 0)
    g.call("mmap", m + PG, PG, abi.PROT_READ, ANON | abi.MAP_FIXED, -1, 0)
    n = g.call("mremap", m, PG, 2 * PG, abi.MREMAP_MAYMOVE, 0)
    assert n != m and g.mem.read(n + PG, 4) == b"GGGG"           # the grown part is file data
    g.mem.write(n + PG, b"moved")
    assert p.read_bytes()[PG:PG + 5] == b"moved"                 # still shared with the file
    line = next(l for l in g.k.space.maps_text().splitlines() if l.startswith(f"{n:08x}"))
    assert line.endswith(str(p)) and " rw-s 00000000 " in line


def test_madvise_and_mincore_and_locks(g):
    a = g.call("mmap", 0, 2 * PG, RW, ANON, -1, 0)
    g.mem.write(a, b"x" * 2 * PG)
    for adv in (abi.MADV_NORMAL, abi.MADV_WILLNEED, abi.MADV_FREE, 14, 15, 16):
        assert g.call("madvise", a, 2 * PG, adv) == 0
    assert g.call("madvise", a, PG, abi.MADV_DONTNEED) == 0
    assert g.mem.read(a, 4) == bytes(4) and g.mem.read(a + PG, 1) == b"x"
    assert g.call("madvise", a, PG, 77) == -abi.EINVAL
    assert g.call("madvise", a + 1, PG, 0) == -abi.EINVAL
    assert g.call("madvise", 0x6000_0000, PG, abi.MADV_WILLNEED) == -abi.ENOMEM
    assert g.call("mincore", a, 2 * PG, g.buf) == 0 and g.mem.read(g.buf, 2) == b"\1\1"
    assert g.call("mincore", 0x6000_0000, PG, g.buf) == -abi.ENOMEM
    assert g.call("mlock", a, 2 * PG) == 0 and g.call("munlock", a, 2 * PG) == 0
    assert g.call("mlock", 0x6000_0000, PG) == -abi.ENOMEM
    assert g.call("mlock2", a, PG, 1) == 0 and g.call("mlock2", a, PG, 2) == -abi.EINVAL
    assert g.call("mlockall", 1 | 2) == 0 and g.call("munlockall") == 0
    assert g.call("mlockall", 0) == -abi.EINVAL
    assert g.call("pkey_alloc", 0, 0) == -abi.ENOSPC
    assert g.call("pkey_mprotect", a, PG, abi.PROT_READ, -1 & M64) == 0
    assert g.call("pkey_mprotect", a, PG, abi.PROT_READ, 1) == -abi.EINVAL
    assert g.call("pkey_free", 1) == -abi.EINVAL


def test_brk_shrink_and_regrow_is_zeroed(g):
    g.k.space.set_brk(0x70_0000)
    assert g.call("brk", 0x70_3000) == 0x70_3000
    g.mem.write(0x70_2000, b"old heap")
    assert g.call("brk", 0x70_1000) == 0x70_1000 and not g.mem.is_mapped(0x70_2000)
    assert g.call("brk", 0x70_3000) == 0x70_3000
    assert g.mem.read(0x70_2000, 8) == bytes(8)


# -- translated code must be invalidated ---------------------------------------------------
@pytest.fixture
def code_events(g):
    events = []
    g.mem.on_code_change = lambda first, last: events.append((first, last))
    return events


def _code_page(g, prot=abi.PROT_READ | abi.PROT_EXEC):
    a = g.call("mmap", 0, PG, prot, ANON, -1, 0)
    g.mem.mark_code(a >> PAGE_SHIFT)           # what the translator does after translating
    return a


@pytest.mark.parametrize("how", ["munmap", "mprotect-rw", "mmap-fixed", "madvise", "mremap",
                                 "write"])
def test_code_changes_reach_the_translator(g, code_events, how):
    a = _code_page(g, RW | abi.PROT_EXEC if how == "write" else abi.PROT_READ | abi.PROT_EXEC)
    page = a >> PAGE_SHIFT
    if how == "munmap":
        g.call("munmap", a, PG)
    elif how == "mprotect-rw":
        g.call("mprotect", a, PG, RW)
    elif how == "mmap-fixed":
        g.call("mmap", a, PG, abi.PROT_READ | abi.PROT_EXEC, ANON | abi.MAP_FIXED, -1, 0)
    elif how == "madvise":
        g.call("madvise", a, PG, abi.MADV_DONTNEED)
    elif how == "mremap":
        g.call("mremap", a, PG, PG, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, a + 16 * PG)
    elif how == "write":                         # a syscall writing into code (read())
        r, w = os.pipe()
        os.write(w, b"\x1f\x20\x03\xd5")
        gr = g.k.fds.install(r)
        assert g.call("read", gr, a, 4) == 4
        os.close(w)
    assert (page, page) in code_events
    assert page not in g.mem.code_pages


def test_mprotect_keeping_exec_keeps_code(g, code_events):
    a = _code_page(g)
    g.call("mprotect", a, PG, abi.PROT_READ | abi.PROT_EXEC)
    assert code_events == [] and (a >> PAGE_SHIFT) in g.mem.code_pages
