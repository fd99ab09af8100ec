/* Every contract program in one binary: `all FAMILY` runs FAMILY's main.
 * One binary means the C library is translated once for all the runs (the code
 * cache is keyed by code bytes, and every static binary places libc elsewhere),
 * which keeps the contract tests fast.  Each family file still builds alone. */
#include "contract.h"

#define main contract_fd
#include "fd.c"
#undef main
#define main contract_fs
#include "fs.c"
#undef main
#define main contract_vm
#include "vm.c"
#undef main
#define main contract_time
#include "time.c"
#undef main
#define main contract_tty
#include "tty.c"
#undef main
#define main contract_proc
#include "proc.c"
#undef main
#define main contract_net
#include "net.c"
#undef main
#ifdef __aarch64__
#define main contract_vm_code
#include "vm_code.c"
#undef main
#endif

int main(int argc, char **argv) {
    static const struct { const char *name; int (*fn)(void); } all[] = {
        {"fd", contract_fd}, {"fs", contract_fs}, {"vm", contract_vm},
        {"time", contract_time}, {"tty", contract_tty}, {"proc", contract_proc},
        {"net", contract_net},
#ifdef __aarch64__
        {"vm_code", contract_vm_code},
#endif
    };
    if (argc >= 2 && !strcmp(argv[1], "proc-child"))     /* what proc's execve runs */
        return proc_child(argc, argv);
    for (unsigned i = 0; argc == 2 && i < sizeof all / sizeof *all; i++)
        if (!strcmp(argv[1], all[i].name))
            return all[i].fn();
    fprintf(stderr, "usage: %s FAMILY\n", argv[0]);
    return 2;
}
