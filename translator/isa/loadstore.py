"""Loads and stores: general and SIMD&FP registers, pairs, literals, the
unprivileged forms, exclusives (LDXR/STXR and pairs), load-acquire /
store-release (LDAR, STLR, LDAPR, LDAPUR, STLUR, LDLAR, STLLR), LSE atomics
(CAS, CASP, LD<op>, SWP and the ST<op> aliases) and the AdvSIMD structure
loads/stores (LD1-4/ST1-4 multiple and single lane, LD1R-LD4R).

Precise faults: every instruction does all of its memory accesses (one
inline page check for the whole range it touches, so a fault exits before
anything is written) before it writes Rt and the base register.  A fault
reports the first byte of the instruction's access range.  Writeback with
Rt == Rn (CONSTRAINED UNPREDICTABLE) writes Rt first and the base last, as
QEMU does.  Rn = 31 is SP for addressing.

Alignment: ordinary loads and stores, pairs and structures may be unaligned
(Linux user space sees no alignment faults there).  Exclusives (LDXR/STXR
and pairs), CAS/CASP and the LD<op>/SWP atomics need natural alignment (the
pair's total size for LDXP/STXP/CASP): a misaligned one exits with
ExitReason.ALIGN, exit_info = address (the kernel turns it into SIGBUS, as
an ARMv8.0 core would).  So do LDAR/STLR/LDLAR/STLLR/LDAPR/LDAPUR/STLUR:
without FEAT_LSE2 (not advertised: HWCAP USCAT is clear) a misaligned
load-acquire/store-release is an alignment fault (AArch64.CheckAlignment for
AccType_ORDERED), as in qemu-aarch64 7.2; Unicorn (QEMU 5) does not check
(tests/test_isa_loadstore.py runs those cases against qemu-aarch64).

Exclusive monitor (QEMU's scheme): LDXR records the address in
state.excl_addr and the loaded value in state.excl_val (the high half of a
64-bit pair in excl_val2).  STXR succeeds (Ws = 0) only if excl_addr equals
its address and a host compare-and-swap of excl_val -> new value succeeds;
the monitor is cleared (excl_addr = ~0) after every STXR.  128-bit
compare-and-swap (STXP/CASP of X registers) is an inline `lock cmpxchg16b`
because LLVM's generic x86-64 target would turn an i128 cmpxchg into a
libatomic call.

Memory orderings: LDAR/LDAXR are seq_cst loads and STLR/STLXR seq_cst stores
(RCsc: an STLR followed by an LDAR stays ordered), LDAPR/LDAPUR acquire,
LDLAR acquire, STLLR release; LSE atomics map A -> acquire, L -> release,
AL -> seq_cst, none -> monotonic.  Prefetches (PRFM/PRFUM) are no-ops.
"""
import llvmlite.binding as llvm
from .. import irtext as ir

from emu.cpustate import ExitReason
from ..lifter import I32, I64, INT, PTR, const
from ..patterns import pattern
from .common import extend_reg, sign_extend


# -- shared helpers ---------------------------------------------------------

def _add(c, base, off):
    """base + off (off a Python int or an i64 value)."""
    if isinstance(off, int):
        return base if off == 0 else c.b.add(base, const(I64, off))
    return c.b.add(base, off)


def _raw_load(c, addr, ty):
    """Unchecked unaligned load (the caller ran check_access on the range)."""
    inst = c.b.load(c.host_ptr(addr), typ=ty)
    inst.align = 1
    return inst


def _raw_store(c, addr, value):
    inst = c.b.store(value, c.host_ptr(addr))
    inst.align = 1


def _fit(c, v, bits):
    """Truncate or zero-extend an integer value to `bits`."""
    w = v.type.width
    if w == bits:
        return v
    return c.b.trunc(v, INT[bits]) if w > bits else c.b.zext(v, INT[bits])


