"""Signal bookkeeping: dispositions, masks, alternate stacks, pending signals, senders.

Owns: SignalState (per-process sigactions; per-thread masks, sigaltstack records and saved
masks keyed by tid; the queue of pending signals, each with its siginfo and its target
thread or the whole process; post(), which generates a signal as Linux's send_signal does:
ignored ones dropped, standard ones coalesced, real-time ones queued), and the syscalls
rt_sigaction, rt_sigprocmask, rt_sigpending, sigaltstack, kill/tkill/tgkill,
rt_sigqueueinfo/rt_tgsigqueueinfo, rt_sigsuspend and rt_sigtimedwait.  Signals to other
pids go to the host kernel.
Does not own: delivery (kernel/delivery.py: which pending signal runs, the frame, default
actions, syscall restarts), the frame layout (kernel/sigframe.py), host signals
(emu/hostsignals.py).
"""
import ctypes
import os
import signal as _host_signal
import threading
import time as _time

from kernel import abi, sigframe
from kernel import time as _ktime
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct, s32, write_struct

_UNBLOCKABLE = (1 << (abi.SIGKILL - 1)) | (1 << (abi.SIGSTOP - 1))


def _bit(sig):
    return 1 << (sig - 1)


class Pending:
    """One generated signal waiting for delivery: its number, the 128-byte siginfo, and
    the thread it is directed at (None: the process, any thread not blocking it)."""
    __slots__ = ("sig", "info", "tid")

    def __init__(self, sig, info, tid):
        self.sig, self.info, self.tid = sig, info, tid


class SignalState:
    def __init__(self):
        self.actions = {}        # sig -> abi.KSigaction
        self.masks = {}          # tid -> blocked mask (bit sig-1)
        self.altstacks = {}      # tid -> abi.StackT
        self.queue = []          # Pending, in generation order
        self.saved = {}          # tid -> mask to restore after sigsuspend/ppoll... (Linux's
                                 # saved_sigmask): the frame's uc_sigmask if a handler runs
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)   # sigsuspend / sigtimedwait waiters
        self.kick = None         # runtime: kick(tid or None, sig): a thread looks soon
        self.leader = 0          # tid whose mask decides whether a process signal is ignored
        self.on_dequeue = None   # kernel/timers.py: a timer's overrun count is fixed then
        self.delivered = 0       # handler frames built (EMU_BLOCK_STATS signals_delivered)
        self.from_host = 0       # signals that came from the host (EMU_BLOCK_STATS host_signals)

    @property
    def pending(self):
        """Signal numbers pending anywhere in the process."""
        return {p.sig for p in self.queue}

    def pending_for(self, tid):
        """Signal numbers pending for thread tid (its own and the process's)."""
        return {p.sig for p in self.queue if p.tid is None or p.tid == tid}

    def inherit_mask(self, parent_tid, child_tid):
        """A new thread starts with its creator's blocked mask."""
        with self.lock:
            self.masks[child_tid] = self.masks.get(parent_tid, 0)

    def forget_thread(self, tid):
        with self.lock:
            self.masks.pop(tid, None)
            self.altstacks.pop(tid, None)
            self.saved.pop(tid, None)
            self.queue = [p for p in self.queue if p.tid != tid]

    def after_fork(self, old_tid, new_tid):
        """In a fork child: nothing pending (Linux clears the child's pending sets)."""
        with self.lock:
            self.queue = []
            self.saved = {}
            self.leader = new_tid

    def handler(self, sig):
        act = self.actions.get(sig)
        return act.sa_handler if act is not None else abi.SIG_DFL

    def ignoring(self, sig):
        """Does the action for `sig` ignore it (SIG_IGN, or SIG_DFL whose default is to
        ignore)?"""
        h = self.handler(sig)
        return h == abi.SIG_IGN or (h == abi.SIG_DFL and sig in abi.SIG_DEFAULT_IGNORE)

    def ignored(self, sig, tid=None):
        """Linux's sig_ignored: the action ignores it — unless the target thread (the
        leader for a process signal) blocks it, so that sigwait and a later unblock can
        still see it."""
        if sig in (abi.SIGKILL, abi.SIGSTOP) or not self.ignoring(sig):
            return False
        return not self.masks.get(tid if tid is not None else self.leader, 0) & _bit(sig)

    def post(self, sig, info, tid=None):
        """Generate signal `sig` (siginfo bytes or a Siginfo) for thread tid or the process.
        Ignored signals are dropped; a standard signal already pending for the same target
        is not queued twice; real-time ones queue in order.  Wakes sigsuspend/sigtimedwait
        and kicks the target so it delivers soon.  Returns True if queued."""
        info = bytes(info)
        with self.lock:
            if sig == abi.SIGCONT or sig in abi.SIG_DEFAULT_STOP:     # prepare_signal
                cancels = abi.SIG_DEFAULT_STOP if sig == abi.SIGCONT else {abi.SIGCONT}
                self.queue = [p for p in self.queue if p.sig not in cancels]
            if self.ignored(sig, tid):
                return False
            if sig < abi.SIGRTMIN and any(p.sig == sig and p.tid == tid for p in self.queue):
                return False
            self.queue.append(Pending(sig, info, tid))
            self.cond.notify_all()
        if self.kick is not None:
            self.kick(tid, sig)
        return True

    def deliverable(self, tid, mask=None):
        """Is anything pending that thread tid does not block (under `mask` if given)?"""
        mask = self.masks.get(tid, 0) if mask is None else mask
        return any((p.tid is None or p.tid == tid) and not mask & _bit(p.sig)
                   for p in self.queue)

    def take(self, tid, mask=None, only=None):
        """Dequeue what thread tid delivers next (Linux's dequeue_signal: its own pending
        signals first, then the process's; the lowest number first, the oldest of a
        number), skipping blocked ones (by `mask`, default its mask) or, with `only`, those
        outside that set.  Returns a Pending or None."""
        with self.lock:
            mask = self.masks.get(tid, 0) if mask is None else mask
            for own in (True, False):
                best = None
                for p in self.queue:
                    if (p.tid == tid) if own else (p.tid is None):
                        if mask & _bit(p.sig) or (only is not None and not only & _bit(p.sig)):
                            continue
                        if best is None or p.sig < best.sig:
                            best = p
                if best is not None:
                    self.queue.remove(best)
                    if self.on_dequeue is not None:
                        self.on_dequeue(best)
                    return best
            return None


