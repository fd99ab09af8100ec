"""signalfd4: a descriptor that reads pending signals (family `signal`).

Owns: SignalFd, the emulated file behind a signalfd (OpenFile.emul: fd.py sends read,
readv, pread and write to it), and the syscall signalfd4 (arm64 has no plain signalfd).
read() takes pending signals of the fd's mask for the calling thread (its own, then the
process's, lowest number first: SignalState.take with the mask ignored, as Linux's
dequeue_signal does for signalfd) and returns one 128-byte struct signalfd_siginfo per
signal (fields filled by the siginfo's layout, as signalfd_copyinfo does); without
O_NONBLOCK it waits for one, and a signal outside the mask that the thread can take
interrupts it (ERESTARTSYS).
poll/epoll/select: the OpenFile's host fd is an eventfd whose counter is non-zero exactly
while a signal of the mask is pending in the process; it is kept so by two hooks of
SignalState that are public attributes: `kick` (called after every post) and
`on_dequeue` (called whenever a signal is taken: delivery, sigtimedwait, a read here),
each wrapped once, the previous function still called.  The host's own poll and epoll
therefore see the readiness, with the GIL released, unchanged.
Limits: readiness is process-wide (a signal pending for another thread also makes the fd
readable; Linux looks at the polling thread's pending set), and a pending signal
discarded without being taken (rt_sigaction to SIG_IGN) leaves the fd readable until the
next post or take.  Across fork the child's signalfds get fresh eventfds (a child starts
with nothing pending); across execve a signalfd becomes a plain eventfd.
Does not own: the signal queue (kernel/signal.py), the fd table (fd.py).
"""
import ctypes
import fcntl
import os
import threading
import weakref

from kernel import abi
from kernel.errors import SyscallError
from kernel.uaccess import s32

_libc = ctypes.CDLL(None, use_errno=True)
_HOST_EFD_CLOEXEC, _HOST_EFD_NONBLOCK = 0o2000000, 0o4000
_UNBLOCKABLE = (1 << (abi.SIGKILL - 1)) | (1 << (abi.SIGSTOP - 1))
SFD_CLOEXEC, SFD_NONBLOCK = abi.O_CLOEXEC, abi.O_NONBLOCK
SSI_SIZE = 128

# siginfo codes (include/uapi/asm-generic/siginfo.h)
_SI_USER, _SI_KERNEL, _SI_TIMER, _SI_SIGIO = 0, 0x80, -2, -5
_FAULT_SIGS = {abi.SIGILL, abi.SIGFPE, abi.SIGSEGV, abi.SIGBUS, abi.SIGTRAP}
_NSIG_CODES = {abi.SIGILL: 11, abi.SIGFPE: 15, abi.SIGSEGV: 10, abi.SIGBUS: 5,
               abi.SIGTRAP: 6, abi.SIGCHLD: 6, abi.SIGIO: 6, abi.SIGSYS: 2}


def _eventfd(nonblock):
    h = _libc.eventfd(ctypes.c_uint(0), ctypes.c_int(
        _HOST_EFD_CLOEXEC | (_HOST_EFD_NONBLOCK if nonblock else 0)))
    if h < 0:
        raise SyscallError(ctypes.get_errno())
    return h


def _layout(sig, code):
    """Linux's siginfo_layout."""
    if code > _SI_USER and code < _SI_KERNEL and code <= _NSIG_CODES.get(sig, 0):
        if sig in _FAULT_SIGS:
            return "fault"
        return {abi.SIGCHLD: "chld", abi.SIGIO: "poll", abi.SIGSYS: "sys"}[sig]
    if code == _SI_TIMER:
        return "timer"
    if code == _SI_SIGIO:
        return "poll"
    if code < 0:
        return "rt"
    return "kill"


def ssi_from_siginfo(info):
    """struct signalfd_siginfo for a 128-byte guest siginfo (signalfd_copyinfo)."""
    def i32(off):
        return int.from_bytes(info[off:off + 4], "little", signed=True)

    def u32(off):
        return int.from_bytes(info[off:off + 4], "little")

    def u64(off):
        return int.from_bytes(info[off:off + 8], "little")
    sig, code = u32(0), i32(8)
    o = abi.SignalfdSiginfo()
    o.ssi_signo, o.ssi_errno, o.ssi_code = sig, i32(4), code
    lay = _layout(sig, code)
    if lay in ("kill", "rt", "chld"):
        o.ssi_pid, o.ssi_uid = u32(16), u32(20)
    if lay == "timer":
        o.ssi_tid, o.ssi_overrun = u32(16), u32(20)
    if lay in ("timer", "rt"):
        o.ssi_ptr, o.ssi_int = u64(24), i32(24)
    elif lay == "chld":
        o.ssi_status, o.ssi_utime, o.ssi_stime = i32(24), u64(32), u64(40)
    elif lay == "poll":
        o.ssi_band, o.ssi_fd = u32(16), i32(24)
    elif lay == "fault":
        o.ssi_addr = u64(16)
        if (sig == abi.SIGBUS and code in (4, 5)) or (sig == abi.SIGSEGV and code == 3):
            o.ssi_addr_lsb = int.from_bytes(info[24:26], "little")
    elif lay == "sys":
        o.ssi_call_addr, o.ssi_syscall, o.ssi_arch = u64(16), i32(24), u32(28)
    return bytes(o)