def _check_align(c, addr, size):
    """Exit with ExitReason.ALIGN (info = address) unless addr % size == 0."""
    if size == 1:
        return
    b = c.b
    bad = b.icmp_unsigned("!=", b.and_(addr, const(I64, size - 1)), const(I64, 0))
    trap = c.new_block("misaligned")
    ok = c.new_block("aligned")
    b.cbranch(bad, trap, ok)
    b.position_at_end(trap)
    c.exit(ExitReason.ALIGN, c.pc, addr)
    b.position_at_end(ok)


def _store_atomic(c, value, ptr, order, align):
    """Atomic store."""
    c.b.store_atomic(value, ptr, order, align)


def _ordered_load(c, addr, nbytes, order):
    """Acquire-class load: naturally aligned (else the alignment fault, checked before the
    translation fault as AArch64.CheckAlignment comes first), then atomic."""
    _check_align(c, addr, nbytes)
    c.check_access(addr, nbytes, False)
    return c.b.load_atomic(c.host_ptr(addr), order, nbytes, typ=INT[nbytes * 8])


def _ordered_store(c, addr, value, order):
    """Release-class store: naturally aligned (else the alignment fault), then atomic."""
    nbytes = value.type.width // 8
    _check_align(c, addr, nbytes)
    c.check_access(addr, nbytes, True)
    _store_atomic(c, value, c.host_ptr(addr), order, nbytes)


def _cmpxchg128(c, addr, cmp_lo, cmp_hi, new_lo, new_hi):
    """16-byte aligned host CAS (lock cmpxchg16b) -> (old_lo, old_hi)."""
    # MC needs the x86 asm parser to emit inline asm; registering it is
    # idempotent (compiler.py initialises only the target and asm printer).
    llvm.initialize_native_asmparser()
    fnty = ir.FunctionType(ir.LiteralStructType([I64, I64]), [PTR, I64, I64, I64, I64])
    asm = ir.InlineAsm(fnty, "lock cmpxchg16b ($2)",
                       "={rax},={rdx},r,{rbx},{rcx},0,1,~{memory},~{cc}",
                       side_effect=True)
    r = c.b.call(asm, [c.host_ptr(addr), new_lo, new_hi, cmp_lo, cmp_hi])
    return c.b.extract_value(r, 0), c.b.extract_value(r, 1)


# Orderings for LSE atomics indexed by (acquire, release).
_RMW_ORDER = {(0, 0): "monotonic", (1, 0): "acquire", (0, 1): "release", (1, 1): "seq_cst"}
_FAIL_ORDER = {(0, 0): "monotonic", (1, 0): "acquire", (0, 1): "monotonic", (1, 1): "seq_cst"}


# -- single register: general and SIMD&FP ---------------------------------

def _single_kind(c, size, V, opc):
    """(kind, nbytes) of a LDR/STR-class encoding; kind is one of
    store, load, sx64, sx32, prfm, vstore, vload."""
    if V:
        if opc >= 2:
            if size:
                c.undefined()
            return ("vload" if opc == 3 else "vstore"), 16
        return ("vload" if opc else "vstore"), 1 << size
    if opc == 0:
        return "store", 1 << size
    if opc == 1:
        return "load", 1 << size
    if opc == 2:
        return ("prfm", 8) if size == 3 else ("sx64", 1 << size)
    if size >= 2:
        c.undefined()
    return "sx32", 1 << size


def _single_value(c, kind, t):
    """The value a store writes (read before any register is written)."""
    if kind == "store":
        return c.x(t)
    if kind == "vstore":
        return c.v(t)
    return None


def _single_access(c, kind, nbytes, t, addr, value):
    """Do the access; returns a closure writing the loaded value to Rt."""
    b = c.b
    bits = nbytes * 8
    if kind in ("store", "vstore"):
        c.store(addr, _fit(c, value, bits))
        return None
    raw = c.load(addr, nbytes)
    if kind == "vload":
        val = _fit(c, raw, 128)
        return lambda: c.set_v(t, val)
    if kind == "load":
        val = _fit(c, raw, 64)
    elif kind == "sx64":
        val = b.sext(raw, I64)
    else:
        val = b.zext(b.sext(raw, I32), I64)
    return lambda: c.set_x(t, val)


