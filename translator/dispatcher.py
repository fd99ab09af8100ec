"""The native dispatcher and the block table it reads.

Owns: the block table (open addressing, entries {u64 guest pc, u64 host fn},
index (pc >> 2) & mask, linear probing, tombstone = entry with fn 0), and the
dispatcher loop compiled once per process: look state.pc up, patch the link
slot a block asked for (state.link_req), call the block, and repeat until a
block sets exit_reason.  Python is entered only when the loop returns.
Does not own: translation (jit.py) or what an exit reason means.

FPSR and the host's sticky MXCSR flags: compiled code leaves the host's
own exception flags to record ARM's IXC, UFC and OFC (x86 PE, UE, OE; see
translator/isa/fp.py).  The dispatcher clears the MXCSR flags when it
enters compiled code (whatever Python computed in between must not leak
into the guest's FPSR) and, whenever it returns to Python, ORs the mapped
flags into state.fpsr (mxcsr_to_fpsr).  While compiled code runs, the
guest's FPSR is state.fpsr | mxcsr_to_fpsr(MXCSR): MRS/MSR FPSR
(system.py) read and clear the live flags the same way.
"""
import ctypes

import llvmlite.ir as ir

from emu.cpustate import OFFSET, ExitReason
from .lifter import I32, I64, PTR, BLOCK_FNTY, PROBE_NAME, const, _callable

DISPATCH_NAME = "emu_dispatch"

# MXCSR exception flags (bits 0-5: IE DE ZE OE UE PE).  Only OE, UE and PE
# are taken from the host: IE and ZE rules differ from ARM's (x86 raises IE
# for signalling compares of quiet NaNs LLVM emits), so IOC and DZC are
# computed explicitly in IR; DE is raised for any denormal operand, while
# ARM's IDC only counts inputs flushed under FPCR.FZ (also explicit).
MXCSR_FLAGS = 0x3F
MXCSR_OE, MXCSR_UE, MXCSR_PE = 1 << 3, 1 << 4, 1 << 5


def _mxcsr_intrinsic(module, which):
    name = f"llvm.x86.sse.{which}"
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), name)
    return fn


def read_mxcsr(b, module, slot):
    """The live MXCSR (i32), through the stack slot `slot` (an i32 alloca)."""
    b.call(_mxcsr_intrinsic(module, "stmxcsr"), [slot])
    return b.load(slot, typ=I32)


def write_mxcsr(b, module, slot, value):
    b.store(value, slot)
    b.call(_mxcsr_intrinsic(module, "ldmxcsr"), [slot])


def mxcsr_to_fpsr(b, mxcsr):
    """FPSR bits for the MXCSR flags: PE (bit 5) -> IXC (bit 4), UE (4) ->
    UFC (3), OE (3) -> OFC (2): one shift and one mask."""
    return b.and_(b.lshr(mxcsr, const(I32, 1)), const(I32, 0x1C))


def build_counter(module):
    """i64 emu_cntvct(): CLOCK_MONOTONIC in nanoseconds, for CNTVCT_EL0
    (CNTFRQ_EL0 reads 1 GHz).  Lives in the dispatcher module; blocks call it."""
    fn = ir.Function(module, ir.FunctionType(I64, []), "emu_cntvct")
    cg = ir.Function(module, ir.FunctionType(I32, [I32, PTR]), "clock_gettime")
    b = ir.IRBuilder(fn.append_basic_block())
    ts = b.alloca(ir.ArrayType(I64, 2))
    b.call(cg, [const(I32, 1), ts])
    sec = b.load(b.gep(ts, [const(I32, 0), const(I32, 0)]), typ=I64)
    nsec = b.load(b.gep(ts, [const(I32, 0), const(I32, 1)]), typ=I64)
    b.ret(b.add(b.mul(sec, const(I64, 1_000_000_000)), nsec))
    return fn


