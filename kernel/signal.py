"""Signal bookkeeping: dispositions, masks, alternate stacks, self-signals.

Owns: SignalState (per-process sigactions; per-thread masks and sigaltstack
records keyed by tid; the pending set), rt_sigaction, rt_sigprocmask,
sigaltstack, rt_sigpending, kill/tkill/tgkill.  A signal sent to ourselves
whose action is the default "terminate" ends the process with status
128+sig (SIGABRT -> 134), at once or when it gets unblocked (glibc's
raise() blocks everything around tgkill).  Signals with a guest handler are
recorded in .pending; building the AArch64 rt_sigframe and delivering them
is not done here yet.  Signals to other pids go to the host kernel.
Does not own: host signal handling, sigreturn, frame layout.
"""
import os
import signal as _host_signal
import threading

from kernel import abi
from kernel.errors import ProcessExit, SyscallError
from kernel.status import partial
from kernel.uaccess import read_struct, s32, write_struct

_UNBLOCKABLE = (1 << (abi.SIGKILL - 1)) | (1 << (abi.SIGSTOP - 1))


def _bit(sig):
    return 1 << (sig - 1)


class SignalState:
    def __init__(self):
        self.actions = {}        # sig -> abi.KSigaction
        self.masks = {}          # tid -> blocked mask (bit sig-1)
        self.altstacks = {}      # tid -> abi.StackT
        self.pending = set()     # signals raised but not yet delivered
        self.lock = threading.RLock()

    def inherit_mask(self, parent_tid, child_tid):
        """A new thread starts with its creator's blocked mask."""
        with self.lock:
            self.masks[child_tid] = self.masks.get(parent_tid, 0)

    def forget_thread(self, tid):
        with self.lock:
            self.masks.pop(tid, None)
            self.altstacks.pop(tid, None)

    def handler(self, sig):
        act = self.actions.get(sig)
        return act.sa_handler if act is not None else abi.SIG_DFL


# Signals that reach the guest asynchronously from outside (the terminal, other processes, a
# closed pipe).  The guest runs in this host process, so their host disposition is the guest's
# as far as it can be without running guest handlers: ignored when the guest ignores them,
# the default action otherwise (SIGCHLD ignored on the host also means auto-reaped children,
# as in Linux).  Python's own SIGINT handler and its SIG_IGN for SIGPIPE/SIGXFSZ would
# otherwise show through (a traceback on Ctrl-C, EPIPE instead of death by SIGPIPE).
HOST_MIRRORED = (abi.SIGHUP, abi.SIGINT, abi.SIGQUIT, abi.SIGUSR1, abi.SIGUSR2, abi.SIGPIPE,
                 abi.SIGALRM, abi.SIGTERM, abi.SIGCHLD, abi.SIGTSTP, abi.SIGTTIN, abi.SIGTTOU,
                 abi.SIGXCPU, abi.SIGXFSZ, abi.SIGVTALRM, abi.SIGPROF, abi.SIGWINCH, abi.SIGURG,
                 abi.SIGIO, abi.SIGPWR)


def mirror_to_host(sig, handler):
    """Give the host process the guest's disposition for an asynchronous signal."""
    if sig not in HOST_MIRRORED or threading.current_thread() is not threading.main_thread():
        return
    try:
        _host_signal.signal(sig, _host_signal.SIG_IGN if handler == abi.SIG_IGN
                            else _host_signal.SIG_DFL)
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


def _check_sig(sig):
    sig = s32(sig)
    if not 1 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    return sig


@partial("recorded; guest handlers are not run yet (no signal delivery); ignore/default of "
         "asynchronous signals (SIGINT, SIGPIPE, SIGCHLD...) is given to the host process")
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
            mirror_to_host(sig, new.sa_handler)
            if new.sa_handler == abi.SIG_IGN:
                st.pending.discard(sig)
    return 0


@partial("masks kept per thread; nothing is delivered asynchronously yet")
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
            st.masks[tid] = mask & ~_UNBLOCKABLE
            for sig in sorted(st.pending):
                if not st.masks[tid] & _bit(sig):
                    _act_on(k, sig)
    return 0


def sys_rt_sigpending(k, set_, sigsetsize):
    if sigsetsize != abi.SIGSET_SIZE:
        raise SyscallError(abi.EINVAL)
    k.mem.write_u64(set_, sum(_bit(s) for s in k.signals.pending))
    return 0


