"""Lifting one guest block into one LLVM function (the lift context).

Owns: the block function's shape and the helpers every semantics function
uses: guest registers kept in allocas (SSA after mem2reg) and written back
only at exits, N/Z/C/V as separate i1 values, condition codes, guest memory
access with the inline page-flags check, and block exits (direct branch
through a patchable link slot, indirect branch through the block table,
return to Python with an exit reason).  Does not own: which encodings exist
(translator/isa/*), compilation (compiler.py), the dispatcher loop.

Block function: void blk(ptr state, ptr mem, ptr pageflags).  Every exit goes
through one `leave` block: registers written in the block are stored back,
state.pc is set, then either chain (musttail into the linked or looked-up
block), or return to the dispatcher with exit_reason set.
"""
import llvmlite.ir as ir

from emu.cpustate import OFFSET, x_offset, v_offset, ExitReason
from emu.memory import PAGE_SHIFT, ADDR_BITS, PAGE_READ, PAGE_WRITE, PAGE_CODE

I1, I8, I16, I32, I64, I128 = (ir.IntType(n) for n in (1, 8, 16, 32, 64, 128))
F16, F32, F64 = ir.HalfType(), ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()
BLOCK_FNTY = ir.FunctionType(VOID, [PTR, PTR, PTR])
INT = {1: I1, 8: I8, 16: I16, 32: I32, 64: I64, 128: I128}


def const(ty, v):
    if isinstance(ty, ir.IntType):
        v &= (1 << ty.width) - 1
    return ir.Constant(ty, v)


def _callable(value, fnty):
    """Let llvmlite emit an indirect call through an opaque pointer value."""
    class _Callee(type(value)):
        function_type = fnty
    value.__class__ = _Callee
    return value


class Undefined(Exception):
    """Raised by a semantics function for a reserved/unallocated encoding."""


