"""System instructions available at EL0: MRS/MSR of the registers Linux
exposes (NZCV, FPCR, FPSR, TPIDR_EL0, TPIDRRO_EL0, CNTVCT_EL0, CNTFRQ_EL0,
CTR_EL0, DCZID_EL0, MIDR_EL1 and the ID registers the kernel emulates,
with the feature fields kernel/cpuinfo.py's HWCAPs promise),
hints (NOP, YIELD, BTI, PAC hints without PAC), barriers as fences, CLREX,
DC ZVA (64-byte zeroing), cache maintenance with no effect on data (DC
CVAU/CVAC/CIVAC, DC CVAP and CVADP of HWCAP DCPOP/DCPODP, IC IVAU) but a
fault, as on hardware, where the address is not readable at EL0 (reported
as a read: SIGSEGV at that address), SB (HWCAP SB) as no effect.
Unknown system registers are undefined (SIGILL).

FPSR: IXC, UFC and OFC live in the host's sticky MXCSR flags while compiled
code runs (translator/dispatcher.py folds them into state.fpsr when it
returns to Python), so MRS FPSR reads state.fpsr | the mapped live flags
and MSR FPSR writes state.fpsr and clears the live flags."""
from .. import irtext as ir

from ..dispatcher import read_mxcsr, write_mxcsr, mxcsr_to_fpsr, MXCSR_FLAGS
from ..lifter import I1, I32, I64, I128, const
from ..patterns import pattern


def sysreg(op0, op1, crn, crm, op2):
    return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2


NZCV = sysreg(3, 3, 4, 2, 0)
FPCR = sysreg(3, 3, 4, 4, 0)
FPSR = sysreg(3, 3, 4, 4, 1)
TPIDR_EL0 = sysreg(3, 3, 13, 0, 2)
TPIDRRO_EL0 = sysreg(3, 3, 13, 0, 3)
CNTFRQ_EL0 = sysreg(3, 3, 14, 0, 0)
CNTVCT_EL0 = sysreg(3, 3, 14, 0, 2)
CNTVCTSS_EL0 = sysreg(3, 3, 14, 0, 6)
CTR_EL0 = sysreg(3, 3, 0, 0, 1)
DCZID_EL0 = sysreg(3, 3, 0, 0, 7)
DCZ_BYTES = 64

# What the ID registers show EL0, as an arm64 Linux kernel emulates MRS of
# them (arch/arm64/kernel/cpufeature.c emulate_sys_reg): the space op0=3,
# op1=0, CRn=0, CRm=0 (MIDR, MPIDR, REVIDR only) or CRm=2..7 (any op2;
# registers without user-visible fields read as 0); anything else in that
# space, including CRm=1, is SIGILL.  Fields hidden from EL0 read as the
# kernel's safe values (EL0/EL1 = AArch64 only, DebugVer = 6, TGran4 and
# TGran64 = 0xF), as qemu-aarch64 7.2 shows them too.  The
# feature fields must agree with kernel/cpuinfo.py's HWCAP bits, as the
# kernel derives those bits from these very fields (tests/test_hwcaps.py
# checks the correspondence, and checks it on qemu-aarch64 too).
ID_AA64PFR0 = 0x11                 # EL0, EL1 AArch64; FP, AdvSIMD = 0 (present, no FP16)
ID_AA64ISAR0 = ((2 << 4)           # AES = 2: AESE/AESD/AESMC/AESIMC + PMULL.1Q
                | (1 << 8)         # SHA1
                | (2 << 12)        # SHA2 = 2: SHA-256 and SHA-512
                | (1 << 16)        # CRC32
                | (2 << 20)        # Atomic = 2: LSE
                | (1 << 28)        # RDM: SQRDMLAH/SQRDMLSH
                | (1 << 32)        # SHA3: EOR3, RAX1, XAR, BCAX
                | (1 << 44))       # DP: SDOT/UDOT
