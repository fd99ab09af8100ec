"""Memory-management syscalls: argument checks in front of kernel/vma.py.

Owns: brk, mmap (anonymous, and file-backed by copying file bytes; MAP_SHARED
file mappings are written back by vma.py), munmap, mprotect, madvise,
mremap, msync, mincore.  Does not own: the VMA list or host memory (vma.py
and emu/memory.py).
"""
import fcntl
import os
import stat

from emu.memory import ADDR_LIMIT, PAGE_MASK, page_ceil
from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import s32
from kernel.vma import MMAP_MIN, Backing


def sys_brk(k, addr):
    return k.space.brk(addr)


# Every flag Linux 6.1 knows (LEGACY_MAP_MASK, MAP_SYNC, the hugetlb size bits):
# MAP_SHARED_VALIDATE refuses the others with EOPNOTSUPP.
_MAP_KNOWN = (abi.MAP_TYPE | abi.MAP_FIXED | abi.MAP_ANONYMOUS | abi.MAP_GROWSDOWN
              | abi.MAP_DENYWRITE | abi.MAP_EXECUTABLE | abi.MAP_LOCKED | abi.MAP_NORESERVE
              | abi.MAP_POPULATE | abi.MAP_NONBLOCK | abi.MAP_STACK | abi.MAP_HUGETLB
              | 0x80000 | abi.MAP_FIXED_NOREPLACE | 0x4000000 | (0x3F << 26))


@partial("MAP_GROWSDOWN does not grow; whole pages past the end of a file read as zero "
         "(Linux: SIGBUS); MAP_HUGETLB gives ordinary pages")
def sys_mmap(k, addr, length, prot, flags, fd, offset):
    if length == 0 or offset & PAGE_MASK:
        raise SyscallError(abi.EINVAL)
    if length > ADDR_LIMIT:
        raise SyscallError(abi.ENOMEM)
    if flags & abi.MAP_TYPE not in (abi.MAP_SHARED, abi.MAP_PRIVATE, abi.MAP_SHARED_VALIDATE):
        raise SyscallError(abi.EINVAL)
    if flags & abi.MAP_TYPE == abi.MAP_SHARED_VALIDATE and flags & ~_MAP_KNOWN:
        raise SyscallError(abi.EOPNOTSUPP)
    if flags & (abi.MAP_FIXED | abi.MAP_FIXED_NOREPLACE) and addr < MMAP_MIN:
        raise SyscallError(abi.EPERM)         # vm.mmap_min_addr
    if flags & abi.MAP_ANONYMOUS:
        return k.space.map(addr, length, prot, flags)
    h = k.fds.host(fd)
    st = os.fstat(h)
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode):      # /dev/zero and friends: anonymous memory
            return k.space.map(addr, length, prot, flags | abi.MAP_ANONYMOUS)
        raise SyscallError(abi.ENODEV)
    acc = fcntl.fcntl(h, fcntl.F_GETFL) & os.O_ACCMODE
    shared = flags & abi.MAP_TYPE != abi.MAP_PRIVATE
    if acc == os.O_WRONLY or (shared and prot & abi.PROT_WRITE and acc != os.O_RDWR):
        raise SyscallError(abi.EACCES)
    try:
        host_path = os.readlink(f"/proc/self/fd/{h}")
    except OSError:
        host_path = ""
    path = k.guest_path(host_path) if host_path else ""
    backing = Backing(host_path, st.st_dev, st.st_ino,
                      fd=os.dup(h) if shared and acc == os.O_RDWR else None,
                      writable=acc == os.O_RDWR)
    try:
        return k.space.map(addr, length, prot, flags, name=path, offset=offset,
                           backing=backing, src_fd=h)
    except BaseException:
        if backing.fd is not None:
            os.close(backing.fd)
        raise


def sys_munmap(k, addr, length):
    return k.space.unmap(addr, length)


def sys_mprotect(k, addr, length, prot):
    return k.space.protect(addr, length, prot)


# Advice values Linux 6.1 accepts (mman-common.h); anything else is EINVAL.
_MADV_VALID = frozenset(range(0, 5)) | frozenset(range(8, 26)) | {100, 101}


def sys_madvise(k, addr, length, advice):
    advice = s32(advice)
    if addr & PAGE_MASK or advice not in _MADV_VALID:
        raise SyscallError(abi.EINVAL)
    if length == 0:
        return 0
    if advice in (abi.MADV_DONTNEED, abi.MADV_DONTNEED_LOCKED):
        return k.space.dontneed(addr, length)
    if advice == abi.MADV_REMOVE:
        return k.space.dontneed(addr, length, shared_too=True)
    # Hints (and MADV_FREE, which may keep contents) need no action, but the
    # range must be mapped, as on Linux.
    k.space.require_mapped(addr, addr + page_ceil(length))
    return 0


def sys_mremap(k, old, old_len, new_len, flags, new_addr):
    return k.space.remap(old, old_len, new_len, flags, new_addr)


def sys_msync(k, addr, length, flags):
    if flags & ~(abi.MS_ASYNC | abi.MS_INVALIDATE | abi.MS_SYNC) or \
            (flags & abi.MS_ASYNC and flags & abi.MS_SYNC):
        raise SyscallError(abi.EINVAL)
    return k.space.sync(addr, length, flags)


def sys_mincore(k, addr, length, vec):
    if addr & PAGE_MASK:
        raise SyscallError(abi.EINVAL)
    end = addr + page_ceil(length)
    k.space.require_mapped(addr, end)
    k.mem.write(vec, b"\1" * ((end - addr) >> 12))
    return 0


# -- locking and protection keys: accepted, nothing is ever swapped out here ---------
MLOCK_ONFAULT = 1
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


def _locked_range(k, addr, length):
    start = addr & ~PAGE_MASK
    end = page_ceil(addr + length)
    if end < start:
        raise SyscallError(abi.EINVAL)
    if end > start:
        k.space.require_mapped(start, end)
    return 0


def sys_mlock(k, addr, length):
    """mlock and munlock: the range must be mapped; nothing else to do."""
    return _locked_range(k, addr, length)


def sys_mlock2(k, addr, length, flags):
    if flags & ~MLOCK_ONFAULT:
        raise SyscallError(abi.EINVAL)
    return _locked_range(k, addr, length)


def sys_mlockall(k, flags):
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise SyscallError(abi.EINVAL)
    return 0


def sys_munlockall(k):
    return 0


def sys_pkey_mprotect(k, addr, length, prot, pkey):
    """Without memory protection keys only pkey -1 (plain mprotect) is valid."""
    if s32(pkey) != -1:
        raise SyscallError(abi.EINVAL)
    return k.space.protect(addr, length, prot)


def sys_pkey_alloc(k, flags, access_rights):
    if flags or access_rights & ~3:
        raise SyscallError(abi.EINVAL)
    raise SyscallError(abi.ENOSPC)         # arm64 without POE: no keys to hand out


def sys_pkey_free(k, pkey):
    raise SyscallError(abi.EINVAL)
