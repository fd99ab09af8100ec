"""kernel/path.py and kernel/procfs.py: -L ROOTFS resolution and the /proc views.

A synthetic rootfs in tmp_path plays the guest's /: its absolute symlinks must be
re-rooted, `..` must stop at the guest root, missing paths fall back to the host,
getcwd/chdir/fchdir speak guest paths, and the /proc/self files show the guest
(maps from the VMA list, auxv bytes the loader built, cmdline/environ from guest
memory).  Expected values come from the host file system itself (os.stat of the
file that should have been reached), not from the resolver.
"""
import os
import struct

import pytest

from emu.memory import GuestMemory
from kernel import abi
from kernel import path as kpath
from kernel.vma import AddressSpace
import test_kernel_abi as base
from test_kernel_abi import ANON, PG, Guest

mem, g = base.mem, base.g        # fixtures: GuestMemory, Guest driving a Kernel


@pytest.fixture
def root(tmp_path):
    """A small guest root: /etc, /usr/bin with Debian-style alternatives links."""
    r = tmp_path / "root"
    for d in ("etc/alternatives", "usr/bin", "usr/lib", "tmp", "home/user", "proc", "dev"):
        (r / d).mkdir(parents=True)
    (r / "etc" / "hostname").write_bytes(b"guest-host\n")
    (r / "usr" / "bin" / "mawk").write_bytes(b"mawk binary")
    os.symlink("/etc/alternatives/awk", r / "usr" / "bin" / "awk")       # absolute
    os.symlink("/usr/bin/mawk", r / "etc" / "alternatives" / "awk")      # absolute
    os.symlink("usr/lib", r / "lib")                                     # relative
    (r / "usr" / "lib" / "libc.so").write_bytes(b"libc")
    os.symlink("/", r / "usr" / "rootlink")
    os.symlink("../../../../../../etc/hostname", r / "home" / "user" / "up")
    os.symlink("loop2", r / "tmp" / "loop1")
    os.symlink("loop1", r / "tmp" / "loop2")
    os.symlink("/nonexistent-target", r / "tmp" / "dangling")
    os.symlink("/proc/self/cmdline", r / "etc" / "cmdlink")
    return r


@pytest.fixture
def rg(mem, root):
    guest = Guest(mem, AddressSpace(mem), rootfs=str(root))
    yield guest
    for n in list(guest.k.fds.files):
        if n > 2:
            guest.k.fds.close(n)


def read_file(guest, path, n=4096, flags=0):
    fd = guest.call("openat", abi.AT_FDCWD, guest.s(path), flags)
    assert fd >= 0, (path, fd)
    got = guest.call("read", fd, guest.buf, n)
    guest.call("close", fd)
    return guest.mem.read(guest.buf, got)


def stat_ino(guest, path, flags=0, dirfd=abi.AT_FDCWD):
    r = guest.call("newfstatat", dirfd, guest.s(path), guest.buf, flags)
    if r < 0:
        return r
    return abi.Stat.from_buffer_copy(guest.mem.read(guest.buf, 128)).st_ino


# -- walking ---------------------------------------------------------------------------
def test_absolute_symlinks_are_rerooted(rg, root):
    assert read_file(rg, "/usr/bin/awk") == b"mawk binary"            # two absolute links
    assert read_file(rg, "/lib/libc.so") == b"libc"                   # relative link
    assert stat_ino(rg, "/usr/bin/awk") == os.stat(root / "usr/bin/mawk").st_ino
    assert stat_ino(rg, "/usr/bin/awk", abi.AT_SYMLINK_NOFOLLOW) == \
        os.lstat(root / "usr/bin/awk").st_ino
    n = rg.call("readlinkat", abi.AT_FDCWD, rg.s("/usr/bin/awk"), rg.buf, 100)
    assert rg.mem.read(rg.buf, n) == b"/etc/alternatives/awk"          # stored target, as is
    assert read_file(rg, "/usr/rootlink/etc/hostname") == b"guest-host\n"


def test_dotdot_stops_at_the_guest_root(rg, root):
    assert read_file(rg, "/../../../etc/hostname") == b"guest-host\n"
    assert read_file(rg, "/usr/../../../etc/hostname") == b"guest-host\n"
    assert read_file(rg, "/home/user/up") == b"guest-host\n"           # link climbing out
    assert rg.call("chdir", rg.s("/home/user")) == 0
    assert read_file(rg, "../../../../../etc/hostname") == b"guest-host\n"
    dfd = rg.call("openat", abi.AT_FDCWD, rg.s("/usr"), abi.O_RDONLY | abi.O_DIRECTORY)
    assert stat_ino(rg, "../../../etc/hostname", 0, dfd) == os.stat(root / "etc/hostname").st_ino


