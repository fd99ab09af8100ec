"""The AArch64 (asm-generic) syscall table: one line per syscall number.

Owns: number -> (name, handler, strace format).  The format's letters give
the arity and how --strace shows each argument (see strace.py); handlers
live in the family modules and are called as handler(kernel, *args).
Numbers without a handler stay here as comments, `#  nr  name  family`, so
the gaps are visible (the family is where the ledger files them); calling
one returns -ENOSYS and is counted in Kernel.unknown_syscalls.  Handlers
marked @partial (kernel/status.py) and this list are what
SYSCALL_LEDGER.md is generated from (`python -m harness syscall-ledger`).
Does not own: dispatch (core.py).
"""
from collections import namedtuple

from kernel import (delivery, event, fd, fs, futex, info, ipc, mm, net, poll, process, signal,
                    signalfd, time, timers)

Syscall = namedtuple("Syscall", "nr name handler fmt")
S = Syscall

TABLE = [
    # nr    name                   handler                        strace
    #   0  io_setup                aio
    #   1  io_destroy              aio
    #   2  io_submit               aio
    #   3  io_cancel               aio
    #   4  io_getevents            aio
    S(  5, "setxattr",             fs.sys_setxattr,               "sspux"),
    S(  6, "lsetxattr",            fs.sys_lsetxattr,              "sspux"),
    S(  7, "fsetxattr",            fs.sys_fsetxattr,              "dspux"),
    S(  8, "getxattr",             fs.sys_getxattr,               "sspu"),
    S(  9, "lgetxattr",            fs.sys_lgetxattr,              "sspu"),
    S( 10, "fgetxattr",            fs.sys_fgetxattr,              "dspu"),
    S( 11, "listxattr",            fs.sys_listxattr,              "spu"),
    S( 12, "llistxattr",           fs.sys_llistxattr,             "spu"),
    S( 13, "flistxattr",           fs.sys_flistxattr,             "dpu"),
    S( 14, "removexattr",          fs.sys_removexattr,            "ss"),
    S( 15, "lremovexattr",         fs.sys_lremovexattr,           "ss"),
    S( 16, "fremovexattr",         fs.sys_fremovexattr,           "ds"),
    S( 17, "getcwd",               fs.sys_getcwd,                 "pu"),
    #  18  lookup_dcookie          admin
    S( 19, "eventfd2",             event.sys_eventfd2,            "ux"),
    S( 20, "epoll_create1",        event.sys_epoll_create1,       "x"),
    S( 21, "epoll_ctl",            event.sys_epoll_ctl,           "dddp"),
    S( 22, "epoll_pwait",          event.sys_epoll_pwait,         "dpddpu"),
    S( 23, "dup",                  fd.sys_dup,                    "d"),
    S( 24, "dup3",                 fd.sys_dup3,                   "ddx"),
    S( 25, "fcntl",                fd.sys_fcntl,                  "ddx"),
    S( 26, "inotify_init1",        event.sys_inotify_init1,       "x"),
    S( 27, "inotify_add_watch",    event.sys_inotify_add_watch,   "dsx"),
    S( 28, "inotify_rm_watch",     event.sys_inotify_rm_watch,    "dd"),
    S( 29, "ioctl",                fd.sys_ioctl,                  "dxp"),
    S( 30, "ioprio_set",           info.sys_ioprio_set,           "ddx"),
    S( 31, "ioprio_get",           info.sys_ioprio_get,           "dd"),
    S( 32, "flock",                fd.sys_flock,                  "dd"),
    S( 33, "mknodat",              fs.sys_mknodat,                "fsox"),
    S( 34, "mkdirat",              fs.sys_mkdirat,                "fso"),
    S( 35, "unlinkat",             fs.sys_unlinkat,               "fsx"),
    S( 36, "symlinkat",            fs.sys_symlinkat,              "sfs"),
    S( 37, "linkat",               fs.sys_linkat,                 "fsfsx"),
    S( 38, "renameat",             fs.sys_renameat,               "fsfs"),
    S( 39, "umount2",              fs.sys_mount,                  "sx"),
    S( 40, "mount",                fs.sys_mount,                  "sssxp"),
    S( 41, "pivot_root",           fs.sys_mount,                  "ss"),
    #  42  nfsservctl              admin
    S( 43, "statfs",               fs.sys_statfs,                 "sp"),
    S( 44, "fstatfs",              fs.sys_fstatfs,                "dp"),
    S( 45, "truncate",             fs.sys_truncate,               "sl"),
    S( 46, "ftruncate",            fs.sys_ftruncate,              "dl"),
    S( 47, "fallocate",            fs.sys_fallocate,              "dxll"),
    S( 48, "faccessat",            fs.sys_faccessat,              "fso"),
    S( 49, "chdir",                fs.sys_chdir,                  "s"),
    S( 50, "fchdir",               fs.sys_fchdir,                 "d"),
    S( 51, "chroot",               fs.sys_chroot,                 "s"),
    S( 52, "fchmod",               fs.sys_fchmod,                 "do"),
    S( 53, "fchmodat",             fs.sys_fchmodat,               "fso"),
    S( 54, "fchownat",             fs.sys_fchownat,               "fsddx"),
    S( 55, "fchown",               fs.sys_fchown,                 "ddd"),
    S( 56, "openat",               fs.sys_openat,                 "fsxo"),
    S( 57, "close",                fd.sys_close,                  "d"),
    #  58  vhangup                 admin
    S( 59, "pipe2",                fd.sys_pipe2,                  "px"),
    #  60  quotactl                admin
    S( 61, "getdents64",           fs.sys_getdents64,             "dpu"),
    S( 62, "lseek",                fd.sys_lseek,                  "dld"),
    S( 63, "read",                 fd.sys_read,                   "dBu"),
    S( 64, "write",                fd.sys_write,                  "dbu"),
    S( 65, "readv",                fd.sys_readv,                  "dpd"),
    S( 66, "writev",               fd.sys_writev,                 "dpd"),
    S( 67, "pread64",              fd.sys_pread64,                "dBul"),
    S( 68, "pwrite64",             fd.sys_pwrite64,               "dbul"),
    S( 69, "preadv",               fd.sys_preadv,                 "dpdlx"),
    S( 70, "pwritev",              fd.sys_pwritev,                "dpdlx"),
    S( 71, "sendfile",             fd.sys_sendfile,               "ddpu"),
    S( 72, "pselect6",             poll.sys_pselect6,             "dppppp"),
    S( 73, "ppoll",                poll.sys_ppoll,                "puppu"),
    S( 74, "signalfd4",            signalfd.sys_signalfd4,        "dpux"),
    S( 75, "vmsplice",             fd.sys_vmsplice,               "dpux"),
    S( 76, "splice",               fd.sys_splice,                 "dpdpux"),
    S( 77, "tee",                  fd.sys_tee,                    "ddux"),
    S( 78, "readlinkat",           fs.sys_readlinkat,             "fsBu"),
    S( 79, "newfstatat",           fs.sys_newfstatat,             "fspx"),
    S( 80, "fstat",                fs.sys_fstat,                  "dp"),
    S( 81, "sync",                 fs.sys_sync,                   ""),
    S( 82, "fsync",                fs.sys_fsync,                  "d"),
    S( 83, "fdatasync",            fs.sys_fdatasync,              "d"),
    S( 84, "sync_file_range",      fs.sys_sync_file_range,        "dllx"),
    S( 85, "timerfd_create",       event.sys_timerfd_create,      "dx"),
    S( 86, "timerfd_settime",      event.sys_timerfd_settime,     "dxpp"),
    S( 87, "timerfd_gettime",      event.sys_timerfd_gettime,     "dp"),
    S( 88, "utimensat",            fs.sys_utimensat,              "fspx"),
    #  89  acct                    admin
    S( 90, "capget",               info.sys_capget,               "pp"),
    S( 91, "capset",               info.sys_capset,               "pp"),
    S( 92, "personality",          info.sys_personality,          "x"),
    S( 93, "exit",                 process.sys_exit,              "d"),
    S( 94, "exit_group",           process.sys_exit_group,        "d"),
    S( 95, "waitid",               process.sys_waitid,            "ddpxp"),
    S( 96, "set_tid_address",      process.sys_set_tid_address,   "p"),
    #  97  unshare                 process
    S( 98, "futex",                futex.sys_futex,               "pxuppu"),
    S( 99, "set_robust_list",      process.sys_set_robust_list,   "pu"),
    S(100, "get_robust_list",      process.sys_get_robust_list,   "dpp"),
    S(101, "nanosleep",            time.sys_nanosleep,            "pp"),
    S(102, "getitimer",            time.sys_getitimer,            "dp"),
    S(103, "setitimer",            time.sys_setitimer,            "dpp"),
    # 104  kexec_load              admin
    # 105  init_module             admin
    # 106  delete_module           admin
    S(107, "timer_create",         timers.sys_timer_create,       "dpp"),
    S(108, "timer_gettime",        timers.sys_timer_gettime,      "dp"),
    S(109, "timer_getoverrun",     timers.sys_timer_getoverrun,   "d"),
    S(110, "timer_settime",        timers.sys_timer_settime,      "dxpp"),
    S(111, "timer_delete",         timers.sys_timer_delete,       "d"),
    S(112, "clock_settime",        time.sys_clock_settime,        "dp"),
    S(113, "clock_gettime",        time.sys_clock_gettime,        "dp"),
    S(114, "clock_getres",         time.sys_clock_getres,         "dp"),
    S(115, "clock_nanosleep",      time.sys_clock_nanosleep,      "dxpp"),
    # 116  syslog                  admin
    # 117  ptrace                  process
    S(118, "sched_setparam",       info.sys_sched_setparam,       "dp"),
    S(119, "sched_setscheduler",   info.sys_sched_setscheduler,   "ddp"),
    S(120, "sched_getscheduler",   info.sys_sched_getscheduler,   "d"),
    S(121, "sched_getparam",       info.sys_sched_getparam,       "dp"),
    S(122, "sched_setaffinity",    info.sys_sched_setaffinity,    "dup"),
    S(123, "sched_getaffinity",    info.sys_sched_getaffinity,    "dup"),
    S(124, "sched_yield",          info.sys_sched_yield,          ""),
    S(125, "sched_get_priority_max",info.sys_sched_get_priority_max,"d"),
    S(126, "sched_get_priority_min",info.sys_sched_get_priority_min,"d"),
    S(127, "sched_rr_get_interval",info.sys_sched_rr_get_interval,"dp"),
    # 128  restart_syscall         signal
    S(129, "kill",                 signal.sys_kill,               "dd"),
    S(130, "tkill",                signal.sys_tkill,              "dd"),
    S(131, "tgkill",               signal.sys_tgkill,             "ddd"),
    S(132, "sigaltstack",          signal.sys_sigaltstack,        "pp"),
    S(133, "rt_sigsuspend",        signal.sys_rt_sigsuspend,      "pu"),
    S(134, "rt_sigaction",         signal.sys_rt_sigaction,       "dppu"),
    S(135, "rt_sigprocmask",       signal.sys_rt_sigprocmask,     "dppu"),
    S(136, "rt_sigpending",        signal.sys_rt_sigpending,      "pu"),
    S(137, "rt_sigtimedwait",      signal.sys_rt_sigtimedwait,    "pppu"),
    S(138, "rt_sigqueueinfo",      signal.sys_rt_sigqueueinfo,    "ddp"),
    S(139, "rt_sigreturn",         delivery.sys_rt_sigreturn,     ""),
    S(140, "setpriority",          info.sys_setpriority,          "ddd"),
    S(141, "getpriority",          info.sys_getpriority,          "dd"),
    # 142  reboot                  admin
    S(143, "setregid",             info.sys_setregid,             "dd"),
    S(144, "setgid",               info.sys_setgid,               "d"),
    S(145, "setreuid",             info.sys_setreuid,             "dd"),
    S(146, "setuid",               info.sys_setuid,               "d"),
    S(147, "setresuid",            info.sys_setresuid,            "ddd"),
    S(148, "getresuid",            info.sys_getresuid,            "ppp"),
    S(149, "setresgid",            info.sys_setresgid,            "ddd"),
    S(150, "getresgid",            info.sys_getresgid,            "ppp"),
    S(151, "setfsuid",             info.sys_setfsuid,             "d"),
    S(152, "setfsgid",             info.sys_setfsgid,             "d"),
    S(153, "times",                time.sys_times,                "p"),
    S(154, "setpgid",              info.sys_setpgid,              "dd"),
    S(155, "getpgid",              info.sys_getpgid,              "d"),
    S(156, "getsid",               info.sys_getsid,               "d"),
    S(157, "setsid",               info.sys_setsid,               ""),
    S(158, "getgroups",            info.sys_getgroups,            "dp"),
    S(159, "setgroups",            info.sys_setgroups,            "dp"),
    S(160, "uname",                info.sys_uname,                "p"),
    S(161, "sethostname",          info.sys_sethostname,          "bu"),
    S(162, "setdomainname",        info.sys_sethostname,          "bu"),
    S(163, "getrlimit",            info.sys_getrlimit,            "dp"),
    S(164, "setrlimit",            info.sys_setrlimit,            "dp"),
    S(165, "getrusage",            time.sys_getrusage,            "dp"),
    S(166, "umask",                fs.sys_umask,                  "o"),
    S(167, "prctl",                process.sys_prctl,             "dxxxx"),
    S(168, "getcpu",               info.sys_getcpu,               "ppp"),
    S(169, "gettimeofday",         time.sys_gettimeofday,         "pp"),
    S(170, "settimeofday",         time.sys_settimeofday,         "pp"),
    S(171, "adjtimex",             time.sys_adjtimex,             "p"),
    S(172, "getpid",               info.sys_getpid,               ""),
    S(173, "getppid",              info.sys_getppid,              ""),
    S(174, "getuid",               info.sys_getuid,               ""),
    S(175, "geteuid",              info.sys_geteuid,              ""),
    S(176, "getgid",               info.sys_getgid,               ""),
    S(177, "getegid",              info.sys_getegid,              ""),
    S(178, "gettid",               info.sys_gettid,               ""),
    S(179, "sysinfo",              info.sys_sysinfo,              "p"),
    S(180, "mq_open",              ipc.sys_mq_open,               "sxop"),
    S(181, "mq_unlink",            ipc.sys_mq_unlink,             "s"),
    S(182, "mq_timedsend",         ipc.sys_mq_timedsend,          "dbuup"),
    S(183, "mq_timedreceive",      ipc.sys_mq_timedreceive,       "dpupp"),
    S(184, "mq_notify",            ipc.sys_mq_notify,             "dp"),
    S(185, "mq_getsetattr",        ipc.sys_mq_getsetattr,         "dpp"),
    S(186, "msgget",               ipc.sys_msgget,                "dx"),
    S(187, "msgctl",               ipc.sys_msgctl,                "ddp"),
    S(188, "msgrcv",               ipc.sys_msgrcv,                "dpudx"),
    S(189, "msgsnd",               ipc.sys_msgsnd,                "dpux"),
    S(190, "semget",               ipc.sys_semget,                "ddx"),
    S(191, "semctl",               ipc.sys_semctl,                "dddx"),
    S(192, "semtimedop",           ipc.sys_semtimedop,            "dpup"),
    S(193, "semop",                ipc.sys_semop,                 "dpu"),
    S(194, "shmget",               ipc.sys_shmget,                "dux"),
    S(195, "shmctl",               ipc.sys_shmctl,                "ddp"),
    S(196, "shmat",                ipc.sys_shmat,                 "dpx>p"),
    S(197, "shmdt",                ipc.sys_shmdt,                 "p"),
    S(198, "socket",               net.sys_socket,                "ddd"),
    S(199, "socketpair",           net.sys_socketpair,            "dddp"),
    S(200, "bind",                 net.sys_bind,                  "dpu"),
    S(201, "listen",               net.sys_listen,                "dd"),
    S(202, "accept",               net.sys_accept,                "dpp"),
    S(203, "connect",              net.sys_connect,               "dpu"),
    S(204, "getsockname",          net.sys_getsockname,           "dpp"),
    S(205, "getpeername",          net.sys_getpeername,           "dpp"),
    S(206, "sendto",               net.sys_sendto,                "dbuxpu"),
    S(207, "recvfrom",             net.sys_recvfrom,              "dBuxpp"),
    S(208, "setsockopt",           net.sys_setsockopt,            "dddpu"),
    S(209, "getsockopt",           net.sys_getsockopt,            "dddpp"),
    S(210, "shutdown",             net.sys_shutdown,              "dd"),
    # 211  sendmsg                 net
    # 212  recvmsg                 net
    S(213, "readahead",            fs.sys_readahead,              "dlu"),
    S(214, "brk",                  mm.sys_brk,                    "p>p"),
    S(215, "munmap",               mm.sys_munmap,                 "pu"),
    S(216, "mremap",               mm.sys_mremap,                 "puuxp>p"),
    # 217  add_key                 security
    # 218  request_key             security
    # 219  keyctl                  security
    S(220, "clone",                process.sys_clone,             "xpppp"),
    S(221, "execve",               process.sys_execve,            "spp"),
    S(222, "mmap",                 mm.sys_mmap,                   "puxxdx>p"),
    S(223, "fadvise64",            fs.sys_fadvise64,              "dlld"),
    # 224  swapon                  admin
    # 225  swapoff                 admin
    S(226, "mprotect",             mm.sys_mprotect,               "pux"),
    S(227, "msync",                mm.sys_msync,                  "pux"),
    S(228, "mlock",                mm.sys_mlock,                  "pu"),
    S(229, "munlock",              mm.sys_mlock,                  "pu"),
    S(230, "mlockall",             mm.sys_mlockall,               "x"),
    S(231, "munlockall",           mm.sys_munlockall,             ""),
    S(232, "mincore",              mm.sys_mincore,                "pup"),
    S(233, "madvise",              mm.sys_madvise,                "pud"),
    # 234  remap_file_pages        mm
    # 235  mbind                   mm
    # 236  get_mempolicy           mm
    # 237  set_mempolicy           mm
    # 238  migrate_pages           mm
    # 239  move_pages              mm
    S(240, "rt_tgsigqueueinfo",    signal.sys_rt_tgsigqueueinfo,  "dddp"),
    # 241  perf_event_open         admin
    S(242, "accept4",              net.sys_accept4,               "dppx"),
    # 243  recvmmsg                net
    # 244-259: arch-specific numbers, unused on arm64
    S(260, "wait4",                process.sys_wait4,             "dpxp"),
    S(261, "prlimit64",            info.sys_prlimit64,            "ddpp"),
    # 262  fanotify_init           event
    # 263  fanotify_mark           event
    # 264  name_to_handle_at       fs
    # 265  open_by_handle_at       fs
    S(266, "clock_adjtime",        time.sys_clock_adjtime,        "dp"),
    S(267, "syncfs",               fs.sys_syncfs,                 "d"),
    # 268  setns                   process
    # 269  sendmmsg                net
    # 270  process_vm_readv        process
    # 271  process_vm_writev       process
    # 272  kcmp                    process
    # 273  finit_module            admin
    # 274  sched_setattr           info
    # 275  sched_getattr           info
    S(276, "renameat2",            fs.sys_renameat2,              "fsfsx"),
    # 277  seccomp                 security
    S(278, "getrandom",            info.sys_getrandom,            "pux"),
    S(279, "memfd_create",         fd.sys_memfd_create,           "sx"),
    # 280  bpf                     security
    # 281  execveat                process
    # 282  userfaultfd             mm
    S(283, "membarrier",           process.sys_membarrier,        "xx"),
    S(284, "mlock2",               mm.sys_mlock2,                 "pux"),
    S(285, "copy_file_range",      fd.sys_copy_file_range,        "dpdpux"),
    S(286, "preadv2",              fd.sys_preadv2,                "dpdlxx"),
    S(287, "pwritev2",             fd.sys_pwritev2,               "dpdlxx"),
    S(288, "pkey_mprotect",        mm.sys_pkey_mprotect,          "puxd"),
    S(289, "pkey_alloc",           mm.sys_pkey_alloc,             "xx"),
    S(290, "pkey_free",            mm.sys_pkey_free,              "d"),
    S(291, "statx",                fs.sys_statx,                  "fsxxp"),
    # 292  io_pgetevents           aio
    S(293, "rseq",                 process.sys_enosys,            "puxx"),
    # 294  kexec_file_load         admin
    # 295-423: unused on arm64 (403-423 are the *_time64 calls of 32-bit ABIs)
    # 424  pidfd_send_signal       signal
    # 425  io_uring_setup          aio
    # 426  io_uring_enter          aio
    # 427  io_uring_register       aio
    # 428  open_tree               fs
    # 429  move_mount              fs
    # 430  fsopen                  fs
    # 431  fsconfig                fs
    # 432  fsmount                 fs
    # 433  fspick                  fs
    # 434  pidfd_open              process
    # 435  clone3                  process
    S(436, "close_range",          fd.sys_close_range,            "uux"),
    S(437, "openat2",              fs.sys_openat2,                "fspu"),
    # 438  pidfd_getfd             process
    S(439, "faccessat2",           fs.sys_faccessat2,             "fsox"),
    # 440  process_madvise         mm
    S(441, "epoll_pwait2",         event.sys_epoll_pwait2,        "dpdppu"),
    # 442  mount_setattr           fs
    # 443  quotactl_fd             admin
    # 444  landlock_create_ruleset security
    # 445  landlock_add_rule       security
    # 446  landlock_restrict_self  security
    # 447  memfd_secret            mm
    # 448  process_mrelease        process
    # 449  futex_waitv             futex
    # 450  set_mempolicy_home_node mm

    # 451-462 (cachestat, fchmodat2, futex_wake, statmount, mseal, ...) are newer than
    # the 6.1 kernel uname reports; they stay ENOSYS as they would there.
]

BY_NUMBER = {s.nr: s for s in TABLE}
assert len(BY_NUMBER) == len(TABLE), "duplicate syscall number"
