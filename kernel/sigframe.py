"""The AArch64 Linux signal frame: building it for a handler, taking it back at rt_sigreturn.

Owns: the guest ABI structures of signal delivery, kept together here and size-checked
(siginfo_t, struct ucontext with struct sigcontext, the __reserved[] records fpsimd_context /
esr_context / the null terminator, the {fp, lr} frame record, struct rt_sigframe), where the
frame goes (alternate stack or below SP, 16-byte aligned, no red zone: arm64 Linux has none),
the register hand-off to the handler and back, the siginfo builders for each kind of sender,
the ESR values of user faults, and the sigreturn trampoline used when a guest passes no
SA_RESTORER.  Pure functions over a GuestMemory (emu/memory.py) and a CPUState
(emu/cpustate.py).
Does not own: which signal is delivered when, dispositions, masks, pending sets, the
per-thread sigaltstack record (kernel/signal.py), nor where the trampoline page is mapped
(the caller maps it).  Those are the caller's, as spelled out below.

Layouts follow arch/arm64/include/uapi/asm/{sigcontext,ucontext}.h, include/uapi/asm-generic/
siginfo.h and arch/arm64/kernel/signal.c; every offset is asserted below and compared with
what the aarch64-linux-gnu headers say (tests/contracts/sigframe_layout.c run under
qemu-aarch64, in tests/test_sigframe.py).

    higher addresses
      old SP (or ss_sp + ss_size on the alternate stack)
      struct frame_record { fp = old x29, lr = old x30 }   <- x29, at (top - 16) & ~15
      struct rt_sigframe {                                  <- SP, x1 (&info), 4688 bytes
          siginfo_t info;                 0
          struct ucontext uc;             128  <- x2
              uc_flags 128, uc_link 136, uc_stack 144, uc_sigmask 168,
              uc_mcontext 304: fault_address, regs[31] 312, sp 560, pc 568, pstate 576,
                               __reserved[4096] 592: fpsimd_context (528 bytes),
                               [esr_context (16)], null record (8, in a 16-byte slot)
      }
    lower addresses

The caller's duties (what Linux does around setup_rt_frame / rt_sigreturn):

  Delivering signal `sig` with action `act` to a thread whose blocked mask is `blocked`:
    1. frame = setup_frame(mem, cpu, sig, info, blocked, act.sa_handler, act.sa_flags,
                           act.sa_restorer, trampoline=<our trampoline>, altstack=<the
                           thread's StackT or None>, fault_address=..., esr=...)
       `blocked` is the mask to restore at sigreturn (for sigsuspend/ppoll/pselect it is the
       mask saved before the call swapped in the temporary one, not the temporary one).
       FrameWriteError: the frame could not be written.  Linux then forces SIGSEGV
       (force_sigsegv: if `sig` was SIGSEGV its action becomes SIG_DFL, so the process dies).
    2. On success only: blocked |= act.sa_mask, plus bit(sig) unless SA_NODEFER
       (SIGKILL/SIGSTOP never blocked); if SA_RESETHAND the action becomes SIG_DFL (Linux
       does this when it dequeues the signal); if the altstack has SS_AUTODISARM it is reset to
       disabled after the frame is written (Linux's signal_delivered).
    3. If the thread was in a syscall that returned -ERESTART*: x0 = -EINTR, or, with
       SA_RESTART (for ERESTARTSYS), x0 = the original x0 and pc -= 4, before step 1.
    4. Repeat 1-2 for every other deliverable signal before running guest code again: Linux
       builds all their frames on top of each other before it returns to user mode, so the
       last one set up runs first (tests/fixtures/signal/signal_sigprocmask.c shows it:
       SIGRTMIN+1's handler runs before SIGRTMIN's although SIGRTMIN was dequeued first).
       Linux dequeues synchronous faults first, then the lowest-numbered pending signal,
       the thread's own pending set before the process-wide one.
  rt_sigreturn (syscall 139):
       mask, stack = restore_frame(mem, cpu)
       set the thread's blocked mask to `mask` (minus SIGKILL/SIGSTOP), apply `stack` like
       sigaltstack(&stack, NULL) evaluated at the restored SP, ignoring every error (Linux
       squashes all but EFAULT), then resume at cpu.pc WITHOUT writing a syscall result into
       x0 (x0 is the restored one) and without any syscall-restart handling (a restart_syscall
       block pending from before the handler now gives EINTR).
       BadFrame: Linux forces SIGSEGV (arm64_notify_segfault(sp): si_addr = SP, SEGV_ACCERR if
       SP is inside a mapping, else SEGV_MAPERR).  If BadFrame.mask is not None the mask was
       already set by Linux before the frame was found bad: set it too.  When
       BadFrame.regs_loaded is true, x0-x30, SP, PC and NZCV were loaded from the frame (as
       Linux does) and the SIGSEGV is delivered from that state.

No SA_RESTORER: Linux returns through the vDSO's __kernel_rt_sigreturn; emu has no vDSO, so
the caller maps one small read-only executable page, writes TRAMPOLINE_CODE into it
(install_trampoline) and passes its address as `trampoline`.  This is the common case, not a
corner: glibc 2.36 for arm64 does not set SA_RESTORER (a raw rt_sigaction read-back after
sigaction() shows sa_flags 0, under qemu-aarch64), so every glibc handler returns through
it.  Keep the two words exact: libgcc's unwinder (aarch64 linux-unwind.h) and gdb recognise
a signal frame by `mov x8, #139; svc #0` at the return address and then find the
sigcontext at SP + 128 + 176, which is how C++ exceptions and backtraces cross a handler.
"""
import ctypes