def _single(c, kind, nbytes, t, addr, wb_n=None, wb_value=None):
    """Access then write Rt, then the base register (if writeback)."""
    value = _single_value(c, kind, t)
    commit = _single_access(c, kind, nbytes, t, addr, value)
    if commit:
        commit()
    if wb_n is not None:
        c.set_x(wb_n, wb_value, sp=True)


@pattern("LDST_uimm", "ss111V01ooiiiiiiiiiiiinnnnnttttt")
def LDST_uimm(c, s, V, o, i, n, t):
    """LDR/STR/LDRB/LDRSB/LDRH/LDRSH/LDRSW/PRFM (unsigned offset), GP and B/H/S/D/Q."""
    kind, nbytes = _single_kind(c, s, V, o)
    if kind == "prfm":
        return
    _single(c, kind, nbytes, t, _add(c, c.x(n, sp=True), i * nbytes))


@pattern("LDST_imm9", "ss111V00oo0iiiiiiiiiwwnnnnnttttt")
def LDST_imm9(c, s, V, o, i, w, n, t):
    """LDUR/STUR/PRFUM, post-index, LDTR/STTR (unprivileged = normal at EL0), pre-index."""
    kind, nbytes = _single_kind(c, s, V, o)
    if kind == "prfm":
        if w:
            c.undefined()
        return
    if w == 2 and V:
        c.undefined()
    off = sign_extend(i, 9)
    base = c.x(n, sp=True)
    if w == 1:                      # post-index
        _single(c, kind, nbytes, t, base, n, _add(c, base, off))
    elif w == 3:                    # pre-index
        addr = _add(c, base, off)
        _single(c, kind, nbytes, t, addr, n, addr)
    else:                           # unscaled / unprivileged
        _single(c, kind, nbytes, t, _add(c, base, off))


@pattern("LDST_reg", "ss111V00oo1mmmmmxxxS10nnnnnttttt")
def LDST_reg(c, s, V, o, m, x, S, n, t):
    """LDR/STR/PRFM (register offset: LSL, UXTW, SXTW, SXTX, optionally scaled)."""
    kind, nbytes = _single_kind(c, s, V, o)
    if not x & 2:
        c.undefined()
    if kind == "prfm":
        return
    shift = (nbytes.bit_length() - 1) if S else 0
    off = extend_reg(c, c.x(m), x, shift, 64)
    _single(c, kind, nbytes, t, c.b.add(c.x(n, sp=True), off))


@pattern("LDR_lit", "oo011V00iiiiiiiiiiiiiiiiiiittttt")
def LDR_lit(c, o, V, i, t):
    """LDR (literal) W/X/S/D/Q, LDRSW (literal), PRFM (literal)."""
    if V:
        if o == 3:
            c.undefined()
        kind, nbytes = "vload", 4 << o
    else:
        kind, nbytes = (("load", 4), ("load", 8), ("sx64", 4), ("prfm", 8))[o]
    if kind == "prfm":
        return
    _single(c, kind, nbytes, t, const(I64, c.pc + sign_extend(i, 19) * 4))


# -- pairs ----------------------------------------------------------------------

@pattern("LDST_pair", "oo101V0wwLiiiiiiiTTTTTnnnnnttttt")
def LDST_pair(c, o, V, w, L, i, T, n, t):
    """LDP/STP/LDPSW/LDNP/STNP (signed offset, pre, post), GP and S/D/Q."""
    if o == 3:
        c.undefined()
    if V:
        nbytes, kind = 4 << o, ("vload" if L else "vstore")
    elif o == 1:
        if not L or w == 0:         # STGP (MTE) / LDNP with opc 01
            c.undefined()
        nbytes, kind = 4, "sx64"
    else:
        nbytes, kind = 4 << (o >> 1), ("load" if L else "store")
    bits = nbytes * 8
    b = c.b
    base = c.x(n, sp=True)
    off = sign_extend(i, 7) * nbytes
    addr = base if w == 1 else _add(c, base, off)
    a2 = _add(c, addr, nbytes)
    if L:
        c.check_access(addr, 2 * nbytes, False)
        vals = [_raw_load(c, a, INT[bits]) for a in (addr, a2)]
        for reg, v in zip((t, T), vals):
            if kind == "vload":
                c.set_v(reg, _fit(c, v, 128))
            elif kind == "sx64":
                c.set_x(reg, b.sext(v, I64))
            else:
                c.set_x(reg, v)
    else:
        rd = c.v if V else c.x
        vals = [_fit(c, rd(reg), bits) for reg in (t, T)]
        c.check_access(addr, 2 * nbytes, True)
        _raw_store(c, addr, vals[0])
        _raw_store(c, a2, vals[1])
    if w == 1:
        c.set_x(n, _add(c, base, off), sp=True)
    elif w == 3:
        c.set_x(n, addr, sp=True)


