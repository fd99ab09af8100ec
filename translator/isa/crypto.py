"""Cryptographic extension (ARM ARM C4.1.95 "Cryptographic AES", "two-register
SHA", "three-register SHA", and PMULL/PMULL2 .1Q of "three different"):
AESE/AESD/AESMC/AESIMC (FEAT_AES), PMULL{2} Vd.1Q (FEAT_PMULL),
SHA1C/SHA1P/SHA1M/SHA1H/SHA1SU0/SHA1SU1 (FEAT_SHA1), SHA256H/SHA256H2/
SHA256SU0/SHA256SU1 (FEAT_SHA256), SHA512H/SHA512H2/SHA512SU0/SHA512SU1
(FEAT_SHA512), EOR3/RAX1/XAR/BCAX (FEAT_SHA3).  The HWCAP bits AES, PMULL,
SHA1, SHA2, SHA512, SHA3 (kernel/cpuinfo.py) and ID_AA64ISAR0_EL1.{AES=2,
SHA1=1, SHA2=2, SHA3=1} (system.py) advertise exactly these.

Everything is LLVM IR in the region, no call out of compiled code:
- AES: the portable form is the FIPS-197 round pieces written in IR:
  ShiftRows as a byte shuffle, SubBytes as 16 loads from a module-internal
  constant S-box (`emu_aes_sbox` / `emu_aes_inv_sbox`), MixColumns with
  xtime on <16 x i8>.  When the host has AES-NI (llvm host features
  "+aes"; the target machine uses the host CPU and the code cache is keyed
  by it) the x86 instructions are used instead:
  AESE = aesenclast(d ^ n, 0), AESD = aesdeclast(d ^ n, 0),
  AESMC = aesenc(aesdeclast(x, 0), 0), AESIMC = aesimc.
- PMULL.1Q: pclmulqdq when the host has "+pclmul", else an unrolled
  64-step shift/xor carry-less multiply on i128.
- SHA-1 / SHA-256 / SHA-512: the ARM pseudocode (SHAchoose/parity/
  majority, hashSIGMA, the 160/256-bit ROL of <Y, X>) in plain i32/i64
  arithmetic; the SHA-3 helpers are vector xor/and/rotates.
Module flags HOST_AES / HOST_PCLMUL pick the form at lift time (tests force
the portable form to check it too).

Not lifted (SIGILL; their HWCAP bits stay clear): SM3, SM4.
"""
import llvmlite.binding as llvm
from .. import irtext as ir

from ..lifter import I8, I32, I64, I128, const
from ..patterns import pattern
from .fp import intrinsic

_features = llvm.get_host_cpu_features()
HOST_AES = bool(_features.get("aes"))
HOST_PCLMUL = bool(_features.get("pclmul"))

V16x8 = ir.VectorType(I8, 16)
V2x64 = ir.VectorType(I64, 2)
V4x32 = ir.VectorType(I32, 4)


def _sbox():
    """The AES S-box computed from its definition (GF(2^8) inverse, then
    the affine map), and its inverse."""
    def mul(a, b):
        r = 0
        while b:
            if b & 1:
                r ^= a
            a = ((a << 1) ^ (0x11B if a & 0x80 else 0)) & 0x1FF
            b >>= 1
        return r
    # inverses through powers of the generator 3 (255 products, not 32,000 trials)
    exp, log = [0] * 255, [0] * 256
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x = mul(x, 3)
    inv = [0] + [exp[(255 - log[a]) % 255] for a in range(1, 256)]
    box = []
    for a in range(256):
        x = inv[a]
        s = x
        for k in range(1, 5):
            s ^= ((x << k) | (x >> (8 - k))) & 0xFF
        box.append(s ^ 0x63)
    ibox = [0] * 256
    for a, s in enumerate(box):
        ibox[s] = a
    return box, ibox


SBOX, INV_SBOX = _sbox()
assert SBOX[0] == 0x63 and SBOX[0x53] == 0xED and INV_SBOX[0x63] == 0

