"""Scalar floating point (ARM ARM C4.1.96-.104): FMOV (register, general,
top half, immediate), FADD/FSUB/FMUL/FDIV/FNMUL/FMAX/FMIN/FMAXNM/FMINNM,
FABS/FNEG/FSQRT, FMADD/FMSUB/FNMADD/FNMSUB (fused), FCMP/FCMPE, FCCMP/
FCCMPE, FCSEL, FCVT between H/S/D, SCVTF/UCVTF (integer and fixed-point),
FCVT{N,P,M,Z,A}{S,U} (integer and fixed-point for Z), FRINT{N,P,M,Z,A,X,I},
FRINT32/64{Z,X} and FJCVTZS; plus the FP building blocks simd.py uses
lane-wise.

ARM semantics are built in IR, never left to the host:
- NaNs: a NaN result is the first signalling NaN operand quieted, else the
  first quiet NaN operand (FPProcessNaNs operand order; for fused
  multiply-add the addend comes first), and an operation that generates a
  NaN returns the positive default NaN (x86 returns a negative one).
  FPCR.DN=1 turns every NaN result into the default NaN.
- FPCR.FZ=1 flushes denormal inputs and outputs to signed zero.
- FPCR.RMode is honoured by every rounding operation: FADD/FSUB/FMUL/
  FNMUL/FMULX/FDIV/FSQRT, the fused FMADD/FMSUB/FNMADD/FNMSUB/FMLA/FMLS/
  FRECPS/FRSQRTS, SCVTF/UCVTF (unless always exact), FCVT and FCVTN
  narrowing (to single and to half), FRINTI/FRINTX and the FRECPE
  overflow case.  (The FCVT<mode>*/FRINT<mode> forms use their own mode,
  FCVTXN rounds to odd, as ARM says.)
- Integer conversions saturate (llvm.fpto[su]i.sat); a NaN converts to 0.
- FPSR cumulative flags, all six as ARM raises them (proven against
  Unicorn with the whole FPSR compared by every differential test of an
  FP/AdvSIMD form: tests/unicorn_rig.py, tests/fpvals.py, and over every
  FPCR setting in tests/test_fpsr_flags.py):
  IOC (invalid: signalling NaN operand, generated NaN, failed integer
  conversion, signalling compare of a NaN, FJCVTZS out of range) and DZC
  (division by zero, FRECPE/FRSQRTE of zero) computed in IR; QC by the
  saturating AdvSIMD integer ops (simd.py); IXC, UFC and OFC on the fast
  path from the host's sticky MXCSR flags PE, UE and OE (x86 IE/ZE/DE are
  never used: LLVM's signalling compares raise IE on quiet NaNs, and DE
  is not ARM's IDC), which translator/dispatcher.py clears on entry to
  compiled code and folds into state.fpsr on every return to Python;
  MRS/MSR FPSR (system.py) read and clear the live flags through a call.
  Where the host's flags are not ARM's they are computed explicitly:
  FRINTX and FRINT32/64 raise IXC when inexact (the rounding intrinsics
  never raise PE, so FRINTN/P/M/Z/A/I raise nothing: FRINTA avoids
  llvm.round, whose lowering adds 0.49999999999999994 and raises PE);
  FCVT{N,P,M,Z,A}{S,U} and FJCVTZS raise IXC when in range and inexact,
  IOC and no IXC out of range; conversions to half precision compute
  IXC/UFC/OFC from the rounding; out-of-line helpers (FZ, directed
  RMode, NaN operands) save the MXCSR flags, read the flags of their own
  operation and restore them (rounded_with_flags: tininess before
  rounding, FZ flushing with UFC and no IXC) and raise IDC for an input
  flushed by FZ.  Exact helper arithmetic (fixed-point scaling, round to
  odd adjustment, FRINTA) raises no flag or runs where the host flags
  are discarded.
- The guest operations whose host flags count (fadd fsub fmul fdiv fma
  sqrt sitofp uitofp fptrunc) are LLVM constrained intrinsics with
  fpexcept.strict on the fast path too (STRICT_FAST): ordinary LLVM FP
  operations are side-effect free to LLVM, and at tier 2 MachineLICM
  hoisted a loop-invariant divsd out of a loop that cleared FPSR each
  iteration; LLVM could also fold them on constants, speculate them or
  drop dead ones.  They select to the same x86 instructions.

Code shape: each FP instruction compiles to one test "FPCR.FZ set (or,
for a rounding operation, FPCR.RMode != 0)" -- one AND of the loaded FPCR
with a constant mask -- *before* the host operation (so that operation
never raises host flags for unflushed operands or the wrong rounding
mode), then the host operation and a test "NaN in the result (or an
operand, or an inf result for FDIV, or out of range for conversions)"
(measured with benchmarks/codegen_table.py: FADD/FMUL/FMADD/FDIV one
more IR instruction than when both tests were one branch; FCVTZS to
integer grows by 8 IR instructions for its explicit IXC).
Only when a test holds it calls a module-internal helper
`emu_fp_<op>_<type>` (built once per LLVM module, cold, native code) that
applies flushing, NaN propagation, default NaN and the FPSR flags, and
for RMode != 0 recomputes under the guest's mode: llvm.set.rounding
(MXCSR), the operation as an llvm.experimental.constrained.* intrinsic
with "round.dynamic" (so LLVM cannot fold or move it across the mode
change), then round-to-nearest restored.  Ordinary arithmetic therefore
costs the x86 instruction, two compares and two not-taken branches.

UFC and tininess: ARM detects tininess before rounding, x86 (whose UE the
fast path takes) after.  They differ only for a result that is tiny before
rounding but rounds to +-MinNormal, which FMUL/FMULX/FDIV/the FMADD family
and FCVT narrowing can produce (sums and square roots cannot): those
operations send a +-MinNormal result to the out-of-line path, which decides
UFC before rounding (an and + compare on the fast path).

KNOWN LIMITATIONS
- Single-step translation after a store into code (jit.py Translator.step)
  runs the one store instruction outside the dispatcher (no FP flags).
- FPCR.AHP (alternative half precision) is ignored; FZ16 is irrelevant
  because FP16 arithmetic (FEAT_FP16) is not implemented: FP16 arithmetic
  encodings, FMOV to/from H registers and BFCVT are undefined (SIGILL),
  matching the ID registers we expose (HWCAP FPHP/ASIMDHP clear).  FCVT
  to and from half precision is implemented, and FJCVTZS (FEAT_JSCVT).
- Floating-point exceptions never trap (FPCR trap enables read as zero).
"""
from .. import irtext as ir

from emu.cpustate import OFFSET
from ..dispatcher import read_mxcsr, write_mxcsr, mxcsr_to_fpsr, MXCSR_FLAGS
from ..lifter import I1, I8, I16, I32, I64, I128, F16, F32, F64, INT, PTR, const
from ..patterns import pattern

# FPCR / FPSR bits
FPCR_AHP = 1 << 26
FPCR_DN = 1 << 25
FPCR_FZ = 1 << 24
RMODE_SHIFT = 22
RMODE_MASK = 3 << RMODE_SHIFT
IOC, DZC, OFC, UFC, IXC, IDC = 1, 2, 4, 8, 16, 128
QC = 1 << 27

# Rounding modes (FPCR.RMode encoding) and the extra ARM "ties away".
RN, RP, RM, RZ, RA = 0, 1, 2, 3, 4


class Fmt:
    """An IEEE binary format: sizes, masks and the LLVM types."""

    def __init__(self, bits):
        self.bits = bits
        self.mbits = {16: 10, 32: 23, 64: 52}[bits]
        self.ebits = bits - 1 - self.mbits
        self.bias = (1 << (self.ebits - 1)) - 1
        self.fty = {16: F16, 32: F32, 64: F64}[bits]
        self.ity = INT[bits]
        self.sign = 1 << (bits - 1)
        self.qbit = 1 << (self.mbits - 1)
        self.inf = ((1 << self.ebits) - 1) << self.mbits
        self.dnan = self.inf | self.qbit
        self.minnorm = 1 << self.mbits
        self.tag = {16: "f16", 32: "f32", 64: "f64"}[bits]


FMT = {16: Fmt(16), 32: Fmt(32), 64: Fmt(64)}
# scalar FP `type` field: 00 single, 01 double, 11 half (FEAT_FP16: not here)
TYPE_BITS = {0: 32, 1: 64}


# -- generic value helpers (scalar iN / fN or vectors of them) -------------

def K(ty, v):
    """Constant of type ty (scalar or splat vector)."""
    if isinstance(ty, ir.VectorType):
        el = ty.element
        return ir.Constant(ty, [const(el, v)] * ty.count)
    return const(ty, v)


def like(ty, elem):
    """ty with its element type replaced by elem."""
    if isinstance(ty, ir.VectorType):
        return ir.VectorType(elem, ty.count)
    return elem


def tsuf(ty):
    """LLVM intrinsic type suffix: i32, f64, v4f32 ..."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{tsuf(ty.element)}"
    if isinstance(ty, ir.IntType):
        return f"i{ty.width}"
    return {F16: "f16", F32: "f32", F64: "f64"}[ty]


def intrinsic(c, name, ret, args):
    """Call the LLVM intrinsic `name` (declared once per module)."""
    fn = c.module.globals.get(name)
    if fn is None:
        fn = ir.Function(c.module, ir.FunctionType(ret, [a.type for a in args]), name)
    return c.b.call(fn, list(args))


def ucall(c, base, *args):
    """Overloaded intrinsic on the first argument's type: llvm.<base>.<ty>."""
    ty = args[0].type
    return intrinsic(c, f"llvm.{base}.{tsuf(ty)}", ty, args)


