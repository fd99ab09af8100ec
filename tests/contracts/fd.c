/* Contract: descriptors and fd-level I/O (kernel/fd.py, kernel/poll.py). */
#include "contract.h"
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <linux/close_range.h>

static int cloexec(int fd) { return fcntl(fd, F_GETFD) & FD_CLOEXEC; }

int main(void) {
    char buf[256];
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    R("open", fd);
    R("write", write(fd, "hello, contract", 15));
    R("lseek end", lseek(fd, 0, SEEK_END));
    R("lseek set", lseek(fd, 7, SEEK_SET));
    R("read", read(fd, buf, sizeof buf));
    P("read data: %.8s", buf);
    R("read at eof", read(fd, buf, sizeof buf));
    R("pread", pread(fd, buf, 5, 0));
    P("pread data: %.5s", buf);
    R("pwrite", pwrite(fd, "HELLO", 5, 0));
    R("lseek cur", lseek(fd, 0, SEEK_CUR));
    struct iovec iov[2] = {{buf, 3}, {buf + 10, 4}};
    R("preadv", preadv(fd, iov, 2, 0));
    P("preadv data: %.3s|%.4s", buf, buf + 10);
    R("preadv2 cur", preadv2(fd, iov, 2, -1, 0));
    R("lseek after preadv2", lseek(fd, 0, SEEK_CUR));
    iov[0].iov_base = "ab"; iov[0].iov_len = 2; iov[1].iov_base = "cd"; iov[1].iov_len = 2;
    R("writev", writev(fd, iov, 2));
    R("pwritev", pwritev(fd, iov, 1, 100));
    struct stat st;
    fstat(fd, &st);
    P("size after pwritev: %ld", (long)st.st_size);
    R("readv too many", readv(fd, iov, 5000));
    R("lseek negative", lseek(fd, -1, SEEK_SET));
    R("lseek bad whence", lseek(fd, 0, 42));

    /* descriptor numbers and flags */
    R("dup", dup(fd));
    R("dup2", dup2(fd, 20));
    R("dup3 cloexec", dup3(fd, 21, O_CLOEXEC));
    P("cloexec 20=%d 21=%d", !!cloexec(20), !!cloexec(21));
    R("dup3 same", dup3(fd, fd, 0));
    R("dup3 bad flags", dup3(fd, 22, 1));
    R("F_DUPFD 30", fcntl(fd, F_DUPFD, 30));
    R("F_DUPFD_CLOEXEC 30", fcntl(fd, F_DUPFD_CLOEXEC, 30));
    P("cloexec 31=%d", !!cloexec(31));
    R("F_SETFD", fcntl(31, F_SETFD, 0));
    P("cloexec 31=%d", !!cloexec(31));
    int fl = fcntl(fd, F_GETFL);
    P("F_GETFL accmode=%d append=%d nonblock=%d", fl & O_ACCMODE, !!(fl & O_APPEND),
      !!(fl & O_NONBLOCK));
    R("F_SETFL", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
    fl = fcntl(fd, F_GETFL);
    P("F_GETFL accmode=%d append=%d nonblock=%d", fl & O_ACCMODE, !!(fl & O_APPEND),
      !!(fl & O_NONBLOCK));
    R("F_GETFD bad", fcntl(999, F_GETFD));
    R("fcntl bad cmd", fcntl(fd, 12345));
    R("close 20", close(20));
    R("close 20 again", close(20));
    R("close_range cloexec", close_range(30, 31, CLOSE_RANGE_CLOEXEC));
    P("cloexec 30=%d 31=%d", !!cloexec(30), !!cloexec(31));
    R("close_range", close_range(21, 40, 0));
    R("F_GETFD closed", fcntl(30, F_GETFD));
    R("close_range backwards", close_range(10, 5, 0));

    /* pipes */
    int p[2];
    R("pipe2 nonblock", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    P("pipe cloexec=%d", !!cloexec(p[0]));
    R("read empty nonblocking pipe", read(p[0], buf, 10));
    R("lseek pipe", lseek(p[0], 0, SEEK_CUR));
    R("pread pipe", pread(p[0], buf, 1, 0));
    R("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
    R("F_SETPIPE_SZ", fcntl(p[1], F_SETPIPE_SZ, 100000));
    R("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
    R("write pipe", write(p[1], "xyz", 3));
    int n = -1;
    R("FIONREAD", ioctl(p[0], FIONREAD, &n));
    P("FIONREAD n=%d", n);
    R("read pipe", read(p[0], buf, 10));
    close(p[1]);
    R("read closed pipe", read(p[0], buf, 10));
    close(p[0]);
    R("pipe2 bad flags", pipe2(p, O_APPEND));

    /* poll and select */
    R("pipe2", pipe2(p, 0));
    struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    R("poll 0", poll(pf, 3, 0));
    P("revents %x %x %x", pf[0].revents, pf[1].revents, pf[2].revents);
    write(p[1], "q", 1);
    close(p[1]);
    int dead = dup(p[0]);
    close(dead);
    struct pollfd pf2[2] = {{p[0], POLLIN, 0}, {dead, POLLIN, 0}};
    R("poll hup+nval", poll(pf2, 2, 1000));
    P("revents %x %x", pf2[0].revents, pf2[1].revents);
    struct pollfd pf3 = {p[0], 0, 0};
    R("poll no events", poll(&pf3, 1, 0));
    P("revents %x", pf3.revents);
    struct timespec ts = {0, 1000000};
    R("ppoll timeout", ppoll(NULL, 0, &ts, NULL));
    fd_set rs, ws;
    FD_ZERO(&rs); FD_ZERO(&ws); FD_SET(p[0], &rs); FD_SET(1, &ws);
    struct timeval tv = {0, 0};
    R("select", select(p[0] + 1, &rs, NULL, NULL, &tv));
    P("select readable=%d", FD_ISSET(p[0], &rs));
    FD_ZERO(&rs); FD_SET(dead, &rs);
    R("select closed fd", select(dead + 1, &rs, NULL, NULL, &tv));
    close(p[0]);
    R("poll bad pointer", poll(BAD_PTR, 1, 0));

    /* ppoll/pselect6 swap in their signal mask for the call: a blocked, pending SIGWINCH
     * (default action: ignore) is delivered, hence discarded, while the call runs with a
     * mask that unblocks it; the caller's mask is back afterwards. */
    sigset_t winch, none, now, pend;
    sigemptyset(&winch); sigaddset(&winch, SIGWINCH); sigemptyset(&none);
    R("block SIGWINCH", sigprocmask(SIG_BLOCK, &winch, NULL));
    R("raise SIGWINCH", raise(SIGWINCH));
    sigpending(&pend);
    P("pending before ppoll=%d", sigismember(&pend, SIGWINCH));
    struct timespec zero = {0, 0};
    R("ppoll same mask", ppoll(NULL, 0, &zero, &winch));
    sigpending(&pend);
    P("pending after ppoll keeping it blocked=%d", sigismember(&pend, SIGWINCH));
    R("ppoll unblocking mask", ppoll(NULL, 0, &zero, &none));
    sigpending(&pend);
    sigprocmask(SIG_BLOCK, NULL, &now);
    P("pending after ppoll=%d blocked after=%d", sigismember(&pend, SIGWINCH),
      sigismember(&now, SIGWINCH));
    R("raise SIGWINCH again", raise(SIGWINCH));
    R("pselect unblocking mask", pselect(0, NULL, NULL, NULL, &zero, &none));
    sigpending(&pend);
    sigprocmask(SIG_BLOCK, NULL, &now);
    P("pending after pselect=%d blocked after=%d", sigismember(&pend, SIGWINCH),
      sigismember(&now, SIGWINCH));
    R("raise SIGWINCH a third time", raise(SIGWINCH));
    int epm = epoll_create1(0);
    struct epoll_event evs[1];
    R("epoll_pwait unblocking mask", epoll_pwait(epm, evs, 1, 0, &none));
    sigpending(&pend);
    sigprocmask(SIG_BLOCK, NULL, &now);
    P("pending after epoll_pwait=%d blocked after=%d", sigismember(&pend, SIGWINCH),
      sigismember(&now, SIGWINCH));
    R("epoll_pwait unblocking mask, 10 ms", epoll_pwait(epm, evs, 1, 10, &none));
    sigpending(&pend);
    P("pending after waiting epoll_pwait=%d", sigismember(&pend, SIGWINCH));
    close(epm);
    R("ppoll bad mask pointer", ppoll(NULL, 0, &zero, BAD_PTR));
    R("unblock SIGWINCH", sigprocmask(SIG_UNBLOCK, &winch, NULL));

    /* moving data */
    int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(src, "0123456789abcdefghij", 20);
    int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off_t off = 5;
    R("sendfile offset", sendfile(dst, src, &off, 4));
    P("offset now %ld, src pos %ld", (long)off, (long)lseek(src, 0, SEEK_CUR));
    lseek(src, 10, SEEK_SET);
    R("sendfile pos", sendfile(dst, src, NULL, 3));
    P("src pos %ld", (long)lseek(src, 0, SEEK_CUR));
    loff_t oi = 0, oo = 20;
    R("copy_file_range", copy_file_range(src, &oi, dst, &oo, 6, 0));
    P("offsets %ld %ld", (long)oi, (long)oo);
    R("copy_file_range flags", copy_file_range(src, &oi, dst, &oo, 6, 1));
    pipe(p);
    loff_t so = 12;
    R("splice file->pipe", splice(src, &so, p[1], NULL, 5, 0));
    int q[2];
    pipe(q);
    R("tee", tee(p[0], q[1], 5, 0));
    R("splice pipe->file", splice(p[0], NULL, dst, NULL, 5, 0));
    R("read tee copy", read(q[0], buf, 10));
    P("tee data: %.5s", buf);
    R("splice file->file", splice(src, NULL, dst, NULL, 5, 0));
    fstat(dst, &st);
    pread(dst, buf, st.st_size, 0);
    P("dst: %.*s", (int)st.st_size, buf);

    /* memfd */
    int m = memfd_create("contract", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    R("memfd_create", m >= 0);
    P("memfd cloexec=%d", !!cloexec(m));
    R("ftruncate memfd", ftruncate(m, 4096));
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    strcpy(map, "through the mapping");
    R("pread memfd", pread(m, buf, 19, 0));
    P("memfd data: %.19s", buf);
    R("F_ADD_SEALS write while mapped", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
    R("F_ADD_SEALS grow", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
    R("F_GET_SEALS", fcntl(m, F_GET_SEALS));
    R("ftruncate sealed", ftruncate(m, 8192));

    /* locks */
    int a = open("lock", O_RDWR | O_CREAT, 0644), b = open("lock", O_RDWR);
    R("flock ex", flock(a, LOCK_EX));
    R("flock ex other nb", flock(b, LOCK_EX | LOCK_NB));
    R("flock un", flock(a, LOCK_UN));
    R("flock sh other", flock(b, LOCK_SH | LOCK_NB));
    R("flock bad", flock(a, 77));
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20};
    R("F_OFD_SETLK", fcntl(a, F_OFD_SETLK, &lk));
    struct flock q2 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    R("F_OFD_GETLK", fcntl(b, F_OFD_GETLK, &q2));
    P("conflict type=%d start=%ld len=%ld pid=%d", q2.l_type, (long)q2.l_start,
      (long)q2.l_len, q2.l_pid);
    struct flock q3 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1};
    R("F_OFD_SETLK conflict", fcntl(b, F_OFD_SETLK, &q3));
    struct flock q4 = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 40, .l_len = 5};
    R("F_SETLK", fcntl(a, F_SETLK, &q4));
    struct flock q5 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    R("F_GETLK own", fcntl(a, F_GETLK, &q5));
    P("own lock seen as type=%d", q5.l_type == F_UNLCK ? 2 : q5.l_type);

    /* event descriptors */
    int ev = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
    R("eventfd", ev >= 0);
    uint64_t v = 0;
    R("eventfd read", read(ev, &v, 8));
    P("eventfd value %llu", (unsigned long long)v);
    R("eventfd read empty", read(ev, &v, 8));
    v = 5;
    R("eventfd write", write(ev, &v, 8));
    R("eventfd short read", read(ev, &v, 4));
    R("eventfd bad flags", eventfd(0, 0x40));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    R("epoll_create1", ep >= 0);
    P("epoll cloexec=%d", !!cloexec(ep));
    R("epoll_create1 bad flags", epoll_create1(1));
    R("pipe2", pipe2(p, 0));
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    R("epoll_ctl add pipe", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ee));
    ee.events = EPOLLIN; ee.data.u64 = 0xABCDEF;
    R("epoll_ctl add eventfd", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &ee));
    R("epoll_ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &ee));
    R("epoll_ctl add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ee));
    R("epoll_ctl bad op", epoll_ctl(ep, 9, ev, &ee));
    R("epoll_ctl add regular file", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee));
    struct epoll_event out[4];
    R("epoll_wait", epoll_wait(ep, out, 4, 0));
    P("event %x data %llx", out[0].events, (unsigned long long)out[0].data.u64);
    write(p[1], "e", 1);
    v = 0;
    read(ev, &v, 8);
    R("epoll_wait pipe", epoll_wait(ep, out, 4, 1000));
    P("event %x data %llx", out[0].events, (unsigned long long)out[0].data.u64);
    ee.events = EPOLLOUT;
    R("epoll_ctl mod", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ee));
    R("epoll_ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    R("epoll_ctl del again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    R("epoll_wait timeout", epoll_wait(ep, out, 4, 10));
    R("epoll_wait bad max", epoll_wait(ep, out, 0, 0));
    R("epoll_wait bad pointer", epoll_wait(ep, BAD_PTR, 4, 0) < 0 ? -1 : 0);
    int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    R("timerfd_create", tf >= 0);
    struct itimerspec its = {{0, 0}, {100, 0}}, cur, old;
    R("timerfd_settime", timerfd_settime(tf, 0, &its, NULL));
    R("timerfd_gettime", timerfd_gettime(tf, &cur));
    P("armed: %d", cur.it_value.tv_sec > 90 && cur.it_value.tv_sec <= 100);
    its.it_value.tv_sec = 0; its.it_value.tv_nsec = 20000000;
    R("timerfd_settime again", timerfd_settime(tf, 0, &its, &old));
    P("old value was armed: %d", old.it_value.tv_sec > 90);
    v = 0;
    R("timerfd read (blocks until expiry)", read(tf, &v, 8));
    P("expirations %llu", (unsigned long long)v);
    R("timerfd bad clock", timerfd_create(99, 0));
    its.it_value.tv_nsec = 2000000000;
    R("timerfd bad time", timerfd_settime(tf, 0, &its, NULL));
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    R("inotify_init1", in >= 0);
    int wd = inotify_add_watch(in, ".", IN_CREATE);
    R("inotify_add_watch", wd > 0);
    close(open("watched", O_WRONLY | O_CREAT, 0644));
    char ibuf[256];
    ssize_t got = read(in, ibuf, sizeof ibuf);
    struct inotify_event *ie = (struct inotify_event *)ibuf;
    P("inotify event: %d mask=%x name=%s", got > 0, got > 0 ? ie->mask : 0, got > 0 ? ie->name : "");
    R("inotify_add_watch missing", inotify_add_watch(in, "missing-dir", IN_CREATE));
    R("inotify_rm_watch", inotify_rm_watch(in, wd));
    R("inotify_rm_watch again", inotify_rm_watch(in, wd));

    /* bad pointers */
    R("read bad pointer", read(fd, BAD_PTR, 4));
    R("write bad pointer", write(fd, BAD_PTR, 4));
    R("writev bad pointer", writev(fd, BAD_PTR, 1));
    R("fstat bad pointer", fstat(fd, BAD_PTR));
    R("pipe2 bad pointer", pipe2(BAD_PTR, 0));
    return 0;
}