from emu.memory import GuestFault
from kernel import abi
from kernel.abi import _check

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
i16, i32, i64 = ctypes.c_int16, ctypes.c_int32, ctypes.c_int64

# ---------------------------------------------------------------------------------------------
# Constants (asm-generic/signal-defs.h, arm64 asm/signal.h, asm-generic/siginfo.h)
SA_NOCLDSTOP = 0x00000001
SA_NOCLDWAIT = 0x00000002
SA_SIGINFO = 0x00000004
SA_UNSUPPORTED = 0x00000400
SA_EXPOSE_TAGBITS = 0x00000800
SA_RESTORER = 0x04000000         # arm64 asm/signal.h
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000

# si_code values
SI_USER = 0
SI_KERNEL = 0x80
SI_QUEUE = -1
SI_TIMER = -2
SI_MESGQ = -3
SI_ASYNCIO = -4
SI_SIGIO = -5
SI_TKILL = -6
ILL_ILLOPC, ILL_ILLOPN, ILL_ILLADR, ILL_ILLTRP, ILL_PRVOPC, ILL_PRVREG, ILL_COPROC, \
    ILL_BADSTK = range(1, 9)
FPE_INTDIV, FPE_INTOVF, FPE_FLTDIV, FPE_FLTOVF, FPE_FLTUND, FPE_FLTRES, FPE_FLTINV, \
    FPE_FLTSUB = range(1, 9)
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRALN, BUS_ADRERR, BUS_OBJERR = 1, 2, 3
TRAP_BRKPT, TRAP_TRACE, TRAP_BRANCH, TRAP_HWBKPT = 1, 2, 3, 4
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = range(1, 7)

# __reserved[] record magics (asm/sigcontext.h)
FPSIMD_MAGIC = 0x46508001
ESR_MAGIC = 0x45535201
EXTRA_MAGIC = 0x45585401
SVE_MAGIC = 0x53564501

__NR_rt_sigreturn = 139
# mov x8, #139 ; svc #0: the body of the vDSO's __kernel_rt_sigreturn (see install_trampoline)
TRAMPOLINE_CODE = (0xD2801168).to_bytes(4, "little") + (0xD4000001).to_bytes(4, "little")

_MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------
# siginfo_t (include/uapi/asm-generic/siginfo.h, 64-bit: __ARCH_SI_PREAMBLE_SIZE = 16):
#   int si_signo; int si_errno; int si_code; union { int _pad[28]; ... } _sifields;  /* at 16 */
#   _kill    { pid_t _pid; uid_t _uid; }
#   _timer   { int _tid; int _overrun; sigval_t _sigval; int _sys_private; }
#   _rt      { pid_t _pid; uid_t _uid; sigval_t _sigval; }
#   _sigchld { pid_t _pid; uid_t _uid; int _status; clock_t _utime; clock_t _stime; }
#   _sigfault{ void *_addr; union { int _trapno; short _addr_lsb; struct {pad; lower; upper}
#              _addr_bnd; struct {pad; __u32 _pkey} _addr_pkey; ... }; }
#   _sigpoll { long _band; int _fd; }
#   _sigsys  { void *_call_addr; int _syscall; unsigned int _arch; }
class _Kill(ctypes.Structure):
    _fields_ = [("pid", i32), ("uid", u32)]


