"""/proc/self/mem and the other views of the address space are the guest's (issue 14,
finding 1: they were the host's, so a guest could rewrite the page-flags table through
/proc/self/mem and then load and store to its own PROT_NONE pages, or any byte of the
emulator).

The in-process tests drive a Kernel with syscalls (tests/test_kernel_abi.Guest) and look
at GuestMemory's page flags and host addresses directly.  The whole-program test runs
tests/fixtures/proc_self_mem.c and compares it with the same C built natively for x86-64
and run on the host: native Linux is the oracle for these semantics (forced access through
page protections, EIO/short counts, unsigned offsets, code patched through the file runs).
qemu-aarch64 7.2 is not: it hands /proc/self/mem to its own process, so its translated code
is not invalidated (the patched function still returns the old value) and it checks the
caller's buffer before the target, and shows the host's /proc/self/syscall.  The fixture
prints outcomes, never addresses (those differ between the two); with the argument
"native-semantics" it runs those checks too (without it, as the fixture lanes run it
against qemu, it leaves them out).
"""
import os
import re
import stat
import threading

import pytest

from emu.memory import ADDR_LIMIT, PAGE_CODE, PAGE_SHIFT, GuestFault
from harness import oracle
from kernel import abi
from oracle_helpers import assert_same, build, check_reference
import test_kernel_abi as base
from test_kernel_abi import ANON, PG, RW

mem, g = base.mem, base.g        # fixtures: GuestMemory, Guest driving a Kernel
MASK64 = (1 << 64) - 1


def _open(g, path, flags=abi.O_RDWR, dirfd=abi.AT_FDCWD):
    fd = g.call("openat", dirfd, g.s(path), flags)
    assert fd >= 0, (path, fd)
    return fd


def _read_all(g, path):
    fd = _open(g, path, abi.O_RDONLY)
    out = b""
    while True:
        n = g.call("read", fd, g.buf, 8 * PG)
        assert n >= 0, (path, n)
        if n == 0:
            break
        out += g.mem.read(g.buf, n)
    g.call("close", fd)
    return out


def _pwrite(g, fd, data, off):
    g.mem.write(g.buf, data)
    return g.call("pwrite64", fd, g.buf, len(data), off)


def _pread(g, fd, n, off):
    got = g.call("pread64", fd, g.buf, n, off)
    return got, (g.mem.read(g.buf, got) if got > 0 else b"")


def _host_addresses(text):
    """Every address at the start of a line of a maps-like text ("lo-hi ..." or "lo ...")."""
    return [int(v, 16) for m in re.finditer(r"^([0-9a-f]+)(?:-([0-9a-f]+))? ", text, re.M)
            for v in m.groups() if v]