def test_loops_and_dangling_links(rg, root):
    assert rg.call("openat", abi.AT_FDCWD, rg.s("/tmp/loop1"), 0) == -abi.ELOOP
    assert rg.call("openat", abi.AT_FDCWD, rg.s("/tmp/dangling"), 0) == -abi.ENOENT
    # O_CREAT through a dangling link creates its target, inside the rootfs
    fd = rg.call("openat", abi.AT_FDCWD, rg.s("/tmp/dangling"), abi.O_WRONLY | abi.O_CREAT, 0o644)
    assert fd >= 0
    assert (root / "nonexistent-target").exists() and not os.path.exists("/nonexistent-target")
    # ... but not with O_EXCL (Linux refuses to follow the last link then)
    os.unlink(root / "nonexistent-target")
    assert rg.call("openat", abi.AT_FDCWD, rg.s("/tmp/dangling"),
                   abi.O_WRONLY | abi.O_CREAT | abi.O_EXCL, 0o644) == -abi.EEXIST
    assert rg.call("openat", abi.AT_FDCWD, rg.s("/etc/hostname/x"), 0) == -abi.ENOTDIR


def test_missing_paths_fall_back_to_the_host(rg, root, tmp_path):
    host_only = tmp_path / "host-only.txt"
    host_only.write_bytes(b"from the host")
    assert read_file(rg, str(host_only)) == b"from the host"          # not in the rootfs
    # a new file whose directory exists in the rootfs is created in the rootfs
    name = f"emu-new-file-{os.getpid()}"             # not on the host either
    fd = rg.call("openat", abi.AT_FDCWD, rg.s(f"/tmp/{name}"), abi.O_WRONLY | abi.O_CREAT, 0o600)
    assert fd >= 0 and (root / "tmp" / name).exists() and not os.path.exists(f"/tmp/{name}")
    # ... and one in a host-only directory on the host
    out = tmp_path / "made-by-guest"
    fd = rg.call("openat", abi.AT_FDCWD, rg.s(str(out)), abi.O_WRONLY | abi.O_CREAT, 0o600)
    assert fd >= 0 and out.exists()
    assert rg.call("openat", abi.AT_FDCWD, rg.s("/no/such/dir/file"), 0) == -abi.ENOENT


def test_dev_and_proc_are_the_hosts(rg):
    fd = rg.call("openat", abi.AT_FDCWD, rg.s("/dev/null"), abi.O_RDWR)
    assert fd >= 0
    assert rg.call("read", fd, rg.buf, 10) == 0
    assert read_file(rg, "/proc/self/cmdline") == b""                  # guest's (no argv here)
    assert b"Name:" in read_file(rg, "/proc/self/status")
    # a link inside the rootfs that points into /proc reaches the host's /proc view
    rg.k.cmdline = ["prog", "arg"]
    assert read_file(rg, "/etc/cmdlink") == b"prog\0arg\0"


def test_cwd_in_guest_terms(rg, root, tmp_path):
    def getcwd():
        n = rg.call("getcwd", rg.buf, 4096)
        return rg.mem.read(rg.buf, n - 1)
    assert rg.call("chdir", rg.s("/usr/bin")) == 0
    assert os.getcwd() == str(root / "usr" / "bin")
    assert getcwd() == b"/usr/bin"
    assert read_file(rg, "awk") == b"mawk binary"                     # relative, in the rootfs
    assert rg.call("chdir", rg.s("/")) == 0 and getcwd() == b"/"
    assert rg.call("chdir", rg.s("..")) == 0 and getcwd() == b"/"      # .. at the root
    dfd = rg.call("openat", abi.AT_FDCWD, rg.s("/etc"), abi.O_RDONLY | abi.O_DIRECTORY)
    assert rg.call("fchdir", dfd) == 0 and getcwd() == b"/etc"
    n = rg.call("readlinkat", abi.AT_FDCWD, rg.s("/proc/self/cwd"), rg.buf, 100)
    assert rg.mem.read(rg.buf, n) == b"/etc"
    assert rg.call("chdir", rg.s(str(tmp_path))) == 0                  # a host-only directory
    assert getcwd() == os.fsencode(tmp_path)


@pytest.fixture(autouse=True)
def _restore_cwd():
    cwd = os.getcwd()
    yield
    os.chdir(cwd)