class _Timer(ctypes.Structure):
    _fields_ = [("tid", i32), ("overrun", i32), ("sigval", u64), ("sys_private", i32)]


class _Rt(ctypes.Structure):
    _fields_ = [("pid", i32), ("uid", u32), ("sigval", u64)]


class _Sigchld(ctypes.Structure):
    _fields_ = [("pid", i32), ("uid", u32), ("status", i32), ("_pad", i32),
                ("utime", i64), ("stime", i64)]


class _Sigfault(ctypes.Structure):
    _fields_ = [("addr", u64), ("addr_lsb", i16), ("_pad", i16 * 3), ("lower", u64),
                ("upper", u64)]


class _Sigpoll(ctypes.Structure):
    _fields_ = [("band", i64), ("fd", i32)]


class _Sigsys(ctypes.Structure):
    _fields_ = [("call_addr", u64), ("syscall", i32), ("arch", u32)]


class _Sifields(ctypes.Union):
    _fields_ = [("pad", i32 * 28), ("kill", _Kill), ("timer", _Timer), ("rt", _Rt),
                ("sigchld", _Sigchld), ("sigfault", _Sigfault), ("sigpoll", _Sigpoll),
                ("sigsys", _Sigsys)]


class Siginfo(ctypes.Structure):
    _fields_ = [("si_signo", i32), ("si_errno", i32), ("si_code", i32), ("_pad0", i32),
                ("fields", _Sifields)]


SIGINFO_SIZE = 128
_check(Siginfo, SIGINFO_SIZE, si_errno=4, si_code=8, fields=16)
# union member offsets, relative to the siginfo (the kernel's static_asserts in signal.c)
SI_OFFSETS = {
    "si_pid": 16, "si_uid": 20, "si_status": 24, "si_utime": 32, "si_stime": 40,
    "si_value": 24, "si_int": 24, "si_ptr": 24, "si_timerid": 16, "si_overrun": 20,
    "si_addr": 16, "si_addr_lsb": 24, "si_band": 16, "si_fd": 24, "si_call_addr": 16,
    "si_syscall": 24, "si_arch": 28,
}
assert 16 + _Kill.uid.offset == SI_OFFSETS["si_uid"]
assert 16 + _Rt.sigval.offset == SI_OFFSETS["si_value"]
assert 16 + _Timer.overrun.offset == SI_OFFSETS["si_overrun"]
assert 16 + _Sigchld.status.offset == SI_OFFSETS["si_status"]
assert 16 + _Sigchld.utime.offset == SI_OFFSETS["si_utime"]
assert 16 + _Sigchld.stime.offset == SI_OFFSETS["si_stime"]
assert 16 + _Sigfault.addr_lsb.offset == SI_OFFSETS["si_addr_lsb"]
assert 16 + _Sigpoll.fd.offset == SI_OFFSETS["si_fd"]
assert 16 + _Sigsys.syscall.offset == SI_OFFSETS["si_syscall"]
assert 16 + _Sigsys.arch.offset == SI_OFFSETS["si_arch"]


# struct sigcontext (arm64 asm/sigcontext.h):
#   __u64 fault_address; __u64 regs[31]; __u64 sp; __u64 pc; __u64 pstate;
#   __u8 __reserved[4096] __attribute__((__aligned__(16)));
class Sigcontext(ctypes.Structure):
    _fields_ = [("fault_address", u64), ("regs", u64 * 31), ("sp", u64), ("pc", u64),
                ("pstate", u64), ("_align", u64), ("reserved", u8 * 4096)]


_check(Sigcontext, 4384, regs=8, sp=256, pc=264, pstate=272, reserved=288)
RESERVED_SIZE = 4096


# struct ucontext (arm64 asm/ucontext.h):
#   unsigned long uc_flags; struct ucontext *uc_link; stack_t uc_stack; sigset_t uc_sigmask;
#   __u8 __unused[1024 / 8 - sizeof(sigset_t)]; struct sigcontext uc_mcontext;  /* aligned 16 */
class Ucontext(ctypes.Structure):
    _fields_ = [("uc_flags", u64), ("uc_link", u64), ("uc_stack", abi.StackT),
                ("uc_sigmask", u64), ("_unused", u8 * (128 - abi.SIGSET_SIZE)),
                ("_align", u64), ("uc_mcontext", Sigcontext)]


