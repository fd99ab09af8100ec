"""Clocks, sleeping and CPU-time accounting.

Owns: clock_gettime, clock_getres, gettimeofday, nanosleep, clock_nanosleep,
times, getrusage.  Clock ids are Linux's on both sides, so host clocks are
read directly.  Sleeps are not interrupted by guest signals (no async
delivery yet).  Does not own: timers/itimers (not implemented).
"""
import os
import resource
import time as _time

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import read_struct, s32, write_struct

_NS = 1_000_000_000
CLK_TCK = 100


def _ts(ns):
    return abi.Timespec(ns // _NS, ns % _NS)


def _read_ts(k, addr):
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


def _sleep_ns(ns):
    if ns > 0:
        _time.sleep(ns / _NS)


def sys_nanosleep(k, req, rem):
    _sleep_ns(_read_ts(k, req))
    return 0


def sys_clock_nanosleep(k, clk, flags, req, rem):
    clk = s32(clk)
    ns = _read_ts(k, req)
    if flags & abi.TIMER_ABSTIME:
        ns -= _time.clock_gettime_ns(clk)
    else:
        _time.clock_gettime_ns(clk)         # EINVAL for a bad clock
    _sleep_ns(ns)
    return 0


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
