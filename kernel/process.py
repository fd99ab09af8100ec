"""Process and thread lifetime: exit, tid bookkeeping, prctl.

Owns: exit, exit_group (flush shared file mappings, then raise
ProcessExit), set_tid_address, set_robust_list/get_robust_list (recorded),
rseq (ENOSYS: glibc then runs without it), prctl (PR_SET_NAME/GET_NAME,
dumpable, pdeathsig, tid address kept here; thread/process attributes the
host keeps for the calling thread passed through: no_new_privs, child
subreaper, timer slack, keepcaps, capability bounding set...; seccomp
filters, SVE/PAC/MTE controls refused with EINVAL), and the ENOSYS stub for
syscalls deliberately left unimplemented; fork-like clone, wait4/waitid and execve
(see the section at the end); thread clones (the runtime makes the host thread: Kernel.
threads_host.spawn_thread), thread exit (clear-child-tid word + futex wake, robust futex
list walked), membarrier.  Does not own: signals (signal.py), running threads (emu/runtime).
"""
import ctypes
import os
import stat
import sys

from kernel import abi, strace
from kernel.errors import ProcessExit, SyscallError
from kernel.status import deliberate_enosys, partial
from kernel.uaccess import read_path, s32


def sys_exit(k, status):
    """Ends the calling thread (the runtime ends the process with its last thread)."""
    raise ProcessExit(status & 0xFF, group=False)


def sys_exit_group(k, status):
    k.finish()
    raise ProcessExit(status & 0xFF)


def sys_set_tid_address(k, tidptr):
    k.clear_child_tid[k.tid()] = tidptr
    return k.tid()


def sys_set_robust_list(k, head, length):
    if length != abi.ROBUST_LIST_HEAD_SIZE:
        raise SyscallError(abi.EINVAL)
    k.robust_list[k.tid()] = head
    return 0


def sys_get_robust_list(k, pid, head_ptr, len_ptr):
    if s32(pid) not in (0, k.tid()):
        raise SyscallError(abi.EPERM)
    k.mem.write_u64(head_ptr, k.robust_list.get(k.tid(), 0))
    k.mem.write_u64(len_ptr, abi.ROBUST_LIST_HEAD_SIZE)
    return 0


# -- thread exit --------------------------------------------------------------------------
FUTEX_OWNER_DIED, FUTEX_WAITERS, FUTEX_TID_MASK = 0x40000000, 0x80000000, 0x3FFFFFFF
_ROBUST_LIMIT = 2048                        # as Linux's ROBUST_LIST_LIMIT


def _robust_one(k, uaddr, tid):
    """A robust futex held by a dying thread: mark OWNER_DIED, wake one waiter."""
    try:
        word = k.mem.read_u32(uaddr)
    except Exception:                       # GuestFault: a bad list ends the walk quietly
        return False
    if word & FUTEX_TID_MASK != tid:
        return True
    from emu.hostatomic import update32     # other threads may be taking the lock
    try:
        k.mem.check(uaddr, 4, write=True)
    except Exception:
        return False
    word = update32(k.mem.host_addr(uaddr),
                    lambda w: (w & FUTEX_WAITERS) | FUTEX_OWNER_DIED
                    if w & FUTEX_TID_MASK == tid else w)
    if word & FUTEX_TID_MASK == tid and word & FUTEX_WAITERS:
        k.futexes.wake(uaddr, 1)
    return True


def _walk_robust_list(k, tid, head):
    """struct robust_list_head { next; long futex_offset; list_op_pending }: each entry
    (and the pending one) names a futex word at entry + futex_offset."""
    try:
        nxt = k.mem.read_u64(head)
        offset = int.from_bytes(k.mem.read(head + 8, 8), "little", signed=True)
        pending = k.mem.read_u64(head + 16)
    except Exception:
        return
    seen = 0
    while nxt != head and nxt and seen < _ROBUST_LIMIT:
        entry = nxt & ~1                    # bit 0: a PI futex
        try:
            nxt = k.mem.read_u64(entry)
        except Exception:
            return
        if entry != pending and not _robust_one(k, entry + offset, tid):
            return
        seen += 1
    if pending:
        _robust_one(k, (pending & ~1) + offset, tid)