# Signals whose host disposition follows the guest's.  Those that reach the guest from outside
# (the terminal, other processes, timers, children) are also blocked in every host thread and
# taken by the runtime's watcher (emu/hostsignals.py), so here only SIG_IGN matters: SIGCHLD
# ignored on the host means auto-reaped children, as in Linux.  SIGPIPE and SIGXFSZ stay
# ignored on the host whatever the guest says: the kernel layer raises them as guest signals
# itself when a write fails with EPIPE or EFBIG (generate_io_signal).
HOST_MIRRORED = (abi.SIGHUP, abi.SIGINT, abi.SIGQUIT, abi.SIGUSR1, abi.SIGUSR2, abi.SIGPIPE,
                 abi.SIGALRM, abi.SIGTERM, abi.SIGCHLD, abi.SIGTSTP, abi.SIGTTIN, abi.SIGTTOU,
                 abi.SIGXCPU, abi.SIGXFSZ, abi.SIGVTALRM, abi.SIGPROF, abi.SIGWINCH, abi.SIGURG,
                 abi.SIGIO, abi.SIGPWR)


class _HostSigaction(ctypes.Structure):
    """glibc's x86-64 struct sigaction (for libc's sigaction: callable from any thread)."""
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)
_HOST_SA_NOCLDWAIT = 2


def _mirror_sigchld(handler, flags):
    """SIGCHLD on the host: SIG_IGN or SA_NOCLDWAIT make the host reap exited children
    itself (no zombies; wait returns ECHILD), as Linux does for the guest.  The handler
    stays SIG_DFL otherwise: the watcher takes the (blocked) signal."""
    act = _HostSigaction()
    act.handler = 1 if handler == abi.SIG_IGN else 0
    act.flags = _HOST_SA_NOCLDWAIT if flags & _HOST_SA_NOCLDWAIT else 0
    _libc.sigaction(abi.SIGCHLD, ctypes.byref(act), None)


def mirror_to_host(sig, handler, flags=0):
    """Give the host process the guest's disposition for an asynchronous signal."""
    if sig == abi.SIGCHLD:
        _mirror_sigchld(handler, flags)
        return
    if sig not in HOST_MIRRORED or threading.current_thread() is not threading.main_thread():
        return
    ignore = handler == abi.SIG_IGN or sig in (abi.SIGPIPE, abi.SIGXFSZ)
    try:
        _host_signal.signal(sig, _host_signal.SIG_IGN if ignore else _host_signal.SIG_DFL)
    except (OSError, ValueError):
        pass


def reset_host_dispositions(ignored=0):
    """At start-up: the host dispositions of a guest that has no handlers yet."""
    for sig in HOST_MIRRORED:
        mirror_to_host(sig, abi.SIG_IGN if ignored & _bit(sig) else abi.SIG_DFL)


