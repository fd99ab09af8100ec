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
import functools
import os
import resource

from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
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


@partial("only RLIMIT_NOFILE is applied; other limits are recorded and reported")
def sys_prlimit64(k, pid, res, new, old):
    pid, res = s32(pid), s32(res)
    if not 0 <= res < abi.RLIM_NLIMITS:
        raise SyscallError(abi.EINVAL)
    if pid not in (0, os.getpid()):
        return _prlimit_other(k, pid, res, new, old)
    cur, mx = rlimits(k)[res]
    if old:
        k.mem.check(old, 16, write=True)
    if new:
        lim = read_struct(k.mem, new, abi.Rlimit)
        _set_limit(k, res, lim.rlim_cur, lim.rlim_max)
    if old:
        write_struct(k.mem, old, abi.Rlimit(cur, mx))
    return 0


def _prlimit_other(k, pid, res, new, old):
    """Another process's limits: the host's (guest pids are host pids)."""
    conv = lambda v: resource.RLIM_INFINITY if v == abi.RLIM_INFINITY else v   # noqa: E731
    if new:
        lim = read_struct(k.mem, new, abi.Rlimit)
        prev = resource.prlimit(pid, res, (conv(lim.rlim_cur), conv(lim.rlim_max)))
    else:
        prev = resource.prlimit(pid, res)
    if old:
        write_struct(k.mem, old, abi.Rlimit(*(_host_limit(v) for v in prev)))
    return 0


def sys_getrlimit(k, res, rlim):
    return sys_prlimit64(k, 0, res, 0, rlim)


@partial("only RLIMIT_NOFILE is applied; other limits are recorded and reported")
def sys_setrlimit(k, res, rlim):
    return sys_prlimit64(k, 0, res, rlim, 0)


# -- randomness and scheduling ------------------------------------------------------
def sys_getrandom(k, buf, length, flags):
    if flags & ~(abi.GRND_NONBLOCK | abi.GRND_RANDOM | abi.GRND_INSECURE):
        raise SyscallError(abi.EINVAL)
    length = min(length, 1 << 25)
    k.mem.write(buf, os.urandom(length))
    return length


_HOST_NR_SCHED_GETAFFINITY = 204


def sys_sched_getaffinity(k, pid, size, mask):
    """The host's answer (mask size rules included), copied to the guest."""
    size = min(size, 1 << 16)
    k.mem.check(mask, size, write=True)
    buf = ctypes.create_string_buffer(size)
    n = _libc.syscall(ctypes.c_long(_HOST_NR_SCHED_GETAFFINITY), ctypes.c_int(s32(pid)),
                      ctypes.c_size_t(size), buf)
    if n < 0:
        raise SyscallError(ctypes.get_errno())
    k.mem.write(mask, buf.raw[:n])
    return n


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


# -- capabilities and personality ----------------------------------------------------
_HOST_NR_CAPGET, _HOST_NR_CAPSET = 125, 126          # x86-64 numbers
_libc.syscall.restype = ctypes.c_long
_LINUX_CAPABILITY_VERSION_1 = 0x19980330


def _caps(k, nr, hdrp, datap, write_back):
    """capget/capset: the structures are arch-independent; the host answers
    (guest pids are host pids)."""
    hdr = ctypes.create_string_buffer(k.mem.read(hdrp, 8), 8)
    version = int.from_bytes(hdr.raw[:4], "little")
    n = 1 if version == _LINUX_CAPABILITY_VERSION_1 else 2
    data = ctypes.create_string_buffer(12 * n)
    if datap and not write_back:
        data = ctypes.create_string_buffer(k.mem.read(datap, 12 * n), 12 * n)
    elif datap:
        k.mem.check(datap, 12 * n, write=True)
    ret = _libc.syscall(ctypes.c_long(nr), hdr, data if datap else None)
    err = ctypes.get_errno()
    k.mem.write(hdrp, hdr.raw)          # the kernel writes its preferred version back
    if ret < 0:
        raise SyscallError(err)
    if datap and write_back:
        k.mem.write(datap, data.raw)
    return 0


def sys_capget(k, hdrp, datap):
    return _caps(k, _HOST_NR_CAPGET, hdrp, datap, True)


def sys_capset(k, hdrp, datap):
    return _caps(k, _HOST_NR_CAPSET, hdrp, datap, False)


PER_LINUX32, PER_MASK = 0x0008, 0xFF


def sys_personality(k, persona):
    """Recorded per process; 0xffffffff queries.  PER_LINUX32 needs AArch32: EINVAL."""
    persona &= 0xFFFFFFFF
    old = k.personality
    if persona != 0xFFFFFFFF:
        if persona & PER_MASK == PER_LINUX32:
            raise SyscallError(abi.EINVAL)
        k.personality = persona
    return old


# -- scheduler ------------------------------------------------------------------------
def sys_sched_getscheduler(k, pid):
    return os.sched_getscheduler(s32(pid))


def _sched_param(k, param):
    return read_struct(k.mem, param, ctypes.c_int32).value


