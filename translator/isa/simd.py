"""AdvSIMD (ARM ARM C4.1.95 "Data Processing -- Scalar Floating-Point and
Advanced SIMD", the AdvSIMD groups): three same / three different / two-reg
misc / across lanes / copy / modified immediate / shift by immediate /
x indexed element / permute / extract / table lookup, vector and scalar.

Every instruction works on LLVM vector types: a register is read as
<lanes x iE> of its low 64 or 128 bits (scalar forms: <1 x iE>), the result
is bitcast back and zero-extended to 128 bits (the upper half is cleared
for 64-bit and scalar results; "2" narrowing forms write the upper half and
keep the lower).  Integer semantics use plain vector IR plus llvm.{s,u}{max,
min}, llvm.{s,u}{add,sub}.sat, llvm.ctpop/ctlz/bitreverse/abs and
llvm.vector.reduce.*; FP semantics reuse the ARM-exact kernels of fp.py
(NaN propagation, default NaN, FZ/DN, every FPSR flag) lane-wise.
Saturating integer ops set FPSR.QC.  The whole FPSR is compared with
Unicorn for every form (tests/unicorn_rig.py, tests/fpvals.py): FRINTX
raises IXC when inexact; the compares (FCMEQ/FCMGE/FCMGT/FACGE/FACGT, also
against zero) and FRECPE/FRSQRTE/FRECPX raise IDC for an operand flushed by
FZ (FPUnpack); FRECPE raises OFC|IXC for an operand too small for a finite
reciprocal and UFC when FZ flushes the reciprocal of a huge one
(FPRecipEstimate).  Exact helper arithmetic (FRSQRTS's halvings) uses
strict operations, so LLVM cannot evaluate a product the guest does not
compute (and leak its host flags).

Decoding: each group has a table, one line per encoding (name, U, opcode,
kernel); `_register` turns a line into a decode pattern with the opcode bits
fixed, so translator.patterns.TABLE lists every form by name.

FRECPE/FRSQRTE/URECPE/URSQRTE/FRECPX follow the ARM pseudocode
(RecipEstimate / RecipSqrtEstimate tables as module-internal constants,
flags included).

Also here: SDOT/UDOT vector and by element (FEAT_DotProd, HWCAP ASIMDDP)
and SQRDMLAH/SQRDMLSH vector, scalar and by element (FEAT_RDM, HWCAP
ASIMDRDM), FCADD/FCMLA vector and by element for S and D lanes (FEAT_FCMA,
HWCAP FCMA), USDOT/SUDOT and SMMLA/UMMLA/USMMLA (FEAT_I8MM, HWCAP2 I8MM),
in "three same (extra)" and "x indexed element".  PMULL.1Q
and the AES/SHA instructions are in crypto.py.

KNOWN LIMITATIONS (beyond fp.py's): not lifted (SIGILL), matching the ID
registers we expose and the HWCAP bits we leave clear: FP16 arithmetic
(FEAT_FP16, so also the H forms of FCMLA/FCADD), FMLAL/FMLSL (FEAT_FHM),
BF16, SM3/SM4.
TBL/TBX look bytes up lane by lane (no host byte-shuffle intrinsic is
used).
"""
from .. import irtext as ir

from ..lifter import I1, I8, I16, I32, I64, I128, INT, const
from ..patterns import pattern
from . import fp as F
from .fp import K, FMT, intrinsic, ucall, fpsr_raise, QC, IOC, tsuf


# -- registers as vectors ---------------------------------------------------

def vt(e, n):
    return ir.VectorType(INT[e], n)


