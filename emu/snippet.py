"""Run a short piece of guest code through the JIT, for tests and oracles.

Owns: a throw-away guest (memory, CPU state, translator) with code at
CODE_BASE and caller-supplied data pages, run until the BRK #0 appended
after the code.  Used by the Unicorn differential tests and the codegen
table; not used by `emu run`.
"""
import ctypes

from emu.cpustate import CPUState, ExitReason
from emu.memory import GuestMemory, PROT_READ, PROT_WRITE, PROT_EXEC, page_ceil
from translator.jit import Translator

CODE_BASE = 0x10000
BRK0 = 0xD4200000

_shared = {}


class SnippetResult:
    def __init__(self, cpu, mem, reason, info):
        self.cpu, self.mem, self.reason, self.info = cpu, mem, reason, info


def _guest(batch):
    """One memory + translator per process: reservations are large."""
    g = _shared.get(batch)
    if g is None:
        cpu = CPUState()
        mem = GuestMemory()
        tr = Translator(cpu, mem, batch=batch)
        g = _shared[batch] = (cpu, mem, tr, [])
    return g


def run_snippet(words, regs=None, sp=None, nzcv=0, vregs=None, fpcr=0, fpsr=0,
                pages=(), max_exits=1000, batch=False, code_writable=False):
    """Run `words` (list of u32) then BRK #0.

    regs: {n: value} for X0..X30; vregs: {n: 128-bit int}; pages: iterable of
    (addr, bytes) data pages (mapped RW, page-aligned, size rounded up).
    code_writable maps the code page RWX (self-modifying code tests).
    Returns SnippetResult; reason is ExitReason.BRK on normal completion.
    """
    cpu, mem, tr, mapped = _guest(batch)
    code = b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in list(words) + [BRK0])
    # The same read-only code as last time keeps its translations.
    reuse = (not code_writable and mapped and mapped[0][2] == code)
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
    for addr, data in pages:
        length = page_ceil(len(data)) or 4096
        mem.commit(addr, length, PROT_READ | PROT_WRITE)
        mem.write(addr, data)
        mapped.append((addr, length, None))
    for n, v in (regs or {}).items():
        cpu.x[n] = v & 0xFFFFFFFFFFFFFFFF
    for n, v in (vregs or {}).items():
        cpu.set_v(n, v)
    cpu.sp = sp or 0
    cpu.nzcv = nzcv
    cpu.fpcr = fpcr
    cpu.fpsr = fpsr
    cpu.excl_addr = 0xFFFFFFFFFFFFFFFF
    cpu.pc = CODE_BASE
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
