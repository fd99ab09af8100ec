"""Run a short piece of guest code through the JIT, for tests and oracles.

Owns: a throw-away guest (memory, CPU state, translator) with code at
CODE_BASE and caller-supplied data pages, run until the BRK #0 appended
after the code.  Used by the Unicorn differential tests and the codegen
table; not used by `emu run`.

Many runs of the same code from different states are the common case (the
differential fuzzers run hundreds of states per instruction form), so a run
keeps what the previous one set up when it can: the translation of the same
read-only code, and the mapping of the same data pages (only their bytes are
rewritten).  The registers are written into the CPU state struct in one
block.
"""
import ctypes
import struct

from emu.cpustate import CPUState, ExitReason, OFFSET
from emu.memory import GuestMemory, PROT_READ, PROT_WRITE, PROT_EXEC, page_ceil
from translator.jit import Translator

CODE_BASE = 0x10000
BRK0 = 0xD4200000
M64 = 0xFFFFFFFFFFFFFFFF

_shared = {}

# X0..X30, SP, PC, N, Z, C, V, pad, V0..V31 (lo, hi): the head of the CPU state struct.
_HEAD = struct.Struct("<33Q4BI64Q")
assert OFFSET["vreg"] + 512 == _HEAD.size
_VREGS = struct.Struct("<64Q")


class SnippetResult:
    def __init__(self, cpu, mem, reason, info):
        self.cpu, self.mem, self.reason, self.info = cpu, mem, reason, info


def _guest(batch, tier="auto"):
    """One memory + translator per process and kind: reservations are large."""
    g = _shared.get((batch, tier))
    if g is None:
        cpu = CPUState()
        mem = GuestMemory()
        tr = Translator(cpu, mem, tiering=tier, batch=batch)
        g = _shared[(batch, tier)] = (cpu, mem, tr, [])
    return g


def get_vregs(cpu):
    """V0..V31 as 128-bit ints, read in one block."""
    q = _VREGS.unpack_from(cpu, OFFSET["vreg"])
    return [q[2 * n] | (q[2 * n + 1] << 64) for n in range(32)]


def run_snippet(words, regs=None, sp=None, nzcv=0, vregs=None, fpcr=0, fpsr=0,
                pages=(), max_exits=1000, batch=False, code_writable=False, tier="auto"):
    """Run `words` (list of u32) then BRK #0.

    regs: {n: value} for X0..X30; vregs: {n: 128-bit int}; pages: iterable of
    (addr, bytes) data pages (mapped RW, page-aligned, size rounded up).
    code_writable maps the code page RWX (self-modifying code tests).
    tier: "auto" (tier 1, hot regions promoted) or 2 (everything compiled at tier 2, the
    optimised code hot loops run; its own guest and translator).
    Returns SnippetResult; reason is ExitReason.BRK on normal completion.
    """
    cpu, mem, tr, mapped = _guest(batch, tier)
    code = b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in list(words) + [BRK0])
    # The same read-only code as last time keeps its translations.
    reuse = bool(not code_writable and mapped and mapped[0][2] == code)
    want = [(addr, page_ceil(len(data)) or 4096) for addr, data in pages]
    # The same data pages as last time stay mapped; only their bytes are rewritten.
    keep = reuse and [(a, n) for a, n, _ in mapped[1:]] == want
    if not keep:
        for addr, length, _ in mapped[0 if not reuse else 1:]:
            mem.release(addr, length)
        del mapped[0 if not reuse else 1:]
    table, mask = cpu.table, cpu.table_mask
    ctypes.memset(ctypes.addressof(cpu), 0, ctypes.sizeof(cpu))
    cpu.table, cpu.table_mask = table, mask
    if not reuse:
        if tr.blocks:
            tr.invalidate_pages(0, (1 << 28) - 1)
        clen = page_ceil(len(code))
        mem.commit(CODE_BASE, clen, PROT_READ | PROT_EXEC | (PROT_WRITE if code_writable else 0))
        mem.write(CODE_BASE, code, force=True)
        mapped.append((CODE_BASE, clen, None if code_writable else code))
    for (addr, data), (_, length) in zip(pages, want):
        if not keep:
            mem.commit(addr, length, PROT_READ | PROT_WRITE)
            mapped.append((addr, length, None))
        mem.write(addr, data)
        if keep and len(data) < length:
            mem.write(addr + len(data), bytes(length - len(data)))
    x = [0] * 31
    for n, v in (regs or {}).items():
        x[n] = v & M64
    q = [0] * 64
    for n, v in (vregs or {}).items():
        q[2 * n] = v & M64
        q[2 * n + 1] = (v >> 64) & M64
    _HEAD.pack_into(cpu, 0, *x, (sp or 0) & M64, CODE_BASE,
                    (nzcv >> 31) & 1, (nzcv >> 30) & 1, (nzcv >> 29) & 1, (nzcv >> 28) & 1, 0, *q)
    cpu.fpcr = fpcr
    cpu.fpsr = fpsr
    cpu.excl_addr = 0xFFFFFFFFFFFFFFFF
    for _ in range(max_exits):
        reason = tr.run()
        if reason == ExitReason.MISS:
            cpu.link_req = cpu.link_req  # keep: the dispatcher links after translation
            if not tr.translate(cpu.pc):
                return SnippetResult(cpu, mem, ExitReason.FAULT_EXEC, cpu.pc)
            continue
        if reason == ExitReason.HOT:
            tr.promote(cpu.pc)
            continue
        if reason == ExitReason.SMC:
            tr.invalidate_pages(cpu.exit_info >> 12, cpu.exit_info >> 12)
            r = tr.step(cpu.pc)
            if r != ExitReason.STEP:
                return SnippetResult(cpu, mem, r, cpu.exit_info)
            continue
        return SnippetResult(cpu, mem, reason, cpu.exit_info)
    raise RuntimeError("snippet did not finish")
