"""The CPU we advertise is coherent: AT_HWCAP/AT_HWCAP2 (kernel/cpuinfo.py),
the ID registers MRS reads (translator/isa/system.py) and the instructions
we lift all tell the same story.

- A static C program prints getauxval(AT_HWCAP/AT_HWCAP2) and the ID
  registers read with MRS.  Under emu the auxv values must be cpuinfo's,
  and every HWCAP bit must be set exactly when its ID register field says
  so, by the rules arm64 Linux uses to derive HWCAPs from the ID registers
  (arch/arm64/kernel/cpufeature.c arm64_elf_hwcaps; the table RULES
  below).  The same program under qemu-aarch64 (whose HWCAPs and ID
  registers come from an independent implementation) must satisfy the
  same rules: that checks the rule table itself.
- For every advertised bit, sample instructions of that feature must lift
  and match Unicorn (MAX cpu model); for the features we leave clear,
  sample instructions must be undefined in emu (SIGILL in the guest), so
  that software which ignores HWCAPs fails loudly instead of computing
  something wrong.

qemu-aarch64 7.2 differs from Linux on one ID register: an MRS of
ID_ISAR6_EL1 (S3_0_C0_C2_7) is SIGILL under qemu, while Linux emulates
the whole CRm=2..7 space (reads as 0 here); the C program does not read
it and test_id_register_space checks our side from the table.
"""
import re

import pytest

from emu.cpustate import ExitReason
from harness import oracle
from kernel import cpuinfo
from tests.fpvals import check_flags, fp_hook, int_hook
from tests.test_isa_crypto import gas
from tests.unicorn_rig import DATA_BASE, random_state, run_jit
from translator.isa import system

PROGRAM = r"""
/* oracle: qemu-only -- prints the CPU the emulator advertises */
#include <stdio.h>
#include <sys/auxv.h>

#define MRS(name, reg) do { unsigned long v; \
    __asm__ volatile("mrs %0, " reg : "=r"(v)); \
    printf("%s=%lx\n", name, v); } while (0)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("hwcap=%lx\n", getauxval(AT_HWCAP));
    printf("hwcap2=%lx\n", getauxval(AT_HWCAP2));
    if (!(getauxval(AT_HWCAP) & (1 << 11)))     /* HWCAP_CPUID */
        return 1;
    MRS("midr", "S3_0_C0_C0_0");
    MRS("mpidr", "S3_0_C0_C0_5");
    MRS("revidr", "S3_0_C0_C0_6");
    MRS("pfr0", "S3_0_C0_C4_0");
    MRS("pfr1", "S3_0_C0_C4_1");
    MRS("zfr0", "S3_0_C0_C4_4");
    MRS("dfr0", "S3_0_C0_C5_0");
    MRS("isar0", "S3_0_C0_C6_0");
    MRS("isar1", "S3_0_C0_C6_1");
    MRS("isar2", "S3_0_C0_C6_2");
    MRS("mmfr0", "S3_0_C0_C7_0");
    MRS("mmfr1", "S3_0_C0_C7_1");
    MRS("mmfr2", "S3_0_C0_C7_2");
    return 0;
}
"""

# (feature, hwcap word 1 or 2, register, field shift, signed field, minimum)
RULES = [
    ("fp", 1, "pfr0", 16, True, 0), ("fphp", 1, "pfr0", 16, True, 1),
    ("asimd", 1, "pfr0", 20, True, 0), ("asimdhp", 1, "pfr0", 20, True, 1),
    ("dit", 1, "pfr0", 48, False, 1), ("sve", 1, "pfr0", 32, False, 1),
    ("aes", 1, "isar0", 4, False, 1), ("pmull", 1, "isar0", 4, False, 2),
    ("sha1", 1, "isar0", 8, False, 1), ("sha2", 1, "isar0", 12, False, 1),
    ("sha512", 1, "isar0", 12, False, 2), ("crc32", 1, "isar0", 16, False, 1),
    ("atomics", 1, "isar0", 20, False, 2), ("asimdrdm", 1, "isar0", 28, False, 1),
    ("sha3", 1, "isar0", 32, False, 1), ("sm3", 1, "isar0", 36, False, 1),
    ("sm4", 1, "isar0", 40, False, 1), ("asimddp", 1, "isar0", 44, False, 1),
    ("asimdfhm", 1, "isar0", 48, False, 1), ("flagm", 1, "isar0", 52, False, 1),
    ("flagm2", 2, "isar0", 52, False, 2), ("rng", 2, "isar0", 60, False, 1),
    ("dcpop", 1, "isar1", 0, False, 1), ("dcpodp", 2, "isar1", 0, False, 2),
    ("jscvt", 1, "isar1", 12, False, 1), ("fcma", 1, "isar1", 16, False, 1),
    ("lrcpc", 1, "isar1", 20, False, 1), ("ilrcpc", 1, "isar1", 20, False, 2),
    ("frint", 2, "isar1", 32, False, 1), ("sb", 1, "isar1", 36, False, 1),
    ("bf16", 2, "isar1", 44, False, 1), ("i8mm", 2, "isar1", 52, False, 1),
    ("ssbs", 1, "pfr1", 4, False, 2), ("bti", 2, "pfr1", 0, False, 1),
    ("uscat", 1, "mmfr2", 32, False, 1),
]


