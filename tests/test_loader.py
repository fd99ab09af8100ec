"""emu/loader.py: bad inputs, segment mapping, the initial stack, PIE and
PT_INTERP placement, and whole programs (static, static-PIE, dynamic)
executed by Unicorn over the loader's memory with kernel/ answering the SVCs
(so the loader and the kernel are checked without the JIT).
"""
import ctypes
import os
import struct
import subprocess

import pytest
import unicorn
import unicorn.arm64_const as U

from emu import loader
from emu.cpustate import CPUState
from emu.loader import PIE_BASE, LoadError, load
from emu.memory import ADDR_LIMIT, NPAGES, PAGE_EXEC, PAGE_WRITE, GuestFault, GuestMemory
from kernel import Kernel, ProcessExit, cpuinfo
from kernel.vma import STACK_SIZE, AddressSpace

ROOTFS = "/usr/aarch64-linux-gnu"        # Debian's cross libc: ld.so and libc.so.6
_libc = ctypes.CDLL(None)
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

PROG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
int data_var = 42;
char bss_buf[100000];
int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    printf("env=%s\n", getenv("EMU_TEST"));
    printf("data=%d bss=%d\n", data_var, bss_buf[99999]);
    printf("hwcap=%lx pagesz=%lu\n", getauxval(AT_HWCAP), getauxval(AT_PAGESZ));
    char *p = malloc(1 << 20);
    memset(p, 7, 1 << 20);
    char *q = malloc(100);
    strcpy(q, "heap ok");
    printf("%s %d\n", q, p[12345]);
    char buf[512];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("exe=%s\n", buf);
    FILE *f = fopen(argv[1], "r");
    if (f && fgets(buf, sizeof buf, f)) printf("file=%s", buf);
    return 7;
}
"""


@pytest.fixture(scope="module")
def bins(aarch64_cc, tmp_path_factory):
    d = tmp_path_factory.mktemp("loader-bins")
    src = d / "prog.c"
    src.write_text(PROG)
    out = {}
    for kind, flags in (("static", ["-static"]), ("spie", ["-static-pie"]), ("dyn", [])):
        exe = d / f"prog_{kind}"
        r = subprocess.run([aarch64_cc, "-O1", *flags, "-o", str(exe), str(src)],
                           capture_output=True, text=True)
        if r.returncode:
            pytest.fail(f"cannot build {kind} test program: {r.stderr}", pytrace=False)
        out[kind] = exe
    return out


@pytest.fixture
def mem():
    m = GuestMemory()
    yield m
    _libc.munmap(m.base, ADDR_LIMIT)
    _libc.munmap(m.flags_addr, NPAGES)


@pytest.fixture
def space(mem):
    return AddressSpace(mem)


def load_error(path, mem, space, **kw):
    with pytest.raises(LoadError) as ei:
        load(str(path), mem, space, [str(path)], [], **kw)
    msg = str(ei.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def patched(src, dst, edits):
    data = bytearray(src.read_bytes())
    for off, new in edits:
        data[off:off + len(new)] = new
    dst.write_bytes(bytes(data))
    return dst


def phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    return phoff, phnum, [struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i) for i in range(phnum)]


# -- bad input ------------------------------------------------------------------------------
def test_missing_file(mem, space, tmp_path):
    assert "cannot open" in load_error(tmp_path / "nope", mem, space)


def test_directory(mem, space, tmp_path):
    assert "cannot open" in load_error(tmp_path, mem, space)


def test_not_an_elf(mem, space, tmp_path):
    p = tmp_path / "script.sh"
    p.write_text("#!/bin/sh\necho hi\n")
    assert "not an ELF" in load_error(p, mem, space)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert "not an ELF" in load_error(empty, mem, space)


def test_x86_64_elf(mem, space, bins, tmp_path):
    p = patched(bins["static"], tmp_path / "x86", [(18, struct.pack("<H", 62))])
    assert "x86-64" in load_error(p, mem, space) and "AArch64" in load_error(p, mem, space)
    assert "x86-64" in load_error("/bin/true", mem, space)     # a real host binary


def test_32bit_elf(mem, space, bins, tmp_path):
    p = patched(bins["static"], tmp_path / "elf32", [(4, b"\x01")])
    assert "32-bit" in load_error(p, mem, space)


def test_truncated_header(mem, space, bins, tmp_path):
    p = tmp_path / "short"
    p.write_bytes(bins["static"].read_bytes()[:40])
    assert "truncated" in load_error(p, mem, space)


def test_truncated_program_headers(mem, space, bins, tmp_path):
    p = tmp_path / "short-ph"
    p.write_bytes(bins["static"].read_bytes()[:64 + 20])
    assert "truncated" in load_error(p, mem, space)


def test_segments_past_end_of_file(mem, space, bins, tmp_path):
    data = bins["static"].read_bytes()
    p = tmp_path / "half"
    p.write_bytes(data[:len(data) // 2])
    assert "truncated" in load_error(p, mem, space)


def test_no_loadable_segments(mem, space, bins, tmp_path):
    data = bins["static"].read_bytes()
    phoff, phnum, hdrs = phdrs(data)
    edits = [(phoff + 56 * i, struct.pack("<I", 0)) for i, h in enumerate(hdrs) if h[0] == 1]
    p = patched(bins["static"], tmp_path / "noload", edits)
    assert "no loadable segments" in load_error(p, mem, space)


def test_missing_interpreter(mem, space, bins, tmp_path):
    data = bins["dyn"].read_bytes()
    old = b"/lib/ld-linux-aarch64.so.1"
    new = b"/nonexist/ld-linux-emu.so1"
    assert len(old) == len(new) and old in data
    p = tmp_path / "badinterp"
    p.write_bytes(data.replace(old, new))
    assert "interpreter /nonexist/ld-linux-emu.so1 not found" in load_error(p, mem, space)


# -- a static binary: segments and the initial stack ------------------------------------------
def read_stack(mem, sp):
    argc = mem.read_u64(sp)
    p = sp + 8
    argv = []
    for _ in range(argc):
        argv.append(mem.read_cstr(mem.read_u64(p)))
        p += 8
    assert mem.read_u64(p) == 0
    p += 8
    envp = []
    while mem.read_u64(p):
        envp.append(mem.read_cstr(mem.read_u64(p)))
        p += 8
    p += 8
    auxv = []
    while True:
        key, val = mem.read_u64(p), mem.read_u64(p + 8)
        auxv.append((key, val))
        p += 16
        if key == 0:
            break
    return argv, envp, auxv


def test_static_stack_layout(mem, space, bins):
    exe = bins["static"]
    data = exe.read_bytes()
    phoff, phnum, hdrs = phdrs(data)
    entry, = struct.unpack_from("<Q", data, 24)
    r = load(str(exe), mem, space, ["prog", "with space", ""], ["A=1", "EMPTY="])
    assert r.sp % 16 == 0
    argv, envp, auxv = read_stack(mem, r.sp)
    assert argv == [b"prog", b"with space", b""]
    assert envp == [b"A=1", b"EMPTY="]
    assert auxv == r.auxv
    a = dict(auxv)
    assert auxv[-1] == (loader.AT_NULL, 0)
    assert a[loader.AT_PHNUM] == phnum and a[loader.AT_PHENT] == 56
    assert mem.read(a[loader.AT_PHDR], phnum * 56) == data[phoff:phoff + phnum * 56]
    assert a[loader.AT_PHDR] == r.phdr
    assert a[loader.AT_ENTRY] == entry == r.entry and r.load_bias == 0
    assert a[loader.AT_BASE] == 0 == r.interp_base
    assert a[loader.AT_PAGESZ] == 4096 and a[loader.AT_CLKTCK] == 100 and a[loader.AT_FLAGS] == 0
    assert a[loader.AT_HWCAP] == cpuinfo.HWCAP and a[loader.AT_HWCAP2] == cpuinfo.HWCAP2
    assert (a[loader.AT_UID], a[loader.AT_EUID], a[loader.AT_GID], a[loader.AT_EGID]) == \
        (os.getuid(), os.geteuid(), os.getgid(), os.getegid())
    assert a[loader.AT_SECURE] == 0 and a[loader.AT_MINSIGSTKSZ] >= 5120
    assert mem.read_cstr(a[loader.AT_PLATFORM]) == b"aarch64"
    assert mem.read_cstr(a[loader.AT_EXECFN]) == os.fsencode(exe)
    stack = space.find(r.sp)
    assert stack.name == "[stack]" and stack.end - stack.start == STACK_SIZE
    assert stack.start <= a[loader.AT_RANDOM] and a[loader.AT_RANDOM] + 16 <= stack.end
    assert len(mem.read(a[loader.AT_RANDOM], 16)) == 16
    # execfn is the last string, right under an 8-byte NULL at the top
    top = stack.end
    assert mem.read(top - 8, 8) == bytes(8)
    assert a[loader.AT_EXECFN] + len(os.fsencode(exe)) + 1 == top - 8


def test_static_segments_mapped_with_rights(mem, space, bins):
    exe = bins["static"]
    data = exe.read_bytes()
    r = load(str(exe), mem, space, ["prog"], [])
    _, _, hdrs = phdrs(data)
    loads = [h for h in hdrs if h[0] == 1]
    end = 0
    for p_type, flags, off, vaddr, _, filesz, memsz, _ in loads:
        assert mem.read(vaddr, filesz) == data[off:off + filesz]
        assert mem.read(vaddr + filesz, memsz - filesz) == bytes(memsz - filesz)   # bss
        tail = (-(vaddr + memsz)) % 4096
        if flags & 2:
            # the rest of the last page is zero too (not the next file bytes)
            assert mem.read(vaddr + memsz, tail) == bytes(tail)
        page = vaddr >> 12
        assert bool(mem.flags[page] & PAGE_WRITE) == bool(flags & 2)
        assert bool(mem.flags[page] & PAGE_EXEC) == bool(flags & 1)
        end = max(end, vaddr + memsz)
    text = next(h for h in loads if h[1] & 1)
    with pytest.raises(GuestFault):
        mem.write(text[3], b"x")
    assert r.brk_start == space.brk_start == (end + 4095) & ~4095
    names = {v.name for v in space.vmas}
    assert str(exe) in names and "[stack]" in names


def test_static_pie_placed_at_pie_base(mem, space, bins):
    r = load(str(bins["spie"]), mem, space, ["p"], [])
    data = bins["spie"].read_bytes()
    entry, = struct.unpack_from("<Q", data, 24)
    assert r.load_bias == PIE_BASE and r.entry == PIE_BASE + entry
    assert dict(r.auxv)[loader.AT_ENTRY] == r.entry
    phoff, phnum, _ = phdrs(data)
    assert mem.read(r.phdr, phnum * 56) == data[phoff:phoff + phnum * 56]
    assert r.brk_start > PIE_BASE


def test_dynamic_loads_interpreter_from_rootfs(mem, space, bins):
    r = load(str(bins["dyn"]), mem, space, ["p"], [], rootfs=ROOTFS)
    ld = os.path.join(ROOTFS, "lib/ld-linux-aarch64.so.1")
    assert r.interp == ld
    ld_entry, = struct.unpack_from("<Q", open(ld, "rb").read(64), 24)
    assert r.interp_base and r.interp_base % 4096 == 0
    assert r.entry == r.interp_base + ld_entry
    a = dict(r.auxv)
    assert a[loader.AT_BASE] == r.interp_base
    assert a[loader.AT_ENTRY] == r.program_entry != r.entry
    assert r.load_bias == PIE_BASE                     # the default PIE program
    assert space.find(r.interp_base).name == "/lib/ld-linux-aarch64.so.1"   # the guest's name


# -- whole programs under Unicorn ---------------------------------------------------------
_X = [getattr(U, f"UC_ARM64_REG_X{i}") for i in range(29)] + [U.UC_ARM64_REG_X29, U.UC_ARM64_REG_X30]


def run_in_unicorn(path, argv, envp, rootfs=None):
    """Run a loaded program in Unicorn; SVCs go to Kernel.syscall.  -> exit status."""
    mem = GuestMemory()
    try:
        space = AddressSpace(mem)
        r = load(path, mem, space, argv, envp, rootfs=rootfs)
        k = Kernel(mem, space, rootfs=rootfs, exe_path=path)
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
        # the MAX model has every feature the HWCAPs advertise (LSE, CPUID...)
        uc.ctl_set_cpu_model(U.UC_CPU_ARM64_MAX)
        cpu = CPUState()
        result = {}

        def sync_maps():
            for start, end, _ in list(uc.mem_regions()):
                uc.mem_unmap(start, end - start + 1)
            for v in space.vmas:
                uc.mem_map_ptr(v.start, v.end - v.start, v.prot, mem.host_addr(v.start))

        def on_svc(uc, intno, _):
            for i in range(9):
                cpu.x[i] = uc.reg_read(_X[i])
            try:
                k.syscall(cpu)
            except ProcessExit as e:
                result["status"] = e.status
                uc.emu_stop()
                return
            uc.reg_write(_X[0], cpu.x[0])
            sync_maps()

        sync_maps()
        uc.hook_add(unicorn.UC_HOOK_INTR, on_svc)
        uc.reg_write(U.UC_ARM64_REG_SP, r.sp)
        uc.emu_start(r.entry, 0, count=200_000_000)
        return result.get("status"), k
    finally:
        _libc.munmap(mem.base, ADDR_LIMIT)
        _libc.munmap(mem.flags_addr, NPAGES)


def expected_output(exe, argv, file_line):
    lines = [f"argc={len(argv)}"] + [f"argv[{i}]={a}" for i, a in enumerate(argv)]
    lines += ["env=from-the-loader", "data=42 bss=0", f"hwcap={cpuinfo.HWCAP:x} pagesz=4096",
              "heap ok 7", f"exe={exe}"]
    return "\n".join(lines) + "\n" + f"file={file_line}"


@pytest.mark.parametrize("kind", ["static", "spie", "dyn"])
def test_program_runs_under_unicorn(kind, bins, tmp_path, capfd):
    exe = str(bins[kind])
    f = tmp_path / "input.txt"
    f.write_text("line from a file\n")
    argv = [exe, str(f), "two words"]
    status, k = run_in_unicorn(exe, argv, ["EMU_TEST=from-the-loader", "PATH=/bin"],
                               rootfs=ROOTFS if kind == "dyn" else None)
    out = capfd.readouterr().out
    assert out == expected_output(exe, argv, "line from a file\n")
    assert status == 7
    assert not k.unknown_syscalls, dict(k.unknown_syscalls)