@partial("recorded; no handler runs on it yet")
def sys_sigaltstack(k, ss, old_ss):
    st, tid = k.signals, k.tid()
    new = read_struct(k.mem, ss, abi.StackT) if ss else None
    if new is not None:
        flags = new.ss_flags & ~abi.SS_AUTODISARM
        if flags not in (0, abi.SS_DISABLE, abi.SS_ONSTACK):
            raise SyscallError(abi.EINVAL)
        if flags != abi.SS_DISABLE and new.ss_size < abi.MINSIGSTKSZ:
            raise SyscallError(abi.ENOMEM)
        if flags == abi.SS_DISABLE:
            new = abi.StackT(0, abi.SS_DISABLE, 0)
    with st.lock:
        if old_ss:
            write_struct(k.mem, old_ss, st.altstacks.get(tid, abi.StackT(0, abi.SS_DISABLE, 0)))
        if new is not None:
            new.ss_flags &= ~abi.SS_ONSTACK
            st.altstacks[tid] = new
    return 0


def adopt_exec_state(k, mask, ignored, pending):
    """The signal state an execve hands over: blocked mask, ignored signals, pending set."""
    st = k.signals
    with st.lock:
        st.masks[k.tid()] = mask & ~_UNBLOCKABLE
        for sig in range(1, abi.NSIG + 1):
            if ignored & _bit(sig) and sig not in (abi.SIGKILL, abi.SIGSTOP):
                st.actions[sig] = abi.KSigaction(abi.SIG_IGN, 0, 0, 0)
            if pending & _bit(sig):
                st.pending.add(sig)


def set_mask(k, mask):
    """Replace this thread's blocked mask (SIGKILL/SIGSTOP stay unblocked) and act on the
    pending signals it unblocks; returns the previous mask.  ppoll/pselect6 use it to run
    with the caller's temporary mask and to put the old one back afterwards."""
    st, tid = k.signals, k.tid()
    with st.lock:
        old = st.masks.get(tid, 0)
        st.masks[tid] = mask & ~_UNBLOCKABLE
        for sig in sorted(st.pending):
            if not st.masks[tid] & _bit(sig):
                _act_on(k, sig)
    return old


def _act_on(k, sig):
    """A signal reached this process: ignore it, keep it pending, or die."""
    st = k.signals
    handler = st.handler(sig)
    unstoppable = sig in (abi.SIGKILL, abi.SIGSTOP)
    if not unstoppable:
        if handler == abi.SIG_IGN:
            st.pending.discard(sig)
            return
        if st.masks.get(k.tid(), 0) & _bit(sig) or handler != abi.SIG_DFL:
            st.pending.add(sig)         # blocked, or needs a guest handler
            return
    st.pending.discard(sig)
    if sig in abi.SIG_DEFAULT_IGNORE or sig in abi.SIG_DEFAULT_STOP:
        return                          # stopping is not modelled
    k.finish()
    raise ProcessExit(128 + sig, signal=sig)


def send_self(k, sig):
    if sig == 0:
        return 0
    with k.signals.lock:
        _act_on(k, sig)
    return 0


@partial("to this process: default actions (terminate/ignore); handled signals stay pending")
def sys_kill(k, pid, sig):
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    if pid == os.getpid():
        return send_self(k, sig)
    os.kill(pid, sig)
    return 0


@partial("to this process: default actions (terminate/ignore); handled signals stay pending")
def sys_tkill(k, tid, sig):
    tid, sig = s32(tid), s32(sig)
    if tid <= 0 or not 0 <= sig <= abi.NSIG:
        raise SyscallError(abi.EINVAL)
    host = k.threads_host
    if tid in (k.tid(), os.getpid()) or (host is not None and tid in host.threads):
        return send_self(k, sig)        # signals are not yet directed at one thread
    raise SyscallError(abi.ESRCH)


@partial("to this process: default actions (terminate/ignore); handled signals stay pending")
def sys_tgkill(k, tgid, tid, sig):
    tgid = s32(tgid)
    if tgid <= 0:
        raise SyscallError(abi.EINVAL)
    if tgid != os.getpid():
        raise SyscallError(abi.ESRCH)
    return sys_tkill(k, tid, sig)