def build_probe(module):
    """void emu_probe(state, mem, pageflags): one probe of the block table
    for state.pc; on a hit chain into the block (musttail), else return to
    the dispatcher, which does the full lookup.  Blocks musttail into this
    for indirect branches (BR, BLR, RET)."""
    fn = ir.Function(module, BLOCK_FNTY, PROBE_NAME)
    state = fn.args[0]
    b = ir.IRBuilder(fn.append_basic_block())

    def fld(name):
        return b.gep(state, [const(I64, OFFSET[name])], source_etype=ir.IntType(8))

    pc = b.load(fld("pc"), typ=I64)
    table = b.load(fld("table"), typ=I64)
    mask = b.load(fld("table_mask"), typ=I64)
    idx = b.and_(b.lshr(pc, const(I64, 2)), mask)
    eaddr = b.add(table, b.shl(idx, const(I64, 4)))
    epc = b.load(b.inttoptr(eaddr, PTR), typ=I64)
    efn = b.load(b.inttoptr(b.add(eaddr, const(I64, 8)), PTR), typ=PTR)
    hit = b.and_(b.icmp_unsigned("==", epc, pc), b.icmp_unsigned("!=", efn, ir.Constant(PTR, None)))
    jump = fn.append_basic_block("jump")
    miss = fn.append_basic_block("miss")
    b.cbranch(hit, jump, miss)
    b.position_at_end(miss)
    b.ret_void()
    b.position_at_end(jump)
    b.call(_callable(efn, BLOCK_FNTY), list(fn.args), tail="musttail")
    b.ret_void()
    return fn


def build_dispatcher(module):
    """i32 emu_dispatch(ptr state, ptr mem, ptr pageflags)."""
    fn = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), DISPATCH_NAME)
    state = fn.args[0]
    entry = fn.append_basic_block("entry")
    loop = fn.append_basic_block("loop")
    probe = fn.append_basic_block("probe")
    next_bb = fn.append_basic_block("next")
    found = fn.append_basic_block("found")
    link = fn.append_basic_block("link")
    run = fn.append_basic_block("run")
    miss = fn.append_basic_block("miss")
    request = fn.append_basic_block("request")
    done = fn.append_basic_block("done")

    def fld(b, name):
        return b.gep(state, [const(I64, OFFSET[name])], source_etype=ir.IntType(8))

    b = ir.IRBuilder(entry)
    slot = b.alloca(I32, name="mxcsr")
    write_mxcsr(b, module, slot, b.and_(read_mxcsr(b, module, slot), const(I32, ~MXCSR_FLAGS)))
    b.branch(loop)
    b = ir.IRBuilder(loop)
    pc = b.load(fld(b, "pc"), typ=I64)
    table = b.load(fld(b, "table"), typ=I64)
    mask = b.load(fld(b, "table_mask"), typ=I64)
    start = b.and_(b.lshr(pc, const(I64, 2)), mask)
    b.branch(probe)
    b = ir.IRBuilder(probe)
    i = b.phi(I64, "i")
    i.add_incoming(start, loop)
    eaddr = b.add(table, b.shl(i, const(I64, 4)))
    epc = b.load(b.inttoptr(eaddr, PTR), typ=I64)
    b.cbranch(b.icmp_unsigned("==", epc, pc), found, next_bb)
    b = ir.IRBuilder(next_bb)
    empty = b.icmp_unsigned("==", epc, const(I64, 0))
    nxt = b.and_(b.add(i, const(I64, 1)), mask)
    i.add_incoming(nxt, next_bb)
    b.cbranch(empty, miss, probe)
    b = ir.IRBuilder(found)
    target = b.load(b.inttoptr(b.add(eaddr, const(I64, 8)), PTR), typ=PTR)
    cnt = fld(b, "n_lookups")
    b.store(b.add(b.load(cnt, typ=I64), const(I64, 1)), cnt)
    b.cbranch(b.icmp_unsigned("==", target, ir.Constant(PTR, None)), miss, link)
    b = ir.IRBuilder(link)
    lr = b.load(fld(b, "link_req"), typ=I64)
    dolink = b.append_basic_block("dolink")
    b.cbranch(b.icmp_unsigned("!=", lr, const(I64, 0)), dolink, run)
    b = ir.IRBuilder(dolink)
    b.store(target, b.inttoptr(lr, PTR))
    b.store(const(I64, 0), fld(b, "link_req"))
    nl = fld(b, "n_links")
    b.store(b.add(b.load(nl, typ=I64), const(I64, 1)), nl)
    b.branch(run)
    b = ir.IRBuilder(run)
    req = b.load(fld(b, "exit_request"), typ=I32)
    call_bb = b.append_basic_block("call")
    b.cbranch(b.icmp_unsigned("!=", req, const(I32, 0)), request, call_bb)
    b = ir.IRBuilder(call_bb)
    b.call(_callable(target, BLOCK_FNTY), list(fn.args))
    reason = b.load(fld(b, "exit_reason"), typ=I32)
    b.cbranch(b.icmp_unsigned("!=", reason, const(I32, 0)), done, loop)
    out = fn.append_basic_block("out")
    b = ir.IRBuilder(done)
    b.branch(out)
    b = ir.IRBuilder(miss)
    b.store(const(I32, ExitReason.MISS), fld(b, "exit_reason"))
    b.branch(out)
    b = ir.IRBuilder(request)
    b.store(const(I32, ExitReason.REQUEST), fld(b, "exit_reason"))
    b.branch(out)
    b = ir.IRBuilder(out)
    res = b.phi(I32, "reason")
    res.add_incoming(reason, done)
    res.add_incoming(const(I32, ExitReason.MISS), miss)
    res.add_incoming(const(I32, ExitReason.REQUEST), request)
    # fold the host's sticky flags into state.fpsr before Python runs
    fpsr = fld(b, "fpsr")
    b.store(b.or_(b.load(fpsr, typ=I32), mxcsr_to_fpsr(b, read_mxcsr(b, module, slot))), fpsr)
    b.ret(res)
    return fn