class SignalFd:
    """The emulated file of one signalfd (shared by its dups)."""
    readable, writable = True, False

    def __init__(self, k, mask, nonblock):
        self.k = k
        self.mask = mask
        self.host = _eventfd(nonblock)     # emu's own reference to the readiness eventfd
        self.ready = False
        self.lock = threading.Lock()

    def __del__(self):
        try:
            os.close(self.host)
        except (OSError, AttributeError):
            pass

    def refresh(self):
        """Make the eventfd readable iff a signal of the mask is pending."""
        st = self.k.signals
        with st.lock:
            want = any(self.mask & (1 << (p.sig - 1)) for p in st.queue)
        with self.lock:
            if want and not self.ready:
                os.write(self.host, (1).to_bytes(8, "little"))
                self.ready = True
            elif not want and self.ready:
                os.read(self.host, 8)
                self.ready = False

    def renew(self, nonblock, hosts):
        """In a fork child: a fresh eventfd (nothing is pending) behind every host fd."""
        new = _eventfd(nonblock)
        for h in {self.host, *hosts}:
            os.dup2(new, h, inheritable=h != self.host and os.get_inheritable(h))
        os.close(new)
        self.ready = False

    def _nonblocking(self):
        try:
            return bool(fcntl.fcntl(self.host, fcntl.F_GETFL) & os.O_NONBLOCK)
        except OSError:
            return False

    def _take(self, tid):
        return self.k.signals.take(tid, mask=0, only=self.mask)

    def io(self, buf, count, pos, write):
        if write:
            raise SyscallError(abi.EINVAL)
        if pos is not None:
            raise SyscallError(abi.ESPIPE)
        n = count // SSI_SIZE
        if not n:
            raise SyscallError(abi.EINVAL)
        k, st, tid = self.k, self.k.signals, self.k.tid()
        k.mem.check(buf, SSI_SIZE, write=True)
        nonblock = self._nonblocking()     # F_SETFL on any dup shows here: one description
        p = self._take(tid)
        if p is None:
            if nonblock:
                raise SyscallError(abi.EAGAIN)
            with st.lock:
                while True:
                    p = self._take(tid)
                    if p is not None:
                        break
                    if st.deliverable(tid):
                        raise SyscallError(abi.EINTR)     # ERESTARTSYS, as signalfd_dequeue
                    st.cond.wait(0.5)
        got = [p]
        while len(got) < n:
            q = self._take(tid)
            if q is None:
                break
            got.append(q)
        self.refresh()
        done = 0
        for q in got:
            try:
                k.mem.write(buf + done, ssi_from_siginfo(q.info))
            except Exception:
                if not done:
                    raise
                break
            done += SSI_SIZE
        return done

    def vector(self, vecs, pos, write):
        if write:
            raise SyscallError(abi.EINVAL)
        for base, ln in vecs:
            if ln >= SSI_SIZE:
                return self.io(base, ln, pos, write)
        raise SyscallError(abi.EINVAL)

    def lseek(self, off, whence):
        raise SyscallError(abi.ESPIPE)


class _Hub:
    """The signalfds of one process and the SignalState hooks that keep them current."""

    def __init__(self, k):
        self.k = k
        self.fds = weakref.WeakSet()
        self.pid = os.getpid()
        st = k.signals
        self.kick_inner = st.kick
        self._kick = self.kick
        self._dq = self.dequeued
        self.dq_inner = None
        st.kick = self._kick
        self._wrap_dequeue()

    def _wrap_dequeue(self):
        st = self.k.signals
        if st.on_dequeue is not self._dq:
            self.dq_inner, st.on_dequeue = st.on_dequeue, self._dq

    def refresh(self):
        for s in list(self.fds):
            try:
                s.refresh()
            except OSError:
                pass

    def kick(self, tid, sig):
        self._wrap_dequeue()
        self.refresh()
        if self.kick_inner is not None:
            self.kick_inner(tid, sig)

    def dequeued(self, p):
        if self.dq_inner is not None:
            self.dq_inner(p)
        self.refresh()


_hubs = weakref.WeakSet()
_hub_lock = threading.Lock()


def _hub(k):
    with _hub_lock:
        h = getattr(k, "signalfd_hub", None)
        if h is None or h.k is not k:
            h = k.signalfd_hub = _Hub(k)
            _hubs.add(h)
        elif k.signals.kick is not h._kick and k.signals.kick is not None:
            h.kick_inner, k.signals.kick = k.signals.kick, h._kick    # the runtime's is new
        return h


def _after_fork_child():
    for h in list(_hubs):
        h.pid = os.getpid()
        for s in list(h.fds):
            hosts = [f.host for f in list(h.k.fds.files.values()) if f.emul is s]
            try:
                s.renew(s._nonblocking(), hosts)
            except OSError:
                pass


os.register_at_fork(after_in_child=_after_fork_child)


def sys_signalfd4(k, fd, mask, sizemask, flags):
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK) or sizemask != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    sigs = k.mem.read_u64(mask) & ~_UNBLOCKABLE
    fd = s32(fd)
    hub = _hub(k)
    if fd != -1:
        f = k.fds.get(fd)
        if not isinstance(f.emul, SignalFd):
            raise SyscallError(abi.EINVAL)
        f.emul.mask = sigs
        f.emul.refresh()
        with k.signals.lock:
            k.signals.cond.notify_all()
        return fd
    s = SignalFd(k, sigs, bool(flags & SFD_NONBLOCK))
    hub.fds.add(s)
    h = os.dup(s.host)
    g = k.fds.install(h, bool(flags & SFD_CLOEXEC), b"anon_inode:[signalfd]", emul=s)
    s.refresh()
    return g
