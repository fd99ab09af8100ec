/* Contract: terminal ioctls (kernel/fd.py) on a pseudo-terminal the program
 * opens itself, and on descriptors that are not terminals. */
#include "contract.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
    struct termios t;
    struct winsize ws;
    int p[2];
    pipe(p);
    R("isatty pipe", isatty(p[0]));
    R("tcgetattr pipe", tcgetattr(p[0], &t));
    R("TIOCGWINSZ pipe", ioctl(p[0], TIOCGWINSZ, &ws));
    int f = open("plain", O_RDWR | O_CREAT, 0644);
    R("TCGETS file", ioctl(f, TCGETS, &t));
    R("unknown ioctl", ioctl(f, 0x5401 + 0x70, 0));
    R("FIONREAD file", ioctl(f, FIONREAD, &(int){0}));

    int m = posix_openpt(O_RDWR | O_NOCTTY);
    R("posix_openpt", m >= 0);
    R("grantpt", grantpt(m));
    R("unlockpt", unlockpt(m));
    char *name = ptsname(m);
    P("ptsname under /dev/pts: %d", name && !strncmp(name, "/dev/pts/", 9));
    int s = open(name, O_RDWR | O_NOCTTY);
    R("open slave", s >= 0);
    R("isatty slave", isatty(s));
    R("isatty master", isatty(m));
    R("tcgetattr", tcgetattr(s, &t));
    P("default canonical=%d echo=%d", !!(t.c_lflag & ICANON), !!(t.c_lflag & ECHO));
    cfmakeraw(&t);
    R("tcsetattr raw", tcsetattr(s, TCSANOW, &t));
    struct termios t2;
    tcgetattr(s, &t2);
    P("raw canonical=%d echo=%d", !!(t2.c_lflag & ICANON), !!(t2.c_lflag & ECHO));
    t2.c_lflag |= ICANON;
    R("tcsetattr drain", tcsetattr(s, TCSADRAIN, &t2));
    R("tcsetattr flush", tcsetattr(s, TCSAFLUSH, &t2));
    tcgetattr(s, &t2);
    P("canonical again=%d", !!(t2.c_lflag & ICANON));
    R("cfsetospeed", cfsetospeed(&t2, B9600));
    R("tcsetattr speed", tcsetattr(s, TCSANOW, &t2));
    tcgetattr(s, &t2);
    P("speed 9600=%d", cfgetospeed(&t2) == B9600);
    struct winsize set = {40, 132, 0, 0};
    R("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &set));
    R("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &ws));
    P("winsize %dx%d", ws.ws_row, ws.ws_col);

    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    R("write master", write(m, "typed", 5));
    struct pollfd pf = {s, POLLIN, 0};
    R("poll slave", poll(&pf, 1, 2000));
    int n = -1;
    R("FIONREAD slave", ioctl(s, FIONREAD, &n));
    P("pending %d", n);
    char buf[16] = {0};
    R("read slave", read(s, buf, sizeof buf));
    P("got %s", buf);
    R("write slave", write(s, "out", 3));
    pf.fd = m;
    R("poll master", poll(&pf, 1, 2000));
    R("read master", read(m, buf, sizeof buf));
    R("TIOCOUTQ", ioctl(s, TIOCOUTQ, &n));
    R("tcflush", tcflush(s, TCIOFLUSH));
    R("tcdrain", tcdrain(s));
    R("tcsendbreak", tcsendbreak(s, 0));
    R("tcflow", tcflow(s, TCOON));
    R("TIOCGPGRP not controlling", ioctl(s, TIOCGPGRP, &n));
    R("tcgetsid not controlling", tcgetsid(s));
    int on = 1;
    R("FIONBIO", ioctl(s, FIONBIO, &on));
    R("read empty nonblocking", read(s, buf, sizeof buf));
    R("F_GETFL nonblock", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
    R("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
    R("TIOCGPTN on slave", ioctl(s, TIOCGPTN, &n));
    R("TCGETS bad pointer", ioctl(s, TCGETS, BAD_PTR));
    R("TIOCGWINSZ bad pointer", ioctl(s, TIOCGWINSZ, BAD_PTR));
    close(s);
    pf.fd = m; pf.events = POLLIN;
    R("poll master after slave closed", poll(&pf, 1, 0));
    P("master revents hup=%d", !!(pf.revents & POLLHUP));
    return 0;
}
