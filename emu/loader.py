"""The ELF loader: an AArch64 Linux program image and its initial stack.

Owns: checking the file is a loadable 64-bit little-endian AArch64 ELF
(LoadError with one clear line otherwise), mapping PT_LOAD segments through
the AddressSpace the way Linux's binfmt_elf does (file pages copied from the
file, bss zeroed including the tail of the last file page, final page
rights from p_flags), placing ET_DYN images (PIE, static-PIE) at PIE_BASE,
loading the PT_INTERP program (ld.so, found under ROOTFS first, then on the
host) at a free base, the program break start, and the initial stack of the
AArch64 Linux ABI (argc, argv, envp, auxv, strings, AT_RANDOM bytes,
16-byte aligned SP).
Does not own: the VMA list (kernel/vma.py), CPU state (the runtime sets
pc/sp from LoadResult), execve (a later issue reuses load()).
"""
import dataclasses
import os
import struct

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from emu.memory import PAGE_MASK, PAGE_SIZE, page_ceil
from kernel import abi, cpuinfo
from kernel import path as kpath
from kernel.errors import SyscallError
from kernel.vma import STACK_SIZE, Backing

PIE_BASE = 0x55_0000_0000          # where ET_DYN programs go (ELF_ET_DYN_BASE-like)
# With EMU_ASLR=1 (emu run --aslr) the PIE base is randomized like Linux's arm64
# ELF_ET_DYN_BASE + arch_mmap_rnd(): a random page-aligned offset below 2**33 (Linux draws
# 18 to 33 bits of pages).  Default: the fixed base, as qemu-user does, so runs compare.
ASLR_SPAN = 1 << 33


def pie_base():
    """PIE_BASE, or PIE_BASE plus a random page-aligned offset when EMU_ASLR=1."""
    if os.environ.get("EMU_ASLR") == "1":
        return PIE_BASE + (int.from_bytes(os.urandom(8), "little") % (ASLR_SPAN >> 16) << 16)
    return PIE_BASE
EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
PHENT_SIZE = 56
_MACHINES = {3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 40: "ARM (32-bit)",
             62: "x86-64", 243: "RISC-V", 22: "s390"}

# auxv types (include/uapi/linux/auxvec.h, arch/arm64/include/uapi/asm/auxvec.h)
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51
CLK_TCK = 100


class LoadError(Exception):
    """The program cannot be loaded; str() is one line for the user."""


@dataclasses.dataclass
class LoadResult:
    entry: int              # where execution starts (ld.so's entry if PT_INTERP)
    sp: int                 # initial stack pointer (points at argc)
    brk_start: int          # initial program break
    phdr: int               # guest address of the program headers (AT_PHDR)
    load_bias: int          # added to the program's p_vaddr (0 for ET_EXEC)
    interp_base: int        # ld.so's base (AT_BASE), 0 without PT_INTERP
    auxv: list              # [(type, value)], AT_NULL last
    program_entry: int = 0  # the program's own entry (AT_ENTRY)
    interp: str = ""        # host path of the interpreter that was loaded
    stack_top: int = 0
    execfn: str = ""


@dataclasses.dataclass
class _Image:
    path: str               # host path
    guest_name: str         # for /proc/self/maps
    elf_type: int
    entry: int
    phoff: int
    phnum: int
    loads: list             # [(vaddr, memsz, offset, filesz, flags)]
    phdr_vaddr: int         # PT_PHDR vaddr, or derived from the PT_LOAD holding phoff, or -1
    interp: str
    exec_stack: bool


