"""System V IPC and POSIX message queues (family `ipc`).

Owns: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl,
msgget/msgsnd/msgrcv/msgctl, mq_open/mq_unlink/mq_timedsend/mq_timedreceive/
mq_notify/mq_getsetattr.  Guest processes are host processes, so every
object is the host's own (shared with other guest processes, across fork,
and with host programs); the calls are the host's syscalls on converted
guest structures.  The layouts (asm-generic on arm64, x86-64's own headers)
are the same but for struct semid64_ds, which has padding words after its
two times on x86-64 (88 bytes on arm64, 104 on x86-64): see abi.SemidDs.
Shared memory: a segment is attached by the host (its permission checks),
moved with the host's mremap into the guest reservation at base + guest
address (a kernel-chosen address comes from the VMA list, top-down as on
Linux), and recorded as a MAP_SHARED VMA named `/SYSV%08x (deleted)` with
device 00:01 and inode = shmid, as Linux's /proc/self/maps shows it.
Unmapping it (shmdt, munmap, a MAP_FIXED over it, exit) is the host's
detach.  Blocking calls (semop, msgsnd, msgrcv, mq_timed*) run in the host
with the GIL released; a guest signal interrupts them (emu's KICK: EINTR)
and they end as Linux's: semop/semtimedop EINTR, msgsnd/msgrcv
ERESTARTNOHAND, the mq calls ERESTARTSYS.
Does not own: the VMA list (vma.py), the fd table (fd.py).
"""
import ctypes
import os
import threading
import time as _time

from emu.memory import ADDR_LIMIT, PAGE_MASK, page_ceil
from kernel import abi, sigframe
from kernel.errors import SyscallError
from kernel.status import partial
from kernel.uaccess import read_path, s32, s64
from kernel.vma import MMAP_MIN, Backing

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mremap.restype = ctypes.c_void_p
_libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                         ctypes.c_void_p]
_MAP_FAILED = ctypes.c_void_p(-1).value
_MREMAP_MAYMOVE, _MREMAP_FIXED = 1, 2

# x86-64 host syscall numbers
_NR = dict(shmget=29, shmat=30, shmctl=31, semget=64, semop=65, semctl=66, shmdt=67,
           msgget=68, msgsnd=69, msgrcv=70, msgctl=71, semtimedop=220, mq_open=240,
           mq_unlink=241, mq_timedsend=242, mq_timedreceive=243, mq_notify=244,
           mq_getsetattr=245)


def _arg(a):
    if a is None:
        return ctypes.c_long(0)
    if isinstance(a, int):
        return ctypes.c_ulong(a & 0xFFFFFFFFFFFFFFFF)
    return ctypes.c_void_p(ctypes.addressof(a))      # a ctypes buffer


def _raw(name, *args):
    """One host syscall: (result, errno)."""
    r = _libc.syscall(ctypes.c_long(_NR[name]), *[_arg(a) for a in args])
    return (r, ctypes.get_errno()) if r == -1 else (r, 0)


def _host(name, *args):
    r, err = _raw(name, *args)
    if err:
        raise SyscallError(err)
    return r


