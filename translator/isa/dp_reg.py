"""Data processing (register): ADD/SUB(S) shifted and extended register,
ADC/ADCS/SBC/SBCS, logical shifted register (AND/BIC/ORR/ORN/EOR/EON/ANDS/
BICS), CCMN/CCMP (register and immediate), CSEL/CSINC/CSINV/CSNEG, 1 source
(RBIT, REV16, REV32, REV, CLZ, CLS), 2 source (UDIV/SDIV, LSLV/LSRV/ASRV/
RORV, CRC32*/CRC32C*), 3 source (MADD/MSUB, S/UMADDL, S/UMSUBL, S/UMULH).

Division follows ARM, not LLVM: x/0 = 0 and INT_MIN/-1 = INT_MIN with no
trap; the LLVM divide only ever sees a safe divisor.  CRC32 is a bitwise
reflected CRC unrolled in IR (no table, no helper call).  FlagM (RMIF,
SETF8/16), MTE, PAC and CSSC encodings of these groups are left undefined.
"""

from ..lifter import I1, I32, I64, I128, INT, const
from ..patterns import pattern
from .fp import intrinsic
from .common import add_with_carry, set_nz_logic, shift_reg, extend_reg


def _shifted(c, m, w, h, i):
    """Rm (ZR for 31) shifted by the constant amount of a shifted-register form."""
    return shift_reg(c, c.x(m, w), h, i)


# -- add/subtract -----------------------------------------------------------

@pattern("ADD_sreg", "zos01011hh0mmmmmiiiiiinnnnnddddd")
def ADD_sreg(c, z, o, s, h, m, i, n, d):
    """ADD/ADDS/SUB/SUBS (shifted register): LSL/LSR/ASR, shift 3 reserved."""
    w = 64 if z else 32
    if h == 3 or (not z and i >= 32):
        c.undefined()
    x = c.x(n, w)
    y = _shifted(c, m, w, h, i)
    if o:
        r = add_with_carry(c, x, c.b.not_(y), const(I1, 1), s)
    else:
        r = add_with_carry(c, x, y, const(I1, 0), s)
    c.set_x(d, r)


@pattern("ADD_ereg", "zos01011001mmmmmpppiiinnnnnddddd")
def ADD_ereg(c, z, o, s, m, p, i, n, d):
    """ADD/ADDS/SUB/SUBS (extended register): UXTB..SXTX, LSL 0-4; Rn (and Rd unless S) may be SP."""
    w = 64 if z else 32
    if i > 4:
        c.undefined()
    x = c.x(n, w, sp=True)
    y = extend_reg(c, c.x(m), p, i, w)
    if o:
        r = add_with_carry(c, x, c.b.not_(y), const(I1, 1), s)
    else:
        r = add_with_carry(c, x, y, const(I1, 0), s)
    c.set_x(d, r, sp=not s)


@pattern("ADC", "zos11010000mmmmm000000nnnnnddddd")
def ADC(c, z, o, s, m, n, d):
    """ADC/ADCS/SBC/SBCS: Rn + Rm (or NOT Rm) + C."""
    w = 64 if z else 32
    x = c.x(n, w)
    y = c.x(m, w)
    if o:
        y = c.b.not_(y)
    c.set_x(d, add_with_carry(c, x, y, c.flag("c"), s))


# -- logical ----------------------------------------------------------------

@pattern("LOG_sreg", "zoo01010hhNmmmmmiiiiiinnnnnddddd")
def LOG_sreg(c, z, o, h, N, m, i, n, d):
    """AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register, LSL/LSR/ASR/ROR)."""
    w = 64 if z else 32
    if not z and i >= 32:
        c.undefined()
    b = c.b
    x = c.x(n, w)
    y = _shifted(c, m, w, h, i)
    if N:
        y = b.not_(y)
    r = (b.and_, b.or_, b.xor, b.and_)[o](x, y)
    if o == 3:
        set_nz_logic(c, r)
    c.set_x(d, r)


# -- conditional compare / select --------------------------------------------