# -- exclusives, acquire/release ---------------------------------------------

def _store_exclusive(c, s, addr, nbytes, new, release, new_hi=None):
    """STXR-family body: monitor check, host CAS, Ws status, clear monitor."""
    b = c.b
    _check_align(c, addr, nbytes)
    start = b.block
    match = b.icmp_unsigned("==", c.load_field("excl_addr", I64), addr)
    try_bb = c.new_block("stx")
    join = c.new_block("stxjoin")
    b.cbranch(match, try_bb, join)
    b.position_at_end(try_bb)
    c.check_access(addr, nbytes, True)
    if nbytes == 16:
        exp_lo = c.load_field("excl_val", I64)
        exp_hi = c.load_field("excl_val2", I64)
        old_lo, old_hi = _cmpxchg128(c, addr, exp_lo, exp_hi, new, new_hi)
        ok = b.and_(b.icmp_unsigned("==", old_lo, exp_lo), b.icmp_unsigned("==", old_hi, exp_hi))
    else:
        order = "seq_cst" if release else "monotonic"
        expected = _fit(c, c.load_field("excl_val", I64), nbytes * 8)
        r = b.cmpxchg(c.host_ptr(addr), expected, new, order, order)
        ok = b.extract_value(r, 1)
    status_ok = b.select(ok, const(I32, 0), const(I32, 1))
    tried = b.block
    b.branch(join)
    b.position_at_end(join)
    status = b.phi(I32)
    status.add_incoming(const(I32, 1), start)
    status.add_incoming(status_ok, tried)
    c.store_field("excl_addr", const(I64, -1))
    c.set_x(s, status)


@pattern("LDST_excl", "zz0010000L0sssssOuuuuunnnnnttttt")
def LDST_excl(c, z, L, s, O, u, n, t):
    """LDXR/LDAXR/STXR/STLXR (B/H/W/X)."""
    nbytes = 1 << z
    b = c.b
    if L:
        addr = c.x(n, sp=True)
        _check_align(c, addr, nbytes)
        c.check_access(addr, nbytes, False)
        raw = b.load_atomic(c.host_ptr(addr), "seq_cst" if O else "monotonic", nbytes,
                            typ=INT[nbytes * 8])
        val = _fit(c, raw, 64)
        c.store_field("excl_addr", addr)
        c.store_field("excl_val", val)
        c.set_x(t, val)
    else:
        _store_exclusive(c, s, c.x(n, sp=True), nbytes, c.x(t, nbytes * 8), O)


@pattern("LDST_exclp", "1z0010000L1sssssOuuuuunnnnnttttt")
def LDST_exclp(c, z, L, s, O, u, n, t):
    """LDXP/LDAXP/STXP/STLXP (W and X pairs)."""
    b = c.b
    addr = c.x(n, sp=True)
    if L:
        _check_align(c, addr, 8 << z)
        c.check_access(addr, 8 << z, False)
        if z:
            lo = b.load_atomic(c.host_ptr(addr), "monotonic", 8, typ=I64)
            hi = b.load_atomic(c.host_ptr(_add(c, addr, 8)), "monotonic", 8, typ=I64)
            if O:
                b.fence("acquire")
            c.store_field("excl_addr", addr)
            c.store_field("excl_val", lo)
            c.store_field("excl_val2", hi)
            c.set_x(t, lo)
            c.set_x(u, hi)
        else:
            v = b.load_atomic(c.host_ptr(addr), "seq_cst" if O else "monotonic", 8, typ=I64)
            c.store_field("excl_addr", addr)
            c.store_field("excl_val", v)
            c.set_x(t, b.trunc(v, I32))
            c.set_x(u, b.trunc(b.lshr(v, const(I64, 32)), I32))
    else:
        if z:
            _store_exclusive(c, s, addr, 16, c.x(t), O, new_hi=c.x(u))
        else:
            new = b.or_(b.zext(c.x(t, 32), I64), b.shl(b.zext(c.x(u, 32), I64), const(I64, 32)))
            _store_exclusive(c, s, addr, 8, new, O)


