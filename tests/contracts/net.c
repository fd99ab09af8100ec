/* Contract: sockets (kernel/net.py): AF_UNIX stream sockets bound to a path in the current
 * directory, socketpair, UDP on the loopback, options, shutdown, bad input. */
#include "contract.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
    char buf[64];
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    R("socket unix", s >= 0);
    P("cloexec=%d", !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "sock");
    R("bind", bind(s, (struct sockaddr *)&a, sizeof a));
    R("bind again", bind(s, (struct sockaddr *)&a, sizeof a));
    R("listen", listen(s, 4));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    R("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_un peer;
    socklen_t len = sizeof peer;
    int d = accept4(s, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    R("accept4", d >= 0);
    P("accepted len=%u family=%d cloexec=%d", len, peer.sun_family,
      !!(fcntl(d, F_GETFD) & FD_CLOEXEC));
    struct sockaddr_un name;
    len = sizeof name;
    R("getsockname", getsockname(s, (struct sockaddr *)&name, &len));
    P("name len=%u path=%s", len, name.sun_path);
    len = sizeof name;
    R("getpeername", getpeername(c, (struct sockaddr *)&name, &len));
    P("peer len=%u path=%s", len, name.sun_path);
    R("send", send(c, "hello", 5, 0));
    memset(buf, 0, sizeof buf);
    R("recv", recv(d, buf, sizeof buf, 0));
    P("got %s", buf);
    R("shutdown", shutdown(c, SHUT_WR));
    R("recv after shutdown", recv(d, buf, sizeof buf, 0));
    int type = 0;
    len = sizeof type;
    R("getsockopt SO_TYPE", getsockopt(d, SOL_SOCKET, SO_TYPE, &type, &len));
    P("type=%d len=%u", type, len);
    int on = 1;
    R("setsockopt SO_KEEPALIVE", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on));
    on = 0;
    len = sizeof on;
    getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
    P("keepalive=%d", on);
    R("connect nowhere", connect(socket(AF_UNIX, SOCK_STREAM, 0),
                                 (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "nosuch"},
                                 sizeof a));
    close(c); close(d); close(s);

    int sv[2];
    R("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    R("write pair", write(sv[0], "dgram", 5));
    memset(buf, 0, sizeof buf);
    R("read pair", read(sv[1], buf, sizeof buf));
    P("pair got %s", buf);
    close(sv[0]); close(sv[1]);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    R("bind udp", bind(u, (struct sockaddr *)&in, sizeof in));
    len = sizeof in;
    getsockname(u, (struct sockaddr *)&in, &len);
    P("udp port nonzero=%d len=%u", in.sin_port != 0, len);
    R("sendto self", sendto(u, "ping", 4, 0, (struct sockaddr *)&in, sizeof in));
    struct sockaddr_in from;
    len = sizeof from;
    memset(buf, 0, sizeof buf);
    R("recvfrom", recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    P("from family=%d same port=%d data=%s", from.sin_family, from.sin_port == in.sin_port, buf);
    close(u);

    R("socket bad family", socket(12345, SOCK_STREAM, 0));
    R("socket bad type", socket(AF_UNIX, 12345, 0));
    int b = socket(AF_UNIX, SOCK_STREAM, 0);
    R("connect bad pointer", connect(b, BAD_PTR, sizeof a));
    R("getsockopt bad pointer", getsockopt(b, SOL_SOCKET, SO_TYPE, BAD_PTR, &len));
    R("socketpair bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR));
    R("accept on unbound", accept(b, NULL, NULL));
    R("listen on file", listen(1, 1));
    close(b);
    return 0;
}