class BlockTable:
    """Python's handle on the native block table (it alone writes entries).

    publish(addr, mask) tells every CPU state where the table is; growing
    moves it, which happens inside guard() (a stop-the-world: no thread may
    probe the old table while it is replaced)."""

    def __init__(self, publish, guard=None, log2_size=16):
        self.publish = publish
        self.guard = guard
        self.index = {}           # guest pc -> entry index
        self._alloc(1 << log2_size)

    def _alloc(self, size):
        self.size = size
        self.mem = (ctypes.c_uint64 * (2 * size))()
        self.addr = ctypes.addressof(self.mem)
        self.used = 0
        self.publish(self.addr, size - 1)

    def _slot_for(self, pc):
        i = (pc >> 2) & (self.size - 1)
        m = self.mem
        while m[2 * i] != 0 and m[2 * i] != pc:
            i = (i + 1) & (self.size - 1)
        return i

    def insert(self, pc, fn):
        i = self.index.get(pc)
        if i is None:
            if (self.used + 1) * 2 > self.size:
                if self.guard is None:
                    self._grow()
                else:
                    with self.guard():
                        self._grow()
            i = self._slot_for(pc)
            self.index[pc] = i
            self.used += 1
        self.mem[2 * i] = pc          # pc first: a racing probe sees fn 0 (a miss)
        self.mem[2 * i + 1] = fn

    def remove(self, pc):
        i = self.index.get(pc)
        if i is not None:
            self.mem[2 * i + 1] = 0      # tombstone: keep pc for probing

    def lookup(self, pc):
        i = self.index.get(pc)
        return self.mem[2 * i + 1] if i is not None else 0

    def _grow(self):
        live = [(pc, self.mem[2 * i + 1]) for pc, i in self.index.items()
                if self.mem[2 * i + 1]]
        old = self.mem                   # kept until the new table is published
        self._alloc(self.size * 2)
        self.index = {}
        for pc, fn in live:
            i = self._slot_for(pc)
            self.index[pc] = i
            self.mem[2 * i] = pc
            self.mem[2 * i + 1] = fn
            self.used += 1
        del old
