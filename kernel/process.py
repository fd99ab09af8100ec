"""Process and thread lifetime: exit, tid bookkeeping, prctl.

Owns: exit, exit_group (flush shared file mappings, then raise
ProcessExit), set_tid_address, set_robust_list/get_robust_list (recorded),
rseq (ENOSYS: glibc then runs without it), prctl (PR_SET_NAME/GET_NAME,
dumpable, pdeathsig, tid address kept here; thread/process attributes the
host keeps for the calling thread passed through: no_new_privs, child
subreaper, timer slack, keepcaps, capability bounding set...; seccomp
filters, SVE/PAC/MTE controls refused with EINVAL), and the ENOSYS stub for
syscalls deliberately left unimplemented.  Does not own: clone/execve/wait (later), signals (signal.py).
"""
import ctypes

from kernel import abi
from kernel.errors import ProcessExit, SyscallError
from kernel.status import deliberate_enosys, partial
from kernel.uaccess import s32


@partial("ends the whole process (guest threads are not implemented yet)")
def sys_exit(k, status):
    k.finish()
    raise ProcessExit(status & 0xFF, group=False)


def sys_exit_group(k, status):
    k.finish()
    raise ProcessExit(status & 0xFF)


def sys_set_tid_address(k, tidptr):
    k.clear_child_tid[k.tid()] = tidptr
    return k.tid()


@partial("recorded; the list is not walked when a thread exits")
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


@deliberate_enosys("glibc and the runtimes fall back when it is missing")
def sys_enosys(k, *args):
    """Known syscalls deliberately answered with ENOSYS (rseq, membarrier)."""
    raise SyscallError(abi.ENOSYS)


@partial("names, dumpable, pdeathsig, tid address; thread attributes passed to the host; "
         "seccomp, SVE/SME, PAC, MTE, PR_SET_MM, PR_SET_VMA: EINVAL")
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
    if option == PR_GET_CHILD_SUBREAPER:
        k.mem.check(arg2, 4, write=True)
        val = ctypes.c_int()
        _host_prctl(option, ctypes.addressof(val), 0, 0, 0)
        k.mem.write_u32(arg2, val.value)
        return 0
    if option == PR_GET_TID_ADDRESS:
        k.mem.write_u64(arg2, k.clear_child_tid.get(k.tid(), 0))
        return 0
    if option in _PRCTL_HOST:
        # Attributes of the calling thread/process that the host keeps for us
        # (the guest thread is this host thread); no pointer arguments.
        return _host_prctl(option, arg2, arg3, arg4, arg5)
    # PR_SET_SECCOMP (a filter for AArch64 numbers must not reach the host),
    # SVE/SME vector lengths, pointer authentication, tagged addresses, MTE,
    # PR_SET_MM, PR_SET_VMA and unknown options.
    raise SyscallError(abi.EINVAL)


PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 7, 8
PR_GET_TIMING, PR_SET_TIMING = 13, 14
PR_GET_SECCOMP = 21
PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_GET_TIMERSLACK, PR_SET_TIMERSLACK = 30, 29
PR_MCE_KILL, PR_MCE_KILL_GET = 33, 34
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_GET_TID_ADDRESS = 40
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
PR_CAP_AMBIENT = 47
PR_SET_PTRACER = 0x59616D61
_PRCTL_HOST = {PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_GET_TIMING, PR_SET_TIMING, PR_GET_SECCOMP,
               PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK,
               PR_MCE_KILL, PR_MCE_KILL_GET, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS,
               PR_GET_NO_NEW_PRIVS, PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_CAP_AMBIENT,
               PR_SET_PTRACER}
_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4


def _host_prctl(option, a2, a3, a4, a5):
    r = _libc.prctl(option, a2, a3, a4, a5)
    if r < 0:
        raise SyscallError(ctypes.get_errno())
    return r
