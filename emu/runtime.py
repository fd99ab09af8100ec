"""One guest process and its threads: wires memory, loader, kernel and
translator together and handles every return from native code.

Owns: process start-up (reservation, load, initial registers), guest threads
(each a host thread, created as a Python thread whose body runs the exit
loop; its own CPU state; the GIL released while it runs translated code or
blocks in a syscall), the exit loop (a miss -> translate; SVC -> kernel;
fault/undefined/BRK -> guest signal; store into code -> invalidate + single
step; exit request -> back in after a stop-the-world), thread and process
exit (exit() of one thread, exit_group or a fatal signal from any thread),
fork from a threaded process (the translator lock and a stop-the-world held
across it), fatal guest signals (one diagnostic line, then this process dies
of the same signal, as qemu-user does), and the EMU_BLOCK_STATS report.
Does not own: translation, syscall semantics, the memory map.
"""
import ctypes
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from contextlib import ExitStack, contextmanager

from emu.cpustate import CPUState, ExitReason
from emu.memory import GuestMemory, PAGE_SHIFT
from emu.loader import load, LoadError  # noqa: F401  (re-exported for the CLI)
from emu.world import World
from emu import hostsignals
from kernel import Kernel, ProcessExit, abi, delivery, sigframe
from kernel.vma import AddressSpace
from translator.codecache import default_dir
from translator.compiler import CodeMemoryExhausted
from translator.jit import Translator

_FAULT_SIGNALS = {
    ExitReason.FAULT_READ: signal.SIGSEGV,
    ExitReason.FAULT_WRITE: signal.SIGSEGV,
    ExitReason.FAULT_EXEC: signal.SIGSEGV,
    ExitReason.UNDEF: signal.SIGILL,
    ExitReason.BRK: signal.SIGTRAP,
    ExitReason.ALIGN: signal.SIGBUS,
}


def _pc_misaligned(reason, info):
    """An instruction fetch from a PC that is not a multiple of 4 (a BR/BLR/RET to it)."""
    return reason == ExitReason.FAULT_EXEC and info & 3 != 0


_NO_MONITOR = 0xFFFFFFFFFFFFFFFF
SWITCH_INTERVAL = 0.0005            # seconds (sys.setswitchinterval) once threads exist


class GuestKilled(Exception):
    """The guest dies of an unhandled signal."""

    def __init__(self, sig):
        super().__init__(sig)
        self.sig = sig


