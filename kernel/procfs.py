"""/proc as the guest should see it.

Owns: the guest's views of the host's procfs: /proc/<our pid>/, /proc/thread-self/
and /proc/self/task/<one of our tids>/ mean /proc/self/; /proc/self/exe is the guest
program (its guest path for readlink, its file for open); /proc/self/fd/N (and
/dev/fd/N, /proc/self/fdinfo/N) follow the guest fd table (open, readlink, and the
directory listing); /proc/self/cwd and /proc/self/root in guest terms; and the files
whose contents come from the emulator:
  /proc/self/mem       guest memory, read and written by force (MemFile below)
  /proc/self/pagemap   one entry per guest page, no frame numbers (PagemapFile)
  /proc/self/maps      the guest memory map (kernel/vma.py)
  /proc/self/smaps     /proc/self/smaps_rollup   /proc/self/numa_maps   the same map
                       with sizes and residency of the guest's pages
  /proc/self/map_files/  the guest's file-backed mappings (listing, readlink, open)
  /proc/self/auxv      the auxiliary vector the loader built (the real bytes)
  /proc/self/cmdline   /proc/self/environ   read from guest memory, as Linux does
  /proc/self/comm      /proc/self/stat      /proc/self/status   (guest name, stack,
                                                                 layout, signal masks)
  /proc/self/syscall   the guest's current syscall, registers and pc
  /proc/cpuinfo        an AArch64 view (kernel/cpuinfo.py)
Text views are opened read-only as a snapshot; mem, pagemap and syscall are
emulated files (OpenFile.emul: the host fd under them is an empty placeholder).
The host's own files for this process are never handed to the guest, whatever the
spelling (symlinks, `..`, a directory fd, /proc/self/root/proc/...): every open is
vetted after the host call (vet()) by what was really opened, and the host's
mem/maps/... of this process are replaced by the guest's; another process's mem
and pagemap are refused (EACCES), as Linux does for a process one may not trace
(the other process is an emulator too: its host memory is not its guest's).
Everything else under /proc, /sys and /dev is the host's.
Does not own: path walking (path.py), opening files (fs.py), fd-level I/O (fd.py,
which calls an OpenFile.emul's io/vector/lseek).
"""
import ctypes
import os
import re
import struct
import threading
import weakref

from emu.memory import ADDR_LIMIT, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, page_ceil
from kernel import abi, cpuinfo
from kernel.errors import SyscallError

_PROC_FD = re.compile(rb"^/proc/self/(fd|fdinfo)/(\d+)(/.*)?$")
_DEV_FD = re.compile(rb"^/dev/fd/(\d+)(/.*)?$")
_TASK = re.compile(rb"^/proc/self/task/(\d+)(/.*)?$")
_PID = re.compile(rb"^/proc/(\d+)(/.*)?$")
_MAP_FILE = re.compile(rb"^/proc/self/map_files/([0-9a-f]+)-([0-9a-f]+)$")
# Files of a process that are the same for all its threads (the memory map, the
# fd table...): /proc/self/task/<tid>/X and /proc/<tid>/X are /proc/self/X.
_PER_PROCESS = frozenset({b"mem", b"maps", b"smaps", b"smaps_rollup", b"numa_maps",
                          b"pagemap", b"map_files", b"auxv", b"cmdline", b"environ",
                          b"exe", b"cwd", b"root", b"fd", b"fdinfo", b"stat", b"status",
                          b"syscall"})

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_libc.fstatfs.argtypes = [ctypes.c_int, ctypes.c_char_p]
PROC_SUPER_MAGIC = 0x9FA0
TASK_SIZE = 1 << 48          # arm64 user address space with 48-bit VAs (access_ok's limit)
MASK64 = (1 << 64) - 1


def _own_tid(tid):
    """Is tid a thread of this (host) process?"""
    return tid == os.getpid() or os.path.exists(b"/proc/self/task/%d" % tid)