@pattern("CCMP", "zo111010010mmmmmqqqqI0nnnnn0ffff")
def CCMP(c, z, o, m, q, I, n, f):
    """CCMN/CCMP (register or 5-bit immediate): flags of Rn +/- op2 if cond, else #nzcv."""
    w = 64 if z else 32
    b = c.b
    ty = INT[w]
    holds = c.cond(q)
    x = c.x(n, w)
    y = const(ty, m) if I else c.x(m, w)
    if o:
        add_with_carry(c, x, b.not_(y), const(I1, 1), True)
    else:
        add_with_carry(c, x, y, const(I1, 0), True)
    flags = c.nzcv()
    imm = [const(I1, (f >> k) & 1) for k in (3, 2, 1, 0)]
    c.set_nzcv(*(b.select(holds, fl, im) for fl, im in zip(flags, imm)))


@pattern("CSEL", "zo011010100mmmmmqqqq0pnnnnnddddd")
def CSEL(c, z, o, m, q, p, n, d):
    """CSEL/CSINC/CSINV/CSNEG (and CSET, CSETM, CINC, CINV, CNEG)."""
    w = 64 if z else 32
    b = c.b
    ty = INT[w]
    holds = c.cond(q)
    x = c.x(n, w)
    y = c.x(m, w)
    if o:
        y = b.not_(y)
    if p:
        y = b.add(y, const(ty, 1))
    c.set_x(d, b.select(holds, x, y))


# -- data processing, 1 source ----------------------------------------------