@pattern("LDST_ord", "zz0010001L0sssssOuuuuunnnnnttttt")
def LDST_ord(c, z, L, s, O, u, n, t):
    """LDAR/STLR (RCsc), LDLAR/STLLR (LORegions: acquire/release), B/H/W/X."""
    nbytes = 1 << z
    addr = c.x(n, sp=True)
    if L:
        v = _ordered_load(c, addr, nbytes, "seq_cst" if O else "acquire")
        c.set_x(t, _fit(c, v, 64))
    else:
        _ordered_store(c, addr, _fit(c, c.x(t), nbytes * 8), "seq_cst" if O else "release")


@pattern("LDAPR", "zz11100010111111110000nnnnnttttt")
def LDAPR(c, z, n, t):
    """LDAPR/LDAPRB/LDAPRH (RCpc acquire)."""
    nbytes = 1 << z
    v = _ordered_load(c, c.x(n, sp=True), nbytes, "acquire")
    c.set_x(t, _fit(c, v, 64))


@pattern("LDAPUR", "zz011001oo0iiiiiiiii00nnnnnttttt")
def LDAPUR(c, z, o, i, n, t):
    """STLUR/LDAPUR/LDAPURS* (RCpc, unscaled signed offset)."""
    nbytes = 1 << z
    if (o >= 2 and z == 3) or (o == 3 and z == 2):
        c.undefined()
    addr = _add(c, c.x(n, sp=True), sign_extend(i, 9))
    b = c.b
    if o == 0:
        _ordered_store(c, addr, _fit(c, c.x(t), nbytes * 8), "seq_cst")
        return
    v = _ordered_load(c, addr, nbytes, "acquire")
    if o == 1:
        c.set_x(t, _fit(c, v, 64))
    elif o == 2:
        c.set_x(t, b.sext(v, I64) if nbytes < 8 else v)
    else:
        c.set_x(t, b.sext(v, I32))


# -- LSE atomics ----------------------------------------------------------------

@pattern("CAS", "zz0010001L1sssssO11111nnnnnttttt")
def CAS(c, z, L, s, O, n, t):
    """CAS/CASA/CASL/CASAL (B/H/W/X)."""
    nbytes = 1 << z
    bits = nbytes * 8
    b = c.b
    expected = _fit(c, c.x(s), bits)
    new = _fit(c, c.x(t), bits)
    addr = c.x(n, sp=True)
    _check_align(c, addr, nbytes)
    c.check_access(addr, nbytes, True)
    r = b.cmpxchg(c.host_ptr(addr), expected, new, _RMW_ORDER[L, O], _FAIL_ORDER[L, O])
    c.set_x(s, _fit(c, b.extract_value(r, 0), 64))


