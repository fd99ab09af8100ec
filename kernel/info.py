"""System and identity information: what machine and user the guest sees.

Owns: uname (machine "aarch64"), sysinfo, the pid/uid/gid family (the host's
ids: guest threads are host threads), resource limits (kept per guest
process, seeded from the host; only RLIMIT_NOFILE is applied to the host,
so a guest RLIMIT_AS cannot starve the emulator's own reservation),
getrandom, the scheduler queries (sched_getaffinity, sched_yield,
getpriority/setpriority, getcpu).
Does not own: HWCAP bits (cpuinfo.py).
"""
import ctypes
import os
import resource

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import read_struct, s32, write_struct

RELEASE = "6.1.0"
VERSION = "#1 SMP PREEMPT_DYNAMIC emu"
_libc = ctypes.CDLL(None, use_errno=True)


def sys_uname(k, buf):
    u = abi.Utsname()
    u.sysname, u.release, u.version = b"Linux", RELEASE.encode(), VERSION.encode()
    u.nodename = os.uname().nodename.encode()[:64]
    u.machine, u.domainname = b"aarch64", b"(none)"
    write_struct(k.mem, buf, u)
    return 0


def sys_sysinfo(k, buf):
    info = abi.Sysinfo()              # same layout as the x86-64 host's
    if _libc.sysinfo(ctypes.byref(info)) < 0:
        raise SyscallError(ctypes.get_errno())
    write_struct(k.mem, buf, info)
    return 0


# -- ids -----------------------------------------------------------------------
def sys_getpid(k):
    return os.getpid()


def sys_getppid(k):
    return os.getppid()


def sys_gettid(k):
    return k.tid()


def sys_getuid(k):
    return os.getuid()


def sys_geteuid(k):
    return os.geteuid()


def sys_getgid(k):
    return os.getgid()


def sys_getegid(k):
    return os.getegid()


def _put_ids(k, addrs, ids):
    for a, v in zip(addrs, ids):
        k.mem.write_u32(a, v)
    return 0


def sys_getresuid(k, r, e, s):
    return _put_ids(k, (r, e, s), os.getresuid())


def sys_getresgid(k, r, e, s):
    return _put_ids(k, (r, e, s), os.getresgid())


def sys_getgroups(k, size, lst):
    groups = os.getgroups()
    size = s32(size)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise SyscallError(abi.EINVAL)
    k.mem.write(lst, b"".join(g.to_bytes(4, "little") for g in groups))
    return len(groups)


# -- resource limits -------------------------------------------------------------
def _host_limit(v):
    return abi.RLIM_INFINITY if v == resource.RLIM_INFINITY else v


def rlimits(k):
    if k.rlimits is None:
        k.rlimits = {}
        for r in range(abi.RLIM_NLIMITS):
            try:
                cur, mx = resource.getrlimit(r)
            except (ValueError, OSError):
                cur = mx = resource.RLIM_INFINITY
            k.rlimits[r] = (_host_limit(cur), _host_limit(mx))
    return k.rlimits


def _set_limit(k, res, cur, mx):
    if cur > mx:
        raise SyscallError(abi.EINVAL)
    old_cur, old_max = rlimits(k)[res]
    if mx > old_max and os.geteuid() != 0:
        raise SyscallError(abi.EPERM)
    if res == abi.RLIMIT_NOFILE:
        conv = lambda v: resource.RLIM_INFINITY if v == abi.RLIM_INFINITY else v
        resource.setrlimit(res, (conv(cur), conv(mx)))
        k.fds.limit = min(cur, 1 << 20)
    k.rlimits[res] = (cur, mx)


def sys_prlimit64(k, pid, res, new, old):
    pid, res = s32(pid), s32(res)
    if pid not in (0, os.getpid()):
        raise SyscallError(abi.EPERM)
    if not 0 <= res < abi.RLIM_NLIMITS:
        raise SyscallError(abi.EINVAL)
    cur, mx = rlimits(k)[res]
    if old:
        k.mem.check(old, 16, write=True)
    if new:
        lim = read_struct(k.mem, new, abi.Rlimit)
        _set_limit(k, res, lim.rlim_cur, lim.rlim_max)
    if old:
        write_struct(k.mem, old, abi.Rlimit(cur, mx))
    return 0


def sys_getrlimit(k, res, rlim):
    return sys_prlimit64(k, 0, res, 0, rlim)


def sys_setrlimit(k, res, rlim):
    return sys_prlimit64(k, 0, res, rlim, 0)


# -- randomness and scheduling ------------------------------------------------------
def sys_getrandom(k, buf, length, flags):
    if flags & ~(abi.GRND_NONBLOCK | abi.GRND_RANDOM | abi.GRND_INSECURE):
        raise SyscallError(abi.EINVAL)
    length = min(length, 1 << 25)
    k.mem.write(buf, os.urandom(length))
    return length


def sys_sched_getaffinity(k, pid, size, mask):
    nbytes = ((os.cpu_count() or 1) + 63) // 64 * 8
    if size < nbytes or size & 7:
        raise SyscallError(abi.EINVAL)
    bits = 0
    for cpu in os.sched_getaffinity(s32(pid)):
        bits |= 1 << cpu
    k.mem.write(mask, bits.to_bytes(nbytes, "little"))
    return nbytes


def sys_sched_yield(k):
    os.sched_yield()
    return 0


def sys_getpriority(k, which, who):
    # The syscall returns 20 - nice (1..40) so that it is never negative.
    return 20 - os.getpriority(s32(which), s32(who))


def sys_setpriority(k, which, who, prio):
    os.setpriority(s32(which), s32(who), s32(prio))
    return 0


def sys_getcpu(k, cpu, node, cache):
    here = _libc.sched_getcpu()
    if cpu:
        k.mem.write_u32(cpu, max(here, 0))
    if node:
        k.mem.write_u32(node, 0)
    return 0