_check(Ucontext, 4560, uc_link=8, uc_stack=16, uc_sigmask=40, uc_mcontext=176)


# struct rt_sigframe { struct siginfo info; struct ucontext uc; };  (arch/arm64/kernel/signal.c)
class RtSigframe(ctypes.Structure):
    _fields_ = [("info", Siginfo), ("uc", Ucontext)]


SIGFRAME_SIZE = 4688
_check(RtSigframe, SIGFRAME_SIZE, info=0, uc=128)
OFF_UC = RtSigframe.uc.offset                                            # 128
OFF_MCONTEXT = OFF_UC + Ucontext.uc_mcontext.offset                      # 304
OFF_RESERVED = OFF_MCONTEXT + Sigcontext.reserved.offset                 # 592
assert (OFF_UC, OFF_MCONTEXT, OFF_RESERVED) == (128, 304, 592)
assert SIGFRAME_SIZE % 16 == 0 and OFF_RESERVED % 16 == 0


# struct frame_record { u64 fp; u64 lr; };  (arch/arm64/include/asm/stacktrace/frame.h)
class FrameRecord(ctypes.Structure):
    _fields_ = [("fp", u64), ("lr", u64)]


_check(FrameRecord, 16, lr=8)


# struct _aarch64_ctx { __u32 magic; __u32 size; };
class Aarch64Ctx(ctypes.Structure):
    _fields_ = [("magic", u32), ("size", u32)]


_check(Aarch64Ctx, 8, magic=0)
assert Aarch64Ctx.size.offset == 4
TERMINATOR_SIZE = 16             # round_up(sizeof(struct _aarch64_ctx), 16)


# struct fpsimd_context { struct _aarch64_ctx head; __u32 fpsr; __u32 fpcr;
#                         __uint128_t vregs[32]; };
class FpsimdContext(ctypes.Structure):
    _fields_ = [("head", Aarch64Ctx), ("fpsr", u32), ("fpcr", u32), ("vregs", (u64 * 2) * 32)]


_check(FpsimdContext, 528, fpsr=8, fpcr=12, vregs=16)


# struct esr_context { struct _aarch64_ctx head; __u64 esr; };
class EsrContext(ctypes.Structure):
    _fields_ = [("head", Aarch64Ctx), ("esr", u64)]


_check(EsrContext, 16, esr=8)


# ---------------------------------------------------------------------------------------------
# ESR_EL1 as Linux reports it to user space (esr_context.esr) for faults taken from EL0.
ESR_IL = 1 << 25                 # 32-bit instruction
ESR_EC_SHIFT = 26
EC_UNKNOWN = 0x00                # undefined instruction (SIGILL)
EC_SVC64 = 0x15
EC_IABT_LOW = 0x20               # instruction abort from EL0
EC_PC_ALIGN = 0x22
EC_DABT_LOW = 0x24               # data abort from EL0
EC_SP_ALIGN = 0x26
EC_BRK64 = 0x3C
ESR_WNR = 1 << 6                 # data abort: write (not read)
# fault status codes (DFSC/IFSC, ESR[5:0]); `level` is the translation table level (0-3)
FSC_TRANSLATION = 0x04           # + level: no mapping (SEGV_MAPERR)
FSC_ACCESS_FLAG = 0x08           # + level
FSC_PERMISSION = 0x0C            # + level: mapped without the right (SEGV_ACCERR)
FSC_ALIGNMENT = 0x21             # alignment fault (SIGBUS BUS_ADRALN)


def esr_data_abort(write, fsc):
    """ESR of a data abort from EL0 (SIGSEGV/SIGBUS on a load or store).  ISV is 0: the
    instruction syndrome is only reported for faults taken to EL2.  emu does not model table
    levels; it uses level 3 (FSC_TRANSLATION + 3 = 0x07, FSC_PERMISSION + 3 = 0x0F), e.g.
    0x92000047 for a store to an unmapped page, 0x9200004F for a store to a read-only one."""
    return (EC_DABT_LOW << ESR_EC_SHIFT) | ESR_IL | (ESR_WNR if write else 0) | fsc


def esr_instruction_abort(fsc):
    """ESR of an instruction abort from EL0 (a jump into an unmapped / non-executable page)."""
    return (EC_IABT_LOW << ESR_EC_SHIFT) | ESR_IL | fsc


