"""Guest paths -> host paths, with `-L ROOTFS` (the guest's root directory).

Owns: turning a guest (dirfd, path) pair into what the host call needs, and
the guest's view of host paths (getcwd, readlink of /proc/self/fd/N).

Without a rootfs guest paths are host paths (only the /proc/self views of
procfs.py are rewritten).  With a rootfs R, every path that starts inside R
is walked here component by component, like the kernel's path walk with R
as the root (a chroot):
  * `..` at the guest root stays at the root: nothing escapes R that way;
  * a symlink inside R with an absolute target is re-rooted in R
    (/usr/bin/awk -> /etc/alternatives/awk -> /usr/bin/mawk all inside R);
    relative targets are spliced in; more than 40 links -> ELOOP;
  * /proc, /sys and /dev are always the host's (the rootfs copies, if any,
    are empty directories), also when a symlink inside R leads there.
An absolute path that does not exist in R falls back to the host path (the
qemu-user convention: /tmp/x made by the host is readable by the guest),
except that a missing last component whose parent directory exists in R is
created inside R (files a guest writes next to its own files stay in R).
Relative paths follow the current directory: inside R they are walked in
R, outside R (the guest chdir'ed to a host-only directory) the host
resolves them.  The final component is followed or not as the syscall asks
(`follow`); intermediate symlinks are always followed.
Does not own: the /proc/self views (procfs.py), the syscalls (fs.py).
"""
import os
import stat as _stat

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import s32

MAXSYMLINKS = 40
HOST_ONLY = frozenset({b"proc", b"sys", b"dev"})   # top-level guest dirs that are the host's

# walk() outcomes
FOUND = 0       # the path exists inside the rootfs
CREATE = 1      # all but the last component exist inside the rootfs
MISSING = 2     # an intermediate component is missing (or not a directory)
HOST = 3        # the walk reached /proc, /sys or /dev: value is a guest absolute path
DANGLING = 4    # the path is a symlink inside the rootfs whose target does not resolve:
                # value is where the target would be (O_CREAT creates it there)


def split(path):
    """Components of a path (bytes), without empty ones and '.'."""
    return [c for c in path.split(b"/") if c and c != b"."]


def walk(root, start, path, follow=True):
    """Resolve `path` inside the directory tree `root` (bytes, no trailing /).

    start: the components of the directory relative paths start from (a
    list, physical: no symlinks in it).  Returns (outcome, value): for
    FOUND/CREATE/MISSING value is the host path to use (for MISSING the
    host call fails with the right errno at the missing component, before
    any later `..` could climb out of root); for HOST a guest path.
    """
    if path.startswith(b"/"):
        stack = []
    else:
        stack = list(start)
    todo = split(path)
    trailing = path.endswith(b"/") or path.endswith(b"/.") or path == b"."
    if trailing:
        follow = True
    links = 0
    via_last_link = False               # the last component was a symlink we followed
    while todo:
        c = todo.pop(0)
        if c == b"..":
            if stack:
                stack.pop()
            continue
        if not stack and c in HOST_ONLY:
            return HOST, b"/" + b"/".join([c] + todo) + (b"/" if trailing and todo else b"")
        cand = root + b"/" + b"/".join(stack + [c])
        last = not todo
        try:
            st = os.lstat(cand)
        except FileNotFoundError:
            if last:
                return (DANGLING if via_last_link else CREATE), cand + (b"/" if trailing else b"")
            return (DANGLING if via_last_link else MISSING), cand + b"/" + b"/".join(todo)
        except NotADirectoryError:
            return (DANGLING if via_last_link else MISSING), \
                cand + (b"/" + b"/".join(todo) if todo else b"")
        except OSError as e:
            raise SyscallError(e.errno or abi.ENOENT) from None
        if _stat.S_ISLNK(st.st_mode) and (not last or follow):
            links += 1
            if links > MAXSYMLINKS:
                raise SyscallError(abi.ELOOP)
            target = os.readlink(cand)
            if target.startswith(b"/"):
                stack = []
            todo = split(target) + todo
            via_last_link = via_last_link or last
            continue
        if not last and not _stat.S_ISDIR(st.st_mode):
            return (DANGLING if via_last_link else MISSING), cand + b"/" + b"/".join(todo)
        stack.append(c)
    out = root + b"/" + b"/".join(stack) if stack else root + b"/"
    if trailing and stack:
        out += b"/"
    return FOUND, out


def to_guest(k, host_path):
    """A host path as the guest names it: the rootfs prefix removed."""
    p = os.fsencode(host_path)
    root = k.rootfs_b
    if root and (p == root or p.startswith(root + b"/")):
        return p[len(root):] or b"/"
    return p


def _inside(k, host_path):
    """Guest components of a host path inside the rootfs, or None."""
    root = k.rootfs_b
    if host_path == root:
        return []
    if host_path.startswith(root + b"/"):
        return split(host_path[len(root):])
    return None


def lookup_abs(root, path, follow=True):
    """An absolute guest path -> (outcome, host path or guest /proc... path),
    with the host fallback applied (no Kernel needed: the loader uses it)."""
    outcome, value = walk(root, [], path, follow)
    if outcome in (FOUND, HOST, DANGLING):
        return outcome, value
    if os.path.lexists(path):                 # not in the rootfs, but on the host
        return MISSING, path
    if outcome == CREATE:
        return CREATE, value
    return MISSING, path                      # the host says ENOENT/ENOTDIR (or creates it)


def resolve(k, dirfd, path, follow=True):
    """(host path, host dir_fd or None) for a guest (dirfd, path) pair.

    follow: whether a symlink in the last component is followed (stat vs
    lstat, open vs O_NOFOLLOW).  Empty paths are ENOENT (callers handle
    AT_EMPTY_PATH first).
    """
    from kernel import procfs
    if not path:
        raise SyscallError(abi.ENOENT)
    root = k.rootfs_b
    if path.startswith(b"/"):
        if root is None or path.startswith((b"/proc/", b"/sys/", b"/dev/")):
            return procfs.host_path(k, path, follow), None
        outcome, value = lookup_abs(root, path, follow)
        if outcome == HOST:
            return procfs.host_path(k, value, follow), None
        return value, None
    dirfd = s32(dirfd)
    if root is None:
        return path, (None if dirfd == abi.AT_FDCWD else k.fds.host(dirfd))
    if dirfd == abi.AT_FDCWD:
        h, base = None, os.getcwdb()
    else:
        h = k.fds.host(dirfd)
        if not _stat.S_ISDIR(os.fstat(h).st_mode):
            raise SyscallError(abi.ENOTDIR)
        try:
            base = os.readlink(b"/proc/self/fd/%d" % h)
        except OSError:
            return path, h
    start = _inside(k, base)
    if start is None:                          # a directory outside the rootfs: the host's
        return path, h
    outcome, value = walk(root, start, path, follow)
    if outcome == HOST:
        return procfs.host_path(k, value, follow), None
    return value, None


def guest_cwd(k):
    """The current directory as the guest sees it (bytes)."""
    return to_guest(k, os.getcwdb())