def thread_exited(k, tid):
    """A guest thread ends: its robust futexes are released, then its clear-child-tid
    word gets 0 and one waiter on it is woken (pthread_join waits there)."""
    head = k.robust_list.pop(tid, None)
    if head:
        _walk_robust_list(k, tid, head)
    ctid = k.clear_child_tid.pop(tid, 0)
    if ctid:
        try:
            k.mem.write_u32(ctid, 0)
        except Exception:
            return
        k.futexes.wake(ctid, 1)
    k.signals.forget_thread(tid)
    k.thread_names.pop(tid, None)


MEMBARRIER_CMD_QUERY, MEMBARRIER_CMD_GLOBAL = 0, 1
MEMBARRIER_CMD_GLOBAL_EXPEDITED, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 2, 4
MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 8, 16
MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 32
MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 64
_MEMBARRIER_OK = (MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED
                  | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED
                  | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
                  | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
                  | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
_SYS_MEMBARRIER_HOST = 324                  # x86-64


def _host_membarrier(cmd):
    r = _libc.syscall(ctypes.c_long(_SYS_MEMBARRIER_HOST), ctypes.c_long(cmd), ctypes.c_long(0),
                      ctypes.c_long(0))
    return r if r >= 0 else -ctypes.get_errno()


@partial("guest threads are host threads: the barrier commands run on the host "
         "(private expedited as the host's, registered on first use); SYNC_CORE is also "
         "a barrier (code changes reach other threads through invalidation)")
def sys_membarrier(k, cmd, flags):
    cmd &= 0xFFFFFFFF
    if flags & 0xFFFFFFFF:
        raise SyscallError(abi.EINVAL)
    if cmd == MEMBARRIER_CMD_QUERY:
        return _MEMBARRIER_OK
    if cmd & (cmd - 1) or not cmd & _MEMBARRIER_OK:
        raise SyscallError(abi.EINVAL)
    registered = k.membarrier_registered
    if cmd in (MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
               MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE):
        registered.add(cmd >> 1)            # the command it enables
        return 0
    if cmd in (MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) \
            and cmd not in registered:
        raise SyscallError(abi.EPERM)
    if cmd == MEMBARRIER_CMD_GLOBAL:
        return max(_host_membarrier(MEMBARRIER_CMD_GLOBAL), 0)
    if not k.membarrier_host:               # the host's private expedited barrier, once
        _host_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
        k.membarrier_host = True
    if _host_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0:
        _host_membarrier(MEMBARRIER_CMD_GLOBAL)
    return 0


@deliberate_enosys("glibc and the runtimes fall back when it is missing")
def sys_enosys(k, *args):
    """Known syscalls deliberately answered with ENOSYS (rseq, clone3)."""
    raise SyscallError(abi.ENOSYS)


@partial("names, dumpable, pdeathsig, tid address; thread attributes passed to the host; "
         "seccomp, SVE/SME, PAC, MTE, PR_SET_MM, PR_SET_VMA: EINVAL")
def sys_prctl(k, option, arg2, arg3, arg4, arg5):
    option = s32(option)
    if option == abi.PR_SET_NAME:
        first = min(16, 4096 - (arg2 & 4095))
        raw = k.mem.read(arg2, first)
        if b"\0" not in raw and first < 16:
            raw += k.mem.read(arg2 + first, 16 - first)
        name = raw.split(b"\0")[0][:15]
        k.thread_names[k.tid()] = name
        if k.tid() == os.getpid():
            k.comm = name
        return 0
    if option == abi.PR_GET_NAME:
        k.mem.write(arg2, k.thread_names.get(k.tid(), k.comm)[:15].ljust(16, b"\0"))
        return 0
    if option == abi.PR_GET_DUMPABLE:
        return k.dumpable
    if option == abi.PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise SyscallError(abi.EINVAL)
        k.dumpable = arg2
        return 0
    if option == abi.PR_SET_PDEATHSIG:
        k.pdeathsig = s32(arg2)
        return 0
    if option == abi.PR_GET_PDEATHSIG:
        k.mem.write_u32(arg2, k.pdeathsig)
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        k.mem.check(arg2, 4, write=True)
        val = ctypes.c_int()
        _host_prctl(option, ctypes.addressof(val), 0, 0, 0)
        k.mem.write_u32(arg2, val.value)
        return 0
    if option == PR_GET_TID_ADDRESS:
        k.mem.write_u64(arg2, k.clear_child_tid.get(k.tid(), 0))
        return 0
    if option in _PRCTL_HOST:
        # Attributes of the calling thread/process that the host keeps for us
        # (the guest thread is this host thread); no pointer arguments.
        return _host_prctl(option, arg2, arg3, arg4, arg5)
    # PR_SET_SECCOMP (a filter for AArch64 numbers must not reach the host),
    # SVE/SME vector lengths, pointer authentication, tagged addresses, MTE,
    # PR_SET_MM, PR_SET_VMA and unknown options.
    raise SyscallError(abi.EINVAL)


PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 7, 8
PR_GET_TIMING, PR_SET_TIMING = 13, 14
PR_GET_SECCOMP = 21
PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_GET_TIMERSLACK, PR_SET_TIMERSLACK = 30, 29
PR_MCE_KILL, PR_MCE_KILL_GET = 33, 34
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_GET_TID_ADDRESS = 40
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
PR_CAP_AMBIENT = 47
PR_SET_PTRACER = 0x59616D61
_PRCTL_HOST = {PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_GET_TIMING, PR_SET_TIMING, PR_GET_SECCOMP,
               PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK,
               PR_MCE_KILL, PR_MCE_KILL_GET, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS,
               PR_GET_NO_NEW_PRIVS, PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_CAP_AMBIENT,
               PR_SET_PTRACER}
_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4


def _host_prctl(option, a2, a3, a4, a5):
    r = _libc.prctl(option, a2, a3, a4, a5)
    if r < 0:
        raise SyscallError(ctypes.get_errno())
    return r


# -- fork, wait, execve ----------------------------------------------------------------------
# A guest process is one host process (this emulator), so fork is the host's fork: the guest
# memory reservation is a private mapping and is copied on write, the translated code and the
# Kernel state come along.  execve starts a fresh emulator (k.exec_command, set by the runtime)
# on the new program in this same host process (same pid), handing over the guest's
# descriptors and environment.
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x20000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x100000, 0x200000
CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID = 0x400000, 0x800000, 0x1000000
CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x2000000, 0x4000000, 0x8000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_IO = 0x20000000, 0x40000000, 0x80000000
_CLONE_NS = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
             | CLONE_NEWPID | CLONE_NEWNET)
