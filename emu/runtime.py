"""One guest process: wires memory, loader, kernel and translator together
and handles every return from native code.

Owns: process start-up (reservation, load, initial registers), the exit loop
(a miss -> translate; SVC -> kernel; fault/undefined/BRK -> guest signal;
store into code -> invalidate + single step), fatal guest signals (one
diagnostic line, then this process dies of the same signal, as qemu-user
does), and the EMU_BLOCK_STATS report.  Does not own: translation, syscall
semantics, the memory map.
"""
import json
import os
import resource
import signal
import sys
import time
from collections import Counter

from emu.cpustate import CPUState, ExitReason
from emu.memory import GuestMemory, PAGE_SHIFT
from emu.loader import load, LoadError  # noqa: F401  (re-exported for the CLI)
from kernel import Kernel, ProcessExit
from kernel.vma import AddressSpace
from translator.codecache import default_dir
from translator.jit import Translator

_FAULT_SIGNALS = {
    ExitReason.FAULT_READ: signal.SIGSEGV,
    ExitReason.FAULT_WRITE: signal.SIGSEGV,
    ExitReason.FAULT_EXEC: signal.SIGSEGV,
    ExitReason.UNDEF: signal.SIGILL,
    ExitReason.BRK: signal.SIGTRAP,
    ExitReason.ALIGN: signal.SIGBUS,
}


class GuestKilled(Exception):
    """The guest dies of an unhandled signal."""

    def __init__(self, sig):
        super().__init__(sig)
        self.sig = sig


class Process:
    def __init__(self):
        self.exits = Counter()
        self.t_start = time.perf_counter()

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

        self.translator = Translator(self.cpu, self.mem, tiering=tiering, batch=batch,
                                     disk_cache=default_dir() if code_cache else None,
                                     background=False)
        cpu = self.cpu
        cpu.pc = info.entry
        cpu.sp = info.sp
        cpu.excl_addr = 0xFFFFFFFFFFFFFFFF
        cpu.tid = os.getpid()
        from kernel.signal import adopt_exec_state, inherited_from_host, reset_host_dispositions
        if signals is None:                     # as inherited by this process (nohup...)
            signals = inherited_from_host() + (0,)
        reset_host_dispositions(signals[1])
        self.kernel._tls.cpu = cpu
        adopt_exec_state(self.kernel, *signals)
        return self

    # -- the exit loop ---------------------------------------------------------
    def run(self):
        cpu, tr, kernel = self.cpu, self.translator, self.kernel
        try:
            while True:
                reason = tr.run()
                self.exits[reason.name.lower()] += 1
                if reason == ExitReason.SYSCALL:
                    cpu.link_req = 0
                    kernel.syscall(cpu)
                elif reason == ExitReason.MISS:
                    if not tr.translate(cpu.pc):
                        cpu.link_req = 0
                        self._fatal(ExitReason.FAULT_EXEC, cpu.pc)
                elif reason == ExitReason.SMC:
                    cpu.link_req = 0
                    page = cpu.exit_info >> PAGE_SHIFT
                    tr.invalidate_pages(page, (cpu.exit_info + 15) >> PAGE_SHIFT)
                    r = tr.step(cpu.pc)
                    if r != ExitReason.STEP:
                        self._fatal(r, cpu.exit_info)
                elif reason == ExitReason.HOT:
                    tr.promote(cpu.pc)
                elif reason == ExitReason.REQUEST:
                    cpu.exit_request = 0
                    tr.poll_background()
                else:
                    cpu.link_req = 0
                    self._fatal(reason, cpu.exit_info)
        except ProcessExit as e:
            self._report()
            sig = getattr(e, "signal", 0)
            return die_of_signal(sig) if sig else e.status
        except GuestKilled as e:
            self.kernel.finish()          # shared file mappings reach their files
            self._report()
            return die_of_signal(e.sig)

    def _fatal(self, reason, info):
        """An unhandled synchronous guest signal: one line, then die of it."""
        sig = _FAULT_SIGNALS.get(reason, signal.SIGSEGV)
        pc = self.cpu.pc
        if reason == ExitReason.UNDEF:
            from translator import decoder
            mnem, ops, _ = decoder.capstone_view(info, pc)
            text = f" ({mnem} {ops})".rstrip() if mnem else ""
            msg = f"emu: SIGILL: unsupported instruction {info:#010x}{text} at pc={pc:#x}"
        elif reason == ExitReason.BRK:
            msg = f"emu: SIGTRAP: brk #{info:#x} at pc={pc:#x}"
        elif reason == ExitReason.FAULT_EXEC:
            msg = f"emu: SIGSEGV: execute of unmapped or non-executable address {pc:#x}"
        else:
            kind = "write" if reason == ExitReason.FAULT_WRITE else "read"
            msg = f"emu: {signal.Signals(sig).name}: {kind} at address {info:#x}, pc={pc:#x}"
        sys.stderr.write(msg + "\n")
        raise GuestKilled(sig)

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
            "insns_executed": self.cpu.n_insns,
            "links": tr.get("links", 0),
            "dispatch_lookups": tr.get("dispatch_lookups", 0),
            "invalidations": tr.get("invalidations", 0),
            "regions_invalidated": tr.get("regions_invalidated", 0),
            "steps": tr.get("steps", 0),
            "code_pages": tr.get("code_pages", 0),
            "exits": dict(self.exits),
            "unknown_syscalls": {str(k): v for k, v in self.kernel.unknown_syscalls.items()},
            "unknown_ioctls": {f"{k:#x}": v for k, v in self.kernel.unknown_ioctls.items()},
            "wall_s": round(wall, 6),
        }
        sys.stderr.write("EMU_BLOCK_STATS " + json.dumps(out, sort_keys=True) + "\n")
        sys.stderr.flush()


def die_of_signal(sig):
    """Terminate this host process with `sig`, like the guest was (no core)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
    os.kill(os.getpid(), sig)
    return 128 + sig
