/* Helpers for the syscall contract programs (tests/test_syscall_contracts.py).
 *
 * Each program prints one result per line, deterministic on any machine: no
 * addresses, times, inode numbers or host paths.  R("what", call) prints the
 * call's result, or -ENAME when it failed (strerrorname_np).  Lines starting
 * with "arch " are expected to differ between AArch64 and x86-64 and are only
 * compared between emu and qemu-aarch64.  Everything runs in the current
 * directory, an empty temporary directory made by the test.  Each program also
 * builds on its own; all.c puts them in one binary (see there). */
#ifndef CONTRACT_H
#define CONTRACT_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(const char *what, long ret) {
    if (ret < 0)
        printf("%s: -%s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
    else
        printf("%s: %ld\n", what, ret);
    fflush(stdout);
}

#define R(what, call) do { errno = 0; long contract_ret_ = (long)(call); show(what, contract_ret_); } while (0)
#define P(...) do { printf(__VA_ARGS__); putchar('\n'); fflush(stdout); } while (0)
#define BAD_PTR ((void *)16)
#endif