def test_mutations_stay_in_the_rootfs(rg, root):
    rg.call("chdir", rg.s("/"))
    d = f"/tmp/emu-test-{os.getpid()}"          # a name the host's /tmp does not have
    assert rg.call("mkdirat", abi.AT_FDCWD, rg.s(d), 0o755) == 0
    assert (root / d[1:]).is_dir()
    assert rg.call("symlinkat", rg.s("/etc/hostname"), abi.AT_FDCWD, rg.s(f"{d}/l")) == 0
    assert os.readlink(root / d[1:] / "l") == "/etc/hostname"           # stored as written
    assert read_file(rg, f"{d}/l") == b"guest-host\n"                # and re-rooted on use
    assert rg.call("renameat2", abi.AT_FDCWD, rg.s(f"{d}/l"), abi.AT_FDCWD,
                   rg.s(f"{d}/m"), 0) == 0
    assert os.path.islink(root / d[1:] / "m")                            # the link moved, not its target
    assert rg.call("linkat", abi.AT_FDCWD, rg.s("/etc/hostname"), abi.AT_FDCWD,
                   rg.s(f"{d}/hard"), 0) == 0
    assert os.stat(root / d[1:] / "hard").st_ino == os.stat(root / "etc/hostname").st_ino
    assert rg.call("unlinkat", abi.AT_FDCWD, rg.s(f"{d}/m"), 0) == 0
    assert os.path.exists(root / "etc/hostname")                       # unlink did not follow
    assert rg.call("unlinkat", abi.AT_FDCWD, rg.s(f"{d}/hard"), 0) == 0
    assert rg.call("unlinkat", abi.AT_FDCWD, rg.s(d), abi.AT_REMOVEDIR) == 0
    assert rg.call("faccessat", abi.AT_FDCWD, rg.s("/usr/bin/awk"), os.R_OK) == 0