# -- the finding --------------------------------------------------------------------------
def test_proc_self_mem_cannot_reach_host_memory(g, tmp_path):
    """A write through /proc/self/mem lands in guest memory (a PROT_NONE page by force, its
    flags byte untouched) and host addresses -- the flags table, the host copy of that page --
    are unmapped for the guest: EIO, nothing changed.  The page still faults on a load.
    smaps (and the other views) hold no host address and no emulator mapping."""
    mem = g.mem
    none = g.call("mmap", 0, PG, abi.PROT_NONE, ANON, -1, 0)
    page = none >> PAGE_SHIFT
    assert mem.flags[page] == 0
    flag_byte = mem.flags_addr + page                # host address of its flags byte
    fd = _open(g, "/proc/self/mem")
    assert _pwrite(g, fd, b"\x03", none) == 1          # the guest's page, forced
    assert _pwrite(g, fd, b"\x03", flag_byte) == -abi.EIO
    assert _pwrite(g, fd, b"\x03", mem.host_addr(none)) == -abi.EIO
    assert _pwrite(g, fd, b"\x03" * 8, ADDR_LIMIT - 4) == -abi.EIO
    assert _pread(g, fd, 1, flag_byte)[0] == -abi.EIO
    assert mem.flags[page] == 0, "the page-flags table was reached"
    with pytest.raises(GuestFault):
        mem.check(none, 1)                             # a load still faults
    assert _pread(g, fd, 1, none) == (1, b"\x03")      # the byte went to the guest page
    # the same through every spelling of the file, and through lseek + write
    tid = threading.get_native_id()
    os.symlink("/proc/self/mem", tmp_path / "memlink")
    dirfd = _open(g, "/proc/self", abi.O_RDONLY | abi.O_DIRECTORY)
    spellings = [("/proc/self/mem", abi.AT_FDCWD), (f"/proc/{os.getpid()}/mem", abi.AT_FDCWD),
                 ("/proc/thread-self/mem", abi.AT_FDCWD),
                 (f"/proc/self/task/{tid}/mem", abi.AT_FDCWD),
                 (f"/proc/{os.getpid()}/task/{tid}/mem", abi.AT_FDCWD),
                 ("/proc/self/../self/mem", abi.AT_FDCWD), ("/proc//self/./mem", abi.AT_FDCWD),
                 ("/proc/self/root/proc/self/mem", abi.AT_FDCWD),
                 (str(tmp_path / "memlink"), abi.AT_FDCWD), ("mem", dirfd),
                 (f"/proc/self/fd/{fd}", abi.AT_FDCWD), (f"/dev/fd/{fd}", abi.AT_FDCWD)]
    for path, d in spellings:
        f2 = _open(g, path, abi.O_RDWR, d)
        assert _pwrite(g, f2, b"\x07", flag_byte) == -abi.EIO, path
        assert g.call("lseek", f2, flag_byte, os.SEEK_SET) == flag_byte, path
        g.mem.write(g.buf, b"\x07")
        assert g.call("write", f2, g.buf, 1) == -abi.EIO, path
        assert _pread(g, f2, 1, none) == (1, b"\x03"), path
        g.call("close", f2)
    assert mem.flags[page] == 0
    # what the guest sees of its address space: guest addresses only, no emulator mappings
    own = {v.name for v in g.space.vmas}
    for view in ("maps", "smaps", "smaps_rollup", "numa_maps"):
        for path in (f"/proc/self/{view}", f"/proc/self/task/{tid}/{view}",
                     f"/proc/self/root/proc/self/{view}"):
            text = _read_all(g, path).decode()
            assert text, path
            addrs = _host_addresses(text)
            assert addrs and all(a <= ADDR_LIMIT for a in addrs), (path, text[:300])
            for h in (mem.base, mem.flags_addr):
                assert f"{h:x}" not in text, path
            assert not re.search(r"python|libLLVM|llvmlite|\.so|emu", text), (path, text[:300])
            if view in ("maps", "smaps"):
                names = {ln[73:] for ln in text.splitlines() if re.match(r"^[0-9a-f]+-", ln)}
                assert names <= own | {""}, (path, names - own)
    # pagemap: entries for guest pages, none for host addresses, no frame numbers
    pm = _open(g, "/proc/self/pagemap", abi.O_RDONLY)
    n, entry = _pread(g, pm, 8, (g.buf >> PAGE_SHIFT) * 8)
    assert n == 8 and int.from_bytes(entry, "little") >> 63 == 1
    assert int.from_bytes(entry, "little") & ((1 << 55) - 1) == 0     # PFN hidden
    n, entry = _pread(g, pm, 8, (mem.flags_addr >> PAGE_SHIFT) * 8)
    assert n == 8 and entry == bytes(8)


def test_another_process_mem_is_refused(g):
    """The host's mem and pagemap of another process (an emulator, too) are refused:
    its host memory is not its guest's."""
    for name in ("mem", "pagemap"):
        path = f"/proc/{os.getppid()}/{name}"
        assert g.call("openat", abi.AT_FDCWD, g.s(path), abi.O_RDONLY) == -abi.EACCES
    # ... also when reached through a directory fd of that process
    d = _open(g, f"/proc/{os.getppid()}", abi.O_RDONLY | abi.O_DIRECTORY)
    assert g.call("openat", d, g.s("mem"), abi.O_RDWR) == -abi.EACCES


def test_write_views_of_the_host_are_refused(g):
    """Read-only views opened for writing: EACCES, never the host's file (root could
    otherwise open the host's maps read-write and read the host's layout)."""
    for name in ("maps", "smaps", "auxv", "environ", "stat", "pagemap", "syscall"):
        assert g.call("openat", abi.AT_FDCWD, g.s(f"/proc/self/{name}"), abi.O_RDWR) \
            == -abi.EACCES, name