def any_true(c, cond):
    """i1 from an i1 or a vector of i1 (OR reduction)."""
    if isinstance(cond.type, ir.VectorType):
        return intrinsic(c, f"llvm.vector.reduce.or.{tsuf(cond.type)}", I1, [cond])
    return cond


def fv(c, fmt, x):
    """Integer bits -> float view."""
    return c.b.bitcast(x, like(x.type, fmt.fty))


def iv(c, fmt, f):
    """Float -> integer bits view."""
    return c.b.bitcast(f, like(f.type, fmt.ity))


# -- state ----------------------------------------------------------------

def fpcr(c):
    return c.load_field("fpcr", I32)


def fpcr_bit(c, bit):
    """i1: any of the FPCR bits in `bit` (a mask) is set."""
    b = c.b
    return b.icmp_unsigned("!=", b.and_(fpcr(c), const(I32, bit)), const(I32, 0))


# -- rounding in the FPCR.RMode (out-of-line paths only) ----------------------
#
# The fast path of every rounding operation is the host instruction in the
# host's default mode (round to nearest even) and is only taken when
# FPCR.RMode is 0 (the same single test that checks FPCR.FZ).  Otherwise the
# out-of-line helper sets the host rounding mode (llvm.set.rounding: MXCSR
# and the x87 control word) to FPCR.RMode, computes with LLVM's constrained
# FP intrinsics ("round.dynamic", so LLVM neither folds nor moves them
# across the mode change), and restores round-to-nearest.

_CONSTRAINED = {"fadd": "fadd", "fsub": "fsub", "fmul": "fmul", "fdiv": "fdiv",
                "fma": "fma", "sqrt": "sqrt"}


def _md(c, text):
    return ir.MetaDataString(c.module, text)


# Guest FP operations whose host flags stand for ARM's (IXC/UFC/OFC) are
# LLVM constrained intrinsics with fpexcept.strict even on the fast path
# (round.tonearest there: MXCSR holds nearest-even outside the helpers).
# Plain fadd/fdiv... are side-effect free to LLVM: at tier 2 MachineLICM
# hoisted a loop-invariant divsd out of a loop (its flags then appeared
# once, not per iteration after an MSR FPSR), and LLVM may also fold them
# on constants, speculate them out of a conditional block or drop them
# when the result is dead; strict operations are kept where and as often
# as the guest executes them.  They select to the same x86 instruction.
STRICT_FAST = True


def _constrained(c, name, ty, args, rounding):
    fn = c.module.globals.get(name)
    if fn is None:
        md = ir.MetaDataType()
        fn = ir.Function(c.module, ir.FunctionType(ty, [a.type for a in args] + [md, md]), name)
    return c.b.call(fn, list(args) + [_md(c, rounding), _md(c, "fpexcept.strict")])


def arith(c, op, *args):
    """The FP operation `op` (fadd fsub fmul fdiv fma sqrt) on float values:
    a constrained intrinsic in nearest-even (see STRICT_FAST), or inside an
    out-of-line helper running under the guest's rounding mode (c.strict)
    with round.dynamic."""
    ty = args[0].type
    strict = getattr(c, "strict", False)
    if strict or STRICT_FAST:
        name = f"llvm.experimental.constrained.{_CONSTRAINED[op]}.{tsuf(ty)}"
        return _constrained(c, name, ty, args, "round.dynamic" if strict else "round.tonearest")
    if op in ("fma", "sqrt"):
        return ucall(c, op, *args)
    return getattr(c.b, op)(*args)


def convert(c, op, value, ty):
    """sitofp / uitofp / fptrunc (constrained, as arith)."""
    strict = getattr(c, "strict", False)
    if strict or STRICT_FAST:
        name = f"llvm.experimental.constrained.{op}.{tsuf(ty)}.{tsuf(value.type)}"
        return _constrained(c, name, ty, [value], "round.dynamic" if strict else "round.tonearest")
    return getattr(c.b, op)(value, ty)


def rmode_bits(c):
    """FPCR.RMode as an i32 (0 RN, 1 RP, 2 RM, 3 RZ)."""
    b = c.b
    return b.and_(b.lshr(fpcr(c), const(I32, RMODE_SHIFT)), const(I32, 3))


def under_rmode(e, compute):
    """Run compute() (in an out-of-line helper) with the host rounding mode
    set to FPCR.RMode and constrained intrinsics; restores nearest-even."""
    b = e.b
    # llvm.set.rounding: 0 toward zero, 1 nearest, 2 upward, 3 downward
    mode = b.and_(b.lshr(const(I32, 0x0321), b.mul(rmode_bits(e), const(I32, 4))),
                  const(I32, 0xF))
    return under_mode(e, mode, compute)


def under_mode(e, mode, compute):
    """compute() with constrained intrinsics under llvm.set.rounding mode
    `mode` (i32: 0 toward zero, 1 nearest, 2 upward, 3 downward)."""
    b = e.b
    setr = e.module.globals.get("llvm.set.rounding") or ir.Function(
        e.module, ir.FunctionType(ir.VoidType(), [I32]), "llvm.set.rounding")
    b.call(setr, [mode])
    e.strict = True
    try:
        r = compute()
    finally:
        e.strict = False
    b.call(setr, [const(I32, 1)])
    return r


def fpsr_raise(c, pairs):
    """OR cumulative FPSR flags: pairs of (i1 or <n x i1> condition, bit)."""
    b = c.b
    acc = None
    for cond, bit in pairs:
        if cond is None:
            continue
        cond = any_true(c, cond)
        v = b.select(cond, const(I32, bit), const(I32, 0))
        acc = v if acc is None else b.or_(acc, v)
    if acc is None:
        return
    c.store_field("fpsr", b.or_(c.load_field("fpsr", I32), acc))


def fpsr_or(c, value):
    """state.fpsr |= value (an i32)."""
    c.store_field("fpsr", c.b.or_(c.load_field("fpsr", I32), value))


def vlo(c, n, bits):
    """Low `bits` of Vn as an integer."""
    v = c.v(n)
    return v if bits == 128 else c.b.trunc(v, INT[bits])


def set_vlo(c, d, value):
    """Write Vd from a scalar (integer or float); upper bits become zero."""
    b = c.b
    if not isinstance(value.type, ir.IntType):
        value = b.bitcast(value, INT[{F16: 16, F32: 32, F64: 64}[value.type]])
    if value.type.width < 128:
        value = b.zext(value, I128)
    c.set_v(d, value)


# -- ARM FP building blocks (operate on integer bit patterns) ------------

def is_nan(c, fmt, x):
    b = c.b
    return b.icmp_unsigned(">", b.and_(x, K(x.type, ~fmt.sign)), K(x.type, fmt.inf))


def is_snan(c, fmt, x):
    b = c.b
    quiet = b.icmp_unsigned("!=", b.and_(x, K(x.type, fmt.qbit)), K(x.type, 0))
    return b.and_(is_nan(c, fmt, x), b.not_(quiet))


def is_zero(c, fmt, x):
    b = c.b
    return b.icmp_unsigned("==", b.and_(x, K(x.type, ~fmt.sign)), K(x.type, 0))


def is_inf(c, fmt, x):
    b = c.b
    return b.icmp_unsigned("==", b.and_(x, K(x.type, ~fmt.sign)), K(x.type, fmt.inf))


def is_minnorm(c, fmt, x):
    """|x| is the smallest normal number.  A product, quotient, fused result or
    narrowed value that was tiny before rounding and rounded up to it must raise
    UFC (ARM detects tininess before rounding; x86's UE, after rounding, stays
    clear): such results take the out-of-line path, which decides UFC exactly."""
    b = c.b
    return b.icmp_unsigned("==", b.and_(x, K(x.type, ~fmt.sign)), K(x.type, fmt.minnorm))


def flush(c, fmt, x):
    """FPCR.FZ: a denormal becomes a zero of the same sign."""
    b = c.b
    ty = x.type
    lim = b.select(fpcr_bit(c, FPCR_FZ), K(ty, fmt.minnorm), K(ty, 0))
    tiny = b.icmp_unsigned("<", b.and_(x, K(ty, ~fmt.sign)), lim)
    return b.select(tiny, b.and_(x, K(ty, fmt.sign)), x)


def input_denormal(c, fmt, ops):
    """i1: FPCR.FZ is set and an operand (scalar or any lane) is a denormal,
    which ARM flushes to zero raising IDC (FPUnpack)."""
    b = c.b
    any_d = None
    for x in ops:
        a = b.and_(x, K(x.type, ~fmt.sign))
        d = b.and_(b.icmp_unsigned("!=", a, K(x.type, 0)),
                   b.icmp_unsigned("<", a, K(x.type, fmt.minnorm)))
        d = any_true(c, d)
        any_d = d if any_d is None else b.or_(any_d, d)
    return b.and_(fpcr_bit(c, FPCR_FZ), any_d)


def default_nan(c, fmt, ty):
    return K(ty, fmt.dnan)


def process_nans(c, fmt, ops):
    """FPProcessNaNs: (any NaN, any SNaN, the NaN result with DN applied)."""
    b = c.b
    nans = [is_nan(c, fmt, o) for o in ops]
    snans = [is_snan(c, fmt, o) for o in ops]
    pick = ops[-1]
    for o, q in reversed(list(zip(ops, nans))):
        pick = b.select(q, o, pick)
    for o, s in reversed(list(zip(ops, snans))):
        pick = b.select(s, o, pick)
    ty = pick.type
    pick = b.or_(pick, K(ty, fmt.qbit))
    pick = b.select(fpcr_bit(c, FPCR_DN), K(ty, fmt.dnan), pick)
    any_nan, any_snan = nans[0], snans[0]
    for q, s in zip(nans[1:], snans[1:]):
        any_nan = b.or_(any_nan, q)
        any_snan = b.or_(any_snan, s)
    return any_nan, any_snan, pick