# ESR of an undefined instruction (EC 0, IL set).  Linux's do_el0_undef raises SIGILL through
# force_signal_inject(..., err=0): thread.fault_code becomes 0, so a SIGILL frame has NO
# esr_context and fault_address 0 -- callers pass esr=None for SIGILL.  Kept for reference.
ESR_UNDEFINED = (EC_UNKNOWN << ESR_EC_SHIFT) | ESR_IL
ESR_PC_ALIGN = (EC_PC_ALIGN << ESR_EC_SHIFT) | ESR_IL     # a branch to a misaligned PC


def esr_brk(imm):
    """ESR of BRK #imm.  Linux's SIGTRAP for a BRK does not update thread.fault_code (the frame
    carries whatever an earlier fault left there, or no esr_context); callers should pass
    esr=None for SIGTRAP.  Kept for completeness."""
    return (EC_BRK64 << ESR_EC_SHIFT) | ESR_IL | (imm & 0xFFFF)


# ---------------------------------------------------------------------------------------------
# siginfo builders.  Every one starts from zeroed bytes, as Linux's clear_siginfo does.

def _info(sig, code, errno=0):
    info = Siginfo()
    info.si_signo, info.si_errno, info.si_code = sig, errno, code
    return info


def siginfo_fault(sig, code, addr):
    """A synchronous fault: SIGSEGV (SEGV_MAPERR/SEGV_ACCERR, addr = the faulting data
    address), SIGBUS (BUS_ADRALN, addr = the misaligned address), SIGILL (ILL_ILLOPC,
    addr = PC of the instruction), SIGTRAP (TRAP_BRKPT, addr = PC of the BRK), SIGFPE."""
    info = _info(sig, code)
    info.fields.sigfault.addr = addr & _MASK64
    return info


def siginfo_kill(sig, pid, uid):
    """kill(2), and signals the kernel sends "as the process" (SIGPIPE from write: Linux uses
    SEND_SIG_NOINFO, i.e. SI_USER with the current pid/uid)."""
    info = _info(sig, SI_USER)
    info.fields.kill.pid, info.fields.kill.uid = pid, uid
    return info


def siginfo_tkill(sig, pid, uid):
    """tkill/tgkill (and so glibc's raise()): SI_TKILL; pid is the sender's tgid."""
    info = _info(sig, SI_TKILL)
    info.fields.kill.pid, info.fields.kill.uid = pid, uid
    return info


def siginfo_kernel(sig):
    """A signal from the kernel itself (SEND_SIG_PRIV): SI_KERNEL, pid = uid = 0.  This is
    what alarm() / setitimer(ITIMER_REAL) deliver (SIGALRM), and ITIMER_VIRTUAL/PROF."""
    return _info(sig, SI_KERNEL)


def siginfo_queue(sig, pid, uid, value, code=SI_QUEUE):
    """sigqueue / rt_sigqueueinfo (SI_QUEUE) and other _rt senders (SI_MESGQ, SI_ASYNCIO):
    si_value is the 8-byte union sigval (int or pointer)."""
    info = _info(sig, code)
    info.fields.rt.pid, info.fields.rt.uid = pid, uid
    info.fields.rt.sigval = value & _MASK64
    return info


def siginfo_timer(sig, timerid, overrun, value):
    """A POSIX timer (timer_create with SIGEV_SIGNAL / SIGEV_THREAD_ID): SI_TIMER, si_timerid
    (the kernel's timer id), si_overrun, si_value = sigev_value."""
    info = _info(sig, SI_TIMER)
    info.fields.timer.tid, info.fields.timer.overrun = timerid, overrun
    info.fields.timer.sigval = value & _MASK64
    return info


def siginfo_child(code, pid, uid, status, utime=0, stime=0, sig=abi.SIGCHLD):
    """SIGCHLD (and waitid's result): CLD_EXITED with status = exit code, CLD_KILLED /
    CLD_DUMPED with status = the signal, CLD_STOPPED / CLD_CONTINUED; utime/stime in clock
    ticks."""
    info = _info(sig, code)
    c = info.fields.sigchld
    c.pid, c.uid, c.status, c.utime, c.stime = pid, uid, status, utime, stime
    return info


def siginfo_poll(sig, code, band, fd):
    """SIGIO/SIGPOLL from F_SETSIG-style I/O readiness (POLL_IN ... codes)."""
    info = _info(sig, code)
    info.fields.sigpoll.band, info.fields.sigpoll.fd = band, fd
    return info


# ---------------------------------------------------------------------------------------------
# Frame placement