def normalise(path):
    """/proc/<our pid>/..., /proc/thread-self/... and the per-process files of our
    threads (/proc/self/task/<tid>/mem, /proc/<tid>/maps) -> /proc/self/..."""
    for prefix in (b"/proc/%d/" % os.getpid(), b"/proc/thread-self/"):
        if path.startswith(prefix):
            path = b"/proc/self/" + path[len(prefix):]
            break
    else:
        for whole in (b"/proc/%d" % os.getpid(), b"/proc/thread-self"):
            if path == whole:
                return b"/proc/self"
        m = _PID.match(path)
        if m and m.group(2) and _per_process(m.group(2)) and _own_tid(int(m.group(1))):
            path = b"/proc/self" + m.group(2)
    m = _TASK.match(path)
    if m and m.group(2) and _per_process(m.group(2)) and _own_tid(int(m.group(1))):
        path = b"/proc/self" + m.group(2)
    return path


def _per_process(rest):
    return rest.split(b"/", 2)[1] in _PER_PROCESS


def _guest_fd(k, n):
    f = k.fds.files.get(n)
    if f is None:
        raise SyscallError(abi.ENOENT)
    return f


def host_path(k, path, follow=True):
    """A guest path under /proc, /sys or /dev -> the host path to use."""
    m = _DEV_FD.match(path)
    if m:                       # /dev/fd is /proc/self/fd: the guest's descriptors
        path = b"/proc/self/fd/" + m.group(1) + (m.group(2) or b"")
    if not path.startswith(b"/proc/"):
        return path
    path = normalise(path)
    if follow:
        if path == b"/proc/self/exe" and k.exe_path:
            return os.fsencode(k.exe_path)
        if path == b"/proc/self/root" and k.rootfs_b:
            return k.rootfs_b
        m = _MAP_FILE.match(path)
        if m:
            return _map_file_target(k, int(m.group(1), 16), int(m.group(2), 16))
    m = _PROC_FD.match(path)
    if m:
        f = _guest_fd(k, int(m.group(2)))
        return b"/proc/self/%s/%d%s" % (m.group(1), f.host, m.group(3) or b"")
    return path


def readlink(k, path):
    """The guest's view of a /proc/self link, or None for an ordinary path."""
    path = normalise(path)
    if path == b"/proc/self/exe" and k.exe_path:
        return os.fsencode(k.exe_guest_path)
    if path == b"/proc/self/root":
        return b"/"
    if path == b"/proc/self/cwd":
        from kernel.path import guest_cwd
        return guest_cwd(k)
    m = _MAP_FILE.match(path)
    if m:
        v = _map_file_vma(k, int(m.group(1), 16), int(m.group(2), 16))
        return os.fsencode(v.name)
    m = _PROC_FD.match(path)
    if m and m.group(1) == b"fd" and not m.group(3):
        f = _guest_fd(k, int(m.group(2)))
        if f.virtual is not None:
            return f.virtual
        target = os.readlink(b"/proc/self/fd/%d" % f.host)
        return _guest_target(k, target)
    return None


def _guest_target(k, target):
    from kernel.path import to_guest
    return to_guest(k, target) if target.startswith(b"/") else target


# -- guest memory as Linux's access_remote_vm sees it ------------------------------------
def _file_end(v):
    """Where v's file ends (page-rounded; what lies past it is SIGBUS on Linux), or v.end
    when the file cannot be looked at."""
    b = v.backing
    try:
        st = os.fstat(b.fd) if b.fd is not None else os.stat(b.path)
    except (OSError, TypeError, ValueError):
        return v.end
    if b.fd is None and (st.st_dev, st.st_ino) != (b.dev, b.ino):
        return v.end            # the path names another file now: nothing to go by
    return max(v.start, v.start + page_ceil(st.st_size) - v.offset)


def accessible(k, addr, count, write):
    """How many bytes from guest address addr (up to count) a forced access reaches,
    the rules of mm/gup.c check_vma_flags with FOLL_FORCE: every mapped page can be
    read (PROT_NONE included); a page that is not writable can be written only in a
    private (copy-on-write) mapping; holes, addresses past the guest's 2**40 and a
    file mapping's pages past the end of its file stop the access.  Call with
    k.space.lock held."""
    end = min(addr + count, ADDR_LIMIT)
    at = addr
    if addr >= end:
        return 0
    for v in k.space.overlapping(addr, end):
        if v.start > at:
            break
        if write and not v.prot & abi.PROT_WRITE and v.shared:
            break
        stop = min(v.end, end)
        hi = min(stop, _file_end(v)) if v.backing is not None else stop
        if hi <= at:
            break
        at = hi
        if hi < stop:
            break
    return at - addr


