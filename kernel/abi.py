"""The guest's (AArch64 Linux) ABI as checked data.

Owns: guest structure layouts as ctypes (each with the kernel's C struct
quoted above it and size/offset asserts), guest constants (errno, open
flags, mmap/at/ioctl/signal numbers) and the conversions between guest and
host open flags.  Guest constants carry no suffix; host values always come
from the host `os`/`errno` modules, never from this file.
Does not own: the code that fills these structures (family modules).
"""
import ctypes
import errno as _host_errno
import os

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
i32, i64 = ctypes.c_int32, ctypes.c_int64


def _check(struct, size, **offsets):
    assert ctypes.sizeof(struct) == size, (struct.__name__, ctypes.sizeof(struct))
    for field, off in offsets.items():
        assert getattr(struct, field).offset == off, (struct.__name__, field)


# ---------------------------------------------------------------------------
# errno: asm-generic/errno-base.h + errno.h.  AArch64 and x86-64 Linux share
# these numbers; the asserts catch a host where that is not true.
EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD = range(1, 11)
EAGAIN, ENOMEM, EACCES, EFAULT = 11, 12, 13, 14
EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY = range(16, 26)
EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE = range(27, 35)
ENAMETOOLONG, ENOSYS, ENOTEMPTY, ELOOP = 36, 38, 39, 40
ENODATA, EOVERFLOW, EOPNOTSUPP, ETIMEDOUT = 61, 75, 95, 110
for _name, _val in list(globals().items()):
    if _name.startswith("E") and _name.isupper() and isinstance(_val, int):
        assert getattr(_host_errno, _name) == _val, _name

# ---------------------------------------------------------------------------
# open flags: asm-generic/fcntl.h with arch/arm64/include/uapi/asm/fcntl.h.
O_ACCMODE = 0o3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_ASYNC = 0o20000            # FASYNC
O_DIRECTORY = 0o40000        # arm64 (x86-64: 0o200000)
O_NOFOLLOW = 0o100000        # arm64 (x86-64: 0o400000)
O_DIRECT = 0o200000          # arm64 (x86-64: 0o40000)
O_LARGEFILE = 0o400000       # arm64 (x86-64: 0o100000)
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O__SYNC = 0o4000000          # __O_SYNC; O_SYNC = __O_SYNC | O_DSYNC
O_PATH = 0o10000000
O__TMPFILE = 0o20000000      # __O_TMPFILE; O_TMPFILE = __O_TMPFILE | O_DIRECTORY

# every bit openat2 accepts (openat ignores unknown bits, openat2 rejects them)
O_VALID = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK
           | O_DSYNC | O_ASYNC | O_DIRECTORY | O_NOFOLLOW | O_DIRECT | O_LARGEFILE
           | O_NOATIME | O_CLOEXEC | O__SYNC | O_PATH | O__TMPFILE)

_HOST_O_LARGEFILE = 0o100000  # x86-64; Python's os module does not export it
# (guest bit, host bit) for every flag bit the guest may pass.
_O_PAIRS = [
    (O_WRONLY, os.O_WRONLY), (O_RDWR, os.O_RDWR),
    (O_CREAT, os.O_CREAT), (O_EXCL, os.O_EXCL), (O_NOCTTY, os.O_NOCTTY),
    (O_TRUNC, os.O_TRUNC), (O_APPEND, os.O_APPEND), (O_NONBLOCK, os.O_NONBLOCK),
    (O_DSYNC, os.O_DSYNC), (O_ASYNC, getattr(os, "O_ASYNC", 0o20000)),
    (O_DIRECTORY, os.O_DIRECTORY), (O_NOFOLLOW, os.O_NOFOLLOW),
    (O_DIRECT, os.O_DIRECT), (O_LARGEFILE, _HOST_O_LARGEFILE),
    (O_NOATIME, os.O_NOATIME), (O_CLOEXEC, os.O_CLOEXEC),
    (O__SYNC, os.O_SYNC & ~os.O_DSYNC), (O_PATH, os.O_PATH),
    (O__TMPFILE, os.O_TMPFILE & ~os.O_DIRECTORY),
]


def open_flags_to_host(flags):
    """Guest (AArch64) open/fcntl flags -> host flags; unknown bits dropped."""
    out = 0
    for g, h in _O_PAIRS:
        if flags & g:
            out |= h
    return out


