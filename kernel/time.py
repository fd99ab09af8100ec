"""Clocks, sleeping and CPU-time accounting.

Owns: clock_gettime (every clock id, the per-process and per-thread CPU
clocks included: guest pids/tids are host ones), clock_getres,
gettimeofday, nanosleep, clock_nanosleep (the host's, GIL released; EINTR
leaves the remaining time), times, getrusage; clock_settime/settimeofday
are EPERM and adjtimex/clock_adjtime answer read-only queries.  Clock ids
are Linux's on both sides, so host clocks are read directly.  Does not
own: timers/itimers (signals).
"""
import ctypes
import os
import resource
import time as _time

from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct, s32, write_struct

_NS = 1_000_000_000
CLK_TCK = 100
_libc = ctypes.CDLL(None, use_errno=True)


def _ts(ns):
    return abi.Timespec(ns // _NS, ns % _NS)


def read_ts(k, addr):
    """A guest timespec in nanoseconds; EINVAL when it is not a valid one."""
    ts = read_struct(k.mem, addr, abi.Timespec)
    if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < _NS:
        raise SyscallError(abi.EINVAL)
    return ts.tv_sec * _NS + ts.tv_nsec


def sys_clock_gettime(k, clk, tp):
    k.mem.check(tp, 16, write=True)
    write_struct(k.mem, tp, _ts(_time.clock_gettime_ns(s32(clk))))
    return 0


def sys_clock_getres(k, clk, res):
    r = round(_time.clock_getres(s32(clk)) * _NS)
    if res:
        write_struct(k.mem, res, _ts(r))
    return 0


def sys_gettimeofday(k, tv, tz):
    ns = _time.time_ns()
    if tv:
        write_struct(k.mem, tv, abi.Timeval(ns // _NS, (ns % _NS) // 1000))
    if tz:
        write_struct(k.mem, tz, abi.Timezone(0, 0))
    return 0


def _host_sleep(k, clk, flags, ns, rem):
    """The host's clock_nanosleep (GIL released); EINTR leaves the rest in *rem.  An
    interruption with no guest signal to deliver (a kick meant for another thread) sleeps on
    for the time left, as Linux's restart_syscall would."""
    req = _ts(ns)
    left = abi.Timespec()
    while True:
        err = _libc.clock_nanosleep(clk, flags & abi.TIMER_ABSTIME, ctypes.byref(req),
                                    ctypes.byref(left))
        if err != abi.EINTR or k.signals.deliverable(k.tid()):
            break
        if not flags & abi.TIMER_ABSTIME:
            req = abi.Timespec(left.tv_sec, left.tv_nsec)
    if err:                        # returns the error number, errno is not set
        if err == abi.EINTR and rem and not flags & abi.TIMER_ABSTIME:
            write_struct(k.mem, rem, left)
        raise SyscallError(err)
    return 0


def sys_nanosleep(k, req, rem):
    return _host_sleep(k, abi.CLOCK_MONOTONIC, 0, read_ts(k, req), rem)


def sys_clock_nanosleep(k, clk, flags, req, rem):
    # The host checks the clock id (its answer, e.g. EINVAL for the thread CPU clock).
    return _host_sleep(k, s32(clk), flags, read_ts(k, req), rem)


@partial("EPERM: the host's clock is not the guest's to set")
def sys_clock_settime(k, clk, tp):
    read_ts(k, tp)
    _time.clock_getres(s32(clk))           # EINVAL for a bad clock
    raise SyscallError(abi.EPERM)          # setting the host's clock is not the guest's


@partial("EPERM: the host's clock is not the guest's to set")
def sys_settimeofday(k, tv, tz):
    if tv:
        k.mem.read(tv, 16)
    if tz:
        k.mem.read(tz, 8)
    raise SyscallError(abi.EPERM)


# struct timex is 208 bytes with the same layout on arm64 and x86-64.
TIMEX_SIZE = 208


@partial("read-only queries (modes 0); adjusting is EPERM")
def sys_adjtimex(k, buf):
    return sys_clock_adjtime(k, abi.CLOCK_REALTIME, buf)


@partial("read-only queries (modes 0); adjusting is EPERM")
def sys_clock_adjtime(k, clk, buf):
    """Read-only (modes == 0) queries go to the host; adjusting is EPERM."""
    raw = ctypes.create_string_buffer(k.mem.read(buf, TIMEX_SIZE), TIMEX_SIZE)
    k.mem.check(buf, TIMEX_SIZE, write=True)
    if int.from_bytes(raw.raw[:4], "little"):
        raise SyscallError(abi.EPERM)
    ret = _libc.clock_adjtime(s32(clk), raw)
    if ret < 0:
        raise SyscallError(ctypes.get_errno())
    k.mem.write(buf, raw.raw)
    return ret


def sys_times(k, buf):
    t = os.times()
    if buf:
        write_struct(k.mem, buf, abi.Tms(*(int(x * CLK_TCK) for x in t[:4])))
    return int(t.elapsed * CLK_TCK)


def _tv(seconds):
    us = int(seconds * 1_000_000)
    return abi.Timeval(us // 1_000_000, us % 1_000_000)


def sys_getrusage(k, who, usage):
    who = s32(who)
    if who not in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN, resource.RUSAGE_THREAD):
        raise SyscallError(abi.EINVAL)
    r = resource.getrusage(who)
    out = abi.Rusage(_tv(r.ru_utime), _tv(r.ru_stime),
                     *(getattr(r, n) for n in abi.RUSAGE_LONGS))
    write_struct(k.mem, usage, out)
    return 0


# -- interval timers ---------------------------------------------------------------------------
# The guest's itimers are the host process's own (struct itimerval has the same layout on
# x86-64 and AArch64): ITIMER_REAL/VIRTUAL/PROF expire as host SIGALRM/SIGVTALRM/SIGPROF,
# which the runtime's signal watcher posts to the guest with the host's siginfo (SI_KERNEL).
# emu's CPU time stands for the guest's (VIRTUAL/PROF count emu's work too).

class Itimerval(ctypes.Structure):
    _fields_ = [("it_interval", abi.Timeval), ("it_value", abi.Timeval)]


assert ctypes.sizeof(Itimerval) == 32
_libc.setitimer.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_libc.getitimer.argtypes = [ctypes.c_int, ctypes.c_void_p]


def sys_getitimer(k, which, cur):
    out = Itimerval()
    if _libc.getitimer(s32(which), ctypes.byref(out)):
        raise SyscallError(ctypes.get_errno())
    write_struct(k.mem, cur, out)
    return 0


def sys_setitimer(k, which, new, old):
    val = read_struct(k.mem, new, Itimerval) if new else Itimerval()
    for tv in (val.it_interval, val.it_value):
        if not 0 <= tv.tv_usec < 1_000_000 or tv.tv_sec < 0:
            raise SyscallError(abi.EINVAL)
    prev = Itimerval()
    if _libc.setitimer(s32(which), ctypes.byref(val), ctypes.byref(prev)):
        raise SyscallError(ctypes.get_errno())
    if old:
        write_struct(k.mem, old, prev)
    return 0
