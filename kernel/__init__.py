"""kernel: the Linux personality of the emulator (AArch64 user ABI).

The runtime builds a GuestMemory, an AddressSpace over it, loads the program
(emu/loader.py) and calls Kernel.syscall(cpu) at every SVC.  This package
never imports the translator.  Modules:
    core.py     Kernel: shared state, dispatch, strace
    table.py    the syscall table (one line per number)
    fd.py fs.py poll.py mm.py time.py info.py signal.py process.py futex.py net.py
                handler families
    path.py     guest paths -> host paths (-L ROOTFS: a chroot-like walk, host fallback)
    procfs.py   /proc as the guest sees it (maps, auxv, cmdline, exe, fd/, cpuinfo...)
    vma.py      AddressSpace: the VMA list, brk, host file mappings, /proc/self/maps
    abi.py      guest structures and constants, open-flag conversion
    uaccess.py  guest memory copy helpers
    cpuinfo.py  HWCAP bits, /proc/cpuinfo text
    status.py   @partial / @deliberate_enosys marks for SYSCALL_LEDGER.md
    errors.py   SyscallError, ProcessExit
"""
from kernel.errors import ProcessExit, SyscallError
from kernel.core import Kernel
from kernel.vma import AddressSpace

__all__ = ["Kernel", "ProcessExit", "SyscallError", "AddressSpace"]