def process_nan1(c, fmt, x):
    """FPProcessNaN on one operand: (is NaN, is SNaN, quieted/DN result)."""
    return process_nans(c, fmt, [x])


def unlikely(c, cond):
    return intrinsic(c, "llvm.expect.i1", I1, [cond, const(I1, 0)])


class Emitter:
    """Stand-in for the lift context while building an out-of-line helper
    function: the FP building blocks only need b, module, new_block,
    load_field/store_field (FPCR, FPSR) and state."""

    def __init__(self, module, fn):
        self.module = module
        self.fn = fn
        self.state = fn.args[0]
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        self._mxslot = self.b.alloca(I32, name="mxcsr")   # st/ldmxcsr (unused: dropped)
        self._labels = 0
        self.strict = False        # FP ops as constrained intrinsics (under_rmode)

    def _field(self, name):
        return self.b.gep(self.state, [const(I64, OFFSET[name])], source_etype=I8)

    def load_field(self, name, ty):
        return self.b.load(self._field(name), typ=ty)

    def store_field(self, name, value):
        self.b.store(value, self._field(name))

    def new_block(self, name="l"):
        self._labels += 1
        return self.fn.append_basic_block(f"{name}{self._labels}")


def out_of_line(c, name, ret, args, body):
    """Call the module-internal helper `name` (built on first use by
    body(emitter, *params) -> value or tuple of values) with args.  Used for
    the rare FP paths (NaN operands/results, FZ) so that each FP instruction
    only compiles its fast path; the helper is native code in the same
    module, not a call out of compiled code."""
    fn = c.module.globals.get(name)
    many = isinstance(ret, (tuple, list))
    rty = ir.LiteralStructType(list(ret)) if many else ret
    if fn is None:
        fn = ir.Function(c.module, ir.FunctionType(rty, [PTR] + [a.type for a in args]), name)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("cold")
        fn.attributes.add("nounwind")
        e = Emitter(c.module, fn)
        r = body(e, *fn.args[1:])
        if many:
            agg = ir.Constant(rty, None)
            for i, v in enumerate(r):
                agg = e.b.insert_value(agg, v, i)
            r = agg
        e.b.ret(r)
    res = c.b.call(fn, [c.state] + list(args))
    if many:
        return tuple(c.b.extract_value(res, i) for i in range(len(ret)))
    return res


def fast_or_slow(c, need_slow, fast, slow):
    """`fast` (already computed) unless need_slow (i1) holds: then slow()
    computes the result in an unlikely block.  fast may be a tuple."""
    b = c.b
    cur = b.block
    slow_bb = c.new_block("fpslow")
    join = c.new_block("fpjoin")
    b.cbranch(unlikely(c, need_slow), slow_bb, join)
    return _slow_and_join(c, slow_bb, join, fast, cur, slow)


def guarded(c, pre, fast_fn, need_fn, slow):
    """Like fast_or_slow, but the i1 `pre` is tested *before* the fast value
    is computed (fast_fn()), then need_fn(fast) after: the host operation
    must not run (and raise host flags) when the helper will compute the
    ARM result another way, e.g. under FPCR.FZ or a directed rounding mode."""
    b = c.b
    slow_bb = c.new_block("fpslow")
    fast_bb = c.new_block("fpfast")
    join = c.new_block("fpjoin")
    b.cbranch(unlikely(c, pre), slow_bb, fast_bb)
    b.position_at_end(fast_bb)
    fast = fast_fn()
    need = need_fn(fast)
    fast_end = b.block
    if need is None:
        b.branch(join)
    else:
        b.cbranch(unlikely(c, need), slow_bb, join)
    return _slow_and_join(c, slow_bb, join, fast, fast_end, slow)


def _slow_and_join(c, slow_bb, join, fast, fast_end, slow):
    """Emit slow() in slow_bb, then merge it with `fast` (from fast_end) at join
    (one phi per value; fast may be a tuple)."""
    b = c.b
    b.position_at_end(slow_bb)
    s = slow()
    end = b.block
    b.branch(join)
    b.position_at_end(join)
    many = isinstance(fast, (tuple, list))
    out = []
    for f, v in zip(fast, s) if many else [(fast, s)]:
        phi = b.phi(f.type)
        phi.add_incoming(f, fast_end)
        phi.add_incoming(v, end)
        out.append(phi)
    return tuple(out) if many else out[0]


def _helper_slot(e):
    """The helper's i32 stack slot for st/ldmxcsr (made by Emitter)."""
    return e._mxslot


MXCSR_RC = 3 << 13


def _strict(e, compute):
    """compute() with constrained intrinsics in the current MXCSR mode."""
    e.strict = True
    try:
        return compute()
    finally:
        e.strict = False


def rounded_with_flags(e, fmt, compute):
    """In an out-of-line helper: compute() (result bits in fmt, scalar or
    vector, built from arith/convert) under FPCR.RMode, with ARM's FZ
    output flushing and ARM's exact IXC/UFC/OFC.  Returns (result, flags),
    flags an i32 of FPSR bits for the caller to OR in.

    The host flags of the operation are read around it: MXCSR is saved,
    loaded with the flags clear and the rounding control set to FPCR.RMode
    (directly: llvm.set.rounding would also rewrite the x87 control word),
    and restored afterwards, so nothing leaks.  x86 detects tininess
    after rounding, ARM before: when a lane's result could be tiny (|r| <
    MinNormal and not an exact zero, or |r| = MinNormal and inexact), the
    operation is recomputed rounding down and up: the lane is inexact iff
    the two differ, and tiny before rounding iff the one toward zero is
    below MinNormal.  ARM then flushes a tiny lane under FZ (UFC, no IXC)
    or raises UFC for a tiny inexact lane."""
    b = e.b
    slot = _helper_slot(e)
    m0 = read_mxcsr(b, e.module, slot)
    # one ldmxcsr both clears the flags and sets MXCSR.RC to FPCR.RMode
    # (RC: 0 nearest, 1 down, 2 up, 3 zero; RMode: 0 RN, 1 RP, 2 RM, 3 RZ)
    base = b.and_(m0, const(I32, ~(MXCSR_FLAGS | MXCSR_RC)))
    rc = b.and_(b.lshr(const(I32, 0b11011000), b.shl(rmode_bits(e), const(I32, 1))),
                const(I32, 3))
    write_mxcsr(b, e.module, slot, b.or_(base, b.shl(rc, const(I32, 13))))
    r = _strict(e, compute)
    host = mxcsr_to_fpsr(b, read_mxcsr(b, e.module, slot))
    inexact = b.icmp_unsigned("!=", b.and_(host, const(I32, IXC)), const(I32, 0))
    ty = r.type
    mn = K(ty, fmt.minnorm)
    a = abs_bits(e, fmt, r)
    vinexact = b.select(inexact, K(like(ty, I1), 1), K(like(ty, I1), 0)) \
        if isinstance(ty, ir.VectorType) else inexact
    cand = b.or_(b.and_(b.icmp_unsigned("<", a, mn),
                        b.or_(b.icmp_unsigned("!=", a, K(ty, 0)), vinexact)),
                 b.and_(b.icmp_unsigned("==", a, mn), vinexact))
    host_io = b.and_(host, const(I32, IXC | OFC))
    cur = b.block
    tiny_bb = e.new_block("tiny")
    join = e.new_block("tinyjoin")
    b.cbranch(unlikely(e, any_true(e, cand)), tiny_bb, join)
    b.position_at_end(tiny_bb)
    write_mxcsr(b, e.module, slot, b.or_(base, const(I32, 1 << 13)))     # down
    rd = _strict(e, compute)
    write_mxcsr(b, e.module, slot, b.or_(base, const(I32, 2 << 13)))     # up
    ru = _strict(e, compute)
    lane_inexact = b.fcmp_ordered("!=", fv(e, fmt, rd), fv(e, fmt, ru))
    ad, au = abs_bits(e, fmt, rd), abs_bits(e, fmt, ru)
    lane_tiny = b.and_(b.icmp_unsigned("<", ucall(e, "umin", ad, au), mn),
                       b.icmp_unsigned("!=", b.or_(ad, au), K(ty, 0)))
    fz = fpcr_bit(e, FPCR_FZ)
    vfz = b.select(fz, K(like(ty, I1), 1), K(like(ty, I1), 0)) \
        if isinstance(ty, ir.VectorType) else fz
    flushed = b.and_(lane_tiny, vfz)
    r2 = b.select(flushed, b.and_(r, K(ty, fmt.sign)), r)
    ufc = any_true(e, b.and_(lane_tiny, b.or_(vfz, lane_inexact)))
    ixc = any_true(e, b.and_(lane_inexact, b.not_(flushed)))
    fl = b.or_(b.or_(b.select(ufc, const(I32, UFC), const(I32, 0)),
                     b.select(ixc, const(I32, IXC), const(I32, 0))),
               b.and_(host, const(I32, OFC)))
    tiny_end = b.block
    b.branch(join)
    b.position_at_end(join)
    res = b.phi(ty)
    res.add_incoming(r, cur)
    res.add_incoming(r2, tiny_end)
    flags = b.phi(I32)
    flags.add_incoming(host_io, cur)
    flags.add_incoming(fl, tiny_end)
    write_mxcsr(b, e.module, slot, m0)
    return res, flags