def open_flags_from_host(flags):
    """Host open flags (e.g. from F_GETFL) -> guest (AArch64) flags."""
    out = 0
    for g, h in _O_PAIRS:
        if flags & h:
            out |= g
    return out


# ---------------------------------------------------------------------------
# *at() and fcntl
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EACCESS = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4

# fcntl commands (asm-generic/fcntl.h + linux/fcntl.h; x86-64 has the same numbers)
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW = range(8)
F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG = 8, 9, 10, 11
F_SETOWN_EX, F_GETOWN_EX, F_GETOWNER_UIDS = 15, 16, 17
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY, F_CANCELLK = 1024, 1025, 1026, 1029
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS = 1031, 1032, 1033, 1034
F_GET_RW_HINT, F_SET_RW_HINT, F_GET_FILE_RW_HINT, F_SET_FILE_RW_HINT = 1035, 1036, 1037, 1038
FD_CLOEXEC = 1
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8
CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 2, 4
MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 1, 2, 4, 8, 0x10
RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND = 1, 2, 4, 8, 16
SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT = 1, 2, 4, 8
MAX_RW_COUNT = 0x7FFFF000           # INT_MAX & PAGE_MASK: the most one read/write moves

# poll (asm-generic/poll.h; same on x86-64)
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200

# ---------------------------------------------------------------------------
# mmap (asm-generic/mman-common.h; x86-64 has the same values)
PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x100
MAP_DENYWRITE = 0x800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = range(5)
MADV_FREE, MADV_REMOVE = 8, 9
MADV_DONTNEED_LOCKED = 24
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4

# ---------------------------------------------------------------------------
# signals (asm-generic/signal.h; 1..31 match x86-64)
NSIG = 64
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = range(10, 17)
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG = range(17, 24)
SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = range(24, 32)
SIGRTMIN = 32               # the kernel's; glibc keeps 32 and 33 for itself, Go uses them
SIG_DFL, SIG_IGN = 0, 1
# Internal results of an interrupted syscall (include/linux/errno.h), never seen by the guest:
# signal delivery turns them into a restart of the call or into -EINTR.
ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SS_ONSTACK, SS_DISABLE = 1, 2
SS_AUTODISARM = 1 << 31
MINSIGSTKSZ = 5120           # arm64 uapi signal.h; also reported as AT_MINSIGSTKSZ
SIGSET_SIZE = 8
# Default action "ignore"; every other default (except stops) terminates.
SIG_DEFAULT_IGNORE = frozenset({SIGCHLD, SIGCONT, SIGURG, SIGWINCH})
SIG_DEFAULT_STOP = frozenset({SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})

# ---------------------------------------------------------------------------
# ioctl (asm-generic/ioctls.h; same numbers on x86-64)
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCSTI = 0x540F, 0x5410, 0x5411, 0x5412
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
TIOCMGET, TIOCMBIS, TIOCMBIC, TIOCMSET = 0x5415, 0x5416, 0x5417, 0x5418
FIONREAD = 0x541B
TIOCLINUX, TIOCCONS, TIOCPKT = 0x541C, 0x541D, 0x5420
FIONBIO, TIOCNOTTY, TIOCSETD, TIOCGETD = 0x5421, 0x5422, 0x5423, 0x5424
TCSBRKP, TIOCSBRK, TIOCCBRK, TIOCGSID = 0x5425, 0x5427, 0x5428, 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCGPTN, TIOCSPTLCK = 0x80045430, 0x40045431
TIOCGPTLCK, TIOCGPKT, TIOCVHANGUP = 0x80045439, 0x80045438, 0x5437
FIONCLEX, FIOCLEX, FIOASYNC = 0x5450, 0x5451, 0x5452
TIOCGLCKTRMIOS, TIOCSLCKTRMIOS = 0x5456, 0x5457
FIOQSIZE = 0x5460
FICLONE, FICLONERANGE = 0x40049409, 0x4020940D

# ---------------------------------------------------------------------------
# clocks, misc
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
TIMER_ABSTIME = 1
RLIM_INFINITY = (1 << 64) - 1
RLIMIT_STACK, RLIMIT_NOFILE, RLIMIT_AS = 3, 7, 9
RLIM_NLIMITS = 16
GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12
ROBUST_LIST_HEAD_SIZE = 24