class GuestThread:
    """One guest thread: its CPU state and the exit loop that serves it."""

    def __init__(self, proc, cpu):
        self.proc = proc
        self.cpu = cpu
        self.exits = Counter()
        self.tid = cpu.tid
        self.ident = threading.get_ident()
        self.in_syscall = False

    def loop(self):
        """Run guest code until this thread or the process ends (ProcessExit,
        GuestKilled)."""
        proc, cpu = self.proc, self.cpu
        tr, kernel, exits = proc.translator, proc.kernel, self.exits
        st = kernel.signals
        while True:
            reason = tr.run(cpu)
            exits[reason.name.lower()] += 1
            if reason == ExitReason.SYSCALL:
                cpu.link_req = 0
                cpu.excl_addr = _NO_MONITOR     # an exception clears the monitor
                orig_x0 = cpu.x[0]
                self.in_syscall = True          # from here a kick interrupts a host wait
                if st.queue and st.deliverable(cpu.tid):
                    # Posted before the SVC ran (a kick may have missed us): Linux delivers
                    # it before the call, which runs when the handler returns.
                    self.in_syscall = False
                    cpu.pc -= 4
                    delivery.deliver(kernel, cpu)
                    continue
                try:
                    ret = kernel.syscall(cpu)
                finally:
                    self.in_syscall = False
                if st.queue or st.saved or (ret < 0 and -ret in delivery.RESTARTS):
                    delivery.deliver(kernel, cpu, ret, orig_x0)
            elif reason == ExitReason.MISS:
                if not tr.translate(cpu.pc):
                    cpu.link_req = 0
                    self.fault(ExitReason.FAULT_EXEC, cpu.pc)
            elif reason == ExitReason.SMC:
                cpu.link_req = 0
                page = cpu.exit_info >> PAGE_SHIFT
                with tr.lock:           # no thread re-translates the page before the store
                    tr.invalidate_pages(page, (cpu.exit_info + 15) >> PAGE_SHIFT)
                    r = tr.step(cpu.pc, cpu)
                if r != ExitReason.STEP:
                    proc._fatal(cpu, r, cpu.exit_info)
            elif reason == ExitReason.HOT:
                tr.promote(cpu.pc)
            elif reason == ExitReason.REQUEST:
                cpu.exit_request = 0            # a stop-the-world, a signal, a background result
                cpu.excl_addr = _NO_MONITOR
                tr.poll_background()
                if st.queue:
                    cpu.link_req = 0
                    delivery.deliver(kernel, cpu)
            else:
                cpu.link_req = 0
                self.fault(reason, cpu.exit_info)

    def fault(self, reason, info):
        """A synchronous exception of the instruction at cpu.pc: the guest's handler runs
        (its frame built, state precise) or the process dies of the signal."""
        cpu, k = self.cpu, self.proc.kernel
        sig = _FAULT_SIGNALS.get(reason, signal.SIGSEGV)
        fault_address, esr = 0, None
        if _pc_misaligned(reason, info):        # PC alignment fault: SIGBUS, as Linux
            sig, code, addr, esr = signal.SIGBUS, sigframe.BUS_ADRALN, info, sigframe.ESR_PC_ALIGN
        elif reason in (ExitReason.FAULT_READ, ExitReason.FAULT_WRITE, ExitReason.FAULT_EXEC):
            mapped = k.space.find(info) is not None
            code = sigframe.SEGV_ACCERR if mapped else sigframe.SEGV_MAPERR
            fsc = (sigframe.FSC_PERMISSION if mapped else sigframe.FSC_TRANSLATION) + 3
            esr = (sigframe.esr_instruction_abort(fsc) if reason == ExitReason.FAULT_EXEC
                   else sigframe.esr_data_abort(reason == ExitReason.FAULT_WRITE, fsc))
            addr = fault_address = info
        elif reason == ExitReason.ALIGN:
            code = sigframe.BUS_ADRALN
            esr = sigframe.esr_data_abort(False, sigframe.FSC_ALIGNMENT)
            addr = fault_address = info
        elif reason == ExitReason.UNDEF:
            code, addr = sigframe.ILL_ILLOPC, cpu.pc
        elif reason == ExitReason.BRK:
            code, addr = sigframe.TRAP_BRKPT, cpu.pc
        else:
            code, addr = sigframe.SEGV_MAPERR, info
        if not delivery.deliver_fault(k, cpu, int(sig), code, addr, fault_address, esr):
            self.proc._fatal(cpu, reason, info)

    def main(self, started, go):
        """Body of a guest thread made by clone: tell the parent our tid, wait until
        it has written the tids it must, then run."""
        proc = self.proc
        self.tid = self.cpu.tid = threading.get_native_id()
        self.ident = threading.get_ident()
        proc.kernel._tls.cpu = self.cpu
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [hostsignals.KICK])
        proc.translator.attach(self.cpu)
        started.set()
        go.wait()
        try:
            self.loop()
        except ProcessExit as e:
            if e.group or e.signal:
                proc.end_process(e.status, e.signal)
            proc.thread_exit(self, e.status)
        except GuestKilled as e:
            proc.end_process(128 + e.sig, e.sig, said=True)
        except CodeMemoryExhausted as e:
            proc.emu_limit(str(e))
        except BaseException:                    # emu's own bug: say so, end the process
            proc.internal_error()


