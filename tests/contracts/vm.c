/* Contract: the memory map (kernel/mm.py, kernel/vma.py).  Mapped-or-not is
 * probed with msync/mincore (ENOMEM for a hole), never by faulting. */
#include "contract.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define PG 4096L

static int mapped(void *p) { return msync((void *)((long)p & ~(PG - 1)), PG, MS_ASYNC) == 0; }

static const char *maps_perms(void *p) {
    static char perms[8];
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    strcpy(perms, "none");
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char pr[8];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pr) == 3 && lo <= (unsigned long)p &&
            (unsigned long)p < hi) {
            strcpy(perms, pr);
            break;
        }
    }
    if (f) fclose(f);
    return perms;
}

int main(void) {
    char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    R("mmap anon", a != MAP_FAILED);
    P("zero filled: %d", a[0] == 0 && a[4 * PG - 1] == 0);
    memset(a, 'a', 4 * PG);
    P("maps perms: %s", maps_perms(a));
    R("mprotect ro", mprotect(a + PG, PG, PROT_READ));
    P("maps perms: %s", maps_perms(a));
    P("maps perms: %s", maps_perms(a + PG));
    P("maps perms: %s", maps_perms(a + 2 * PG));
    R("mprotect none", mprotect(a + 2 * PG, PG, PROT_NONE));
    P("maps perms: %s", maps_perms(a + 2 * PG));
    R("mprotect back", mprotect(a, 4 * PG, PROT_READ | PROT_WRITE));
    P("contents kept: %d", a[2 * PG] == 'a');
    R("munmap middle", munmap(a + PG, PG));
    P("mapped: %d %d %d", mapped(a), mapped(a + PG), mapped(a + 2 * PG));
    R("mprotect over hole", mprotect(a, 3 * PG, PROT_READ));
    P("maps perms before the hole: %s", maps_perms(a));         /* applied up to the hole */
    R("mprotect back", mprotect(a, PG, PROT_READ | PROT_WRITE));
    R("munmap unaligned", munmap(a + 1, PG));
    R("munmap zero length", munmap(a, 0));
    R("munmap hole again", munmap(a + PG, PG));
    R("mprotect bad prot", mprotect(a, PG, 0x100));

    /* fixed placement */
    char *f1 = mmap(a + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    P("noreplace into hole: %d", f1 == a + PG);
    errno = 0;
    char *f2 = mmap(a, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    P("noreplace over mapping: %s", f2 == MAP_FAILED ? strerrorname_np(errno) : "mapped");
    a[0] = 'x';
    char *f3 = mmap(a, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    P("fixed replaces: %d zeroed=%d", f3 == a, a[0] == 0);
    char *h = mmap(a, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    P("busy hint moved: %d", h != MAP_FAILED && h != a);
    errno = 0;
    P("mmap len 0: %s", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
      ? strerrorname_np(errno) : "mapped");
    errno = 0;
    P("mmap no type: %s", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED
      ? strerrorname_np(errno) : "mapped");
    errno = 0;
    P("mmap bad fd: %s", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED
      ? strerrorname_np(errno) : "mapped");
    int flags[] = {MAP_GROWSDOWN, MAP_NORESERVE, MAP_POPULATE, MAP_STACK, MAP_LOCKED};
    for (int i = 0; i < 5; i++) {
        char *x = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags[i], -1, 0);
        if (x != MAP_FAILED) x[PG] = 1;
        P("flag %x: %d", flags[i], x != MAP_FAILED);
    }

    /* mremap */
    char *r = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(r, "remap me");
    mmap(r + 2 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    errno = 0;
    P("mremap grow in place blocked: %s",
      mremap(r, 2 * PG, 4 * PG, 0) == MAP_FAILED ? strerrorname_np(errno) : "grew");
    char *r2 = mremap(r, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    P("mremap moved: %d data=%s tail zero=%d old mapped=%d", r2 != r, r2, r2[3 * PG] == 0,
      mapped(r));
    char *r3 = mremap(r2, 4 * PG, PG, 0);
    P("mremap shrink in place: %d tail mapped=%d", r3 == r2, mapped(r2 + PG));
    char *target = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *r4 = mremap(r3, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + 4 * PG);
    P("mremap fixed: %d data=%s", r4 == target + 4 * PG, r4);
    errno = 0;
    P("mremap fixed without maymove: %s",
      mremap(r4, PG, PG, MREMAP_FIXED, target) == MAP_FAILED ? strerrorname_np(errno) : "ok");
    errno = 0;
    P("mremap unmapped: %s", mremap(a + 8 * PG + 0x100000000L, PG, PG, 0) == MAP_FAILED
      ? strerrorname_np(errno) : "ok");

    /* files */
    int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char page[PG];
    memset(page, 'F', PG);
    write(fd, page, PG);
    write(fd, "tail", 4);
    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    P("file maps: %d %d", s != MAP_FAILED, p != MAP_FAILED);
    P("tail and zero past eof: %.4s %d", s + PG, s[PG + 4] == 0);
    memcpy(s, "SHARED", 6);
    char buf[16] = {0};
    pread(fd, buf, 6, 0);
    P("read() sees shared store: %s", buf);
    pwrite(fd, "WRITE", 5, 100);
    P("shared map sees write(): %.5s", s + 100);
    P("private map sees untouched page: %.6s", p);
    memcpy(p, "PRIVATE", 7);
    pread(fd, buf, 7, 0);
    P("file after private store: %.7s", buf);
    R("madvise dontneed private file", madvise(p, PG, MADV_DONTNEED));
    P("private back to file: %.6s", p);
    R("msync", msync(s, 2 * PG, MS_SYNC));
    R("msync bad flags", msync(s, PG, MS_SYNC | MS_ASYNC));
    R("msync unaligned", msync(s + 1, PG, MS_SYNC));
    char *shr = mremap(s, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
    P("shared mremap keeps file: %.6s", shr);
    memcpy(shr + 10, "MOVED", 5);
    pread(fd, buf, 5, 10);
    P("file sees moved map: %.5s", buf);
    int ro = open("file", O_RDONLY);
    errno = 0;
    P("shared writable on ro fd: %s", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0)
      == MAP_FAILED ? strerrorname_np(errno) : "mapped");
    char *sro = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
    R("mprotect shared ro to rw", mprotect(sro, PG, PROT_READ | PROT_WRITE));
    errno = 0;
    P("mmap offset unaligned: %s", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED
      ? strerrorname_np(errno) : "mapped");
    char *off = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    P("mmap at offset: %.4s", off);
    int pfd[2];
    pipe(pfd);
    errno = 0;
    P("mmap a pipe: %s", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0) == MAP_FAILED
      ? strerrorname_np(errno) : "mapped");
    int z = open("/dev/zero", O_RDWR);
    char *zm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    P("/dev/zero map: %d %d", zm != MAP_FAILED, zm != MAP_FAILED && zm[5] == 0);

    /* advice, residency, locking */
    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 'm', 4 * PG);
    R("madvise dontneed", madvise(m, 2 * PG, MADV_DONTNEED));
    P("zeroed: %d %d kept: %d", m[0] == 0, m[PG] == 0, m[2 * PG] == 'm');
    R("madvise willneed", madvise(m, 4 * PG, MADV_WILLNEED));
    R("madvise free", madvise(m, PG, MADV_FREE));
    R("madvise hugepage", madvise(m, 4 * PG, MADV_HUGEPAGE));
    R("madvise bad advice", madvise(m, PG, 1234));
    R("madvise unaligned", madvise(m + 1, PG, MADV_NORMAL));
    R("madvise unmapped", madvise(a + PG * 64 + 0x200000000L, PG, MADV_NORMAL));
    unsigned char vec[4];
    R("mincore", mincore(m + 2 * PG, 2 * PG, vec));
    P("resident: %d %d", vec[0] & 1, vec[1] & 1);
    R("mincore unmapped", mincore(a + PG * 64 + 0x200000000L, PG, vec));
    R("mlock", mlock(m, PG));
    R("munlock", munlock(m, PG));
    R("mlock unmapped", mlock(a + PG * 64 + 0x200000000L, PG));
    R("mlockall bad", mlockall(0));

    /* brk */
    void *b0 = sbrk(0);
    R("sbrk grow", sbrk(3 * PG) == b0 ? 0 : -1);
    memset(b0, 'b', 3 * PG);
    R("sbrk shrink", sbrk(-2 * PG) != (void *)-1 ? 0 : -1);
    P("brk moved back: %d", (char *)sbrk(0) == (char *)b0 + PG);
    sbrk(2 * PG);
    P("regrown heap zeroed: %d", ((char *)b0)[2 * PG] == 0);
    return 0;
}