def fp_op(c, fmt, ops, compute, key, extra_flags=(), flush_out=True, fix=None, post=None,
          slow_if=None, rounds=False):
    """Run an ARM FP arithmetic op on integer-bit operands (scalar or vector).

    compute(cx, *floats) gives the host result.  With FPCR.FZ clear and no
    NaN in the result the host result is the ARM result (the fast path);
    its IXC/UFC/OFC are the host's own sticky flags (dispatcher.py).
    Otherwise (or when slow_if(cx, result) holds) the out-of-line helper
    `emu_fp_<key>_<type>` flushes operands (FZ, raising IDC) and result,
    applies fix(cx, ops, result), replaces NaN results by the ARM choice
    (first SNaN, else first QNaN operand, quieted; a generated NaN is the
    default NaN), applies post(cx, ops, result) and raises IOC plus
    extra_flags ((cx, ops) -> condition, bit) in FPSR.  rounds: the
    operation rounds (compute uses `arith`), so a non-zero FPCR.RMode also
    takes the helper, which computes under that mode (same single FPCR
    test as FZ) and raises IXC/UFC/OFC exactly (rounded_with_flags).  The
    FPCR test comes before the host operation, so that operation's flags
    never come from unflushed operands or the wrong rounding mode."""
    b = c.b
    pre = fpcr_bit(c, FPCR_FZ | (RMODE_MASK if rounds else 0))

    def fast_fn():
        return iv(c, fmt, compute(c, *[fv(c, fmt, o) for o in ops]))

    def need_fn(fast):
        need = any_true(c, is_nan(c, fmt, fast))
        if slow_if is not None:
            need = b.or_(need, any_true(c, slow_if(c, fast)))
        return need

    def body(e, *args):
        eb = e.b
        fops = [flush(e, fmt, o) for o in args]

        def host():
            return iv(e, fmt, compute(e, *[fv(e, fmt, o) for o in fops]))
        hostflags = None
        if rounds:
            r, hostflags = rounded_with_flags(e, fmt, host)
        else:
            r = host()
            if flush_out:
                r = flush(e, fmt, r)
        if fix is not None:
            r = fix(e, fops, r)
        any_nan, any_snan, pick = process_nans(e, fmt, fops)
        rnan = is_nan(e, fmt, r)
        out = eb.select(rnan, eb.select(any_nan, pick, default_nan(e, fmt, r.type)), r)
        if post is not None:
            out = post(e, fops, out)
        invalid = eb.or_(any_snan, eb.and_(rnan, eb.not_(any_nan)))
        fpsr_raise(e, [(invalid, IOC), (input_denormal(e, fmt, args), IDC)]
                   + [(f(e, fops), bit) for f, bit in extra_flags])
        if hostflags is not None:
            fpsr_or(e, hostflags)
        return out
    ty = ops[0].type
    name = f"emu_fp_{key}_{tsuf(like(ty, fmt.fty))}"
    return guarded(c, pre, fast_fn, need_fn, lambda: out_of_line(c, name, ty, ops, body))


def neg_bits(c, fmt, x):
    return c.b.xor(x, K(x.type, fmt.sign))


def abs_bits(c, fmt, x):
    return c.b.and_(x, K(x.type, ~fmt.sign))


def _infzero(c, fmt, p, q):
    b = c.b
    return b.or_(b.and_(is_inf(c, fmt, p), is_zero(c, fmt, q)),
                 b.and_(is_zero(c, fmt, p), is_inf(c, fmt, q)))


# Arithmetic kernels: each takes (c, fmt, a_bits, b_bits) -> result bits.

def fadd(c, fmt, x, y):
    return fp_op(c, fmt, [x, y], lambda cx, p, q: arith(cx, "fadd", p, q), "add", rounds=True)


def fsub(c, fmt, x, y):
    return fp_op(c, fmt, [x, y], lambda cx, p, q: arith(cx, "fsub", p, q), "sub", rounds=True)


def fmul(c, fmt, x, y):
    return fp_op(c, fmt, [x, y], lambda cx, p, q: arith(cx, "fmul", p, q), "mul", rounds=True,
                 slow_if=lambda cx, r: is_minnorm(cx, fmt, r))


def fmulx(c, fmt, x, y):
    """FMULX: like FMUL but 0 * inf = 2.0 with the sign of the product."""
    def fix(cx, ops, r):
        b = cx.b
        p, q = ops
        two = K(r.type, (fmt.bias + 1) << fmt.mbits)
        sign = b.and_(b.xor(p, q), K(r.type, fmt.sign))
        return b.select(_infzero(cx, fmt, p, q), b.or_(two, sign), r)
    return fp_op(c, fmt, [x, y], lambda cx, p, q: arith(cx, "fmul", p, q), "mulx", fix=fix,
                 rounds=True, slow_if=lambda cx, r: is_minnorm(cx, fmt, r))


def fdiv(c, fmt, x, y):
    def dz(cx, ops):
        b = cx.b
        p, q = ops
        finite_nonzero = b.and_(b.icmp_unsigned("<", abs_bits(cx, fmt, p), K(p.type, fmt.inf)),
                                b.not_(is_zero(cx, fmt, p)))
        return b.and_(is_zero(cx, fmt, q), finite_nonzero)
    return fp_op(c, fmt, [x, y], lambda cx, p, q: arith(cx, "fdiv", p, q), "div",
                 extra_flags=[(dz, DZC)], rounds=True,
                 slow_if=lambda cx, r: cx.b.or_(is_inf(cx, fmt, r), is_minnorm(cx, fmt, r)))


def fmax(c, fmt, x, y):
    return fp_op(c, fmt, [x, y], lambda cx, p, q: ucall(cx, "maximum", p, q), "max")


def fmin(c, fmt, x, y):
    return fp_op(c, fmt, [x, y], lambda cx, p, q: ucall(cx, "minimum", p, q), "min")


def _num_operands(c, fmt, x, y, repl):
    """FPMaxNum/FPMinNum: a lone quiet NaN operand becomes repl (-/+inf)."""
    b = c.b
    x, y = flush(c, fmt, x), flush(c, fmt, y)
    qx = b.and_(is_nan(c, fmt, x), b.not_(is_snan(c, fmt, x)))
    qy = b.and_(is_nan(c, fmt, y), b.not_(is_snan(c, fmt, y)))
    r = K(x.type, repl)
    x2 = b.select(b.and_(qx, b.not_(qy)), r, x)
    y2 = b.select(b.and_(qy, b.not_(qx)), r, y)
    return x2, y2


def _fnum(c, fmt, x, y, repl, slow_op, name):
    """FMAXNM/FMINNM: llvm.{maximum,minimum}num when no operand is a NaN and
    FZ is clear; otherwise ARM FPMaxNum/FPMinNum out of line."""
    b = c.b
    fast = iv(c, fmt, ucall(c, name, fv(c, fmt, x), fv(c, fmt, y)))
    need = b.or_(fpcr_bit(c, FPCR_FZ),
                 any_true(c, b.or_(is_nan(c, fmt, x), is_nan(c, fmt, y))))

    def body(e, p, q):
        fpsr_raise(e, [(input_denormal(e, fmt, [p, q]), IDC)])
        p, q = _num_operands(e, fmt, p, q, repl)
        return slow_op(e, fmt, p, q)
    key = f"emu_fp_{name}_{tsuf(fast.type)}"
    return fast_or_slow(c, need, fast, lambda: out_of_line(c, key, fast.type, [x, y], body))


def fmaxnm(c, fmt, x, y):
    return _fnum(c, fmt, x, y, fmt.sign | fmt.inf, fmax, "maximumnum")


def fminnm(c, fmt, x, y):
    return _fnum(c, fmt, x, y, fmt.inf, fmin, "minimumnum")


def fabd(c, fmt, x, y):
    """FABD: FPAbs(FPSub(x, y)); a NaN result has its sign cleared too."""
    return abs_bits(c, fmt, fsub(c, fmt, x, y))


def fmuladd(c, fmt, acc, x, y, key="fma"):
    """FPMulAdd(addend, op1, op2): fused acc + x*y with ARM NaN rules
    (addend first in NaN priority; (inf * 0) + qNaN is the default NaN)."""
    def bad(cx, ops):
        b = cx.b
        a, p, q = ops
        qa = b.and_(is_nan(cx, fmt, a), b.not_(is_snan(cx, fmt, a)))
        return b.and_(_infzero(cx, fmt, p, q), qa)

    def post(cx, ops, r):
        return cx.b.select(bad(cx, ops), default_nan(cx, fmt, r.type), r)
    return fp_op(c, fmt, [acc, x, y], lambda cx, a, p, q: arith(cx, "fma", p, q, a), key,
                 post=post, extra_flags=[(bad, IOC)], rounds=True,
                 slow_if=lambda cx, r: is_minnorm(cx, fmt, r))


def fsqrt(c, fmt, x):
    return fp_op(c, fmt, [x], lambda cx, p: arith(cx, "sqrt", p), "sqrt", rounds=True)


ROUND_INTRINSIC = {RN: "roundeven", RP: "ceil", RM: "floor", RZ: "trunc", RA: "round"}