class Process:
    def __init__(self):
        self.t_start = time.perf_counter()
        self.threads = {}                       # tid -> GuestThread (live ones)
        self.threads_cond = threading.Condition()
        self.retired_exits = Counter()
        self.threads_created = 0
        self._ending = threading.Lock()

    @classmethod
    def create(cls, path, argv, envp, rootfs=None, strace=False, stats=False,
               batch=True, tiering="auto", code_cache=True, execfn=None, fds=(), signals=None):
        self = cls()
        self.stats_enabled = stats
        self.mem = GuestMemory()
        self.space = AddressSpace(self.mem)
        self.cpu = CPUState()
        info = load(path, self.mem, self.space, argv, envp, rootfs=rootfs, execfn=execfn)
        self.exe_path = path
        self.kernel = Kernel(self.mem, self.space, rootfs=rootfs, exe_path=path,
                             strace=strace)
        self.kernel.cmdline = list(argv)
        self.kernel.threads_host = self
        for guest_fd, host_fd in fds:           # descriptors a guest execve handed over
            self.kernel.fds.adopt(guest_fd, host_fd)
        # A guest execve runs `python -m emu run` again with these options (same pid).
        opts = ["-L", os.path.abspath(rootfs)] if rootfs else []
        opts += ["--strace"] if strace else []
        opts += ["--stats"] if stats else []
        opts += [] if batch else ["--no-batch"]
        opts += [] if code_cache else ["--no-cache"]
        opts += ["--tier", str(tiering)]
        # -P: the guest's current directory must not shadow the emulator's packages.
        safe = ["-P"] if sys.version_info >= (3, 11) else []
        self.kernel.exec_command = [sys.executable, *safe, "-m", "emu", "run", *opts]
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.kernel.exec_env = env

        self.world = World()
        self.translator = Translator(self.cpu, self.mem, tiering=tiering, batch=batch,
                                     disk_cache=default_dir() if code_cache else None,
                                     background=False, world=self.world)
        cpu = self.cpu
        cpu.pc = info.entry
        cpu.sp = info.sp
        cpu.excl_addr = _NO_MONITOR
        cpu.tid = os.getpid()
        self.main_thread = GuestThread(self, cpu)
        self.threads[cpu.tid] = self.main_thread
        from kernel.signal import adopt_exec_state, inherited_from_host, reset_host_dispositions
        if signals is None:                     # as inherited by this process (nohup...)
            signals = inherited_from_host() + (0,)
        reset_host_dispositions(signals[1])
        self.kernel._tls.cpu = cpu
        adopt_exec_state(self.kernel, *signals)
        self.kernel.signals.kick = self.kick
        self.watcher = hostsignals.Watcher(self.host_signal)
        self.watcher.start()
        return self

    # -- the main thread ------------------------------------------------------------
    def run(self):
        """Run the guest's first thread; returns the exit status (or ends the host
        process itself once other threads exist)."""
        t = self.main_thread
        try:
            t.loop()
        except ProcessExit as e:
            sig = getattr(e, "signal", 0)
            if e.group or sig or not self.threads_created:
                return self.end_process(e.status, sig)
            # exit() of the leader: the process lives on until its last thread ends.
            self.thread_exit(t, e.status, leader=True)
            with self.threads_cond:
                while self.threads:
                    self.threads_cond.wait()
            return self.end_process(e.status, 0)
        except GuestKilled as e:
            return self.end_process(128 + e.sig, e.sig, said=True)
        except CodeMemoryExhausted as e:
            self.emu_limit(str(e))

    # -- threads ------------------------------------------------------------------------
    def spawn_thread(self, parent_cpu, newsp, tls, settls, before_start):
        """clone(CLONE_THREAD...): a new host thread running a copy of the caller's
        registers (x0 = 0, sp = newsp, TPIDR_EL0 = tls).  before_start(tid) runs on
        the caller's thread before the child executes guest code (PARENT_SETTID,
        CHILD_SETTID).  Returns the child's tid."""
        cpu = CPUState()
        ctypes.memmove(ctypes.addressof(cpu), ctypes.addressof(parent_cpu), ctypes.sizeof(cpu))
        cpu.x[0] = 0
        if newsp:
            cpu.sp = newsp
        if settls:
            cpu.tpidr = tls
        cpu.exit_request = cpu.exit_reason = 0
        cpu.link_req = cpu.n_links = cpu.n_lookups = cpu.n_insns = 0
        cpu.excl_addr = _NO_MONITOR
        t = GuestThread(self, cpu)
        if not self.threads_created:
            # Guest threads hand work to each other through Python (a signal delivered, a
            # futex woken): CPython's default 5 ms GIL switch interval would make each such
            # hand-off cost milliseconds.
            sys.setswitchinterval(SWITCH_INTERVAL)
        started, go = threading.Event(), threading.Event()
        th = threading.Thread(target=t.main, args=(started, go), daemon=True,
                              name=f"guest-{self.threads_created + 1}")
        # Host signals go to the main thread: a guest thread starts with all blocked.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            th.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        started.wait()
        with self.threads_cond:
            self.threads[t.tid] = t
        self.threads_created += 1
        try:
            before_start(t.tid)
        finally:
            go.set()
        return t.tid

    # -- signals ----------------------------------------------------------------------------
    def kick(self, tid, sig):
        """Signal `sig` was posted for thread tid (None: the process): make a thread that
        can take it look soon (Linux's complete_signal: the target, or for a process signal
        one thread not blocking it, preferably one running).  A thread in translated code
        gets its exit request; one blocked in a host call is interrupted (futex wait, or
        KICK: EINTR).  The posting thread itself delivers after its syscall anyway."""
        me = threading.get_ident()
        st = self.kernel.signals
        if tid is not None:
            t = self.threads.get(tid)
            targets = [t] if t is not None else []
        else:
            free = [t for t in list(self.threads.values())
                    if not st.masks.get(t.tid, 0) & (1 << (sig - 1))]
            if any(t.ident == me for t in free):
                return
            running = [t for t in free if not t.in_syscall]
            targets = (running or free)[:1]
        for t in targets:
            if t.ident == me:
                continue
            t.cpu.exit_request = 1
            if t.in_syscall:
                if not self.kernel.futexes.interrupt(t.tid):
                    hostsignals.kick_thread(t.ident)

    def before_exec(self):
        hostsignals.unblock_for_exec()

    def after_failed_exec(self):
        hostsignals.block_watched()

    def host_signal(self, si):
        """On the watcher thread: a watched host signal arrived (struct_siginfo)."""
        k = self.kernel
        st = k.signals
        sig = si.si_signo
        with st.lock:
            handler = st.handler(sig)
            blocked = all(st.masks.get(t, 0) & (1 << (sig - 1)) for t in list(self.threads))
        if handler == abi.SIG_DFL and not blocked:
            if sig in abi.SIG_DEFAULT_IGNORE:
                return
            if sig in abi.SIG_DEFAULT_STOP:
                hostsignals.stop_process(sig)
                return
            self.end_process(128 + sig, sig)        # as Linux would: at once
        st.from_host += 1
        st.post(sig, hostsignals.guest_siginfo(si))

    def thread_exit(self, t, status, leader=False):
        """exit() of one thread: its clear-child-tid word and robust list, then it is
        gone.  The last thread to go ends the process (with the leader's status)."""
        from kernel.process import thread_exited
        thread_exited(self.kernel, t.tid)
        self.translator.detach(t.cpu)
        with self.threads_cond:
            self.threads.pop(t.tid, None)
            self.retired_exits.update(t.exits)
            t.exits = Counter()
            last = not self.threads
            self.threads_cond.notify_all()
        if last and not leader and t is not self.main_thread:
            self.end_process(status, 0)

    @contextmanager
    def fork_guard(self):
        """Around a fork: no other thread translates, runs translated code or holds a
        kernel lock, so the child (which has only the forking thread) finds emu's
        state consistent."""
        k = self.kernel
        with ExitStack() as stack:
            stack.enter_context(self.translator.lock)
            stack.enter_context(self.world.stopped())
            stack.enter_context(k.futexes.lock)
            stack.enter_context(k.signals.lock)
            yield

    def after_fork_child(self, cpu):
        """In the child of a fork: only the calling thread exists (a new watcher)."""
        self.world.after_fork_child(cpu)
        self.watcher = hostsignals.Watcher(self.host_signal)
        self.watcher.start()
        me = next((t for t in self.threads.values() if t.cpu is cpu), None)
        self.threads_cond = threading.Condition()
        self._ending = threading.Lock()
        self.threads = {}
        if me is not None:
            me.tid = cpu.tid
            self.threads[cpu.tid] = me
            self.main_thread = me

    # -- the end -----------------------------------------------------------------------------
    def end_process(self, status, sig, said=False):
        """exit_group, a fatal signal, or the last thread's exit: flush, report, end.
        With one thread the status is returned (the CLI exits with it); once threads
        have existed the host process ends here, taking every thread with it.  A guest
        that dies of a signal gets one `emu:` line naming it (as qemu's "uncaught target
        signal"), unless its fault line said so already (said)."""
        self._ending.acquire()                # the first thread to end the process wins
        self.kernel.finish()                  # shared file mappings reach their files
        self._report()
        if sig:
            if not said and sig != signal.SIGKILL:
                _say_signal_death(sig)
            return die_of_signal(sig)
        if self.threads_created:
            _flush_std()
            os._exit(status)
        return status

    def emu_limit(self, msg):
        """One of emu's own limits was reached: one `emu:` line, files the guest wrote
        completed, exit status 1 (from any thread)."""
        self._ending.acquire()
        try:
            self.kernel.finish()
        except Exception:                       # noqa: BLE001 -- the line must still come out
            pass
        sys.stderr.write(f"emu: {msg}\n")
        _flush_std()
        os._exit(1)

    def internal_error(self):
        """A Python exception escaped a guest thread: emu's own bug."""
        sys.stderr.write("emu: internal error in a guest thread:\n" + traceback.format_exc())
        _flush_std()
        os._exit(70)

    def _fatal(self, cpu, reason, info):
        """An unhandled synchronous guest signal: one line, then die of it."""
        sig = _FAULT_SIGNALS.get(reason, signal.SIGSEGV)
        pc = cpu.pc
        if reason == ExitReason.UNDEF:
            from translator import decoder
            mnem, ops, _ = decoder.capstone_view(info, pc)
            text = f" ({mnem} {ops})".rstrip() if mnem else ""
            msg = f"emu: SIGILL: unsupported instruction {info:#010x}{text} at pc={pc:#x}"
        elif reason == ExitReason.BRK:
            msg = f"emu: SIGTRAP: brk #{info:#x} at pc={pc:#x}"
        elif _pc_misaligned(reason, info):
            sig = signal.SIGBUS
            msg = f"emu: SIGBUS: misaligned pc={info:#x}"
        elif reason == ExitReason.FAULT_EXEC:
            msg = f"emu: SIGSEGV: execute of unmapped or non-executable address {pc:#x}"
        else:
            kind = "write" if reason == ExitReason.FAULT_WRITE else "read"
            msg = f"emu: {signal.Signals(sig).name}: {kind} at address {info:#x}, pc={pc:#x}"
        sys.stderr.write(msg + "\n")
        raise GuestKilled(sig)

    def _exits(self):
        out = Counter(self.retired_exits)
        for t in list(self.threads.values()):
            out.update(t.exits)
        return out

    def _report(self):
        if not self.stats_enabled:
            return
        wall = time.perf_counter() - self.t_start
        tr = self.translator.counters()
        out = {
            "blocks_translated": tr.get("blocks_translated", 0),
            "insns_translated": tr.get("insns_translated", 0),
            "modules_compiled": tr.get("modules_compiled", 0),
            "decode_s": tr.get("decode_s", 0.0),
            "lift_s": tr.get("lift_s", 0.0),
            "compile_s": tr.get("compile_s", 0.0),
            "compile2_s": tr.get("compile2_s", 0.0),
            "cache_hits": tr.get("cache_hits", 0),
            "cache_misses": tr.get("cache_misses", 0),
            "cache_load_s": tr.get("cache_load_s", 0.0),
            "blocks_from_cache": tr.get("blocks_from_cache", 0),
            "regions": tr.get("regions", 0),
            "promotions": tr.get("promotions", 0),
            "insns_executed": tr.get("insns_executed", 0),
            "links": tr.get("links", 0),
            "dispatch_lookups": tr.get("dispatch_lookups", 0),
            "invalidations": tr.get("invalidations", 0),
            "regions_invalidated": tr.get("regions_invalidated", 0),
            "steps": tr.get("steps", 0),
            "code_pages": tr.get("code_pages", 0),
            "exits": dict(self._exits()),
            "threads_created": self.threads_created,
            "futex_waits": self.kernel.futexes.waits,
            "stop_the_world": tr.get("stop_the_world", 0),
            "signals_delivered": self.kernel.signals.delivered,
            "host_signals": self.kernel.signals.from_host,
            "unknown_syscalls": {str(k): v for k, v in self.kernel.unknown_syscalls.items()},
            "unknown_ioctls": {f"{k:#x}": v for k, v in self.kernel.unknown_ioctls.items()},
            "wall_s": round(wall, 6),
        }
        sys.stderr.write("EMU_BLOCK_STATS " + json.dumps(out, sort_keys=True) + "\n")
        sys.stderr.flush()


