"""Data processing (immediate): ADR/ADRP, ADD/SUB(S) immediate, logical
immediate (AND/ORR/EOR/ANDS), move wide (MOVN/MOVZ/MOVK), bitfield
(SBFM/BFM/UBFM and their aliases), EXTR."""
from ..lifter import I1, I64, INT, const
from ..patterns import pattern
from .common import add_with_carry, set_nz_logic, decode_bit_masks, sign_extend, ones


@pattern("ADR", "0ii10000jjjjjjjjjjjjjjjjjjjddddd")
def ADR(c, i, j, d):
    """ADR Xd, label."""
    c.set_x(d, const(I64, c.pc + sign_extend((j << 2) | i, 21)))


@pattern("ADRP", "1ii10000jjjjjjjjjjjjjjjjjjjddddd")
def ADRP(c, i, j, d):
    """ADRP Xd, label (4 KiB page)."""
    c.set_x(d, const(I64, (c.pc & ~0xFFF) + (sign_extend((j << 2) | i, 21) << 12)))


@pattern("ADD_imm", "zos100010hiiiiiiiiiiiinnnnnddddd")
def ADD_imm(c, z, o, s, h, i, n, d):
    """ADD/ADDS/SUB/SUBS (immediate), optional LSL #12."""
    w = 64 if z else 32
    imm = i << 12 if h else i
    x = c.x(n, w, sp=True)
    if o:
        r = add_with_carry(c, x, const(INT[w], ~imm), const(I1, 1), s)
    else:
        r = add_with_carry(c, x, const(INT[w], imm), const(I1, 0), s)
    c.set_x(d, r, sp=not s)


@pattern("LOG_imm", "zoo100100Nrrrrrrssssssnnnnnddddd")
def LOG_imm(c, z, o, N, r, s, n, d):
    """AND/ORR/EOR/ANDS (immediate)."""
    w = 64 if z else 32
    if not z and N:
        c.undefined()
    masks = decode_bit_masks(N, s, r, True, w)
    if masks is None:
        c.undefined()
    imm = const(INT[w], masks[0])
    x = c.x(n, w)
    b = c.b
    res = (b.and_, b.or_, b.xor, b.and_)[o](x, imm)
    if o == 3:
        set_nz_logic(c, res)
        c.set_x(d, res)
    else:
        c.set_x(d, res, sp=True)


@pattern("MOVW", "zoo100101hhiiiiiiiiiiiiiiiiddddd")
def MOVW(c, z, o, h, i, d):
    """MOVN/MOVZ/MOVK."""
    w = 64 if z else 32
    if o == 1 or (not z and h > 1):
        c.undefined()
    pos = h * 16
    if o == 3:
        old = c.x(d, w)
        keep = const(INT[w], ~(0xFFFF << pos))
        c.set_x(d, c.b.or_(c.b.and_(old, keep), const(INT[w], i << pos)))
    elif o == 2:
        c.set_x(d, const(INT[w], i << pos))
    else:
        c.set_x(d, const(INT[w], ~(i << pos)))


@pattern("BFM", "zoo100110Nrrrrrrssssssnnnnnddddd")
def BFM(c, z, o, N, r, s, n, d):
    """SBFM/BFM/UBFM (ASR, LSL, LSR, SXT*, UXT*, BFI, BFXIL, SBFX, UBFX ...)."""
    w = 64 if z else 32
    if N != z or o == 3 or (not z and (r >= 32 or s >= 32)):
        c.undefined()
    masks = decode_bit_masks(N, s, r, False, w)
    if masks is None:
        c.undefined()
    wmask, tmask = masks
    b = c.b
    ty = INT[w]
    src = c.x(n, w)
    # ROR(src, r)
    if r:
        rot = b.or_(b.lshr(src, const(ty, r)), b.shl(src, const(ty, w - r)))
    else:
        rot = src
    bot = b.and_(rot, const(ty, wmask))
    if o == 1:          # BFM: merge into dst
        dst = c.x(d, w)
        bot = b.or_(b.and_(dst, const(ty, ~wmask)), bot)
    if o == 0:          # SBFM: replicate bit s
        sbit = b.trunc(b.lshr(src, const(ty, s)), I1)
        top = b.select(sbit, const(ty, ones(w)), const(ty, 0))
    else:
        top = c.x(d, w) if o == 1 else const(ty, 0)
    res = b.or_(b.and_(top, const(ty, ~tmask)), b.and_(bot, const(ty, tmask)))
    c.set_x(d, res)


@pattern("EXTR", "z00100111N0mmmmmssssssnnnnnddddd")
def EXTR(c, z, N, m, s, n, d):
    """EXTR (and ROR immediate)."""
    w = 64 if z else 32
    if N != z or (not z and s >= 32):
        c.undefined()
    ty = INT[w]
    b = c.b
    lo = c.x(m, w)
    if s == 0:
        c.set_x(d, lo)
        return
    hi = c.x(n, w)
    c.set_x(d, b.or_(b.lshr(lo, const(ty, s)), b.shl(hi, const(ty, w - s))))
