"""ARM pseudocode helpers shared by the semantics modules.

Owns: AddWithCarry with NZCV, ShiftReg, ExtendReg, DecodeBitMasks, width
helpers.  Each takes the lift context `c` and returns llvmlite values.
"""
from ..lifter import I1, I8, I16, I32, I64, I128, INT, const


def width(sf):
    return 64 if sf else 32


def reg(c, n, w, sp=False):
    return c.x(n, w, sp=sp)


def add_with_carry(c, x, y, carry_in, set_flags):
    """x + y + carry (iN values, carry i1); returns result, sets NZCV if asked."""
    b = c.b
    ty = x.type
    w = ty.width
    cin = b.zext(carry_in, ty) if carry_in.type == I1 else carry_in
    r = b.add(b.add(x, y), cin)
    if set_flags:
        n = b.icmp_signed("<", r, const(ty, 0))
        z = b.icmp_unsigned("==", r, const(ty, 0))
        # carry: unsigned overflow of x + y + cin (no i128 for 64-bit values:
        # LLVM's fast instruction selector, used at tier 1, rejects i128)
        wide = INT[w * 2] if w <= 32 else None
        if wide is not None:
            ux = b.zext(x, wide)
            uy = b.zext(y, wide)
            us = b.add(b.add(ux, uy), b.zext(cin, wide))
            cf = b.icmp_unsigned("!=", b.lshr(us, const(wide, w)), const(wide, 0))
        else:
            s1 = b.add(x, y)
            c1 = b.icmp_unsigned("<", s1, x)
            c2 = b.icmp_unsigned("<", r, s1)
            cf = b.or_(c1, c2)
        # overflow: sign of x == sign of y and sign of r != sign of x
        vx = b.xor(x, r)
        vy = b.xor(y, r)
        vf = b.icmp_signed("<", b.and_(vx, vy), const(ty, 0))
        c.set_nzcv(n, z, cf, vf)
    return r


def set_nz_logic(c, r):
    """Flags of a logical op: N, Z from result, C = V = 0."""
    b = c.b
    c.set_nzcv(b.icmp_signed("<", r, const(r.type, 0)),
               b.icmp_unsigned("==", r, const(r.type, 0)),
               const(I1, 0), const(I1, 0))


def shift_reg(c, v, shift_type, amount):
    """LSL/LSR/ASR/ROR by a constant amount."""
    b = c.b
    ty = v.type
    w = ty.width
    amount %= w
    if amount == 0:
        return v
    a = const(ty, amount)
    if shift_type == 0:
        return b.shl(v, a)
    if shift_type == 1:
        return b.lshr(v, a)
    if shift_type == 2:
        return b.ashr(v, a)
    return b.or_(b.lshr(v, a), b.shl(v, const(ty, w - amount)))


def extend_reg(c, v64, option, shift, w):
    """ExtendReg: UXTB/UXTH/UXTW/UXTX/SXTB/SXTH/SXTW/SXTX then LSL shift, width w."""
    b = c.b
    size = 8 << (option & 3)
    unsigned = not (option & 4)
    ty = INT[w]
    part = b.trunc(v64, INT[size]) if size < 64 else v64
    if size >= w:
        val = b.trunc(part, ty) if part.type.width > w else part
    else:
        val = b.zext(part, ty) if unsigned else b.sext(part, ty)
    if shift:
        val = b.shl(val, const(ty, shift))
    return val


def ones(n):
    return (1 << n) - 1


def ror(v, amount, esize):
    amount %= esize
    return ((v >> amount) | (v << (esize - amount))) & ones(esize)


def decode_bit_masks(immN, imms, immr, immediate, datasize):
    """ARM DecodeBitMasks -> (wmask, tmask) or None if reserved."""
    combined = (immN << 6) | (~imms & 0x3F)
    length = combined.bit_length() - 1
    if length < 1:
        return None
    levels = ones(length)
    if immediate and (imms & levels) == levels:
        return None
    s = imms & levels
    r = immr & levels
    diff = (s - r) & ones(6)
    esize = 1 << length
    d = diff & levels
    welem = ones(s + 1)
    telem = ones(d + 1)
    wmask = ror(welem, r, esize)
    tmask = telem
    wm = tm = 0
    for i in range(0, datasize, esize):
        wm |= wmask << i
        tm |= tmask << i
    if esize > datasize:
        wm &= ones(datasize)
        tm &= ones(datasize)
    return wm, tm


def sign_extend(v, bits):
    v &= ones(bits)
    return v - (1 << bits) if v >> (bits - 1) else v
