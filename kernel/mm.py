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
from kernel.uaccess import s32
from kernel.vma import MMAP_MIN, Backing


def sys_brk(k, addr):
    return k.space.brk(addr)


def sys_mmap(k, addr, length, prot, flags, fd, offset):
    if length == 0 or offset & PAGE_MASK:
        raise SyscallError(abi.EINVAL)
    if length > ADDR_LIMIT:
        raise SyscallError(abi.ENOMEM)
    if flags & abi.MAP_TYPE not in (abi.MAP_SHARED, abi.MAP_PRIVATE, abi.MAP_SHARED_VALIDATE):
        raise SyscallError(abi.EINVAL)
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


def sys_madvise(k, addr, length, advice):
    if addr & PAGE_MASK:
        raise SyscallError(abi.EINVAL)
    if s32(advice) == abi.MADV_DONTNEED:
        return k.space.dontneed(addr, length)
    return 0        # hints (and MADV_FREE, which may keep contents) need no action


def sys_mremap(k, old, old_len, new_len, flags, new_addr):
    return k.space.remap(old, old_len, new_len, flags, new_addr)


def sys_msync(k, addr, length, flags):
    if flags & ~(abi.MS_ASYNC | abi.MS_INVALIDATE | abi.MS_SYNC) or \
            (flags & abi.MS_ASYNC and flags & abi.MS_SYNC):
        raise SyscallError(abi.EINVAL)
    return k.space.sync(addr, length)


def sys_mincore(k, addr, length, vec):
    if addr & PAGE_MASK:
        raise SyscallError(abi.EINVAL)
    end = addr + page_ceil(length)
    k.space.require_mapped(addr, end)
    k.mem.write(vec, b"\1" * ((end - addr) >> 12))
    return 0