def round_away(c, f):
    """Round to integral, ties away from zero, with exact operations only:
    LLVM lowers llvm.round to trunc(x + copysign(0.49999999999999994, x)),
    whose add raises the host's inexact flag (PE -> IXC) even for integral
    x, and FRINTA never raises IXC.  |x| - trunc(|x|) is exact, and so is
    trunc(|x|) + 1 when there is a fraction."""
    b = c.b
    a = ucall(c, "fabs", f)
    t = ucall(c, "trunc", a)
    up = b.fcmp_ordered(">=", b.fsub(a, t), K(f.type, 0.5))
    r = b.fadd(t, b.select(up, K(f.type, 1.0), K(f.type, 0.0)))
    return ucall(c, "copysign", r, f)


def round_float(c, f, mode):
    """Round a float (or vector) to an integral value in `mode` (int or
    None = FPCR.RMode at run time)."""
    if mode == RA:
        return round_away(c, f)
    if mode is not None:
        return ucall(c, ROUND_INTRINSIC[mode], f)
    b = c.b
    rm = b.and_(b.lshr(fpcr(c), const(I32, RMODE_SHIFT)), const(I32, 3))
    r = ucall(c, "roundeven", f)
    for m in (RP, RM, RZ):
        r = b.select(b.icmp_unsigned("==", rm, const(I32, m)), ucall(c, ROUND_INTRINSIC[m], f), r)
    return r


def frint(c, fmt, x, mode, exact=False):
    """FRINT<mode>: round to integral in FP format (NaN rules apply).  The
    rounding intrinsics never raise the host's inexact flag; FRINTX
    (exact=True) raises IXC explicitly when the result differs from the
    (flushed) operand."""
    r = fp_op(c, fmt, [x], lambda cx, p: round_float(cx, p, mode),
              f"rint{'I' if mode is None else mode}", flush_out=False)
    if exact:
        _raise_inexact(c, fmt, flush(c, fmt, x), r)
    return r


def _raise_inexact(c, fmt, x, r, cond=None):
    """IXC if the float values of bits x and r differ (neither a NaN)."""
    inexact = c.b.fcmp_ordered("!=", fv(c, fmt, x), fv(c, fmt, r))
    if cond is not None:
        inexact = c.b.and_(inexact, cond)
    fpsr_raise(c, [(inexact, IXC)])


def frint_n(c, fmt, x, mode, n):
    """FRINT32Z/X, FRINT64Z/X: round, and if out of int<n> range (or NaN or
    inf) give the most negative int<n> as an FP value, with InvalidOp."""
    b = c.b
    idc = input_denormal(c, fmt, [x])
    x = flush(c, fmt, x)
    f = fv(c, fmt, x)
    r = round_float(c, f, mode)
    lo = K(r.type, -float(2 ** (n - 1)))
    hi = K(r.type, float(2 ** (n - 1)))
    ok = b.and_(b.fcmp_ordered(">=", r, lo), b.fcmp_ordered("<", r, hi))
    # FPRoundIntN: IXC when in range and inexact, for the Z forms too
    fpsr_raise(c, [(b.not_(ok), IOC), (idc, IDC), (b.and_(ok, b.fcmp_ordered("!=", r, f)), IXC)])
    return iv(c, fmt, b.select(ok, r, lo))


def _compare_flags(c, fmt, x, y):
    b = c.b
    p, q = fv(c, fmt, x), fv(c, fmt, y)
    lt = b.fcmp_ordered("<", p, q)
    return lt, b.fcmp_ordered("==", p, q), b.not_(lt), b.fcmp_unordered("uno", p, q)


def fcompare(c, fmt, x, y, signal_all, cond=None):
    """FPCompare -> (n, z, c, v) i1 values; raises IOC for an SNaN operand
    (FCMP) or any NaN operand (FCMPE), only where `cond` (FCCMP) holds.
    Unordered operands or FZ take an out-of-line path."""
    b = c.b
    fast = _compare_flags(c, fmt, x, y)
    need = b.or_(fpcr_bit(c, FPCR_FZ), fast[3])

    def body(e, p, q, cnd):
        eb = e.b
        fx, fy = flush(e, fmt, p), flush(e, fmt, q)
        flags = _compare_flags(e, fmt, fx, fy)
        if signal_all:
            inv = flags[3]
        else:
            inv = eb.or_(is_snan(e, fmt, fx), is_snan(e, fmt, fy))
        fpsr_raise(e, [(eb.and_(cnd, inv), IOC),
                       (eb.and_(cnd, input_denormal(e, fmt, [p, q])), IDC)])
        return flags
    name = f"emu_fp_cmp{'e' if signal_all else ''}_{fmt.tag}"
    args = [x, y, const(I1, 1) if cond is None else cond]
    return fast_or_slow(c, need, fast, lambda: out_of_line(c, name, [I1] * 4, args, body))


# -- conversions -----------------------------------------------------------

def _fptou64_sat(c, r, oty):
    """llvm.fptoui.sat to 64 bits of an integral float r, raising no host flag.  Without
    AVX-512's unsigned conversions LLVM lowers fptoui through r - 2^63 for every input, an
    inexact subtraction for small r (host PE -> a false IXC), and LLVM speculates any FP
    operation written here for the big values onto the small ones too.  So the big values
    (2^63 <= r < 2^64, exponent 63) are converted in integers: significand with its
    implicit bit, shifted to weight 2^63.  >= 2^64 saturates to all-ones; below 2^63 the
    signed conversion is exact (r is integral; negative -> 0, NaN -> 0)."""
    b = c.b
    mbits = 52 if _elem_width(r.type) == 64 else 23
    bits = b.zext(b.bitcast(r, like(r.type, ir.IntType(_elem_width(r.type)))), oty) \
        if _elem_width(r.type) != 64 else b.bitcast(r, oty)
    high = b.shl(b.or_(b.and_(bits, K(oty, (1 << mbits) - 1)), K(oty, 1 << mbits)),
                 K(oty, 63 - mbits))
    high = b.select(b.fcmp_ordered(">=", r, K(r.type, 2.0 ** 64)), K(oty, -1), high)
    low = intrinsic(c, f"llvm.fptosi.sat.{tsuf(oty)}.{tsuf(r.type)}", oty, [r])
    low = b.select(b.fcmp_ordered("<", r, K(r.type, 0.0)), K(oty, 0), low)
    return b.select(b.fcmp_ordered(">=", r, K(r.type, 2.0 ** 63)), high, low)


def _elem_width(ty):
    """Bits of a float type or of a float vector's element."""
    ty = getattr(ty, "element", ty)
    return 64 if isinstance(ty, ir.DoubleType) else 32 if isinstance(ty, ir.FloatType) else 16


def fp_to_int(c, fmt, x, ity, unsigned, mode, fbits=0):
    """FPToFixed: round in `mode` (None = FPCR.RMode), saturate, NaN -> 0,
    IOC on NaN or overflow, else IXC when inexact.  x is integer bits
    (scalar or vector); result has integer type ity (scalar) or a vector of
    it.  In-range values with FZ clear take the fast path, whose only FPSR
    update is IXC (the rounding intrinsics and the conversion of an
    integral value raise no host flag, so IXC is explicit).  Fixed point
    (fbits): values too large for the scaling multiply to stay finite go
    to the helper before it runs (its overflow would raise host OE/PE);
    the helper discards the host flags of its own operations."""
    b = c.b
    n = ity.width
    oty = like(x.type, ity)
    lo, hi = (0.0, float(2 ** n)) if unsigned else (-float(2 ** (n - 1)), float(2 ** (n - 1)))
    sat = "fptoui.sat" if unsigned else "fptosi.sat"

    def convert(cx, bits):
        cb = cx.b
        f = fv(cx, fmt, bits)
        if fbits:
            f = cb.fmul(f, K(f.type, float(2 ** fbits)))
        r = round_float(cx, f, mode)
        if unsigned and n == 64:
            res = _fptou64_sat(cx, r, oty)
        else:
            res = intrinsic(cx, f"llvm.{sat}.{tsuf(oty)}.{tsuf(r.type)}", oty, [r])
        ok = cb.and_(cb.fcmp_ordered(">=", r, K(r.type, lo)), cb.fcmp_ordered("<", r, K(r.type, hi)))
        inexact = cb.and_(ok, cb.fcmp_ordered("!=", r, f))
        return res, ok, inexact

    def fast_fn():
        res, ok, inexact = convert(c, x)
        fpsr_raise(c, [(inexact, IXC)])
        return res, ok

    pre = fpcr_bit(c, FPCR_FZ)
    if fbits:
        f = fv(c, fmt, x)
        small = b.fcmp_ordered("<", ucall(c, "fabs", f), K(f.type, 2.0 ** (66 - fbits)))
        pre = b.or_(pre, any_true(c, b.not_(small)))

    def body(e, v):
        eb = e.b
        slot = _helper_slot(e)
        m0 = read_mxcsr(eb, e.module, slot)
        res, ok2, inexact = convert(e, flush(e, fmt, v))
        write_mxcsr(eb, e.module, slot, m0)
        fpsr_raise(e, [(e.b.not_(ok2), IOC), (inexact, IXC), (input_denormal(e, fmt, [v]), IDC)])
        return res
    name = (f"emu_fp_cvt{'u' if unsigned else 's'}{'I' if mode is None else mode}"
            f"_{fbits}_{tsuf(oty)}_{tsuf(x.type)}")
    return guarded(c, pre, fast_fn, lambda fast: any_true(c, b.not_(fast[1])),
                   lambda: (out_of_line(c, name, oty, [x], body), K(like(x.type, I1), 1)))[0]


