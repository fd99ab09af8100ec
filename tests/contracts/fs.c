/* Contract: path-based file system calls (kernel/fs.py, kernel/path.py). */
#include "contract.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <linux/openat2.h>

static void show_stat(const char *what, const char *path, int flags) {
    struct stat st;
    errno = 0;
    if (fstatat(AT_FDCWD, path, &st, flags) < 0) {
        P("%s: -%s", what, strerrorname_np(errno));
        return;
    }
    P("%s: type=%o perm=%o nlink=%ld size=%ld", what, st.st_mode & S_IFMT, st.st_mode & 07777,
      (long)st.st_nlink, S_ISDIR(st.st_mode) ? -1L : (long)st.st_size);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) { P("opendir %s: -%s", dir, strerrorname_np(errno)); return; }
    char *names[64]; int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char *s = malloc(300);
        snprintf(s, 300, "%s(%d)", e->d_name, e->d_type);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("list %s:", dir);
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    putchar('\n');
}

int main(void) {
    char buf[512];
    umask(022);
    R("mkdir", mkdir("d", 0755));
    R("mkdir exists", mkdir("d", 0755));
    R("mkdirat", mkdirat(AT_FDCWD, "d/sub", 0700));
    R("mkdir missing parent", mkdir("nope/x", 0755));
    int f = open("d/file", O_WRONLY | O_CREAT | O_EXCL, 0666);
    R("open creat excl", f);
    R("write", write(f, "twelve bytes", 12));
    close(f);
    R("open creat excl again", open("d/file", O_WRONLY | O_CREAT | O_EXCL, 0666));
    R("open directory flag on file", open("d/file", O_RDONLY | O_DIRECTORY));
    R("open dir for write", open("d", O_WRONLY));
    R("open missing", open("d/missing", O_RDONLY));
    R("open through file", open("d/file/x", O_RDONLY));
    show_stat("stat file", "d/file", 0);
    show_stat("stat dir", "d", 0);
    R("symlink", symlink("file", "d/link"));
    R("symlink exists", symlink("file", "d/link"));
    R("symlink dangling", symlink("nowhere", "d/dangling"));
    show_stat("stat link", "d/link", 0);
    show_stat("lstat link", "d/link", AT_SYMLINK_NOFOLLOW);
    show_stat("stat dangling", "d/dangling", 0);
    R("open nofollow", open("d/link", O_RDONLY | O_NOFOLLOW));
    R("open path nofollow", open("d/link", O_PATH | O_NOFOLLOW) >= 0);
    ssize_t n = readlink("d/link", buf, sizeof buf);
    R("readlink", n);
    P("readlink: %.*s", (int)n, buf);
    R("readlink short buffer", readlink("d/link", buf, 2));
    R("readlink not a link", readlink("d/file", buf, sizeof buf));
    R("readlink zero size", readlinkat(AT_FDCWD, "d/link", buf, 0));
    R("link", link("d/file", "d/hard"));
    show_stat("stat after link", "d/file", 0);
    R("link exists", link("d/file", "d/hard"));
    R("rename", rename("d/hard", "d/hard2"));
    R("renameat2 noreplace", renameat2(AT_FDCWD, "d/hard2", AT_FDCWD, "d/file", RENAME_NOREPLACE));
    R("renameat2 exchange", renameat2(AT_FDCWD, "d/link", AT_FDCWD, "d/dangling", RENAME_EXCHANGE));
    n = readlink("d/link", buf, sizeof buf);
    P("after exchange link -> %.*s", (int)n, buf);
    R("rename dir over file", rename("d/sub", "d/file"));
    R("rmdir non-empty", rmdir("d"));
    R("unlink dir", unlink("d/sub"));
    R("rmdir file", rmdir("d/file"));
    R("unlinkat removedir on file", unlinkat(AT_FDCWD, "d/file", AT_REMOVEDIR));
    R("mkfifo", mkfifo("d/fifo", 0600));
    show_stat("stat fifo", "d/fifo", 0);
    R("mknod regular", mknod("d/node", S_IFREG | 0640, 0));
    show_stat("stat node", "d/node", 0);
    list("d");

    /* dirfd-relative calls */
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    R("open dir", dfd >= 0);
    R("openat relative", openat(dfd, "file", O_RDONLY) >= 0);
    R("openat ../d/file", openat(dfd, "../d/file", O_RDONLY) >= 0);
    int ff = open("d/file", O_RDONLY);
    R("openat file as dirfd", openat(ff, "x", O_RDONLY));
    R("openat bad dirfd", openat(999, "x", O_RDONLY));
    struct stat st;
    R("fstatat empty path", fstatat(dfd, "", &st, AT_EMPTY_PATH));
    P("empty path is dir=%d", S_ISDIR(st.st_mode));
    R("fstatat empty no flag", fstatat(dfd, "", &st, 0));
    R("fstatat bad flags", fstatat(dfd, "file", &st, 0x4));

    /* permissions and times */
    R("chmod", chmod("d/file", 0600));
    show_stat("stat after chmod", "d/file", 0);
    R("fchmod", fchmod(ff, 0644));
    R("fchmodat", fchmodat(dfd, "file", 0640, 0));
    show_stat("stat after fchmodat", "d/file", 0);
    R("chown same", chown("d/file", getuid(), getgid()));
    R("lchown link", lchown("d/link", -1, -1));
    R("fchownat empty", fchownat(ff, "", -1, -1, AT_EMPTY_PATH));
    R("access F_OK", access("d/file", F_OK));
    R("access missing", access("d/missing", F_OK));
    R("faccessat R_OK", faccessat(dfd, "file", R_OK, AT_EACCESS));
    R("faccessat bad mode", faccessat(dfd, "file", 0x100, 0));
    struct timespec times[2] = {{1000000000, 500}, {1234567890, 250000000}};
    R("utimensat", utimensat(AT_FDCWD, "d/file", times, 0));
    stat("d/file", &st);
    P("times atime=%ld.%09ld mtime=%ld.%09ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
      (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
    R("futimens omit", futimens(ff, omit));
    stat("d/file", &st);
    P("times atime=%ld mtime=%ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec badt[2] = {{0, 2000000000}, {0, 0}};
    R("utimensat bad nsec", utimensat(AT_FDCWD, "d/file", badt, 0));

    /* sizes */
    R("truncate", truncate("d/file", 5));
    show_stat("stat after truncate", "d/file", 0);
    int w = open("d/file", O_RDWR);
    R("ftruncate", ftruncate(w, 100));
    show_stat("stat after ftruncate", "d/file", 0);
    R("ftruncate negative", ftruncate(w, -1));
    R("ftruncate read-only fd", ftruncate(ff, 1));
    R("fallocate", fallocate(w, 0, 0, 8192));
    show_stat("stat after fallocate", "d/file", 0);
    R("fallocate keep size", fallocate(w, FALLOC_FL_KEEP_SIZE, 0, 65536));
    show_stat("stat after keep size", "d/file", 0);
    R("fsync", fsync(w));
    R("fdatasync", fdatasync(w));
    R("sync_file_range", sync_file_range(w, 0, 0, SYNC_FILE_RANGE_WRITE));
    R("posix_fadvise", posix_fadvise(w, 0, 0, POSIX_FADV_SEQUENTIAL));
    R("O_APPEND write", ({ int a = open("d/file", O_WRONLY | O_APPEND); write(a, "xy", 2); }));
    show_stat("stat after append", "d/file", 0);
    R("open trunc", ({ int t = open("d/file", O_WRONLY | O_TRUNC); t >= 0; }));
    show_stat("stat after O_TRUNC", "d/file", 0);

    /* statx, statfs */
    struct statx sx;
    R("statx", statx(AT_FDCWD, "d/node", 0, STATX_BASIC_STATS, &sx));
    P("statx size=%llu mode=%o basic=%d", (unsigned long long)sx.stx_size, sx.stx_mode,
      (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
    R("statx nofollow", statx(AT_FDCWD, "d/link", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx));
    P("statx link type=%o", sx.stx_mode & S_IFMT);
    R("statx bad flags", statx(AT_FDCWD, "d", 0x80000000, STATX_TYPE, &sx));
    struct statfs sf, sf2;
    R("statfs", statfs(".", &sf));
    R("fstatfs", fstatfs(dfd, &sf2));
    P("statfs same=%d bsize>0=%d namelen=%ld", sf.f_type == sf2.f_type, sf.f_bsize > 0,
      (long)sf.f_namelen);
    R("statfs missing", statfs("nope", &sf));

    /* cwd */
    R("chdir", chdir("d/sub"));
    char *cwd = getcwd(buf, sizeof buf);
    P("cwd ends with /d/sub: %d", cwd && strlen(cwd) > 6 && !strcmp(cwd + strlen(cwd) - 6, "/d/sub"));
    R("getcwd small", getcwd(buf, 3) ? 0 : -1);
    R("chdir ..", chdir("../.."));
    R("fchdir", fchdir(dfd));
    R("access relative after fchdir", access("file", F_OK));
    R("chdir file", chdir("file"));
    R("fchdir file", fchdir(ff));
    R("chdir ..", chdir(".."));

    /* openat2 */
    struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    R("openat2 beneath ok", syscall(SYS_openat2, dfd, "file", &how, sizeof how) >= 0);
    R("openat2 beneath escape", syscall(SYS_openat2, dfd, "../d/file", &how, sizeof how));
    how.resolve = RESOLVE_NO_SYMLINKS;
    R("openat2 no symlinks", syscall(SYS_openat2, dfd, "link", &how, sizeof how));
    how.resolve = 0; how.flags = 1ULL << 40;
    R("openat2 bad flags", syscall(SYS_openat2, dfd, "file", &how, sizeof how));
    how.flags = O_RDONLY; how.mode = 0644;
    R("openat2 mode without creat", syscall(SYS_openat2, dfd, "file", &how, sizeof how));
    how.mode = 0;
    R("openat2 small size", syscall(SYS_openat2, dfd, "file", &how, 8));

    /* xattrs (user.* on the test directory's file system) */
    long xs = setxattr("d/file", "user.contract", "v1", 2, 0);
    if (xs == 0) {
        R("getxattr", getxattr("d/file", "user.contract", buf, sizeof buf));
        R("getxattr size", getxattr("d/file", "user.contract", NULL, 0));
        R("getxattr small", getxattr("d/file", "user.contract", buf, 1));
        R("listxattr has it", listxattr("d/file", buf, sizeof buf) > 0);
        R("setxattr create exists", setxattr("d/file", "user.contract", "v2", 2, XATTR_CREATE));
        R("removexattr", removexattr("d/file", "user.contract"));
        R("getxattr gone", getxattr("d/file", "user.contract", buf, sizeof buf));
    } else {
        P("xattrs unsupported here: -%s", strerrorname_np(errno));
    }

    /* cleanup checks */
    R("unlink", unlink("d/link"));
    R("unlink missing", unlink("d/link"));
    R("unlinkat dir", unlinkat(AT_FDCWD, "d/sub", AT_REMOVEDIR));
    R("unlinkat bad flags", unlinkat(AT_FDCWD, "d/file", 0x1));
    R("mkdir bad pointer", mkdir(BAD_PTR, 0755));
    R("stat bad pointer", stat("d/file", BAD_PTR));
    R("getcwd bad pointer", syscall(SYS_getcwd, BAD_PTR, 100));
    R("readlink bad pointer", readlink("d/dangling", BAD_PTR, 10));
    list("d");
    return 0;
}
