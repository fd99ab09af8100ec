"""What the emulated CPU advertises to the guest.

Owns: the AT_HWCAP / AT_HWCAP2 bits the loader puts in the auxiliary
vector (arch/arm64/include/uapi/asm/hwcap.h numbering) and the text of
/proc/cpuinfo (`cpuinfo_text`, the "Features" line names the same bits
the way arch/arm64/kernel/cpuinfo.c does).  Only features the translator
implements may be advertised: glibc, libgcc, OpenSSL, the Go and Node
runtimes pick code paths (LSE atomics, CRC32, AES, dot product...) from
these bits, so a wrong bit is a SIGILL far away.  The ID registers an
MRS reads (translator/isa/system.py) carry the same features in the
kernel's field encoding; tests/test_hwcaps.py checks the two agree and
that every advertised feature's instructions lift and match Unicorn.

Advertised: FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32, ATOMICS (LSE),
CPUID (MRS of ID registers), ASIMDRDM, JSCVT, FCMA (single and double
precision; the half-precision forms belong to FP16), LRCPC, DCPOP (DC
CVAP, a no-op here like the other cache maintenance), SHA3, ASIMDDP,
SHA512, ILRCPC, SB; HWCAP2: DCPODP (DC CVADP), FRINT, I8MM.
Deliberately clear (instructions not lifted -> SIGILL): FPHP/ASIMDHP (FP16
arithmetic), SM3, SM4, SVE, ASIMDFHM, DIT, USCAT, FLAGM, SSBS, PACA/PACG,
BTI, MTE, BF16...  EVTSTRM is clear too: no event stream (WFE is a plain
hint here).

Does not own: MIDR/ID-register values (translator/isa/system.py).
"""

HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_EVTSTRM = 1 << 2
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_ATOMICS = 1 << 8
HWCAP_FPHP = 1 << 9
HWCAP_ASIMDHP = 1 << 10
HWCAP_CPUID = 1 << 11
HWCAP_ASIMDRDM = 1 << 12
HWCAP_JSCVT = 1 << 13
HWCAP_FCMA = 1 << 14
HWCAP_LRCPC = 1 << 15
HWCAP_DCPOP = 1 << 16
HWCAP_SHA3 = 1 << 17
HWCAP_SM3 = 1 << 18
HWCAP_SM4 = 1 << 19
HWCAP_ASIMDDP = 1 << 20
HWCAP_SHA512 = 1 << 21
HWCAP_SVE = 1 << 22
HWCAP_ASIMDFHM = 1 << 23
HWCAP_DIT = 1 << 24
HWCAP_USCAT = 1 << 25
HWCAP_ILRCPC = 1 << 26
HWCAP_FLAGM = 1 << 27
HWCAP_SSBS = 1 << 28
HWCAP_SB = 1 << 29
HWCAP_PACA = 1 << 30
HWCAP_PACG = 1 << 31

HWCAP2_DCPODP = 1 << 0
HWCAP2_FLAGM2 = 1 << 7
HWCAP2_FRINT = 1 << 8
HWCAP2_I8MM = 1 << 13
HWCAP2_BF16 = 1 << 14
HWCAP2_RNG = 1 << 16
HWCAP2_BTI = 1 << 17

# The kernel's /proc/cpuinfo names, in bit order (hwcap_str[]).
HWCAP_NAMES = ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics",
               "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop",
               "sha3", "sm3", "sm4", "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat",
               "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg"]
HWCAP2_NAMES = ["dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3", "svesm4",
                "flagm2", "frint", "svei8mm", "svef32mm", "svef64mm", "svebf16", "i8mm",
                "bf16", "dgh", "rng", "bti", "mte"]

HWCAP = (HWCAP_FP | HWCAP_ASIMD | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1 | HWCAP_SHA2
         | HWCAP_CRC32 | HWCAP_ATOMICS | HWCAP_CPUID | HWCAP_ASIMDRDM | HWCAP_JSCVT
         | HWCAP_FCMA | HWCAP_LRCPC | HWCAP_DCPOP | HWCAP_SHA3 | HWCAP_ASIMDDP | HWCAP_SHA512
         | HWCAP_ILRCPC | HWCAP_SB)
HWCAP2 = HWCAP2_DCPODP | HWCAP2_FRINT | HWCAP2_I8MM
PLATFORM = "aarch64"

# MIDR_EL1 fields as /proc/cpuinfo shows them (same value as system.py's
# MIDR: Arm Cortex-A72 r0p3).
MIDR = 0x410FD083


def feature_names(hwcap=HWCAP, hwcap2=HWCAP2):
    """The advertised features by their /proc/cpuinfo names, kernel order."""
    names = [n for i, n in enumerate(HWCAP_NAMES) if hwcap >> i & 1]
    return names + [n for i, n in enumerate(HWCAP2_NAMES) if hwcap2 >> i & 1]


def cpuinfo_text(ncpus=1):
    """/proc/cpuinfo as arm64 Linux prints it (c_show), one block per CPU."""
    out = []
    for n in range(ncpus):
        out.append(f"processor\t: {n}\n"
                   f"BogoMIPS\t: 2000.00\n"
                   f"Features\t: {' '.join(feature_names())}\n"
                   f"CPU implementer\t: {MIDR >> 24:#04x}\n"
                   f"CPU architecture: 8\n"
                   f"CPU variant\t: {(MIDR >> 20) & 0xF:#x}\n"
                   f"CPU part\t: {(MIDR >> 4) & 0xFFF:#05x}\n"
                   f"CPU revision\t: {MIDR & 0xF}\n\n")
    return "".join(out)