def int_to_fp(c, fmt, v, unsigned, fbits=0):
    """SCVTF/UCVTF in FPCR.RMode, optional fixed-point scale (exact: the
    result is never tiny).  A conversion that is always exact (32-bit
    integer to double) has no mode test; otherwise RMode != 0 takes an
    out-of-line helper that converts under the mode."""
    ty = like(v.type, fmt.fty)
    width = v.type.element.width if isinstance(v.type, ir.VectorType) else v.type.width

    def conv(cx, val):
        if unsigned and width == 32:
            # LLVM converts an unsigned 32-bit vector without AVX-512 through
            # (hi - magic) + lo, which gives -0 for 0 when rounding toward minus (and O2
            # drops any sign fix-up, knowing uitofp is never negative): convert it as a
            # signed 64-bit value instead, as LLVM does for the scalar form.
            val = cx.b.zext(val, like(val.type, I64))
            f = convert(cx, "sitofp", val, ty)
        else:
            f = convert(cx, "uitofp" if unsigned else "sitofp", val, ty)
        if fbits:
            f = cx.b.fmul(f, K(ty, 2.0 ** -fbits))
        return iv(cx, fmt, f)
    fast = conv(c, v)
    if width <= fmt.mbits + 1:
        return fast
    name = f"emu_fp_{'u' if unsigned else 's'}cvtf_{fbits}_{tsuf(ty)}_{tsuf(v.type)}"
    return fast_or_slow(c, fpcr_bit(c, RMODE_MASK), fast, lambda: out_of_line(
        c, name, fast.type, [v], lambda e, val: under_rmode(e, lambda: conv(e, val))))


def _nan_convert(c, src, dst, x):
    """FPConvertNaN: keep the sign and the top fraction bits, quiet it."""
    b = c.b
    dty = like(x.type, dst.ity)
    sign = b.lshr(x, K(x.type, src.bits - 1))
    frac = b.and_(x, K(x.type, (1 << src.mbits) - 1))
    d = src.mbits - dst.mbits
    frac = b.lshr(frac, K(x.type, d)) if d > 0 else frac
    if src.bits > dst.bits:
        sign, frac = b.trunc(sign, dty), b.trunc(frac, dty)
    elif src.bits < dst.bits:
        sign, frac = b.zext(sign, dty), b.zext(frac, dty)
    if d < 0:
        frac = b.shl(frac, K(dty, -d))
    r = b.or_(b.shl(sign, K(dty, dst.bits - 1)), frac)
    return b.or_(r, K(dty, dst.inf | dst.qbit))


def _to_half(c, src, x, rm=None):
    """Round S/D bits (not NaN) to half-precision bits in rounding mode rm
    (an i32 FPCR.RMode value; None = nearest even)."""
    b = c.b
    t = x.type
    w = like(t, I64)

    def k(v):
        return K(w, v)

    def wide(v):
        return b.zext(v, w) if src.bits < 64 else v
    sign = b.trunc(b.lshr(x, K(t, src.bits - 1)), like(t, I16))
    e = b.sub(wide(b.and_(b.lshr(x, K(t, src.mbits)), K(t, (1 << src.ebits) - 1))), k(src.bias))
    mant = wide(b.and_(x, K(t, (1 << src.mbits) - 1)))
    drop = src.mbits - 10
    normal = b.icmp_signed(">=", e, k(-14))
    # a result below half's normal range: the source's implicit bit is
    # explicit in m (a zero or denormal source has none)
    src_sub = b.icmp_signed("==", e, k(-src.bias))
    m = b.select(b.or_(normal, src_sub), mant, b.or_(mant, k(1 << src.mbits)))
    extra = ucall(c, "smin", b.sub(k(-14), e), k(12))
    s = b.select(normal, k(drop), b.add(k(drop), extra))
    base = b.select(normal, b.shl(b.add(e, k(15)), k(10)), k(0))
    q = b.lshr(m, s)
    rem = b.and_(m, b.sub(b.shl(k(1), s), k(1)))
    hb = b.shl(k(1), b.sub(s, k(1)))
    up = b.or_(b.icmp_unsigned(">", rem, hb),
               b.and_(b.icmp_unsigned("==", rem, hb), b.trunc(q, like(t, I1))))
    ovf = k(0x7C00)
    if rm is not None:
        neg = b.icmp_unsigned("!=", sign, K(sign.type, 0))
        inexact = b.icmp_unsigned("!=", rem, k(0))
        no = K(like(t, I1), 0)
        yes = K(like(t, I1), 1)

        def pick(rn, rp, rmm, rz):
            return b.select(b.icmp_unsigned("==", rm, const(I32, RN)), rn,
                            b.select(b.icmp_unsigned("==", rm, const(I32, RP)), rp,
                                     b.select(b.icmp_unsigned("==", rm, const(I32, RM)), rmm, rz)))
        up = pick(up, b.and_(inexact, b.not_(neg)), b.and_(inexact, neg), no)
        ovf = b.select(b.or_(pick(yes, b.not_(neg), neg, no), is_inf(c, src, x)), ovf, k(0x7BFF))
    h = b.add(b.add(base, q), b.zext(up, w))
    big = b.icmp_signed(">", e, k(15))
    # ARM flags: overflow (exponent too large before or after rounding, not
    # an infinity), inexact (bits lost, or overflow), underflow (tiny before
    # rounding and inexact; FZ does not apply to half precision results)
    lost = b.icmp_unsigned("!=", rem, k(0))
    nonzero = b.icmp_unsigned("!=", b.and_(x, K(t, ~src.sign)), K(t, 0))
    finite = b.not_(is_inf(c, src, x))
    overflow = b.and_(finite, b.or_(big, b.icmp_unsigned(">=", h, k(0x7C00))))
    inexact = b.or_(b.and_(b.not_(big), lost), overflow)
    underflow = b.and_(b.and_(b.not_(normal), nonzero), lost)
    c.half_flags = [(overflow, OFC), (inexact, IXC), (underflow, UFC)]
    h = b.select(big, ovf, h)
    return b.or_(b.shl(sign, K(sign.type, 15)), b.trunc(h, sign.type))


def _from_half(c, dst, h):
    """Exact half bits (not NaN) -> S/D bits."""
    b = c.b
    t = like(h.type, dst.ity)
    sign = b.shl(b.zext(b.lshr(h, K(h.type, 15)), t), K(t, dst.bits - 1))
    e = b.zext(b.and_(b.lshr(h, K(h.type, 10)), K(h.type, 0x1F)), t)
    mant = b.zext(b.and_(h, K(h.type, 0x3FF)), t)
    normal = b.or_(b.shl(b.add(e, K(t, dst.bias - 15)), K(t, dst.mbits)),
                   b.shl(mant, K(t, dst.mbits - 10)))
    ft = like(h.type, dst.fty)
    sub = iv(c, dst, b.fmul(b.uitofp(mant, ft), K(ft, 2.0 ** -24)))
    r = b.select(b.icmp_unsigned("==", e, K(t, 0)), sub,
                 b.select(b.icmp_unsigned("==", e, K(t, 31)), K(t, dst.inf), normal))
    return b.or_(r, sign)


def _fcvt_full(c, src, dst, v):
    b = c.b
    flags = []
    if src.bits != 16:
        flags.append((input_denormal(c, src, [v]), IDC))
        v = flush(c, src, v)
    isnan, issnan, _ = process_nan1(c, src, v)
    if src.bits == 16:
        r = _from_half(c, dst, v)
    elif dst.bits == 16:
        r = _to_half(c, src, v, rmode_bits(c))
        flags += [(b.and_(b.not_(isnan), cond), bit) for cond, bit in c.half_flags]
    elif src.bits > dst.bits:
        r, hostflags = rounded_with_flags(
            c, dst, lambda: iv(c, dst, convert(c, "fptrunc", fv(c, src, v),
                                               like(v.type, dst.fty))))
        fpsr_or(c, hostflags)
    else:
        r = iv(c, dst, b.fpext(fv(c, src, v), like(v.type, dst.fty)))
    nan = _nan_convert(c, src, dst, v)
    nan = b.select(fpcr_bit(c, FPCR_DN), K(nan.type, dst.dnan), nan)
    fpsr_raise(c, [(issnan, IOC)] + flags)
    return b.select(isnan, nan, r)


def fcvt(c, src, dst, x):
    """FPConvert between formats (narrowing rounds in FPCR.RMode; ARM NaN
    rules; flags as ARM); x is integer bits, scalar or vector.  S <-> D of
    a non-NaN with FZ clear (and RMode 0 when narrowing) is the host
    conversion (host flags: PE/OE/UE); everything else is out of line."""
    b = c.b
    rty = like(x.type, dst.ity)
    name = f"emu_fp_fcvt_{tsuf(x.type)}_{tsuf(rty)}"

    def slow():
        return out_of_line(c, name, rty, [x], lambda e, v: _fcvt_full(e, src, dst, v))
    if 16 in (src.bits, dst.bits):
        return slow()
    def conv(f, ty):
        return convert(c, "fptrunc", f, ty) if src.bits > dst.bits else b.fpext(f, ty)
    mask = FPCR_FZ | (RMODE_MASK if src.bits > dst.bits else 0)

    def need(fast):
        need = any_true(c, is_nan(c, src, x))
        if src.bits > dst.bits:
            need = b.or_(need, any_true(c, is_minnorm(c, dst, fast)))
        return need
    return guarded(c, fpcr_bit(c, mask),
                   lambda: iv(c, dst, conv(fv(c, src, x), like(x.type, dst.fty))), need, slow)