class SigframeError(Exception):
    """Base: Linux answers both kinds with SIGSEGV.  .addr is the address to report."""

    def __init__(self, message, addr):
        super().__init__(message)
        self.addr = addr


class FrameWriteError(SigframeError):
    """setup_frame: the frame's memory is not writable (unmapped or read-only stack, or an
    alternate stack that does not fit).  Nothing was written and the CPU is unchanged; the
    caller forces SIGSEGV (Linux: force_sigsegv)."""


class BadFrame(SigframeError):
    """restore_frame: rt_sigreturn found no valid frame at SP (misaligned, unreadable, bad
    pstate, bad or missing records).  .mask: the uc_sigmask Linux already installed before
    noticing (None if it could not be read); .regs_loaded: x0-x30/SP/PC/NZCV were already
    loaded from the frame (Linux's order)."""

    def __init__(self, message, addr, mask=None, regs_loaded=False):
        super().__init__(message, addr)
        self.mask = mask
        self.regs_loaded = regs_loaded


def on_altstack(altstack, sp):
    """Linux's on_sig_stack(): is `sp` inside the alternate stack?  (An SS_AUTODISARM stack
    never counts as "on", so a nested signal starts again at its top.)"""
    if altstack is None or not altstack.ss_size:
        return False
    if altstack.ss_flags & abi.SS_AUTODISARM:
        return False
    return altstack.ss_sp < sp <= altstack.ss_sp + altstack.ss_size


def altstack_flags(altstack, sp):
    """Linux's sas_ss_flags(sp): SS_DISABLE without an alternate stack, SS_ONSTACK when `sp` is
    on it, else 0 (what sigaltstack(NULL, &old) reports in old.ss_flags, plus the
    SS_AUTODISARM bit kept in the record)."""
    if altstack is None or not altstack.ss_size:
        return abi.SS_DISABLE
    return abi.SS_ONSTACK if on_altstack(altstack, sp) else 0


def frame_top(sp, flags, altstack):
    """Linux's sigsp(): the stack top the frame is built below.  With SA_ONSTACK and an
    enabled alternate stack that the thread is not already on: ss_sp + ss_size; else SP."""
    if flags & SA_ONSTACK and altstack_flags(altstack, sp) == 0:
        return altstack.ss_sp + altstack.ss_size
    return sp


def frame_layout(sp, flags, altstack):
    """(frame address, frame record address, top) for a signal taken at `sp`."""
    top = frame_top(sp, flags, altstack)
    record = (top - ctypes.sizeof(FrameRecord)) & ~15
    frame = record - SIGFRAME_SIZE
    return frame, record, top


def _siginfo_bytes(info):
    if info is None:
        return bytes(SIGINFO_SIZE)
    data = bytes(memoryview(info).cast("B")) if isinstance(info, ctypes.Structure) else bytes(info)
    if len(data) != SIGINFO_SIZE:
        raise ValueError(f"siginfo must be {SIGINFO_SIZE} bytes, got {len(data)}")
    return data


def build_frame(cpu, info, blocked, altstack=None, fault_address=0, esr=None):
    """The bytes of a struct rt_sigframe for the interrupted state in `cpu` (no memory
    access).  `info` (a Siginfo, 128 bytes, or None for zeros) fills the info area."""
    sf = RtSigframe()
    ctypes.memmove(ctypes.addressof(sf.info), _siginfo_bytes(info), SIGINFO_SIZE)
    uc = sf.uc
    uc.uc_flags = 0
    uc.uc_link = 0
    # __save_altstack: the thread's record as stored (ss_flags is t->sas_ss_flags, not the
    # computed on-stack state); {0, SS_DISABLE, 0} without one.
    if altstack is None or not altstack.ss_size:
        uc.uc_stack.ss_sp, uc.uc_stack.ss_flags, uc.uc_stack.ss_size = 0, abi.SS_DISABLE, 0
    else:
        uc.uc_stack.ss_sp = altstack.ss_sp
        uc.uc_stack.ss_flags = altstack.ss_flags
        uc.uc_stack.ss_size = altstack.ss_size
    uc.uc_sigmask = blocked & _MASK64
    mc = uc.uc_mcontext
    mc.fault_address = fault_address & _MASK64
    for i in range(31):
        mc.regs[i] = cpu.x[i]
    mc.sp, mc.pc = cpu.sp, cpu.pc
    mc.pstate = cpu.nzcv                        # EL0t, DAIF clear: only NZCV is nonzero

    fp = FpsimdContext()
    fp.head.magic, fp.head.size = FPSIMD_MAGIC, ctypes.sizeof(FpsimdContext)
    fp.fpsr, fp.fpcr = cpu.fpsr, cpu.fpcr
    for i in range(32):
        fp.vregs[i][0], fp.vregs[i][1] = cpu.vreg[i][0], cpu.vreg[i][1]
    records = [bytes(fp)]
    if esr is not None:
        rec = EsrContext()
        rec.head.magic, rec.head.size = ESR_MAGIC, ctypes.sizeof(EsrContext)
        rec.esr = esr & _MASK64
        records.append(bytes(rec))
    records.append(bytes(TERMINATOR_SIZE))      # the null _aarch64_ctx in its 16-byte slot
    blob = b"".join(records)
    ctypes.memmove(ctypes.addressof(mc.reserved), blob, len(blob))
    return bytes(sf)


