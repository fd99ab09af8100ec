"""Lifting a region of guest blocks into one LLVM function (the lift context).

Owns: the block function's shape and the helpers every semantics function
uses: guest registers (tier 1: loads and stores of the CPU state itself, one
state GEP per field and LLVM block; tier 2: allocas, SSA after SROA, written
back only at exits), N/Z/C/V as separate bytes, condition codes, guest
memory access with the inline page-flags check, and block exits (direct
branch through a patchable link slot, indirect branch through the block
table, return to Python with an exit reason).  Does not own: which
encodings exist (translator/isa/*), compilation (compiler.py), the
dispatcher loop.

Tier-1 IR is shaped for LLVM's fast instruction selector (codegen O0), which
falls back to SelectionDAG for the rest of a block at the first instruction
it cannot take: no intrinsic calls in the memory check (the page index is
clamped with compare + select), exit-request polls as volatile (not atomic)
loads, global addresses (hot counter, link slots) computed once in the entry
block.  tests/test_tier1_fastisel.py keeps it so.

Region function: void r(ptr state, ptr mem, ptr pageflags).  A region holds
the guest blocks one miss discovered (the missed block and blocks reachable
from it by direct branches); it is entered through a switch on state.pc, so
every block in it is an entry.  Direct branches between its blocks are plain
LLVM branches (a backward branch polls exit_request), branches leaving it go
through a link slot.  Every exit goes through one `leave` block: at tier 2
registers written in the region are stored back; state.pc is set, then either
chain (musttail into the linked or looked-up region), or return to the
dispatcher with exit_reason set.
"""
from . import irtext as ir

from emu.cpustate import OFFSET, x_offset, v_offset, ExitReason
from emu.memory import PAGE_SHIFT, NPAGES, PAGE_READ, PAGE_WRITE, PAGE_CODE

I1, I8, I16, I32, I64, I128 = (ir.IntType(n) for n in (1, 8, 16, 32, 64, 128))
F16, F32, F64 = ir.HalfType(), ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()
BLOCK_FNTY = ir.FunctionType(VOID, [PTR, PTR, PTR])
INT = {1: I1, 8: I8, 16: I16, 32: I32, 64: I64, 128: I128}
PROBE_NAME = "emu_probe"      # shared indirect-branch table probe (dispatcher.py)


_CONSTS = {}


def const(ty, v):
    """An LLVM constant (integers masked to their width, and memoized)."""
    if not isinstance(ty, ir.IntType):
        return ir.Constant(ty, v)
    key = (ty.width, v)
    c = _CONSTS.get(key)
    if c is None:
        c = ir.Constant(ty, v & ((1 << ty.width) - 1))
        if len(_CONSTS) < 100000:
            _CONSTS[key] = c
    return c


def _callable(value, fnty):
    """Let the builder emit an indirect call through an opaque pointer value."""
    if isinstance(value, ir.Instr):
        return ir.callable_as(value, fnty)

    class _Callee(type(value)):
        function_type = fnty
    value.__class__ = _Callee
    return value


class Undefined(Exception):
    """Raised by a semantics function for a reserved/unallocated encoding."""


