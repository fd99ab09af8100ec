"""Process and thread lifetime: exit, tid bookkeeping, prctl.

Owns: exit, exit_group (flush shared file mappings, then raise
ProcessExit), set_tid_address, set_robust_list/get_robust_list (recorded),
rseq (ENOSYS: glibc then runs without it), prctl (PR_SET_NAME/GET_NAME,
dumpable, pdeathsig), and the ENOSYS stub for syscalls deliberately left
unimplemented.  Does not own: clone/execve/wait (later), signals (signal.py).
"""
from kernel import abi
from kernel.errors import ProcessExit, SyscallError
from kernel.uaccess import s32


def sys_exit(k, status):
    k.finish()
    raise ProcessExit(status & 0xFF, group=False)


def sys_exit_group(k, status):
    k.finish()
    raise ProcessExit(status & 0xFF)


def sys_set_tid_address(k, tidptr):
    k.clear_child_tid[k.tid()] = tidptr
    return k.tid()


def sys_set_robust_list(k, head, length):
    if length != abi.ROBUST_LIST_HEAD_SIZE:
        raise SyscallError(abi.EINVAL)
    k.robust_list[k.tid()] = head
    return 0


def sys_get_robust_list(k, pid, head_ptr, len_ptr):
    if s32(pid) not in (0, k.tid()):
        raise SyscallError(abi.EPERM)
    k.mem.write_u64(head_ptr, k.robust_list.get(k.tid(), 0))
    k.mem.write_u64(len_ptr, abi.ROBUST_LIST_HEAD_SIZE)
    return 0


def sys_enosys(k, *args):
    """Known syscalls deliberately answered with ENOSYS (rseq, membarrier)."""
    raise SyscallError(abi.ENOSYS)


def sys_prctl(k, option, arg2, arg3, arg4, arg5):
    option = s32(option)
    if option == abi.PR_SET_NAME:
        first = min(16, 4096 - (arg2 & 4095))
        raw = k.mem.read(arg2, first)
        if b"\0" not in raw and first < 16:
            raw += k.mem.read(arg2 + first, 16 - first)
        k.comm = raw.split(b"\0")[0][:15]
        return 0
    if option == abi.PR_GET_NAME:
        k.mem.write(arg2, k.comm[:15].ljust(16, b"\0"))
        return 0
    if option == abi.PR_GET_DUMPABLE:
        return k.dumpable
    if option == abi.PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise SyscallError(abi.EINVAL)
        k.dumpable = arg2
        return 0
    if option == abi.PR_SET_PDEATHSIG:
        k.pdeathsig = s32(arg2)
        return 0
    if option == abi.PR_GET_PDEATHSIG:
        k.mem.write_u32(arg2, k.pdeathsig)
        return 0
    raise SyscallError(abi.EINVAL)