def inherited_from_host():
    """(blocked mask, ignored set) the emulator itself inherited (e.g. from nohup), which the
    first guest program inherits as from an execve.  SIGPIPE and SIGXFSZ are not taken from
    the host: the Python runtime ignores them itself at start-up."""
    ignored = 0
    for sig in HOST_MIRRORED:
        if sig in (abi.SIGPIPE, abi.SIGXFSZ):
            continue
        try:
            if _host_signal.getsignal(sig) == _host_signal.SIG_IGN:
                ignored |= _bit(sig)
        except (OSError, ValueError):
            pass
    try:
        blocked = _host_signal.pthread_sigmask(_host_signal.SIG_BLOCK, [])
    except OSError:
        blocked = ()
    mask = sum(_bit(int(s)) for s in blocked) & ~_UNBLOCKABLE
    return mask, ignored


def stop_self(sig):
    """A default "stop" action: the whole host process stops with `sig` (a waiting parent
    sees WSTOPSIG == sig), until a SIGCONT.  Emu keeps the stop signals blocked in every
    host thread (the watcher takes them), so the signal is sent to this thread alone and
    unblocked here, where its host disposition is the default (SIGSTOP always is)."""
    if sig != abi.SIGSTOP and _host_signal.getsignal(sig) != _host_signal.SIG_DFL:
        sig = abi.SIGSTOP                   # a host handler we cannot take away here
    old = _host_signal.pthread_sigmask(_host_signal.SIG_BLOCK, [])
    _host_signal.pthread_kill(threading.get_ident(), sig)
    _host_signal.pthread_sigmask(_host_signal.SIG_UNBLOCK, [sig])   # stops here
    _host_signal.pthread_sigmask(_host_signal.SIG_SETMASK, old)


def _check_sig(sig):
    sig = s32(sig)
    if not 1 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    return sig


def sys_rt_sigaction(k, sig, act, oact, sigsetsize):
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    sig = _check_sig(sig)
    if act and sig in (abi.SIGKILL, abi.SIGSTOP):
        raise SyscallError(abi.EINVAL)
    new = read_struct(k.mem, act, abi.KSigaction) if act else None
    st = k.signals
    with st.lock:
        if oact:
            write_struct(k.mem, oact, st.actions.get(sig, abi.KSigaction()))
        if new is not None:
            new.sa_mask &= ~_UNBLOCKABLE
            st.actions[sig] = new
            mirror_to_host(sig, new.sa_handler, new.sa_flags)
            # Linux discards pending signals that the new action ignores (in every thread).
            if st.ignoring(sig):
                st.queue = [p for p in st.queue if p.sig != sig]
    return 0


def sys_rt_sigprocmask(k, how, set_, oldset, sigsetsize):
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    st, tid = k.signals, k.tid()
    new = k.mem.read_u64(set_) if set_ else None
    with st.lock:
        cur = st.masks.get(tid, 0)
        if new is not None:
            how = s32(how)
            if how == abi.SIG_BLOCK:
                mask = cur | new
            elif how == abi.SIG_UNBLOCK:
                mask = cur & ~new
            elif how == abi.SIG_SETMASK:
                mask = new
            else:
                raise SyscallError(abi.EINVAL)
        if oldset:
            k.mem.write_u64(oldset, cur)
        if new is not None:
            st.masks[tid] = mask & ~_UNBLOCKABLE    # unblocked ones are delivered on return
    return 0


def sys_rt_sigpending(k, set_, sigsetsize):
    """Pending signals the thread blocks (its own and the process's)."""
    if sigsetsize > abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    st, tid = k.signals, k.tid()
    with st.lock:
        bits = sum(_bit(s) for s in st.pending_for(tid)) & st.masks.get(tid, 0)
    k.mem.write(set_, bits.to_bytes(8, "little")[:sigsetsize])
    return 0


def sys_sigaltstack(k, ss, old_ss):
    st, tid = k.signals, k.tid()
    new = read_struct(k.mem, ss, abi.StackT) if ss else None
    cpu = k.cpu
    sp = cpu.sp if cpu is not None else 0
    with st.lock:
        cur = st.altstacks.get(tid)
        if old_ss:
            out = abi.StackT(cur.ss_sp, cur.ss_flags, cur.ss_size) if cur is not None \
                else abi.StackT(0, abi.SS_DISABLE, 0)
            out.ss_flags = sigframe.altstack_flags(cur, sp) | \
                (cur.ss_flags & abi.SS_AUTODISARM if cur is not None else 0)
            write_struct(k.mem, old_ss, out)
        if new is not None:
            set_altstack(st, tid, new, sp)
    return 0


