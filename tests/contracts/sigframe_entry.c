/* Behaviour oracle for kernel/sigframe.py: what a handler sees on entry.  The signal is sent
 * with a raw tkill SVC from inline assembly with known x19-x28, x29, x30, NZCV and SP; an
 * assembly entry stub records x0, x1, x2, SP, x29, x30 exactly as delivered, then the C
 * handler dumps the frame (ucontext fields, saved registers, __reserved records, the frame
 * record x29 points at, siginfo).  tests/test_sigframe.py builds the same interrupted state
 * with sigframe.setup_frame and compares every "name value" line.  Run under qemu-aarch64
 * with QEMU_CPU=max,sve=off (no SVE, as emu advertises; otherwise qemu adds an sve_context).
 * Values are printed relative to the SP at the SVC where they are addresses.
 * oracle: qemu-only
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/sigcontext.h>
#include <sys/syscall.h>

uint64_t at_entry[6];                 /* x0, x1, x2, sp, x29, x30 on handler entry */
static uint64_t svc_sp, svc_pc, nzcv_before;
static void c_handler(int sig, siginfo_t *si, void *ctx);

__asm__(".text\n"
        ".global entry_stub\n"
        ".type entry_stub, %function\n"
        "entry_stub:\n"
        "  adrp x9, at_entry\n"
        "  add x9, x9, :lo12:at_entry\n"
        "  mov x10, sp\n"
        "  stp x0, x1, [x9]\n"
        "  stp x2, x10, [x9, #16]\n"
        "  stp x29, x30, [x9, #32]\n"
        "  b c_handler_tail\n");
void entry_stub(int, siginfo_t *, void *);
void c_handler_tail(int sig, siginfo_t *si, void *ctx) { c_handler(sig, si, ctx); }

#define P(name, value) printf("%s %lld\n", name, (long long)(value))

static void c_handler(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    mcontext_t *mc = &uc->uc_mcontext;
    P("x0", at_entry[0]);
    P("x1_minus_sp", at_entry[1] - at_entry[3]);
    P("x2_minus_sp", at_entry[2] - at_entry[3]);
    P("sp_minus_svc_sp", at_entry[3] - svc_sp);
    P("x29_minus_svc_sp", at_entry[4] - svc_sp);
    uint32_t *tramp = (uint32_t *)at_entry[5];
    P("x30_insn0", tramp[0]);
    P("x30_insn1", tramp[1]);
    uint64_t *rec = (uint64_t *)at_entry[4];
    P("record_fp", rec[0]);
    P("record_lr", rec[1]);
    P("si_signo", si->si_signo);
    P("si_errno", si->si_errno);
    P("si_code", si->si_code);
    P("si_pid_is_getpid", si->si_pid == getpid());
    P("si_uid_is_getuid", si->si_uid == getuid());
    P("sig", sig);
    P("uc_flags", uc->uc_flags);
    P("uc_link", (uintptr_t)uc->uc_link);
    P("uc_ss_sp", (uintptr_t)uc->uc_stack.ss_sp);
    P("uc_ss_flags", uc->uc_stack.ss_flags);
    P("uc_ss_size", uc->uc_stack.ss_size);
    uint64_t mask;
    memcpy(&mask, &uc->uc_sigmask, 8);
    P("uc_sigmask", mask);
    P("fault_address", mc->fault_address);
    P("saved_x0", mc->regs[0]);
    P("saved_x8", mc->regs[8]);
    for (int i = 19; i <= 30; i++) {
        char name[16];
        snprintf(name, sizeof name, "saved_x%d", i);
        P(name, mc->regs[i]);
    }
    P("saved_sp_minus_svc_sp", mc->sp - svc_sp);
    P("saved_pc_minus_svc_pc", mc->pc - svc_pc);
    P("saved_pstate", mc->pstate);
    P("nzcv_before", nzcv_before);
    unsigned char *p = mc->__reserved;
    for (int n = 0; n < 8; n++) {
        struct _aarch64_ctx *h = (struct _aarch64_ctx *)p;
        char name[32];
        snprintf(name, sizeof name, "record%d_offset", n);
        P(name, p - mc->__reserved);
        snprintf(name, sizeof name, "record%d_magic", n);
        P(name, h->magic);
        snprintf(name, sizeof name, "record%d_size", n);
        P(name, h->size);
        if (h->magic == FPSIMD_MAGIC) {
            struct fpsimd_context *f = (struct fpsimd_context *)h;
            P("fpsimd_fpsr", f->fpsr);
            P("fpsimd_fpcr", f->fpcr);
            P("fpsimd_v20_lo", (uint64_t)f->vregs[20]);
            P("fpsimd_v20_hi", (uint64_t)(f->vregs[20] >> 64));
        }
        if (h->magic == 0)
            break;
        p += h->size;
    }
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = entry_stub;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGRTMIN + 3);
    sigprocmask(SIG_BLOCK, &block, NULL);

    long tid = syscall(SYS_gettid);
    uint64_t v20[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
    __asm__ volatile(
        "stp x29, x30, [sp, #-16]!\n\t"
        "ldr q20, [%[v20]]\n\t"
        "mov x9, #0x00400000\n\t" "msr fpcr, x9\n\t"      /* round towards +inf */
        "mov x9, #0x08000000\n\t" "msr fpsr, x9\n\t"      /* QC */
        "mov x19, #19\n\t" "mov x20, #20\n\t" "mov x21, #21\n\t" "mov x22, #22\n\t"
        "mov x23, #23\n\t" "mov x24, #24\n\t" "mov x25, #25\n\t" "mov x26, #26\n\t"
        "mov x27, #27\n\t" "mov x28, #28\n\t"
        "mov x29, #0x2900\n\t" "mov x30, #0x3000\n\t"
        "mov x0, %[tid]\n\t" "mov x1, #10\n\t" "mov x8, #130\n\t"
        "cmp x1, #20\n\t"                                 /* N=1: 10 - 20 < 0 */
        "mrs x9, nzcv\n\t" "str x9, [%[nzcv]]\n\t"
        "mov x9, sp\n\t" "str x9, [%[sp]]\n\t"
        "adr x9, 1f\n\t" "str x9, [%[pc]]\n"
        "1: svc #0\n\t"
        "ldp x29, x30, [sp], #16\n\t"
        "msr fpcr, xzr\n\t" "msr fpsr, xzr\n\t"
        : : [tid] "r"(tid), [sp] "r"(&svc_sp), [pc] "r"(&svc_pc), [nzcv] "r"(&nzcv_before),
            [v20] "r"(v20)
        : "x0", "x1", "x8", "x9", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
          "x27", "x28", "v20", "cc", "memory");
    return 0;
}