# ---------------------------------------------------------------------------
# struct stat (asm-generic/stat.h, used by arm64 fstat/newfstatat):
#   unsigned long st_dev; unsigned long st_ino; unsigned int st_mode;
#   unsigned int st_nlink; unsigned int st_uid; unsigned int st_gid;
#   unsigned long st_rdev; unsigned long __pad1; long st_size;
#   int st_blksize; int __pad2; long st_blocks;
#   long st_atime; unsigned long st_atime_nsec; (mtime, ctime likewise)
#   unsigned int __unused4; unsigned int __unused5;
class Stat(ctypes.Structure):
    _fields_ = [
        ("st_dev", u64), ("st_ino", u64), ("st_mode", u32), ("st_nlink", u32),
        ("st_uid", u32), ("st_gid", u32), ("st_rdev", u64), ("_pad1", u64),
        ("st_size", i64), ("st_blksize", i32), ("_pad2", i32), ("st_blocks", i64),
        ("st_atime", i64), ("st_atime_nsec", u64), ("st_mtime", i64),
        ("st_mtime_nsec", u64), ("st_ctime", i64), ("st_ctime_nsec", u64),
        ("_unused4", u32), ("_unused5", u32),
    ]


_check(Stat, 128, st_dev=0, st_ino=8, st_mode=16, st_nlink=20, st_uid=24,
       st_gid=28, st_rdev=32, st_size=48, st_blksize=56, st_blocks=64,
       st_atime=72, st_atime_nsec=80, st_mtime=88, st_mtime_nsec=96,
       st_ctime=104, st_ctime_nsec=112)