_CLONE_OK = (0xFF | CLONE_VM | CLONE_FS | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID
             | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_UNTRACED
             | CLONE_SYSVSEM | CLONE_IO | CLONE_PTRACE)


def _before_fork(k):
    for f in (sys.stdout, sys.stderr, k.strace_file):
        try:
            f.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _rekey_thread_state(k, old, new):
    """Per-thread records (signal mask, altstack, robust list) move to the child's tid."""
    for table in (k.signals.masks, k.signals.altstacks, k.robust_list, k.thread_names):
        if old in table:
            table[new] = table.pop(old)
    k.clear_child_tid.pop(old, None)
    k.signals.after_fork(old, new)
    if getattr(k, "posix_timers", None) is not None:
        k.posix_timers.after_fork()


_CLONE_THREAD_NEEDS = CLONE_VM | CLONE_SIGHAND      # Linux: THREAD needs SIGHAND needs VM


@partial("threads (CLONE_VM|CLONE_THREAD with glibc's flags: a host thread each), fork-like "
         "clones (no CLONE_VM, or CLONE_VM|CLONE_VFORK run as a fork whose parent waits for "
         "the child's execve/exit); CLONE_VM without CLONE_THREAD and namespaces are not")
def sys_clone(k, flags, newsp, ptid, tls, ctid):
    if flags & CLONE_THREAD:
        return _clone_thread(k, flags, newsp, ptid, tls, ctid)
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        k.note("CLONE_VM without CLONE_THREAD is not implemented")
        raise SyscallError(abi.ENOSYS)
    if flags & _CLONE_NS:
        raise SyscallError(abi.EPERM)
    if flags & ~_CLONE_OK & ~(CLONE_FILES | CLONE_SIGHAND | CLONE_PARENT | CLONE_PIDFD):
        raise SyscallError(abi.EINVAL)
    if flags & (CLONE_FILES | CLONE_SIGHAND | CLONE_PARENT | CLONE_PIDFD):
        raise SyscallError(abi.EINVAL)      # shared tables/pidfds: only with threads
    for p in ((ptid,) if flags & CLONE_PARENT_SETTID else ()) + \
            ((ctid,) if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) else ()):
        k.mem.check(p, 4, write=True)
    vfork = bool(flags & CLONE_VFORK)
    if vfork:
        r, w = os.pipe2(os.O_CLOEXEC)       # the child's end closes at its execve or exit
    _before_fork(k)
    cpu = k.cpu
    old_tid = k.tid()
    host = k.threads_host
    if host is not None:
        with host.fork_guard():             # no other thread mid-translation or in a lock
            pid = os.fork()
            if pid == 0:
                cpu.tid = os.getpid()
                host.after_fork_child(cpu)
    else:
        pid = os.fork()
    if pid == 0:                            # the child
        if k.vfork_fd is not None:          # only our own execve/exit may wake our parent
            os.close(k.vfork_fd)
            k.vfork_fd = None
        if vfork:
            os.close(r)
            k.vfork_fd = w
        cpu.tid = os.getpid()
        _rekey_thread_state(k, old_tid, cpu.tid)
        if newsp:
            cpu.sp = newsp
        if flags & CLONE_SETTLS:
            cpu.tpidr = tls
        if flags & CLONE_CHILD_SETTID:
            k.mem.write_u32(ctid, cpu.tid)
        if flags & CLONE_CHILD_CLEARTID:
            k.clear_child_tid[cpu.tid] = ctid
        k.children = {}
        return 0
    if flags & CLONE_PARENT_SETTID:
        k.mem.write_u32(ptid, pid)
    if vfork:
        os.close(w)
        while True:                         # parent sleeps until the child execs or exits
            try:
                if not os.read(r, 1):
                    break
            except InterruptedError:
                continue
        os.close(r)
    return pid


