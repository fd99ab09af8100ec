"""Waiting for descriptors: ppoll and pselect6 (AArch64 has no poll/select).

Owns: translating the guest's pollfd array / fd_sets (guest fd numbers) to
a host pollfd array, one host ppoll() with the GIL released, and the
results back in the guest's terms: revents per entry (POLLNVAL for a
closed guest fd, POLLHUP/POLLERR whatever was asked), select's bit sets
(Linux's POLLIN_SET/POLLOUT_SET/POLLEX_SET rules), and the remaining time
written back to the timeout as Linux does.  A zero timeout polls once.
The signal mask argument is swapped in for the duration of the call, as
Linux does (set_user_sigmask): pending signals it unblocks are acted on
(default actions: discard or terminate), and the caller's mask is back when
the call returns.  Guest handlers are not run yet (kernel/signal.py), so a
pending handled signal stays pending instead of interrupting the call.
Does not own: the fd table (fd.py).
"""
import contextlib
import ctypes
import time as _time

from kernel import abi, signal
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct, s32, write_struct

_libc = ctypes.CDLL(None, use_errno=True)
_NS = 1_000_000_000

# select's readiness rules (fs/select.c)
_IN_SET = abi.POLLRDNORM | abi.POLLRDBAND | abi.POLLIN | abi.POLLHUP | abi.POLLERR
_OUT_SET = abi.POLLWRBAND | abi.POLLWRNORM | abi.POLLOUT | abi.POLLERR
_EX_SET = abi.POLLPRI


def _timeout(k, addr):
    """A guest timespec -> nanoseconds (None: wait forever)."""
    if not addr:
        return None
    ts = read_struct(k.mem, addr, abi.Timespec)
    if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < _NS:
        raise SyscallError(abi.EINVAL)
    return ts.tv_sec * _NS + ts.tv_nsec


def _host_ppoll(pfds, n, timeout_ns, wait=True):
    """One host ppoll (no wait if not wait); returns (ready count, ns left or None)."""
    ts = None
    if timeout_ns is not None or not wait:
        t = timeout_ns if wait else 0
        ts = abi.Timespec(t // _NS, t % _NS)
    t0 = _time.monotonic_ns()
    r = _libc.ppoll(pfds, ctypes.c_ulong(n), ctypes.byref(ts) if ts is not None else None, None)
    err = ctypes.get_errno()
    left = None if timeout_ns is None else max(0, timeout_ns - (_time.monotonic_ns() - t0))
    if r < 0:
        raise SyscallError(err)
    return r, left


def read_sigmask(k, sigmask, sigsetsize):
    """The temporary mask (None: keep the current one)."""
    if not sigmask:
        return None
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    return k.mem.read_u64(sigmask)


@contextlib.contextmanager
def with_mask(k, mask, waits=True):
    """Run the wait with `mask` as the thread's signal mask (Linux's set_user_sigmask).
    Pending signals it unblocks: ignored ones are discarded when the call does not wait;
    otherwise the call fails at once with EINTR.  On EINTR the temporary mask stays until
    delivery, which puts the caller's back (saved in the handler's frame if one runs);
    otherwise the caller's mask is restored when the call returns."""
    if mask is None:
        yield
        return
    old = signal.set_mask(k, mask)
    if not waits:
        signal.discard_ignored(k)
    elif k.signals.deliverable(k.tid()):
        signal.interrupted_with_mask(k, old)
        raise SyscallError(abi.EINTR)
    try:
        yield
    except (SyscallError, OSError) as e:
        if e.errno == abi.EINTR:
            signal.interrupted_with_mask(k, old)
        else:
            signal.set_mask(k, old)
        raise
    except BaseException:
        signal.set_mask(k, old)
        raise
    signal.set_mask(k, old)


MASK_NOTE = "the signal mask is applied for the call (Linux's saved_sigmask rules)"


@partial(MASK_NOTE)
def sys_ppoll(k, fds, nfds, tmo, sigmask, sigsetsize):
    n = nfds & 0xFFFFFFFF
    if n > k.fds.limit:
        raise SyscallError(abi.EINVAL)
    raw = k.mem.read(fds, 8 * n)
    guest = (abi.Pollfd * n).from_buffer_copy(raw) if n else []
    timeout_ns = _timeout(k, tmo)
    mask = read_sigmask(k, sigmask, sigsetsize)
    k.mem.check(fds, 8 * n, write=True)
    host = (abi.Pollfd * max(n, 1))()
    invalid = []
    for i, p in enumerate(guest):
        host[i].events = p.events
        f = k.fds.files.get(p.fd) if p.fd >= 0 else None
        host[i].fd = f.host if f is not None else -1
        if p.fd >= 0 and f is None:
            invalid.append(i)
    # POLLNVAL entries count as ready: the call then returns at once.
    with with_mask(k, mask, waits=timeout_ns != 0 and not invalid):
        r, left = _host_ppoll(host, n, timeout_ns, wait=not invalid)
    for i, p in enumerate(guest):
        p.revents = host[i].revents
    for i in invalid:
        guest[i].revents = abi.POLLNVAL
        r += 1
    if n:
        k.mem.write(fds, bytes(guest))
    if tmo and left is not None:
        write_struct(k.mem, tmo, abi.Timespec(left // _NS, left % _NS))
    return r


def _read_set(k, addr, nwords):
    if not addr:
        return None
    return int.from_bytes(k.mem.read(addr, 8 * nwords), "little")


@partial(MASK_NOTE)
def sys_pselect6(k, nfds, readfds, writefds, exceptfds, tmo, sig):
    n = s32(nfds)
    if n < 0:
        raise SyscallError(abi.EINVAL)
    n = min(n, k.fds.limit)
    nwords = (n + 63) // 64
    sets = [_read_set(k, a, nwords) for a in (readfds, writefds, exceptfds)]
    timeout_ns = _timeout(k, tmo)
    mask = None
    if sig:
        # struct { const sigset_t *ss; size_t ss_len; }
        ss = read_struct(k.mem, sig, abi.Iovec)
        mask = read_sigmask(k, ss.iov_base, ss.iov_len)
    for a in (readfds, writefds, exceptfds):
        if a:
            k.mem.check(a, 8 * nwords, write=True)
    wanted = {}                         # guest fd -> poll events
    for s, ev in zip(sets, (abi.POLLIN, abi.POLLOUT, abi.POLLPRI)):
        if not s:
            continue
        fd = 0
        while s:
            if s & 1:
                wanted[fd] = wanted.get(fd, 0) | ev
            s >>= 1
            fd += 1
    order = sorted(wanted)
    host = (abi.Pollfd * max(len(order), 1))()
    for i, g in enumerate(order):
        f = k.fds.files.get(g)
        if f is None:
            raise SyscallError(abi.EBADF)
        host[i].fd, host[i].events = f.host, wanted[g]
    with with_mask(k, mask, waits=timeout_ns != 0):
        _, left = _host_ppoll(host, len(order), timeout_ns)
    out = [0, 0, 0]
    count = 0
    for i, g in enumerate(order):
        rev, ev = host[i].revents, wanted[g]
        for j, (bit, rule) in enumerate(((abi.POLLIN, _IN_SET), (abi.POLLOUT, _OUT_SET),
                                         (abi.POLLPRI, _EX_SET))):
            if ev & bit and rev & rule:
                out[j] |= 1 << g
                count += 1
    for a, bits in zip((readfds, writefds, exceptfds), out):
        if a:
            k.mem.write(a, bits.to_bytes(8 * nwords, "little"))
    if tmo and left is not None:
        write_struct(k.mem, tmo, abi.Timespec(left // _NS, left % _NS))
    return count
