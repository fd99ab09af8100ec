"""Host signals in, guest signals out: the process's one host-signal watcher, and kicks.

Owns: which host signals reach the guest from outside (the terminal, other processes, host
timers, exiting children: WATCHED), keeping them blocked in every host thread of emu and
taking them in one watcher thread with sigwaitinfo, so that their siginfo is known and no
Python signal handler ever runs at an arbitrary point of emu's code; turning each one into
what the guest's disposition says (posted as a guest signal with the host's siginfo; or, for
a default action, the process ends or stops at once, as it would under Linux, even if every
guest thread is blocked in the host); and KICK, the host signal that interrupts one guest
thread's blocking host call (a ctypes call returns EINTR) so that it delivers a guest signal.
SIGPIPE and SIGXFSZ are not watched: the kernel layer raises those itself, from EPIPE/EFBIG.

Does not own: guest dispositions, masks and the queue (kernel/signal.py), delivery
(kernel/delivery.py), which thread is kicked (the runtime).
"""
import signal
import threading

from kernel import abi, sigframe
from kernel.signal import HOST_MIRRORED, stop_self

KICK = signal.SIGRTMAX              # emu's own; guest signal 64 is never a host one
# The asynchronous signals whose host disposition follows the guest's, but SIGPIPE and SIGXFSZ
# (emu raises those itself), and SIGCONT (sent by whoever resumes a stopped process).
WATCHED = (frozenset(HOST_MIRRORED) - {abi.SIGPIPE, abi.SIGXFSZ}) | {abi.SIGCONT}


def _noop(sig, frame):
    """KICK's Python-level handler: the host call it interrupted already returned EINTR."""


def guest_siginfo(si):
    """The guest siginfo for a host struct_siginfo from sigwaitinfo."""
    sig, code = si.si_signo, si.si_code
    if sig == abi.SIGCHLD and code > 0:
        return sigframe.siginfo_child(code, si.si_pid, si.si_uid, si.si_status)
    if code == sigframe.SI_KERNEL:
        return sigframe.siginfo_kernel(sig)
    info = sigframe.siginfo_kill(sig, si.si_pid, si.si_uid)
    info.si_code = code
    return info


class Watcher:
    """The watcher thread of one guest process.  `on_signal(struct_siginfo)` runs on it."""

    def __init__(self, on_signal):
        self.on_signal = on_signal
        self.thread = None

    def start(self):
        """From the host's main thread (or a fork child's only thread), before any guest
        thread exists: KICK's handler, the watched set blocked, the watcher started."""
        try:
            signal.signal(KICK, _noop)
            signal.siginterrupt(KICK, True)
        except (OSError, ValueError):
            pass
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [KICK])
        self.thread = threading.Thread(target=self._run, daemon=True, name="emu-signals")
        self.thread.start()

    def _run(self):
        watched = list(WATCHED)
        while True:
            try:
                si = signal.sigwaitinfo(watched)
            except InterruptedError:
                continue
            self.on_signal(si)


def unblock_for_exec():
    """Before execve: the new image inherits the host mask; it blocks what it watches
    itself, so nothing of emu's is left blocked for the programs it starts."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)


def block_watched():
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)


def kick_thread(ident):
    """Interrupt host thread `ident`'s blocking call (it sees EINTR)."""
    try:
        signal.pthread_kill(ident, KICK)
    except (OSError, ValueError, ProcessLookupError):
        pass


def stop_process(sig):
    """A default "stop" action (SIGTSTP, SIGTTIN, SIGTTOU): stop the whole host process."""
    stop_self(sig)
