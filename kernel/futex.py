"""futex(2) on guest memory, for guest threads that are host threads.

Owns: the wait queues keyed by guest address; FUTEX_WAIT/WAIT_BITSET
(value check and enqueue under one lock, so a wake cannot be lost),
FUTEX_WAKE/WAKE_BITSET, FUTEX_REQUEUE/CMP_REQUEUE.  Waiting blocks the
calling host thread with the GIL released; a wait whose value matches and
has no timeout blocks forever, as on Linux.  Private and shared futexes are
the same here (one guest process).  Does not own: PI futexes, WAKE_OP,
robust-list cleanup at thread exit (process.py records the list).
"""
import threading
import time as _time

from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
_BITSET_ANY = 0xFFFFFFFF


class _Waiter:
    __slots__ = ("event", "bitset")

    def __init__(self, bitset):
        self.event = threading.Event()
        self.bitset = bitset


class Futexes:
    def __init__(self):
        self.lock = threading.Lock()
        self.queues = {}        # guest address -> [_Waiter]

    def wake(self, addr, n, bitset=_BITSET_ANY):
        with self.lock:
            return self._wake(addr, n, bitset)

    def _wake(self, addr, n, bitset):
        q = self.queues.get(addr, [])
        woken = 0
        for w in list(q):
            if woken >= n:
                break
            if w.bitset & bitset:
                q.remove(w)
                w.event.set()
                woken += 1
        if not q:
            self.queues.pop(addr, None)
        return woken


def _timeout(k, addr, absolute, realtime):
    """Seconds to wait (None: forever)."""
    if not addr:
        return None
    ts = read_struct(k.mem, addr, abi.Timespec)
    if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < 1_000_000_000:
        raise SyscallError(abi.EINVAL)
    secs = ts.tv_sec + ts.tv_nsec / 1e9
    if absolute:
        secs -= _time.time() if realtime else _time.monotonic()
    return max(secs, 0.0)


@partial("WAIT/WAKE(_BITSET), (CMP_)REQUEUE; no PI futexes, no WAKE_OP")
def sys_futex(k, uaddr, op, val, timeout, uaddr2, val3):
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    ft = k.futexes
    if uaddr & 3:
        raise SyscallError(abi.EINVAL)
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = _BITSET_ANY if cmd == FUTEX_WAIT else val3 & 0xFFFFFFFF
        if bitset == 0:
            raise SyscallError(abi.EINVAL)
        secs = _timeout(k, timeout, cmd == FUTEX_WAIT_BITSET, op & FUTEX_CLOCK_REALTIME)
        with ft.lock:
            if k.mem.read_u32(uaddr) != val & 0xFFFFFFFF:
                raise SyscallError(abi.EAGAIN)
            w = _Waiter(bitset)
            ft.queues.setdefault(uaddr, []).append(w)
        if w.event.wait(secs):
            return 0
        with ft.lock:
            q = ft.queues.get(uaddr, [])
            if w in q:
                q.remove(w)
                if not q:
                    ft.queues.pop(uaddr, None)
                raise SyscallError(abi.ETIMEDOUT)
        return 0                      # woken while timing out
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = _BITSET_ANY if cmd == FUTEX_WAKE else val3 & 0xFFFFFFFF
        if bitset == 0:
            raise SyscallError(abi.EINVAL)
        return ft.wake(uaddr, val & 0x7FFFFFFF, bitset)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        nmove = timeout & 0x7FFFFFFF     # val2 travels in the timeout slot
        with ft.lock:
            if cmd == FUTEX_CMP_REQUEUE and k.mem.read_u32(uaddr) != val3 & 0xFFFFFFFF:
                raise SyscallError(abi.EAGAIN)
            woken = ft._wake(uaddr, val & 0x7FFFFFFF, _BITSET_ANY)
            q = ft.queues.get(uaddr, [])
            moved, rest = q[:nmove], q[nmove:]
            if moved:
                ft.queues.setdefault(uaddr2, []).extend(moved)
                if rest:
                    ft.queues[uaddr] = rest
                else:
                    ft.queues.pop(uaddr, None)
            return woken + len(moved)
    raise SyscallError(abi.ENOSYS)