def _round_odd(c, x):
    """FCVTXN core: double bits x (not flushed) -> single bits, round to
    odd (the host conversion, then the odd adjustment); NaN rules applied."""
    b = c.b
    src, dst = FMT[64], FMT[32]
    isnan, issnan, _ = process_nan1(c, src, x)
    f = fv(c, src, x)
    r = convert(c, "fptrunc", f, like(x.type, dst.fty))
    back = b.fpext(r, f.type)
    rb = iv(c, dst, r)
    exact = b.fcmp_ordered("==", back, f)
    away = b.fcmp_ordered(">", ucall(c, "fabs", back), ucall(c, "fabs", f))
    trunc = b.select(away, b.sub(rb, K(rb.type, 1)), rb)
    r = b.select(exact, rb, b.or_(trunc, K(rb.type, 1)))
    nan = _nan_convert(c, src, dst, x)
    nan = b.select(fpcr_bit(c, FPCR_DN), K(nan.type, dst.dnan), nan)
    fpsr_raise(c, [(issnan, IOC)])
    return b.select(isnan, nan, r), exact


def fcvt_round_odd(c, x):
    """FCVTXN: double -> single with round-to-odd (scalar or vector bits).
    FZ clear and |x| in [2**-126, MaxFloat] (or 0): inline, IXC from the host
    conversion.  Otherwise out of line, flags explicit (the host's are discarded): IDC for a flushed
    input, a result tiny before rounding flushed with UFC (no IXC), IXC
    when inexact, OFC when |x| >= 2**128."""
    src, dst = FMT[64], FMT[32]

    def body(e, v):
        eb = e.b
        slot = _helper_slot(e)
        m0 = read_mxcsr(eb, e.module, slot)
        idc = input_denormal(e, src, [v])
        v = flush(e, src, v)
        r, exact = _round_odd(e, v)
        write_mxcsr(eb, e.module, slot, m0)
        a = abs_bits(e, src, v)
        tiny = eb.and_(eb.icmp_unsigned("<", a, K(v.type, 0x3810000000000000)),   # 2**-126
                       eb.icmp_unsigned("!=", a, K(v.type, 0)))
        finite = eb.icmp_unsigned("<", a, K(v.type, src.inf))
        big = eb.and_(finite, eb.icmp_unsigned(">=", a, K(v.type, 0x47F0000000000000)))  # 2**128
        fz = fpcr_bit(e, FPCR_FZ)
        vfz = eb.select(fz, K(like(v.type, I1), 1), K(like(v.type, I1), 0)) \
            if isinstance(v.type, ir.VectorType) else fz
        flushed = eb.and_(tiny, vfz)
        inexact = eb.and_(eb.not_(exact), finite)
        fpsr_raise(e, [(idc, IDC), (eb.and_(tiny, eb.or_(vfz, inexact)), UFC),
                       (eb.and_(inexact, eb.not_(flushed)), IXC), (big, OFC)])
        return eb.select(flushed, eb.and_(r, K(r.type, dst.sign)), r)
    rty = like(x.type, dst.ity)
    name = f"emu_fp_fcvtxn_{tsuf(x.type)}"
    # The host's nearest-even conversion gets OFC/UFC wrong for round to odd at two
    # edges: |x| in (MaxFloat, 2**128) (it overflows; round to odd gives MaxFloat, IXC
    # only) and tiny x that nearest-even rounds up to MinNormal (no UFC).  Inputs above
    # MaxFloat (inf and NaN too) or below 2**-126 take the exact helper, decided before
    # the host conversion runs.
    b = c.b
    a = abs_bits(c, src, x)
    odd_edge = b.or_(b.icmp_unsigned("<", b.sub(a, K(a.type, 1)), K(a.type, 0x3810000000000000 - 1)),
                     b.icmp_unsigned(">", a, K(a.type, 0x47EFFFFFE0000000)))     # MaxFloat
    pre = b.or_(fpcr_bit(c, FPCR_FZ), any_true(c, odd_edge))
    return guarded(c, pre, lambda: _round_odd(c, x)[0], lambda fast: None,
                   lambda: out_of_line(c, name, rty, [x], body))


def vfp_expand_imm(imm8, bits):
    """VFPExpandImm: the 8-bit FP immediate as `bits`-wide bit pattern."""
    fmt = FMT[bits]
    e = fmt.ebits
    sign = imm8 >> 7
    b6 = (imm8 >> 6) & 1
    exp = ((b6 ^ 1) << (e - 1)) | ((((1 << (e - 3)) - 1) if b6 else 0) << 2) | ((imm8 >> 4) & 3)
    frac = (imm8 & 0xF) << (fmt.mbits - 4)
    return (sign << (bits - 1)) | (exp << fmt.mbits) | frac


# -- decode helpers ---------------------------------------------------------

def _fmt(c, t):
    bits = TYPE_BITS.get(t)
    if bits is None:
        c.undefined()
    return FMT[bits]


def _register(name, bits, lift, doc):
    lift.__name__ = lift.__qualname__ = name
    lift.__doc__ = doc
    pattern(name, bits)(lift)


# -- FP data-processing (2 source) ------------------------------------------

def _fnmul(c, fmt, x, y):
    return neg_bits(c, fmt, fmul(c, fmt, x, y))


DP2 = [   # (name, opcode, kernel): 0001 1110 type 1 Rm opcode 10 Rn Rd
    ("FMUL", 0b0000, fmul), ("FDIV", 0b0001, fdiv), ("FADD", 0b0010, fadd),
    ("FSUB", 0b0011, fsub), ("FMAX", 0b0100, fmax), ("FMIN", 0b0101, fmin),
    ("FMAXNM", 0b0110, fmaxnm), ("FMINNM", 0b0111, fminnm), ("FNMUL", 0b1000, _fnmul),
]


def _dp2_lift(kern):
    def lift(c, t, m, n, d):
        fmt = _fmt(c, t)
        set_vlo(c, d, kern(c, fmt, vlo(c, n, fmt.bits), vlo(c, m, fmt.bits)))
    return lift


for _name, _opc, _k in DP2:
    _register(_name, f"00011110tt1mmmmm{_opc:04b}10nnnnnddddd", _dp2_lift(_k),
              f"{_name} (scalar).")


# -- FP data-processing (1 source) ------------------------------------------

def _fmov_reg(c, fmt, x):
    return x


def _frint_k(mode, exact=False):
    def k(c, fmt, x):
        return frint(c, fmt, x, mode, exact)
    return k


def _frint_n_k(mode, n):
    def k(c, fmt, x):
        return frint_n(c, fmt, x, mode, n)
    return k


DP1 = [   # (name, opcode, kernel): 0001 1110 type 1 opcode(6) 10000 Rn Rd
    ("FMOV_reg", 0b000000, _fmov_reg), ("FABS", 0b000001, abs_bits),
    ("FNEG", 0b000010, neg_bits), ("FSQRT", 0b000011, fsqrt),
    ("FRINTN", 0b001000, _frint_k(RN)), ("FRINTP", 0b001001, _frint_k(RP)),
    ("FRINTM", 0b001010, _frint_k(RM)), ("FRINTZ", 0b001011, _frint_k(RZ)),
    ("FRINTA", 0b001100, _frint_k(RA)), ("FRINTX", 0b001110, _frint_k(None, True)),
    ("FRINTI", 0b001111, _frint_k(None)),
    ("FRINT32Z", 0b010000, _frint_n_k(RZ, 32)), ("FRINT32X", 0b010001, _frint_n_k(None, 32)),
    ("FRINT64Z", 0b010010, _frint_n_k(RZ, 64)), ("FRINT64X", 0b010011, _frint_n_k(None, 64)),
]


def _dp1_lift(kern):
    def lift(c, t, n, d):
        fmt = _fmt(c, t)
        set_vlo(c, d, kern(c, fmt, vlo(c, n, fmt.bits)))
    return lift


for _name, _opc, _k in DP1:
    _register(_name, f"00011110tt1{_opc:06b}10000nnnnnddddd", _dp1_lift(_k),
              f"{_name} (scalar).")

_CVT_TYPE = {0: 32, 1: 64, 3: 16}


@pattern("FCVT", "00011110tt10001oo10000nnnnnddddd")
def FCVT(c, t, o, n, d):
    """FCVT between half, single and double (o = destination type)."""
    if t not in _CVT_TYPE or o not in _CVT_TYPE or o == t:
        c.undefined()
    src, dst = FMT[_CVT_TYPE[t]], FMT[_CVT_TYPE[o]]
    set_vlo(c, d, fcvt(c, src, dst, vlo(c, n, src.bits)))


# -- FP data-processing (3 source) ------------------------------------------

DP3 = [("FMADD", 0, 0), ("FMSUB", 0, 1), ("FNMADD", 1, 0), ("FNMSUB", 1, 1)]   # (o1, o0)


def _dp3_lift(o1, o0):
    def lift(c, t, m, a, n, d):
        fmt = _fmt(c, t)
        x, y, acc = vlo(c, n, fmt.bits), vlo(c, m, fmt.bits), vlo(c, a, fmt.bits)
        if o1 != o0:                        # FMSUB, FNMADD: -(n*m)
            x = neg_bits(c, fmt, x)
        if o1:                              # FNMADD, FNMSUB: -a
            acc = neg_bits(c, fmt, acc)
        set_vlo(c, d, fmuladd(c, fmt, acc, x, y))
    return lift


for _name, _o1, _o0 in DP3:
    _register(_name, f"00011111tt{_o1}mmmmm{_o0}aaaaannnnnddddd", _dp3_lift(_o1, _o0),
              f"{_name} (fused).")


# -- FP compare / conditional compare / conditional select -------------------