def get(c, r, e, total):
    """Vr's low `total` bits as <total/e x iE>."""
    v = c.v(r)
    if total < 128:
        v = c.b.trunc(v, INT[total])
    return c.b.bitcast(v, vt(e, total // e))


def bits_of(c, vec):
    ty = vec.type
    return c.b.bitcast(vec, INT[ty.count * ty.element.width])


def put(c, d, vec):
    """Write Vd from a vector (zero-extending a 64-bit or scalar result)."""
    x = bits_of(c, vec)
    if x.type.width < 128:
        x = c.b.zext(x, I128)
    c.set_v(d, x)


def put_narrow(c, d, vec, upper):
    """A 64-bit result: Vd.D[0] with the top cleared, or Vd.D[1] ("2" form)."""
    b = c.b
    x = b.zext(bits_of(c, vec), I128)
    if upper:
        x = b.or_(b.shl(x, const(I128, 64)), b.and_(c.v(d), const(I128, (1 << 64) - 1)))
    c.set_v(d, x)


def mask(idx):
    return ir.Constant(ir.VectorType(I32, len(idx)), [ir.Constant(I32, i) for i in idx])


def shuffle(c, x, y, idx):
    return c.b.shuffle_vector(x, y if y is not None else x, mask(idx))


def half(c, x, upper):
    """The low or high half of a vector's lanes."""
    n = x.type.count // 2
    return shuffle(c, x, None, range(n * upper, n * upper + n))


def concat(c, x, y):
    n = x.type.count
    return shuffle(c, x, y, range(2 * n))


def widen(c, x, signed, factor=2):
    ty = vt(x.type.element.width * factor, x.type.count)
    return c.b.sext(x, ty) if signed else c.b.zext(x, ty)


def narrow(c, x):
    return c.b.trunc(x, vt(x.type.element.width // 2, x.type.count))


def esize_of(x):
    return x.type.element.width


def smin_val(e):
    return 1 << (e - 1)


def smax_val(e):
    return (1 << (e - 1)) - 1


def umax_val(e):
    return (1 << e) - 1


def mask_to_lanes(c, cond, ty):
    """<n x i1> -> all-ones / zero lanes of ty."""
    return c.b.sext(cond, ty)


def qc(c, cond):
    fpsr_raise(c, [(cond, QC)])


# -- integer kernels: (c, x, y, old) -> vector; old() reads Vd --------------

def k_add(c, x, y, old):
    return c.b.add(x, y)


def k_sub(c, x, y, old):
    return c.b.sub(x, y)


def k_mul(c, x, y, old):
    return c.b.mul(x, y)


def k_mla(c, x, y, old):
    return c.b.add(old(), c.b.mul(x, y))


def k_mls(c, x, y, old):
    return c.b.sub(old(), c.b.mul(x, y))


def k_pmul(c, x, y, old):
    """Polynomial (carry-less) multiply of bytes, low 8 bits."""
    b = c.b
    ty = x.type
    r = K(ty, 0)
    for i in range(8):
        bit = b.icmp_unsigned("!=", b.and_(y, K(ty, 1 << i)), K(ty, 0))
        r = b.xor(r, b.select(bit, b.shl(x, K(ty, i)), K(ty, 0)))
    return r


def k_and(c, x, y, old):
    return c.b.and_(x, y)


def k_bic(c, x, y, old):
    return c.b.and_(x, c.b.not_(y))


def k_orr(c, x, y, old):
    return c.b.or_(x, y)


def k_orn(c, x, y, old):
    return c.b.or_(x, c.b.not_(y))


def k_eor(c, x, y, old):
    return c.b.xor(x, y)


def k_bsl(c, x, y, old):
    b = c.b
    return b.xor(y, b.and_(b.xor(y, x), old()))


def k_bit(c, x, y, old):
    b = c.b
    d = old()
    return b.xor(d, b.and_(b.xor(d, x), y))


def k_bif(c, x, y, old):
    b = c.b
    d = old()
    return b.xor(d, b.and_(b.xor(d, x), b.not_(y)))


def _cmp(op, signed):
    def k(c, x, y, old):
        cond = c.b.icmp_signed(op, x, y) if signed else c.b.icmp_unsigned(op, x, y)
        return mask_to_lanes(c, cond, x.type)
    return k


def k_cmtst(c, x, y, old):
    b = c.b
    return mask_to_lanes(c, b.icmp_unsigned("!=", b.and_(x, y), K(x.type, 0)), x.type)


def _minmax(name):
    def k(c, x, y, old):
        return ucall(c, name, x, y)
    return k


def _abd(signed):
    def k(c, x, y, old):
        b = c.b
        hi = ucall(c, "smax" if signed else "umax", x, y)
        lo = ucall(c, "smin" if signed else "umin", x, y)
        return b.sub(hi, lo)
    return k


def _aba(signed):
    abd = _abd(signed)

    def k(c, x, y, old):
        return c.b.add(old(), abd(c, x, y, old))
    return k


def _hadd(signed, rounding):
    """(x + y [+1]) >> 1 without overflow."""
    def k(c, x, y, old):
        b = c.b
        one = K(x.type, 1)
        sh = b.ashr if signed else b.lshr
        if rounding:
            return b.sub(b.or_(x, y), sh(b.xor(x, y), one))
        return b.add(b.and_(x, y), sh(b.xor(x, y), one))
    return k


def _hsub(signed):
    def k(c, x, y, old):
        b = c.b
        wx, wy = widen(c, x, signed), widen(c, y, signed)
        return narrow(c, b.ashr(b.sub(wx, wy), K(wx.type, 1)))
    return k


def _qaddsub(name):
    """Saturating add/sub through llvm.*.sat; QC when it saturated."""
    plain = "add" if "add" in name else "sub"

    def k(c, x, y, old):
        b = c.b
        r = ucall(c, name, x, y)
        wrap = b.add(x, y) if plain == "add" else b.sub(x, y)
        qc(c, b.icmp_unsigned("!=", r, wrap))
        return r
    return k


def shl_var(c, x, amt):
    """x << amt, amt unsigned lanes; amt >= esize gives 0."""
    b = c.b
    e = esize_of(x)
    big = b.icmp_unsigned(">=", amt, K(x.type, e))
    r = b.shl(x, b.select(big, K(x.type, 0), amt))
    return b.select(big, K(x.type, 0), r)


def shr_var(c, x, amt, signed):
    """x >> amt, amt unsigned lanes; amt >= esize gives 0 or the sign."""
    b = c.b
    e = esize_of(x)
    big = b.icmp_unsigned(">=", amt, K(x.type, e))
    s = b.select(big, K(x.type, e - 1), amt)
    if signed:
        return b.ashr(x, s)
    return b.select(big, K(x.type, 0), b.lshr(x, s))


def rshr_var(c, x, amt, signed):
    """Rounding right shift by amt >= 1 (infinite precision semantics)."""
    b = c.b
    e = esize_of(x)
    r = shr_var(c, x, amt, signed)
    rbit = b.and_(shr_var(c, x, b.sub(amt, K(x.type, 1)), signed), K(x.type, 1))
    r = b.add(r, rbit)
    return b.select(b.icmp_unsigned(">", amt, K(x.type, e)), K(x.type, 0), r)


def qshl_var(c, x, amt, signed, unsigned_result=None):
    """Saturating x << amt (amt unsigned lanes); returns (result, saturated)."""
    b = c.b
    ty = x.type
    e = esize_of(x)
    if unsigned_result is None:
        unsigned_result = not signed
    big = b.icmp_unsigned(">=", amt, K(ty, e))
    s = b.select(big, K(ty, e - 1), amt)
    shifted = b.shl(x, s)
    nonzero = b.icmp_unsigned("!=", x, K(ty, 0))
    if signed and not unsigned_result:
        back = b.ashr(shifted, s)
        sat = b.select(b.icmp_signed("<", x, K(ty, 0)), K(ty, smin_val(e)), K(ty, smax_val(e)))
    else:
        back = b.lshr(shifted, s)
        sat = K(ty, umax_val(e))
    ovf = b.or_(b.icmp_unsigned("!=", back, x), b.and_(big, nonzero))
    res = b.select(ovf, sat, b.select(big, K(ty, 0), shifted))
    if signed and unsigned_result:         # SQSHLU: negative input -> 0
        neg = b.icmp_signed("<", x, K(ty, 0))
        res = b.select(neg, K(ty, 0), res)
        ovf = b.or_(ovf, neg)
    return res, ovf


def _shl_reg(signed, rounding, saturating):
    """[SU][Q][R]SHL by register: shift by the signed low byte of y."""
    def k(c, x, y, old):
        b = c.b
        ty = x.type
        e = esize_of(x)
        sh = b.trunc(y, vt(8, ty.count)) if e > 8 else y
        if e > 8:
            sh = b.sext(sh, ty)
        neg = b.icmp_signed("<", sh, K(ty, 0))
        rs = b.sub(K(ty, 0), sh)
        right = rshr_var(c, x, rs, signed) if rounding else shr_var(c, x, rs, signed)
        if saturating:
            left, ovf = qshl_var(c, x, sh, signed)
            qc(c, b.and_(ovf, b.not_(neg)))
        else:
            left = shl_var(c, x, sh)
        return b.select(neg, right, left)
    return k


def _pairwise(op):
    def k(c, x, y, old):
        n = x.type.count
        ev = shuffle(c, x, y, range(0, 2 * n, 2))
        od = shuffle(c, x, y, range(1, 2 * n, 2))
        return op(c, ev, od, old)
    return k


def _qdmulh(rounding):
    """SQDMULH / SQRDMULH: high half of 2*x*y (+ rounding), saturating."""
    def k(c, x, y, old):
        b = c.b
        e = esize_of(x)
        wx, wy = widen(c, x, True), widen(c, y, True)
        p = b.mul(wx, wy)
        p2 = b.shl(p, K(p.type, 1))
        if rounding:
            p2 = b.add(p2, K(p.type, 1 << (e - 1)))
        r = b.ashr(p2, K(p.type, e))
        both_min = b.and_(b.icmp_unsigned("==", x, K(x.type, smin_val(e))),
                          b.icmp_unsigned("==", y, K(x.type, smin_val(e))))
        qc(c, both_min)
        return b.select(both_min, K(x.type, smax_val(e)), narrow(c, r))
    return k


# -- FP kernels on vectors (fmt chosen by the size bit) --------------------

def fk(fn, neg_first=False):
    """Wrap an fp.py two-operand kernel as (c, fmt, x, y, old)."""
    def k(c, fmt, x, y, old):
        if neg_first:
            x = F.neg_bits(c, fmt, x)
        return fn(c, fmt, x, y)
    return k


def fk_mla(neg):
    def k(c, fmt, x, y, old):
        if neg:
            x = F.neg_bits(c, fmt, x)
        return F.fmuladd(c, fmt, old(), x, y)
    return k


def _step(const_val, halve):
    """FRECPS (2 - x*y) / FRSQRTS ((3 - x*y) / 2), fused; inf * 0 gives
    2.0 / 1.5 exactly (no InvalidOp)."""
    def k(c, fmt, x, y, old):
        def compute(cx, p, q):
            ftype = p.type
            if not halve:
                return F.arith(cx, "fma", p, q, K(ftype, const_val))
            # (3 + p*q) / 2 with one rounding.  If an operand is >= 1 in
            # magnitude, halve the larger one (exact) and add 1.5: then
            # fma(p, q, 3) * 0.5 could overflow where the result does not.
            # Otherwise fma(p, q, 3) is in [2, 4] and halving it is exact.
            b = cx.b
            ap, aq = F.ucall(cx, "fabs", p), F.ucall(cx, "fabs", q)
            pbig = b.fcmp_ordered(">=", ap, aq)
            large = b.fcmp_ordered(">=", b.select(pbig, ap, aq), K(ftype, 1.0))
            # The halvings multiply by a selected 0.5 or 1.0 (exact either way) with strict
            # multiplies: a plain fmul by a select of constants is turned by LLVM's DAG
            # combiner into a select between the product and the operand, so a denormal
            # operand's product with 0.5 was computed anyway and leaked the host's
            # underflow/inexact flags (UFC|IXC where ARM raises IXC at most).
            half_, one = K(ftype, 0.5), K(ftype, 1.0)
            p2 = F.arith(cx, "fmul", p, b.select(b.and_(large, pbig), half_, one))
            q2 = F.arith(cx, "fmul", q, b.select(b.and_(large, b.not_(pbig)), half_, one))
            r = F.arith(cx, "fma", p2, q2, b.select(large, K(ftype, 1.5), K(ftype, 3.0)))
            return F.arith(cx, "fmul", r, b.select(large, one, half_))

        def fix(cx, ops, r):
            special = K(r.type, F.vfp_expand_imm(0x78 if halve else 0x00, fmt.bits))
            return cx.b.select(F._infzero(cx, fmt, *ops), special, r)
        return F.fp_op(c, fmt, [F.neg_bits(c, fmt, x), y], compute,
                       "rsqrts" if halve else "recps", fix=fix, rounds=True)
    return k


def _fcmp_lanes(c, fmt, x, y, op, absolute):
    if absolute:
        x, y = F.abs_bits(c, fmt, x), F.abs_bits(c, fmt, y)
    return c.b.fcmp_ordered(op, F.fv(c, fmt, x), F.fv(c, fmt, y))


def _fcmp(op, absolute=False, signal_all=True):
    """FCMEQ/FCMGE/FCMGT/FACGE/FACGT -> all-ones lanes; IOC on (S)NaN.
    Unordered lanes or FZ go out of line."""
    def k(c, fmt, x, y, old):
        b = c.b
        fast = mask_to_lanes(c, _fcmp_lanes(c, fmt, x, y, op, absolute), x.type)
        unord = b.fcmp_unordered("uno", F.fv(c, fmt, x), F.fv(c, fmt, y))
        need = b.or_(F.fpcr_bit(c, F.FPCR_FZ), F.any_true(c, unord))

        def body(e, p, q):
            eb = e.b
            idc = F.input_denormal(e, fmt, [p, q])     # FPUnpack of a flushed operand
            p, q = F.flush(e, fmt, p), F.flush(e, fmt, q)
            cond = _fcmp_lanes(e, fmt, p, q, op, absolute)
            if signal_all:
                inv = eb.fcmp_unordered("uno", F.fv(e, fmt, p), F.fv(e, fmt, q))
            else:
                inv = eb.or_(F.is_snan(e, fmt, p), F.is_snan(e, fmt, q))
            fpsr_raise(e, [(inv, IOC), (idc, F.IDC)])
            return mask_to_lanes(e, cond, p.type)
        name = f"emu_fp_cm{'a' if absolute else ''}{_CMP_NAMES[op]}_{tsuf(x.type)}"
        return F.fast_or_slow(c, need, fast,
                              lambda: F.out_of_line(c, name, x.type, [x, y], body))
    return k


_CMP_NAMES = {"==": "eq", ">=": "ge", ">": "gt", "<": "lt", "<=": "le"}


def _fpairwise(fn):
    def k(c, fmt, x, y, old):
        n = x.type.count
        ev = shuffle(c, x, y, range(0, 2 * n, 2))
        od = shuffle(c, x, y, range(1, 2 * n, 2))
        return fn(c, fmt, ev, od)
    return k


# -- registration -------------------------------------------------------------

def _register(name, bits, lift, doc):
    lift.__name__ = lift.__qualname__ = name
    lift.__doc__ = doc
    pattern(name, bits)(lift)


def _fmt_sz(c, s, q=1, allow_q0_d=False):
    if s and not q and not allow_q0_d:
        c.undefined()
    return FMT[64 if s else 32]


# Three same, integer: (name, U, opcode, kernel, sizes allowed, scalar sizes)
ALL, NOD, BHS, HS = (0, 1, 2, 3), (0, 1, 2), (0, 1, 2), (1, 2)
THREE_SAME = [
    ("SHADD", 0, 0b00000, _hadd(True, False), NOD, ()),
    ("UHADD", 1, 0b00000, _hadd(False, False), NOD, ()),
    ("SQADD", 0, 0b00001, _qaddsub("sadd.sat"), ALL, ALL),
    ("UQADD", 1, 0b00001, _qaddsub("uadd.sat"), ALL, ALL),
    ("SRHADD", 0, 0b00010, _hadd(True, True), NOD, ()),
    ("URHADD", 1, 0b00010, _hadd(False, True), NOD, ()),
    ("SHSUB", 0, 0b00100, _hsub(True), NOD, ()),
    ("UHSUB", 1, 0b00100, _hsub(False), NOD, ()),
    ("SQSUB", 0, 0b00101, _qaddsub("ssub.sat"), ALL, ALL),
    ("UQSUB", 1, 0b00101, _qaddsub("usub.sat"), ALL, ALL),
    ("CMGT", 0, 0b00110, _cmp(">", True), ALL, (3,)),
    ("CMHI", 1, 0b00110, _cmp(">", False), ALL, (3,)),
    ("CMGE", 0, 0b00111, _cmp(">=", True), ALL, (3,)),
    ("CMHS", 1, 0b00111, _cmp(">=", False), ALL, (3,)),
    ("SSHL", 0, 0b01000, _shl_reg(True, False, False), ALL, (3,)),
    ("USHL", 1, 0b01000, _shl_reg(False, False, False), ALL, (3,)),
    ("SQSHL", 0, 0b01001, _shl_reg(True, False, True), ALL, ALL),
    ("UQSHL", 1, 0b01001, _shl_reg(False, False, True), ALL, ALL),
    ("SRSHL", 0, 0b01010, _shl_reg(True, True, False), ALL, (3,)),
    ("URSHL", 1, 0b01010, _shl_reg(False, True, False), ALL, (3,)),
    ("SQRSHL", 0, 0b01011, _shl_reg(True, True, True), ALL, ALL),
    ("UQRSHL", 1, 0b01011, _shl_reg(False, True, True), ALL, ALL),
    ("SMAX", 0, 0b01100, _minmax("smax"), NOD, ()),
    ("UMAX", 1, 0b01100, _minmax("umax"), NOD, ()),
    ("SMIN", 0, 0b01101, _minmax("smin"), NOD, ()),
    ("UMIN", 1, 0b01101, _minmax("umin"), NOD, ()),
    ("SABD", 0, 0b01110, _abd(True), NOD, ()),
    ("UABD", 1, 0b01110, _abd(False), NOD, ()),
    ("SABA", 0, 0b01111, _aba(True), NOD, ()),
    ("UABA", 1, 0b01111, _aba(False), NOD, ()),
    ("ADD", 0, 0b10000, k_add, ALL, (3,)),
    ("SUB", 1, 0b10000, k_sub, ALL, (3,)),
    ("CMTST", 0, 0b10001, k_cmtst, ALL, (3,)),
    ("CMEQ", 1, 0b10001, _cmp("==", False), ALL, (3,)),
    ("MLA", 0, 0b10010, k_mla, NOD, ()),
    ("MLS", 1, 0b10010, k_mls, NOD, ()),
    ("MUL", 0, 0b10011, k_mul, NOD, ()),
    ("PMUL", 1, 0b10011, k_pmul, (0,), ()),
    ("SMAXP", 0, 0b10100, _pairwise(_minmax("smax")), NOD, ()),
    ("UMAXP", 1, 0b10100, _pairwise(_minmax("umax")), NOD, ()),
    ("SMINP", 0, 0b10101, _pairwise(_minmax("smin")), NOD, ()),
    ("UMINP", 1, 0b10101, _pairwise(_minmax("umin")), NOD, ()),
    ("SQDMULH", 0, 0b10110, _qdmulh(False), HS, HS),
    ("SQRDMULH", 1, 0b10110, _qdmulh(True), HS, HS),
    ("ADDP", 0, 0b10111, _pairwise(k_add), ALL, ()),
]

LOGICAL = [   # three same, opcode 00011, the op in size
    ("AND", 0, 0, k_and), ("BIC", 0, 1, k_bic), ("ORR", 0, 2, k_orr), ("ORN", 0, 3, k_orn),
    ("EOR", 1, 0, k_eor), ("BSL", 1, 1, k_bsl), ("BIT", 1, 2, k_bit), ("BIF", 1, 3, k_bif),
]

# Three same, FP: (name, U, a (bit 23), opcode, kernel, has scalar form)
FP_SAME = [
    ("FMAXNM", 0, 0, 0b11000, fk(F.fmaxnm), False),
    ("FMLA", 0, 0, 0b11001, fk_mla(False), False),
    ("FADD", 0, 0, 0b11010, fk(F.fadd), False),
    ("FMULX", 0, 0, 0b11011, fk(F.fmulx), True),
    ("FCMEQ", 0, 0, 0b11100, _fcmp("==", signal_all=False), True),
    ("FMAX", 0, 0, 0b11110, fk(F.fmax), False),
    ("FRECPS", 0, 0, 0b11111, _step(2.0, False), True),
    ("FMINNM", 0, 1, 0b11000, fk(F.fminnm), False),
    ("FMLS", 0, 1, 0b11001, fk_mla(True), False),
    ("FSUB", 0, 1, 0b11010, fk(F.fsub), False),
    ("FMIN", 0, 1, 0b11110, fk(F.fmin), False),
    ("FRSQRTS", 0, 1, 0b11111, _step(3.0, True), True),
    ("FMAXNMP", 1, 0, 0b11000, _fpairwise(F.fmaxnm), False),
    ("FADDP", 1, 0, 0b11010, _fpairwise(F.fadd), False),
    ("FMUL", 1, 0, 0b11011, fk(F.fmul), False),
    ("FCMGE", 1, 0, 0b11100, _fcmp(">="), True),
    ("FACGE", 1, 0, 0b11101, _fcmp(">=", absolute=True), True),
    ("FMAXP", 1, 0, 0b11110, _fpairwise(F.fmax), False),
    ("FDIV", 1, 0, 0b11111, fk(F.fdiv), False),
    ("FMINNMP", 1, 1, 0b11000, _fpairwise(F.fminnm), False),
    ("FABD", 1, 1, 0b11010, fk(F.fabd), True),
    ("FCMGT", 1, 1, 0b11100, _fcmp(">"), True),
    ("FACGT", 1, 1, 0b11101, _fcmp(">", absolute=True), True),
    ("FMINP", 1, 1, 0b11110, _fpairwise(F.fmin), False),
]


def _same_int_lift(kern, sizes, scalar):
    def lift(c, z, m, n, d, Q=1):
        if z not in sizes or (not scalar and z == 3 and not Q):
            c.undefined()
        e = 8 << z
        total = e if scalar else (128 if Q else 64)
        x, y = get(c, n, e, total), get(c, m, e, total)
        put(c, d, kern(c, x, y, lambda: get(c, d, e, total)))
    return lift


def _logical_lift(kern):
    def lift(c, m, n, d, Q):
        total = 128 if Q else 64
        x, y = get(c, n, 8, total), get(c, m, 8, total)
        put(c, d, kern(c, x, y, lambda: get(c, d, 8, total)))
    return lift


def _same_fp_lift(kern, scalar):
    def lift(c, s, m, n, d, Q=1):
        fmt = _fmt_sz(c, s, Q)
        e = fmt.bits
        total = e if scalar else (128 if Q else 64)
        x, y = get(c, n, e, total), get(c, m, e, total)
        put(c, d, kern(c, fmt, x, y, lambda: get(c, d, e, total)))
    return lift


for _name, _u, _opc, _k, _sizes, _ssizes in THREE_SAME:
    _register(f"{_name}_v", f"0Q{_u}01110zz1mmmmm{_opc:05b}1nnnnnddddd",
              _same_int_lift(_k, _sizes, False), f"{_name} (vector, three same).")
    if _ssizes:
        _register(f"{_name}_s", f"01{_u}11110zz1mmmmm{_opc:05b}1nnnnnddddd",
                  _same_int_lift(_k, _ssizes, True), f"{_name} (scalar, three same).")

for _name, _u, _op, _k in LOGICAL:
    _register(f"{_name}_v", f"0Q{_u}01110{_op:02b}1mmmmm000111nnnnnddddd",
              _logical_lift(_k), f"{_name} (vector, bitwise).")

for _name, _u, _a, _opc, _k, _scalar in FP_SAME:
    _register(f"{_name}_v", f"0Q{_u}01110{_a}s1mmmmm{_opc:05b}1nnnnnddddd",
              _same_fp_lift(_k, False), f"{_name} (vector, FP three same).")
    if _scalar:
        _register(f"{_name}_s", f"01{_u}11110{_a}s1mmmmm{_opc:05b}1nnnnnddddd",
                  _same_fp_lift(_k, True), f"{_name} (scalar, FP three same).")


# -- three different (long / wide / narrow-high) -----------------------------

def _sat_s(c, x, e):
    """Saturate signed wide lanes to signed e bits: (result e-bit, saturated)."""
    b = c.b
    lo, hi = K(x.type, -smin_val(e)), K(x.type, smax_val(e))
    y = ucall(c, "smin", ucall(c, "smax", x, lo), hi)
    return b.trunc(y, vt(e, x.type.count)), b.icmp_unsigned("!=", x, y)


def _sat_u(c, x, e, signed_src):
    """Saturate wide lanes (signed or unsigned) to unsigned e bits."""
    b = c.b
    y = x
    if signed_src:
        y = ucall(c, "smax", y, K(x.type, 0))
    y = ucall(c, "umin", y, K(x.type, umax_val(e)))
    return b.trunc(y, vt(e, x.type.count)), b.icmp_unsigned("!=", x, y)


def _sqdmull(c, x, y):
    """2 * x * y widened, saturating (only MIN * MIN overflows); sets QC."""
    b = c.b
    e = esize_of(x)
    p = b.mul(widen(c, x, True), widen(c, y, True))
    both_min = b.and_(b.icmp_unsigned("==", x, K(x.type, smin_val(e))),
                      b.icmp_unsigned("==", y, K(x.type, smin_val(e))))
    qc(c, both_min)
    return b.select(both_min, K(p.type, smax_val(2 * e)), b.shl(p, K(p.type, 1)))


def _sqadd_wide(c, acc, p, sub):
    b = c.b
    r = ucall(c, "ssub.sat" if sub else "sadd.sat", acc, p)
    wrap = b.sub(acc, p) if sub else b.add(acc, p)
    qc(c, b.icmp_unsigned("!=", r, wrap))
    return r


def _pmull8(c, x, y):
    """Polynomial 8x8 -> 16 multiply per lane."""
    b = c.b
    wx, wy = widen(c, x, False), widen(c, y, False)
    ty = wx.type
    r = K(ty, 0)
    for i in range(8):
        bit = b.icmp_unsigned("!=", b.and_(wy, K(ty, 1 << i)), K(ty, 0))
        r = b.xor(r, b.select(bit, b.shl(wx, K(ty, i)), K(ty, 0)))
    return r


# kind: L (long: narrow x narrow -> wide), W (wide x narrow -> wide),
#       N (wide x wide -> narrow high half).  fn(c, x, y, old, signed)
def _l_add(c, x, y, old, s):
    return c.b.add(widen(c, x, s), widen(c, y, s))


def _l_sub(c, x, y, old, s):
    return c.b.sub(widen(c, x, s), widen(c, y, s))


def _w_add(c, x, y, old, s):
    return c.b.add(x, widen(c, y, s))


def _w_sub(c, x, y, old, s):
    return c.b.sub(x, widen(c, y, s))


def _l_abd(c, x, y, old, s):
    return widen(c, _abd(s)(c, x, y, old), False)


def _l_abal(c, x, y, old, s):
    return c.b.add(old(), _l_abd(c, x, y, old, s))


def _l_mul(c, x, y, old, s):
    return c.b.mul(widen(c, x, s), widen(c, y, s))


def _l_mlal(c, x, y, old, s):
    return c.b.add(old(), _l_mul(c, x, y, old, s))


def _l_mlsl(c, x, y, old, s):
    return c.b.sub(old(), _l_mul(c, x, y, old, s))


def _l_sqdmull(c, x, y, old, s):
    return _sqdmull(c, x, y)


def _l_sqdmlal(c, x, y, old, s):
    return _sqadd_wide(c, old(), _sqdmull(c, x, y), False)


def _l_sqdmlsl(c, x, y, old, s):
    return _sqadd_wide(c, old(), _sqdmull(c, x, y), True)


def _l_pmull(c, x, y, old, s):
    return _pmull8(c, x, y)


def _hn(sub, rounding):
    def k(c, x, y, old, s):
        b = c.b
        e = esize_of(x) // 2
        r = b.sub(x, y) if sub else b.add(x, y)
        if rounding:
            r = b.add(r, K(r.type, 1 << (e - 1)))
        return narrow(c, b.lshr(r, K(r.type, e)))
    return k


THREE_DIFF = [   # (name, U, opcode, kind, fn, sizes)
    ("SADDL", 0, 0b0000, "L", _l_add, NOD), ("UADDL", 1, 0b0000, "L", _l_add, NOD),
    ("SADDW", 0, 0b0001, "W", _w_add, NOD), ("UADDW", 1, 0b0001, "W", _w_add, NOD),
    ("SSUBL", 0, 0b0010, "L", _l_sub, NOD), ("USUBL", 1, 0b0010, "L", _l_sub, NOD),
    ("SSUBW", 0, 0b0011, "W", _w_sub, NOD), ("USUBW", 1, 0b0011, "W", _w_sub, NOD),
    ("ADDHN", 0, 0b0100, "N", _hn(False, False), NOD),
    ("RADDHN", 1, 0b0100, "N", _hn(False, True), NOD),
    ("SABAL", 0, 0b0101, "L", _l_abal, NOD), ("UABAL", 1, 0b0101, "L", _l_abal, NOD),
    ("SUBHN", 0, 0b0110, "N", _hn(True, False), NOD),
    ("RSUBHN", 1, 0b0110, "N", _hn(True, True), NOD),
    ("SABDL", 0, 0b0111, "L", _l_abd, NOD), ("UABDL", 1, 0b0111, "L", _l_abd, NOD),
    ("SMLAL", 0, 0b1000, "L", _l_mlal, NOD), ("UMLAL", 1, 0b1000, "L", _l_mlal, NOD),
    ("SQDMLAL", 0, 0b1001, "L", _l_sqdmlal, HS),
    ("SMLSL", 0, 0b1010, "L", _l_mlsl, NOD), ("UMLSL", 1, 0b1010, "L", _l_mlsl, NOD),
    ("SQDMLSL", 0, 0b1011, "L", _l_sqdmlsl, HS),
    ("SMULL", 0, 0b1100, "L", _l_mul, NOD), ("UMULL", 1, 0b1100, "L", _l_mul, NOD),
    ("SQDMULL", 0, 0b1101, "L", _l_sqdmull, HS),
    ("PMULL", 0, 0b1110, "L", _l_pmull, (0,)),
]


def _diff_lift(kind, fn, sizes, signed, scalar=False):
    def lift(c, z, m, n, d, Q=0):
        if z not in sizes:
            c.undefined()
        e = 8 << z
        if scalar:                      # SQDMULL/SQDMLAL/SQDMLSL Sd/Dd, Hn/Sn, Hm/Sm
            x, y = get(c, n, e, e), get(c, m, e, e)
            put(c, d, fn(c, x, y, lambda: get(c, d, 2 * e, 2 * e), signed))
            return
        old = (lambda: get(c, d, 2 * e, 128))
        if kind == "N":
            x, y = get(c, n, 2 * e, 128), get(c, m, 2 * e, 128)
            put_narrow(c, d, fn(c, x, y, old, signed), Q)
            return
        y = half(c, get(c, m, e, 128), Q)
        x = get(c, n, 2 * e, 128) if kind == "W" else half(c, get(c, n, e, 128), Q)
        put(c, d, fn(c, x, y, old, signed))
    return lift


for _name, _u, _opc, _kind, _fn, _sizes in THREE_DIFF:
    _register(f"{_name}_v", f"0Q{_u}01110zz1mmmmm{_opc:04b}00nnnnnddddd",
              _diff_lift(_kind, _fn, _sizes, not _u), f"{_name}/{_name}2 (three different).")
    if _name.startswith("SQD"):
        _register(f"{_name}_s", f"01{_u}11110zz1mmmmm{_opc:04b}00nnnnnddddd",
                  _diff_lift(_kind, _fn, _sizes, True, scalar=True), f"{_name} (scalar).")


# -- two-register miscellaneous -------------------------------------------------

def _rev(container_bytes):
    """REV16/REV32/REV64: reverse elements inside each container."""
    def k(c, x, old):
        b = c.b
        e = esize_of(x)
        nb = x.type.count * e // 8
        v = b.bitcast(x, vt(8, nb))
        eb = e // 8
        idx = []
        for base in range(0, nb, container_bytes):
            elems = container_bytes // eb
            for i in range(elems):
                src = elems - 1 - i
                idx.extend(base + src * eb + j for j in range(eb))
        return b.bitcast(shuffle(c, v, None, idx), x.type)
    return k


def _cmp0(op):
    def k(c, x, old):
        return mask_to_lanes(c, c.b.icmp_signed(op, x, K(x.type, 0)), x.type)
    return k


def k_abs(c, x, old):
    return intrinsic(c, f"llvm.abs.{tsuf(x.type)}", x.type, [x, const(I1, 0)])


def k_neg(c, x, old):
    return c.b.sub(K(x.type, 0), x)


def k_sqabs(c, x, old):
    b = c.b
    e = esize_of(x)
    is_min = b.icmp_unsigned("==", x, K(x.type, smin_val(e)))
    qc(c, is_min)
    return b.select(is_min, K(x.type, smax_val(e)), k_abs(c, x, old))


def k_sqneg(c, x, old):
    b = c.b
    e = esize_of(x)
    is_min = b.icmp_unsigned("==", x, K(x.type, smin_val(e)))
    qc(c, is_min)
    return b.select(is_min, K(x.type, smax_val(e)), k_neg(c, x, old))


def k_cnt(c, x, old):
    return ucall(c, "ctpop", x)


def k_clz(c, x, old):
    return intrinsic(c, f"llvm.ctlz.{tsuf(x.type)}", x.type, [x, const(I1, 0)])


def k_cls(c, x, old):
    b = c.b
    y = b.xor(x, b.ashr(x, K(x.type, 1)))
    return b.sub(k_clz(c, y, old), K(x.type, 1))


def k_not(c, x, old):
    return c.b.not_(x)


def k_rbit(c, x, old):
    return ucall(c, "bitreverse", x)


def k_suqadd(c, x, old):
    """SUQADD: signed Vd + unsigned Vn, signed saturation."""
    b = c.b
    e = esize_of(x)
    d = old()
    s = b.add(widen(c, d, True), widen(c, x, False))
    r, sat = _sat_s(c, s, e)
    qc(c, sat)
    return r


def k_usqadd(c, x, old):
    """USQADD: unsigned Vd + signed Vn, unsigned saturation."""
    b = c.b
    e = esize_of(x)
    d = old()
    s = b.add(widen(c, d, False), widen(c, x, True))
    r, sat = _sat_u(c, s, e, True)
    qc(c, sat)
    return r


def _addlp(signed, acc):
    def k(c, x, old):
        b = c.b
        n = x.type.count
        ev = widen(c, shuffle(c, x, None, range(0, n, 2)), signed)
        od = widen(c, shuffle(c, x, None, range(1, n, 2)), signed)
        r = b.add(ev, od)
        return b.add(old(), r) if acc else r
    return k


def _xtn(kind):
    """Narrow wide lanes: plain, signed/unsigned saturating, signed->unsigned."""
    def k(c, x, old):
        e = esize_of(x) // 2
        if kind == "XTN":
            return narrow(c, x)
        if kind == "SQXTN":
            r, sat = _sat_s(c, x, e)
        elif kind == "UQXTN":
            r, sat = _sat_u(c, x, e, False)
        else:
            r, sat = _sat_u(c, x, e, True)
        qc(c, sat)
        return r
    return k


MISC = [   # integer: (name, U, opcode, kernel, kind, vector sizes, scalar sizes)
    ("REV64", 0, 0b00000, _rev(8), "same", (0, 1, 2), ()),
    ("REV16", 0, 0b00001, _rev(2), "same", (0,), ()),
    ("SADDLP", 0, 0b00010, _addlp(True, False), "pairlong", NOD, ()),
    ("SUQADD", 0, 0b00011, k_suqadd, "same", ALL, ALL),
    ("CLS", 0, 0b00100, k_cls, "same", NOD, ()),
    ("CNT", 0, 0b00101, k_cnt, "same", (0,), ()),
    ("SADALP", 0, 0b00110, _addlp(True, True), "pairlong", NOD, ()),
    ("SQABS", 0, 0b00111, k_sqabs, "same", ALL, ALL),
    ("CMGT_zero", 0, 0b01000, _cmp0(">"), "same", ALL, (3,)),
    ("CMEQ_zero", 0, 0b01001, _cmp0("=="), "same", ALL, (3,)),
    ("CMLT_zero", 0, 0b01010, _cmp0("<"), "same", ALL, (3,)),
    ("ABS", 0, 0b01011, k_abs, "same", ALL, (3,)),
    ("XTN", 0, 0b10010, _xtn("XTN"), "narrow", NOD, ()),
    ("SQXTN", 0, 0b10100, _xtn("SQXTN"), "narrow", NOD, NOD),
    ("REV32", 1, 0b00000, _rev(4), "same", (0, 1), ()),
    ("UADDLP", 1, 0b00010, _addlp(False, False), "pairlong", NOD, ()),
    ("USQADD", 1, 0b00011, k_usqadd, "same", ALL, ALL),
    ("CLZ", 1, 0b00100, k_clz, "same", NOD, ()),
    ("UADALP", 1, 0b00110, _addlp(False, True), "pairlong", NOD, ()),
    ("SQNEG", 1, 0b00111, k_sqneg, "same", ALL, ALL),
    ("CMGE_zero", 1, 0b01000, _cmp0(">="), "same", ALL, (3,)),
    ("CMLE_zero", 1, 0b01001, _cmp0("<="), "same", ALL, (3,)),
    ("NEG", 1, 0b01011, k_neg, "same", ALL, (3,)),
    ("SQXTUN", 1, 0b10010, _xtn("SQXTUN"), "narrow", NOD, NOD),
    ("SHLL", 1, 0b10011, None, "shll", NOD, ()),
    ("UQXTN", 1, 0b10100, _xtn("UQXTN"), "narrow", NOD, NOD),
]


def _misc_lift(kern, kind, sizes, scalar):
    def lift(c, n, d, z=0, Q=1):
        if z not in sizes or (not scalar and z == 3 and not Q):
            c.undefined()
        e = 8 << z
        b = c.b
        if kind == "narrow":
            if scalar:
                x = get(c, n, 2 * e, 2 * e)
                put(c, d, kern(c, x, None))
            else:
                put_narrow(c, d, kern(c, get(c, n, 2 * e, 128), None), Q)
            return
        if kind == "shll":
            x = widen(c, half(c, get(c, n, e, 128), Q), False)
            put(c, d, b.shl(x, K(x.type, e)))
            return
        total = e if scalar else (128 if Q else 64)
        x = get(c, n, e, total)
        if kind == "pairlong":
            put(c, d, kern(c, x, lambda: get(c, d, 2 * e, total)))
        else:
            put(c, d, kern(c, x, lambda: get(c, d, e, total)))
    return lift


for _name, _u, _opc, _k, _kind, _sizes, _ssizes in MISC:
    _register(f"{_name}_v", f"0Q{_u}01110zz10000{_opc:05b}10nnnnnddddd",
              _misc_lift(_k, _kind, _sizes, False), f"{_name} (vector, two-reg misc).")
    if _ssizes:
        _register(f"{_name}_s", f"01{_u}11110zz10000{_opc:05b}10nnnnnddddd",
                  _misc_lift(_k, _kind, _ssizes, True), f"{_name} (scalar, two-reg misc).")

# NOT and RBIT share opcode 00101 (U=1), told apart by size.
_register("NOT_v", "0Q10111000100000010110nnnnnddddd",
          _misc_lift(k_not, "same", (0,), False), "NOT (vector).")
_register("RBIT_v", "0Q10111001100000010110nnnnnddddd",
          _misc_lift(k_rbit, "same", (0,), False), "RBIT (vector).")


# -- two-register miscellaneous, FP --------------------------------------------

def _f_unary(fn):
    def k(c, fmt, x, old):
        return fn(c, fmt, x)
    return k


def _f_rint(mode, exact=False):
    def k(c, fmt, x, old):
        return F.frint(c, fmt, x, mode, exact)
    return k


def _f_rint_n(mode, n):
    def k(c, fmt, x, old):
        return F.frint_n(c, fmt, x, mode, n)
    return k


def _f_cvt_int(mode, unsigned):
    def k(c, fmt, x, old):
        return F.fp_to_int(c, fmt, x, fmt.ity, unsigned, mode)
    return k


def _f_int_cvt(unsigned):
    def k(c, fmt, x, old):
        return F.int_to_fp(c, fmt, x, unsigned)
    return k


def _f_cmp0(op, signal_all=True):
    cmp = _fcmp(op, signal_all=signal_all)

    def k(c, fmt, x, old):
        return cmp(c, fmt, x, K(x.type, 0), old)
    return k


def k_fabs(c, fmt, x, old):
    return F.abs_bits(c, fmt, x)


def k_fneg(c, fmt, x, old):
    return F.neg_bits(c, fmt, x)


# (name, U, a, opcode, kernel, vector allowed, scalar allowed)
FP_MISC = [
    ("FRINTN", 0, 0, 0b11000, _f_rint(F.RN), True, False),
    ("FRINTM", 0, 0, 0b11001, _f_rint(F.RM), True, False),
    ("FCVTNS", 0, 0, 0b11010, _f_cvt_int(F.RN, False), True, True),
    ("FCVTMS", 0, 0, 0b11011, _f_cvt_int(F.RM, False), True, True),
    ("FCVTAS", 0, 0, 0b11100, _f_cvt_int(F.RA, False), True, True),
    ("SCVTF", 0, 0, 0b11101, _f_int_cvt(False), True, True),
    ("FRINT32Z", 0, 0, 0b11110, _f_rint_n(F.RZ, 32), True, False),
    ("FRINT64Z", 0, 0, 0b11111, _f_rint_n(F.RZ, 64), True, False),
    ("FCMGT_zero", 0, 1, 0b01100, _f_cmp0(">"), True, True),
    ("FCMEQ_zero", 0, 1, 0b01101, _f_cmp0("==", False), True, True),
    ("FCMLT_zero", 0, 1, 0b01110, _f_cmp0("<"), True, True),
    ("FABS", 0, 1, 0b01111, k_fabs, True, False),
    ("FRINTP", 0, 1, 0b11000, _f_rint(F.RP), True, False),
    ("FRINTZ", 0, 1, 0b11001, _f_rint(F.RZ), True, False),
    ("FCVTPS", 0, 1, 0b11010, _f_cvt_int(F.RP, False), True, True),
    ("FCVTZS", 0, 1, 0b11011, _f_cvt_int(F.RZ, False), True, True),
    ("FRINTA", 1, 0, 0b11000, _f_rint(F.RA), True, False),
    ("FRINTX", 1, 0, 0b11001, _f_rint(None, True), True, False),
    ("FCVTNU", 1, 0, 0b11010, _f_cvt_int(F.RN, True), True, True),
    ("FCVTMU", 1, 0, 0b11011, _f_cvt_int(F.RM, True), True, True),
    ("FCVTAU", 1, 0, 0b11100, _f_cvt_int(F.RA, True), True, True),
    ("UCVTF", 1, 0, 0b11101, _f_int_cvt(True), True, True),
    ("FRINT32X", 1, 0, 0b11110, _f_rint_n(None, 32), True, False),
    ("FRINT64X", 1, 0, 0b11111, _f_rint_n(None, 64), True, False),
    ("FCMGE_zero", 1, 1, 0b01100, _f_cmp0(">="), True, True),
    ("FCMLE_zero", 1, 1, 0b01101, _f_cmp0("<="), True, True),
    ("FNEG", 1, 1, 0b01111, k_fneg, True, False),
    ("FRINTI", 1, 1, 0b11001, _f_rint(None), True, False),
    ("FCVTPU", 1, 1, 0b11010, _f_cvt_int(F.RP, True), True, True),
    ("FCVTZU", 1, 1, 0b11011, _f_cvt_int(F.RZ, True), True, True),
    ("FSQRT", 1, 1, 0b11111, _f_unary(F.fsqrt), True, False),
]


def _fmisc_lift(kern, scalar):
    def lift(c, s, n, d, Q=1):
        fmt = _fmt_sz(c, s, Q)
        e = fmt.bits
        total = e if scalar else (128 if Q else 64)
        put(c, d, kern(c, fmt, get(c, n, e, total), lambda: get(c, d, e, total)))
    return lift


for _name, _u, _a, _opc, _k, _vec, _sc in FP_MISC:
    if _vec:
        _register(f"{_name}_v", f"0Q{_u}01110{_a}s10000{_opc:05b}10nnnnnddddd",
                  _fmisc_lift(_k, False), f"{_name} (vector, FP two-reg misc).")
    if _sc:
        _register(f"{_name}_s", f"01{_u}11110{_a}s10000{_opc:05b}10nnnnnddddd",
                  _fmisc_lift(_k, True), f"{_name} (scalar, FP two-reg misc).")


@pattern("FCVTN_v", "0Q0011100s100001011010nnnnnddddd")
def FCVTN_v(c, Q, s, n, d):
    """FCVTN/FCVTN2: 4S -> 4H or 2D -> 2S (nearest even)."""
    src, dst = (FMT[64], FMT[32]) if s else (FMT[32], FMT[16])
    x = get(c, n, src.bits, 128)
    put_narrow(c, d, F.fcvt(c, src, dst, x), Q)


@pattern("FCVTL_v", "0Q0011100s100001011110nnnnnddddd")
def FCVTL_v(c, Q, s, n, d):
    """FCVTL/FCVTL2: 4H -> 4S or 2S -> 2D (exact)."""
    src, dst = (FMT[32], FMT[64]) if s else (FMT[16], FMT[32])
    x = half(c, get(c, n, src.bits, 128), Q)
    put(c, d, F.fcvt(c, src, dst, x))


@pattern("FCVTXN_v", "0Q1011100s100001011010nnnnnddddd")
def FCVTXN_v(c, Q, s, n, d):
    """FCVTXN/FCVTXN2: 2D -> 2S rounding to odd."""
    if not s:
        c.undefined()
    put_narrow(c, d, F.fcvt_round_odd(c, get(c, n, 64, 128)), Q)


@pattern("FCVTXN_s", "011111100s100001011010nnnnnddddd")
def FCVTXN_s(c, s, n, d):
    """FCVTXN Sd, Dn (round to odd)."""
    if not s:
        c.undefined()
    F.set_vlo(c, d, F.fcvt_round_odd(c, F.vlo(c, n, 64)))


# -- across lanes and scalar pairwise -------------------------------------------

def _reduce(c, op, lanes):
    """ARM Reduce(): pairwise tree, lower half first."""
    if len(lanes) == 1:
        return lanes[0]
    h = len(lanes) // 2
    return op(_reduce(c, op, lanes[:h]), _reduce(c, op, lanes[h:]))


ACROSS = [   # (name, U, opcode, llvm reduction, widen)
    ("SADDLV", 0, 0b00011, "add", "s"), ("UADDLV", 1, 0b00011, "add", "u"),
    ("SMAXV", 0, 0b01010, "smax", None), ("UMAXV", 1, 0b01010, "umax", None),
    ("SMINV", 0, 0b11010, "smin", None), ("UMINV", 1, 0b11010, "umin", None),
    ("ADDV", 0, 0b11011, "add", None),
]


def _across_lift(red, wide):
    def lift(c, Q, z, n, d):
        if z == 3 or (z == 2 and not Q):
            c.undefined()
        e = 8 << z
        x = get(c, n, e, 128 if Q else 64)
        if wide:
            x = widen(c, x, wide == "s")
        r = intrinsic(c, f"llvm.vector.reduce.{red}.{tsuf(x.type)}", x.type.element, [x])
        F.set_vlo(c, d, r)
    return lift


for _name, _u, _opc, _red, _wide in ACROSS:
    _register(_name, f"0Q{_u}01110zz11000{_opc:05b}10nnnnnddddd",
              _across_lift(_red, _wide), f"{_name} (across lanes).")

FP_ACROSS = [   # (name, a, opcode, kernel); 4S only (the H forms need FEAT_FP16)
    ("FMAXNMV", 0, 0b01100, F.fmaxnm), ("FMINNMV", 1, 0b01100, F.fminnm),
    ("FMAXV", 0, 0b01111, F.fmax), ("FMINV", 1, 0b01111, F.fmin),
]


def _fp_across_lift(fn):
    def lift(c, Q, s, n, d):
        if not Q or s:
            c.undefined()
        fmt = FMT[32]
        x = get(c, n, 32, 128)
        lanes = [c.b.extract_element(x, const(I32, i)) for i in range(4)]
        F.set_vlo(c, d, _reduce(c, lambda p, q: fn(c, fmt, p, q), lanes))
    return lift


for _name, _a, _opc, _fn in FP_ACROSS:
    _register(_name, f"0Q101110{_a}s11000{_opc:05b}10nnnnnddddd",
              _fp_across_lift(_fn), f"{_name} (FP across lanes, 4S).")


@pattern("ADDP_s", "01011110zz110001101110nnnnnddddd")
def ADDP_s(c, z, n, d):
    """ADDP Dd, Vn.2D."""
    if z != 3:
        c.undefined()
    x = get(c, n, 64, 128)
    b = c.b
    F.set_vlo(c, d, b.add(b.extract_element(x, const(I32, 0)), b.extract_element(x, const(I32, 1))))


FP_PAIR = [   # scalar pairwise FP: (name, a, opcode, kernel)
    ("FMAXNMP", 0, 0b01100, F.fmaxnm), ("FMINNMP", 1, 0b01100, F.fminnm),
    ("FADDP", 0, 0b01101, F.fadd), ("FMAXP", 0, 0b01111, F.fmax), ("FMINP", 1, 0b01111, F.fmin),
]


def _fp_pair_lift(fn):
    def lift(c, s, n, d):
        fmt = FMT[64 if s else 32]
        x = get(c, n, fmt.bits, 2 * fmt.bits)
        b = c.b
        p, q = b.extract_element(x, const(I32, 0)), b.extract_element(x, const(I32, 1))
        F.set_vlo(c, d, fn(c, fmt, p, q))
    return lift


for _name, _a, _opc, _fn in FP_PAIR:
    _register(f"{_name}_s", f"01111110{_a}s11000{_opc:05b}10nnnnnddddd",
              _fp_pair_lift(_fn), f"{_name} (scalar pairwise).")


# -- copy: DUP / INS / UMOV / SMOV ------------------------------------------------

def _elem(c, imm5):
    """imm5 -> (esize, index) or undefined."""
    if imm5 & 0xF == 0:
        c.undefined()
    z = (imm5 & -imm5).bit_length() - 1
    return 8 << z, imm5 >> (z + 1)


@pattern("DUP_element", "0Q001110000iiiii000001nnnnnddddd")
def DUP_element(c, Q, i, n, d):
    """DUP Vd.<T>, Vn.<Ts>[index]."""
    e, idx = _elem(c, i)
    if e == 64 and not Q:
        c.undefined()
    x = get(c, n, e, 128)
    lanes = (128 if Q else 64) // e
    put(c, d, shuffle(c, x, None, [idx] * lanes))


@pattern("DUP_element_s", "01011110000iiiii000001nnnnnddddd")
def DUP_element_s(c, i, n, d):
    """DUP (MOV) <V>d, Vn.<T>[index] (scalar)."""
    e, idx = _elem(c, i)
    x = get(c, n, e, 128)
    F.set_vlo(c, d, c.b.extract_element(x, const(I32, idx)))


@pattern("DUP_general", "0Q001110000iiiii000011nnnnnddddd")
def DUP_general(c, Q, i, n, d):
    """DUP Vd.<T>, Rn."""
    e, _ = _elem(c, i)
    if e == 64 and not Q:
        c.undefined()
    lanes = (128 if Q else 64) // e
    v = c.x(n, 64 if e == 64 else 32)
    if e < 32:
        v = c.b.trunc(v, INT[e])
    vec = c.b.insert_element(ir.Constant(vt(e, lanes), None), v, const(I32, 0))
    put(c, d, shuffle(c, vec, None, [0] * lanes))


@pattern("INS_general", "01001110000iiiii000111nnnnnddddd")
def INS_general(c, i, n, d):
    """INS (MOV) Vd.<T>[index], Rn."""
    e, idx = _elem(c, i)
    v = c.x(n, 64 if e == 64 else 32)
    if e < 32:
        v = c.b.trunc(v, INT[e])
    put(c, d, c.b.insert_element(get(c, d, e, 128), v, const(I32, idx)))


@pattern("INS_element", "01101110000iiiii0jjjj1nnnnnddddd")
def INS_element(c, i, j, n, d):
    """INS (MOV) Vd.<T>[i1], Vn.<T>[i2]."""
    e, idx = _elem(c, i)
    src = j >> ((e // 8).bit_length() - 1)
    v = c.b.extract_element(get(c, n, e, 128), const(I32, src))
    put(c, d, c.b.insert_element(get(c, d, e, 128), v, const(I32, idx)))


@pattern("UMOV", "0Q001110000iiiii001111nnnnnddddd")
def UMOV(c, Q, i, n, d):
    """UMOV Wd/Xd, Vn.<T>[index] (MOV alias for S/D)."""
    e, idx = _elem(c, i)
    if (e == 64) != bool(Q):
        c.undefined()
    v = c.b.extract_element(get(c, n, e, 128), const(I32, idx))
    c.set_x(d, c.b.zext(v, I64) if e < 64 else v)


@pattern("SMOV", "0Q001110000iiiii001011nnnnnddddd")
def SMOV(c, Q, i, n, d):
    """SMOV Wd/Xd, Vn.<T>[index] (sign-extending)."""
    e, idx = _elem(c, i)
    if e == 64 or (e == 32 and not Q):
        c.undefined()
    v = c.b.extract_element(get(c, n, e, 128), const(I32, idx))
    c.set_x(d, c.b.sext(v, I64) if Q else c.b.zext(c.b.sext(v, I32), I64))


# -- modified immediate: MOVI / MVNI / ORR / BIC / FMOV (vector) ----------------

def adv_simd_expand_imm(op, cmode, imm8):
    """AdvSIMDExpandImm -> 64-bit pattern."""
    def rep(v, width):
        return sum(v << i for i in range(0, 64, width))
    top = cmode >> 1
    if top <= 3:
        return rep(imm8 << (8 * top), 32)
    if top <= 5:
        return rep(imm8 << (8 * (top & 1)), 16)
    if top == 6:
        if cmode & 1:
            return rep((imm8 << 16) | 0xFFFF, 32)
        return rep((imm8 << 8) | 0xFF, 32)
    if cmode == 14:
        if op:
            return sum((0xFF << (8 * i)) for i in range(8) if imm8 >> i & 1)
        return rep(imm8, 8)
    if op:                                   # cmode 1111, op 1: FMOV Vd.2D
        return F.vfp_expand_imm(imm8, 64)
    return rep(F.vfp_expand_imm(imm8, 32), 32)


@pattern("MOVI", "0Qo0111100000iiimmmmZ1iiiiiddddd")
def MOVI(c, Q, o, i, m, Z, d):
    """MOVI/MVNI/ORR/BIC (vector, immediate) and FMOV Vd.<T>, #imm."""
    if Z or (m == 15 and o and not Q):
        c.undefined()            # Z: FMOV Vd.<T>, #imm (half) needs FEAT_FP16
    imm = adv_simd_expand_imm(o, m, i)
    imm128 = imm | (imm << 64) if Q else imm
    b = c.b
    if m < 12 and m & 1:                      # ORR / BIC (32- or 16-bit shifted)
        old = c.v(d) if Q else b.and_(c.v(d), const(I128, (1 << 64) - 1))
        if o:
            r = b.and_(old, const(I128, ~imm128))
        else:
            r = b.or_(old, const(I128, imm128))
        c.set_v(d, r)
        return
    if o and m < 14:                          # MVNI
        imm128 = (~imm128) & ((1 << (128 if Q else 64)) - 1)
    c.set_v(d, const(I128, imm128))


# -- shift by immediate ---------------------------------------------------------

def _shift_imm(c, h, b_):
    if h == 0:
        c.undefined()
    e = 8 << (h.bit_length() - 1)
    immhb = (h << 3) | b_
    return e, 2 * e - immhb, immhb - e


def _kv(x, v):
    return K(x.type, v)


def _sri(c, x, s, old):
    b = c.b
    e = esize_of(x)
    if s >= e:
        return old()
    m = umax_val(e) >> s
    return b.or_(b.and_(old(), _kv(x, ~m)), b.lshr(x, _kv(x, s)))


def _sli(c, x, s, old):
    b = c.b
    e = esize_of(x)
    m = (umax_val(e) << s) & umax_val(e)
    return b.or_(b.and_(old(), _kv(x, ~m)), b.shl(x, _kv(x, s)))


def _sh_right(signed, rounding, acc):
    def k(c, x, s, old):
        r = (rshr_var if rounding else shr_var)(c, x, _kv(x, s), signed)
        return c.b.add(old(), r) if acc else r
    return k


def _sh_left(c, x, s, old):
    return c.b.shl(x, _kv(x, s))


def _qsh_left(signed, unsigned_result):
    def k(c, x, s, old):
        r, ovf = qshl_var(c, x, _kv(x, s), signed, unsigned_result)
        qc(c, ovf)
        return r
    return k


def _sh_narrow(signed, rounding, sat):
    """[SU]Q[R]SHR[U]N / [R]SHRN: wide lanes >> s, then narrow (saturating)."""
    def k(c, x, s, old):
        e = esize_of(x) // 2
        r = (rshr_var if rounding else shr_var)(c, x, _kv(x, s), signed)
        if sat is None:
            return narrow(c, r)
        if sat == "s":
            r, q = _sat_s(c, r, e)
        else:
            r, q = _sat_u(c, r, e, signed)
        qc(c, q)
        return r
    return k


# (name, U, opcode, kernel, kind, vector sizes (e), scalar sizes (e))
E64, EALL, ENAR = (64,), (8, 16, 32, 64), (8, 16, 32)
SHIFT_IMM = [
    ("SSHR", 0, 0b00000, _sh_right(True, False, False), "r", EALL, E64),
    ("USHR", 1, 0b00000, _sh_right(False, False, False), "r", EALL, E64),
    ("SSRA", 0, 0b00010, _sh_right(True, False, True), "r", EALL, E64),
    ("USRA", 1, 0b00010, _sh_right(False, False, True), "r", EALL, E64),
    ("SRSHR", 0, 0b00100, _sh_right(True, True, False), "r", EALL, E64),
    ("URSHR", 1, 0b00100, _sh_right(False, True, False), "r", EALL, E64),
    ("SRSRA", 0, 0b00110, _sh_right(True, True, True), "r", EALL, E64),
    ("URSRA", 1, 0b00110, _sh_right(False, True, True), "r", EALL, E64),
    ("SRI", 1, 0b01000, _sri, "r", EALL, E64),
    ("SHL", 0, 0b01010, _sh_left, "l", EALL, E64),
    ("SLI", 1, 0b01010, _sli, "l", EALL, E64),
    ("SQSHLU", 1, 0b01100, _qsh_left(True, True), "l", EALL, EALL),
    ("SQSHL_imm", 0, 0b01110, _qsh_left(True, False), "l", EALL, EALL),
    ("UQSHL_imm", 1, 0b01110, _qsh_left(False, True), "l", EALL, EALL),
    ("SHRN", 0, 0b10000, _sh_narrow(False, False, None), "n", ENAR, ()),
    ("SQSHRUN", 1, 0b10000, _sh_narrow(True, False, "u"), "n", ENAR, ENAR),
    ("RSHRN", 0, 0b10001, _sh_narrow(False, True, None), "n", ENAR, ()),
    ("SQRSHRUN", 1, 0b10001, _sh_narrow(True, True, "u"), "n", ENAR, ENAR),
    ("SQSHRN", 0, 0b10010, _sh_narrow(True, False, "s"), "n", ENAR, ENAR),
    ("UQSHRN", 1, 0b10010, _sh_narrow(False, False, "u"), "n", ENAR, ENAR),
    ("SQRSHRN", 0, 0b10011, _sh_narrow(True, True, "s"), "n", ENAR, ENAR),
    ("UQRSHRN", 1, 0b10011, _sh_narrow(False, True, "u"), "n", ENAR, ENAR),
    ("SSHLL", 0, 0b10100, None, "ll", ENAR, ()),
    ("USHLL", 1, 0b10100, None, "ll", ENAR, ()),
    ("SCVTF_fixed", 0, 0b11100, None, "i2f", (32, 64), (32, 64)),
    ("UCVTF_fixed", 1, 0b11100, None, "i2f", (32, 64), (32, 64)),
    ("FCVTZS_fixed", 0, 0b11111, None, "f2i", (32, 64), (32, 64)),
    ("FCVTZU_fixed", 1, 0b11111, None, "f2i", (32, 64), (32, 64)),
]


def _shift_lift(name, u, kern, kind, sizes, scalar):
    def lift(c, j, n, d, Q=1):
        hb = (c.word >> 16) & 0x7F
        e, rs, ls = _shift_imm(c, hb >> 3, hb & 7)
        if e not in sizes or (not scalar and e == 64 and not Q):
            c.undefined()
        if kind == "n":
            x = get(c, n, 2 * e, 2 * e if scalar else 128)
            r = kern(c, x, rs, None)
            if scalar:
                put(c, d, r)
            else:
                put_narrow(c, d, r, Q)
            return
        if kind == "ll":
            x = widen(c, half(c, get(c, n, e, 128), Q), not u)
            put(c, d, c.b.shl(x, _kv(x, ls)))
            return
        total = e if scalar else (128 if Q else 64)
        x = get(c, n, e, total)
        if kind == "i2f":
            put(c, d, F.int_to_fp(c, FMT[e], x, u, rs))
            return
        if kind == "f2i":
            put(c, d, F.fp_to_int(c, FMT[e], x, INT[e], u, F.RZ, rs))
            return
        s = rs if kind == "r" else ls
        put(c, d, kern(c, x, s, lambda: get(c, d, e, total)))
    return lift


# immh (bits 22:19) selects the element size by its leading one; immh = 0
# is the modified-immediate group, so each size gets its own pattern.
_IMMH = {8: "0001jjj", 16: "001jjjj", 32: "01jjjjj", 64: "1jjjjjj"}
for _name, _u, _opc, _k, _kind, _vs, _ss in SHIFT_IMM:
    for _e in _vs:
        _register(f"{_name}_v", f"0Q{_u}011110{_IMMH[_e]}{_opc:05b}1nnnnnddddd",
                  _shift_lift(_name, _u, _k, _kind, _vs, False),
                  f"{_name} (vector, shift by immediate).")
    for _e in _ss:
        _register(f"{_name}_s", f"01{_u}111110{_IMMH[_e]}{_opc:05b}1nnnnnddddd",
                  _shift_lift(_name, _u, _k, _kind, _ss, True),
                  f"{_name} (scalar, shift by immediate).")


# -- x indexed element ------------------------------------------------------------

def _index_int(c, z, L, M, m, H):
    """(esize, Rm, index) for integer by-element forms (size H or S)."""
    if z == 1:
        return 16, m, (H << 2) | (L << 1) | M
    if z == 2:
        return 32, (M << 4) | m, (H << 1) | L
    c.undefined()


def _index_fp(c, z, L, M, m, H):
    """(fmt, Rm, index) for FP by-element forms (S or D)."""
    if z == 2:
        return FMT[32], (M << 4) | m, (H << 1) | L
    if z == 3 and not L:
        return FMT[64], (M << 4) | m, H
    c.undefined()


def _splat_elem(c, r, e, idx, lanes):
    x = get(c, r, e, 128)
    return shuffle(c, x, None, [idx] * lanes)


IDX_SAME = [   # (name, U, opcode, kernel) : same-size integer
    ("MUL_elem", 0, 0b1000, k_mul), ("MLA_elem", 1, 0b0000, k_mla), ("MLS_elem", 1, 0b0100, k_mls),
    ("SQDMULH_elem", 0, 0b1100, _qdmulh(False)), ("SQRDMULH_elem", 0, 0b1101, _qdmulh(True)),
]
IDX_LONG = [   # (name, U, opcode, fn)
    ("SMLAL_elem", 0, 0b0010, _l_mlal), ("UMLAL_elem", 1, 0b0010, _l_mlal),
    ("SQDMLAL_elem", 0, 0b0011, _l_sqdmlal),
    ("SMLSL_elem", 0, 0b0110, _l_mlsl), ("UMLSL_elem", 1, 0b0110, _l_mlsl),
    ("SQDMLSL_elem", 0, 0b0111, _l_sqdmlsl),
    ("SMULL_elem", 0, 0b1010, _l_mul), ("UMULL_elem", 1, 0b1010, _l_mul),
    ("SQDMULL_elem", 0, 0b1011, _l_sqdmull),
]
IDX_FP = [   # (name, U, opcode, kernel)
    ("FMLA_elem", 0, 0b0001, fk_mla(False)), ("FMLS_elem", 0, 0b0101, fk_mla(True)),
    ("FMUL_elem", 0, 0b1001, fk(F.fmul)), ("FMULX_elem", 1, 0b1001, fk(F.fmulx)),
]


def _idx_same_lift(kern, scalar):
    def lift(c, z, L, M, m, H, n, d, Q=1):
        e, rm, idx = _index_int(c, z, L, M, m, H)
        total = e if scalar else (128 if Q else 64)
        x = get(c, n, e, total)
        y = _splat_elem(c, rm, e, idx, total // e)
        put(c, d, kern(c, x, y, lambda: get(c, d, e, total)))
    return lift


def _idx_long_lift(fn, signed, scalar):
    def lift(c, z, L, M, m, H, n, d, Q=0):
        e, rm, idx = _index_int(c, z, L, M, m, H)
        if scalar:
            x = get(c, n, e, e)
            y = _splat_elem(c, rm, e, idx, 1)
            put(c, d, fn(c, x, y, lambda: get(c, d, 2 * e, 2 * e), signed))
            return
        x = half(c, get(c, n, e, 128), Q)
        y = _splat_elem(c, rm, e, idx, 64 // e)
        put(c, d, fn(c, x, y, lambda: get(c, d, 2 * e, 128), signed))
    return lift


def _idx_fp_lift(kern, scalar):
    def lift(c, z, L, M, m, H, n, d, Q=1):
        fmt, rm, idx = _index_fp(c, z, L, M, m, H)
        e = fmt.bits
        if not scalar and e == 64 and not Q:
            c.undefined()
        total = e if scalar else (128 if Q else 64)
        x = get(c, n, e, total)
        y = _splat_elem(c, rm, e, idx, total // e)
        put(c, d, kern(c, fmt, x, y, lambda: get(c, d, e, total)))
    return lift


for _name, _u, _opc, _k in IDX_SAME:
    _register(f"{_name}_v", f"0Q{_u}01111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_same_lift(_k, False), f"{_name[:-5]} (vector, by element).")
    if _name.startswith("SQ"):
        _register(f"{_name}_s", f"01{_u}11111zzLMmmmm{_opc:04b}H0nnnnnddddd",
                  _idx_same_lift(_k, True), f"{_name[:-5]} (scalar, by element).")
for _name, _u, _opc, _fn in IDX_LONG:
    _register(f"{_name}_v", f"0Q{_u}01111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_long_lift(_fn, not _u, False), f"{_name[:-5]}/{_name[:-5]}2 (by element).")
    if _name.startswith("SQ"):
        _register(f"{_name}_s", f"01{_u}11111zzLMmmmm{_opc:04b}H0nnnnnddddd",
                  _idx_long_lift(_fn, True, True), f"{_name[:-5]} (scalar, by element).")
for _name, _u, _opc, _k in IDX_FP:
    _register(f"{_name}_v", f"0Q{_u}01111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_fp_lift(_k, False), f"{_name[:-5]} (vector, FP by element).")
    _register(f"{_name}_s", f"01{_u}11111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_fp_lift(_k, True), f"{_name[:-5]} (scalar, FP by element).")


# -- permute, extract, table lookup --------------------------------------------

def _perm_idx(op, n):
    if op in (1, 5):                                  # UZP1 / UZP2
        return [2 * i + (op == 5) for i in range(n)]
    if op in (2, 6):                                  # TRN1 / TRN2
        p = op == 6
        return [(i - (i & 1) + p) + (n if i & 1 else 0) for i in range(n)]
    h = n // 2 if op == 7 else 0                      # ZIP1 / ZIP2
    return [(h + i // 2) + (n if i & 1 else 0) for i in range(n)]


PERMUTE = [("UZP1", 1), ("TRN1", 2), ("ZIP1", 3), ("UZP2", 5), ("TRN2", 6), ("ZIP2", 7)]


def _perm_lift(op):
    def lift(c, Q, z, m, n, d):
        if z == 3 and not Q:
            c.undefined()
        e = 8 << z
        total = 128 if Q else 64
        x, y = get(c, n, e, total), get(c, m, e, total)
        put(c, d, shuffle(c, x, y, _perm_idx(op, total // e)))
    return lift


for _name, _op in PERMUTE:
    _register(_name, f"0Q001110zz0mmmmm0{_op:03b}10nnnnnddddd", _perm_lift(_op),
              f"{_name} (permute).")


@pattern("EXT", "0Q101110000mmmmm0iiii0nnnnnddddd")
def EXT(c, Q, m, i, n, d):
    """EXT Vd, Vn, Vm, #index: bytes index.. of Vm:Vn."""
    if not Q and i >= 8:
        c.undefined()
    total = 128 if Q else 64
    x, y = get(c, n, 8, total), get(c, m, 8, total)
    put(c, d, shuffle(c, x, y, range(i, i + total // 8)))


@pattern("TBL", "0Q001110000mmmmm0llo00nnnnnddddd")
def TBL(c, Q, m, l, o, n, d):
    """TBL/TBX Vd, {Vn..Vn+len}, Vm: byte table lookup (TBX keeps Vd)."""
    b = c.b
    nb = 16 if Q else 8
    regs = [(n + k) % 32 for k in range(l + 1)]
    tsize = 16 * len(regs)
    parts = [get(c, r, 8, 128) for r in regs]
    if len(parts) == 3:
        parts.append(K(parts[0].type, 0))
    table = parts[0]
    if len(parts) >= 2:
        table = concat(c, parts[0], parts[1])
    if len(parts) == 4:
        table = concat(c, table, concat(c, parts[2], parts[3]))
    idx = get(c, m, 8, nb * 8)
    out = get(c, d, 8, nb * 8) if o else K(vt(8, nb), 0)
    for k in range(nb):
        ik = b.extract_element(idx, const(I32, k))
        ok = b.icmp_unsigned("<", ik, const(I8, tsize))
        safe = b.select(ok, ik, const(I8, 0))
        val = b.extract_element(table, b.zext(safe, I32))
        cur = b.extract_element(out, const(I32, k))
        out = b.insert_element(out, b.select(ok, val, cur), const(I32, k))
    put(c, d, out)


# -- reciprocal / reciprocal square root estimates ----------------------------------

def _recip_estimate(a):
    a = a * 2 + 1
    b = (1 << 19) // a
    return (b + 1) // 2


def _rsqrt_estimate(a):
    if a < 256:
        a = a * 2 + 1
    else:
        a = (a >> 1) << 1
        a = (a + 1) * 2
    b = 512
    while a * (b + 1) * (b + 1) < (1 << 28):
        b += 1
    return (b + 1) // 2


RECIP_TABLE = [_recip_estimate(a) for a in range(256, 512)]      # index a - 256
RSQRT_TABLE = [_rsqrt_estimate(a) for a in range(128, 512)]      # index a - 128


def _lookup(c, name, values, idx):
    """values[idx] from a module-internal constant table (idx: i64)."""
    g = c.module.globals.get(name)
    aty = ir.ArrayType(I16, len(values))
    if g is None:
        g = ir.GlobalVariable(c.module, aty, name)
        g.global_constant = True
        g.linkage = "internal"
        g.initializer = ir.Constant(aty, values)
    p = c.b.gep(g, [const(I64, 0), idx], source_etype=aty)
    return c.b.zext(c.b.load(p, typ=I16), I64)


def _lanewise(c, x, fn):
    """Apply a scalar function to every lane of a vector."""
    b = c.b
    out = x
    for i in range(x.type.count):
        out = b.insert_element(out, fn(b.extract_element(x, const(I32, i))), const(I32, i))
    return out


def _frac52(c, fmt, x):
    """(exponent field as i64, fraction widened to 52 bits as i64)."""
    b = c.b
    e = b.zext(b.and_(b.lshr(x, K(x.type, fmt.mbits)), K(x.type, (1 << fmt.ebits) - 1)), I64) \
        if fmt.bits < 64 else b.and_(b.lshr(x, const(I64, 52)), const(I64, 0x7FF))
    f = b.and_(x, K(x.type, (1 << fmt.mbits) - 1))
    f = b.shl(b.zext(f, I64), const(I64, 52 - fmt.mbits)) if fmt.bits < 64 else f
    return e, f


def _pack(c, fmt, sign, e, f):
    """sign (ity) | e (i64, masked) << mbits | f (52-bit i64) top bits."""
    b = c.b
    e = b.and_(e, const(I64, (1 << fmt.ebits) - 1))
    v = b.or_(b.shl(e, const(I64, fmt.mbits)), b.lshr(f, const(I64, 52 - fmt.mbits)))
    if fmt.bits < 64:
        v = b.trunc(v, fmt.ity)
    return b.or_(v, sign)


def _frecpe_lane(c, fmt, x):
    """FPRecipEstimate on one lane (integer bits).  Flags as the pseudocode: IDC for an
    operand flushed by FZ, IOC (SNaN), DZC (zero), OFC|IXC when the operand is so small
    (not zero) that its reciprocal overflows, UFC when FZ flushes the result of a huge one."""
    b = c.b
    idc = F.input_denormal(c, fmt, [x])
    x = F.flush(c, fmt, x)
    t = x.type
    sign = b.and_(x, K(t, fmt.sign))
    mag = F.abs_bits(c, fmt, x)
    e, f = _frac52(c, fmt, x)
    den = b.icmp_unsigned("==", e, const(I64, 0))
    top = b.icmp_unsigned("!=", b.and_(f, const(I64, 1 << 51)), const(I64, 0))
    m52 = (1 << 52) - 1
    e = b.select(b.and_(den, b.not_(top)), const(I64, -1), e)
    f = b.select(den, b.and_(b.select(top, b.shl(f, const(I64, 1)), b.shl(f, const(I64, 2))),
                             const(I64, m52)), f)
    idx = b.lshr(f, const(I64, 44))
    est = _lookup(c, "emu_recip_table", RECIP_TABLE, idx)
    rexp = b.sub(const(I64, 253 if fmt.bits == 32 else 2045), e)
    fr = b.shl(b.and_(est, const(I64, 0xFF)), const(I64, 44))
    z0 = b.icmp_signed("==", rexp, const(I64, 0))
    m1 = b.icmp_signed("==", rexp, const(I64, -1))
    fr = b.select(z0, b.or_(b.lshr(fr, const(I64, 1)), const(I64, 1 << 51)), fr)
    fr = b.select(m1, b.or_(b.lshr(fr, const(I64, 2)), const(I64, 1 << 50)), fr)
    rexp = b.select(m1, const(I64, 0), rexp)
    r = _pack(c, fmt, sign, rexp, fr)
    # special cases, lowest priority first
    fz = F.fpcr_bit(c, F.FPCR_FZ)
    big = b.and_(fz, b.icmp_unsigned(">=", mag, K(t, (253 << 23) if fmt.bits == 32 else (2045 << 52))))
    finite = b.icmp_unsigned("<", mag, K(t, fmt.inf))
    r = b.select(big, sign, r)
    rm = b.and_(b.lshr(F.fpcr(c), const(I32, F.RMODE_SHIFT)), const(I32, 3))
    neg = b.icmp_unsigned("!=", sign, K(t, 0))
    to_inf = b.or_(b.icmp_unsigned("==", rm, const(I32, F.RN)),
                   b.or_(b.and_(b.icmp_unsigned("==", rm, const(I32, F.RP)), b.not_(neg)),
                         b.and_(b.icmp_unsigned("==", rm, const(I32, F.RM)), neg)))
    tiny = b.icmp_unsigned("<", mag, K(t, (1 << 21) if fmt.bits == 32 else (1 << 50)))
    over = b.or_(sign, b.select(to_inf, K(t, fmt.inf), K(t, fmt.inf - 1)))
    r = b.select(tiny, over, r)
    zero = F.is_zero(c, fmt, x)
    r = b.select(zero, b.or_(sign, K(t, fmt.inf)), r)
    r = b.select(F.is_inf(c, fmt, x), sign, r)
    isnan, issnan, pick = F.process_nan1(c, fmt, x)
    tiny_nz = b.and_(tiny, b.not_(zero))
    fpsr_raise(c, [(issnan, IOC), (zero, F.DZC), (idc, F.IDC), (tiny_nz, F.OFC | F.IXC),
                   (b.and_(big, finite), F.UFC)])
    return b.select(isnan, pick, r)


def _frsqrte_lane(c, fmt, x):
    """FPRSqrtEstimate on one lane (integer bits); IDC for an operand flushed by FZ."""
    b = c.b
    idc = F.input_denormal(c, fmt, [x])
    x = F.flush(c, fmt, x)
    t = x.type
    e, f = _frac52(c, fmt, x)
    den = b.icmp_unsigned("==", e, const(I64, 0))
    lz = b.sub(intrinsic(c, "llvm.ctlz.i64", I64, [f, const(I1, 0)]), const(I64, 12))
    m52 = (1 << 52) - 1
    e = b.select(den, b.sub(const(I64, 0), lz), e)
    f = b.select(den, b.and_(b.shl(f, b.add(lz, const(I64, 1))), const(I64, m52)), f)
    odd = b.trunc(e, I1)
    idx = b.select(odd, b.lshr(f, const(I64, 45)), b.add(b.lshr(f, const(I64, 44)), const(I64, 128)))
    est = _lookup(c, "emu_rsqrt_table", RSQRT_TABLE, idx)
    rexp = b.lshr(b.sub(const(I64, 380 if fmt.bits == 32 else 3068), e), const(I64, 1))
    r = _pack(c, fmt, K(t, 0), rexp, b.shl(b.and_(est, const(I64, 0xFF)), const(I64, 44)))
    neg = b.icmp_unsigned("!=", b.and_(x, K(t, fmt.sign)), K(t, 0))
    zero = F.is_zero(c, fmt, x)
    r = b.select(F.is_inf(c, fmt, x), K(t, 0), r)
    r = b.select(neg, K(t, fmt.dnan), r)
    r = b.select(zero, b.or_(b.and_(x, K(t, fmt.sign)), K(t, fmt.inf)), r)
    isnan, issnan, pick = F.process_nan1(c, fmt, x)
    inv = b.or_(issnan, b.and_(b.and_(neg, b.not_(zero)), b.not_(isnan)))
    fpsr_raise(c, [(inv, IOC), (zero, F.DZC), (idc, F.IDC)])
    return b.select(isnan, pick, r)


def _frecpx_lane(c, fmt, x):
    """FPRecpX: exponent-only reciprocal; IDC for an operand flushed by FZ."""
    b = c.b
    idc = F.input_denormal(c, fmt, [x])
    x = F.flush(c, fmt, x)
    t = x.type
    emask = K(t, fmt.inf)
    ex = b.and_(x, emask)
    r = b.select(b.icmp_unsigned("==", ex, K(t, 0)), K(t, fmt.inf - fmt.minnorm),
                 b.and_(b.xor(ex, emask), emask))
    r = b.or_(r, b.and_(x, K(t, fmt.sign)))
    isnan, issnan, pick = F.process_nan1(c, fmt, x)
    fpsr_raise(c, [(issnan, IOC), (idc, F.IDC)])
    return b.select(isnan, pick, r)


def _urecpe_lane(c, x):
    b = c.b
    idx = b.zext(b.and_(b.lshr(x, const(I32, 23)), const(I32, 0xFF)), I64)
    est = b.trunc(_lookup(c, "emu_recip_table", RECIP_TABLE, idx), I32)
    r = b.shl(est, const(I32, 23))
    return b.select(b.icmp_signed(">=", x, const(I32, 0)), const(I32, 0xFFFFFFFF), r)


def _ursqrte_lane(c, x):
    b = c.b
    idx = b.zext(b.sub(b.lshr(x, const(I32, 23)), const(I32, 128)), I64)
    low = b.icmp_unsigned("<", x, const(I32, 0x40000000))
    idx = b.select(low, const(I64, 0), idx)
    est = b.trunc(_lookup(c, "emu_rsqrt_table", RSQRT_TABLE, idx), I32)
    return b.select(low, const(I32, 0xFFFFFFFF), b.shl(est, const(I32, 23)))


def _fest(lane_fn, name):
    """Lane-wise FP estimate through one out-of-line helper per format."""
    def k(c, fmt, x, old):
        key = f"emu_fp_{name}_{fmt.tag}"
        return _lanewise(c, x, lambda v: F.out_of_line(
            c, key, fmt.ity, [v], lambda e, a: lane_fn(e, fmt, a)))
    return k


def _uest(lane_fn, name):
    def k(c, fmt, x, old):
        if fmt.bits != 32:
            c.undefined()
        return _lanewise(c, x, lambda v: F.out_of_line(
            c, f"emu_{name}", I32, [v], lambda e, a: lane_fn(e, a)))
    return k


ESTIMATES = [   # (name, U, opcode, kernel, has vector, has scalar); all with a = 1
    ("URECPE", 0, 0b11100, _uest(_urecpe_lane, "urecpe"), True, False),
    ("FRECPE", 0, 0b11101, _fest(_frecpe_lane, "recpe"), True, True),
    ("FRECPX", 0, 0b11111, _fest(_frecpx_lane, "recpx"), False, True),
    ("URSQRTE", 1, 0b11100, _uest(_ursqrte_lane, "ursqrte"), True, False),
    ("FRSQRTE", 1, 0b11101, _fest(_frsqrte_lane, "rsqrte"), True, True),
]

for _name, _u, _opc, _k, _vec, _sc in ESTIMATES:
    if _vec:
        _register(f"{_name}_v", f"0Q{_u}011101s10000{_opc:05b}10nnnnnddddd",
                  _fmisc_lift(_k, False), f"{_name} (vector estimate).")
    if _sc:
        _register(f"{_name}_s", f"01{_u}111101s10000{_opc:05b}10nnnnnddddd",
                  _fmisc_lift(_k, True), f"{_name} (scalar estimate).")


# -- three same (extra): dot product (FEAT_DotProd), SQRDMLAH/SQRDMLSH (FEAT_RDM)

def _dot(c, x, y, acc, signed, signed_y=None):
    """acc.S[i] += sum of the four byte products of group i (x and y
    signed, or as signed / signed_y say: USDOT/SUDOT mix them)."""
    b = c.b
    if signed_y is None:
        signed_y = signed
    p = b.mul(widen(c, x, signed, 4), widen(c, y, signed_y, 4))
    n = p.type.count
    s = None
    for k in range(4):
        part = shuffle(c, p, None, range(k, n, 4))
        s = part if s is None else b.add(s, part)
    return b.add(acc, s)


@pattern("SDOT_v", "0Q001110100mmmmm100101nnnnnddddd")
@pattern("UDOT_v", "0Q101110100mmmmm100101nnnnnddddd")
def DOT_v(c, Q, m, n, d):
    """SDOT/UDOT Vd.2S/4S, Vn.8B/16B, Vm.8B/16B."""
    total = 128 if Q else 64
    signed = not (c.word >> 29) & 1
    acc = get(c, d, 32, total)
    put(c, d, _dot(c, get(c, n, 8, total), get(c, m, 8, total), acc, signed))


@pattern("SDOT_elem", "0Q00111110LMmmmm1110H0nnnnnddddd")
@pattern("UDOT_elem", "0Q10111110LMmmmm1110H0nnnnnddddd")
def DOT_elem(c, Q, L, M, m, H, n, d):
    """SDOT/UDOT Vd.2S/4S, Vn.8B/16B, Vm.4B[index]."""
    total = 128 if Q else 64
    signed = not (c.word >> 29) & 1
    idx = (H << 1) | L
    rm = (M << 4) | m
    grp = get(c, rm, 32, 128)
    y = c.b.bitcast(shuffle(c, grp, None, [idx] * (total // 32)), vt(8, total // 8))
    acc = get(c, d, 32, total)
    put(c, d, _dot(c, get(c, n, 8, total), y, acc, signed))


def _qrdmlah(sub):
    """SQRDMLAH/SQRDMLSH: saturate((d << e) +- 2*x*y + round) >> e; QC."""
    def k(c, x, y, old):
        b = c.b
        e = esize_of(x)
        wide = vt(4 * e, x.type.count)
        wx, wy, wd = (b.sext(v, wide) for v in (x, y, old()))
        p = b.shl(b.mul(wx, wy), K(wide, 1))
        acc = b.shl(wd, K(wide, e))
        acc = b.sub(acc, p) if sub else b.add(acc, p)
        acc = b.ashr(b.add(acc, K(wide, 1 << (e - 1))), K(wide, e))
        r, sat = _sat_s(c, acc, e)
        qc(c, sat)
        return r
    return k


for _name, _opc, _k in (("SQRDMLAH", 0b0000, _qrdmlah(False)), ("SQRDMLSH", 0b0001, _qrdmlah(True))):
    _register(f"{_name}_v", f"0Q101110zz0mmmmm1{_opc:04b}1nnnnnddddd",
              _same_int_lift(_k, HS, False), f"{_name} (vector).")
    _register(f"{_name}_s", f"01111110zz0mmmmm1{_opc:04b}1nnnnnddddd",
              _same_int_lift(_k, HS, True), f"{_name} (scalar).")
for _name, _opc, _k in (("SQRDMLAH", 0b1101, _qrdmlah(False)), ("SQRDMLSH", 0b1111, _qrdmlah(True))):
    _register(f"{_name}_elem_v", f"0Q101111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_same_lift(_k, False), f"{_name} (vector, by element).")
    _register(f"{_name}_elem_s", f"01111111zzLMmmmm{_opc:04b}H0nnnnnddddd",
              _idx_same_lift(_k, True), f"{_name} (scalar, by element).")


# -- complex arithmetic (FEAT_FCMA): FCADD, FCMLA vector and by element -----------
# Single and double precision only: the half-precision forms need FEAT_FP16
# (not implemented) and stay undefined.

def _fcma_fmt(c, z, Q):
    if z == 2:
        return FMT[32]
    if z == 3 and Q:
        return FMT[64]
    c.undefined()


def _lane_sign(fmt, n, lanes):
    """Sign-bit mask vector: the sign bit in the given lanes of each pair."""
    return ir.Constant(vt(fmt.bits, n), [const(INT[fmt.bits], fmt.sign if (i % 2) in lanes else 0)
                                         for i in range(n)])


def _pair_swap(n):
    return [i ^ 1 for i in range(n)]


@pattern("FCADD", "0Q101110zz0mmmmm111r01nnnnnddddd")
def FCADD(c, Q, z, m, r, n, d):
    """FCADD Vd, Vn, Vm, #90/#270: complex add with Vm rotated."""
    fmt = _fcma_fmt(c, z, Q)
    total = 128 if Q else 64
    e = fmt.bits
    lanes = total // e
    x, y = get(c, n, e, total), get(c, m, e, total)
    y = shuffle(c, y, None, _pair_swap(lanes))
    y = c.b.xor(y, _lane_sign(fmt, lanes, (1,) if r else (0,)))
    put(c, d, F.fadd(c, fmt, x, y))


_FCMLA_NEG = {0: (), 1: (0,), 2: (0, 1), 3: (1,)}


def _fcmla(c, fmt, d, x, y_pairs, rot, total):
    """Vd += per pair: Vn element (real for rot 0/180, imaginary for 90/270)
    times the rotated Vm pair, each lane one fused multiply-add."""
    e = fmt.bits
    lanes = total // e
    a = shuffle(c, x, None, [(i & ~1) | (rot & 1) for i in range(lanes)])
    bv = y_pairs if not rot & 1 else shuffle(c, y_pairs, None, _pair_swap(lanes))
    bv = c.b.xor(bv, _lane_sign(fmt, lanes, _FCMLA_NEG[rot]))
    put(c, d, F.fmuladd(c, fmt, get(c, d, e, total), a, bv))


@pattern("FCMLA", "0Q101110zz0mmmmm110rr1nnnnnddddd")
def FCMLA(c, Q, z, m, r, n, d):
    """FCMLA Vd, Vn, Vm, #rot (vector)."""
    fmt = _fcma_fmt(c, z, Q)
    total = 128 if Q else 64
    _fcmla(c, fmt, d, get(c, n, fmt.bits, total), get(c, m, fmt.bits, total), r, total)


@pattern("FCMLA_elem", "0Q101111zzLMmmmm0rr1H0nnnnnddddd")
def FCMLA_elem(c, Q, z, L, M, m, r, H, n, d):
    """FCMLA Vd.4S, Vn.4S, Vm.S[index], #rot (the complex pair at index)."""
    if z != 2 or L or not Q:
        c.undefined()                 # H forms need FEAT_FP16; S needs Q=1, L=0
    fmt = FMT[32]
    rm = (M << 4) | m
    y = get(c, rm, 32, 128)
    y = shuffle(c, y, None, [2 * H + (i & 1) for i in range(4)])
    _fcmla(c, fmt, d, get(c, n, 32, 128), y, r, 128)



# -- int8 matrix multiply (FEAT_I8MM): USDOT/SUDOT, SMMLA/UMMLA/USMMLA ---------------

@pattern("USDOT_v", "0Q001110100mmmmm100111nnnnnddddd")
def USDOT_v(c, Q, m, n, d):
    """USDOT Vd.2S/4S, Vn.8B/16B (unsigned), Vm.8B/16B (signed)."""
    total = 128 if Q else 64
    acc = get(c, d, 32, total)
    put(c, d, _dot(c, get(c, n, 8, total), get(c, m, 8, total), acc, False, True))


@pattern("SUDOT_elem", "0Q00111100LMmmmm1111H0nnnnnddddd")
@pattern("USDOT_elem", "0Q00111110LMmmmm1111H0nnnnnddddd")
def USDOT_elem(c, Q, L, M, m, H, n, d):
    """SUDOT/USDOT Vd.2S/4S, Vn.8B/16B, Vm.4B[index] (mixed signedness)."""
    total = 128 if Q else 64
    us = (c.word >> 23) & 1            # size 10: USDOT (Vn unsigned), 00: SUDOT
    grp = get(c, (M << 4) | m, 32, 128)
    y = c.b.bitcast(shuffle(c, grp, None, [(H << 1) | L] * (total // 32)), vt(8, total // 8))
    acc = get(c, d, 32, total)
    put(c, d, _dot(c, get(c, n, 8, total), y, acc, not us, bool(us)))


@pattern("SMMLA", "01001110100mmmmm101001nnnnnddddd")
@pattern("UMMLA", "01101110100mmmmm101001nnnnnddddd")
@pattern("USMMLA", "01001110100mmmmm101011nnnnnddddd")
def MMLA(c, m, n, d):
    """SMMLA/UMMLA/USMMLA Vd.4S, Vn.16B, Vm.16B: Vd (2x2) += Vn (2x8) x Vm^T."""
    b = c.b
    u, mixed = (c.word >> 29) & 1, (c.word >> 11) & 1
    sx, sy = (False, True) if mixed else (not u, not u)
    x = widen(c, get(c, n, 8, 128), sx, 4)
    y = widen(c, get(c, m, 8, 128), sy, 4)
    acc = get(c, d, 32, 128)
    out = []
    for i in range(2):
        for j in range(2):
            p = b.mul(shuffle(c, x, None, range(8 * i, 8 * i + 8)),
                      shuffle(c, y, None, range(8 * j, 8 * j + 8)))
            out.append(intrinsic(c, "llvm.vector.reduce.add.v8i32", I32, [p]))
    r = acc
    for k, v in enumerate(out):
        r = b.insert_element(r, b.add(b.extract_element(acc, const(I32, k)), v), const(I32, k))
    put(c, d, r)
