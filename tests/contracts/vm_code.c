/* Contract (AArch64 only, compared with qemu-aarch64): code placed in memory by
 * the program, run, then replaced by unmapping, re-protecting, remapping or
 * overwriting the same addresses, and run again.  Each run must execute the
 * new instructions, never a stale translation. */
#include "contract.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#define PG 4096L
typedef int (*fn_t)(int);

/* mov w0, #N ; add w0, w0, w1?  Keep it simple: f(x) = x + N */
static void put(void *at, int n) {
    uint32_t code[2] = {0x11000000u | ((uint32_t)n << 10), 0xd65f03c0u};  /* add w0,w0,#n; ret */
    memcpy(at, code, sizeof code);
    __builtin___clear_cache((char *)at, (char *)at + sizeof code);
}

static long hot(fn_t f, int times) {          /* run it enough to get it optimised */
    long s = 0;
    for (int i = 0; i < times; i++) s += f(i & 7);
    return s;
}

int main(void) {
    const int RX = PROT_READ | PROT_EXEC, RW = PROT_READ | PROT_WRITE;
    char *a = mmap(NULL, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put(a, 1);
    R("mprotect rx", mprotect(a, PG, RX));
    P("call: %d hot: %ld", ((fn_t)a)(100), hot((fn_t)a, 20000));

    /* 1. unmap, map fresh memory at the same address, new code */
    R("munmap", munmap(a, PG));
    char *b = mmap(a, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    P("same address: %d", b == a);
    put(b, 2);
    mprotect(b, PG, RX);
    P("after remap: %d hot: %ld", ((fn_t)b)(100), hot((fn_t)b, 20000));

    /* 2. make it writable, rewrite, make it executable again */
    R("mprotect rw", mprotect(b, PG, RW));
    put(b, 3);
    R("mprotect rx", mprotect(b, PG, RX));
    P("after re-protect: %d hot: %ld", ((fn_t)b)(100), hot((fn_t)b, 20000));

    /* 3. MAP_FIXED straight over live code */
    char *c = mmap(b, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    put(c, 4);
    P("after map fixed: %d hot: %ld", ((fn_t)c)(100), hot((fn_t)c, 20000));

    /* 4. self-modifying: rewrite an RWX page in place */
    put(c, 5);
    P("after store: %d", ((fn_t)c)(100));
    for (int i = 6; i < 10; i++) {
        put(c, i);
        P("loop store %d: %d", i, ((fn_t)c)(100));
    }

    /* 5. move the code with mremap, then put other code at the old place */
    put(c, 10);
    char *dst = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *d = mremap(c, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PG);
    P("moved: %d call: %d", d == dst + PG, ((fn_t)d)(100));
    char *e = mmap(c, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    put(e, 11);
    mprotect(e, PG, RX);
    P("old place: %d new place: %d", ((fn_t)e)(100), ((fn_t)d)(100));

    /* 6. code from a file: map it, patch the private copy, drop the patch */
    int fd = open("code.bin", O_RDWR | O_CREAT | O_TRUNC, 0755);
    char page[PG] = {0};
    put(page, 20);
    write(fd, page, PG);
    char *f = mmap(NULL, PG, RX, MAP_PRIVATE, fd, 0);
    P("file code: %d hot: %ld", ((fn_t)f)(100), hot((fn_t)f, 20000));
    mprotect(f, PG, RW | PROT_EXEC);
    put(f, 21);
    P("patched private copy: %d", ((fn_t)f)(100));
    R("madvise dontneed", madvise(f, PG, MADV_DONTNEED));
    __builtin___clear_cache(f, f + 8);
    P("back to the file: %d", ((fn_t)f)(100));
    put(page, 22);
    pwrite(fd, page, PG, 0);
    char *g = mmap(f, PG, RX, MAP_PRIVATE | MAP_FIXED, fd, 0);
    P("file rewritten and remapped: %d", ((fn_t)g)(100));
    return 0;
}