@pattern("FCMP", "00011110tt1mmmmm001000nnnnn0z000")
@pattern("FCMPE", "00011110tt1mmmmm001000nnnnn1z000")
def FCMP(c, t, m, n, z):
    """FCMP/FCMPE (register or #0.0) -> NZCV."""
    fmt = _fmt(c, t)
    x = vlo(c, n, fmt.bits)
    y = const(fmt.ity, 0) if z else vlo(c, m, fmt.bits)
    c.set_nzcv(*fcompare(c, fmt, x, y, (c.word >> 4) & 1))


@pattern("FCCMP", "00011110tt1mmmmmqqqq01nnnnn0ffff")
@pattern("FCCMPE", "00011110tt1mmmmmqqqq01nnnnn1ffff")
def FCCMP(c, t, m, q, n, f):
    """FCCMP/FCCMPE: compare if cond holds, else NZCV = #imm."""
    fmt = _fmt(c, t)
    b = c.b
    cond = c.cond(q)
    flags = fcompare(c, fmt, vlo(c, n, fmt.bits), vlo(c, m, fmt.bits), (c.word >> 4) & 1, cond)
    c.set_nzcv(*(b.select(cond, v, const(I1, (f >> (3 - i)) & 1)) for i, v in enumerate(flags)))


@pattern("FCSEL", "00011110tt1mmmmmqqqq11nnnnnddddd")
def FCSEL(c, t, m, q, n, d):
    """FCSEL Vd = cond ? Vn : Vm (scalar)."""
    fmt = _fmt(c, t)
    r = c.b.select(c.cond(q), vlo(c, n, fmt.bits), vlo(c, m, fmt.bits))
    set_vlo(c, d, r)


# -- FP immediate ------------------------------------------------------------

@pattern("FMOV_imm", "00011110tt1iiiiiiii10000000ddddd")
def FMOV_imm(c, t, i, d):
    """FMOV Vd, #imm (scalar)."""
    fmt = _fmt(c, t)
    set_vlo(c, d, const(fmt.ity, vfp_expand_imm(i, fmt.bits)))


# -- conversions between FP and general registers ------------------------------

TO_INT = [   # (name, rmode, opcode, rounding): sf 0 0 11110 type 1 rmode opcode 000000 Rn Rd
    ("FCVTNS_gp", 0, 0b000, RN), ("FCVTNU_gp", 0, 0b001, RN),
    ("FCVTAS_gp", 0, 0b100, RA), ("FCVTAU_gp", 0, 0b101, RA),
    ("FCVTPS_gp", 1, 0b000, RP), ("FCVTPU_gp", 1, 0b001, RP),
    ("FCVTMS_gp", 2, 0b000, RM), ("FCVTMU_gp", 2, 0b001, RM),
    ("FCVTZS_gp", 3, 0b000, RZ), ("FCVTZU_gp", 3, 0b001, RZ),
]


def _to_int_lift(unsigned, mode):
    def lift(c, z, t, n, d):
        fmt = _fmt(c, t)
        c.set_x(d, fp_to_int(c, fmt, vlo(c, n, fmt.bits), INT[64 if z else 32], unsigned, mode))
    return lift


for _name, _r, _opc, _mode in TO_INT:
    _register(_name, f"z0011110tt1{_r:02b}{_opc:03b}000000nnnnnddddd",
              _to_int_lift(_opc & 1, _mode), f"{_name[:-3]} Wd/Xd, <Vn> (FP to integer).")


@pattern("SCVTF_gp", "z0011110tt100010000000nnnnnddddd")
@pattern("UCVTF_gp", "z0011110tt100011000000nnnnnddddd")
def CVTF_gp(c, z, t, n, d):
    """SCVTF/UCVTF <Vd>, Wn/Xn (integer to FP)."""
    fmt = _fmt(c, t)
    set_vlo(c, d, int_to_fp(c, fmt, c.x(n, 64 if z else 32), (c.word >> 16) & 1))


@pattern("FMOV_gp", "z0011110tt1rr11o000000nnnnnddddd")
def FMOV_gp(c, z, t, r, o, n, d):
    """FMOV between general and FP registers (Wd<->Sn, Xd<->Dn, Xd<->Vn.D[1])."""
    b = c.b
    if (z, t, r) == (0, 0, 0):
        bits, top = 32, False
    elif (z, t, r) == (1, 1, 0):
        bits, top = 64, False
    elif (z, t, r) == (1, 2, 1):
        bits, top = 64, True
    else:
        c.undefined()                 # incl. the H forms (FEAT_FP16)
    if o == 0:                        # to general
        v = c.v(n)
        if top:
            v = b.lshr(v, const(I128, 64))
        c.set_x(d, b.trunc(v, INT[bits]))
    elif top:                         # to Vd.D[1], keeping D[0]
        old = b.and_(c.v(d), const(I128, (1 << 64) - 1))
        c.set_v(d, b.or_(old, b.shl(b.zext(c.x(n), I128), const(I128, 64))))
    else:
        set_vlo(c, d, c.x(n, bits))


# -- conversions between FP and fixed point -------------------------------------

def _fbits(c, z, s):
    if not z and s < 32:
        c.undefined()
    return 64 - s


@pattern("SCVTF_fixed_gp", "z0011110tt000010ssssssnnnnnddddd")
@pattern("UCVTF_fixed_gp", "z0011110tt000011ssssssnnnnnddddd")
def CVTF_fixed_gp(c, z, t, s, n, d):
    """SCVTF/UCVTF <Vd>, Wn/Xn, #fbits."""
    fmt = _fmt(c, t)
    fb = _fbits(c, z, s)
    set_vlo(c, d, int_to_fp(c, fmt, c.x(n, 64 if z else 32), (c.word >> 16) & 1, fb))


@pattern("FCVTZS_fixed_gp", "z0011110tt011000ssssssnnnnnddddd")
@pattern("FCVTZU_fixed_gp", "z0011110tt011001ssssssnnnnnddddd")
def FCVTZ_fixed_gp(c, z, t, s, n, d):
    """FCVTZS/FCVTZU Wd/Xd, <Vn>, #fbits."""
    fmt = _fmt(c, t)
    fb = _fbits(c, z, s)
    c.set_x(d, fp_to_int(c, fmt, vlo(c, n, fmt.bits), INT[64 if z else 32],
                         (c.word >> 16) & 1, RZ, fb))


@pattern("FJCVTZS", "0001111001111110000000nnnnnddddd")
def FJCVTZS(c, n, d):
    """FJCVTZS Wd, Dn (FEAT_JSCVT): JavaScript ToInt32 -- truncate, keep the
    low 32 bits of the integer (any magnitude); NaN/inf give 0.  NZCV =
    0:Z:00 with Z = exact, in int32 range and not -0.0, and not a denormal
    (ARM's FPToFixedJS: a positive denormal flushed to +0.0 by FZ is exact but
    still gives Z = 0, as op<51:0> is not zero).  IOC on NaN or out of range,
    else IXC when inexact; IDC for an input flushed by FZ."""
    b = c.b
    fmt = FMT[64]
    x = vlo(c, n, 64)
    idc = input_denormal(c, fmt, [x])
    denormal = b.and_(b.icmp_unsigned("==", b.and_(x, const(I64, 0x7FF << 52)), const(I64, 0)),
                      b.icmp_unsigned("!=", b.and_(x, const(I64, (1 << 52) - 1)), const(I64, 0)))
    x = flush(c, fmt, x)
    k = lambda v: const(I64, v)         # noqa: E731
    sign = b.icmp_signed("<", x, k(0))
    exp = b.and_(b.lshr(x, k(52)), k(0x7FF))
    frac = b.and_(x, k((1 << 52) - 1))
    mant = b.select(b.icmp_unsigned("==", exp, k(0)), frac, b.or_(frac, k(1 << 52)))
    sh = b.sub(exp, k(1075))                          # value = mant * 2**sh
    left = b.icmp_signed(">=", sh, k(0))
    lsh = ucall(c, "umin", sh, k(63))
    rsh = ucall(c, "umin", b.sub(k(0), sh), k(63))
    up = b.select(b.icmp_signed(">", sh, k(63)), k(0), b.shl(mant, lsh))
    down = b.select(b.icmp_signed("<", sh, k(-63)), k(0), b.lshr(mant, rsh))
    mag = b.select(left, up, down)
    special = b.icmp_unsigned("==", exp, k(0x7FF))   # inf or NaN
    mag = b.select(special, k(0), mag)
    val = b.select(sign, b.sub(k(0), mag), mag)
    lost = b.select(left, k(0), b.sub(mant, b.shl(down, rsh)))
    lost = b.select(b.icmp_signed("<", sh, k(-63)), mant, lost)
    exact = b.icmp_unsigned("==", lost, k(0))
    # int_result in [-2**31, 2**31 - 1]: exponent small enough and checked
    big = b.icmp_unsigned(">=", exp, k(1023 + 32))
    in_range = b.and_(b.not_(big), b.and_(b.icmp_signed(">=", val, k(-(1 << 31))),
                                          b.icmp_signed("<=", val, k((1 << 31) - 1))))
    in_range = b.and_(in_range, b.not_(special))
    negzero = b.icmp_unsigned("==", x, k(1 << 63))
    z = b.and_(b.and_(exact, in_range), b.not_(b.or_(negzero, denormal)))
    fpsr_raise(c, [(b.not_(in_range), IOC), (b.and_(in_range, b.not_(exact)), IXC), (idc, IDC)])
    c.set_x(d, b.and_(val, k(0xFFFFFFFF)))
    c.set_nzcv(const(I1, 0), z, const(I1, 0), const(I1, 0))