def _blocking(k, name, args, interrupted, deadline_arg=None):
    """A host call that may sleep.  Interrupted by a signal for this thread: the guest gets
    -`interrupted`; a kick whose signal went elsewhere (nothing deliverable here) waits
    again.  deadline_arg: (index, monotonic deadline) of a relative timespec to shorten."""
    args = list(args)
    while True:
        r, err = _raw(name, *args)
        if not err:
            return r
        if err != abi.EINTR:
            raise SyscallError(err)
        if k.signals.deliverable(k.tid()):
            return -interrupted
        if deadline_arg is not None:
            i, deadline = deadline_arg
            left = max(0, int((deadline - _time.monotonic()) * 1e9))
            args[i] = _buf(bytes(abi.Timespec(left // 1_000_000_000, left % 1_000_000_000)))


def _buf(data_or_size):
    if isinstance(data_or_size, int):
        return ctypes.create_string_buffer(max(data_or_size, 1))
    return ctypes.create_string_buffer(bytes(data_or_size), max(len(data_or_size), 1))


def _sysctl_ints(name, default):
    try:
        with open(f"/proc/sys/kernel/{name}") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return default


IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0o1000, 0o2000, 0o4000
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
SHMLBA = 4096                       # arm64 (asm-generic): PAGE_SIZE


# -- shared memory ------------------------------------------------------------------------
class ShmBacking(Backing):
    """One attachment of a SysV segment (each shmat its own, so shmdt finds its VMAs)."""
    __slots__ = ("shmid", "size")

    def __init__(self, shmid, size, writable):
        super().__init__("", os.makedev(0, 1), shmid, None, writable)
        self.shmid, self.size = shmid, size


def sys_shmget(k, key, size, shmflg):
    return _host("shmget", s32(key), size, s32(shmflg) & 0xFFFFFFFF)


def _shm_stat(shmid):
    out = _buf(abi.SHMID_DS_SIZE)
    _host("shmctl", shmid, IPC_STAT, out)
    return abi.ShmidDs.from_buffer_copy(out.raw[:abi.SHMID_DS_SIZE])


def sys_shmat(k, shmid, shmaddr, shmflg):
    shmid, flg = s32(shmid), s32(shmflg)
    if shmid < 0:
        raise SyscallError(abi.EINVAL)
    addr = shmaddr
    if addr & (SHMLBA - 1):
        if not flg & SHM_RND:
            raise SyscallError(abi.EINVAL)
        addr &= ~(SHMLBA - 1)
        if addr == 0 and flg & SHM_REMAP:
            raise SyscallError(abi.EINVAL)
    if addr == 0 and flg & SHM_REMAP:
        raise SyscallError(abi.EINVAL)
    prot = abi.PROT_READ | (0 if flg & SHM_RDONLY else abi.PROT_WRITE) \
        | (abi.PROT_EXEC if flg & SHM_EXEC else 0)
    space = k.space
    # The host attaches first (permissions, a removed id), wherever it likes...
    tmp = _host("shmat", shmid, 0, flg & (SHM_RDONLY | SHM_EXEC))
    try:
        ds = _shm_stat(shmid)
        size = page_ceil(ds.shm_segsz)
        with space.lock:
            if addr:
                if addr + size > ADDR_LIMIT or addr + size < addr:
                    raise SyscallError(abi.EINVAL)
                if not flg & SHM_REMAP and space.overlapping(addr, addr + size):
                    raise SyscallError(abi.EINVAL)
                if addr < MMAP_MIN:
                    raise SyscallError(abi.EPERM)
            else:
                addr = space.find_free(size)
            name = f"/SYSV{ds.shm_perm.key & 0xFFFFFFFF:08x} (deleted)"
            backing = ShmBacking(shmid, size, not flg & SHM_RDONLY)
            space.map(addr, size, prot, abi.MAP_SHARED | abi.MAP_FIXED, name=name,
                      backing=backing)
            # ... then its pages move into the reservation, over the VMA's fresh pages.
            p = _libc.mremap(tmp, size, size, _MREMAP_MAYMOVE | _MREMAP_FIXED,
                             k.mem.host_addr(addr))
            if p is None or p == _MAP_FAILED:
                err = ctypes.get_errno()
                space.unmap(addr, size)
                raise SyscallError(err or abi.ENOMEM)
            tmp = None
            return addr
    finally:
        if tmp is not None:
            _host("shmdt", tmp)


def sys_shmdt(k, shmaddr):
    """Detach the attachment that starts at shmaddr: every VMA of it that still lies
    within the segment's size from there (Linux's shmdt)."""
    if shmaddr & (SHMLBA - 1):
        raise SyscallError(abi.EINVAL)
    space = k.space
    with space.lock:
        first = None
        for v in space.overlapping(shmaddr, ADDR_LIMIT):
            if v.start >= shmaddr and isinstance(v.backing, ShmBacking) \
                    and v.start - v.offset == shmaddr:
                first = v
                break
        if first is None:
            raise SyscallError(abi.EINVAL)
        b = first.backing
        gone = [(v.start, v.end) for v in space.overlapping(shmaddr, shmaddr + b.size)
                if v.backing is b and v.end - shmaddr <= b.size]
        for lo, hi in gone:
            space.unmap(lo, hi - lo)
    return 0


def _ctl(k, name, ident, cmd, buf, sizes, to_host=None, from_host=None, extra=()):
    """An IPC_STAT/IPC_SET-style control call: sizes[cmd] = (guest bytes in, guest bytes
    out); to_host/from_host convert the struct when the layouts differ.  Commands not
    listed (or with the IPC_64 bit, which arm64 refuses) go to the host without a buffer."""
    spec = sizes.get(cmd)
    if spec is None or spec == (0, 0):
        return _host(name, ident, *extra, cmd, 0)
    n_in, n_out = spec
    if n_in:
        data = k.mem.read(buf, n_in)
        hbuf = _buf(to_host(data) if to_host else data)
    else:
        hbuf = _buf(max(n_out, 128))
    r = _host(name, ident, *extra, cmd, hbuf)
    if n_out:
        raw = hbuf.raw
        k.mem.write(buf, from_host(raw) if from_host else raw[:n_out])
    return r


_SHM_SIZES = {IPC_RMID: (0, 0), IPC_SET: (abi.SHMID_DS_SIZE, 0),
              IPC_STAT: (0, abi.SHMID_DS_SIZE), SHM_STAT: (0, abi.SHMID_DS_SIZE),
              SHM_STAT_ANY: (0, abi.SHMID_DS_SIZE), IPC_INFO: (0, 72), SHM_INFO: (0, 48),
              SHM_LOCK: (0, 0), SHM_UNLOCK: (0, 0)}


def sys_shmctl(k, shmid, cmd, buf):
    return _ctl(k, "shmctl", s32(shmid), s32(cmd), buf, _SHM_SIZES)


# -- semaphores ---------------------------------------------------------------------------
def sys_semget(k, key, nsems, semflg):
    return _host("semget", s32(key), s32(nsems), s32(semflg) & 0xFFFFFFFF)


_SEMOPM = None


def _semopm():
    global _SEMOPM
    if _SEMOPM is None:
        vals = _sysctl_ints("sem", [32000, 1024000000, 500, 32000])
        _SEMOPM = vals[2] if len(vals) > 2 else 500
    return _SEMOPM


def _semop(k, name, semid, sops, nsops, timeout):
    semid, nsops = s32(semid), nsops & 0xFFFFFFFF
    if semid < 0 or nsops < 1:
        raise SyscallError(abi.EINVAL)
    if nsops > _semopm():
        raise SyscallError(abi.E2BIG)
    ops = _buf(k.mem.read(sops, 6 * nsops))
    if name == "semop":
        return _blocking(k, "semop", (semid, ops, nsops), abi.EINTR)
    if not timeout:
        return _blocking(k, "semtimedop", (semid, ops, nsops, 0), abi.EINTR)
    ts = abi.Timespec.from_buffer_copy(k.mem.read(timeout, 16))
    if ts.tv_sec < 0 or not 0 <= ts.tv_nsec < 1_000_000_000:
        raise SyscallError(abi.EINVAL)
    deadline = _time.monotonic() + ts.tv_sec + ts.tv_nsec / 1e9
    return _blocking(k, "semtimedop", (semid, ops, nsops, _buf(bytes(ts))), abi.EINTR,
                     (3, deadline))


def sys_semop(k, semid, sops, nsops):
    return _semop(k, "semop", semid, sops, nsops, 0)


def sys_semtimedop(k, semid, sops, nsops, timeout):
    return _semop(k, "semtimedop", semid, sops, nsops, timeout)


def _sem_to_host(data):
    g = abi.SemidDs.from_buffer_copy(data)
    h = abi.HostSemidDs()
    ctypes.memmove(ctypes.addressof(h), data, abi.IPC_PERM_SIZE)
    h.sem_otime, h.sem_ctime, h.sem_nsems = g.sem_otime, g.sem_ctime, g.sem_nsems
    return bytes(h)


def _sem_from_host(raw):
    h = abi.HostSemidDs.from_buffer_copy(raw[:ctypes.sizeof(abi.HostSemidDs)])
    g = abi.SemidDs()
    ctypes.memmove(ctypes.addressof(g), raw, abi.IPC_PERM_SIZE)
    g.sem_otime, g.sem_ctime, g.sem_nsems = h.sem_otime, h.sem_ctime, h.sem_nsems
    return bytes(g)


_SEM_SIZES = {IPC_RMID: (0, 0), IPC_SET: (abi.SEMID_DS_SIZE, 0),
              IPC_STAT: (0, abi.SEMID_DS_SIZE), SEM_STAT: (0, abi.SEMID_DS_SIZE),
              SEM_STAT_ANY: (0, abi.SEMID_DS_SIZE), IPC_INFO: (0, 40), SEM_INFO: (0, 40)}


def sys_semctl(k, semid, semnum, cmd, arg):
    semid, semnum, cmd = s32(semid), s32(semnum), s32(cmd)
    if semid < 0:
        raise SyscallError(abi.EINVAL)
    if cmd in (GETALL, SETALL):
        st = _buf(ctypes.sizeof(abi.HostSemidDs))
        _host("semctl", semid, 0, IPC_STAT, st)
        n = abi.HostSemidDs.from_buffer_copy(st.raw[:ctypes.sizeof(abi.HostSemidDs)]).sem_nsems
        if cmd == GETALL:
            out = _buf(2 * n)
            r = _host("semctl", semid, 0, GETALL, out)
            k.mem.write(arg, out.raw[:2 * n])
            return r
        return _host("semctl", semid, 0, SETALL, _buf(k.mem.read(arg, 2 * n)))
    if cmd in _SEM_SIZES:
        return _ctl(k, "semctl", semid, cmd, arg, _SEM_SIZES, _sem_to_host, _sem_from_host,
                    extra=(semnum,))
    return _host("semctl", semid, semnum, cmd, arg)     # GETVAL, SETVAL, GETPID, IPC_RMID...


# -- message queues -----------------------------------------------------------------------
def sys_msgget(k, key, msgflg):
    return _host("msgget", s32(key), s32(msgflg) & 0xFFFFFFFF)


_MSGMAX = None


def _msgmax():
    global _MSGMAX
    if _MSGMAX is None:
        _MSGMAX = _sysctl_ints("msgmax", [8192])[0]
    return _MSGMAX


def sys_msgsnd(k, msqid, msgp, msgsz, msgflg):
    msqid, msgsz = s32(msqid), s64(msgsz)
    if msqid < 0 or msgsz < 0 or msgsz > _msgmax():
        raise SyscallError(abi.EINVAL)
    mtype = s64(k.mem.read_u64(msgp))
    if mtype < 1:
        raise SyscallError(abi.EINVAL)
    data = _buf(k.mem.read(msgp, 8 + msgsz))
    return _blocking(k, "msgsnd", (msqid, data, msgsz, s32(msgflg) & 0xFFFFFFFF),
                     abi.ERESTARTNOHAND)


def sys_msgrcv(k, msqid, msgp, msgsz, msgtyp, msgflg):
    msqid, msgsz = s32(msqid), s64(msgsz)
    if msqid < 0 or msgsz < 0:
        raise SyscallError(abi.EINVAL)
    n = min(msgsz, max(_msgmax(), 1 << 16), 1 << 26)
    k.mem.check(msgp, 8, write=True)
    out = _buf(8 + n)
    r = _blocking(k, "msgrcv", (msqid, out, n, msgtyp, s32(msgflg) & 0xFFFFFFFF),
                  abi.ERESTARTNOHAND)
    if r >= 0:
        k.mem.write(msgp, out.raw[:8 + r])
    return r


_MSG_SIZES = {IPC_RMID: (0, 0), IPC_SET: (abi.MSQID_DS_SIZE, 0),
              IPC_STAT: (0, abi.MSQID_DS_SIZE), MSG_STAT: (0, abi.MSQID_DS_SIZE),
              MSG_STAT_ANY: (0, abi.MSQID_DS_SIZE), IPC_INFO: (0, 32), MSG_INFO: (0, 32)}


def sys_msgctl(k, msqid, cmd, buf):
    return _ctl(k, "msgctl", s32(msqid), s32(cmd), buf, _MSG_SIZES)


# -- POSIX message queues -----------------------------------------------------------------
_HOST_O_CLOEXEC = 0o2000000


def sys_mq_open(k, name, oflag, mode, attr):
    raw = read_path(k.mem, name, 256)
    oflag = s32(oflag)
    hattr = _buf(k.mem.read(attr, abi.MQ_ATTR_SIZE)) if attr and oflag & abi.O_CREAT else None
    h = _host("mq_open", _buf(raw + b"\0"), abi.open_flags_to_host(oflag) | _HOST_O_CLOEXEC,
              mode & 0xFFFFFFFF, hattr)
    return k.fds.install(h, bool(oflag & abi.O_CLOEXEC), b"/" + raw)


def sys_mq_unlink(k, name):
    return _host("mq_unlink", _buf(read_path(k.mem, name, 256) + b"\0"))


def _abs_timeout(k, addr):
    return _buf(k.mem.read(addr, 16)) if addr else None


def sys_mq_timedsend(k, mqdes, msg_ptr, msg_len, msg_prio, abs_timeout):
    h = k.fds.host(mqdes)
    if msg_len > 1 << 26:
        raise SyscallError(abi.EMSGSIZE)
    data = _buf(k.mem.read(msg_ptr, msg_len))
    return _blocking(k, "mq_timedsend", (h, data, msg_len, msg_prio & 0xFFFFFFFF,
                                         _abs_timeout(k, abs_timeout)), abi.ERESTARTSYS)


def sys_mq_timedreceive(k, mqdes, msg_ptr, msg_len, msg_prio, abs_timeout):
    h = k.fds.host(mqdes)
    attr = _buf(abi.MQ_ATTR_SIZE)
    _host("mq_getsetattr", h, None, attr)
    msgsize = abi.MqAttr.from_buffer_copy(attr.raw[:abi.MQ_ATTR_SIZE]).mq_msgsize
    n = min(msg_len, max(msgsize, 0))
    out = _buf(n)
    prio = ctypes.c_uint(0)
    r = _blocking(k, "mq_timedreceive", (h, out, n, prio, _abs_timeout(k, abs_timeout)),
                  abi.ERESTARTSYS)
    if r >= 0:
        k.mem.write(msg_ptr, out.raw[:r])
        if msg_prio:
            k.mem.write_u32(msg_prio, prio.value)
    return r


def sys_mq_getsetattr(k, mqdes, newattr, oldattr):
    h = k.fds.host(mqdes)
    new = _buf(k.mem.read(newattr, abi.MQ_ATTR_SIZE)) if newattr else None
    old = _buf(abi.MQ_ATTR_SIZE) if oldattr else None
    if oldattr:
        k.mem.check(oldattr, abi.MQ_ATTR_SIZE, write=True)
    _host("mq_getsetattr", h, new, old)
    if oldattr:
        k.mem.write(oldattr, old.raw[:abi.MQ_ATTR_SIZE])
    return 0


SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD = 0, 1, 2
_NOTIFY_COOKIE_LEN = 32
_AF_NETLINK, _SOCK_RAW, _SOCK_CLOEXEC = 16, 3, 0o2000000


class _Notifier:
    """SIGEV_SIGNAL for a queue: the host notifies a netlink socket of emu's own
    (SIGEV_THREAD's mechanism), and a thread posts the guest signal: no host signal the
    guest asked for ever reaches emu's host process."""

    def __init__(self, k):
        import socket
        self.k = k
        self.pid = os.getpid()
        self.sock = socket.socket(_AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        self.waiting = {}           # cookie id -> (sig, sigval)
        self.next = 1
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True, name="emu-mq-notify").start()

    def register(self, sig, value):
        with self.lock:
            n, self.next = self.next, self.next + 1
            self.waiting[n] = (sig, value)
        cookie = _buf(n.to_bytes(8, "little") + bytes(_NOTIFY_COOKIE_LEN - 8))
        return cookie, n

    def _run(self):
        while True:
            try:
                data = self.sock.recv(_NOTIFY_COOKIE_LEN)
            except InterruptedError:
                continue
            except OSError:
                return
            if len(data) < _NOTIFY_COOKIE_LEN:
                continue
            n = int.from_bytes(data[:8], "little")
            with self.lock:
                got = self.waiting.pop(n, None)
            if got is None or data[-1] != 1:          # NOTIFY_WOKENUP; NOTIFY_REMOVED: none
                continue
            sig, value = got
            self.k.signals.post(sig, sigframe.siginfo_queue(sig, 0, os.getuid(), value,
                                                            sigframe.SI_MESGQ))


_notifier_lock = threading.Lock()


def _notifier(k):
    with _notifier_lock:
        n = getattr(k, "mq_notifier", None)
        if n is None or n.k is not k or n.pid != os.getpid():      # a fork child: no thread
            n = k.mq_notifier = _Notifier(k)
        return n


@partial("SIGEV_SIGNAL notifications carry si_pid 0 (the sender is not known to emu)")
def sys_mq_notify(k, mqdes, notification):
    h = k.fds.host(mqdes)
    if not notification:
        return _host("mq_notify", h, None)
    ev = bytearray(k.mem.read(notification, 64))
    value = int.from_bytes(ev[0:8], "little")
    signo = int.from_bytes(ev[8:12], "little", signed=True)
    notify = int.from_bytes(ev[12:16], "little", signed=True)
    if notify == SIGEV_THREAD:
        # glibc's: sigev_signo is a netlink socket, sigev_value points at the cookie.
        cookie = _buf(k.mem.read(value, _NOTIFY_COOKIE_LEN))
        ev[8:12] = k.fds.host(signo).to_bytes(4, "little")
        ev[0:8] = ctypes.addressof(cookie).to_bytes(8, "little")
        return _host("mq_notify", h, _buf(bytes(ev)))
    if notify == SIGEV_SIGNAL:
        if not 1 <= signo <= abi.NSIG:
            raise SyscallError(abi.EINVAL)
        nt = _notifier(k)
        cookie, n = nt.register(signo, value)
        hev = bytearray(64)
        hev[0:8] = ctypes.addressof(cookie).to_bytes(8, "little")
        hev[8:12] = nt.sock.fileno().to_bytes(4, "little")
        hev[12:16] = SIGEV_THREAD.to_bytes(4, "little")
        try:
            return _host("mq_notify", h, _buf(bytes(hev)))
        except SyscallError:
            with nt.lock:
                nt.waiting.pop(n, None)
            raise
    return _host("mq_notify", h, _buf(bytes(ev)))