def _bit(name, word):
    names = cpuinfo.HWCAP_NAMES if word == 1 else cpuinfo.HWCAP2_NAMES
    return 1 << names.index(name)


def _field(value, shift, signed):
    f = (value >> shift) & 0xF
    return f - 16 if signed and f & 8 else f


def rule_violations(vals, skip=()):
    """HWCAP bits that disagree with their ID register field."""
    bad = []
    for name, word, reg, shift, signed, minimum in RULES:
        if name in skip:
            continue
        hw = vals["hwcap" if word == 1 else "hwcap2"]
        has_bit = bool(hw & _bit(name, word))
        has_field = _field(vals[reg], shift, signed) >= minimum
        if has_bit != has_field:
            bad.append(f"{name}: hwcap bit {has_bit} but {reg}[{shift + 3}:{shift}] = "
                       f"{_field(vals[reg], shift, signed)} (needs >= {minimum})")
    if not vals["hwcap"] & cpuinfo.HWCAP_CPUID:
        bad.append("cpuid clear")
    return bad


def _run(runner, tmp_path):
    src = tmp_path / "hwcaps.c"
    src.write_text(PROGRAM)
    try:
        exe = oracle.compile_c(src, "aarch64")
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        pytest.fail(f"cannot build the hwcaps program: {exc}", pytrace=False)
    res = runner([exe], cwd=tmp_path)
    assert res.status == 0, res.describe()
    vals = dict(re.findall(r"^(\w+)=([0-9a-f]+)$", res.stdout.decode(), re.M))
    return {k: int(v, 16) for k, v in vals.items()}


def test_emu_advertises_cpuinfo_and_matching_id_registers(aarch64_cc, tmp_path):
    vals = _run(oracle.run_emu, tmp_path)
    assert vals["hwcap"] == cpuinfo.HWCAP and vals["hwcap2"] == cpuinfo.HWCAP2
    assert vals["midr"] == system.MIDR == cpuinfo.MIDR
    assert vals["isar0"] == system.ID_AA64ISAR0 and vals["isar1"] == system.ID_AA64ISAR1
    assert vals["pfr0"] == system.ID_AA64PFR0
    assert rule_violations(vals) == []


# qemu-aarch64 7.2 shows ID_AA64PFR0.DIT = 1 and ID_AA64PFR1.SSBS = 2 but
# its get_elf_hwcap() never sets HWCAP_DIT / HWCAP_SSBS (Linux does);
# neither feature is ours to advertise, so those two rules are not
# checked on qemu.
QEMU_OMITS = ("dit", "ssbs")


def test_rules_hold_on_qemu(qemu, aarch64_cc, tmp_path):
    """The rule table describes a real implementation: qemu-aarch64's own
    HWCAPs and ID registers (cpu max, nearly every feature) obey it."""
    vals = _run(oracle.run_qemu, tmp_path)
    assert rule_violations(vals, skip=QEMU_OMITS) == []
    assert bin(vals["hwcap"]).count("1") > 20      # qemu's max cpu: most rules are exercised


def test_cpuinfo_features_line():
    names = cpuinfo.feature_names()
    assert names[:2] == ["fp", "asimd"] and "fphp" not in names and "frint" in names
    text = cpuinfo.cpuinfo_text(2)
    assert text.count("Features\t: " + " ".join(names) + "\n") == 2
    assert "CPU part\t: 0xd08\n" in text


def test_id_register_space():
    """MRS at EL0 reaches what Linux emulates: CRm=0 only MIDR/MPIDR/REVIDR,
    CRm=2..7 everything (unknown ones read 0), nothing else."""
    sr = system.sysreg
    assert system.id_register(sr(3, 0, 0, 0, 0)) == cpuinfo.MIDR
    assert system.id_register(sr(3, 0, 0, 0, 1)) is None          # CTR_EL1-like slot: SIGILL
    assert system.id_register(sr(3, 0, 0, 1, 0)) is None          # ID_PFR0_EL1: SIGILL
    assert system.id_register(sr(3, 0, 0, 2, 7)) == 0             # ID_ISAR6_EL1
    assert system.id_register(sr(3, 0, 0, 7, 7)) == 0
    assert system.id_register(sr(3, 0, 1, 4, 0)) is None          # CRn=1: not ID space
    assert system.id_register(sr(3, 1, 0, 0, 0)) is None          # CCSIDR_EL1: SIGILL


