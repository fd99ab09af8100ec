"""/proc as the guest should see it.

Owns: the guest's views of the host's procfs: /proc/<our pid>/ and
/proc/thread-self/ mean /proc/self/; /proc/self/exe is the guest program
(its guest path for readlink, its file for open); /proc/self/fd/N follows
the guest fd table (open, readlink, and the directory listing);
/proc/self/cwd and /proc/self/root in guest terms; and the files whose
contents come from the emulator, opened read-only as a snapshot:
  /proc/self/maps      the guest memory map (kernel/vma.py)
  /proc/self/auxv      the auxiliary vector the loader built (the real bytes)
  /proc/self/cmdline   /proc/self/environ   read from guest memory, as Linux does
  /proc/self/comm      /proc/self/stat      /proc/self/status   (guest name, stack,
                                                                 signal masks)
  /proc/cpuinfo        an AArch64 view (kernel/cpuinfo.py)
Everything else under /proc, /sys and /dev is the host's.
Does not own: path walking (path.py), opening files (fs.py).
"""
import os
import re
import struct

from kernel import abi, cpuinfo
from kernel.errors import SyscallError

_PROC_FD = re.compile(rb"^/proc/self/fd/(\d+)(/.*)?$")


def normalise(path):
    """/proc/<our pid>/... and /proc/thread-self/... -> /proc/self/..."""
    for prefix in (b"/proc/%d/" % os.getpid(), b"/proc/thread-self/"):
        if path.startswith(prefix):
            return b"/proc/self/" + path[len(prefix):]
    for whole in (b"/proc/%d" % os.getpid(), b"/proc/thread-self"):
        if path == whole:
            return b"/proc/self"
    return path


def host_path(k, path, follow=True):
    """A guest path under /proc, /sys or /dev -> the host path to use."""
    if not path.startswith(b"/proc/"):
        return path
    path = normalise(path)
    if follow:
        if path == b"/proc/self/exe" and k.exe_path:
            return os.fsencode(k.exe_path)
        if path == b"/proc/self/root" and k.rootfs_b:
            return k.rootfs_b
    m = _PROC_FD.match(path)
    if m:
        f = k.fds.files.get(int(m.group(1)))
        if f is None:
            raise SyscallError(abi.ENOENT)
        return b"/proc/self/fd/%d%s" % (f.host, m.group(2) or b"")
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
    m = _PROC_FD.match(path)
    if m and not m.group(2):
        f = k.fds.files.get(int(m.group(1)))
        if f is None:
            raise SyscallError(abi.ENOENT)
        if f.virtual is not None:
            return f.virtual
        target = os.readlink(b"/proc/self/fd/%d" % f.host)
        return _guest_target(k, target)
    return None


def _guest_target(k, target):
    from kernel.path import to_guest
    return to_guest(k, target) if target.startswith(b"/") else target


# -- files whose contents the emulator provides -------------------------------------
def _auxv(k):
    return b"".join(struct.pack("<QQ", t, v) for t, v in k.space.saved_auxv)


def _mem_range(k, start, end, fallback):
    if start and end > start:
        try:
            return k.mem.read(start, end - start)
        except Exception:       # unmapped by the guest: what Linux shows is empty
            return b""
    return fallback


def _cmdline(k):
    sp = k.space
    return _mem_range(k, sp.arg_start, sp.arg_end,
                      b"".join(os.fsencode(a) + b"\0" for a in k.cmdline))


def _environ(k):
    return _mem_range(k, k.space.env_start, k.space.env_end, b"")


def _stat(k):
    """The host's /proc/self/stat with the guest's name and stack start."""
    raw = open("/proc/self/stat", "rb").read()
    head, _, tail = raw.rpartition(b") ")
    pid = head.split(b" (", 1)[0]
    fields = tail.split(b" ")
    # fields[0] is field 3 (state); field N is fields[N - 3]
    sp = k.space
    for n, v in ((28, sp.start_stack), (47, sp.brk_start), (48, sp.arg_start),
                 (49, sp.arg_end), (50, sp.env_start), (51, sp.env_end)):
        if len(fields) > n - 3 and v:
            fields[n - 3] = b"%d" % v
    return pid + b" (" + k.comm + b") " + b" ".join(fields)


def _status(k):
    """The host's /proc/self/status with the guest's name and signal state."""
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
    return raw


_FILES = {
    b"/proc/self/maps": lambda k: k.space.maps_text().encode(),
    b"/proc/self/auxv": _auxv,
    b"/proc/self/cmdline": _cmdline,
    b"/proc/self/environ": _environ,
    b"/proc/self/comm": lambda k: k.comm + b"\n",
    b"/proc/self/stat": _stat,
    b"/proc/self/status": _status,
    b"/proc/cpuinfo": lambda k: cpuinfo.cpuinfo_text(os.cpu_count() or 1).encode(),
}


def contents(k, path):
    """The bytes of a /proc file the emulator provides, or None."""
    fn = _FILES.get(normalise(path))
    return fn(k) if fn is not None else None


def is_fd_dir(path):
    return normalise(path.rstrip(b"/")) == b"/proc/self/fd"


def fd_dirents(k):
    """getdents64 entries for /proc/self/fd: the guest's descriptors."""
    ents = [(1, abi.DT_DIR, b"."), (1, abi.DT_DIR, b"..")]
    for n in sorted(k.fds.files):
        ents.append((n + 1000, abi.DT_LNK, b"%d" % n))
    return ents