# ShiftRows on the column-major state (byte i = row i%4, column i//4).
SHIFT_ROWS = [(i % 4) + 4 * ((i // 4 + i % 4) % 4) for i in range(16)]
INV_SHIFT_ROWS = [(i % 4) + 4 * ((i // 4 - i % 4) % 4) for i in range(16)]


def _vec(c, r, ty):
    return c.b.bitcast(c.v(r), ty)


def _mask(idx):
    return ir.Constant(ir.VectorType(I32, len(idx)), [ir.Constant(I32, i) for i in idx])


def _shuffle(c, x, idx):
    return c.b.shuffle_vector(x, x, _mask(idx))


def _table(c, name, values):
    g = c.module.globals.get(name)
    if g is None:
        ty = ir.ArrayType(I8, 256)
        g = ir.GlobalVariable(c.module, ty, name)
        g.initializer = ir.Constant(ty, [ir.Constant(I8, v) for v in values])
        g.global_constant = True
        g.linkage = "internal"
    return g


def _sub_bytes(c, x, inverse):
    """SubBytes / InvSubBytes: a table load per byte."""
    b = c.b
    g = _table(c, "emu_aes_inv_sbox" if inverse else "emu_aes_sbox",
               INV_SBOX if inverse else SBOX)
    out = ir.Constant(V16x8, None)
    for i in range(16):
        idx = b.zext(b.extract_element(x, const(I32, i)), I64)
        p = b.gep(g, [const(I64, 0), idx], inbounds=True)
        out = b.insert_element(out, b.load(p, typ=I8), const(I32, i))
    return out


def _splat8(v):
    return ir.Constant(V16x8, [ir.Constant(I8, v)] * 16)


def _xtime(c, x):
    """Multiply every byte by x in GF(2^8)."""
    b = c.b
    hi = b.and_(b.ashr(x, _splat8(7)), _splat8(0x1B))
    return b.xor(b.shl(x, _splat8(1)), hi)


def _rot_col(k):
    """Byte i takes the byte k rows further down its column."""
    return [(i & ~3) | ((i + k) & 3) for i in range(16)]


def mix_columns(c, x):
    b = c.b
    r1, r2, r3 = (_shuffle(c, x, _rot_col(k)) for k in (1, 2, 3))
    return b.xor(b.xor(_xtime(c, b.xor(x, r1)), r1), b.xor(r2, r3))


def inv_mix_columns(c, x):
    """InvMixColumns = MixColumns after adding xtime^2 of the opposite rows."""
    b = c.b
    w = _xtime(c, _xtime(c, b.xor(x, _shuffle(c, x, _rot_col(2)))))
    return mix_columns(c, b.xor(x, w))


def _aesni(c, name, *args):
    return intrinsic(c, f"llvm.x86.aesni.{name}", V2x64, list(args))


ZERO2 = ir.Constant(V2x64, [ir.Constant(I64, 0)] * 2)


@pattern("AESE", "0100111000101000010010nnnnnddddd")
@pattern("AESD", "0100111000101000010110nnnnnddddd")
def AESE(c, n, d):
    """AESE/AESD Vd.16B, Vn.16B: (Inv)SubBytes((Inv)ShiftRows(Vd ^ Vn))."""
    b = c.b
    dec = (c.word >> 12) & 1
    if HOST_AES:
        x = b.xor(_vec(c, d, V2x64), _vec(c, n, V2x64))
        c.set_v(d, _aesni(c, "aesdeclast" if dec else "aesenclast", x, ZERO2))
        return
    x = b.xor(_vec(c, d, V16x8), _vec(c, n, V16x8))
    x = _shuffle(c, x, INV_SHIFT_ROWS if dec else SHIFT_ROWS)
    c.set_v(d, _sub_bytes(c, x, dec))


@pattern("AESMC", "0100111000101000011010nnnnnddddd")
@pattern("AESIMC", "0100111000101000011110nnnnnddddd")
def AESMC(c, n, d):
    """AESMC/AESIMC Vd.16B, Vn.16B: (Inv)MixColumns(Vn)."""
    inv = (c.word >> 12) & 1
    if HOST_AES:
        x = _vec(c, n, V2x64)
        if inv:
            r = _aesni(c, "aesimc", x)
        else:
            r = _aesni(c, "aesenc", _aesni(c, "aesdeclast", x, ZERO2), ZERO2)
        c.set_v(d, r)
        return
    x = _vec(c, n, V16x8)
    c.set_v(d, inv_mix_columns(c, x) if inv else mix_columns(c, x))


# -- PMULL .1Q -----------------------------------------------------------------

def clmul64(c, x, y):
    """Carry-less 64 x 64 -> 128 multiply of two i64 values (portable)."""
    b = c.b
    wx = b.zext(x, I128)
    r = const(I128, 0)
    for i in range(64):
        bit = b.trunc(b.lshr(y, const(I64, i)), ir.IntType(1))
        r = b.xor(r, b.select(bit, b.shl(wx, const(I128, i)), const(I128, 0)))
    return r


@pattern("PMULL_1q", "0Q001110111mmmmm111000nnnnnddddd")
def PMULL_1q(c, Q, m, n, d):
    """PMULL/PMULL2 Vd.1Q, Vn.1D/2D, Vm.1D/2D (64x64 carry-less)."""
    b = c.b
    if HOST_PCLMUL:
        x, y = _vec(c, n, V2x64), _vec(c, m, V2x64)
        imm = const(I8, 0x11 if Q else 0x00)
        c.set_v(d, intrinsic(c, "llvm.x86.pclmulqdq", V2x64, [x, y, imm]))
        return
    sh = const(I128, 64 * Q)
    x = b.trunc(b.lshr(c.v(n), sh), I64)
    y = b.trunc(b.lshr(c.v(m), sh), I64)
    c.set_v(d, clmul64(c, x, y))


# -- SHA-1 / SHA-256 -------------------------------------------------------------

def _lanes(c, r):
    v = _vec(c, r, V4x32)
    return [c.b.extract_element(v, const(I32, i)) for i in range(4)]


def _pack(c, lanes):
    v = ir.Constant(V4x32, None)
    for i, x in enumerate(lanes):
        v = c.b.insert_element(v, x, const(I32, i))
    return v


def _rol(c, x, k):
    b = c.b
    k %= 32
    if k == 0:
        return x
    return b.or_(b.shl(x, const(I32, k)), b.lshr(x, const(I32, 32 - k)))


def _ror(c, x, k):
    return _rol(c, x, 32 - k)


def _choose(c, x, y, z):
    b = c.b
    return b.xor(b.and_(b.xor(y, z), x), z)


def _parity(c, x, y, z):
    return c.b.xor(c.b.xor(x, y), z)


def _majority(c, x, y, z):
    b = c.b
    return b.or_(b.and_(x, y), b.and_(b.or_(x, y), z))


_SHA1_F = {0: _choose, 1: _parity, 2: _majority}


@pattern("SHA1C", "01011110000mmmmm000000nnnnnddddd")
@pattern("SHA1P", "01011110000mmmmm000100nnnnnddddd")
@pattern("SHA1M", "01011110000mmmmm001000nnnnnddddd")
def SHA1C(c, m, n, d):
    """SHA1C/SHA1P/SHA1M Qd, Sn, Vm.4S: four SHA-1 rounds."""
    b = c.b
    f = _SHA1_F[(c.word >> 12) & 7]
    x = _lanes(c, d)
    y = b.trunc(c.v(n), I32)
    w = _lanes(c, m)
    for e in range(4):
        t = f(c, x[1], x[2], x[3])
        y = b.add(b.add(b.add(y, _rol(c, x[0], 5)), t), w[e])
        x[1] = _rol(c, x[1], 30)
        # <Y, X> = ROL(Y:X, 32): X = X<95:0>:Y, Y = X<127:96>
        y, x = x[3], [y, x[0], x[1], x[2]]
    c.set_v(d, _pack(c, x))


@pattern("SHA1SU0", "01011110000mmmmm001100nnnnnddddd")
def SHA1SU0(c, m, n, d):
    """SHA1SU0 Vd.4S, Vn.4S, Vm.4S: message schedule update 0."""
    b = c.b
    op1, op2, op3 = c.v(d), c.v(n), c.v(m)
    r = b.or_(b.shl(op2, const(I128, 64)), b.lshr(op1, const(I128, 64)))
    c.set_v(d, b.xor(b.xor(r, op1), op3))


@pattern("SHA1H", "0101111000101000000010nnnnnddddd")
def SHA1H(c, n, d):
    """SHA1H Sd, Sn: ROL(Sn, 30)."""
    c.set_v(d, c.b.zext(_rol(c, c.b.trunc(c.v(n), I32), 30), I128))


@pattern("SHA1SU1", "0101111000101000000110nnnnnddddd")
def SHA1SU1(c, n, d):
    """SHA1SU1 Vd.4S, Vn.4S: message schedule update 1."""
    b = c.b
    t = b.xor(c.v(d), b.lshr(c.v(n), const(I128, 32)))
    tl = [b.trunc(b.lshr(t, const(I128, 32 * i)), I32) for i in range(4)]
    w = [_rol(c, tl[0], 1), _rol(c, tl[1], 1), _rol(c, tl[2], 1),
         b.xor(_rol(c, tl[3], 1), _rol(c, tl[0], 2))]
    c.set_v(d, _pack(c, w))


def _sigma0(c, x):
    b = c.b
    return b.xor(b.xor(_ror(c, x, 2), _ror(c, x, 13)), _ror(c, x, 22))


def _sigma1(c, x):
    b = c.b
    return b.xor(b.xor(_ror(c, x, 6), _ror(c, x, 11)), _ror(c, x, 25))


def sha256_hash(c, x, y, w, part1):
    """SHA256hash(X, Y, W, part1) on lists of four i32 lanes."""
    b = c.b
    x, y = list(x), list(y)
    for e in range(4):
        chs = _choose(c, y[0], y[1], y[2])
        maj = _majority(c, x[0], x[1], x[2])
        t = b.add(b.add(b.add(y[3], _sigma1(c, y[0])), chs), w[e])
        x[3] = b.add(t, x[3])
        y[3] = b.add(b.add(t, _sigma0(c, x[0])), maj)
        # <Y, X> = ROL(Y:X, 32): X = X<95:0>:Y<127:96>, Y = Y<95:0>:X<127:96>
        x, y = [y[3], x[0], x[1], x[2]], [x[3], y[0], y[1], y[2]]
    return x if part1 else y


@pattern("SHA256H", "01011110000mmmmm010000nnnnnddddd")
@pattern("SHA256H2", "01011110000mmmmm010100nnnnnddddd")
def SHA256H(c, m, n, d):
    """SHA256H Qd, Qn, Vm.4S / SHA256H2 Qd, Qn, Vm.4S: four SHA-256 rounds."""
    part2 = (c.word >> 12) & 1
    vd, vn, w = _lanes(c, d), _lanes(c, n), _lanes(c, m)
    if part2:
        r = sha256_hash(c, vn, vd, w, False)
    else:
        r = sha256_hash(c, vd, vn, w, True)
    c.set_v(d, _pack(c, r))


@pattern("SHA256SU0", "0101111000101000001010nnnnnddddd")
def SHA256SU0(c, n, d):
    """SHA256SU0 Vd.4S, Vn.4S: message schedule update 0."""
    b = c.b
    op1 = c.v(d)
    t = b.or_(b.shl(c.v(n), const(I128, 96)), b.lshr(op1, const(I128, 32)))
    o1 = _lanes(c, d)
    out = []
    for e in range(4):
        elt = b.trunc(b.lshr(t, const(I128, 32 * e)), I32)
        elt = b.xor(b.xor(_ror(c, elt, 7), _ror(c, elt, 18)), b.lshr(elt, const(I32, 3)))
        out.append(b.add(elt, o1[e]))
    c.set_v(d, _pack(c, out))


@pattern("SHA256SU1", "01011110000mmmmm011000nnnnnddddd")
def SHA256SU1(c, m, n, d):
    """SHA256SU1 Vd.4S, Vn.4S, Vm.4S: message schedule update 1."""
    b = c.b
    o1 = _lanes(c, d)
    t0 = b.or_(b.shl(c.v(m), const(I128, 96)), b.lshr(c.v(n), const(I128, 32)))
    t0 = [b.trunc(b.lshr(t0, const(I128, 32 * e)), I32) for e in range(4)]
    t1 = _lanes(c, m)[2:]

    def s1(elt):
        return b.xor(b.xor(_ror(c, elt, 17), _ror(c, elt, 19)), b.lshr(elt, const(I32, 10)))
    out = []
    for e in range(2):
        out.append(b.add(b.add(s1(t1[e]), o1[e]), t0[e]))
    for e in range(2, 4):
        out.append(b.add(b.add(s1(out[e - 2]), o1[e]), t0[e]))
    c.set_v(d, _pack(c, out))


# -- SHA-512 (FEAT_SHA512) and SHA-3 (FEAT_SHA3) ----------------------------------

def _d(c, r):
    """Vr as (D[0], D[1])."""
    v = c.v(r)
    return c.b.trunc(v, I64), c.b.trunc(c.b.lshr(v, const(I128, 64)), I64)


def _pack2(c, lo, hi):
    b = c.b
    return b.or_(b.zext(lo, I128), b.shl(b.zext(hi, I128), const(I128, 64)))


def _ror64(c, x, k):
    b = c.b
    return b.or_(b.lshr(x, const(I64, k)), b.shl(x, const(I64, 64 - k)))


def _xor3(c, x, y, z):
    return c.b.xor(c.b.xor(x, y), z)


@pattern("SHA512H", "11001110011mmmmm100000nnnnnddddd")
def SHA512H(c, m, n, d):
    """SHA512H Qd, Qn, Vm.2D: SHA-512 hash update part 1."""
    b = c.b
    x0, x1 = _d(c, n)
    y0, y1 = _d(c, m)
    w0, w1 = _d(c, d)
    sig = _xor3(c, _ror64(c, y1, 14), _ror64(c, y1, 18), _ror64(c, y1, 41))
    hi = b.xor(b.and_(y1, x0), b.and_(b.not_(y1), x1))
    hi = b.add(b.add(hi, sig), w1)
    tmp = b.add(hi, y0)
    sig = _xor3(c, _ror64(c, tmp, 14), _ror64(c, tmp, 18), _ror64(c, tmp, 41))
    lo = b.xor(b.and_(tmp, y1), b.and_(b.not_(tmp), x0))
    lo = b.add(b.add(lo, sig), w0)
    c.set_v(d, _pack2(c, lo, hi))


@pattern("SHA512H2", "11001110011mmmmm100001nnnnnddddd")
def SHA512H2(c, m, n, d):
    """SHA512H2 Qd, Qn, Vm.2D: SHA-512 hash update part 2."""
    b = c.b
    x0, _ = _d(c, n)
    y0, y1 = _d(c, m)
    w0, w1 = _d(c, d)
    sig = _xor3(c, _ror64(c, y0, 28), _ror64(c, y0, 34), _ror64(c, y0, 39))
    hi = _xor3(c, b.and_(x0, y1), b.and_(x0, y0), b.and_(y1, y0))
    hi = b.add(b.add(hi, sig), w1)
    sig = _xor3(c, _ror64(c, hi, 28), _ror64(c, hi, 34), _ror64(c, hi, 39))
    lo = _xor3(c, b.and_(hi, y0), b.and_(hi, y1), b.and_(y1, y0))
    lo = b.add(b.add(lo, sig), w0)
    c.set_v(d, _pack2(c, lo, hi))


@pattern("SHA512SU0", "1100111011000000100000nnnnnddddd")
def SHA512SU0(c, n, d):
    """SHA512SU0 Vd.2D, Vn.2D: SHA-512 schedule update 0."""
    b = c.b
    x0, _ = _d(c, n)
    w0, w1 = _d(c, d)

    def sig0(v):
        return _xor3(c, _ror64(c, v, 1), _ror64(c, v, 8), b.lshr(v, const(I64, 7)))
    c.set_v(d, _pack2(c, b.add(w0, sig0(w1)), b.add(w1, sig0(x0))))


@pattern("SHA512SU1", "11001110011mmmmm100010nnnnnddddd")
def SHA512SU1(c, m, n, d):
    """SHA512SU1 Vd.2D, Vn.2D, Vm.2D: SHA-512 schedule update 1."""
    b = c.b
    x0, x1 = _d(c, n)
    y0, y1 = _d(c, m)
    w0, w1 = _d(c, d)

    def sig1(v):
        return _xor3(c, _ror64(c, v, 19), _ror64(c, v, 61), b.lshr(v, const(I64, 6)))
    c.set_v(d, _pack2(c, b.add(b.add(w0, sig1(x0)), y0), b.add(b.add(w1, sig1(x1)), y1)))


@pattern("RAX1", "11001110011mmmmm100011nnnnnddddd")
def RAX1(c, m, n, d):
    """RAX1 Vd.2D, Vn.2D, Vm.2D: Vn ^ ROL(Vm, 1) per lane."""
    b = c.b
    x, y = _vec(c, n, V2x64), _vec(c, m, V2x64)
    rol = b.or_(b.shl(y, ir.Constant(V2x64, [const(I64, 1)] * 2)),
                b.lshr(y, ir.Constant(V2x64, [const(I64, 63)] * 2)))
    c.set_v(d, b.xor(x, rol))


@pattern("EOR3", "11001110000mmmmm0aaaaannnnnddddd")
def EOR3(c, m, a, n, d):
    """EOR3 Vd.16B, Vn.16B, Vm.16B, Va.16B."""
    c.set_v(d, _xor3(c, c.v(n), c.v(m), c.v(a)))


@pattern("BCAX", "11001110001mmmmm0aaaaannnnnddddd")
def BCAX(c, m, a, n, d):
    """BCAX Vd.16B, Vn.16B, Vm.16B, Va.16B: Vn ^ (Vm & ~Va)."""
    b = c.b
    c.set_v(d, b.xor(c.v(n), b.and_(c.v(m), b.not_(c.v(a)))))


@pattern("XAR", "11001110100mmmmmiiiiiinnnnnddddd")
def XAR(c, m, i, n, d):
    """XAR Vd.2D, Vn.2D, Vm.2D, #imm6: ROR(Vn ^ Vm, imm6) per lane."""
    b = c.b
    x = b.xor(_vec(c, n, V2x64), _vec(c, m, V2x64))
    if i:
        x = b.or_(b.lshr(x, ir.Constant(V2x64, [const(I64, i)] * 2)),
                  b.shl(x, ir.Constant(V2x64, [const(I64, 64 - i)] * 2)))
    c.set_v(d, x)