_THREAD_FLAGS_OK = (0xFF | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                    | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
                    | CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_IO | CLONE_UNTRACED)


def _clone_thread(k, flags, newsp, ptid, tls, ctid):
    """A new guest thread sharing everything (glibc's pthread_create, Go's newosproc)."""
    if flags & _CLONE_THREAD_NEEDS != _CLONE_THREAD_NEEDS:
        raise SyscallError(abi.EINVAL)
    if flags & ~_THREAD_FLAGS_OK:
        k.note("thread clone flags not implemented")
        raise SyscallError(abi.EINVAL)
    if flags & 0xFF:                        # an exit signal for a thread: Linux ignores it
        pass
    host = k.threads_host
    if host is None:
        k.note("no runtime to start threads")
        raise SyscallError(abi.ENOSYS)
    if flags & CLONE_PARENT_SETTID:
        k.mem.check(ptid, 4, write=True)
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID):
        k.mem.check(ctid, 4, write=True)

    def before_start(tid):                  # on our thread, before the child runs guest code
        if flags & CLONE_PARENT_SETTID:
            k.mem.write_u32(ptid, tid)
        if flags & CLONE_CHILD_SETTID:
            k.mem.write_u32(ctid, tid)
        if flags & CLONE_CHILD_CLEARTID:
            k.clear_child_tid[tid] = ctid
        k.signals.inherit_mask(k.tid(), tid)
        k.thread_names[tid] = k.thread_names.get(k.tid(), k.comm)   # a new thread keeps the name

    return host.spawn_thread(k.cpu, newsp, tls, bool(flags & CLONE_SETTLS), before_start)