def _data_hook(base_hook):
    """X1 and X11 point to aligned data (atomics, RCpc loads)."""
    def hook(rng, st):
        base_hook(rng, st)
        for r in (1, 11):
            st["regs"][r] = DATA_BASE + 0x800 + rng.randrange(0, 0x400) // 16 * 16
    return hook


# Advertised feature -> (instructions of that feature, state hook)
SAMPLES = {
    "fp": ("fadd d0, d1, d2; fmadd s3, s4, s5, s6; fcvtzs x7, d8; fcmp d9, d10; cset x11, gt",
           fp_hook(64)),
    "asimd": ("add v0.4s, v1.4s, v2.4s; tbl v3.16b, {v4.16b}, v5.16b; fmla v6.2d, v7.2d, v8.2d; "
              "uzp1 v9.8h, v10.8h, v11.8h; addv b12, v13.16b", int_hook),
    "aes": ("aese v0.16b, v1.16b; aesmc v2.16b, v0.16b; aesd v3.16b, v4.16b; "
            "aesimc v5.16b, v3.16b", int_hook),
    "pmull": ("pmull v0.1q, v1.1d, v2.1d; pmull2 v3.1q, v4.2d, v5.2d", int_hook),
    "sha1": ("sha1c q0, s1, v2.4s; sha1p q3, s4, v5.4s; sha1m q6, s7, v8.4s; sha1h s9, s10; "
             "sha1su0 v11.4s, v12.4s, v13.4s; sha1su1 v14.4s, v15.4s", int_hook),
    "sha2": ("sha256h q0, q1, v2.4s; sha256h2 q3, q4, v5.4s; sha256su0 v6.4s, v7.4s; "
             "sha256su1 v8.4s, v9.4s, v10.4s", int_hook),
    "crc32": ("crc32b w0, w1, w2; crc32h w3, w4, w5; crc32w w6, w7, w8; crc32x w9, w10, x11; "
              "crc32cb w12, w13, w14; crc32cx w15, w16, x17", int_hook),
    "atomics": ("ldaddal x2, x3, [x1]; casal w4, w5, [x1]; swpl x6, x7, [x11]; "
                "ldsmaxa x8, x9, [x11]; caspal x12, x13, x14, x15, [x1]", _data_hook(int_hook)),
    # (LDSMAX/LDSMIN of B/H/W: Unicorn compares unsigned, a QEMU 5 bug; the
    # pseudocode check is tests/test_isa_loadstore.py test_ldsmax_ldsmin_subword)
    "asimdrdm": ("sqrdmlah v0.8h, v1.8h, v2.8h; sqrdmlsh s3, s4, s5; "
                 "sqrdmlah v6.4s, v7.4s, v8.s[1]", int_hook),
    "jscvt": ("fjcvtzs w0, d1; cset x2, eq; fjcvtzs w3, d4", fp_hook(64)),
    "fcma": ("fcadd v0.4s, v1.4s, v2.4s, #90; fcmla v3.4s, v4.4s, v5.4s, #270; "
             "fcmla v6.4s, v7.4s, v8.s[1], #180", fp_hook(32)),
    "lrcpc": ("ldapr x0, [x1]; ldaprb w2, [x11]; ldaprh w3, [x1]", _data_hook(int_hook)),
    "asimddp": ("sdot v0.4s, v1.16b, v2.16b; udot v3.2s, v4.8b, v5.4b[2]", int_hook),
    "ilrcpc": ("ldapur x0, [x1, #-8]; stlur w2, [x11, #4]; ldapursb x3, [x1, #1]; "
               "ldapursh w4, [x11, #-2]", _data_hook(int_hook)),
    "sb": ("sb; add x0, x1, x2", int_hook),
    "sha512": ("sha512h q0, q1, v2.2d; sha512h2 q3, q4, v5.2d; sha512su0 v6.2d, v7.2d; "
               "sha512su1 v8.2d, v9.2d, v10.2d", int_hook),
    "sha3": ("eor3 v0.16b, v1.16b, v2.16b, v3.16b; rax1 v4.2d, v5.2d, v6.2d; "
             "xar v7.2d, v8.2d, v9.2d, #5; bcax v10.16b, v11.16b, v12.16b, v13.16b", int_hook),
    "dcpop": ("dc cvap, x1; dc cvap, x11", _data_hook(int_hook)),
    "dcpodp": ("dc cvadp, x1; dc cvadp, x11", _data_hook(int_hook)),
    "frint": ("frint32z d0, d1; frint64x s2, s3; frint32x v4.4s, v5.4s; frint64z v6.2d, v7.2d",
              fp_hook(64)),
}