def stat_from_host(st):
    """An os.stat_result -> guest struct stat."""
    s = Stat()
    s.st_dev, s.st_ino, s.st_mode = st.st_dev, st.st_ino, st.st_mode
    s.st_nlink, s.st_uid, s.st_gid = st.st_nlink, st.st_uid, st.st_gid
    s.st_rdev, s.st_size = st.st_rdev, st.st_size
    s.st_blksize, s.st_blocks = st.st_blksize, st.st_blocks
    for name in ("atime", "mtime", "ctime"):
        ns = getattr(st, f"st_{name}_ns")
        setattr(s, f"st_{name}", ns // 1_000_000_000)
        setattr(s, f"st_{name}_nsec", ns % 1_000_000_000)
    return s


# struct statx (include/uapi/linux/stat.h) is the same on every arch: 256 bytes.
#   __u32 stx_mask; __u32 stx_blksize; __u64 stx_attributes; __u32 stx_nlink;
#   __u32 stx_uid; __u32 stx_gid; __u16 stx_mode; __u16 __spare0[1];
#   __u64 stx_ino; __u64 stx_size; __u64 stx_blocks; __u64 stx_attributes_mask;
#   struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;  /* 16 each */
#   __u32 stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
#   __u64 stx_mnt_id; __u32 stx_dio_mem_align, stx_dio_offset_align; __u64 __spare3[12];
STATX_SIZE = 256


class StatxTimestamp(ctypes.Structure):
    _fields_ = [("tv_sec", i64), ("tv_nsec", u32), ("_reserved", i32)]


class Statx(ctypes.Structure):
    _fields_ = [
        ("stx_mask", u32), ("stx_blksize", u32), ("stx_attributes", u64),
        ("stx_nlink", u32), ("stx_uid", u32), ("stx_gid", u32), ("stx_mode", u16),
        ("_spare0", u16), ("stx_ino", u64), ("stx_size", u64), ("stx_blocks", u64),
        ("stx_attributes_mask", u64), ("stx_atime", StatxTimestamp),
        ("stx_btime", StatxTimestamp), ("stx_ctime", StatxTimestamp),
        ("stx_mtime", StatxTimestamp), ("stx_rdev_major", u32), ("stx_rdev_minor", u32),
        ("stx_dev_major", u32), ("stx_dev_minor", u32), ("stx_mnt_id", u64),
        ("stx_dio_mem_align", u32), ("stx_dio_offset_align", u32), ("_spare3", u64 * 12),
    ]


_check(Statx, STATX_SIZE, stx_blksize=4, stx_attributes=8, stx_nlink=16, stx_mode=28,
       stx_ino=32, stx_size=40, stx_blocks=48, stx_atime=64, stx_btime=80, stx_ctime=96,
       stx_mtime=112, stx_rdev_major=128, stx_dev_major=136, stx_mnt_id=144)


# struct statfs (asm-generic/statfs.h, __statfs_word = long on arm64; the
# x86-64 layout is the same):
#   long f_type, f_bsize; u64 f_blocks, f_bfree, f_bavail, f_files, f_ffree;
#   __kernel_fsid_t f_fsid; long f_namelen, f_frsize, f_flags, f_spare[4];
class Statfs(ctypes.Structure):
    _fields_ = [
        ("f_type", i64), ("f_bsize", i64), ("f_blocks", u64), ("f_bfree", u64),
        ("f_bavail", u64), ("f_files", u64), ("f_ffree", u64), ("f_fsid", i32 * 2),
        ("f_namelen", i64), ("f_frsize", i64), ("f_flags", i64), ("f_spare", i64 * 4),
    ]


_check(Statfs, 120, f_bsize=8, f_blocks=16, f_ffree=48, f_fsid=56, f_namelen=64,
       f_frsize=72, f_flags=80, f_spare=88)


# struct flock { short l_type; short l_whence; __kernel_off_t l_start;
#                __kernel_off_t l_len; __kernel_pid_t l_pid; };  (same on x86-64)
class Flock(ctypes.Structure):
    _fields_ = [("l_type", ctypes.c_int16), ("l_whence", ctypes.c_int16), ("l_start", i64),
                ("l_len", i64), ("l_pid", i32)]


_check(Flock, 32, l_whence=2, l_start=8, l_len=16, l_pid=24)


# struct pollfd { int fd; short events; short revents; };
class Pollfd(ctypes.Structure):
    _fields_ = [("fd", i32), ("events", ctypes.c_int16), ("revents", ctypes.c_int16)]


_check(Pollfd, 8, events=4, revents=6)


# struct open_how { __u64 flags; __u64 mode; __u64 resolve; };
class OpenHow(ctypes.Structure):
    _fields_ = [("flags", u64), ("mode", u64), ("resolve", u64)]


_check(OpenHow, 24, mode=8, resolve=16)


# struct linux_dirent64 { u64 d_ino; s64 d_off; unsigned short d_reclen;
#                         unsigned char d_type; char d_name[]; };
class Dirent64(ctypes.Structure):
    _fields_ = [("d_ino", u64), ("d_off", i64), ("d_reclen", u16), ("d_type", u8)]


assert Dirent64.d_type.offset == 18


# struct timespec { long tv_sec; long tv_nsec; };
class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", i64), ("tv_nsec", i64)]


_check(Timespec, 16, tv_sec=0, tv_nsec=8)


# struct timeval { long tv_sec; long tv_usec; };
class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", i64), ("tv_usec", i64)]


_check(Timeval, 16, tv_sec=0, tv_usec=8)


# struct timezone { int tz_minuteswest; int tz_dsttime; };
class Timezone(ctypes.Structure):
    _fields_ = [("tz_minuteswest", i32), ("tz_dsttime", i32)]


_check(Timezone, 8)


# struct new_utsname { char sysname[65]; nodename[65]; release[65];
#                      version[65]; machine[65]; domainname[65]; };
class Utsname(ctypes.Structure):
    _fields_ = [(n, ctypes.c_char * 65) for n in
                ("sysname", "nodename", "release", "version", "machine", "domainname")]


_check(Utsname, 390, nodename=65, machine=260, domainname=325)


# struct sysinfo { long uptime; unsigned long loads[3]; unsigned long totalram,
#   freeram, sharedram, bufferram, totalswap, freeswap; __u16 procs; __u16 pad;
#   unsigned long totalhigh, freehigh; __u32 mem_unit; char _f[0]; };
class Sysinfo(ctypes.Structure):
    _fields_ = [
        ("uptime", i64), ("loads", u64 * 3), ("totalram", u64), ("freeram", u64),
        ("sharedram", u64), ("bufferram", u64), ("totalswap", u64), ("freeswap", u64),
        ("procs", u16), ("pad", u16), ("totalhigh", u64), ("freehigh", u64),
        ("mem_unit", u32),
    ]


_check(Sysinfo, 112, loads=8, totalram=32, procs=80, totalhigh=88, mem_unit=104)


# struct rlimit64 { __u64 rlim_cur; __u64 rlim_max; };
class Rlimit(ctypes.Structure):
    _fields_ = [("rlim_cur", u64), ("rlim_max", u64)]


_check(Rlimit, 16, rlim_max=8)


# struct iovec { void *iov_base; size_t iov_len; };
class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", u64), ("iov_len", u64)]


_check(Iovec, 16, iov_len=8)
IOV_MAX = 1024


# struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; };
class Winsize(ctypes.Structure):
    _fields_ = [("ws_row", u16), ("ws_col", u16), ("ws_xpixel", u16), ("ws_ypixel", u16)]


_check(Winsize, 8)


# struct termios (asm-generic/termbits.h; x86-64 uses the same):
#   tcflag_t c_iflag, c_oflag, c_cflag, c_lflag; cc_t c_line; cc_t c_cc[19];
class Termios(ctypes.Structure):
    _fields_ = [("c_iflag", u32), ("c_oflag", u32), ("c_cflag", u32), ("c_lflag", u32),
                ("c_line", u8), ("c_cc", u8 * 19)]


_check(Termios, 36, c_line=16, c_cc=17)


# struct sigaction (arm64 kernel view, SA_RESTORER defined):
#   __sighandler_t sa_handler; unsigned long sa_flags;
#   __sigrestore_t sa_restorer; sigset_t sa_mask;  /* 8 bytes */
class KSigaction(ctypes.Structure):
    _fields_ = [("sa_handler", u64), ("sa_flags", u64), ("sa_restorer", u64),
                ("sa_mask", u64)]


_check(KSigaction, 32, sa_flags=8, sa_restorer=16, sa_mask=24)


# typedef struct sigaltstack { void *ss_sp; int ss_flags; size_t ss_size; } stack_t;
class StackT(ctypes.Structure):
    _fields_ = [("ss_sp", u64), ("ss_flags", i32), ("ss_size", u64)]


_check(StackT, 24, ss_flags=8, ss_size=16)


# struct tms { clock_t tms_utime, tms_stime, tms_cutime, tms_cstime; };
class Tms(ctypes.Structure):
    _fields_ = [("tms_utime", i64), ("tms_stime", i64), ("tms_cutime", i64),
                ("tms_cstime", i64)]


_check(Tms, 32)


# struct rusage { struct timeval ru_utime, ru_stime; long ru_maxrss, ru_ixrss,
#   ru_idrss, ru_isrss, ru_minflt, ru_majflt, ru_nswap, ru_inblock, ru_oublock,
#   ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw; };
RUSAGE_LONGS = ("ru_maxrss", "ru_ixrss", "ru_idrss", "ru_isrss", "ru_minflt",
                "ru_majflt", "ru_nswap", "ru_inblock", "ru_oublock", "ru_msgsnd",
                "ru_msgrcv", "ru_nsignals", "ru_nvcsw", "ru_nivcsw")


class Rusage(ctypes.Structure):
    _fields_ = [("ru_utime", Timeval), ("ru_stime", Timeval)] + [(n, i64) for n in RUSAGE_LONGS]


_check(Rusage, 144, ru_stime=16, ru_maxrss=32, ru_nivcsw=136)


# struct epoll_event { __poll_t events; __u64 data; }: 16 bytes on arm64
# (natural alignment), 12 on x86-64 where the kernel declares it packed.
class EpollEvent(ctypes.Structure):
    _fields_ = [("events", u32), ("data", u64)]


_check(EpollEvent, 16, data=8)


# struct itimerspec { struct timespec it_interval; struct timespec it_value; };
class Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]


