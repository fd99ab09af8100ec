"""POSIX per-process timers: timer_create, timer_settime, timer_gettime, timer_getoverrun,
timer_delete.

Owns: the process's timers (ids from 0 as Linux gives them), their notification (SIGEV_SIGNAL
to the process, SIGEV_THREAD_ID to one thread -- what glibc's SIGEV_THREAD and Go's
per-thread profiling timers use -- or SIGEV_NONE), and one scheduler thread that fires them:
an expiry posts the timer's signal with an SI_TIMER siginfo (si_timerid, si_overrun,
si_value); while that signal is still pending, further expiries only count overruns, as
Linux's posix timers do.  Clocks: CLOCK_REALTIME (and its ABSTIME deadlines) against the
host's wall clock, every other clock (MONOTONIC, BOOTTIME, the *_ALARM ones, and the CPU-time
clocks, approximated by elapsed time) against the host's monotonic clock.
Does not own: the signal queue (kernel/signal.py), interval timers (kernel/time.py: the host's
itimers).
"""
import ctypes
import heapq
import threading
import time as _time

from kernel import abi, sigframe
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct, s32, write_struct

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
TIMER_ABSTIME = 1
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
_CLOCKS_OK = {0, 1, 2, 3, 7, 8, 9, 11}      # BOOTTIME 7, *_ALARM 8/9, TAI 11
_NS = 1_000_000_000
MAX_TIMERS = 1 << 16


class Sigevent(ctypes.Structure):
    """struct sigevent (64 bytes on AArch64 and x86-64): value, signo, notify, then a union
    whose first int is the target thread id for SIGEV_THREAD_ID."""
    _fields_ = [("sigev_value", ctypes.c_uint64), ("sigev_signo", ctypes.c_int32),
                ("sigev_notify", ctypes.c_int32), ("sigev_tid", ctypes.c_int32),
                ("_pad", ctypes.c_int32 * 11)]


assert ctypes.sizeof(Sigevent) == 64 and Sigevent.sigev_tid.offset == 16


class _Timer:
    __slots__ = ("id", "clock", "signo", "notify", "tid", "value", "deadline", "interval",
                 "overrun", "last_overrun", "generation")

    def __init__(self, tid, clock, signo, notify, target, value):
        self.id, self.clock, self.signo, self.notify = tid, clock, signo, notify
        self.tid, self.value = target, value
        self.deadline = None            # monotonic seconds of the next expiry, or None
        self.interval = 0.0
        self.overrun = 0                # expiries while the signal was pending
        self.last_overrun = 0           # of the last signal dequeued: timer_getoverrun
        self.generation = 0