# -- Linux's semantics, in process ---------------------------------------------------------
def test_forced_access_rules(g, tmp_path):
    """mm/gup.c with FOLL_FORCE: read-only and PROT_NONE private pages are readable and
    writable; a shared read-only one is readable only (its host mapping is read-only: a
    write must not reach it); holes give EIO or a short count."""
    fd = _open(g, "/proc/self/mem")
    ro = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    assert _pwrite(g, fd, b"forced", ro + 8) == 6
    assert g.mem.read(ro + 8, 6) == b"forced"
    assert g.mem.flags[ro >> PAGE_SHIFT] & 2 == 0                     # still read-only
    f = tmp_path / "file"
    f.write_bytes(b"file contents" + bytes(PG))
    ffd = _open(g, str(f), abi.O_RDONLY)
    shared = g.call("mmap", 0, PG, abi.PROT_READ, abi.MAP_SHARED, ffd, 0)
    assert shared > 0
    assert _pread(g, fd, 4, shared) == (4, b"file")
    assert _pwrite(g, fd, b"FILE", shared) == -abi.EIO
    private = g.call("mmap", 0, PG, abi.PROT_READ, abi.MAP_PRIVATE, ffd, 0)
    assert _pwrite(g, fd, b"FILE", private) == 4                      # copy-on-write
    assert g.mem.read(private, 4) == b"FILE" and f.read_bytes()[:4] == b"file"
    # a hole after a mapping: short counts, EIO at the hole itself
    two = g.call("mmap", 0, 2 * PG, RW, ANON, -1, 0)
    g.call("munmap", two + PG, PG)
    assert _pread(g, fd, 64, two + PG - 16)[0] == 16
    assert _pwrite(g, fd, b"x" * 64, two + PG - 16) == 16
    assert _pread(g, fd, 8, two + PG)[0] == -abi.EIO
    # the caller's own buffer uses the caller's rights
    assert g.call("pread64", fd, ro, 4, two) == -abi.EFAULT
    none = g.call("mmap", 0, PG, abi.PROT_NONE, ANON, -1, 0)
    assert g.call("pwrite64", fd, none, 4, two) == -abi.EFAULT


def test_file_mapping_past_end_of_file_is_eio_not_a_host_sigbus(g, tmp_path):
    """Linux: the pages of a file mapping past the end of its file are SIGBUS to a load and
    EIO to /proc/self/mem; here the host mapping would SIGBUS the emulator itself."""
    f = tmp_path / "file"
    f.write_bytes(b"x" * (3 * PG))
    ffd = _open(g, str(f), abi.O_RDONLY)
    a = g.call("mmap", 0, 3 * PG, abi.PROT_READ, abi.MAP_PRIVATE, ffd, 0)
    os.truncate(f, PG)
    fd = _open(g, "/proc/self/mem")
    assert _pread(g, fd, 8, a)[0] == 8
    assert _pread(g, fd, 2 * PG, a + PG - 8)[0] == 8
    assert _pread(g, fd, 8, a + 2 * PG)[0] == -abi.EIO


def test_writes_to_code_invalidate_it(g):
    """A write through the file to a page holding translated code drops its translations
    (GuestMemory.on_code_change, as for any store to code) after the bytes are in place."""
    code = g.call("mmap", 0, 2 * PG, abi.PROT_READ | abi.PROT_EXEC, ANON, -1, 0)
    page = code >> PAGE_SHIFT
    g.mem.mark_code(page + 1)
    seen = []
    g.mem.on_code_change = lambda first, last: seen.append(
        (first, last, g.mem.read(code + PG, 4)))
    fd = _open(g, "/proc/self/mem")
    assert _pwrite(g, fd, b"\x40\x00\x80\x52", code + PG) == 4
    assert seen == [(page + 1, page + 1, b"\x40\x00\x80\x52")]
    assert not g.mem.flags[page + 1] & PAGE_CODE
    assert g.mem.flags[page + 1] & 4                                   # still executable
    g.mem.on_code_change = None


def test_offsets_are_unsigned_addresses(g):
    fd = _open(g, "/proc/self/mem")
    g.mem.write(g.buf + 64, b"abcdefgh")
    assert g.call("lseek", fd, g.buf + 64, os.SEEK_SET) == g.buf + 64
    assert g.call("read", fd, g.buf, 4) == 4 and g.mem.read(g.buf, 4) == b"abcd"
    assert g.call("lseek", fd, 0, os.SEEK_CUR) == g.buf + 68
    assert g.call("lseek", fd, 0, os.SEEK_END) == -abi.EINVAL
    high = 0x8000_0000_0000_1000
    assert g.call("lseek", fd, high, os.SEEK_SET) & MASK64 == high
    assert g.call("read", fd, g.buf, 8) == -abi.EIO
    assert g.call("pread64", fd, g.buf, 8, high) == -abi.EINVAL      # ksys_pread64
    assert g.call("lseek", fd, MASK64 - 3, os.SEEK_SET) & MASK64 == MASK64 - 3
    assert g.call("read", fd, g.buf, 8) == -abi.EOVERFLOW            # rw_verify_area
    assert g.call("read", fd, g.buf, 0) == 0
    # dups share the position, like one open file description
    fd2 = g.call("dup", fd)
    g.call("lseek", fd, g.buf + 64, os.SEEK_SET)
    assert g.call("read", fd2, g.buf, 2) == 2 and g.call("lseek", fd, 0, os.SEEK_CUR) == g.buf + 66
    # readv/preadv2 go one iovec at a time
    iov = g.buf + 8 * PG
    g.mem.write(iov, (g.buf).to_bytes(8, "little") + (3).to_bytes(8, "little")
                + (g.buf + 16).to_bytes(8, "little") + (3).to_bytes(8, "little"))
    assert g.call("preadv", fd, iov, 2, g.buf + 64, 0) == 6
    assert g.mem.read(g.buf, 3) + g.mem.read(g.buf + 16, 3) == b"abcdef"
    assert g.call("preadv2", fd, iov, 2, g.buf + 64, 0, abi.RWF_NOWAIT) == -abi.EOPNOTSUPP


