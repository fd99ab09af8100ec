"""The Kernel object: per-process Linux state and syscall dispatch.

Owns: the state the family modules share (fd table, signal state, futex
queues, resource limits, thread bookkeeping, process name), the SVC entry
point `syscall(cpu)` (number in x8, args in x0-x5, result or -errno back in
x0), turning handler failures into -errno (SyscallError, OSError from host
calls, GuestFault -> EFAULT) so a bad guest pointer never becomes a Python
traceback, the unknown-syscall counter, and --strace output.
Does not own: the handlers (family modules), the table (table.py), the
memory map (vma.py), CPU execution (emu/).
"""
import collections
import os
import resource
import sys
import threading

from emu.memory import GuestFault
from kernel import abi, delivery, signal, strace
from kernel import path as kpath
from kernel.errors import ProcessExit, SyscallError
from kernel.fd import FdTable
from kernel.futex import Futexes
from kernel.signal import SignalState
from kernel.table import BY_NUMBER
from kernel.uaccess import MASK64


class Kernel:
    """Linux personality for one guest process (all its threads share it)."""

    def __init__(self, mem, space, *, rootfs=None, exe_path=None, strace=False,
                 strace_file=None):
        self.mem = mem
        self.space = space
        self.rootfs = rootfs
        self.exe_path = self._host_exe(exe_path) if exe_path else None
        self.strace = strace
        self.strace_file = strace_file if strace_file is not None else sys.stderr
        self.table = BY_NUMBER
        self.unknown_syscalls = collections.Counter()
        self.unknown_ioctls = collections.Counter()
        self.syscall_counts = collections.Counter()
        self.fds = FdTable(limit=min(resource.getrlimit(resource.RLIMIT_NOFILE)[0] & (2**63 - 1),
                                     1 << 20))
        self.signals = SignalState()
        self.futexes = Futexes()
        self.rlimits = None                 # info.rlimits() fills it on first use
        self.clear_child_tid = {}
        self.robust_list = {}
        self.dumpable = 1
        self.personality = 0                # PER_LINUX
        self.pdeathsig = 0
        # /proc/self/cmdline; the runtime may set the real argv after load().
        self.cmdline = [self.exe_guest_path] if self.exe_path else []
        self.comm = os.fsencode(os.path.basename(self.exe_path or "emu"))[:15]
        self.exec_command = None            # execve: the emulator command line (runtime sets it)
        self.exec_env = None
        self.vfork_fd = None                # a vfork child's end of its parent's wait pipe
        self.children = {}
        self.threads_host = None            # the runtime: spawn_thread, fork_guard ...
        self.thread_names = {}              # tid -> prctl(PR_SET_NAME) name
        self.membarrier_registered = set()
        self.membarrier_host = False
        self._tls = threading.local()
        self._finished = False

    # -- views the handlers share -------------------------------------------------
    @property
    def cpu(self):
        """The CPUState of the thread making the current syscall (or None)."""
        return getattr(self._tls, "cpu", None)

    def tid(self):
        cpu = self.cpu
        return (cpu.tid if cpu is not None and cpu.tid else 0) or threading.get_native_id()

    @property
    def rootfs(self):
        """The host directory that is the guest's / (None: the host's /)."""
        return self._rootfs

    @rootfs.setter
    def rootfs(self, value):
        value = os.path.realpath(value) if value else None
        self._rootfs = None if value == "/" else value
        self.rootfs_b = os.fsencode(self._rootfs) if self._rootfs else None

    def guest_path(self, host_path):
        """A host path as the guest names it (the ROOTFS prefix removed)."""
        return os.fsdecode(kpath.to_guest(self, host_path))

    @property
    def exe_guest_path(self):
        return self.guest_path(self.exe_path) if self.exe_path else ""

    def _host_exe(self, path):
        """The host path of the executable, symlinks resolved (as /proc/self/exe shows
        it), looked up in ROOTFS first as the loader does."""
        path = os.fsencode(path)
        if self.rootfs_b and path.startswith(b"/"):
            path = kpath.lookup_abs(self.rootfs_b, path)[1]
        return os.fsdecode(os.path.realpath(path))

    def finish(self):
        """Process teardown that must happen before exit: flush shared mappings."""
        if not self._finished:
            self._finished = True
            self.space.flush()

    # -- dispatch -----------------------------------------------------------------
    def syscall(self, cpu):
        """Run the syscall the guest asked for; the result goes to cpu.x[0].

        Returns the result as a signed int.  Raises ProcessExit when the
        process ends (exit, exit_group, fatal self-signal).
        """
        nr = cpu.x[8]
        args = [cpu.x[i] for i in range(6)]
        entry = self.table.get(nr)
        self._tls.cpu = cpu
        self._tls.note = None
        if entry is None:
            self.unknown_syscalls[nr] += 1
            ret = -abi.ENOSYS
        else:
            self.syscall_counts[nr] += 1
            try:
                ret = self.call(entry, args)
            except ProcessExit:
                if self.strace:
                    self._trace(entry.name, entry.fmt, args, None)
                raise
        if ret is delivery.KEEP_REGISTERS:          # rt_sigreturn: x0 is the restored one
            if self.strace:
                self._trace(entry.name, entry.fmt, args, None)
            return 0
        cpu.x[0] = ret & MASK64
        if self.strace:
            if entry is None:
                self._trace(f"syscall_{nr}", "xxxxxx", args, ret)
            else:
                self._trace(entry.name, entry.fmt, args, ret)
        return ret

    def call(self, entry, args):
        """Call one handler; failures become -errno."""
        ret = self._call(entry, args)
        if ret in (-abi.EPIPE, -abi.EFBIG):
            signal.generate_io_signal(self, entry.name, args, -ret)
        return ret

    def _call(self, entry, args):
        nargs = len(entry.fmt.partition(">")[0])
        try:
            ret = entry.handler(self, *args[:nargs])
        except SyscallError as e:
            if e.errno == abi.EINTR:            # cut short by a signal: restart or EINTR
                return delivery.interrupted(entry.name)
            return -e.errno
        except GuestFault:
            return -abi.EFAULT
        except OSError as e:
            if e.errno == abi.EINTR:
                return delivery.interrupted(entry.name)
            return -(e.errno or abi.EIO)
        except (ValueError, OverflowError):   # e.g. a value the host call rejects
            return -abi.EINVAL
        return ret if ret is not None else 0

    def note(self, text):
        """A remark the --strace line of the current call ends with (e.g. unknown ioctl)."""
        self._tls.note = text

    def trace_line(self, line):
        """Write one --strace line (a call's, or a signal delivered) with the thread prefix
        strace -f gives once there is more than one thread."""
        try:
            host = self.threads_host
            if host is not None and host.threads_created and len(host.threads) > 1:
                line = f"[pid {self.tid()}] " + line
            self.strace_file.write(line + "\n")
            self.strace_file.flush()
        except (OSError, ValueError):
            pass                # the trace must never break the guest

    def _trace(self, name, fmt, args, ret):
        try:
            line = strace.format_call(self, name, fmt, args, ret)
        except (OSError, ValueError):
            return
        note = getattr(self._tls, "note", None)
        if note:
            line += f" <{note}>"
        elif name.startswith("syscall_"):
            line += " <unknown syscall>"
        self.trace_line(line)
