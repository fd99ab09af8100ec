/* Structure layouts as the C compiler sees them, one line per field:
 *   STRUCT FIELD OFFSET SIZE        (FIELD "-" is the whole struct)
 * Built for AArch64 (run under qemu-aarch64) it is the oracle for kernel/abi.py;
 * built natively it shows which layouts x86-64 shares (those pass through to
 * the host unconverted).  Used by tests/test_kernel_structs.py. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <signal.h>
#include <time.h>
#include <linux/openat2.h>

#define S(t) printf("%s - 0 %zu\n", #t, sizeof(struct t))
#define F(t, f) printf("%s %s %zu %zu\n", #t, #f, offsetof(struct t, f), sizeof(((struct t *)0)->f))
#define T(t) printf("%s - 0 %zu\n", #t, sizeof(t))
#define TF(t, f) printf("%s %s %zu %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void) {
    S(stat); F(stat, st_dev); F(stat, st_ino); F(stat, st_mode); F(stat, st_nlink);
    F(stat, st_uid); F(stat, st_gid); F(stat, st_rdev); F(stat, st_size);
    F(stat, st_blksize); F(stat, st_blocks); F(stat, st_atim); F(stat, st_mtim);
    F(stat, st_ctim);
    S(statfs); F(statfs, f_type); F(statfs, f_bsize); F(statfs, f_blocks); F(statfs, f_bfree);
    F(statfs, f_bavail); F(statfs, f_files); F(statfs, f_ffree); F(statfs, f_fsid);
    F(statfs, f_namelen); F(statfs, f_frsize); F(statfs, f_flags); F(statfs, f_spare);
    S(statx); F(statx, stx_mask); F(statx, stx_blksize); F(statx, stx_attributes);
    F(statx, stx_nlink); F(statx, stx_uid); F(statx, stx_gid); F(statx, stx_mode);
    F(statx, stx_ino); F(statx, stx_size); F(statx, stx_blocks); F(statx, stx_attributes_mask);
    F(statx, stx_atime); F(statx, stx_btime); F(statx, stx_ctime); F(statx, stx_mtime);
    F(statx, stx_rdev_major); F(statx, stx_rdev_minor); F(statx, stx_dev_major);
    F(statx, stx_dev_minor);
    S(flock); F(flock, l_type); F(flock, l_whence); F(flock, l_start); F(flock, l_len);
    F(flock, l_pid);
    S(pollfd); F(pollfd, fd); F(pollfd, events); F(pollfd, revents);
    S(open_how); F(open_how, flags); F(open_how, mode); F(open_how, resolve);
    S(dirent64); F(dirent64, d_ino); F(dirent64, d_off); F(dirent64, d_reclen);
    F(dirent64, d_type); F(dirent64, d_name);
    S(timespec); F(timespec, tv_sec); F(timespec, tv_nsec);
    S(timeval); F(timeval, tv_sec); F(timeval, tv_usec);
    S(timezone);
    S(utsname); F(utsname, nodename); F(utsname, machine); F(utsname, domainname);
    S(sysinfo); F(sysinfo, uptime); F(sysinfo, loads); F(sysinfo, totalram);
    F(sysinfo, procs); F(sysinfo, totalhigh); F(sysinfo, mem_unit);
    S(rlimit); F(rlimit, rlim_max);
    S(iovec); F(iovec, iov_len);
    S(winsize);
    S(tms);
    S(rusage); F(rusage, ru_stime); F(rusage, ru_maxrss); F(rusage, ru_nivcsw);
    T(stack_t); TF(stack_t, ss_flags); TF(stack_t, ss_size);
    S(epoll_event); F(epoll_event, events); F(epoll_event, data);
    S(itimerspec); F(itimerspec, it_value);
    return 0;
}