@pattern("CASP", "0z0010000L1sssssO11111nnnnnttttt")
def CASP(c, z, L, s, O, n, t):
    """CASP/CASPA/CASPL/CASPAL (W and X register pairs)."""
    if s & 1 or t & 1:
        c.undefined()
    b = c.b
    addr = c.x(n, sp=True)
    if z:
        e_lo, e_hi, n_lo, n_hi = c.x(s), c.x(s + 1), c.x(t), c.x(t + 1)
        _check_align(c, addr, 16)
        c.check_access(addr, 16, True)
        o_lo, o_hi = _cmpxchg128(c, addr, e_lo, e_hi, n_lo, n_hi)
        c.set_x(s, o_lo)
        c.set_x(s + 1, o_hi)
    else:
        def pair(r):
            return b.or_(b.zext(c.x(r, 32), I64), b.shl(b.zext(c.x(r + 1, 32), I64), const(I64, 32)))
        expected, new = pair(s), pair(t)
        _check_align(c, addr, 8)
        c.check_access(addr, 8, True)
        r = b.cmpxchg(c.host_ptr(addr), expected, new, _RMW_ORDER[L, O], _FAIL_ORDER[L, O])
        old = b.extract_value(r, 0)
        c.set_x(s, b.trunc(old, I32))
        c.set_x(s + 1, b.trunc(b.lshr(old, const(I64, 32)), I32))


_RMW_OPS = ("add", "and", "xor", "or", "max", "min", "umax", "umin")


@pattern("LDOP", "zz111000AR1sssssuooo00nnnnnttttt")
def LDOP(c, z, A, R, s, u, o, n, t):
    """LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN/SWP (+A/L/AL, B/H/W/X; ST<op> = Rt XZR)."""
    if u and o:
        c.undefined()
    nbytes = 1 << z
    b = c.b
    val = _fit(c, c.x(s), nbytes * 8)
    if u:
        op = "xchg"
    else:
        op = _RMW_OPS[o]
        if o == 1:                  # LDCLR: mem AND NOT Rs
            val = b.not_(val)
    addr = c.x(n, sp=True)
    _check_align(c, addr, nbytes)
    c.check_access(addr, nbytes, True)
    old = b.atomic_rmw(op, c.host_ptr(addr), val, _RMW_ORDER[A, R])
    c.set_x(t, _fit(c, old, 64))


# -- AdvSIMD load/store structures -------------------------------------------

_MULT = {0b0000: (1, 4), 0b0010: (4, 1), 0b0100: (1, 3), 0b0110: (3, 1),
         0b0111: (1, 1), 0b1000: (1, 2), 0b1010: (2, 1)}       # opcode -> (rpt, selem)


def _mask(idx):
    return ir.Constant(ir.VectorType(I32, len(idx)), [const(I32, k) for k in idx])


def _concat(c, vecs):
    """Concatenate equal-typed vectors (padding with undef to a power of two)."""
    b = c.b
    while len(vecs) > 1:
        if len(vecs) % 2:
            vecs = vecs + [ir.Constant(vecs[0].type, ir.Undefined)]
        k = vecs[0].type.count
        vecs = [b.shuffle_vector(vecs[j], vecs[j + 1], _mask(range(2 * k)))
                for j in range(0, len(vecs), 2)]
    return vecs[0]


def _post(c, n, base, m, total):
    """Post-index writeback: Rm = 31 adds the transfer size, else Xm."""
    c.set_x(n, c.b.add(base, const(I64, total) if m == 31 else c.x(m)), sp=True)


def _simd_multiple(c, Q, L, o, s, n, t, m=None):
    if o not in _MULT:
        c.undefined()
    rpt, selem = _MULT[o]
    if s == 3 and not Q and selem != 1:
        c.undefined()
    b = c.b
    esize = 8 << s
    rbytes = 16 if Q else 8
    rty = INT[rbytes * 8]
    ecount = rbytes * 8 // esize
    vty = ir.VectorType(INT[esize], ecount)
    regs = [(t + r) % 32 for r in range(rpt * selem)]
    total = rbytes * len(regs)
    base = c.x(n, sp=True)
    if L:
        c.check_access(base, total, False)
        if selem == 1:
            vals = [_raw_load(c, _add(c, base, r * rbytes), rty) for r in range(len(regs))]
        else:
            whole = _raw_load(c, base, ir.VectorType(INT[esize], ecount * selem))
            undef = ir.Constant(whole.type, ir.Undefined)
            vals = [b.bitcast(b.shuffle_vector(whole, undef,
                                               _mask([e * selem + r for e in range(ecount)])), rty)
                    for r in range(selem)]
        for reg, v in zip(regs, vals):
            c.set_v(reg, _fit(c, v, 128))
    else:
        vals = [_fit(c, c.v(reg), rbytes * 8) for reg in regs]
        c.check_access(base, total, True)
        if selem == 1:
            for r, v in enumerate(vals):
                _raw_store(c, _add(c, base, r * rbytes), v)
        else:
            allv = _concat(c, [b.bitcast(v, vty) for v in vals])
            inter = b.shuffle_vector(allv, ir.Constant(allv.type, ir.Undefined),
                                     _mask([(k % selem) * ecount + k // selem
                                            for k in range(selem * ecount)]))
            _raw_store(c, base, inter)
    if m is not None:
        _post(c, n, base, m, total)