def test_walk_unit():
    """walk() on its own: outcomes for each kind of path."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        r = os.fsencode(d)
        os.mkdir(d + "/a")
        open(d + "/a/f", "w").close()
        assert kpath.walk(r, [], b"/a/f") == (kpath.FOUND, r + b"/a/f")
        assert kpath.walk(r, [], b"/a/new") == (kpath.CREATE, r + b"/a/new")
        assert kpath.walk(r, [], b"/b/new")[0] == kpath.MISSING
        assert kpath.walk(r, [], b"/a/f/x")[0] == kpath.MISSING
        assert kpath.walk(r, [], b"/proc/self/maps") == (kpath.HOST, b"/proc/self/maps")
        assert kpath.walk(r, [b"a"], b"../../../proc/1") == (kpath.HOST, b"/proc/1")
        assert kpath.walk(r, [], b"/a/") == (kpath.FOUND, r + b"/a/")
        assert kpath.walk(r, [], b"/") == (kpath.FOUND, r + b"/")


def test_chroot_moves_the_guest_root(rg, root):
    if os.geteuid() != 0:
        assert rg.call("chroot", rg.s("/usr")) == -abi.EPERM
        return
    assert rg.call("chroot", rg.s("/usr")) == 0
    assert read_file(rg, "/bin/mawk") == b"mawk binary"
    assert read_file(rg, "/../bin/mawk") == b"mawk binary"


# -- /proc views ------------------------------------------------------------------------
def test_proc_self_fd_lists_guest_fds(g, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    fd = g.call("openat", abi.AT_FDCWD, g.s(tmp_path / "f"), 0)
    dfd = g.call("openat", abi.AT_FDCWD, g.s("/proc/self/fd"), abi.O_RDONLY | abi.O_DIRECTORY)
    n = g.call("getdents64", dfd, g.buf, 4096)
    data, off, names = g.mem.read(g.buf, n), 0, set()
    while off < n:
        _, _, reclen, _ = struct.unpack_from("<QqHB", data, off)
        names.add(data[off + 19:off + reclen].split(b"\0")[0])
        off += reclen
    assert names == {b".", b".."} | {b"%d" % f for f in g.k.fds.files}
    assert b"%d" % fd in names and b"%d" % dfd in names
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(f"/proc/self/fd/{fd}"), g.buf, 4096)
    assert g.mem.read(g.buf, n) == os.fsencode(tmp_path / "f")
    n = g.call("readlinkat", abi.AT_FDCWD, g.s(f"/proc/{os.getpid()}/fd/{fd}"), g.buf, 4096)
    assert g.mem.read(g.buf, n) == os.fsencode(tmp_path / "f")
    assert g.call("readlinkat", abi.AT_FDCWD, g.s("/proc/self/fd/777"), g.buf, 64) == -abi.ENOENT


def test_proc_self_auxv_cmdline_environ_are_the_guests(hello_aarch64):
    from emu.loader import load
    m = GuestMemory()
    try:
        space = AddressSpace(m)
        r = load(str(hello_aarch64), m, space, ["hello", "one arg"], ["A=1", "B=two"])
        guest = Guest(m, space, exe_path=str(hello_aarch64))
        auxv = read_file(guest, "/proc/self/auxv")
        pairs = [struct.unpack_from("<QQ", auxv, i) for i in range(0, len(auxv), 16)]
        assert pairs == r.auxv and pairs[-1] == (0, 0)
        # and the same bytes are on the guest's stack right after envp
        argc = m.read_u64(r.sp)
        at = r.sp + 8 * (1 + argc + 1 + 2 + 1)      # argc, argv, NULL, envp, NULL
        assert m.read(at, len(auxv)) == auxv
        assert read_file(guest, "/proc/self/cmdline") == b"hello\0one arg\0"
        assert read_file(guest, "/proc/self/environ") == b"A=1\0B=two\0"
        m.write(space.arg_start, b"H")                     # what Linux shows follows memory
        assert read_file(guest, "/proc/self/cmdline") == b"Hello\0one arg\0"
        stat = read_file(guest, "/proc/self/stat")
        comm = os.fsencode(hello_aarch64.name)[:15]       # the program file's name
        assert stat.startswith(b"%d (%s) " % (os.getpid(), comm))
        fields = stat.rpartition(b") ")[2].split()        # fields[0] is field 3
        assert int(fields[28 - 3]) == r.sp                 # startstack
        assert [int(fields[n - 3]) for n in (48, 49, 50, 51)] == \
            [space.arg_start, space.arg_end, space.env_start, space.env_end]
        assert read_file(guest, "/proc/self/comm") == comm + b"\n"
        maps = read_file(guest, "/proc/self/maps", 65536).decode()
        assert maps == space.maps_text() and "[stack]" in maps
    finally:
        import ctypes
        from emu.memory import ADDR_LIMIT, NPAGES
        libc = ctypes.CDLL(None)
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.munmap(m.base, ADDR_LIMIT)
        libc.munmap(m.flags_addr, NPAGES)


def test_proc_cpuinfo_is_an_aarch64_view(g):
    from kernel import cpuinfo
    text = read_file(g, "/proc/cpuinfo", 1 << 16).decode()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert len(blocks) == os.cpu_count()
    first = dict(line.split(":", 1) for line in blocks[0].splitlines())
    first = {k.strip(): v.strip() for k, v in first.items()}
    assert first["processor"] == "0" and first["CPU architecture"] == "8"
    assert first["CPU implementer"] == "0x41"
    assert first["Features"].split() == cpuinfo.feature_names()
    assert "fp" in first["Features"].split() and "GenuineIntel" not in text
    midr = int(first["CPU implementer"], 16) << 24 | int(first["CPU variant"], 16) << 20 | \
        0xF << 16 | int(first["CPU part"], 16) << 4 | int(first["CPU revision"])
    from translator.isa import system
    assert midr == system.CONSTANT_REGS[system.sysreg(3, 0, 0, 0, 0)] == cpuinfo.MIDR


def test_proc_views_through_pid_and_thread_self(g):
    a = g.call("mmap", 0, PG, abi.PROT_READ, ANON, -1, 0)
    for p in ("/proc/self/maps", f"/proc/{os.getpid()}/maps", "/proc/thread-self/maps"):
        assert f"{a:08x}-{a + PG:08x} r--p".encode() in read_file(g, p, 65536)


def test_loader_and_proc_self_exe_follow_rootfs_links(mem, root):
    """`emu run -L ROOT /usr/bin/awk`: the loader reaches the file through the
    re-rooted links, and /proc/self/exe names the real program, as Linux does."""
    from emu import loader
    host = loader._resolve("/usr/bin/awk", str(root))
    assert os.path.samefile(host, root / "usr/bin/mawk")
    guest = Guest(mem, AddressSpace(mem), rootfs=str(root), exe_path="/usr/bin/awk")
    n = guest.call("readlinkat", abi.AT_FDCWD, guest.s("/proc/self/exe"), guest.buf, 100)
    assert guest.mem.read(guest.buf, n) == b"/usr/bin/mawk"
    assert read_file(guest, "/proc/self/exe") == b"mawk binary"
