/* Contract: processes (kernel/process.py): fork, vfork, wait4/waitpid/waitid, execve of
 * ELF programs and #! scripts, posix_spawn, descriptors across execve.  The exec'd program
 * is this binary again (`all proc-child ...`), which prints its arguments and environment
 * and what it finds on descriptor 5.  qemu-user hands execve to the host kernel, which cannot
 * run an AArch64 program without binfmt_misc, so the lines from the successful execs (all
 * at the end, starting with "exec ") are compared with Linux (the native build) only. */
#include "contract.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

int proc_child(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        P("exec child argv[%d]=[%s]", i, argv[i]);
    P("exec child env EMU_PROC=[%s]", getenv("EMU_PROC") ? getenv("EMU_PROC") : "(unset)");
    char buf[16] = {0};
    long n = read(5, buf, sizeof buf - 1);
    P("exec child fd 5 read %ld [%s]", n, n > 0 ? buf : "");
    P("exec child fd 6 open=%d", fcntl(6, F_GETFD) >= 0);
    /* execve keeps the blocked mask and ignored signals (the parent set SIGUSR2, SIGHUP) */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7))
            P("exec child %.*s", (int)strcspn(line, "\n"), line);
    if (f)
        fclose(f);
    return 4;
}

static void status(const char *what, int st) {
    if (WIFEXITED(st))
        P("%s: exited %d", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        P("%s: killed by signal %d", what, WTERMSIG(st));
    else
        P("%s: status %#x", what, st);
}

int main(void) {
    int st = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        P("fork child: ppid matches=%d", getppid() > 1);
        _exit(3);
    }
    R("waitpid", waitpid(pid, &st, 0) == pid);   /* first: the child's line comes before */
    R("fork parent got pid", pid > 0);
    status("fork child", st);
    R("waitpid no children", waitpid(-1, &st, 0));
    R("waitpid WNOHANG no children", waitpid(-1, &st, WNOHANG));

    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(1);
    }
    waitpid(pid, &st, 0);
    status("child raising SIGTERM", st);

    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        char c;
        read(p[0], &c, 1);          /* wait for the parent's WNOHANG probe */
        _exit(c);
    }
    R("WNOHANG while running", waitpid(pid, &st, WNOHANG));
    write(p[1], "\x09", 1);
    siginfo_t si = {0};
    R("waitid", waitid(P_PID, pid, &si, WEXITED));
    P("waitid si_pid matches=%d si_code=%d si_status=%d", si.si_pid == pid, si.si_code,
      si.si_status);
    close(p[0]); close(p[1]);

    int shared = 1;
    fflush(stdout);
    pid = vfork();
    if (pid == 0)
        _exit(6);
    waitpid(pid, &st, 0);
    status("vfork child", st);
    (void)shared;

    /* SIGPIPE: the default action kills a writer to a pipe nobody reads; ignored, EPIPE */
    int z[2];
    pipe(z);
    close(z[0]);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        write(z[1], "x", 1);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    status("writer to a closed pipe", st);
    signal(SIGPIPE, SIG_IGN);
    R("write to a closed pipe, SIGPIPE ignored", write(z[1], "x", 1));
    signal(SIGPIPE, SIG_DFL);
    close(z[1]);

    /* SIGCHLD ignored: children are reaped by the kernel, wait finds none */
    signal(SIGCHLD, SIG_IGN);
    pid = fork();
    if (pid == 0)
        _exit(2);
    R("waitpid with SIGCHLD ignored", waitpid(pid, &st, 0));
    signal(SIGCHLD, SIG_DFL);

    /* execve failures, in a child (a success would replace it) */
    mkdir("adir", 0755);
    int t = open("text", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    write(t, "just text\n", 10);
    close(t);
    char *noargs[] = {"x", NULL};
    R("execve missing", execve("no-such-program", noargs, environ));
    R("execve directory", execve("adir", noargs, environ));
    R("execve text file", execve("text", noargs, environ));
    chmod("text", 0644);
    R("execve not executable", execve("text", noargs, environ));
    char self[4096];
    long len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = 0;
    R("execve bad argv", execve(self, BAD_PTR, environ));
    R("execve bad envp", execve(self, noargs, BAD_PTR));

    /* execve of this program: arguments, environment, descriptors, signal state */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    signal(SIGHUP, SIG_IGN);
    int q[2];
    pipe(q);
    write(q[1], "to the child", 12);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(q[0], 5);
        int six = open("text", O_RDONLY | O_CLOEXEC);
        dup2(six, 6);
        fcntl(6, F_SETFD, FD_CLOEXEC);
        char *argv[] = {"renamed", "proc-child", "two words", "", NULL};
        char *envp[] = {"EMU_PROC=yes", NULL};
        execve(self, argv, envp);
        P("exec execve failed: -%s", strerrorname_np(errno));
        _exit(127);
    }
    waitpid(pid, &st, 0);
    status("exec exec child", st);

    /* a #! script whose interpreter is this program */
    int s = open("script", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    dprintf(s, "#!%s proc-child\nignored\n", self);
    close(s);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *argv[] = {"script", "arg1", NULL};
        char *envp[] = {NULL};
        execve("./script", argv, envp);
        P("exec execve script failed: -%s", strerrorname_np(errno));
        _exit(127);
    }
    waitpid(pid, &st, 0);
    status("exec script child", st);

    /* posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc) */
    char *argv[] = {"spawned", "proc-child", "spawn", NULL};
    char *envp[] = {"EMU_PROC=spawned", NULL};
    fflush(stdout);
    int r = posix_spawn(&pid, self, NULL, NULL, argv, envp);
    if (r == 0)
        waitpid(pid, &st, 0);       /* first: the child's lines come before */
    P("exec posix_spawn: %d", r);
    if (r == 0)
        status("exec spawned child", st);
    return 0;
}