_check(Itimerspec, 32, it_value=16)


# struct linux_dirent64 { u64 d_ino; s64 d_off; unsigned short d_reclen;
#                         unsigned char d_type; char d_name[]; };
DIRENT64_HEADER = 19          # offset of d_name; records are 8-byte aligned


# ---------------------------------------------------------------------------
# System V IPC, POSIX message queues, signalfd (kernel/ipc.py, kernel/signalfd.py).
EMSGSIZE = 90
assert _host_errno.EMSGSIZE == EMSGSIZE


# struct ipc64_perm (asm-generic/ipcbuf.h; x86-64 uses the same): key, uid, gid, cuid,
# cgid, mode (unsigned int), seq (unsigned short), 2 pad, 2 unsigned long unused.
class IpcPerm(ctypes.Structure):
    _fields_ = [("key", i32), ("uid", u32), ("gid", u32), ("cuid", u32), ("cgid", u32),
                ("mode", u32), ("seq", u16), ("_pad2", u16), ("_unused1", u64),
                ("_unused2", u64)]


_check(IpcPerm, 48, mode=20, seq=24, _unused1=32)
IPC_PERM_SIZE = 48


# struct shmid64_ds (asm-generic/shmbuf.h, 64-bit; x86-64 includes the same header).
class ShmidDs(ctypes.Structure):
    _fields_ = [("shm_perm", IpcPerm), ("shm_segsz", u64), ("shm_atime", i64),
                ("shm_dtime", i64), ("shm_ctime", i64), ("shm_cpid", i32), ("shm_lpid", i32),
                ("shm_nattch", u64), ("_unused4", u64), ("_unused5", u64)]