# -- parsing and checks -------------------------------------------------------------
def _inspect(path, guest_name):
    """Read and check an ELF's headers; LoadError names what is wrong."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise LoadError(f"{path}: cannot open: {e.strerror}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        ident = f.read(64)
        if len(ident) < 4 or ident[:4] != b"\x7fELF":
            raise LoadError(f"{path}: not an ELF file")
        if len(ident) < 64:
            raise LoadError(f"{path}: truncated ELF header ({len(ident)} bytes)")
        if ident[4] != 2:
            raise LoadError(f"{path}: 32-bit ELF; only 64-bit AArch64 programs are supported")
        if ident[5] != 1:
            raise LoadError(f"{path}: big-endian ELF; only little-endian AArch64 is supported")
        e_type, e_machine = struct.unpack_from("<HH", ident, 16)
        if e_machine != EM_AARCH64:
            what = _MACHINES.get(e_machine, f"machine {e_machine}")
            raise LoadError(f"{path}: ELF for {what}, not AArch64")
        if e_type not in (ET_EXEC, ET_DYN):
            raise LoadError(f"{path}: not an executable ELF (e_type {e_type})")
        phoff, = struct.unpack_from("<Q", ident, 32)
        phentsize, phnum = struct.unpack_from("<HH", ident, 54)
        if phnum and phentsize != PHENT_SIZE:
            raise LoadError(f"{path}: bad program header size {phentsize}")
        if phoff + phnum * PHENT_SIZE > size:
            raise LoadError(f"{path}: truncated ELF (program headers past end of file)")
        try:
            elf = ELFFile(f)
            segs = [s.header for s in elf.iter_segments()]
            entry = elf.header.e_entry
            interp = ""
            for h in segs:
                if h.p_type == "PT_INTERP":
                    if h.p_offset + h.p_filesz > size:
                        raise LoadError(f"{path}: truncated ELF (PT_INTERP past end of file)")
                    f.seek(h.p_offset)
                    interp = f.read(h.p_filesz).split(b"\0")[0].decode(errors="replace")
        except (ELFError, struct.error, ValueError) as e:
            raise LoadError(f"{path}: malformed ELF: {e}") from None
    loads = []
    phdr_vaddr = -1
    exec_stack = False
    for i, h in enumerate(segs):
        if h.p_type == "PT_PHDR":
            phdr_vaddr = h.p_vaddr
        elif h.p_type == "PT_GNU_STACK":
            exec_stack = bool(h.p_flags & PF_X)
        elif h.p_type == "PT_LOAD" and h.p_memsz:
            if h.p_offset + h.p_filesz > size:
                raise LoadError(f"{path}: truncated ELF (segment {i} extends past end of file)")
            if h.p_filesz > h.p_memsz:
                raise LoadError(f"{path}: bad segment {i} (file size larger than memory size)")
            if (h.p_vaddr - h.p_offset) & PAGE_MASK:
                raise LoadError(f"{path}: segment {i} offset and address are not page-congruent")
            loads.append((h.p_vaddr, h.p_memsz, h.p_offset, h.p_filesz, h.p_flags))
    if not loads:
        raise LoadError(f"{path}: no loadable segments")
    loads.sort()
    if phdr_vaddr < 0:
        for vaddr, memsz, off, filesz, _ in loads:
            if off <= phoff < off + filesz:
                phdr_vaddr = vaddr + (phoff - off)
    top = max(v + m for v, m, *_ in loads)
    if top > (1 << 40) and e_type == ET_EXEC:
        raise LoadError(f"{path}: segments above the 2**40 guest address limit")
    return _Image(path, guest_name, e_type, entry, phoff, phnum, loads, phdr_vaddr,
                  interp, exec_stack)


def _prot(flags):
    return ((abi.PROT_READ if flags & PF_R else 0) | (abi.PROT_WRITE if flags & PF_W else 0)
            | (abi.PROT_EXEC if flags & PF_X else 0))


def _span(img):
    lo = img.loads[0][0] & ~PAGE_MASK
    hi = page_ceil(max(v + m for v, m, *_ in img.loads))
    return lo, hi


# -- mapping -----------------------------------------------------------------------
def _map_image(img, mem, space, bias):
    """Map every PT_LOAD of img at p_vaddr + bias (binfmt_elf's elf_map + padzero)."""
    rw = abi.PROT_READ | abi.PROT_WRITE
    fd = os.open(img.path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        backing = Backing(img.path, st.st_dev, st.st_ino)
        mapped_end = 0
        ranges = []
        for vaddr, memsz, off, filesz, flags in img.loads:
            v = vaddr + bias
            lo, fend, mend = v & ~PAGE_MASK, page_ceil(v + filesz), page_ceil(v + memsz)
            fresh = max(lo, mapped_end)
            if fresh < fend:                       # file pages, copied from the file
                space.map(fresh, fend - fresh, rw, abi.MAP_PRIVATE, name=img.guest_name,
                          fixed=True, offset=(off & ~PAGE_MASK) + (fresh - lo),
                          backing=backing, src_fd=fd)
            if max(fend, fresh) < mend:            # whole bss pages: anonymous
                a = max(fend, fresh)
                space.map(a, mend - a, rw, abi.MAP_PRIVATE | abi.MAP_ANONYMOUS, fixed=True)
            if lo < fresh and filesz:              # a page shared with the previous segment
                n = min(fresh - v, filesz)
                if n > 0:
                    mem.write(v, os.pread(fd, n, off), force=True)
            if fend > v + filesz:                  # padzero: the rest of the last file page
                mem.write(v + filesz, bytes(fend - (v + filesz)), force=True)
            ranges.append((lo, mend, _prot(flags)))
            mapped_end = max(mapped_end, mend)
    except SyscallError as e:
        raise LoadError(f"{img.path}: cannot map segments ({os.strerror(e.errno)})") from None
    finally:
        os.close(fd)
    for lo, hi, prot in ranges:
        space.protect(lo, hi - lo, prot)
    for (_, hi_a, prot_a), (lo_b, _, prot_b) in zip(ranges, ranges[1:]):
        if hi_a > lo_b:                            # shared page: union of the rights
            space.protect(lo_b, hi_a - lo_b, prot_a | prot_b)
    return max(hi for _, hi, _ in ranges)


def _place(img, space, fixed_base=None):
    """Load bias for img: 0 for ET_EXEC, else a base where the image fits."""
    if img.elf_type == ET_EXEC:
        return 0
    lo, hi = _span(img)
    try:
        if fixed_base is not None and space.is_free(fixed_base, hi - lo):
            base = fixed_base
        else:
            base = space.find_free(hi - lo)
    except SyscallError:
        raise LoadError(f"{img.path}: no room for a {hi - lo:#x}-byte image") from None
    return base - lo


def _resolve(path, rootfs):
    """A guest path -> host path: inside ROOTFS first (its symlinks re-rooted there,
    kernel/path.py), else the host path."""
    if rootfs and os.path.isabs(path):
        root = os.fsencode(os.path.realpath(rootfs))
        if root != b"/":
            return os.fsdecode(kpath.lookup_abs(root, os.fsencode(path))[1])
    return path


def check_exec(host_path, rootfs=None):
    """What execve checks before the old program is gone: the ELF loads here and its
    interpreter exists.  Returns None, or the errno Linux would give (ENOEXEC, ENOENT)."""
    import errno
    try:
        main = _inspect(host_path, host_path)
    except LoadError:
        return errno.ENOEXEC
    if main.interp and not os.path.exists(_resolve(main.interp, rootfs)):
        return errno.ENOENT
    return None


def _guest_name(host_path, rootfs):
    p = os.path.abspath(host_path)
    if rootfs:
        root = os.path.realpath(rootfs)
        if p.startswith(root + "/"):
            return p[len(root):]
    return p


# -- stack ---------------------------------------------------------------------------
def _b(s):
    return s if isinstance(s, bytes) else os.fsencode(s)


def _build_stack(mem, space, argv, envp, execfn, auxv_head, exec_stack):
    """Map [stack] and lay out argc/argv/envp/auxv as Linux's create_elf_tables."""
    top = space.stack_top
    prot = abi.PROT_READ | abi.PROT_WRITE | (abi.PROT_EXEC if exec_stack else 0)
    space.map(top - STACK_SIZE, STACK_SIZE, prot,
              abi.MAP_PRIVATE | abi.MAP_ANONYMOUS | abi.MAP_GROWSDOWN | abi.MAP_STACK,
              name="[stack]", fixed=True)
    args = [_b(a) + b"\0" for a in argv]
    envs = [_b(e) + b"\0" for e in envp]
    fn = _b(execfn) + b"\0"
    strings = sum(map(len, args)) + sum(map(len, envs)) + len(fn)
    if strings + 8 * (len(args) + len(envs)) > STACK_SIZE // 4:
        raise LoadError("argument list too long")
    # Strings, ascending: argv..., envp..., execfn, then an 8-byte NULL at the top.
    p = top - 8 - strings
    str_base = p
    arg_ptrs, env_ptrs = [], []
    for s, out in [(a, arg_ptrs) for a in args] + [(e, env_ptrs) for e in envs]:
        out.append(p)
        p += len(s)
    execfn_addr = p
    mem.write(str_base, b"".join(args) + b"".join(envs) + fn, force=True)
    p = str_base
    platform = cpuinfo.PLATFORM.encode() + b"\0"
    p -= len(platform)
    platform_addr = p
    mem.write(p, platform, force=True)
    p -= 16
    random_addr = p
    mem.write(p, os.urandom(16), force=True)
    auxv = auxv_head + [(AT_RANDOM, random_addr), (AT_HWCAP2, cpuinfo.HWCAP2),
                        (AT_EXECFN, execfn_addr), (AT_PLATFORM, platform_addr),
                        (AT_MINSIGSTKSZ, abi.MINSIGSTKSZ), (AT_NULL, 0)]
    words = [len(args)] + arg_ptrs + [0] + env_ptrs + [0]
    for key, val in auxv:
        words += [key, val]
    sp = (p - 8 * len(words)) & ~15
    mem.write(sp, struct.pack(f"<{len(words)}Q", *words), force=True)
    # What /proc/self/{auxv,cmdline,environ,stat} show (mm->saved_auxv, arg_start...).
    space.saved_auxv = list(auxv)
    space.arg_start, space.arg_end = str_base, str_base + sum(map(len, args))
    space.env_start, space.env_end = space.arg_end, space.arg_end + sum(map(len, envs))
    space.start_stack = sp
    return sp, auxv


# -- entry point -----------------------------------------------------------------------
def load(path, mem, space, argv, envp, rootfs=None, execfn=None):
    """Load the program at path into space and build its initial stack.

    path is the program as the user named it; with rootfs, an absolute path
    is looked up inside rootfs first.  argv/envp are lists of str or bytes
    (envp may be a mapping).  execfn (AT_EXECFN) defaults to path.
    """
    path = os.fspath(path)
    host = _resolve(path, rootfs)
    main = _inspect(host, _guest_name(host, rootfs))
    if hasattr(envp, "items"):
        envp = [_b(k) + b"=" + _b(v) for k, v in envp.items()]
    bias = _place(main, space, pie_base())
    end = _map_image(main, mem, space, bias)
    space.set_brk(end)

    interp_base, entry, interp_host = 0, main.entry + bias, ""
    if main.interp:
        interp_host = _resolve(main.interp, rootfs)
        if not os.path.exists(interp_host):
            raise LoadError(f"{path}: interpreter {main.interp} not found"
                            + ("" if rootfs else " (use -L ROOTFS)"))
        ld = _inspect(interp_host, _guest_name(interp_host, rootfs))
        ld_bias = _place(ld, space)
        _map_image(ld, mem, space, ld_bias)
        interp_base = ld_bias + _span(ld)[0]
        entry = ld.entry + ld_bias

    phdr = main.phdr_vaddr + bias if main.phdr_vaddr >= 0 else 0
    head = [(AT_HWCAP, cpuinfo.HWCAP), (AT_PAGESZ, PAGE_SIZE), (AT_CLKTCK, CLK_TCK),
            (AT_PHDR, phdr), (AT_PHENT, PHENT_SIZE), (AT_PHNUM, main.phnum),
            (AT_BASE, interp_base), (AT_FLAGS, 0), (AT_ENTRY, main.entry + bias),
            (AT_UID, os.getuid()), (AT_EUID, os.geteuid()), (AT_GID, os.getgid()),
            (AT_EGID, os.getegid()), (AT_SECURE, 0)]
    execfn = path if execfn is None else execfn
    sp, auxv = _build_stack(mem, space, argv, envp, execfn, head, main.exec_stack)
    return LoadResult(entry=entry, sp=sp, brk_start=end, phdr=phdr, load_bias=bias,
                      interp_base=interp_base, auxv=auxv, program_entry=main.entry + bias,
                      interp=interp_host, stack_top=space.stack_top,
                      execfn=os.fsdecode(_b(execfn)))