def test_open_file_looks_like_linux_proc_mem(g):
    fd = _open(g, "/proc/self/mem", abi.O_WRONLY)
    st = os.fstat(g.k.fds.host(fd))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 0
    assert g.call("fcntl", fd, abi.F_GETFL, 0) & abi.O_ACCMODE == abi.O_WRONLY
    assert g.call("read", fd, g.buf, 4) == -abi.EBADF
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(f"/proc/self/fd/{fd}"), g.buf, 100)
    assert g.mem.read(g.buf, n) == f"/proc/{os.getpid()}/mem".encode()
    out = _open(g, "/dev/null", abi.O_WRONLY)
    assert g.call("sendfile", out, fd, 0, 8) == -abi.EINVAL
    assert g.call("openat", abi.AT_FDCWD, g.s("/proc/self/mem"),
                  abi.O_RDONLY | abi.O_DIRECTORY) == -abi.ENOTDIR


def test_smaps_and_friends_describe_guest_mappings(g):
    a = g.call("mmap", 0x40_0000_0000, 4 * PG, RW, ANON | abi.MAP_FIXED, -1, 0)  # alone
    g.mem.write(a, b"x")                                         # one page resident
    text = _read_all(g, "/proc/self/smaps").decode()
    block = text[text.index(f"{a:08x}-{a + 4 * PG:08x} rw-p"):]
    block = block[:block.index("VmFlags:")] + block[block.index("VmFlags:"):].split("\n")[0]
    assert "Size:                 16 kB" in block and "KernelPageSize:        4 kB" in block
    assert re.search(r"^Rss: +4 kB$", block, re.M) and re.search(r"^Anonymous: +4 kB$", block, re.M)
    assert block.endswith("VmFlags: rd wr mr mw me ac ")
    roll = _read_all(g, "/proc/self/smaps_rollup").decode()
    assert roll.splitlines()[0].endswith("[rollup]") and "\nPss_Anon:" in roll
    numa = _read_all(g, "/proc/self/numa_maps").decode()
    assert f"{a:08x} default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n" in numa


def test_map_files_are_the_guest_file_mappings(g, tmp_path):
    f = tmp_path / "lib.so"
    f.write_bytes(b"\x7fELF" + bytes(PG))
    ffd = _open(g, str(f), abi.O_RDONLY)
    a = g.call("mmap", 0, PG, abi.PROT_READ, abi.MAP_PRIVATE, ffd, 0)
    d = _open(g, "/proc/self/map_files", abi.O_RDONLY | abi.O_DIRECTORY)
    n = g.call("getdents64", d, g.buf, 4096)
    names = re.findall(rb"[0-9a-f]+-[0-9a-f]+", g.mem.read(g.buf, n))
    assert names == [b"%x-%x" % (a, a + PG)]
    link = f"/proc/self/map_files/{a:x}-{a + PG:x}"
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(link), g.buf, 4096)
    assert g.mem.read(g.buf, n) == os.fsencode(f)
    if os.geteuid() == 0:
        assert _read_all(g, link)[:4] == b"\x7fELF"


def test_proc_self_syscall_is_the_guest_call(g):
    text = _read_all(g, "/proc/self/syscall").decode().split()
    assert int(text[0]) == 63                                    # the read itself (arm64)
    assert len(text) == 9 and int(text[2], 16) == g.buf


# -- the whole program ------------------------------------------------------------------------
def test_proc_self_mem_fixture_matches_native(aarch64_cc, native_cc, tmp_path):
    exe, native = build("proc_self_mem"), build("proc_self_mem", "native")
    ref = oracle.run_native([native, "native-semantics"], cwd=tmp_path, timeout=60)
    check_reference(ref, "native proc_self_mem")
    assert b"patched code: 1 then 2 then 3" in ref.stdout, ref.stdout
    got = oracle.run_emu([exe, "native-semantics"], cwd=tmp_path, timeout=300)
    assert_same(ref, got, "proc_self_mem", "native")