def set_altstack(st, tid, new, sp):
    """sigaltstack's rules for installing `new` (a StackT) as thread tid's alternate stack
    while its SP is `sp`; SyscallError EPERM/EINVAL/ENOMEM as Linux.  rt_sigreturn applies
    the frame's uc_stack through it too, ignoring the errors.  Caller holds st.lock."""
    if sigframe.on_altstack(st.altstacks.get(tid), sp):
        raise SyscallError(abi.EPERM)
    flags = new.ss_flags & ~abi.SS_AUTODISARM
    if flags not in (0, abi.SS_DISABLE, abi.SS_ONSTACK):
        raise SyscallError(abi.EINVAL)
    if flags == abi.SS_DISABLE:
        new = abi.StackT(0, abi.SS_DISABLE, 0)
    elif new.ss_size < abi.MINSIGSTKSZ:
        raise SyscallError(abi.ENOMEM)
    new.ss_flags &= ~abi.SS_ONSTACK
    st.altstacks[tid] = new


def adopt_exec_state(k, mask, ignored, pending):
    """The signal state an execve hands over: blocked mask, ignored signals, pending set."""
    st = k.signals
    with st.lock:
        st.leader = k.tid()
        st.masks[k.tid()] = mask & ~_UNBLOCKABLE
        for sig in range(1, abi.NSIG + 1):
            if ignored & _bit(sig) and sig not in (abi.SIGKILL, abi.SIGSTOP):
                st.actions[sig] = abi.KSigaction(abi.SIG_IGN, 0, 0, 0)
            if pending & _bit(sig):
                st.queue.append(Pending(sig, bytes(sigframe.siginfo_kernel(sig)), None))


def set_mask(k, mask):
    """Replace this thread's blocked mask (SIGKILL/SIGSTOP stay unblocked); returns the
    previous one.  Signals it unblocks are delivered when the syscall returns."""
    st, tid = k.signals, k.tid()
    with st.lock:
        old = st.masks.get(tid, 0)
        st.masks[tid] = mask & ~_UNBLOCKABLE
    return old


def discard_ignored(k):
    """Drop pending signals this thread's mask lets through whose action is to ignore them
    (what delivering them would do)."""
    st, tid = k.signals, k.tid()
    with st.lock:
        mask = st.masks.get(tid, 0)
        st.queue = [p for p in st.queue
                    if (p.tid is not None and p.tid != tid) or mask & _bit(p.sig)
                    or not st.ignoring(p.sig)]


def interrupted_with_mask(k, old):
    """A call that ran under a temporary mask (sigsuspend, ppoll, pselect6, epoll_pwait)
    was interrupted: the temporary mask stays until delivery, which saves `old` in the
    handler's frame (or puts it back if no handler runs): Linux's saved_sigmask."""
    with k.signals.lock:
        k.signals.saved[k.tid()] = old


def _uid():
    return os.getuid()


def _thread_exists(k, tid):
    host = k.threads_host
    return tid in (k.tid(), os.getpid()) or (host is not None and tid in host.threads)


def sys_kill(k, pid, sig):
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    if pid == os.getpid():
        if sig:
            k.signals.post(sig, sigframe.siginfo_kill(sig, os.getpid(), _uid()))
        return 0
    os.kill(pid, sig)           # another process, a group, or all: the host's kill
    return 0


def _tkill(k, tid, sig, info):
    if not _thread_exists(k, tid):
        raise SyscallError(abi.ESRCH)
    if sig:
        k.signals.post(sig, info, tid)
    return 0


def sys_tkill(k, tid, sig):
    tid, sig = s32(tid), s32(sig)
    if tid <= 0 or not 0 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    return _tkill(k, tid, sig, sigframe.siginfo_tkill(sig, os.getpid(), _uid()))


def sys_tgkill(k, tgid, tid, sig):
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not 0 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    if tgid != os.getpid():
        raise SyscallError(abi.ESRCH)
    return _tkill(k, tid, sig, sigframe.siginfo_tkill(sig, os.getpid(), _uid()))


def _queued_info(k, sig, uinfo):
    """The siginfo a sigqueueinfo caller supplies; Linux refuses si_code >= 0 (and SI_TKILL)
    from another process but lets a process send itself any code."""
    info = k.mem.read(uinfo, sigframe.SIGINFO_SIZE)
    si = sigframe.Siginfo.from_buffer_copy(info)
    si.si_signo = sig
    return bytes(si)