def read_forced(k, addr, length):
    """Guest bytes at addr as a debugger reads them (access rights ignored); stops
    short at the first byte that cannot be reached."""
    with k.space.lock:
        n = accessible(k, addr, length, False)
        return ctypes.string_at(k.mem.host_addr(addr), n) if n else b""


def _store_forced(k, addr, data):
    """Store bytes at guest address addr (checked by accessible()), then drop the
    translations of the pages written, as for any store to code.  In that order: a
    translation made meanwhile saw the new bytes or is dropped here (the runtime
    stops the world for it)."""
    ctypes.memmove(k.mem.host_addr(addr), data, len(data))
    first = addr & ~PAGE_MASK
    k.mem._drop_code(first, page_ceil(addr + len(data)) - first)


def _first_bad(mem, addr, length, write):
    """Offset of the first byte of guest [addr, addr+length) the guest itself may not
    access (its own rights: the caller's buffer of a read or write), or None."""
    from emu.memory import GuestFault
    try:
        mem.check(addr, length, write=write)
    except GuestFault as e:
        return max(0, min(e.addr - addr, length)) if addr < ADDR_LIMIT else 0
    return None


def mem_transfer(k, buf, count, pos, write):
    """fs/proc/base.c mem_rw: move count bytes between the caller's buffer buf and
    guest address pos, one page-sized chunk at a time.  Returns (bytes moved, errno):
    EIO when the first chunk reaches nothing, a short count at the first hole, EFAULT
    (with the chunks before it moved) when the caller's own buffer is bad."""
    if count == 0:
        return 0, 0
    with k.space.lock:
        n = accessible(k, pos, count, write)
        bad = _first_bad(k.mem, buf, count, write=not write)
        done, err = 0, 0
        if bad is None or bad >= n + PAGE_SIZE:
            done = n
        else:                               # the loop of mem_rw, chunk by chunk
            while done < count:
                ln = min(PAGE_SIZE, count - done)
                if write and done <= bad < done + ln:        # copy_from_user
                    err = abi.EFAULT
                    break
                got = min(ln, n - done)
                if got <= 0:
                    break
                if not write and done <= bad < done + got:   # copy_to_user
                    err = abi.EFAULT
                    break
                done += got
        if not err and done == 0:
            err = abi.EIO
        if done:
            if write:
                _store_forced(k, pos, ctypes.string_at(k.mem.host_addr(buf), done))
            else:
                k.mem.write(buf, ctypes.string_at(k.mem.host_addr(pos), done))
    return done, err