@pattern("DP1", "z101101011000000oooooonnnnnddddd")
def DP1(c, z, o, n, d):
    """RBIT, REV16, REV32, REV, CLZ, CLS."""
    w = 64 if z else 32
    if o > 5 or (o == 3 and not z):
        c.undefined()
    b = c.b
    ty = INT[w]
    x = c.x(n, w)
    name = f"i{w}"
    if o == 0:
        r = intrinsic(c, f"llvm.bitreverse.{name}", ty, [x])
    elif o == 1:
        lo = int("00FF" * (w // 16), 16)
        r = b.or_(b.and_(b.lshr(x, const(ty, 8)), const(ty, lo)),
                  b.and_(b.shl(x, const(ty, 8)), const(ty, lo << 8)))
    elif o in (2, 3):
        r = intrinsic(c, f"llvm.bswap.{name}", ty, [x])
        if o == 2 and z:            # REV32: byte-reverse each word
            r = b.or_(b.lshr(r, const(ty, 32)), b.shl(r, const(ty, 32)))
    else:
        if o == 4:
            r = intrinsic(c, f"llvm.ctlz.{name}", ty, [x, const(I1, 0)])
        else:
            y = b.xor(x, b.ashr(x, const(ty, 1)))
            r = b.sub(intrinsic(c, f"llvm.ctlz.{name}", ty, [y, const(I1, 0)]), const(ty, 1))
    c.set_x(d, r)


# -- data processing, 2 source ----------------------------------------------

CRC32_POLY = 0xEDB88320         # 0x04C11DB7 bit-reversed
CRC32C_POLY = 0x82F63B78        # 0x1EDC6F41 bit-reversed


def _crc_byte(b, st, poly):
    """Eight reflected CRC steps: st = (st >> 1) ^ (poly if st & 1)."""
    ty = st.type
    one, p = const(ty, 1), const(ty, poly)
    for _ in range(8):
        mask = b.sub(const(ty, 0), b.and_(st, one))
        st = b.xor(b.lshr(st, one), b.and_(mask, p))
    return st


def _crc(c, acc, val, size, poly):
    """Reflected CRC of the low `size` bits of val (i64) into acc (i32).

    Bit-serial like the ARM pseudocode's polynomial division; a wider state
    (acc XOR val, shifted right one bit per step) covers all `size` bits.
    More than one byte runs as a small IR loop of eight unrolled steps: the
    dependency chain is the same as a full unroll, at a fraction of the
    compile cost."""
    b = c.b
    sw = 64 if size == 64 else 32
    ty = INT[sw]
    v = val if sw == 64 else b.trunc(val, I32)
    if size < 32:
        v = b.and_(v, const(ty, (1 << size) - 1))
    st = b.xor(b.zext(acc, ty) if sw == 64 else acc, v)
    if size == 8:
        st = _crc_byte(b, st, poly)
    else:
        pre = b.block
        loop = c.new_block("crc")
        done = c.new_block("crcdone")
        b.branch(loop)
        b.position_at_end(loop)
        st_phi = b.phi(ty)
        k_phi = b.phi(I32)
        st_next = _crc_byte(b, st_phi, poly)
        k_next = b.add(k_phi, const(I32, 1))
        st_phi.add_incoming(st, pre)
        st_phi.add_incoming(st_next, loop)
        k_phi.add_incoming(const(I32, 0), pre)
        k_phi.add_incoming(k_next, loop)
        b.cbranch(b.icmp_unsigned("==", k_next, const(I32, size // 8)), done, loop)
        b.position_at_end(done)
        st = st_next
    return b.trunc(st, I32) if sw == 64 else st


@pattern("DP2", "z0011010110mmmmmoooooonnnnnddddd")
def DP2(c, z, o, m, n, d):
    """UDIV/SDIV, LSLV/LSRV/ASRV/RORV, CRC32B/H/W/X, CRC32CB/H/W/X."""
    w = 64 if z else 32
    b = c.b
    ty = INT[w]
    if o in (2, 3):
        x = c.x(n, w)
        y = c.x(m, w)
        zero = const(ty, 0)
        y_zero = b.icmp_unsigned("==", y, zero)
        if o == 2:
            safe = b.select(y_zero, const(ty, 1), y)
            q = b.udiv(x, safe)
        else:
            ovf = b.and_(b.icmp_unsigned("==", x, const(ty, 1 << (w - 1))),
                         b.icmp_unsigned("==", y, const(ty, -1)))
            safe = b.select(b.or_(y_zero, ovf), const(ty, 1), y)
            q = b.sdiv(x, safe)     # INT_MIN / 1 = INT_MIN, as ARM wants
        c.set_x(d, b.select(y_zero, zero, q))
    elif 8 <= o <= 11:
        x = c.x(n, w)
        a = b.and_(c.x(m, w), const(ty, w - 1))
        if o == 8:
            r = b.shl(x, a)
        elif o == 9:
            r = b.lshr(x, a)
        elif o == 10:
            r = b.ashr(x, a)
        else:
            r = intrinsic(c, f"llvm.fshr.i{w}", ty, [x, x, a])
        c.set_x(d, r)
    elif 16 <= o <= 23:
        size = 8 << (o & 3)
        if (size == 64) != bool(z):
            c.undefined()
        poly = CRC32C_POLY if o & 4 else CRC32_POLY
        c.set_x(d, _crc(c, c.x(n, 32), c.x(m), size, poly))
    else:
        c.undefined()


# -- data processing, 3 source ----------------------------------------------

@pattern("DP3", "z0011011pppmmmmmoaaaaannnnnddddd")
def DP3(c, z, p, m, o, a, n, d):
    """MADD/MSUB, SMADDL/SMSUBL, UMADDL/UMSUBL, SMULH, UMULH."""
    b = c.b
    if p == 0:
        w = 64 if z else 32
        prod = b.mul(c.x(n, w), c.x(m, w))
        acc = c.x(a, w)
        c.set_x(d, b.sub(acc, prod) if o else b.add(acc, prod))
        return
    if not z or p not in (1, 2, 5, 6) or (p in (2, 6) and o):
        c.undefined()
    ext = b.sext if p in (1, 2) else b.zext
    if p in (1, 5):
        prod = b.mul(ext(c.x(n, 32), I64), ext(c.x(m, 32), I64))
        acc = c.x(a)
        c.set_x(d, b.sub(acc, prod) if o else b.add(acc, prod))
    else:
        prod = b.mul(ext(c.x(n), I128), ext(c.x(m), I128))
        c.set_x(d, b.trunc(b.lshr(prod, const(I128, 64)), I64))
