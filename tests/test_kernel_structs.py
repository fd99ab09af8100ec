"""kernel/abi.py structure layouts against the compilers.

tests/contracts/abi_layout.c prints sizeof/offsetof for every structure the
kernel layer reads or writes.  Built for AArch64 and run under qemu-aarch64 it
is the oracle for abi.py's ctypes classes; built natively it proves the claim
behind every pass-through (the structure is identical on x86-64, so the host
kernel can fill it directly) and pins the two that differ (stat, epoll_event).
"""
import ctypes
from functools import lru_cache

import pytest

from harness import oracle
from kernel import abi
from oracle_helpers import check_reference

SOURCE = oracle.REPO / "tests" / "contracts" / "abi_layout.c"

# C struct -> (abi class, {C field: ctypes field}); fields not listed use the C name.
CLASSES = {
    "stat": (abi.Stat, {"st_atim": "st_atime", "st_mtim": "st_mtime", "st_ctim": "st_ctime"}),
    "statfs": (abi.Statfs, {}),
    "statx": (abi.Statx, {}),
    "flock": (abi.Flock, {}),
    "pollfd": (abi.Pollfd, {}),
    "open_how": (abi.OpenHow, {}),
    "dirent64": (abi.Dirent64, {"d_name": None}),
    "timespec": (abi.Timespec, {}),
    "timeval": (abi.Timeval, {}),
    "timezone": (abi.Timezone, {}),
    "utsname": (abi.Utsname, {}),
    "sysinfo": (abi.Sysinfo, {}),
    "rlimit": (abi.Rlimit, {}),
    "iovec": (abi.Iovec, {}),
    "winsize": (abi.Winsize, {}),
    "tms": (abi.Tms, {}),
    "rusage": (abi.Rusage, {}),
    "stack_t": (abi.StackT, {}),
    "epoll_event": (abi.EpollEvent, {}),
    "itimerspec": (abi.Itimerspec, {}),
}
# Passed to the host unconverted: must be the same on x86-64.
SAME_ON_X86_64 = {"statfs", "statx", "flock", "pollfd", "open_how", "dirent64", "timespec",
                  "timeval", "timezone", "utsname", "sysinfo", "rlimit", "iovec", "winsize",
                  "tms", "rusage", "stack_t", "itimerspec"}


def _parse(out):
    layout = {}
    for line in out.decode().splitlines():
        struct, field, off, size = line.split()
        layout.setdefault(struct, {})[field] = (int(off), int(size))
    return layout


@lru_cache(maxsize=None)
def _layouts():
    try:
        a = oracle.compile_c(SOURCE, "aarch64")
        n = oracle.compile_c(SOURCE, "native")
    except (oracle.BuildError, oracle.ToolMissing) as e:
        pytest.fail(f"cannot build {SOURCE.name}: {e}", pytrace=False)
    ra, rn = oracle.run_qemu([a]), oracle.run_native([n])
    check_reference(ra, "abi_layout under qemu-aarch64")
    check_reference(rn, "abi_layout native")
    return _parse(ra.stdout), _parse(rn.stdout)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_layout_matches_aarch64_compiler(name, qemu, aarch64_cc, native_cc):
    arm, _ = _layouts()
    cls, rename = CLASSES[name]
    fields = arm[name]
    if name != "dirent64":                       # glibc's has d_name[256]; records vary
        assert ctypes.sizeof(cls) == fields["-"][1], f"sizeof(struct {name})"
    for cfield, (off, size) in fields.items():
        if cfield == "-":
            continue
        pyfield = rename.get(cfield, cfield)
        if pyfield is None:                      # a flexible array: only its offset
            assert off == abi.DIRENT64_HEADER
            continue
        assert getattr(cls, pyfield).offset == off, f"offsetof({name}, {cfield})"
        if cfield not in ("st_atim", "st_mtim", "st_ctim"):
            assert getattr(cls, pyfield).size == size, f"sizeof({name}.{cfield})"


def test_pass_through_structures_are_the_same_on_x86_64(qemu, aarch64_cc, native_cc):
    arm, native = _layouts()
    differ = sorted(n for n in SAME_ON_X86_64 if arm[n] != native[n])
    assert not differ, f"these differ between AArch64 and x86-64 but are passed through: {differ}"
    # and the two that must be converted really differ
    assert arm["stat"]["-"] == (0, 128) and native["stat"]["-"] == (0, 144)
    assert arm["epoll_event"]["-"] == (0, 16) and native["epoll_event"]["-"] == (0, 12)


def test_kernel_only_structures():
    """Structures glibc does not expose as the kernel does (checked against the
    kernel headers quoted in abi.py)."""
    assert ctypes.sizeof(abi.KSigaction) == 32 and abi.KSigaction.sa_mask.offset == 24
    assert ctypes.sizeof(abi.Termios) == 36 and abi.Termios.c_cc.offset == 17
    assert abi.STATX_SIZE == ctypes.sizeof(abi.Statx) == 256