def sys_sched_getparam(k, pid, param):
    k.mem.check(param, 4, write=True)
    k.mem.write_u32(param, os.sched_getparam(s32(pid)).sched_priority)
    return 0


def sys_sched_setparam(k, pid, param):
    os.sched_setparam(s32(pid), os.sched_param(_sched_param(k, param)))
    return 0


def sys_sched_setscheduler(k, pid, policy, param):
    os.sched_setscheduler(s32(pid), s32(policy), os.sched_param(_sched_param(k, param)))
    return 0


def sys_sched_get_priority_max(k, policy):
    return os.sched_get_priority_max(s32(policy))


def sys_sched_get_priority_min(k, policy):
    return os.sched_get_priority_min(s32(policy))


def sys_sched_rr_get_interval(k, pid, tp):
    t = os.sched_rr_get_interval(s32(pid))
    ns = round(t * 1_000_000_000)
    write_struct(k.mem, tp, abi.Timespec(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


_HOST_NR_SCHED_SETAFFINITY = 203


@functools.cache
def _cpumask_size():
    """The host kernel's cpumask_size(): what sched_getaffinity copies out of a big buffer."""
    buf = ctypes.create_string_buffer(1 << 16)
    n = _libc.syscall(ctypes.c_long(_HOST_NR_SCHED_GETAFFINITY), ctypes.c_int(0),
                      ctypes.c_size_t(len(buf)), buf)
    return n if n > 0 else 1 << 16


def sys_sched_setaffinity(k, pid, size, mask):
    """The guest's mask handed to the host call as bytes, of which Linux reads only
    cpumask_size(): linear whatever the length (a set of CPU numbers built bit by bit was
    quadratic: a 256 KiB mask took 38 s)."""
    raw = k.mem.read(mask, min(size, _cpumask_size()))
    n = _libc.syscall(ctypes.c_long(_HOST_NR_SCHED_SETAFFINITY), ctypes.c_int(s32(pid)),
                      ctypes.c_size_t(len(raw)), ctypes.c_char_p(raw))
    if n < 0:
        raise SyscallError(ctypes.get_errno())
    return 0


# -- credentials and sessions: the host process's (guest threads are host threads) ------
def _id(v):
    v = s32(v)
    return v


def sys_setuid(k, uid):
    os.setuid(_id(uid) & 0xFFFFFFFF)
    return 0


def sys_setgid(k, gid):
    os.setgid(_id(gid) & 0xFFFFFFFF)
    return 0


def sys_setreuid(k, r, e):
    os.setreuid(_id(r), _id(e))
    return 0


def sys_setregid(k, r, e):
    os.setregid(_id(r), _id(e))
    return 0


def sys_setresuid(k, r, e, s):
    os.setresuid(_id(r), _id(e), _id(s))
    return 0


def sys_setresgid(k, r, e, s):
    os.setresgid(_id(r), _id(e), _id(s))
    return 0


def sys_setfsuid(k, uid):
    """Returns the previous fsuid (never fails, as on Linux)."""
    return _libc.setfsuid(ctypes.c_uint(uid & 0xFFFFFFFF))


def sys_setfsgid(k, gid):
    return _libc.setfsgid(ctypes.c_uint(gid & 0xFFFFFFFF))


def sys_setgroups(k, size, lst):
    size = s32(size)
    if size < 0 or size > 65536:
        raise SyscallError(abi.EINVAL)
    raw = k.mem.read(lst, 4 * size) if size else b""
    os.setgroups([int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)])
    return 0


def sys_setpgid(k, pid, pgid):
    os.setpgid(s32(pid), s32(pgid))
    return 0


def sys_getpgid(k, pid):
    return os.getpgid(s32(pid))


def sys_getsid(k, pid):
    return os.getsid(s32(pid))


def sys_setsid(k):
    return os.setsid()


@partial("EPERM: would rename the host")
def sys_sethostname(k, name, length):
    """sethostname/setdomainname would change the host's names: refused."""
    if s32(length) < 0 or s32(length) > 64:
        raise SyscallError(abi.EINVAL)
    raise SyscallError(abi.EPERM)


_HOST_NR_IOPRIO_SET, _HOST_NR_IOPRIO_GET = 251, 252       # x86-64 numbers


def sys_ioprio_set(k, which, who, ioprio):
    """I/O priorities: the host's (guest pids and pgrps are host ones)."""
    r = _libc.syscall(ctypes.c_long(_HOST_NR_IOPRIO_SET), ctypes.c_int(s32(which)),
                      ctypes.c_int(s32(who)), ctypes.c_int(s32(ioprio)))
    if r < 0:
        raise SyscallError(ctypes.get_errno())
    return r


def sys_ioprio_get(k, which, who):
    r = _libc.syscall(ctypes.c_long(_HOST_NR_IOPRIO_GET), ctypes.c_int(s32(which)),
                      ctypes.c_int(s32(who)))
    if r < 0:
        raise SyscallError(ctypes.get_errno())
    return r