# -- emulated files -----------------------------------------------------------------------
class EmulatedFile:
    """An open /proc file whose reads and writes the emulator answers.

    fd.py calls io() for read/write/pread/pwrite, vector() for the iovec calls and
    lseek(); the OpenFile's host fd is a placeholder (an empty memfd with the file's
    mode and access mode) that fstat, fcntl and poll see.  transfer() is the file's
    f_op->read/write: (bytes moved, errno or 0)."""
    mode = 0o400
    name = b""

    def __init__(self, k, acc):
        self.k = k
        self.readable = acc in (abi.O_RDONLY, abi.O_RDWR)
        self.writable = acc in (abi.O_WRONLY, abi.O_RDWR)
        self.pos = 0
        self.lock = threading.Lock()

    def transfer(self, buf, count, pos, write):
        return 0, abi.EINVAL

    def _check(self, write):
        if not (self.writable if write else self.readable):
            raise SyscallError(abi.EBADF)

    @staticmethod
    def _verify(count, pos):
        """rw_verify_area with FMODE_UNSIGNED_OFFSET: offsets are unsigned, but the
        byte after the last one must not wrap past 2**64."""
        if count >= 1 << 63:
            raise SyscallError(abi.EINVAL)
        if pos >= 1 << 63 and count >= (1 << 64) - pos:
            raise SyscallError(abi.EOVERFLOW)

    def io(self, buf, count, pos, write):
        """read/write (pos None: at the file position, which advances) or pread/pwrite."""
        self._check(write)
        if buf + count > TASK_SIZE:                       # access_ok
            raise SyscallError(abi.EFAULT)
        with self.lock:
            at = self.pos if pos is None else pos
            self._verify(count, at)
            n, err = self.transfer(buf, min(count, abi.MAX_RW_COUNT), at, write)
            if pos is None:
                self.pos = (at + n) & MASK64
        if err:
            raise SyscallError(err)
        return n

    def vector(self, vecs, pos, write):
        """readv/writev/preadv/pwritev: one transfer per iovec (do_loop_readv_writev),
        stopping at the first short one; an error counts only if nothing moved."""
        self._check(write)
        total = sum(n for _, n in vecs)
        if not total:
            return 0
        with self.lock:
            at = self.pos if pos is None else pos
            self._verify(total, at)
            done, err, left = 0, 0, abi.MAX_RW_COUNT
            for base, ln in vecs:
                ln = min(ln, left)
                if ln <= 0:
                    break
                n, err = self.transfer(base, ln, (at + done) & MASK64, write)
                done += n
                left -= n
                if err or n < ln:
                    break
            if pos is None:
                self.pos = (at + done) & MASK64
        if err and not done:
            raise SyscallError(err)
        return done

    def lseek(self, off, whence):
        """mem_lseek: SEEK_SET and SEEK_CUR to any 64-bit position, which is returned
        as is (large positions look negative, and are not errors)."""
        with self.lock:
            if whence == os.SEEK_SET:
                self.pos = off & MASK64
            elif whence == os.SEEK_CUR:
                self.pos = (self.pos + off) & MASK64
            else:
                raise SyscallError(abi.EINVAL)
            return self.pos


class MemFile(EmulatedFile):
    """/proc/<pid>/mem: file offsets are guest virtual addresses."""
    mode = 0o600
    name = b"mem"

    def transfer(self, buf, count, pos, write):
        return mem_transfer(self.k, buf, count, pos, write)


PM_PRESENT, PM_FILE, PM_MMAP_EXCLUSIVE = 1 << 63, 1 << 61, 1 << 56


