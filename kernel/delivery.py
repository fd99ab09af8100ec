"""Signal delivery: what a thread does with its pending signals before it runs guest code.

Owns: taking pending signals in Linux's order and acting on each (SIG_IGN: dropped; a default
action: ignore, or end the process with the signal; a handler: the rt_sigframe built by
kernel/sigframe.py, then the mask, SA_RESETHAND and SS_AUTODISARM updated as Linux's
signal_delivered does), the restart of an interrupted syscall (-ERESTART* -> restart it or
-EINTR, by SA_RESTART and the call's restart class), synchronous faults forced onto the
faulting thread (force_sig_fault: a blocked or ignored fault signal kills), a frame that
cannot be written (force_sigsegv), rt_sigreturn, and the sigreturn trampoline page emu maps
in place of the vDSO.
Does not own: generating signals and the pending queue (kernel/signal.py), the frame layout
(kernel/sigframe.py), when delivery runs (the runtime's exit loop calls in after every
syscall that leaves something to do, at exit requests, and on faults), host signals.
"""
from kernel import abi, sigframe, strace
from kernel.errors import ProcessExit, SyscallError
from kernel.signal import Pending, set_altstack, stop_self
from kernel.uaccess import MASK64
from kernel.vma import STACK_TOP

_UNBLOCKABLE = (1 << (abi.SIGKILL - 1)) | (1 << (abi.SIGSTOP - 1))
RESTARTS = frozenset({abi.ERESTARTSYS, abi.ERESTARTNOINTR, abi.ERESTARTNOHAND,
                      abi.ERESTART_RESTARTBLOCK})

# The restart class of an interrupted call (what Linux's handler returns when a signal cuts
# its wait short); calls not named here return ERESTARTSYS (restarted under SA_RESTART).
# None: the call fails with EINTR whatever the flags (the kernel returns -EINTR itself).
RESTART_CLASS = {
    "rt_sigsuspend": abi.ERESTARTNOHAND,
    "ppoll": abi.ERESTARTNOHAND,
    "pselect6": abi.ERESTARTNOHAND,
    "epoll_pwait": None,                 # ep_poll returns -EINTR itself
    "epoll_pwait2": None,
    "nanosleep": abi.ERESTART_RESTARTBLOCK,
    "clock_nanosleep": abi.ERESTART_RESTARTBLOCK,
    "rt_sigtimedwait": None,
    "wait4": abi.ERESTARTSYS,
    "waitid": abi.ERESTARTSYS,
}
SYS_RT_SIGRETURN = 139
TRAMPOLINE_ADDR = STACK_TOP + 0x10000


def _bit(sig):
    return 1 << (sig - 1)


class KeepRegisters:
    """A syscall result that is not one: rt_sigreturn leaves x0 as the frame restored it."""

    def __repr__(self):
        return "KEEP_REGISTERS"


KEEP_REGISTERS = KeepRegisters()


def interrupted(name):
    """The internal result for syscall `name` cut short by a signal (-ERESTART* or -EINTR)."""
    code = RESTART_CLASS.get(name, abi.ERESTARTSYS)
    return -(code if code is not None else abi.EINTR)


def needs_delivery(k, cpu, ret=0):
    """Cheap test after a syscall: is there anything for deliver() to do?"""
    st = k.signals
    return bool(st.queue) or (ret < 0 and -ret in RESTARTS) or (st.saved and cpu.tid in st.saved)


def trampoline(k):
    """The sigreturn trampoline's address, mapping its page on first use (emu's [vdso])."""
    addr = getattr(k, "trampoline_addr", None)
    if addr is None:
        # Above the stack, where Linux puts the vDSO: never in a hole the guest just made
        # (a page it unmapped must stay unmapped).  Elsewhere only if the guest took it.
        flags = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
        try:
            addr = k.space.map(TRAMPOLINE_ADDR, 4096, abi.PROT_READ | abi.PROT_EXEC,
                               flags | abi.MAP_FIXED_NOREPLACE, name="[vdso]")
        except SyscallError:
            addr = k.space.map(0, 4096, abi.PROT_READ | abi.PROT_EXEC, flags, name="[vdso]")
        sigframe.install_trampoline(k.mem, addr)
        k.trampoline_addr = addr
    return addr


def _die(k, sig):
    k.finish()
    raise ProcessExit(128 + sig, signal=sig)


def _restart(cpu, ret, flags, orig_x0, handler_runs):
    """Linux's syscall restart (arm64 do_signal) for the first signal acted on."""
    code = -ret
    if handler_runs and (code in (abi.ERESTARTNOHAND, abi.ERESTART_RESTARTBLOCK)
                         or (code == abi.ERESTARTSYS and not flags & sigframe.SA_RESTART)):
        cpu.x[0] = (-abi.EINTR) & MASK64
    elif code == abi.ERESTART_RESTARTBLOCK:
        cpu.x[0] = (-abi.EINTR) & MASK64        # emu keeps no restart block: EINTR
    else:
        cpu.x[0] = orig_x0 & MASK64             # run the SVC again
        cpu.pc = (cpu.pc - 4) & MASK64