_check(ShmidDs, 112, shm_segsz=48, shm_cpid=80, shm_nattch=88)
SHMID_DS_SIZE = 112


# struct semid64_ds: asm-generic/sembuf.h on arm64 (88 bytes) ...
class SemidDs(ctypes.Structure):
    _fields_ = [("sem_perm", IpcPerm), ("sem_otime", i64), ("sem_ctime", i64),
                ("sem_nsems", u64), ("_unused3", u64), ("_unused4", u64)]


_check(SemidDs, 88, sem_otime=48, sem_ctime=56, sem_nsems=64)
SEMID_DS_SIZE = 88


# ... and arch/x86/include/uapi/asm/sembuf.h on the x86-64 host (104: a word after each time).
class HostSemidDs(ctypes.Structure):
    _fields_ = [("sem_perm", IpcPerm), ("sem_otime", i64), ("_unused1", u64),
                ("sem_ctime", i64), ("_unused2", u64), ("sem_nsems", u64), ("_unused3", u64),
                ("_unused4", u64)]


_check(HostSemidDs, 104, sem_otime=48, sem_ctime=64, sem_nsems=80)


# struct msqid64_ds (asm-generic/msgbuf.h, 64-bit; the same on x86-64).
class MsqidDs(ctypes.Structure):
    _fields_ = [("msg_perm", IpcPerm), ("msg_stime", i64), ("msg_rtime", i64),
                ("msg_ctime", i64), ("msg_cbytes", u64), ("msg_qnum", u64),
                ("msg_qbytes", u64), ("msg_lspid", i32), ("msg_lrpid", i32),
                ("_unused4", u64), ("_unused5", u64)]


_check(MsqidDs, 120, msg_stime=48, msg_cbytes=72, msg_qnum=80, msg_lspid=96)
MSQID_DS_SIZE = 120


# struct mq_attr { long mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, __reserved[4]; }
class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", i64), ("mq_maxmsg", i64), ("mq_msgsize", i64),
                ("mq_curmsgs", i64), ("_reserved", i64 * 4)]


_check(MqAttr, 64, mq_msgsize=16)
MQ_ATTR_SIZE = 64


# struct signalfd_siginfo (linux/signalfd.h): 128 bytes on every architecture.
class SignalfdSiginfo(ctypes.Structure):
    _fields_ = [("ssi_signo", u32), ("ssi_errno", i32), ("ssi_code", i32), ("ssi_pid", u32),
                ("ssi_uid", u32), ("ssi_fd", i32), ("ssi_tid", u32), ("ssi_band", u32),
                ("ssi_overrun", u32), ("ssi_trapno", u32), ("ssi_status", i32),
                ("ssi_int", i32), ("ssi_ptr", u64), ("ssi_utime", u64), ("ssi_stime", u64),
                ("ssi_addr", u64), ("ssi_addr_lsb", u16), ("_pad2", u16),
                ("ssi_syscall", i32), ("ssi_call_addr", u64), ("ssi_arch", u32),
                ("_pad", u8 * 28)]


_check(SignalfdSiginfo, 128, ssi_int=44, ssi_ptr=48, ssi_addr=72, ssi_addr_lsb=80,
       ssi_syscall=84, ssi_call_addr=88, ssi_arch=96)