def setup_frame(mem, cpu, sig, info, blocked, handler, flags, restorer=0, *,
                trampoline=None, altstack=None, fault_address=0, esr=None):
    """Build the rt_sigframe for signal `sig` and point `cpu` at the handler; return the frame
    address (the handler's SP).

    info: Siginfo (see the siginfo_* builders) or 128 bytes; written whatever the flags (Linux
        copies it only with SA_SIGINFO; the area is otherwise unspecified).
    blocked: the thread's blocked mask to restore at sigreturn (bit sig-1 for signal sig).
    handler, flags, restorer: sa_handler, sa_flags, sa_restorer of the action.
    trampoline: address of emu's sigreturn trampoline, used when SA_RESTORER is not set.
    altstack: the thread's sigaltstack record (abi.StackT: ss_sp, ss_flags, ss_size) or None.
    fault_address: uc_mcontext.fault_address (the FAR for data/instruction aborts, else 0).
    esr: None, or the ESR for an esr_context record.  Linux writes one when the signal comes
        from a data or instruction abort (SIGSEGV, SIGBUS BUS_ADRALN: esr_data_abort,
        esr_instruction_abort); SIGILL and SIGTRAP carry none (force_signal_inject with
        err 0 / no fault_code update) and neither do asynchronous signals (Linux would show a
        stale value from the thread's last fault there; emu writes none).

    Registers on return (Linux's setup_return): x0 = sig; x1 = &info and x2 = &uc only with
    SA_SIGINFO (otherwise unchanged); SP = frame; x29 = &frame_record; x30 = restorer (or the
    trampoline); PC = handler.  The exclusive monitor is cleared.  Everything else (x3-x28,
    V registers, FPSR, FPCR, NZCV) is left as it was.
    Raises FrameWriteError (cpu untouched, nothing written) if the frame is not writable.
    """
    if flags & SA_RESTORER:
        ret = restorer
    elif trampoline is not None:
        ret = trampoline
    else:
        raise ValueError("no SA_RESTORER and no sigreturn trampoline address")
    frame, record, top = frame_layout(cpu.sp, flags, altstack)
    if frame < 0:
        raise FrameWriteError(f"signal frame below address 0 (top {top:#x})", max(frame, 0))
    try:
        mem.check(frame, top - frame, write=True)
    except GuestFault as exc:
        raise FrameWriteError(f"signal frame at {frame:#x} not writable ({exc})",
                              exc.addr) from None
    data = build_frame(cpu, info, blocked, altstack, fault_address, esr)
    rec = FrameRecord(cpu.x[29], cpu.x[30])
    mem.write(frame, data)
    mem.write(record, bytes(rec))

    cpu.x[0] = sig
    if flags & SA_SIGINFO:
        cpu.x[1] = frame
        cpu.x[2] = frame + OFF_UC
    cpu.sp = frame
    cpu.x[29] = record
    cpu.x[30] = ret & _MASK64
    cpu.pc = handler & _MASK64
    cpu.excl_addr = _MASK64
    return frame


# PSTATE bits Linux strips before checking a restored pstate (SPSR_EL1_AARCH64_RES0_BITS of
# arch/arm64/include/asm/ptrace.h: bits 63:32, 27:26, 23:22, 20:13 and 5), and the bits that
# must then be clear for a valid EL0t AArch64 state (M[3:0] = EL0t, M[4] = 0 (AArch64),
# D, A, I, F).
_PSTATE_RES0 = (0xFFFFFFFF << 32) | (0b11 << 26) | (0b11 << 22) | (0xFF << 13) | (1 << 5)
_PSTATE_MUST_BE_ZERO = 0x1F | (0xF << 6)