class BlockLifter:
    """Builds one block function.  Semantics functions get this as `c`."""

    def __init__(self, module, name, start_pc, smc_checks=True, chain=True):
        self.module = module
        self.fn = ir.Function(module, BLOCK_FNTY, name)
        self.state, self.mem, self.pflags = self.fn.args
        self.state.add_attribute("noalias")
        self.entry = self.fn.append_basic_block("entry")
        self.eb = ir.IRBuilder(self.entry)          # allocas + initial loads
        body = self.fn.append_basic_block("i0")
        self.b = ir.IRBuilder(body)
        self.first_body = body
        self.leave = self.fn.append_basic_block("leave")
        self.lb = ir.IRBuilder(self.leave)
        self.phi_pc = self.lb.phi(I64, "npc")
        self.phi_slot = self.lb.phi(PTR, "slot")
        self.phi_reason = self.lb.phi(I32, "reason")
        self.phi_info = self.lb.phi(I64, "info")
        self.regs = {}          # key -> (alloca, type, state offset)
        self.written = set()
        self.slots = []         # (global name, target pc)
        self.start_pc = start_pc
        self.pc = start_pc
        self.word = 0
        self.terminated = False
        self.smc_checks = smc_checks
        self.chain = chain
        self._labels = 0
        self._loophead = None

    # -- state access -----------------------------------------------------
    def field_ptr(self, offset, builder=None):
        b = builder or self.b
        return b.gep(self.state, [const(I64, offset)], source_etype=I8)

    def _reg(self, key, ty, offset):
        r = self.regs.get(key)
        if r is None:
            slot = self.eb.alloca(ty, name=str(key))
            init = self.eb.load(self.field_ptr(offset, self.eb), typ=ty)
            self.eb.store(init, slot)
            r = self.regs[key] = (slot, ty, offset)
        return r

    def _read(self, key, ty, offset):
        slot, ty, _ = self._reg(key, ty, offset)
        return self.b.load(slot, typ=ty)

    def _write(self, key, ty, offset, value):
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

    def _slot(self, target):
        name = f"{self.fn.name}_L{len(self.slots)}"
        g = ir.GlobalVariable(self.module, PTR, name)
        g.initializer = ir.Constant(PTR, None)
        self.slots.append((name, target))
        return g

    def exit_direct(self, target):
        """Jump to a known guest address (chains through a link slot).

        A branch back to the block's own start stays inside the function
        (registers remain in SSA across iterations); the exit request is
        polled on that back edge."""
        if self.chain and target == self.start_pc:
            self.b.branch(self._loop_head())
            return
        slot = self._slot(target) if self.chain else None
        self._to_leave(target, slot, ExitReason.NONE if self.chain else ExitReason.STEP, 0)

    def _loop_head(self):
        if self._loophead is None:
            head = self._loophead = self.fn.append_basic_block("loophead")
            saved = self.b
            self.b = ir.IRBuilder(head)
            # An atomic load: another thread may set exit_request at any time.
            req = self.b.load_atomic(self.field_ptr(OFFSET["exit_request"]), "monotonic", 4,
                                     typ=I32)
            stop = self.b.icmp_unsigned("!=", req, const(I32, 0))
            out = self.new_block("loopexit")
            self.b.cbranch(stop, out, self.first_body)
            self.b.position_at_end(out)
            self._to_leave(self.start_pc, None, ExitReason.NONE, 0)
            self.b = saved
        return self._loophead

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
    def _page_ok(self, addr, need_mask, need_value):
        b = self.b
        idx = b.lshr(addr, const(I64, PAGE_SHIFT))
        fl = b.load(b.gep(self.pflags, [idx], source_etype=I8), typ=I8)
        return b.icmp_unsigned("==", b.and_(fl, const(I8, need_mask)), const(I8, need_value))

    def check_access(self, addr, size, write):
        """Inline page-flags check; on failure exit with precise state."""
        b = self.b
        if write:
            if self.smc_checks:
                mask, val = PAGE_WRITE | PAGE_CODE, PAGE_WRITE
            else:
                mask, val = PAGE_WRITE, PAGE_WRITE
        else:
            mask, val = PAGE_READ, PAGE_READ
        in_range = b.icmp_unsigned("==", b.lshr(addr, const(I64, ADDR_BITS)), const(I64, 0))
        last = b.add(addr, const(I64, size - 1)) if size > 1 else addr
        last_ok = b.icmp_unsigned("==", b.lshr(last, const(I64, ADDR_BITS)), const(I64, 0))
        ok_bb = self.new_block("memok")
        chk = self.new_block("memchk")
        bad = self.new_block("memfault")
        b.cbranch(b.and_(in_range, last_ok), chk, bad)
        b.position_at_end(chk)
        ok = self._page_ok(addr, mask, val)
        if size > 1:
            ok = b.and_(ok, self._page_ok(last, mask, val))
        b.cbranch(ok, ok_bb, bad)
        b.position_at_end(bad)
        if write and self.smc_checks:
            # Distinguish a store into translated code from a real fault.
            fl = self._page_ok(addr, PAGE_WRITE, PAGE_WRITE)
            if size > 1:
                fl = b.and_(fl, self._page_ok(last, PAGE_WRITE, PAGE_WRITE))
            fl = b.and_(fl, b.and_(in_range, last_ok))
            reason = b.select(fl, const(I32, ExitReason.SMC), const(I32, ExitReason.FAULT_WRITE))
            self._to_leave_dyn(reason, addr)
        else:
            self._to_leave(self.pc, None,
                           ExitReason.FAULT_WRITE if write else ExitReason.FAULT_READ, addr)
        b.position_at_end(ok_bb)

    def _to_leave_dyn(self, reason, info):
        cur = self.b.block
        self.phi_pc.add_incoming(const(I64, self.pc), cur)
        self.phi_slot.add_incoming(ir.Constant(PTR, None), cur)
        self.phi_reason.add_incoming(reason, cur)
        self.phi_info.add_incoming(info, cur)
        self.b.branch(self.leave)

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
    def finish(self, fallthrough_pc):
        """Close the function: fallthrough exit, entry branch, leave block."""
        if not self.terminated:
            self.exit_direct(fallthrough_pc)
        self.eb.branch(self.first_body)
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
        """Chain: linked slot if any, else one probe of the block table."""
        fn = self.fn
        req = cb.load(self.field_ptr(OFFSET["exit_request"], cb), typ=I32)
        stop = cb.icmp_unsigned("!=", req, const(I32, 0))
        ret_bb = fn.append_basic_block("ret")
        go_bb = fn.append_basic_block("go")
        cb.cbranch(stop, ret_bb, go_bb)
        rb = ir.IRBuilder(ret_bb)
        rb.ret_void()
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
        table = pb.load(self.field_ptr(OFFSET["table"], pb), typ=I64)
        mask = pb.load(self.field_ptr(OFFSET["table_mask"], pb), typ=I64)
        idx = pb.and_(pb.lshr(self.phi_pc, const(I64, 2)), mask)
        eaddr = pb.add(table, pb.shl(idx, const(I64, 4)))
        epc = pb.load(pb.inttoptr(eaddr, PTR), typ=I64)
        efn = pb.load(pb.inttoptr(pb.add(eaddr, const(I64, 8)), PTR), typ=PTR)
        hit = pb.and_(pb.icmp_unsigned("==", epc, self.phi_pc),
                      pb.icmp_unsigned("!=", efn, ir.Constant(PTR, None)))
        pjump_bb = fn.append_basic_block("pjump")
        pb.cbranch(hit, pjump_bb, ret_bb)
        for bb, tgt in ((jump_bb, target), (pjump_bb, efn)):
            jb = ir.IRBuilder(bb)
            jb.call(_callable(tgt, BLOCK_FNTY), list(fn.args), tail="musttail")
            jb.ret_void()