def _run_handler(k, cpu, tid, sig, info, act, fault_address=0, esr=None):
    """Build the frame for one handled signal; returns False if it could not be written
    (the caller forces SIGSEGV)."""
    st = k.signals
    saved = st.saved.pop(tid, None)
    blocked = st.masks.get(tid, 0)
    alt = st.altstacks.get(tid)
    try:
        sigframe.setup_frame(k.mem, cpu, sig, info, saved if saved is not None else blocked,
                             act.sa_handler, act.sa_flags, act.sa_restorer,
                             trampoline=trampoline(k), altstack=alt,
                             fault_address=fault_address, esr=esr)
    except sigframe.FrameWriteError:
        if saved is not None:
            st.saved[tid] = saved
        return False
    st.delivered += 1
    if k.strace:
        k.trace_line(strace.signal_line(info))
    new = blocked | act.sa_mask
    if not act.sa_flags & sigframe.SA_NODEFER:
        new |= _bit(sig)
    st.masks[tid] = new & ~_UNBLOCKABLE
    if act.sa_flags & sigframe.SA_RESETHAND:
        st.actions[sig] = abi.KSigaction(abi.SIG_DFL, 0, 0, 0)
    if alt is not None and alt.ss_flags & abi.SS_AUTODISARM:
        st.altstacks[tid] = abi.StackT(0, abi.SS_DISABLE, 0)
    return True


def _force_sigsegv(k, tid, sig):
    """A frame for `sig` could not be written (Linux's force_sigsegv): SIGSEGV is forced on
    the thread; if `sig` was SIGSEGV itself the process dies of it."""
    st = k.signals
    if sig == abi.SIGSEGV or st.handler(abi.SIGSEGV) in (abi.SIG_DFL, abi.SIG_IGN):
        _die(k, abi.SIGSEGV)
    _force(st, tid, abi.SIGSEGV, sigframe.siginfo_kernel(abi.SIGSEGV))


def _force(st, tid, sig, info):
    """Linux's force_sig_info: `sig` unblocked on thread tid, an ignoring SIG_IGN reset to
    the default, and the signal queued first for that thread.  Caller holds st.lock."""
    st.masks[tid] = st.masks.get(tid, 0) & ~_bit(sig)
    if st.handler(sig) == abi.SIG_IGN:
        st.actions[sig] = abi.KSigaction(abi.SIG_DFL, 0, 0, 0)
    st.queue.insert(0, Pending(sig, bytes(info), tid))


def deliver(k, cpu, ret=None, orig_x0=0):
    """Act on every signal thread `cpu` can take now, as Linux does on its way back to user
    mode: each handled one gets a frame on top of the previous one (the last set up runs
    first).  ret: the raw result of the syscall just made (None: not after a syscall);
    orig_x0: that call's first argument, for a restart.  Raises ProcessExit when a default
    action ends the process."""
    st = k.signals
    tid = cpu.tid or k.tid()
    restart = ret if ret is not None and ret < 0 and -ret in RESTARTS else None
    stops = []
    with st.lock:
        while True:
            p = st.take(tid)
            if p is None:
                break
            sig = p.sig
            act = st.actions.get(sig)
            handler = act.sa_handler if act is not None else abi.SIG_DFL
            if handler == abi.SIG_IGN:
                continue
            if handler == abi.SIG_DFL:
                if sig in abi.SIG_DEFAULT_STOP:
                    stops.append(sig)           # once the lock is free: others need it
                if sig in abi.SIG_DEFAULT_IGNORE or sig in abi.SIG_DEFAULT_STOP:
                    continue
                _die(k, sig)
            if restart is not None:
                _restart(cpu, restart, act.sa_flags, orig_x0, True)
                restart = None
            if not _run_handler(k, cpu, tid, sig, p.info, act):
                _force_sigsegv(k, tid, sig)
        saved = st.saved.pop(tid, None)
        if saved is not None:                   # no handler ran: the old mask comes back
            st.masks[tid] = saved
    for sig in stops:
        stop_self(sig)                          # returns when the process is continued
    if restart is not None:
        _restart(cpu, restart, 0, orig_x0, False)


def deliver_fault(k, cpu, sig, code, addr, fault_address=0, esr=None):
    """A synchronous fault of the instruction at cpu.pc (state precise).  Returns True when
    the guest's handler will run (its frame is built), False when the fault kills (no
    handler, or the signal blocked or ignored: Linux then resets it to the default)."""
    st = k.signals
    tid = cpu.tid or k.tid()
    with st.lock:
        act = st.actions.get(sig)
        handler = act.sa_handler if act is not None else abi.SIG_DFL
        if handler in (abi.SIG_DFL, abi.SIG_IGN) or st.masks.get(tid, 0) & _bit(sig):
            st.actions[sig] = abi.KSigaction(abi.SIG_DFL, 0, 0, 0)
            return False
        info = sigframe.siginfo_fault(sig, code, addr)
        if not _run_handler(k, cpu, tid, sig, info, act, fault_address, esr):
            if sig == abi.SIGSEGV:
                return False
            _force_sigsegv(k, tid, sig)
    deliver(k, cpu)
    return True


def sys_rt_sigreturn(k):
    """Take the frame at SP back; x0 stays as restored (KEEP_REGISTERS)."""
    cpu, st = k.cpu, k.signals
    tid = cpu.tid or k.tid()
    try:
        mask, stack = sigframe.restore_frame(k.mem, cpu)
    except sigframe.BadFrame as bad:
        with st.lock:
            if bad.mask is not None:
                st.masks[tid] = bad.mask & ~_UNBLOCKABLE
            code = sigframe.SEGV_ACCERR if k.space.find(bad.addr) else sigframe.SEGV_MAPERR
            _force(st, tid, abi.SIGSEGV, sigframe.siginfo_fault(abi.SIGSEGV, code, bad.addr))
        return KEEP_REGISTERS
    with st.lock:
        st.masks[tid] = mask & ~_UNBLOCKABLE
        st.saved.pop(tid, None)
        try:                                    # as sigaltstack(&uc_stack, NULL), errors ignored
            set_altstack(st, tid, stack, cpu.sp)
        except SyscallError:
            pass
    return KEEP_REGISTERS
