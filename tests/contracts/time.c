/* Contract: clocks, sleeping, identity and limits (kernel/time.py, kernel/info.py,
 * kernel/process.py).  Values that depend on the moment or the machine are
 * printed as comparisons. */
#include "contract.h"
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <linux/capability.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    static const char *names[] = {"REALTIME", "MONOTONIC", "PROCESS_CPUTIME", "THREAD_CPUTIME",
                                  "MONOTONIC_RAW", "REALTIME_COARSE", "MONOTONIC_COARSE",
                                  "BOOTTIME", "REALTIME_ALARM", "BOOTTIME_ALARM", "10", "TAI", "12"};
    for (int c = 0; c <= 12; c++) {
        struct timespec t1, t2, res;
        errno = 0;
        int r1 = clock_gettime(c, &t1), r2 = clock_gettime(c, &t2);
        if (r1 < 0) { P("clock %s: -%s", names[c], strerrorname_np(errno)); continue; }
        int rr = clock_getres(c, &res);
        P("clock %s: ok monotonic=%d nsec_ok=%d res_ok=%d res=%lld", names[c],
          r2 == 0 && ns(t2) >= ns(t1), t1.tv_nsec >= 0 && t1.tv_nsec < 1000000000, rr == 0,
          ns(res));
    }
    struct timespec t;
    R("clock_gettime bad id", clock_gettime(1000, &t));
    R("clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_PTR));
    R("clock_getres null", clock_getres(CLOCK_MONOTONIC, NULL));
    clockid_t cpu;
    R("clock_getcpuclockid", clock_getcpuclockid(0, &cpu));
    R("process cpu clock", clock_gettime(cpu, &t));
    R("thread cpu clock", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t));

    struct timeval tv;
    struct timespec rt;
    R("gettimeofday", gettimeofday(&tv, NULL));
    clock_gettime(CLOCK_REALTIME, &rt);
    P("gettimeofday close to REALTIME: %d", llabs(rt.tv_sec - tv.tv_sec) <= 1);
    P("after 2020: %d", tv.tv_sec > 1577836800);
    struct timezone tz;
    R("gettimeofday tz", gettimeofday(&tv, &tz));

    struct timespec a, b, req = {0, 20000000}, rem;
    clock_gettime(CLOCK_MONOTONIC, &a);
    R("nanosleep", nanosleep(&req, &rem));
    clock_gettime(CLOCK_MONOTONIC, &b);
    P("slept long enough: %d", ns(b) - ns(a) >= 20000000);
    req.tv_nsec = 1000000000;
    R("nanosleep bad nsec", nanosleep(&req, NULL));
    req.tv_sec = -1; req.tv_nsec = 0;
    R("nanosleep negative", nanosleep(&req, NULL));
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec until = {a.tv_sec, a.tv_nsec + 10000000};
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    P("clock_nanosleep abstime: %d", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    P("reached the deadline: %d", ns(b) >= ns(until));
    struct timespec past = {1, 0};
    P("clock_nanosleep past deadline: %d", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));
    struct timespec shortreq = {0, 1000};
    P("clock_nanosleep thread cpu: %s", strerrorname_np(
      clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &shortreq, NULL)) ?: "0");
    P("clock_nanosleep bad clock: %s", strerrorname_np(clock_nanosleep(1000, 0, &shortreq, NULL)) ?: "0");

    struct tms tm;
    clock_t c1 = times(&tm);
    P("times: %d", c1 != (clock_t)-1);
    struct rusage ru;
    R("getrusage self", getrusage(RUSAGE_SELF, &ru));
    R("getrusage children", getrusage(RUSAGE_CHILDREN, &ru));
    R("getrusage thread", getrusage(RUSAGE_THREAD, &ru));
    R("getrusage bad", getrusage(7, &ru));
    P("maxrss positive: %d", ru.ru_maxrss >= 0);

    /* identity */
    struct utsname u;
    R("uname", uname(&u));
    P("sysname: %s", u.sysname);
    P("arch machine: %s", u.machine);
    P("release starts with digit: %d", u.release[0] >= '0' && u.release[0] <= '9');
    P("ids consistent: %d", getuid() == geteuid() && getgid() == getegid());
    uid_t r_, e_, s_;
    R("getresuid", getresuid(&r_, &e_, &s_));
    P("resuid match: %d", r_ == getuid() && e_ == geteuid());
    R("getgroups count", getgroups(0, NULL) >= 0);
    P("pid positive: %d, tid is pid: %d", getpid() > 0, gettid() == getpid());
    P("ppid positive: %d", getppid() > 0);
    P("pgid matches: %d", getpgid(0) == getpgrp());
    P("sid positive: %d", getsid(0) > 0);
    struct sysinfo si;
    R("sysinfo", sysinfo(&si));
    P("sysinfo sane: %d", si.totalram > 0 && si.mem_unit > 0 && si.uptime > 0);
    unsigned char rnd[64] = {0};
    R("getrandom", getrandom(rnd, sizeof rnd, 0));
    int nz = 0;
    for (int i = 0; i < 64; i++) nz |= rnd[i];
    P("random not all zero: %d", nz != 0);
    R("getrandom nonblock", getrandom(rnd, 16, GRND_NONBLOCK));
    R("getrandom bad flags", getrandom(rnd, 16, 0x100));
    R("getrandom bad pointer", getrandom(BAD_PTR, 16, 0));

    /* prctl */
    char name[32] = {0};
    R("PR_SET_NAME", prctl(PR_SET_NAME, "contract-name-too-long", 0, 0, 0));
    R("PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
    P("name: %s", name);
    R("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    R("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    R("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    R("PR_SET_DUMPABLE 5", prctl(PR_SET_DUMPABLE, 5, 0, 0, 0));
    R("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    R("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    int sig = -1;
    R("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0));
    R("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    P("pdeathsig: %d", sig);
    R("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    R("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &sig, 0, 0, 0));
    P("subreaper: %d", sig);
    R("PR_GET_TIMERSLACK positive", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) > 0);
    R("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    R("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    R("PR_CAPBSET_READ", prctl(PR_CAPBSET_READ, 0, 0, 0, 0) >= 0);
    R("prctl unknown", prctl(0x7777, 0, 0, 0, 0));

    /* limits */
    struct rlimit rl, rl2;
    R("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl));
    rl2 = rl;
    rl2.rlim_cur = 200;
    R("setrlimit NOFILE", setrlimit(RLIMIT_NOFILE, &rl2));
    getrlimit(RLIMIT_NOFILE, &rl2);
    P("NOFILE soft now: %ld", (long)rl2.rlim_cur);
    R("dup2 past the limit", dup2(0, 250));
    R("setrlimit back", setrlimit(RLIMIT_NOFILE, &rl));
    rl2.rlim_cur = rl2.rlim_max + 1;
    if (rl2.rlim_max != RLIM_INFINITY) R("setrlimit cur > max", setrlimit(RLIMIT_NOFILE, &rl2));
    else P("setrlimit cur > max: -EINVAL");
    R("prlimit64 read", prlimit(0, RLIMIT_STACK, NULL, &rl));
    R("getrlimit bad resource", getrlimit(99, &rl));
    struct rlimit as = {1 << 30, RLIM_INFINITY};
    R("setrlimit AS", setrlimit(RLIMIT_AS, &as));
    getrlimit(RLIMIT_AS, &rl);
    P("AS soft: %ld", (long)rl.rlim_cur);

    /* scheduler */
    cpu_set_t set;
    R("sched_getaffinity", sched_getaffinity(0, sizeof set, &set));
    P("cpus: %d", CPU_COUNT(&set) > 0);
    R("sched_getaffinity small", syscall(SYS_sched_getaffinity, 0, 1, &set));
    R("sched_yield", sched_yield());
    R("sched_getscheduler", sched_getscheduler(0));
    struct sched_param sp;
    R("sched_getparam", sched_getparam(0, &sp));
    R("sched_get_priority_max FIFO", sched_get_priority_max(SCHED_FIFO));
    R("sched_get_priority_min RR", sched_get_priority_min(SCHED_RR));
    R("getpriority", getpriority(PRIO_PROCESS, 0));
    R("setpriority", setpriority(PRIO_PROCESS, 0, 5));
    R("getpriority", getpriority(PRIO_PROCESS, 0));
    R("getcpu", sched_getcpu() >= 0);

    /* capabilities, umask, personality */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    R("capget", syscall(SYS_capget, &hdr, data));
    hdr.version = 0x12345678;
    R("capget bad version", syscall(SYS_capget, &hdr, NULL));
    P("preferred version: %x", hdr.version);
    R("umask", umask(027));
    R("umask", umask(022));
    R("personality query", personality(0xffffffff));
    R("personality set", personality(ADDR_NO_RANDOMIZE));
    R("personality query", personality(0xffffffff));
    R("personality restore", personality(PER_LINUX));
    return 0;
}