class PagemapFile(EmulatedFile):
    """/proc/<pid>/pagemap: 8 bytes per guest page.  A page of a guest mapping that is
    in memory has PM_PRESENT (and PM_FILE for file and shared mappings,
    PM_MMAP_EXCLUSIVE for private ones); frame numbers are 0, as Linux shows them to a
    reader without CAP_SYS_ADMIN; no soft-dirty bit (arm64 has none); everything else
    is 0.  Reads past the arm64 task size (2**48) are end of file."""
    name = b"pagemap"

    def transfer(self, buf, count, pos, write):
        if pos % 8 or count % 8:
            return 0, abi.EINVAL
        first = pos // 8
        last = min(first + count // 8, TASK_SIZE >> PAGE_SHIFT)
        done = 0
        while first + done // 8 < last:
            vpn = first + done // 8
            m = min(last - vpn, 1 << 16)
            chunk = self._entries(vpn, m)
            bad = _first_bad(self.k.mem, buf + done, len(chunk), write=True)
            if bad is not None:
                return done, abi.EFAULT
            self.k.mem.write(buf + done, chunk)
            done += len(chunk)
        return done, 0

    def _entries(self, vpn, m):
        out = bytearray(8 * m)
        lo, hi = vpn << PAGE_SHIFT, min((vpn + m) << PAGE_SHIFT, ADDR_LIMIT)
        if lo >= hi:
            return bytes(out)
        with self.k.space.lock:
            for v in self.k.space.overlapping(lo, hi):
                a, b = max(v.start, lo), min(v.end, hi)
                flags = PM_PRESENT | (PM_FILE if v.backing is not None or v.shared
                                      else PM_MMAP_EXCLUSIVE)
                entry = struct.pack("<Q", flags)
                vec = _resident(self.k, a, b - a)
                at = 8 * ((a - lo) >> PAGE_SHIFT)
                for i, r in enumerate(vec):
                    if r & 1:
                        out[at + 8 * i: at + 8 * i + 8] = entry
        return bytes(out)


class SyscallFile(EmulatedFile):
    """/proc/<pid>/syscall: the syscall the guest thread is making (the read of this
    file), its six arguments, sp and pc, generated at each read."""
    mode = 0o400
    name = b"syscall"

    def transfer(self, buf, count, pos, write):
        cpu = self.k.cpu
        if cpu is None:
            text = b"running\n"
        else:
            text = (b"%d " % cpu.x[8] + b" ".join(b"0x%x" % cpu.x[i] for i in range(6))
                    + b" 0x%x 0x%x\n" % (cpu.sp, cpu.pc))
        data = text[pos:pos + count] if pos < len(text) else b""
        if data:
            if _first_bad(self.k.mem, buf, len(data), write=True) is not None:
                return 0, abi.EFAULT
            self.k.mem.write(buf, data)
        return len(data), 0

    def lseek(self, off, whence):
        """seq_lseek: SEEK_SET and SEEK_CUR to a position that is not negative."""
        with self.lock:
            new = off if whence == os.SEEK_SET else self.pos + off
            if whence not in (os.SEEK_SET, os.SEEK_CUR) or new < 0:
                raise SyscallError(abi.EINVAL)
            self.pos = new
            return new


_EMULATED = {b"/proc/self/mem": MemFile, b"/proc/self/pagemap": PagemapFile,
             b"/proc/self/syscall": SyscallFile}
# placeholder inode -> the emulated file it stands for (a reopen through
# /proc/self/fd/N opens the placeholder: it becomes a new open of the same file)
_PLACEHOLDERS = {}
_PLACEHOLDERS_LOCK = threading.Lock()


def _resident(k, addr, length):
    """mincore of guest pages (bytes, bit 0 = in memory)."""
    n = length >> PAGE_SHIFT
    vec = ctypes.create_string_buffer(n)
    if n and _libc.mincore(k.mem.host_addr(addr), length, vec) != 0:
        return bytes(n)
    return vec.raw


# -- text views -----------------------------------------------------------------------------
def _auxv(k):
    return b"".join(struct.pack("<QQ", t, v) for t, v in k.space.saved_auxv)


def _mem_range(k, start, end, fallback):
    if start and end > start:   # access_remote_vm, as Linux reads them (rights ignored)
        return read_forced(k, start, end - start)
    return fallback


def _cmdline(k):
    sp = k.space
    return _mem_range(k, sp.arg_start, sp.arg_end,
                      b"".join(os.fsencode(a) + b"\0" for a in k.cmdline))


def _environ(k):
    return _mem_range(k, k.space.env_start, k.space.env_end, b"")


def _image_ranges(k):
    """(start_code, end_code, start_data, end_data) of the guest program: the extent of
    its executable mappings and of its writable ones (0 when not known)."""
    name = k.exe_guest_path
    code = [v for v in k.space.vmas if name and v.name == name and v.prot & abi.PROT_EXEC]
    data = [v for v in k.space.vmas if name and v.name == name and v.prot & abi.PROT_WRITE]
    sc, ec = (code[0].start, code[-1].end) if code else (0, 0)
    sd, ed = (data[0].start, data[-1].end) if data else (0, 0)
    return sc, ec, sd, ed


def _vm_size(k):
    return sum(v.end - v.start for v in k.space.vmas)


def _stat(k):
    """The host's /proc/self/stat with the guest's name, size and layout."""
    raw = open("/proc/self/stat", "rb").read()
    head, _, tail = raw.rpartition(b") ")
    pid = head.split(b" (", 1)[0]
    fields = tail.split(b" ")
    # fields[0] is field 3 (state); field N is fields[N - 3]
    sp = k.space
    with sp.lock:
        sc, ec, sd, ed = _image_ranges(k)
        vsize = _vm_size(k)
    for n, v in ((23, vsize), (26, sc), (27, ec), (29, 0), (30, 0), (45, sd), (46, ed)):
        if len(fields) > n - 3:
            fields[n - 3] = b"%d" % v
    for n, v in ((28, sp.start_stack), (47, sp.brk_start), (48, sp.arg_start),
                 (49, sp.arg_end), (50, sp.env_start), (51, sp.env_end)):
        if len(fields) > n - 3 and v:
            fields[n - 3] = b"%d" % v
    return pid + b" (" + k.comm + b") " + b" ".join(fields)


def _status(k):
    """The host's /proc/self/status with the guest's name, size and signal state."""
    raw = open("/proc/self/status", "rb").read()
    raw = re.sub(rb"^Name:\t[^\n]*", lambda m: b"Name:\t" + k.comm, raw, count=1, flags=re.M)
    st = k.signals
    pend = sum(1 << (n - 1) for n in st.pending)
    ign = sum(1 << (n - 1) for n, a in st.actions.items() if a.sa_handler == abi.SIG_IGN)
    cgt = sum(1 << (n - 1) for n, a in st.actions.items()
              if a.sa_handler not in (abi.SIG_IGN, abi.SIG_DFL))
    for name, v in ((b"SigPnd", pend), (b"ShdPnd", pend), (b"SigBlk", st.masks.get(k.tid(), 0)),
                    (b"SigIgn", ign), (b"SigCgt", cgt)):
        raw = re.sub(rb"^" + name + rb":\t[^\n]*", lambda m: name + b":\t%016x" % v, raw,
                     count=1, flags=re.M)
    with k.space.lock:
        kb = _vm_size(k) >> 10
    for name in (b"VmPeak", b"VmSize"):     # not the emulator's 1 TiB reservation
        raw = re.sub(rb"^" + name + rb":[^\n]*", lambda m: name + b":\t%8d kB" % kb, raw,
                     count=1, flags=re.M)
    return raw


def _vmflags(v):
    """smaps VmFlags mnemonics of a guest VMA (in Linux's order)."""
    p, shared = v.prot, v.shared
    out = []
    if p & abi.PROT_READ:
        out.append("rd")
    if p & abi.PROT_WRITE:
        out.append("wr")
    if p & abi.PROT_EXEC:
        out.append("ex")
    if shared:
        out.append("sh")
    out += ["mr"]
    if not shared or v.backing is None or v.backing.writable:
        out.append("mw")
    out.append("me")
    if shared:
        out.append("ms")
    if v.name == "[stack]":
        out.append("gd")
    if not shared and (p & abi.PROT_WRITE or v.backing is None):
        out.append("ac")
    return " ".join(out) + " "


_SMAP_ZERO_TAIL = ("LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
                   "Shared_Hugetlb")


def _kb(label, n):
    return f"{label + ':':<16}{n:>8} kB\n"


def _usage(k, v):
    """(resident kB, anonymous kB) of one guest VMA."""
    rss = _resident(k, v.start, v.end - v.start).count(1) * (PAGE_SIZE >> 10)
    return rss, (rss if v.backing is None and not v.shared else 0)


def _smap_fields(rss, anon, rollup=False, anon_pss=0):
    priv_dirty = anon
    priv_clean = rss - anon
    out = _kb("Rss", rss) + _kb("Pss", rss) + _kb("Pss_Dirty", priv_dirty)
    if rollup:
        out += _kb("Pss_Anon", anon_pss) + _kb("Pss_File", rss - anon_pss) + _kb("Pss_Shmem", 0)
    out += (_kb("Shared_Clean", 0) + _kb("Shared_Dirty", 0) + _kb("Private_Clean", priv_clean)
            + _kb("Private_Dirty", priv_dirty) + _kb("Referenced", rss) + _kb("Anonymous", anon))
    out += "".join(_kb(n, 0) for n in _SMAP_ZERO_TAIL)
    out += f"Private_Hugetlb: {0:>7} kB\n" + _kb("Swap", 0) + _kb("SwapPss", 0) + _kb("Locked", 0)
    return out


def _smaps(k):
    """/proc/self/smaps: maps' lines, each with the sizes of its guest pages."""
    with k.space.lock:
        vmas = list(k.space.vmas)
        heads = k.space.maps_text().splitlines()
        out = []
        for v, head in zip(vmas, heads):
            rss, anon = _usage(k, v)
            out.append(head + "\n" + _kb("Size", (v.end - v.start) >> 10)
                       + _kb("KernelPageSize", 4) + _kb("MMUPageSize", 4)
                       + _smap_fields(rss, anon) + "THPeligible:    0\n"
                       + "VmFlags: " + _vmflags(v) + "\n")
    return "".join(out).encode()


def _smaps_rollup(k):
    with k.space.lock:
        vmas = list(k.space.vmas)
        rss = anon = 0
        for v in vmas:
            r, a = _usage(k, v)
            rss, anon = rss + r, anon + a
    lo, hi = (vmas[0].start, vmas[-1].end) if vmas else (0, 0)
    head = f"{lo:08x}-{hi:08x} ---p 00000000 00:00 0".ljust(73) + "[rollup]\n"
    return (head + _smap_fields(rss, anon, rollup=True, anon_pss=anon)).encode()


def _numa_maps(k):
    lines = []
    with k.space.lock:
        for v in k.space.vmas:
            line = f"{v.start:08x} default"
            if v.backing is not None:
                line += " file=" + v.name
            elif v.name == "[heap]":
                line += " heap"
            elif v.name == "[stack]":
                line += " stack"
            pages = _resident(k, v.start, v.end - v.start).count(1)
            if pages:
                if v.backing is None and not v.shared:
                    line += f" anon={pages} dirty={pages}"
                else:
                    line += f" mapped={pages}"
                line += f" N0={pages} kernelpagesize_kB=4"
            lines.append(line + "\n")
    return "".join(lines).encode()


_FILES = {
    b"/proc/self/maps": lambda k: k.space.maps_text().encode(),
    b"/proc/self/smaps": _smaps,
    b"/proc/self/smaps_rollup": _smaps_rollup,
    b"/proc/self/numa_maps": _numa_maps,
    b"/proc/self/auxv": _auxv,
    b"/proc/self/cmdline": _cmdline,
    b"/proc/self/environ": _environ,
    b"/proc/self/comm": lambda k: k.comm + b"\n",
    b"/proc/self/stat": _stat,
    b"/proc/self/status": _status,
    b"/proc/cpuinfo": lambda k: cpuinfo.cpuinfo_text(os.cpu_count() or 1).encode(),
}
# views a write open may still reach the host's file for (comm: the thread's name)
_WRITABLE_ON_HOST = frozenset({b"/proc/self/comm"})


# -- opening views ----------------------------------------------------------------------------
class View:
    """What the guest gets instead of a host /proc file: a host fd (a snapshot or a
    placeholder memfd), the name readlink shows, and the emulated file if any."""
    __slots__ = ("host", "virtual", "emul")

    def __init__(self, host, virtual, emul=None):
        self.host, self.virtual, self.emul = host, virtual, emul


def _memfd(data, mode, acc):
    """A memfd holding data, reopened with the access mode acc (so fcntl F_GETFL and
    host reads/writes on it behave as the guest's open asked)."""
    h = os.memfd_create("emu-proc", os.MFD_CLOEXEC)
    try:
        if data:
            os.write(h, data)
        os.fchmod(h, mode)
        host_acc = {abi.O_RDONLY: os.O_RDONLY, abi.O_WRONLY: os.O_WRONLY}.get(acc, os.O_RDWR)
        return os.open(b"/proc/self/fd/%d" % h, host_acc | os.O_CLOEXEC)
    finally:
        os.close(h)


def _emulated_view(k, cls, acc):
    if cls is not MemFile and acc != abi.O_RDONLY:
        raise SyscallError(abi.EACCES)
    emul = cls(k, acc)
    h = _memfd(b"", cls.mode, acc)
    st = os.fstat(h)
    with _PLACEHOLDERS_LOCK:
        for key in [key for key, ref in _PLACEHOLDERS.items() if ref() is None]:
            del _PLACEHOLDERS[key]
        _PLACEHOLDERS[(st.st_dev, st.st_ino)] = weakref.ref(emul)
    return View(h, b"/proc/%d/%s" % (os.getpid(), cls.name), emul)


def open_view(k, hp, flags):
    """The View for a guest open of /proc path hp (after resolve), or None when the
    host's file is what the guest gets.  Raises SyscallError for refused opens."""
    if flags & abi.O_PATH:
        return None
    p = normalise(hp)
    cls = _EMULATED.get(p)
    fn = _FILES.get(p)
    if cls is None and fn is None:
        return None
    if flags & abi.O_DIRECTORY:
        raise SyscallError(abi.ENOTDIR)
    if flags & abi.O_CREAT and flags & abi.O_EXCL:
        raise SyscallError(abi.EEXIST)
    acc = flags & abi.O_ACCMODE
    if cls is not None:
        return _emulated_view(k, cls, acc)
    if acc != abi.O_RDONLY:
        if p in _WRITABLE_ON_HOST:
            return None
        raise SyscallError(abi.EACCES)
    return View(_memfd(fn(k), 0o444, abi.O_RDONLY), p)


_PROC_DEVS = {}             # st_dev -> is it a procfs (fstatfs is slow on some file systems)


def _on_procfs(h, st):
    known = _PROC_DEVS.get(st.st_dev)
    if known is None:
        buf = ctypes.create_string_buffer(120)
        known = _libc.fstatfs(h, buf) == 0 and \
            struct.unpack_from("<q", buf.raw)[0] == PROC_SUPER_MAGIC
        _PROC_DEVS[st.st_dev] = known
    return known


# /proc/<pid>[/task/<tid>]/<name> as d_path shows an opened proc file
_OPENED = re.compile(rb"/(\d+)/(?:task/(\d+)/)?([a-z_]+)$")
_OTHERS_REFUSED = frozenset({b"mem", b"pagemap"})


def vet(k, h, flags):
    """After a host open made for the guest: if host fd h is one of this process's own
    /proc files the emulator answers (reached by a symlink, `..`, a directory fd,
    /proc/self/root/proc/...), or a reopen of an emulated file's placeholder, close it
    and return the View to install instead; None keeps h.  The host's mem or pagemap
    of another process is refused with EACCES (h closed)."""
    if flags & abi.O_PATH:
        return None
    try:
        st = os.fstat(h)
    except OSError:
        return None
    if _PLACEHOLDERS:
        ref = _PLACEHOLDERS.get((st.st_dev, st.st_ino))
        emul = ref() if ref is not None else None
        if emul is not None:
            os.close(h)
            return _emulated_view(k, type(emul), flags & abi.O_ACCMODE)
    if not _on_procfs(h, st):
        return None
    try:
        target = os.readlink(b"/proc/self/fd/%d" % h)
    except OSError:
        return None
    m = _OPENED.search(target)
    if not m:
        return None
    pid, name = int(m.group(1)), m.group(3)
    own = _own_tid(pid)
    try:
        if not own:
            if name in _OTHERS_REFUSED:
                raise SyscallError(abi.EACCES)
            return None
        view = open_view(k, b"/proc/self/" + name, flags & ~(abi.O_CREAT | abi.O_EXCL))
    except BaseException:
        os.close(h)
        raise
    if view is not None:
        os.close(h)
    return view


# -- directories --------------------------------------------------------------------------------
def fd_dirents(k):
    """getdents64 entries for /proc/self/fd: the guest's descriptors."""
    ents = [(1, abi.DT_DIR, b"."), (1, abi.DT_DIR, b"..")]
    for n in sorted(k.fds.files):
        ents.append((n + 1000, abi.DT_LNK, b"%d" % n))
    return ents


def map_files_dirents(k):
    """getdents64 entries for /proc/self/map_files: one link per guest file mapping."""
    ents = [(1, abi.DT_DIR, b"."), (1, abi.DT_DIR, b"..")]
    with k.space.lock:
        for i, v in enumerate(k.space.vmas):
            if v.backing is not None:
                ents.append((i + 1000, abi.DT_LNK, b"%x-%x" % (v.start, v.end)))
    return ents


def dir_lister(k, hp):
    """The function listing a /proc directory the guest sees differently, or None."""
    p = normalise(hp.rstrip(b"/"))
    if p == b"/proc/self/fd":
        return lambda: fd_dirents(k)
    if p == b"/proc/self/map_files":
        return lambda: map_files_dirents(k)
    return None


def _map_file_vma(k, start, end):
    with k.space.lock:
        v = k.space.find(start)
    if v is None or v.start != start or v.end != end or v.backing is None:
        raise SyscallError(abi.ENOENT)
    return v


def _map_file_target(k, start, end):
    """Following a map_files link opens the mapped file (CAP_CHECKPOINT_RESTORE only)."""
    v = _map_file_vma(k, start, end)
    if os.geteuid() != 0:
        raise SyscallError(abi.EPERM)
    return os.fsencode(v.backing.path)