_libc.wait4.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
_libc.syscall.restype = ctypes.c_long
_WAIT_OPTIONS = 0x1 | 0x2 | 0x4 | 0x8 | 0x01000000 | 0x20000000 | 0x40000000 | 0x80000000
_SYS_WAITID_HOST = 247                      # x86-64


def _retrying(k, call):
    """A host wait call, repeated while the host interrupts it (EINTR) with no guest signal
    to deliver; its result, or SyscallError with its errno (EINTR: a signal for this thread
    is pending, which delivery turns into a restart or -EINTR)."""
    while True:
        got = call()
        err = ctypes.get_errno()
        if got >= 0:
            return got
        if err != abi.EINTR or k.signals.deliverable(k.tid()):
            raise SyscallError(err)


def sys_wait4(k, pid, wstatus, options, rusage):
    options &= 0xFFFFFFFF
    if options & ~_WAIT_OPTIONS:
        raise SyscallError(abi.EINVAL)
    if wstatus:
        k.mem.check(wstatus, 4, write=True)
    if rusage:
        k.mem.check(rusage, 144, write=True)
    status = ctypes.c_int(0)
    ru = ctypes.create_string_buffer(144)
    got = _retrying(k, lambda: _libc.wait4(s32(pid), ctypes.byref(status),
                                        ctypes.c_int(s32(options)), ru))
    if got > 0:
        if wstatus:
            k.mem.write_u32(wstatus, status.value & 0xFFFFFFFF)
        if rusage:
            k.mem.write(rusage, ru.raw)      # struct rusage: the same layout on both 64-bit ABIs
    return got


def sys_waitid(k, idtype, id_, infop, options, rusage):
    """siginfo_t (128 bytes) and struct rusage have the same layout on arm64 and x86-64."""
    if infop:
        k.mem.check(infop, 128, write=True)
    if rusage:
        k.mem.check(rusage, 144, write=True)
    info = ctypes.create_string_buffer(128)
    ru = ctypes.create_string_buffer(144)
    got = _retrying(k, lambda: _libc.syscall(ctypes.c_long(_SYS_WAITID_HOST),
                                             ctypes.c_long(s32(idtype)), ctypes.c_long(s32(id_)),
                                             info, ctypes.c_long(s32(options)), ru))
    if infop:
        k.mem.write(infop, info.raw)
    if rusage:
        k.mem.write(rusage, ru.raw)
    return got


def _read_strings(k, addr, limit=0x10000):
    out = []
    if not addr:
        return out
    for i in range(limit):
        p = k.mem.read_u64(addr + 8 * i)
        if not p:
            return out
        out.append(k.mem.read_cstr(p, 1 << 17))
    raise SyscallError(abi.E2BIG)


_ELF_AARCH64 = (b"\x7fELF\x02\x01", 183)