# Advertised features Unicorn 2.1 cannot run (QEMU 5 predates them): they
# must lift here; their oracle is named.
LIFT_ONLY = {
    "i8mm": ("usdot v0.4s, v1.16b, v2.16b; sudot v3.4s, v4.16b, v5.4b[1]; "
             "smmla v6.4s, v7.16b, v8.16b; ummla v9.4s, v10.16b, v11.16b; "
             "usmmla v12.4s, v13.16b, v14.16b",
             "tests/test_isa_simd.py test_i8mm_against_pseudocode and the qemu-aarch64 "
             "fixture tests/fixtures/fpsimd_i8mm.c"),
}

# Features we leave clear -> an instruction of each, which must be SIGILL.
CLEAR_SAMPLES = {
    "fphp": "fadd h0, h1, h2", "asimdhp": "fcmla v0.8h, v1.8h, v2.8h, #90",
    "sm3": "sm3ss1 v0.4s, v1.4s, v2.4s, v3.4s", "sm4": "sm4e v0.4s, v1.4s",
    "sve": "add z0.d, z1.d, z2.d",
    "asimdfhm": "fmlal v0.2s, v1.2h, v2.2h", "flagm": "cfinv", "flagm2": "axflag",
    "paca": "pacia x0, x1", "pacg": "pacga x0, x1, x2",
    "bf16": "bfdot v0.4s, v1.8h, v2.8h", "rng": "mrs x0, rndr", "dit": "msr dit, #1",
    "ssbs": "msr ssbs, #1",
}
CLEAR_MARCH = "armv8.6-a+crypto+sha3+sm4+fp16+fp16fml+sve+rng+memtag+ssbs+i8mm"


def _advertised():
    return ([n for i, n in enumerate(cpuinfo.HWCAP_NAMES) if cpuinfo.HWCAP >> i & 1]
            + [n for i, n in enumerate(cpuinfo.HWCAP2_NAMES) if cpuinfo.HWCAP2 >> i & 1])


def test_every_advertised_bit_has_samples():
    missing = [n for n in _advertised() if n not in SAMPLES and n not in LIFT_ONLY
               and n != "cpuid"]
    assert missing == []
    assert not (set(SAMPLES) | set(LIFT_ONLY)) - set(_advertised()), \
        "samples for a bit we do not advertise"
    assert not set(CLEAR_SAMPLES) & set(_advertised())


@pytest.mark.parametrize("feature", sorted(SAMPLES))
def test_advertised_feature_matches_unicorn(feature):
    text, hook = SAMPLES[feature]
    check_flags(gas(text, CLEAR_MARCH), hook, cases=30, expect="completes")


@pytest.mark.parametrize("feature", sorted(LIFT_ONLY))
def test_advertised_feature_lifts(feature):
    import random
    text, oracle_note = LIFT_ONLY[feature]
    j = run_jit(gas(text, CLEAR_MARCH), random_state(random.Random(3)))
    assert j["reason"] == ExitReason.BRK, f"{feature} ({oracle_note}): {j['reason']!r}"


def test_cpuid_mrs_reads_the_table():
    """HWCAP_CPUID: MRS of the ID registers gives the table's values (Unicorn
    shows QEMU's own EL1 values, so the table is the reference here)."""
    regs = [("S3_0_C0_C0_0", system.MIDR), ("S3_0_C0_C4_0", system.ID_AA64PFR0),
            ("S3_0_C0_C6_0", system.ID_AA64ISAR0), ("S3_0_C0_C6_1", system.ID_AA64ISAR1),
            ("S3_0_C0_C7_0", 0xFF000000), ("S3_0_C0_C2_7", 0), ("S3_0_C0_C0_5", 0x80000000)]
    words = gas("; ".join(f"mrs x{i}, {r}" for i, (r, _) in enumerate(regs)))
    import random
    st = random_state(random.Random(1))
    j = run_jit(words, st)
    assert j["reason"] == ExitReason.BRK
    assert [j["x"][i] for i in range(len(regs))] == [v for _, v in regs]


@pytest.mark.parametrize("feature", sorted(CLEAR_SAMPLES))
def test_unadvertised_feature_is_undefined(feature):
    import random
    words = gas(CLEAR_SAMPLES[feature], CLEAR_MARCH)
    j = run_jit(words, random_state(random.Random(2)))
    assert j["reason"] == ExitReason.UNDEF, f"{feature}: {CLEAR_SAMPLES[feature]} -> {j['reason']!r}"