ID_AA64ISAR1 = ((2 << 0)           # DPB = 2: DC CVAP, DC CVADP
                | (1 << 12)        # JSCVT: FJCVTZS
                | (1 << 16)        # FCMA: FCADD, FCMLA
                | (2 << 20)        # LRCPC = 2: LDAPR + LDAPUR/STLUR
                | (1 << 32)        # FRINTTS: FRINT32Z/32X/64Z/64X
                | (1 << 36)        # SB
                | (1 << 52))       # I8MM: USDOT/SUDOT, SMMLA/UMMLA/USMMLA
# MIDR: Arm Cortex-A72 r0p3.  A core whose own features are a subset of
# what we implement, so software that infers features from the part number
# (rather than HWCAPs) only ever assumes instructions we lift.
MIDR = 0x410FD083

CONSTANT_REGS = {
    CTR_EL0: 0x8444C004,            # DminLine=IminLine=64 bytes, IDC/DIC clear
    DCZID_EL0: 4,                   # DC ZVA allowed, block 2**4 words = 64 bytes
    CNTFRQ_EL0: 1_000_000_000,      # CNTVCT counts nanoseconds (see below)
    sysreg(3, 0, 0, 0, 0): MIDR,         # MIDR_EL1
    sysreg(3, 0, 0, 0, 5): 0x80000000,   # MPIDR_EL1 (the kernel's safe value)
    sysreg(3, 0, 0, 0, 6): 0,            # REVIDR_EL1
    sysreg(3, 0, 0, 4, 0): ID_AA64PFR0,  # ID_AA64PFR0_EL1
    sysreg(3, 0, 0, 5, 0): 0x6,          # ID_AA64DFR0_EL1 (DebugVer v8, hidden field)
    sysreg(3, 0, 0, 6, 0): ID_AA64ISAR0,  # ID_AA64ISAR0_EL1
    sysreg(3, 0, 0, 6, 1): ID_AA64ISAR1,  # ID_AA64ISAR1_EL1
    sysreg(3, 0, 0, 7, 0): 0xFF000000,   # ID_AA64MMFR0_EL1: hidden TGran4/64 = safe 0xF
    # every other (3, 0, 0, 2..7, op2) register reads as 0 (see id_register)
}


def id_register(r):
    """The value an MRS of system register r gives at EL0 if it is in the
    kernel-emulated ID space, else None."""
    if r in CONSTANT_REGS:
        return CONSTANT_REGS[r]
    op0, op1, crn, crm = r >> 14, (r >> 11) & 7, (r >> 7) & 15, (r >> 3) & 15
    if (op0, op1, crn) == (3, 0, 0) and 2 <= crm <= 7:
        return 0
    return None


def _counter_ns(c):
    """CNTVCT_EL0: a monotonic nanosecond count read natively (no exit)."""
    m = c.module
    name = "emu_cntvct"
    fn = m.globals.get(name)
    if fn is None:
        fn = ir.Function(m, ir.FunctionType(I64, []), name)
    return c.b.call(fn, [])


def _mxcsr_helper(c, name, clear):
    """Call the module-internal helper `name`: returns the FPSR bits of the
    live MXCSR flags (clear=False) or clears them (clear=True).  A call,
    not inline stmxcsr/ldmxcsr: LLVM treats ordinary FP arithmetic as free
    of side effects and could schedule it across an inline MXCSR access,
    but not across a call (a scheduling boundary)."""
    m = c.module
    fn = m.globals.get(name)
    if fn is None:
        fn = ir.Function(m, ir.FunctionType(ir.VoidType() if clear else I32, []), name)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("nounwind")
        b = ir.IRBuilder(fn.append_basic_block())
        slot = b.alloca(I32)
        mx = read_mxcsr(b, m, slot)
        if clear:
            write_mxcsr(b, m, slot, b.and_(mx, const(I32, ~MXCSR_FLAGS)))
            b.ret_void()
        else:
            b.ret(mxcsr_to_fpsr(b, mx))
    return c.b.call(fn, [])


