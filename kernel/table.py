"""The AArch64 (asm-generic) syscall table: one line per syscall number.

Owns: number -> (name, handler, strace format).  The format's letters give
the arity and how --strace shows each argument (see strace.py); handlers
live in the family modules and are called as handler(kernel, *args).
Numbers without a handler stay here as comments so the gaps are visible;
calling one returns -ENOSYS and is counted in Kernel.unknown_syscalls.
(403-423 are the *_time64 calls of 32-bit ABIs, absent on arm64.)
Does not own: dispatch (core.py).
"""
from collections import namedtuple

from kernel import fd, fs, futex, info, mm, process, signal, time

Syscall = namedtuple("Syscall", "nr name handler fmt")
S = Syscall

TABLE = [
    # nr    name                    handler                        strace
    #   0  io_setup
    #   1  io_destroy
    #   2  io_submit
    #   3  io_cancel
    #   4  io_getevents
    #   5  setxattr
    #   6  lsetxattr
    #   7  fsetxattr
    #   8  getxattr
    #   9  lgetxattr
    #  10  fgetxattr
    #  11  listxattr
    #  12  llistxattr
    #  13  flistxattr
    #  14  removexattr
    #  15  lremovexattr
    #  16  fremovexattr
    S( 17, "getcwd",                fs.sys_getcwd,                 "pu"),
    #  18  lookup_dcookie
    #  19  eventfd2
    #  20  epoll_create1
    #  21  epoll_ctl
    #  22  epoll_pwait
    S( 23, "dup",                   fd.sys_dup,                    "d"),
    S( 24, "dup3",                  fd.sys_dup3,                   "ddx"),
    S( 25, "fcntl",                 fd.sys_fcntl,                  "ddx"),
    #  26  inotify_init1
    #  27  inotify_add_watch
    #  28  inotify_rm_watch
    S( 29, "ioctl",                 fd.sys_ioctl,                  "dxp"),
    #  30  ioprio_set
    #  31  ioprio_get
    #  32  flock
    #  33  mknodat
    S( 34, "mkdirat",               fs.sys_mkdirat,                "fso"),
    S( 35, "unlinkat",              fs.sys_unlinkat,               "fsx"),
    S( 36, "symlinkat",             fs.sys_symlinkat,              "sfs"),
    S( 37, "linkat",                fs.sys_linkat,                 "fsfsx"),
    S( 38, "renameat",              fs.sys_renameat,               "fsfs"),
    #  39  umount2
    #  40  mount
    #  41  pivot_root
    #  42  nfsservctl
    S( 43, "statfs",                fs.sys_statfs,                 "sp"),
    S( 44, "fstatfs",               fs.sys_fstatfs,                "dp"),
    S( 45, "truncate",              fs.sys_truncate,               "sl"),
    S( 46, "ftruncate",             fs.sys_ftruncate,              "dl"),
    #  47  fallocate
    S( 48, "faccessat",             fs.sys_faccessat,              "fso"),
    S( 49, "chdir",                 fs.sys_chdir,                  "s"),
    S( 50, "fchdir",                fs.sys_fchdir,                 "d"),
    #  51  chroot
    S( 52, "fchmod",                fs.sys_fchmod,                 "do"),
    S( 53, "fchmodat",              fs.sys_fchmodat,               "fso"),
    #  54  fchownat
    #  55  fchown
    S( 56, "openat",                fs.sys_openat,                 "fsxo"),
    S( 57, "close",                 fd.sys_close,                  "d"),
    #  58  vhangup
    S( 59, "pipe2",                 fd.sys_pipe2,                  "px"),
    #  60  quotactl
    S( 61, "getdents64",            fs.sys_getdents64,             "dpu"),
    S( 62, "lseek",                 fd.sys_lseek,                  "dld"),
    S( 63, "read",                  fd.sys_read,                   "dBu"),
    S( 64, "write",                 fd.sys_write,                  "dbu"),
    S( 65, "readv",                 fd.sys_readv,                  "dpd"),
    S( 66, "writev",                fd.sys_writev,                 "dpd"),
    S( 67, "pread64",               fd.sys_pread64,                "dBul"),
    S( 68, "pwrite64",              fd.sys_pwrite64,               "dbul"),
    #  69  preadv
    #  70  pwritev
    #  71  sendfile
    #  72  pselect6
    #  73  ppoll
    #  74  signalfd4
    #  75  vmsplice
    #  76  splice
    #  77  tee
    S( 78, "readlinkat",            fs.sys_readlinkat,             "fsBu"),
    S( 79, "newfstatat",            fs.sys_newfstatat,             "fspx"),
    S( 80, "fstat",                 fs.sys_fstat,                  "dp"),
    #  81  sync
    S( 82, "fsync",                 fs.sys_fsync,                  "d"),
    S( 83, "fdatasync",             fs.sys_fdatasync,              "d"),
    #  84  sync_file_range
    #  85  timerfd_create
    #  86  timerfd_settime
    #  87  timerfd_gettime
    #  88  utimensat
    #  89  acct
    #  90  capget
    #  91  capset
    #  92  personality
    S( 93, "exit",                  process.sys_exit,              "d"),
    S( 94, "exit_group",            process.sys_exit_group,        "d"),
    #  95  waitid
    S( 96, "set_tid_address",       process.sys_set_tid_address,   "p"),
    #  97  unshare
    S( 98, "futex",                 futex.sys_futex,               "pxuppu"),
    S( 99, "set_robust_list",       process.sys_set_robust_list,   "pu"),
    S(100, "get_robust_list",       process.sys_get_robust_list,   "dpp"),
    S(101, "nanosleep",             time.sys_nanosleep,            "pp"),
    # 102  getitimer
    # 103  setitimer
    # 104  kexec_load
    # 105  init_module
    # 106  delete_module
    # 107  timer_create
    # 108  timer_gettime
    # 109  timer_getoverrun
    # 110  timer_settime
    # 111  timer_delete
    # 112  clock_settime
    S(113, "clock_gettime",         time.sys_clock_gettime,        "dp"),
    S(114, "clock_getres",          time.sys_clock_getres,         "dp"),
    S(115, "clock_nanosleep",       time.sys_clock_nanosleep,      "dxpp"),
    # 116  syslog
    # 117  ptrace
    # 118  sched_setparam
    # 119  sched_setscheduler
    # 120  sched_getscheduler
    # 121  sched_getparam
    # 122  sched_setaffinity
    S(123, "sched_getaffinity",     info.sys_sched_getaffinity,    "dup"),
    S(124, "sched_yield",           info.sys_sched_yield,          ""),
    # 125  sched_get_priority_max
    # 126  sched_get_priority_min
    # 127  sched_rr_get_interval
    # 128  restart_syscall
    S(129, "kill",                  signal.sys_kill,               "dd"),
    S(130, "tkill",                 signal.sys_tkill,              "dd"),
    S(131, "tgkill",                signal.sys_tgkill,             "ddd"),
    S(132, "sigaltstack",           signal.sys_sigaltstack,        "pp"),
    # 133  rt_sigsuspend
    S(134, "rt_sigaction",          signal.sys_rt_sigaction,       "dppu"),
    S(135, "rt_sigprocmask",        signal.sys_rt_sigprocmask,     "dppu"),
    S(136, "rt_sigpending",         signal.sys_rt_sigpending,      "pu"),
    # 137  rt_sigtimedwait
    # 138  rt_sigqueueinfo
    # 139  rt_sigreturn
    S(140, "setpriority",           info.sys_setpriority,          "ddd"),
    S(141, "getpriority",           info.sys_getpriority,          "dd"),
    # 142  reboot
    # 143  setregid
    # 144  setgid
    # 145  setreuid
    # 146  setuid
    # 147  setresuid
    S(148, "getresuid",             info.sys_getresuid,            "ppp"),
    # 149  setresgid
    S(150, "getresgid",             info.sys_getresgid,            "ppp"),
    # 151  setfsuid
    # 152  setfsgid
    S(153, "times",                 time.sys_times,                "p"),
    # 154  setpgid
    # 155  getpgid
    # 156  getsid
    # 157  setsid
    S(158, "getgroups",             info.sys_getgroups,            "dp"),
    # 159  setgroups
    S(160, "uname",                 info.sys_uname,                "p"),
    # 161  sethostname
    # 162  setdomainname
    S(163, "getrlimit",             info.sys_getrlimit,            "dp"),
    S(164, "setrlimit",             info.sys_setrlimit,            "dp"),
    S(165, "getrusage",             time.sys_getrusage,            "dp"),
    S(166, "umask",                 fs.sys_umask,                  "o"),
    S(167, "prctl",                 process.sys_prctl,             "dxxxx"),
    S(168, "getcpu",                info.sys_getcpu,               "ppp"),
    S(169, "gettimeofday",          time.sys_gettimeofday,         "pp"),
    # 170  settimeofday
    # 171  adjtimex
    S(172, "getpid",                info.sys_getpid,               ""),
    S(173, "getppid",               info.sys_getppid,              ""),
    S(174, "getuid",                info.sys_getuid,               ""),
    S(175, "geteuid",               info.sys_geteuid,              ""),
    S(176, "getgid",                info.sys_getgid,               ""),
    S(177, "getegid",               info.sys_getegid,              ""),
    S(178, "gettid",                info.sys_gettid,               ""),
    S(179, "sysinfo",               info.sys_sysinfo,              "p"),
    # 180  mq_open
    # 181  mq_unlink
    # 182  mq_timedsend
    # 183  mq_timedreceive
    # 184  mq_notify
    # 185  mq_getsetattr
    # 186  msgget
    # 187  msgctl
    # 188  msgrcv
    # 189  msgsnd
    # 190  semget
    # 191  semctl
    # 192  semtimedop
    # 193  semop
    # 194  shmget
    # 195  shmctl
    # 196  shmat
    # 197  shmdt
    # 198  socket
    # 199  socketpair
    # 200  bind
    # 201  listen
    # 202  accept
    # 203  connect
    # 204  getsockname
    # 205  getpeername
    # 206  sendto
    # 207  recvfrom
    # 208  setsockopt
    # 209  getsockopt
    # 210  shutdown
    # 211  sendmsg
    # 212  recvmsg
    # 213  readahead
    S(214, "brk",                   mm.sys_brk,                    "p>p"),
    S(215, "munmap",                mm.sys_munmap,                 "pu"),
    S(216, "mremap",                mm.sys_mremap,                 "puuxp>p"),
    # 217  add_key
    # 218  request_key
    # 219  keyctl
    # 220  clone
    # 221  execve
    S(222, "mmap",                  mm.sys_mmap,                   "puxxdx>p"),
    # 223  fadvise64
    # 224  swapon
    # 225  swapoff
    S(226, "mprotect",              mm.sys_mprotect,               "pux"),
    S(227, "msync",                 mm.sys_msync,                  "pux"),
    # 228  mlock
    # 229  munlock
    # 230  mlockall
    # 231  munlockall
    S(232, "mincore",               mm.sys_mincore,                "pup"),
    S(233, "madvise",               mm.sys_madvise,                "pud"),
    # 234  remap_file_pages
    # 235  mbind
    # 236  get_mempolicy
    # 237  set_mempolicy
    # 238  migrate_pages
    # 239  move_pages
    # 240  rt_tgsigqueueinfo
    # 241  perf_event_open
    # 242  accept4
    # 243  recvmmsg
    # 260  wait4
    S(261, "prlimit64",             info.sys_prlimit64,            "ddpp"),
    # 262  fanotify_init
    # 263  fanotify_mark
    # 264  name_to_handle_at
    # 265  open_by_handle_at
    # 266  clock_adjtime
    # 267  syncfs
    # 268  setns
    # 269  sendmmsg
    # 270  process_vm_readv
    # 271  process_vm_writev
    # 272  kcmp
    # 273  finit_module
    # 274  sched_setattr
    # 275  sched_getattr
    S(276, "renameat2",             fs.sys_renameat2,              "fsfsx"),
    # 277  seccomp
    S(278, "getrandom",             info.sys_getrandom,            "pux"),
    # 279  memfd_create
    # 280  bpf
    # 281  execveat
    # 282  userfaultfd
    S(283, "membarrier",            process.sys_enosys,            "xx"),
    # 284  mlock2
    # 285  copy_file_range
    # 286  preadv2
    # 287  pwritev2
    # 288  pkey_mprotect
    # 289  pkey_alloc
    # 290  pkey_free
    S(291, "statx",                 fs.sys_statx,                  "fsxxp"),
    # 292  io_pgetevents
    S(293, "rseq",                  process.sys_enosys,            "puxx"),
    # 294  kexec_file_load
    # 424  pidfd_send_signal
    # 425  io_uring_setup
    # 426  io_uring_enter
    # 427  io_uring_register
    # 428  open_tree
    # 429  move_mount
    # 430  fsopen
    # 431  fsconfig
    # 432  fsmount
    # 433  fspick
    # 434  pidfd_open
    # 435  clone3
    # 436  close_range
    # 437  openat2
    # 438  pidfd_getfd
    S(439, "faccessat2",            fs.sys_faccessat2,             "fsox"),
    # 440  process_madvise
    # 441  epoll_pwait2
    # 442  mount_setattr
    # 443  quotactl_fd
    # 444  landlock_create_ruleset
    # 445  landlock_add_rule
    # 446  landlock_restrict_self
    # 447  memfd_secret
    # 448  process_mrelease
    # 449  futex_waitv
    # 450  set_mempolicy_home_node
]

BY_NUMBER = {s.nr: s for s in TABLE}
assert len(BY_NUMBER) == len(TABLE), "duplicate syscall number"