def _flush_std():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass


_libc = ctypes.CDLL(None, use_errno=True)


_SYS_RT_SIGACTION, _SYS_RT_SIGPROCMASK, _SYS_TGKILL = 13, 14, 234     # x86-64
_libc.syscall.restype = ctypes.c_long


def _say_signal_death(sig):
    try:
        name = signal.Signals(sig).name
        what = signal.strsignal(sig)
    except ValueError:
        name, what = f"signal {sig}", None
    try:
        sys.stderr.write(f"emu: guest terminated by {name}" + (f" ({what})" if what else "")
                         + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def die_of_signal(sig):
    """Terminate this host process with `sig`, like the guest was (no core).  Works
    from any thread and for every signal number, glibc's own 32 and 33 included: the
    default action is restored, the signal unblocked and sent to the calling thread with
    raw syscalls (glibc's wrappers refuse 32 and 33)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    _flush_std()
    dfl = (ctypes.c_ulong * 4)()                    # handler SIG_DFL, flags, restorer, mask
    _libc.syscall(ctypes.c_long(_SYS_RT_SIGACTION), ctypes.c_long(sig), ctypes.byref(dfl),
                  None, ctypes.c_long(8))
    bit = ctypes.c_ulong(1 << (sig - 1))
    _libc.syscall(ctypes.c_long(_SYS_RT_SIGPROCMASK), ctypes.c_long(signal.SIG_UNBLOCK),
                  ctypes.byref(bit), None, ctypes.c_long(8))
    _libc.syscall(ctypes.c_long(_SYS_TGKILL), ctypes.c_long(os.getpid()),
                  ctypes.c_long(threading.get_native_id()), ctypes.c_long(sig))
    time.sleep(0.1)                                 # a stop signal or an odd host: fall through
    os._exit(128 + sig)