class RegionLifter:
    """Builds one region function.  Semantics functions get this as `c`."""

    def __init__(self, module, name, smc_checks=True, chain=True, hot_threshold=0,
                 ssa_regs=True):
        """ssa_regs: keep guest registers in allocas (SSA after SROA), stored back
        at exits (tier 2); False: every register access is a load or store of the
        CPU state itself (tier 1: no phis, no write-back, much cheaper to compile)."""
        self.module = module
        self.ssa_regs = ssa_regs
        self.fn = ir.Function(module, BLOCK_FNTY, name)
        self.state, self.mem, self.pflags = self.fn.args
        self.state.add_attribute("noalias")
        self.entry = self.fn.append_basic_block("entry")
        self.eb = ir.IRBuilder(self.entry)          # allocas + initial loads
        self.b = ir.IRBuilder()
        self.leave = self.fn.append_basic_block("leave")
        self.lb = ir.IRBuilder(self.leave)
        self.phi_pc = self.lb.phi(I64, "npc")
        self.phi_slot = self.lb.phi(PTR, "slot")
        self.phi_reason = self.lb.phi(I32, "reason")
        self.phi_info = self.lb.phi(I64, "info")
        self.regs = {}          # key -> (alloca, type, state offset)
        self._gep_block = None  # tier 1: the LLVM block whose state GEPs are in _geps
        self._geps = {}
        self._gaddrs = {}       # global name -> its address, computed in the entry block
        self._fields = {}       # state offset -> GEP in the entry block
        self.written = set()
        self.slots = []         # (global name, target pc)
        self.blocks = {}        # guest block pc -> its first LLVM block
        self.stubs = []         # (LLVM block, target pc, branch pc): direct branches
        self.pc = 0
        self.word = 0
        self.terminated = False
        self.smc_checks = smc_checks
        self.chain = chain
        self._labels = 0
        self._fault = None
        # Tier-1 regions count entries and backward branches in a global;
        # reaching hot_threshold exits with ExitReason.HOT (promotion).
        self.hot_threshold = hot_threshold
        self.hot_name = None
        if hot_threshold:
            self.hot_name = f"{name}_hot"
            g = ir.GlobalVariable(module, I32, self.hot_name)
            g.initializer = const(I32, 0)
            self._hot = g

    def _count_hot(self, b, pc_val, cont):
        """Bump the region's counter; at the threshold leave with HOT."""
        if not self.hot_threshold:
            b.branch(cont)
            return
        hot = self._global_addr(self._hot)
        n = b.add(b.load(hot, typ=I32), const(I32, 1))
        b.store(n, hot)
        hot = self.new_block("hot")
        b.cbranch(b.icmp_unsigned("==", n, const(I32, self.hot_threshold)), hot, cont)
        saved = self.b
        self.b = ir.IRBuilder(hot)
        self._to_leave(pc_val, None, ExitReason.HOT, 0)
        self.b = saved

    def begin_block(self, pc):
        """Start lifting the guest block at pc."""
        bb = self.fn.append_basic_block(f"g{pc:x}")
        self.blocks[pc] = bb
        self.b.position_at_end(bb)
        self.pc = pc
        self.terminated = False
        self.first_stub = len(self.stubs)
        # state.n_insns += <block length>, patched in end_block (state is
        # noalias: inside a loop LLVM keeps the count in a register).
        cnt = self.field_ptr(OFFSET["n_insns"])
        self._count = self.b.add(self.b.load(cnt, typ=I64), const(I64, 0))
        self.b.store(self._count, cnt)
        self._block_pc = pc

    def end_block(self, fallthrough_pc):
        if not self.terminated:
            self.exit_direct(fallthrough_pc)
            self.terminated = True
        n = (self.pc - self._block_pc) // 4 + 1
        self._count.operands = (self._count.operands[0], const(I64, n))

    def block_targets(self):
        """Direct branch targets of the block lifted last."""
        return [t for _, t, _ in self.stubs[self.first_stub:]]

    # -- state access -----------------------------------------------------
    def field_ptr(self, offset, builder=None):
        """Pointer to a CPU state field (one GEP per field, in the entry block)."""
        p = self._fields.get(offset)
        if p is None:
            eb = self.eb
            if self.entry.is_terminated:
                eb = ir.IRBuilder(self.entry)
                eb.position_before(self.entry.terminator)
            p = self._fields[offset] = eb.gep(self.state, [const(I64, offset)], source_etype=I8)
        return p

    def _reg(self, key, ty, offset):
        r = self.regs.get(key)
        if r is None:
            slot = self.eb.alloca(ty, name=str(key))
            init = self.eb.load(self.field_ptr(offset, self.eb), typ=ty)
            self.eb.store(init, slot)
            r = self.regs[key] = (slot, ty, offset)
        return r

    def _state_ptr(self, offset):
        """Pointer to a CPU state field, computed in the current LLVM block (one
        GEP per field and block: tier-1 code addresses registers in the state)."""
        b = self.b
        if b._block is not self._gep_block:
            self._gep_block = b._block
            self._geps = {}
        p = self._geps.get(offset)
        if p is None:
            p = self._geps[offset] = b.gep(self.state, [const(I64, offset)], source_etype=I8)
        return p

    def _read(self, key, ty, offset):
        if not self.ssa_regs:
            return self.b.load(self._state_ptr(offset), typ=ty)
        slot, ty, _ = self._reg(key, ty, offset)
        return self.b.load(slot, typ=ty)

    def _write(self, key, ty, offset, value):
        if not self.ssa_regs:
            self.b.store(value, self._state_ptr(offset))
            return
        slot, ty, _ = self._reg(key, ty, offset)
        self.b.store(value, slot)
        self.written.add(key)

    def x(self, n, width=64, sp=False):
        """Read Xn (or Wn when width=32); n=31 is XZR, or SP if sp=True."""
        if n == 31 and not sp:
            return const(INT[width], 0)
        v = self._read("sp" if n == 31 else n, I64, OFFSET["sp"] if n == 31 else x_offset(n))
        return v if width == 64 else self.b.trunc(v, INT[width])

    def set_x(self, n, value, sp=False):
        """Write Xn; a 32-bit value is zero-extended (W register write)."""
        if n == 31 and not sp:
            return
        if value.type != I64:
            value = self.b.zext(value, I64)
        if n == 31:
            self._write("sp", I64, OFFSET["sp"], value)
        else:
            self._write(n, I64, x_offset(n), value)

    def v(self, n):
        """Read Vn as i128."""
        return self._read(("v", n), I128, v_offset(n))

    def set_v(self, n, value):
        """Write Vn from an i128 (or a 128-bit vector, bitcast)."""
        if value.type != I128:
            value = self.b.bitcast(value, I128)
        self._write(("v", n), I128, v_offset(n), value)

    def flag(self, name):
        return self.b.trunc(self._read(name, I8, OFFSET[name]), I1)

    def set_flag(self, name, value):
        self._write(name, I8, OFFSET[name], self.b.zext(value, I8))

    def nzcv(self):
        return tuple(self.flag(f) for f in "nzcv")

    def set_nzcv(self, n, z, c, v):
        for name, val in zip("nzcv", (n, z, c, v)):
            self.set_flag(name, val)

    def load_field(self, name, ty):
        return self.b.load(self.field_ptr(OFFSET[name]), typ=ty)

    def store_field(self, name, value):
        self.b.store(value, self.field_ptr(OFFSET[name]))

    # -- conditions -------------------------------------------------------
    def cond(self, cc):
        """i1 value of condition code cc (ARM ConditionHolds)."""
        b = self.b
        base = cc >> 1
        if base == 7:
            return const(I1, 1)
        n, z, c, v = (self.flag(f) if f in "nzcv" else None for f in "nzcv")
        if base == 0:
            r = z
        elif base == 1:
            r = c
        elif base == 2:
            r = n
        elif base == 3:
            r = v
        elif base == 4:
            r = b.and_(c, b.not_(z))
        elif base == 5:
            r = b.icmp_unsigned("==", n, v)
        else:
            r = b.and_(b.icmp_unsigned("==", n, v), b.not_(z))
        return b.not_(r) if cc & 1 else r

    # -- control flow inside a block -------------------------------------
    def new_block(self, name="l"):
        self._labels += 1
        return self.fn.append_basic_block(f"{name}{self._labels}")

    def if_then(self, cond):
        """Context-free helper: returns (then_bb, cont_bb); builder at then."""
        then = self.new_block("then")
        cont = self.new_block("cont")
        self.b.cbranch(cond, then, cont)
        self.b.position_at_end(then)
        return then, cont

    # -- exits --------------------------------------------------------------
    def _to_leave(self, pc_val, slot, reason, info):
        cur = self.b.block
        self.phi_pc.add_incoming(pc_val if isinstance(pc_val, ir.Value) else const(I64, pc_val), cur)
        self.phi_slot.add_incoming(slot if slot is not None else ir.Constant(PTR, None), cur)
        self.phi_reason.add_incoming(const(I32, int(reason)), cur)
        self.phi_info.add_incoming(info if isinstance(info, ir.Value) else const(I64, info), cur)
        self.b.branch(self.leave)

    def _global_addr(self, g):
        """The address of global `g` as a value computed once in the entry block.
        (Under the JIT's large code model LLVM's fast instruction selector cannot
        materialise a global's address and falls back to SelectionDAG for the
        whole block; this way only the entry block pays that.)"""
        p = self._gaddrs.get(g.name)
        if p is None:
            p = self._gaddrs[g.name] = self.eb.gep(g, [const(I64, 0)], source_etype=I8)
        return p

    def _slot(self, target):
        name = f"{self.fn.name}_L{len(self.slots)}"
        g = ir.GlobalVariable(self.module, PTR, name)
        g.initializer = ir.Constant(PTR, None)
        self.slots.append((name, target))
        return self._global_addr(g)

    def exit_direct(self, target):
        """Jump to a known guest address: inside the region a plain branch,
        else through a link slot (resolved in finish())."""
        if not self.chain:
            self._to_leave(target, None, ExitReason.STEP, 0)
            return
        stub = self.new_block(f"to{target:x}_")
        self.stubs.append((stub, target, self.pc))
        self.b.branch(stub)

    def _resolve_stubs(self):
        saved = self.b
        for stub, target, src in self.stubs:
            self.b = b = ir.IRBuilder(stub)
            bb = self.blocks.get(target)
            if bb is None:
                self._to_leave(target, self._slot(target), ExitReason.NONE, 0)
            elif target <= src:
                # A backward edge: every guest loop has one; poll the exit
                # request here (volatile: another thread may set it).
                req = b.load_volatile(self.field_ptr(OFFSET["exit_request"]), 4, I32)
                out = self.new_block("loopexit")
                go = self.new_block("backedge")
                b.cbranch(b.icmp_unsigned("!=", req, const(I32, 0)), out, go)
                b.position_at_end(out)
                self._to_leave(target, None, ExitReason.NONE, 0)
                self._count_hot(ir.IRBuilder(go), const(I64, target), bb)
            else:
                b.branch(bb)
        self.b = saved

    def exit_indirect(self, target):
        """Jump to a computed guest address (block table lookup)."""
        self._to_leave(target, None, ExitReason.NONE if self.chain else ExitReason.STEP, 0)

    def exit(self, reason, pc, info=0):
        """Return to Python with `reason`; state.pc = pc."""
        self._to_leave(pc, None, reason, info)

    # Terminating forms used by semantics functions:
    def branch(self, target):
        self.exit_direct(target)
        self.terminated = True

    def branch_cond(self, cond, taken, not_taken):
        t = self.new_block("taken")
        f = self.new_block("fall")
        self.b.cbranch(cond, t, f)
        self.b.position_at_end(t)
        self.exit_direct(taken)
        self.b.position_at_end(f)
        self.exit_direct(not_taken)
        self.terminated = True

    def branch_indirect(self, target):
        self.exit_indirect(target)
        self.terminated = True

    def trap(self, reason, pc=None, info=0):
        self.exit(reason, self.pc if pc is None else pc, info)
        self.terminated = True

    def undefined(self):
        raise Undefined()

    # -- guest memory -------------------------------------------------------
    def _page_flags(self, addr):
        """Flags byte of the page holding addr (0 beyond the address limit)."""
        b = self.b
        idx = b.lshr(addr, const(I64, PAGE_SHIFT))
        # min(idx, NPAGES) as compare + select, not llvm.umin: LLVM's fast
        # instruction selector (tier 1) handles these, not the intrinsic.
        idx = b.select(b.icmp_unsigned("<", idx, const(I64, NPAGES)), idx, const(I64, NPAGES))
        return b.load(b.gep(self.pflags, [idx], source_etype=I8), typ=I8)

    def check_access(self, addr, size, write):
        """Inline page-flags check; on failure exit with precise state.

        Loads need PAGE_READ; stores need PAGE_WRITE and, unless this is a
        single-step translation, no PAGE_CODE (a store into translated code
        exits as SMC).  Both the first and the last byte's page are checked.
        """
        b = self.b
        fl = self._page_flags(addr)
        if size > 1:
            fl = b.and_(fl, self._page_flags(b.add(addr, const(I64, size - 1))))
        if write:
            mask = PAGE_WRITE | (PAGE_CODE if self.smc_checks else 0)
            ok = b.icmp_unsigned("==", b.and_(fl, const(I8, mask)), const(I8, PAGE_WRITE))
        else:
            ok = b.icmp_unsigned("!=", b.and_(fl, const(I8, PAGE_READ)), const(I8, 0))
        ok_bb = self.new_block("memok")
        shared = self._fault_block()
        here = b.block                 # one edge from here to the shared fault path
        b.cbranch(ok, ok_bb, shared).set_weights([1 << 20, 1])
        self._fault_pc.add_incoming(const(I64, self.pc), here)
        self._fault_addr.add_incoming(addr, here)
        self._fault_size.add_incoming(const(I64, size), here)
        self._fault_write.add_incoming(const(I1, 1 if write else 0), here)
        b.position_at_end(ok_bb)

    def _fault_block(self):
        """The function's one memory-fault path: FAULT_READ, FAULT_WRITE or
        SMC (a write whose pages are writable but hold translated code)."""
        if self._fault is None:
            blk = self._fault = self.fn.append_basic_block("fault")
            saved = self.b
            fb = self.b = ir.IRBuilder(blk)
            self._fault_pc = fb.phi(I64, "fpc")
            self._fault_addr = fb.phi(I64, "faddr")
            self._fault_size = fb.phi(I64, "fsize")
            self._fault_write = fb.phi(I1, "fwrite")
            fl = self._page_flags(self._fault_addr)
            last = fb.sub(fb.add(self._fault_addr, self._fault_size), const(I64, 1))
            fl = fb.and_(fl, self._page_flags(last))
            writable = fb.icmp_unsigned("!=", fb.and_(fl, const(I8, PAGE_WRITE)), const(I8, 0))
            smc = fb.and_(self._fault_write, writable) if self.smc_checks else const(I1, 0)
            reason = fb.select(smc, const(I32, ExitReason.SMC),
                               fb.select(self._fault_write, const(I32, ExitReason.FAULT_WRITE),
                                         const(I32, ExitReason.FAULT_READ)))
            self.phi_pc.add_incoming(self._fault_pc, blk)
            self.phi_slot.add_incoming(ir.Constant(PTR, None), blk)
            self.phi_reason.add_incoming(reason, blk)
            self.phi_info.add_incoming(self._fault_addr, blk)
            fb.branch(self.leave)
            self.b = saved
        return self._fault

    def host_ptr(self, addr):
        return self.b.gep(self.mem, [addr], source_etype=I8)

    def load(self, addr, size, ty=None):
        """Load `size` bytes at guest `addr` (i64) -> iN (or `ty`)."""
        self.check_access(addr, size, False)
        ty = ty or INT[size * 8]
        inst = self.b.load(self.host_ptr(addr), typ=ty)
        inst.align = 1
        return inst

    def store(self, addr, value):
        size = value.type.width // 8 if isinstance(value.type, ir.IntType) else {
            F32: 4, F64: 8, F16: 2}[value.type]
        self.check_access(addr, size, True)
        inst = self.b.store(value, self.host_ptr(addr))
        inst.align = 1

    # -- finishing -------------------------------------------------------------
    def finish(self):
        """Close the function: resolve branches, entry switch, leave block."""
        self._resolve_stubs()
        pc = self.eb.load(self.field_ptr(OFFSET["pc"], self.eb), typ=I64)
        default = self.new_block("noentry")
        dispatch = self.new_block("dispatch")
        self._count_hot(self.eb, pc, dispatch)
        sw = ir.IRBuilder(dispatch).switch(pc, default)
        for gpc, bb in self.blocks.items():
            sw.add_case(const(I64, gpc), bb)
        self.b = ir.IRBuilder(default)
        self._to_leave(pc, None, ExitReason.MISS, 0)
        lb = self.lb
        for key in sorted(self.written, key=str):
            slot, ty, off = self.regs[key]
            lb.store(lb.load(slot, typ=ty), self.field_ptr(off, lb))
        lb.store(self.phi_pc, self.field_ptr(OFFSET["pc"], lb))
        is_exit = lb.icmp_unsigned("!=", self.phi_reason, const(I32, 0))
        exit_bb = self.fn.append_basic_block("exit")
        chain_bb = self.fn.append_basic_block("chain")
        lb.cbranch(is_exit, exit_bb, chain_bb)
        eb = ir.IRBuilder(exit_bb)
        eb.store(self.phi_reason, self.field_ptr(OFFSET["exit_reason"], eb))
        eb.store(self.phi_info, self.field_ptr(OFFSET["exit_info"], eb))
        eb.ret_void()
        self._emit_chain(ir.IRBuilder(chain_bb))

    def _emit_chain(self, cb):
        """Chain: through the linked slot if any; an unlinked slot asks the
        dispatcher to link it; an indirect target goes to the shared table
        probe (emu_probe, in the dispatcher module)."""
        fn = self.fn
        # exit_request is set by other threads (signals, the tier-2 worker): a volatile
        # 4-byte load is a plain, untorn x86 load LLVM can neither drop nor hoist, and
        # unlike an atomic load it keeps the block on the fast instruction selector.
        req = cb.load_volatile(self.field_ptr(OFFSET["exit_request"], cb), 4, I32)
        stop = cb.icmp_unsigned("!=", req, const(I32, 0))
        ret_bb = fn.append_basic_block("ret")
        go_bb = fn.append_basic_block("go")
        cb.cbranch(stop, ret_bb, go_bb)
        ir.IRBuilder(ret_bb).ret_void()
        gb = ir.IRBuilder(go_bb)
        has_slot = gb.icmp_unsigned("!=", self.phi_slot, ir.Constant(PTR, None))
        slot_bb = fn.append_basic_block("viaslot")
        probe_bb = fn.append_basic_block("probe")
        gb.cbranch(has_slot, slot_bb, probe_bb)
        sb = ir.IRBuilder(slot_bb)
        target = sb.load(self.phi_slot, typ=PTR)
        linked = sb.icmp_unsigned("!=", target, ir.Constant(PTR, None))
        jump_bb = fn.append_basic_block("jump")
        unlinked_bb = fn.append_basic_block("unlinked")
        sb.cbranch(linked, jump_bb, unlinked_bb)
        ub = ir.IRBuilder(unlinked_bb)
        ub.store(ub.ptrtoint(self.phi_slot, I64), self.field_ptr(OFFSET["link_req"], ub))
        ub.ret_void()
        pb = ir.IRBuilder(probe_bb)
        probe = self.module.globals.get(PROBE_NAME) or ir.Function(self.module, BLOCK_FNTY, PROBE_NAME)
        pb.call(probe, list(fn.args), tail="musttail")
        pb.ret_void()
        jb = ir.IRBuilder(jump_bb)
        jb.call(_callable(target, BLOCK_FNTY), list(fn.args), tail="musttail")
        jb.ret_void()