class Timers:
    """The timers of one process and the thread that fires them."""

    def __init__(self, k):
        self.k = k
        self.timers = {}
        self.heap = []                  # (deadline, generation, id)
        self.cond = threading.Condition()
        self.thread = None

    def _start(self):
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, daemon=True, name="emu-timers")
            self.thread.start()

    def after_fork(self):
        """A fork child has no timers (Linux does not inherit them) and no scheduler."""
        self.timers, self.heap = {}, []
        self.cond = threading.Condition()
        self.thread = None

    def _run(self):
        while True:
            with self.cond:
                now = _time.monotonic()
                while self.heap and self.heap[0][0] <= now:
                    _, gen, tid = heapq.heappop(self.heap)
                    t = self.timers.get(tid)
                    if t is None or t.generation != gen or t.deadline is None:
                        continue
                    self._fire(t, now)
                wait = self.heap[0][0] - now if self.heap else None
                self.cond.wait(wait)

    def _fire(self, t, now):
        if t.interval > 0:
            missed = int((now - t.deadline) // t.interval)
            t.overrun += missed
            t.deadline += (missed + 1) * t.interval
            heapq.heappush(self.heap, (t.deadline, t.generation, t.id))
        else:
            t.deadline = None
        if t.notify == SIGEV_NONE:
            return
        st = self.k.signals
        with st.lock:
            for p in st.queue:                  # still pending: count, do not queue again
                if p.sig == t.signo and _timer_of(p.info) == t.id:
                    t.overrun += 1
                    p.info = bytes(sigframe.siginfo_timer(t.signo, t.id, t.overrun, t.value))
                    return
        over, t.overrun = t.overrun, 0
        st.post(t.signo, sigframe.siginfo_timer(t.signo, t.id, over, t.value),
                t.tid if t.notify & SIGEV_THREAD_ID else None)

    def dequeued(self, p):
        """A signal left the queue (delivered or sigwaited): if a timer's, its overrun count
        is what timer_getoverrun reports from now on (Linux's it_overrun_last)."""
        tid = _timer_of(p.info)
        if tid is None:
            return
        t = self.timers.get(tid)
        if t is not None and t.signo == p.sig:
            t.last_overrun = sigframe.Siginfo.from_buffer_copy(p.info).fields.timer.overrun

    def arm(self, t, value_s, interval_s, absolute):
        with self.cond:
            t.generation += 1
            t.overrun = 0
            if value_s <= 0 and not absolute or (absolute and value_s == 0):
                t.deadline, t.interval = None, 0.0
                return
            now = _time.monotonic()
            if absolute:
                base = _time.time() if t.clock == CLOCK_REALTIME else now
                delay = value_s - base
            else:
                delay = value_s
            t.deadline, t.interval = now + max(delay, 0.0), interval_s
            heapq.heappush(self.heap, (t.deadline, t.generation, t.id))
            self._start()
            self.cond.notify()

    def remaining(self, t):
        with self.cond:
            if t.deadline is None:
                return 0.0, t.interval
            return max(t.deadline - _time.monotonic(), 1e-9), t.interval


def _timer_of(info):
    """si_timerid of an SI_TIMER siginfo (else None)."""
    si = sigframe.Siginfo.from_buffer_copy(info)
    if si.si_code != sigframe.SI_TIMER:
        return None
    return si.fields.timer.tid


def _timers(k):
    t = getattr(k, "posix_timers", None)
    if t is None:
        t = k.posix_timers = Timers(k)
        k.signals.on_dequeue = t.dequeued
    return t


def _get(k, timerid):
    t = _timers(k).timers.get(s32(timerid))
    if t is None:
        raise SyscallError(abi.EINVAL)
    return t


def _secs(ts):
    if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < _NS:
        raise SyscallError(abi.EINVAL)
    return ts.tv_sec + ts.tv_nsec / _NS


def _ts(secs):
    ns = int(round(secs * _NS))
    return abi.Timespec(ns // _NS, ns % _NS)


@partial("CPU-time clocks run on elapsed time; SIGEV_THREAD is glibc's (it asks for "
         "SIGEV_THREAD_ID)")
def sys_timer_create(k, clock, sevp, timerid):
    clock = s32(clock)
    if clock not in _CLOCKS_OK and clock >= 0:
        raise SyscallError(abi.EINVAL)
    if sevp:
        ev = read_struct(k.mem, sevp, Sigevent)
        notify, signo = ev.sigev_notify, ev.sigev_signo
    else:
        ev, notify, signo = None, SIGEV_SIGNAL, abi.SIGALRM
    if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID):
        raise SyscallError(abi.EINVAL)
    if notify != SIGEV_NONE and not 1 <= signo <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    target = None
    if notify == SIGEV_THREAD_ID:
        target = ev.sigev_tid
        host = k.threads_host
        if target not in (k.tid(),) and (host is None or target not in host.threads):
            raise SyscallError(abi.EINVAL)
    ts = _timers(k)
    with ts.cond:
        new = next((i for i in range(MAX_TIMERS) if i not in ts.timers), None)
        if new is None:
            raise SyscallError(abi.EAGAIN)
        value = ev.sigev_value if ev is not None else new
        k.mem.write(timerid, new.to_bytes(4, "little"))
        ts.timers[new] = _Timer(new, clock, signo, notify, target, value)
    return 0


def sys_timer_settime(k, timerid, flags, new, old):
    t = _get(k, timerid)
    spec = read_struct(k.mem, new, abi.Itimerspec)
    value, interval = _secs(spec.it_value), _secs(spec.it_interval)
    ts = _timers(k)
    if old:
        left, ival = ts.remaining(t)
        write_struct(k.mem, old, abi.Itimerspec(_ts(ival), _ts(left)))
    ts.arm(t, value, interval, bool(s32(flags) & TIMER_ABSTIME) and value > 0)
    return 0


def sys_timer_gettime(k, timerid, cur):
    t = _get(k, timerid)
    left, ival = _timers(k).remaining(t)
    write_struct(k.mem, cur, abi.Itimerspec(_ts(ival), _ts(left)))
    return 0


def sys_timer_getoverrun(k, timerid):
    return min(_get(k, timerid).last_overrun, 0x7FFFFFFF)


def sys_timer_delete(k, timerid):
    t = _get(k, timerid)
    ts = _timers(k)
    with ts.cond:
        t.generation += 1
        t.deadline = None
        ts.timers.pop(t.id, None)
    st = k.signals
    with st.lock:                               # its pending signal goes with it (Linux)
        st.queue = [p for p in st.queue if not (p.sig == t.signo and _timer_of(p.info) == t.id)]
    return 0
