"""futex(2) on guest memory, for guest threads that are host threads.

Owns: the wait queues keyed by guest address; FUTEX_WAIT/WAIT_BITSET
(value check and enqueue under one lock, so a wake cannot be lost),
FUTEX_WAKE/WAKE_BITSET, FUTEX_REQUEUE/CMP_REQUEUE, FUTEX_WAKE_OP (the
operation on the second word is a host atomic: other guest threads may be
running LDXR/STXR or LSE code on it), and the priority-inheritance
operations LOCK_PI/LOCK_PI2/TRYLOCK_PI/UNLOCK_PI as plain ownership
protocol on the word (tid | FUTEX_WAITERS | FUTEX_OWNER_DIED; there is no
priority boosting, every guest thread runs at the same host priority).
Waiting blocks the calling host thread with the GIL released; a wait whose
value matches and has no timeout blocks forever, as on Linux.  Private and
shared futexes are the same here (one guest process).
Does not own: robust-list cleanup at thread exit (process.py), requeue to
PI futexes (WAIT_REQUEUE_PI/CMP_REQUEUE_PI: ENOSYS, glibc only uses them
for condition variables over PI mutexes).
"""
import threading
import time as _time

from emu.hostatomic import cas32, update32
from kernel import abi
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_LOCK_PI2 = 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
_BITSET_ANY = 0xFFFFFFFF


class _Waiter:
    __slots__ = ("event", "bitset", "tid", "interrupted")

    def __init__(self, bitset, tid=0):
        self.event = threading.Event()
        self.bitset = bitset
        self.tid = tid
        self.interrupted = False


class Futexes:
    def __init__(self):
        self.lock = threading.Lock()
        self.queues = {}        # guest address -> [_Waiter]
        self.waits = 0          # FUTEX_WAIT calls that blocked (EMU_BLOCK_STATS futex_waits)

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

    def interrupt(self, tid):
        """A signal for thread tid: if it waits here, it stops waiting (EINTR)."""
        with self.lock:
            for addr, q in list(self.queues.items()):
                for w in q:
                    if w.tid == tid:
                        q.remove(w)
                        if not q:
                            self.queues.pop(addr, None)
                        w.interrupted = True
                        w.event.set()
                        return True
        return False

    def _enqueue(self, addr, bitset):
        w = _Waiter(bitset, threading.get_native_id())
        self.queues.setdefault(addr, []).append(w)
        self.waits += 1
        return w

    def _block(self, addr, w, secs):
        """Wait (GIL released) until woken or `secs` pass; True if woken.  SyscallError
        EINTR when a signal interrupted the wait (interrupt())."""
        if w.event.wait(secs):
            if w.interrupted:
                raise SyscallError(abi.EINTR)
            return True
        with self.lock:
            q = self.queues.get(addr, [])
            if w in q:
                q.remove(w)
                if not q:
                    self.queues.pop(addr, None)
                return False
        return True                    # woken while timing out


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


def _s12(v):
    v &= 0xFFF
    return v - 0x1000 if v & 0x800 else v


def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


_WAKE_OPS = {0: lambda old, arg: arg, 1: lambda old, arg: old + arg,
             2: lambda old, arg: old | arg, 3: lambda old, arg: old & ~arg,
             4: lambda old, arg: old ^ arg}
_WAKE_CMPS = {0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
              3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b}


def _wake_op(k, uaddr, nr_wake, nr_wake2, uaddr2, encoded):
    op, cmp = (encoded >> 28) & 7, (encoded >> 24) & 15
    oparg, cmparg = _s12(encoded >> 12), _s12(encoded)
    if (encoded >> 28) & 8:
        if not 0 <= oparg <= 31:
            raise SyscallError(abi.EINVAL)
        oparg = 1 << oparg
    if op not in _WAKE_OPS or cmp not in _WAKE_CMPS:
        raise SyscallError(abi.ENOSYS)
    if uaddr2 & 3:
        raise SyscallError(abi.EINVAL)
    ft = k.futexes
    k.mem.check(uaddr2, 4, write=True)
    with ft.lock:
        old = update32(k.mem.host_addr(uaddr2), lambda o: _WAKE_OPS[op](o, oparg) & 0xFFFFFFFF)
        woken = ft._wake(uaddr, nr_wake & 0x7FFFFFFF, _BITSET_ANY)
        if _WAKE_CMPS[cmp](_s32(old), cmparg):
            woken += ft._wake(uaddr2, nr_wake2 & 0x7FFFFFFF, _BITSET_ANY)
    return woken


def _lock_pi(k, uaddr, timeout, trylock, realtime):
    """Take the PI futex at uaddr for the calling thread (the word holds the owner's tid)."""
    ft, tid = k.futexes, k.tid()
    k.mem.check(uaddr, 4, write=True)
    host = k.mem.host_addr(uaddr)
    secs = None if trylock else _timeout(k, timeout, True, realtime)
    deadline = None if secs is None else _time.monotonic() + secs
    while True:
        with ft.lock:
            word = k.mem.read_u32(uaddr)
            owner = word & FUTEX_TID_MASK
            if owner == tid:
                raise SyscallError(abi.EDEADLK)
            if owner == 0:
                others = bool(ft.queues.get(uaddr))
                new = tid | (word & FUTEX_OWNER_DIED) | (FUTEX_WAITERS if others else 0)
                if cas32(host, word, new) == word:
                    return 0
                continue                      # the word changed under us: look again
            if trylock:
                raise SyscallError(abi.EAGAIN)
            if not word & FUTEX_WAITERS and cas32(host, word, word | FUTEX_WAITERS) != word:
                continue
            w = ft._enqueue(uaddr, _BITSET_ANY)
        left = None if deadline is None else max(deadline - _time.monotonic(), 0.0)
        if not ft._block(uaddr, w, left):
            raise SyscallError(abi.ETIMEDOUT)


def _unlock_pi(k, uaddr):
    ft, tid = k.futexes, k.tid()
    k.mem.check(uaddr, 4, write=True)
    host = k.mem.host_addr(uaddr)
    with ft.lock:
        while True:
            word = k.mem.read_u32(uaddr)
            if word & FUTEX_TID_MASK != tid:
                raise SyscallError(abi.EPERM)
            if cas32(host, word, 0) == word:  # the woken waiter takes it as from 0
                break
        ft._wake(uaddr, 1, _BITSET_ANY)
    return 0


@partial("WAIT/WAKE(_BITSET), (CMP_)REQUEUE, WAKE_OP, LOCK_PI(2)/TRYLOCK_PI/UNLOCK_PI "
         "(ownership only, no priority boost); no REQUEUE_PI, no FUTEX_FD")
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
            w = ft._enqueue(uaddr, bitset)
        if ft._block(uaddr, w, secs):
            return 0
        raise SyscallError(abi.ETIMEDOUT)
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
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(k, uaddr, val, timeout, uaddr2, val3 & 0xFFFFFFFF)
    if cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2):
        # LOCK_PI's timeout is absolute CLOCK_REALTIME; LOCK_PI2's follows the flag.
        realtime = cmd == FUTEX_LOCK_PI or bool(op & FUTEX_CLOCK_REALTIME)
        return _lock_pi(k, uaddr, timeout, False, realtime)
    if cmd == FUTEX_TRYLOCK_PI:
        return _lock_pi(k, uaddr, 0, True, True)
    if cmd == FUTEX_UNLOCK_PI:
        return _unlock_pi(k, uaddr)
    raise SyscallError(abi.ENOSYS)