def _exec_target(k, path, argv, depth=0):
    """Resolve an execve target like Linux's binfmt handlers: an AArch64 ELF runs; a `#!`
    script runs its interpreter with the script path inserted.  Returns (guest path of the
    program to load, its argv, AT_EXECFN path)."""
    from kernel.path import resolve
    host, _ = resolve(k, abi.AT_FDCWD, path, True)
    st = os.stat(host)                      # ENOENT, ENOTDIR, ELOOP... as Linux
    if stat.S_ISDIR(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise SyscallError(abi.EACCES)
    if not os.access(host, os.X_OK):
        raise SyscallError(abi.EACCES)
    with open(host, "rb") as f:
        head = f.read(256)
    if head.startswith(b"#!") and depth < 4:
        line = head[2:].split(b"\n", 1)[0].strip()
        if b"\n" not in head[2:] and len(head) == 256:
            raise SyscallError(abi.ENOEXEC)
        if not line:
            raise SyscallError(abi.ENOEXEC)
        parts = line.split(None, 1)
        interp = parts[0]
        new_argv = [interp] + parts[1:] + [path] + argv[1:]
        return _exec_target(k, interp, new_argv, depth + 1)[0:2] + (path,)
    if head[:6] != _ELF_AARCH64[0] or int.from_bytes(head[18:20], "little") != _ELF_AARCH64[1]:
        raise SyscallError(abi.ENOEXEC)
    from emu.loader import check_exec
    err = check_exec(host, k.rootfs)
    if err:
        raise SyscallError(err)
    if path.startswith(b"/proc/"):          # /proc/self/exe, /proc/self/fd/N: what they are here
        path = os.fsencode(k.guest_path(os.path.realpath(host)))
    return path, argv, path


def _hand_over_fds(k):
    """Make the guest's descriptors that survive execve inheritable, guest 0-2 at host 0-2;
    returns the others as (guest, host) pairs."""
    keep = {n: f.host for n, f in k.fds.files.items() if not f.cloexec}
    for n in (0, 1, 2):
        if keep.get(n) == n:
            continue
        for m, h in list(keep.items()):      # host n is busy with another guest fd: move it
            if h == n and m != n:
                keep[m] = os.dup(h)
        if n in keep:
            os.dup2(keep[n], n, inheritable=True)
            keep[n] = n
        else:
            try:
                os.close(n)
            except OSError:
                pass
    for n, f in k.fds.files.items():
        if f.host not in keep.values():
            try:
                os.set_inheritable(f.host, False)
            except OSError:
                pass
    for h in keep.values():
        os.set_inheritable(h, True)
    return sorted((n, h) for n, h in keep.items() if n > 2)


@partial("starts a new emulator process image on the program (same pid), handing over the "
         "descriptors without close-on-exec, the blocked mask, pending and ignored signals")
def sys_execve(k, path, argv_p, envp_p):
    path = read_path(k.mem, path)
    argv = _read_strings(k, argv_p)
    envp = _read_strings(k, envp_p)
    if not path:
        raise SyscallError(abi.ENOENT)
    prog, argv, execfn = _exec_target(k, path, argv)
    if not k.exec_command:
        raise SyscallError(abi.ENOSYS)
    env_fd = os.memfd_create("emu-environ", 0)
    os.write(env_fd, b"".join(e + b"\0" for e in envp))
    os.lseek(env_fd, 0, os.SEEK_SET)
    k.finish()
    _before_fork(k)
    fds = _hand_over_fds(k)
    os.set_inheritable(env_fd, True)
    cmd = list(k.exec_command) + ["--environ-fd", str(env_fd), "--execfn", os.fsdecode(execfn)]
    # What execve keeps of the signal state: the blocked mask, pending signals and the ignored
    # dispositions (handled ones go back to the default).
    st = k.signals
    ignored = sum(1 << (n - 1) for n, a in st.actions.items() if a.sa_handler == abi.SIG_IGN)
    pending = sum(1 << (n - 1) for n in st.pending)
    cmd += ["--signals", f"{st.masks.get(k.tid(), 0):x}:{ignored:x}:{pending:x}"]
    for n, h in fds:
        cmd += ["--fd", f"{n}:{h}"]
    cmd += ["-0", os.fsdecode(argv[0]) if argv else "", "--", os.fsdecode(prog)]
    cmd += [os.fsdecode(a) for a in argv[1:]]
    if k.strace:                            # a successful execve does not return here
        k.strace_file.write(f"execve({strace.quote(path)}, [{', '.join(map(strace.quote, argv))}],"
                            f" {len(envp)} vars) = 0\n")
        k.strace_file.flush()
    host = k.threads_host
    try:
        if host is not None:
            host.before_exec()              # emu's own host signal mask is not inherited
        os.execve(sys.executable, cmd, k.exec_env or os.environ)
    except OSError as e:
        if host is not None:
            host.after_failed_exec()
        os.close(env_fd)
        raise SyscallError(e.errno or abi.ENOEXEC) from None