@pattern("SIMD_mult", "0Q0011000L000000oooossnnnnnttttt")
def SIMD_mult(c, Q, L, o, s, n, t):
    """LD1-LD4/ST1-ST4 (multiple structures, 1-4 registers)."""
    _simd_multiple(c, Q, L, o, s, n, t)


@pattern("SIMD_mult_post", "0Q0011001L0mmmmmoooossnnnnnttttt")
def SIMD_mult_post(c, Q, L, m, o, s, n, t):
    """LD1-LD4/ST1-ST4 (multiple structures), post-index immediate or register."""
    _simd_multiple(c, Q, L, o, s, n, t, m)


def _simd_single(c, Q, L, R, o, S, s, n, t, m=None):
    scale = o >> 1
    selem = ((o & 1) << 1 | R) + 1
    replicate = False
    index = 0
    if scale == 3:
        if not L or S:
            c.undefined()
        scale, replicate = s, True
    elif scale == 0:
        index = (Q << 3) | (S << 2) | s
    elif scale == 1:
        if s & 1:
            c.undefined()
        index = (Q << 2) | (S << 1) | (s >> 1)
    else:
        if s & 2:
            c.undefined()
        if s & 1:
            if S:
                c.undefined()
            index, scale = Q, 3
        else:
            index = (Q << 1) | S
    b = c.b
    nbytes = 1 << scale
    esize = nbytes * 8
    ety = INT[esize]
    full = ir.VectorType(ety, 128 // esize)
    regs = [(t + r) % 32 for r in range(selem)]
    total = nbytes * selem
    base = c.x(n, sp=True)
    if L:
        c.check_access(base, total, False)
        elems = [_raw_load(c, _add(c, base, r * nbytes), ety) for r in range(selem)]
        if replicate:
            count = (128 if Q else 64) // esize
            vals = []
            for e in elems:
                one = b.insert_element(ir.Constant(ir.VectorType(ety, count), ir.Undefined), e,
                                       const(I32, 0))
                splat = b.shuffle_vector(one, ir.Constant(one.type, ir.Undefined),
                                         _mask([0] * count))
                vals.append(_fit(c, b.bitcast(splat, INT[count * esize]), 128))
        else:
            vals = [b.insert_element(b.bitcast(c.v(reg), full), e, const(I32, index))
                    for reg, e in zip(regs, elems)]
        for reg, v in zip(regs, vals):
            c.set_v(reg, v)
    else:
        elems = [b.extract_element(b.bitcast(c.v(reg), full), const(I32, index)) for reg in regs]
        c.check_access(base, total, True)
        for r, e in enumerate(elems):
            _raw_store(c, _add(c, base, r * nbytes), e)
    if m is not None:
        _post(c, n, base, m, total)


@pattern("SIMD_single", "0Q0011010LR00000oooSssnnnnnttttt")
def SIMD_single(c, Q, L, R, o, S, s, n, t):
    """LD1-LD4/ST1-ST4 (single lane), LD1R-LD4R (replicate)."""
    _simd_single(c, Q, L, R, o, S, s, n, t)


@pattern("SIMD_single_post", "0Q0011011LRmmmmmoooSssnnnnnttttt")
def SIMD_single_post(c, Q, L, R, m, o, S, s, n, t):
    """LD1-LD4/ST1-ST4 (single lane), LD1R-LD4R, post-index immediate or register."""
    _simd_single(c, Q, L, R, o, S, s, n, t, m)