@pattern("MRS", "110101010011sssssssssssssssttttt")
def MRS(c, s, t):
    """MRS Xt, <sysreg>."""
    r = s | (1 << 15)               # op0 = 2 + o0; EL0 only sees op0 == 3
    if r == NZCV:
        n, z, cc, v = c.nzcv()
        b = c.b
        val = const(I64, 0)
        for bit, f in ((31, n), (30, z), (29, cc), (28, v)):
            val = b.or_(val, b.shl(b.zext(f, I64), const(I64, bit)))
    elif r == FPCR:
        val = c.b.zext(c.load_field("fpcr", I32), I64)
    elif r == FPSR:
        b = c.b
        live = _mxcsr_helper(c, "emu_fpsr_live", False)
        val = b.zext(b.or_(c.load_field("fpsr", I32), live), I64)
    elif r == TPIDR_EL0:
        val = c.load_field("tpidr", I64)
    elif r == TPIDRRO_EL0:
        val = const(I64, 0)
    elif r in (CNTVCT_EL0, CNTVCTSS_EL0):
        val = _counter_ns(c)
    elif id_register(r) is not None:
        val = const(I64, id_register(r))
    else:
        c.undefined()
    c.set_x(t, val)


@pattern("MSR_reg", "110101010001sssssssssssssssttttt")
def MSR_reg(c, s, t):
    """MSR <sysreg>, Xt (NZCV, FPCR, FPSR, TPIDR_EL0)."""
    r = s | (1 << 15)
    v = c.x(t)
    b = c.b
    if r == NZCV:
        c.set_nzcv(*(b.trunc(b.lshr(v, const(I64, bit)), I1) for bit in (31, 30, 29, 28)))
    elif r == FPCR:
        c.store_field("fpcr", b.trunc(v, I32))
    elif r == FPSR:
        c.store_field("fpsr", b.trunc(v, I32))
        _mxcsr_helper(c, "emu_fpsr_clear_live", True)
    elif r == TPIDR_EL0:
        c.store_field("tpidr", v)
    else:
        c.undefined()


@pattern("HINT", "11010101000000110010mmmmooo11111")
def HINT(c, m, o):
    """NOP, YIELD, WFE, WFI, SEV, SEVL, BTI, PAC hints (no PAC): no effect."""


@pattern("CLREX", "11010101000000110011mmmm01011111")
def CLREX(c, m):
    """CLREX: clear the exclusive monitor."""
    c.store_field("excl_addr", const(I64, -1))


@pattern("DSB", "11010101000000110011mmmm10011111")
@pattern("DMB", "11010101000000110011mmmm10111111")
def DMB(c, m):
    """DMB/DSB: full fence."""
    c.b.fence("seq_cst")


@pattern("ISB", "11010101000000110011mmmm11011111")
@pattern("SB", "11010101000000110011000011111111")
def ISB(c, m=0):
    """ISB/SB: no effect on a translated stream (code changes are tracked)."""


@pattern("SYS", "1101010100001pppnnnnmmmmqqqttttt")
def SYS(c, p, n, m, q, t):
    """DC ZVA zeroes 64 bytes; DC CVAU/CVAC/CIVAC/CVAP/CVADP, IC IVAU check the
    address (a fault where it is unreadable) and do nothing else."""
    op = (p, n, m, q)
    if op == (3, 7, 4, 1):          # DC ZVA
        b = c.b
        addr = b.and_(c.x(t), const(I64, ~(DCZ_BYTES - 1)))
        c.check_access(addr, DCZ_BYTES, True)
        for k in range(0, DCZ_BYTES, 16):
            st = b.store(const(I128, 0), c.host_ptr(b.add(addr, const(I64, k))))
            st.align = 1
    elif op in ((3, 7, 11, 1), (3, 7, 10, 1), (3, 7, 14, 1), (3, 7, 12, 1),
                (3, 7, 13, 1), (3, 7, 5, 1)):
        c.check_access(c.x(t), 1, False)    # by VA: faults like a load where unreadable
    else:
        c.undefined()
