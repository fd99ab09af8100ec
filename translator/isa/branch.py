"""Branches, exception generation: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ,
BR, BLR, RET (and the pointer-authentication variants without PAC), SVC,
BRK, HLT, UDF.  Every form here ends its block."""
from emu.cpustate import ExitReason
from ..lifter import I64, const
from ..patterns import pattern
from .common import sign_extend


@pattern("B", "000101iiiiiiiiiiiiiiiiiiiiiiiiii", ends_block=True)
def B(c, i):
    """B label."""
    c.branch(c.pc + sign_extend(i, 26) * 4 & 0xFFFFFFFFFFFFFFFF)


@pattern("BL", "100101iiiiiiiiiiiiiiiiiiiiiiiiii", ends_block=True)
def BL(c, i):
    """BL label: X30 = return address."""
    c.set_x(30, const(I64, c.pc + 4))
    c.branch(c.pc + sign_extend(i, 26) * 4 & 0xFFFFFFFFFFFFFFFF)


@pattern("B_cond", "01010100iiiiiiiiiiiiiiiiiii0qqqq", ends_block=True)
def B_cond(c, i, q):
    """B.cond label (cond AL/NV always taken)."""
    target = c.pc + sign_extend(i, 19) * 4 & 0xFFFFFFFFFFFFFFFF
    if q >> 1 == 7:
        c.branch(target)
    else:
        c.branch_cond(c.cond(q), target, c.pc + 4)


@pattern("CBZ", "z011010oiiiiiiiiiiiiiiiiiiittttt", ends_block=True)
def CBZ(c, z, o, i, t):
    """CBZ/CBNZ Rt, label."""
    w = 64 if z else 32
    v = c.x(t, w)
    cond = c.b.icmp_unsigned("!=" if o else "==", v, const(v.type, 0))
    c.branch_cond(cond, c.pc + sign_extend(i, 19) * 4 & 0xFFFFFFFFFFFFFFFF, c.pc + 4)


@pattern("TBZ", "b011011oaaaaaiiiiiiiiiiiiiittttt", ends_block=True)
def TBZ(c, b, o, a, i, t):
    """TBZ/TBNZ Rt, #bit, label."""
    bit = (b << 5) | a
    v = c.x(t, 64)
    set_ = c.b.icmp_unsigned("!=", c.b.and_(v, const(I64, 1 << bit)), const(I64, 0))
    cond = set_ if o else c.b.not_(set_)
    c.branch_cond(cond, c.pc + sign_extend(i, 14) * 4 & 0xFFFFFFFFFFFFFFFF, c.pc + 4)


@pattern("BR", "1101011000011111000000nnnnn00000", ends_block=True)
def BR(c, n):
    """BR Xn."""
    c.branch_indirect(c.x(n))


@pattern("BLR", "1101011000111111000000nnnnn00000", ends_block=True)
def BLR(c, n):
    """BLR Xn."""
    target = c.x(n)
    c.set_x(30, const(I64, c.pc + 4))
    c.branch_indirect(target)


@pattern("RET", "1101011001011111000000nnnnn00000", ends_block=True)
def RET(c, n):
    """RET {Xn}."""
    c.branch_indirect(c.x(n))


@pattern("SVC", "11010100000iiiiiiiiiiiiiiii00001", ends_block=True)
def SVC(c, i):
    """SVC #imm: return to Python for the syscall, PC past the SVC."""
    c.trap(ExitReason.SYSCALL, pc=c.pc + 4, info=i)


@pattern("BRK", "11010100001iiiiiiiiiiiiiiii00000", ends_block=True)
def BRK(c, i):
    """BRK #imm: SIGTRAP in the guest (PC at the BRK)."""
    c.trap(ExitReason.BRK, info=i)


@pattern("HLT", "11010100010iiiiiiiiiiiiiiii00000", ends_block=True)
def HLT(c, i):
    """HLT #imm: undefined at EL0 (SIGILL)."""
    c.trap(ExitReason.UNDEF, info=c.word)


@pattern("UDF", "0000000000000000iiiiiiiiiiiiiiii", ends_block=True)
def UDF(c, i):
    """UDF #imm: permanently undefined (SIGILL)."""
    c.trap(ExitReason.UNDEF, info=c.word)