@partial("to this process only (another pid: EPERM)")
def sys_rt_sigqueueinfo(k, pid, sig, uinfo):
    pid, sig = s32(pid), _check_sig(sig)
    info = _queued_info(k, sig, uinfo)
    if pid != os.getpid():
        raise SyscallError(abi.EPERM if pid > 0 else abi.EINVAL)
    k.signals.post(sig, info)
    return 0


@partial("to this process only (another tgid: EPERM)")
def sys_rt_tgsigqueueinfo(k, tgid, tid, sig, uinfo):
    tgid, tid, sig = s32(tgid), s32(tid), _check_sig(sig)
    info = _queued_info(k, sig, uinfo)
    if tgid != os.getpid():
        raise SyscallError(abi.EPERM if tgid > 0 else abi.EINVAL)
    if not _thread_exists(k, tid):
        raise SyscallError(abi.ESRCH)
    k.signals.post(sig, info, tid)
    return 0


def _wait_for(k, predicate, timeout=None):
    """Block (GIL released) until predicate() holds under the signal lock or the timeout
    (seconds) passes; returns predicate()'s last value.  The runtime's kicks and every
    post() notify the condition; host signals come in through the runtime's watcher."""
    st = k.signals
    deadline = None if timeout is None else _time.monotonic() + timeout
    with st.lock:
        while True:
            got = predicate()
            if got:
                return got
            left = None if deadline is None else deadline - _time.monotonic()
            if left is not None and left <= 0:
                return got
            st.cond.wait(0.5 if left is None else min(left, 0.5))


def sys_rt_sigsuspend(k, mask, sigsetsize):
    """Wait with `mask` until a signal is delivered: -EINTR (ERESTARTNOHAND), the old mask
    saved for the handler's frame."""
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    new = k.mem.read_u64(mask)
    tid = k.tid()
    old = set_mask(k, new)
    interrupted_with_mask(k, old)
    _wait_for(k, lambda: k.signals.deliverable(tid))
    raise SyscallError(abi.ERESTARTNOHAND)


def sys_rt_sigtimedwait(k, uthese, uinfo, uts, sigsetsize):
    """Take one pending signal of the set (blocked or not, as Linux: the caller normally
    blocks them); wait up to the timeout; EAGAIN when it passes, EINTR when a signal
    outside the set is delivered meanwhile."""
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    these = k.mem.read_u64(uthese) & ~_UNBLOCKABLE
    timeout = _ktime.read_ts(k, uts) / 1e9 if uts else None
    st, tid = k.signals, k.tid()
    # Signals of the set are taken whatever the mask; others interrupt if deliverable.
    take = lambda: st.take(tid, mask=0, only=these)       # noqa: E731
    got = [None]

    def ready():
        got[0] = take()
        return got[0] is not None or st.deliverable(tid, st.masks.get(tid, 0) | these)
    _wait_for(k, ready, timeout)
    p = got[0]
    if p is None:
        if st.deliverable(tid, st.masks.get(tid, 0) | these):
            raise SyscallError(abi.EINTR)
        raise SyscallError(abi.EAGAIN)
    if uinfo:
        k.mem.write(uinfo, p.info)
    return p.sig


# Calls that raise SIGPIPE on EPIPE (Linux: pipe_write, sock_sendmsg without MSG_NOSIGNAL) and
# SIGXFSZ on EFBIG (a write past RLIMIT_FSIZE); for the send family, the index of the flags
# argument.
_MSG_NOSIGNAL = 0x4000
_SIGPIPE_CALLS = {"write": None, "writev": None, "pwrite64": None, "pwritev": None,
                  "pwritev2": None, "sendfile": None, "splice": None, "vmsplice": None,
                  "tee": None, "copy_file_range": None, "sendto": 3, "sendmsg": 2,
                  "sendmmsg": 3}


def generate_io_signal(k, name, args, errno):
    """After call `name` failed with errno: the SIGPIPE or SIGXFSZ Linux sends the caller
    (siginfo SI_USER from the process itself, as send_sig(SIGPIPE, current, 0))."""
    if name not in _SIGPIPE_CALLS:
        return
    if errno == abi.EPIPE:
        idx = _SIGPIPE_CALLS[name]
        if idx is not None and args[idx] & _MSG_NOSIGNAL:
            return
        sig = abi.SIGPIPE
    elif errno == abi.EFBIG:
        sig = abi.SIGXFSZ
    else:
        return
    k.signals.post(sig, sigframe.siginfo_kill(sig, os.getpid(), _uid()), k.tid())