def parse_records(reserved):
    """Walk the __reserved[] records as Linux's parse_user_sigframe does; return the offset of
    the fpsimd_context within `reserved`.  Raises ValueError for an invalid list (misaligned
    or oversized record, unknown magic, duplicate or missing fpsimd, nonzero-size terminator).
    esr_context is accepted and ignored.  extra_context and SVE records are rejected (emu
    never writes them and reports no SVE, as Linux does on a CPU without SVE)."""
    offset, limit = 0, len(reserved)
    fpsimd = None
    while True:
        if limit - offset < ctypes.sizeof(Aarch64Ctx) or offset % 16:
            raise ValueError(f"record at {offset} out of bounds or misaligned")
        head = Aarch64Ctx.from_buffer_copy(reserved, offset)
        if head.size > limit - offset:
            raise ValueError(f"record at {offset} overruns __reserved")
        if head.magic == 0:
            if head.size:
                raise ValueError("terminator with nonzero size")
            break
        if head.magic == FPSIMD_MAGIC:
            if fpsimd is not None:
                raise ValueError("two fpsimd_context records")
            fpsimd = (offset, head.size)
        elif head.magic != ESR_MAGIC:
            raise ValueError(f"unknown record magic {head.magic:#x} at {offset}")
        if head.size < ctypes.sizeof(Aarch64Ctx):
            raise ValueError(f"record at {offset} smaller than its header")
        offset += head.size
    if fpsimd is None:
        raise ValueError("no fpsimd_context")
    if fpsimd[1] != ctypes.sizeof(FpsimdContext):
        raise ValueError(f"fpsimd_context size {fpsimd[1]}")
    return fpsimd[0]


def restore_frame(mem, cpu):
    """rt_sigreturn: take the frame at cpu.sp back into `cpu`.

    Restores x0-x30, SP, PC, NZCV (from pstate), FPSR, FPCR and V0-V31, clears the exclusive
    monitor, and returns (mask, stack): the uc_sigmask to install and the uc_stack (abi.StackT)
    to apply as sigaltstack would.  See the module docstring for what the caller does with
    them.  Raises BadFrame (a SIGSEGV for the caller) as Linux's badframe path."""
    sp = cpu.sp
    if sp & 15:
        raise BadFrame(f"rt_sigreturn with misaligned SP {sp:#x}", sp)
    try:
        data = mem.read(sp, SIGFRAME_SIZE)
    except GuestFault:
        raise BadFrame(f"rt_sigreturn: no readable frame at SP {sp:#x}", sp) from None
    sf = RtSigframe.from_buffer_copy(data)
    mask = sf.uc.uc_sigmask
    mc = sf.uc.uc_mcontext
    # Linux loads the general registers before it validates anything else.
    for i in range(31):
        cpu.x[i] = mc.regs[i]
    cpu.sp, cpu.pc = mc.sp, mc.pc
    pstate = mc.pstate & ~_PSTATE_RES0
    cpu.nzcv = pstate & 0xF0000000
    cpu.excl_addr = _MASK64
    if pstate & _PSTATE_MUST_BE_ZERO:
        raise BadFrame(f"rt_sigreturn: pstate {mc.pstate:#x} is not EL0t AArch64", cpu.sp,
                       mask, regs_loaded=True)
    try:
        off = parse_records(bytes(mc.reserved))
    except ValueError as exc:
        raise BadFrame(f"rt_sigreturn: bad __reserved records: {exc}", cpu.sp, mask,
                       regs_loaded=True) from None
    fp = FpsimdContext.from_buffer_copy(bytes(mc.reserved), off)
    cpu.fpsr, cpu.fpcr = fp.fpsr, fp.fpcr
    for i in range(32):
        cpu.vreg[i][0], cpu.vreg[i][1] = fp.vregs[i][0], fp.vregs[i][1]
    stack = abi.StackT(sf.uc.uc_stack.ss_sp, sf.uc.uc_stack.ss_flags, sf.uc.uc_stack.ss_size)
    return mask, stack


def install_trampoline(mem, addr):
    """Write the sigreturn trampoline (mov x8, #139; svc #0) at `addr` in a page the caller has
    mapped (read + exec).  Returns the address to pass as setup_frame(trampoline=...)."""
    mem.write(addr, TRAMPOLINE_CODE, force=True)
    return addr
