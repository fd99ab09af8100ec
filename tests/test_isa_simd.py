"""AdvSIMD (translator/isa/simd.py) against Unicorn.

Integer forms run from states whose V registers hold lanes of integer edge
values and small signed shift counts (tests/fpvals.py int_hook); FP forms
from interesting FP bit patterns (fp_hook) under FPCR = 0 and DN|FZ.  X/V
registers, NZCV and the whole FPSR (IOC DZC OFC UFC IXC IDC QC, exactly) are compared.  Each test runs a few
arrangements of one form in one snippet (distinct destination registers).

Dot product (SDOT/UDOT, FEAT_DotProd) and SQRDMLAH/SQRDMLSH (FEAT_RDM) are
assembled with binutils (keystone cannot), FP vector arithmetic also runs
under the directed FPCR.RMode values.

FEAT_I8MM (USDOT/SUDOT/SMMLA/UMMLA/USMMLA) is not in Unicorn 2.1 (QEMU 5):
it is checked against the pseudocode written out in this file and, as a
whole program, against qemu-aarch64 7.2 (tests/fixtures/fpsimd_i8mm.c).

Unicorn (QEMU 5) agreed with ARM on every case here, FPSR included (the
divergences the whole-FPSR comparison found were ours: tests/test_isa_vectors.py,
the vectors after "FPSR flags of AdvSIMD forms").
FRSQRTS computes (3 + x*y) / 2 with one rounding (ARM FPRSqrtStepFused);
our earlier fma-then-halve disagreed with Unicorn where the fma overflowed
or (under a directed mode) where the halving came second, which the
rounding-mode test found; both now agree with the pseudocode.
"""
import pytest

from tests.fpvals import CASES, check_flags, fp_hook, int_hook, DN, FZ
from tests.test_isa_fp import grouped

FPCR = [0, DN | FZ]


def _ids(lst):
    return [x[0] for x in lst]


INT = [
    # three same
    ("add", "add v0.16b, v1.16b, v2.16b; add v3.4h, v4.4h, v5.4h; add v6.2d, v7.2d, v8.2d; add d9, d10, d11"),
    ("sub", "sub v0.8b, v1.8b, v2.8b; sub v3.4s, v4.4s, v5.4s; sub d6, d7, d8"),
    ("shadd", "shadd v0.16b, v1.16b, v2.16b; shadd v3.4s, v4.4s, v5.4s"),
    ("uhadd", "uhadd v0.8h, v1.8h, v2.8h; uhadd v3.2s, v4.2s, v5.2s"),
    ("srhadd", "srhadd v0.8b, v1.8b, v2.8b; srhadd v3.8h, v4.8h, v5.8h"),
    ("urhadd", "urhadd v0.16b, v1.16b, v2.16b; urhadd v3.4s, v4.4s, v5.4s"),
    ("shsub", "shsub v0.16b, v1.16b, v2.16b; shsub v3.4s, v4.4s, v5.4s"),
    ("uhsub", "uhsub v0.4h, v1.4h, v2.4h; uhsub v3.4s, v4.4s, v5.4s"),
    ("sqadd", "sqadd v0.16b, v1.16b, v2.16b; sqadd v3.2d, v4.2d, v5.2d; sqadd h6, h7, h8; sqadd d9, d10, d11"),
    ("uqadd", "uqadd v0.8h, v1.8h, v2.8h; uqadd v3.2s, v4.2s, v5.2s; uqadd b6, b7, b8; uqadd d9, d10, d11"),
    ("sqsub", "sqsub v0.4s, v1.4s, v2.4s; sqsub v3.2d, v4.2d, v5.2d; sqsub s6, s7, s8"),
    ("uqsub", "uqsub v0.16b, v1.16b, v2.16b; uqsub v3.4h, v4.4h, v5.4h; uqsub b6, b7, b8"),
    ("cmgt", "cmgt v0.16b, v1.16b, v2.16b; cmgt v3.2d, v4.2d, v5.2d; cmgt d6, d7, d8"),
    ("cmhi", "cmhi v0.8h, v1.8h, v2.8h; cmhi v3.2s, v4.2s, v5.2s; cmhi d6, d7, d8"),
    ("cmge", "cmge v0.4s, v1.4s, v2.4s; cmge v3.8b, v4.8b, v5.8b; cmge d6, d7, d8"),
    ("cmhs", "cmhs v0.16b, v1.16b, v2.16b; cmhs v3.2d, v4.2d, v5.2d; cmhs d6, d7, d8"),
    ("cmtst", "cmtst v0.16b, v1.16b, v2.16b; cmtst v3.4h, v4.4h, v5.4h; cmtst d6, d7, d8"),
    ("cmeq", "cmeq v0.16b, v1.16b, v2.16b; cmeq v3.2d, v4.2d, v5.2d; cmeq d6, d7, d8"),
    ("sshl", "sshl v0.16b, v1.16b, v2.16b; sshl v3.4s, v4.4s, v5.4s; sshl v6.2d, v7.2d, v8.2d; sshl d9, d10, d11"),
    ("ushl", "ushl v0.8h, v1.8h, v2.8h; ushl v3.2s, v4.2s, v5.2s; ushl d9, d10, d11"),
    ("sqshl", "sqshl v0.16b, v1.16b, v2.16b; sqshl v3.8h, v4.8h, v5.8h; sqshl s6, s7, s8; sqshl d9, d10, d11"),
    ("uqshl", "uqshl v0.4s, v1.4s, v2.4s; uqshl v3.2d, v4.2d, v5.2d; uqshl h6, h7, h8"),
    ("srshl", "srshl v0.16b, v1.16b, v2.16b; srshl v3.2d, v4.2d, v5.2d; srshl d6, d7, d8"),
    ("urshl", "urshl v0.8h, v1.8h, v2.8h; urshl v3.4s, v4.4s, v5.4s; urshl d6, d7, d8"),
    ("sqrshl", "sqrshl v0.4s, v1.4s, v2.4s; sqrshl v3.16b, v4.16b, v5.16b; sqrshl b6, b7, b8"),
    ("uqrshl", "uqrshl v0.8b, v1.8b, v2.8b; uqrshl v3.2d, v4.2d, v5.2d; uqrshl s6, s7, s8"),
    ("smax", "smax v0.16b, v1.16b, v2.16b; smax v3.4s, v4.4s, v5.4s"),
    ("umax", "umax v0.8h, v1.8h, v2.8h; umax v3.2s, v4.2s, v5.2s"),
    ("smin", "smin v0.4h, v1.4h, v2.4h; smin v3.16b, v4.16b, v5.16b"),
    ("umin", "umin v0.4s, v1.4s, v2.4s; umin v3.8b, v4.8b, v5.8b"),
    ("sabd", "sabd v0.16b, v1.16b, v2.16b; sabd v3.4s, v4.4s, v5.4s"),
    ("uabd", "uabd v0.8h, v1.8h, v2.8h; uabd v3.2s, v4.2s, v5.2s"),
    ("saba", "saba v0.16b, v1.16b, v2.16b; saba v3.4h, v4.4h, v5.4h"),
    ("uaba", "uaba v0.4s, v1.4s, v2.4s; uaba v3.8b, v4.8b, v5.8b"),
    ("mla", "mla v0.16b, v1.16b, v2.16b; mla v3.8h, v4.8h, v5.8h"),
    ("mls", "mls v0.4s, v1.4s, v2.4s; mls v3.4h, v4.4h, v5.4h"),
    ("mul", "mul v0.16b, v1.16b, v2.16b; mul v3.4s, v4.4s, v5.4s"),
    ("pmul", "pmul v0.16b, v1.16b, v2.16b; pmul v3.8b, v4.8b, v5.8b"),
    ("smaxp", "smaxp v0.16b, v1.16b, v2.16b; smaxp v3.2s, v4.2s, v5.2s"),
    ("umaxp", "umaxp v0.16b, v1.16b, v2.16b; umaxp v3.4h, v4.4h, v5.4h"),
    ("sminp", "sminp v0.8h, v1.8h, v2.8h; sminp v3.8b, v4.8b, v5.8b"),
    ("uminp", "uminp v0.16b, v1.16b, v2.16b; uminp v3.4s, v4.4s, v5.4s"),
    ("sqdmulh", "sqdmulh v0.8h, v1.8h, v2.8h; sqdmulh v3.2s, v4.2s, v5.2s; sqdmulh h6, h7, h8"),
    ("sqrdmulh", "sqrdmulh v0.4s, v1.4s, v2.4s; sqrdmulh v3.4h, v4.4h, v5.4h; sqrdmulh s6, s7, s8"),
    ("addp", "addp v0.16b, v1.16b, v2.16b; addp v3.2d, v4.2d, v5.2d; addp v6.4h, v7.4h, v8.4h"),
    ("and", "and v0.16b, v1.16b, v2.16b; and v3.8b, v4.8b, v5.8b"),
    ("bic", "bic v0.16b, v1.16b, v2.16b; bic v3.8b, v4.8b, v5.8b"),
    ("orr", "orr v0.16b, v1.16b, v2.16b; mov v3.8b, v4.8b"),
    ("orn", "orn v0.16b, v1.16b, v2.16b; orn v3.8b, v4.8b, v5.8b"),
    ("eor", "eor v0.16b, v1.16b, v2.16b; eor v3.8b, v4.8b, v5.8b"),
    ("bsl", "bsl v0.16b, v1.16b, v2.16b; bsl v3.8b, v4.8b, v5.8b"),
    ("bit", "bit v0.16b, v1.16b, v2.16b; bit v3.8b, v4.8b, v5.8b"),
    ("bif", "bif v0.16b, v1.16b, v2.16b; bif v3.8b, v4.8b, v5.8b"),
    # three different
    ("saddl", "saddl v0.8h, v1.8b, v2.8b; saddl2 v3.2d, v4.4s, v5.4s"),
    ("uaddl", "uaddl v0.4s, v1.4h, v2.4h; uaddl2 v3.8h, v4.16b, v5.16b"),
    ("saddw", "saddw v0.2d, v1.2d, v2.2s; saddw2 v3.4s, v4.4s, v5.8h"),
    ("uaddw", "uaddw v0.8h, v1.8h, v2.8b; uaddw2 v3.2d, v4.2d, v5.4s"),
    ("ssubl", "ssubl v0.4s, v1.4h, v2.4h; ssubl2 v3.8h, v4.16b, v5.16b"),
    ("usubl", "usubl v0.2d, v1.2s, v2.2s; usubl2 v3.4s, v4.8h, v5.8h"),
    ("ssubw", "ssubw v0.8h, v1.8h, v2.8b; ssubw2 v3.2d, v4.2d, v5.4s"),
    ("usubw", "usubw v0.4s, v1.4s, v2.4h; usubw2 v3.8h, v4.8h, v5.16b"),
    ("addhn", "addhn v0.8b, v1.8h, v2.8h; addhn2 v3.4s, v4.2d, v5.2d"),
    ("raddhn", "raddhn v0.4h, v1.4s, v2.4s; raddhn2 v3.16b, v4.8h, v5.8h"),
    ("subhn", "subhn v0.2s, v1.2d, v2.2d; subhn2 v3.16b, v4.8h, v5.8h"),
    ("rsubhn", "rsubhn v0.8b, v1.8h, v2.8h; rsubhn2 v3.8h, v4.4s, v5.4s"),
    ("sabal", "sabal v0.4s, v1.4h, v2.4h; sabal2 v3.8h, v4.16b, v5.16b"),
    ("uabal", "uabal v0.2d, v1.2s, v2.2s; uabal2 v3.8h, v4.16b, v5.16b"),
    ("sabdl", "sabdl v0.8h, v1.8b, v2.8b; sabdl2 v3.2d, v4.4s, v5.4s"),
    ("uabdl", "uabdl v0.4s, v1.4h, v2.4h; uabdl2 v3.8h, v4.16b, v5.16b"),
    ("smlal", "smlal v0.8h, v1.8b, v2.8b; smlal2 v3.2d, v4.4s, v5.4s"),
    ("umlal", "umlal v0.4s, v1.4h, v2.4h; umlal2 v3.8h, v4.16b, v5.16b"),
    ("smlsl", "smlsl v0.2d, v1.2s, v2.2s; smlsl2 v3.4s, v4.8h, v5.8h"),
    ("umlsl", "umlsl v0.8h, v1.8b, v2.8b; umlsl2 v3.2d, v4.4s, v5.4s"),
    ("smull", "smull v0.8h, v1.8b, v2.8b; smull2 v3.2d, v4.4s, v5.4s"),
    ("umull", "umull v0.4s, v1.4h, v2.4h; umull2 v3.8h, v4.16b, v5.16b"),
    ("sqdmull", "sqdmull v0.4s, v1.4h, v2.4h; sqdmull2 v3.2d, v4.4s, v5.4s; sqdmull s6, h7, h8; sqdmull d9, s10, s11"),
    ("sqdmlal", "sqdmlal v0.4s, v1.4h, v2.4h; sqdmlal2 v3.2d, v4.4s, v5.4s; sqdmlal d6, s7, s8"),
    ("sqdmlsl", "sqdmlsl v0.2d, v1.2s, v2.2s; sqdmlsl2 v3.4s, v4.8h, v5.8h; sqdmlsl s6, h7, h8"),
    ("pmull", "pmull v0.8h, v1.8b, v2.8b; pmull2 v3.8h, v4.16b, v5.16b"),
    # two-register misc
    ("rev64", "rev64 v0.16b, v1.16b; rev64 v2.4h, v3.4h; rev64 v4.4s, v5.4s"),
    ("rev32", "rev32 v0.16b, v1.16b; rev32 v2.4h, v3.4h"),
    ("rev16", "rev16 v0.16b, v1.16b; rev16 v2.8b, v3.8b"),
    ("saddlp", "saddlp v0.8h, v1.16b; saddlp v2.1d, v3.2s; saddlp v4.2s, v5.4h"),
    ("uaddlp", "uaddlp v0.4s, v1.8h; uaddlp v2.4h, v3.8b; uaddlp v4.2d, v5.4s"),
    ("sadalp", "sadalp v0.2d, v1.4s; sadalp v2.4h, v3.8b"),
    ("uadalp", "uadalp v0.8h, v1.16b; uadalp v2.1d, v3.2s"),
    ("suqadd", "suqadd v0.16b, v1.16b; suqadd v2.2d, v3.2d; suqadd s4, s5"),
    ("usqadd", "usqadd v0.8h, v1.8h; usqadd v2.2s, v3.2s; usqadd d4, d5"),
    ("cls", "cls v0.16b, v1.16b; cls v2.4s, v3.4s; cls v4.4h, v5.4h"),
    ("clz", "clz v0.8b, v1.8b; clz v2.8h, v3.8h; clz v4.4s, v5.4s"),
    ("cnt", "cnt v0.16b, v1.16b; cnt v2.8b, v3.8b"),
    ("sqabs", "sqabs v0.16b, v1.16b; sqabs v2.2d, v3.2d; sqabs h4, h5"),
    ("sqneg", "sqneg v0.4s, v1.4s; sqneg v2.8b, v3.8b; sqneg d4, d5"),
    ("cmgt_zero", "cmgt v0.16b, v1.16b, #0; cmgt v2.2d, v3.2d, #0; cmgt d4, d5, #0"),
    ("cmeq_zero", "cmeq v0.8h, v1.8h, #0; cmeq v2.2s, v3.2s, #0; cmeq d4, d5, #0"),
    ("cmlt_zero", "cmlt v0.4s, v1.4s, #0; cmlt v2.8b, v3.8b, #0; cmlt d4, d5, #0"),
    ("cmge_zero", "cmge v0.16b, v1.16b, #0; cmge v2.4h, v3.4h, #0; cmge d4, d5, #0"),
    ("cmle_zero", "cmle v0.2d, v1.2d, #0; cmle v2.8b, v3.8b, #0; cmle d4, d5, #0"),
    ("abs", "abs v0.16b, v1.16b; abs v2.2d, v3.2d; abs d4, d5"),
    ("neg", "neg v0.8h, v1.8h; neg v2.2s, v3.2s; neg d4, d5"),
    ("xtn", "xtn v0.8b, v1.8h; xtn2 v2.4s, v3.2d; xtn v4.4h, v5.4s"),
    ("sqxtn", "sqxtn v0.8b, v1.8h; sqxtn2 v2.4s, v3.2d; sqxtn h4, s5; sqxtn b6, h7"),
    ("uqxtn", "uqxtn v0.4h, v1.4s; uqxtn2 v2.16b, v3.8h; uqxtn s4, d5"),
    ("sqxtun", "sqxtun v0.2s, v1.2d; sqxtun2 v2.8h, v3.4s; sqxtun b4, h5"),
    ("shll", "shll v0.8h, v1.8b, #8; shll2 v2.2d, v3.4s, #32; shll v4.4s, v5.4h, #16"),
    ("not", "not v0.16b, v1.16b; mvn v2.8b, v3.8b"),
    ("rbit", "rbit v0.16b, v1.16b; rbit v2.8b, v3.8b"),
    ("urecpe", "urecpe v0.4s, v1.4s; urecpe v2.2s, v3.2s"),
    ("ursqrte", "ursqrte v0.4s, v1.4s; ursqrte v2.2s, v3.2s"),
    # across lanes / pairwise scalar
    ("addv", "addv b0, v1.16b; addv h2, v3.4h; addv s4, v5.4s"),
    ("saddlv", "saddlv h0, v1.16b; saddlv s2, v3.4h; saddlv d4, v5.4s"),
    ("uaddlv", "uaddlv h0, v1.8b; uaddlv s2, v3.8h; uaddlv d4, v5.4s"),
    ("smaxv", "smaxv b0, v1.16b; smaxv h2, v3.4h; smaxv s4, v5.4s"),
    ("umaxv", "umaxv b0, v1.8b; umaxv h2, v3.8h; umaxv s4, v5.4s"),
    ("sminv", "sminv b0, v1.16b; sminv h2, v3.8h"),
    ("uminv", "uminv b0, v1.16b; uminv s2, v3.4s"),
    ("addp_scalar", "addp d0, v1.2d"),
    # copy
    ("dup_element", "dup v0.16b, v1.b[5]; dup v2.2d, v3.d[1]; dup v4.4h, v5.h[7]; dup v6.2s, v7.s[3]"),
    ("dup_element_scalar", "mov b0, v1.b[15]; mov h2, v3.h[3]; mov s4, v5.s[2]; mov d6, v7.d[1]"),
    ("dup_general", "dup v0.16b, w1; dup v2.2d, x3; dup v4.4h, w5; dup v6.4s, w7"),
    ("ins_general", "mov v0.d[1], x1; mov v2.b[3], w3; mov v4.h[6], w5; mov v6.s[2], w7"),
    ("ins_element", "mov v0.s[2], v1.s[1]; mov v2.b[9], v3.b[14]; mov v4.d[0], v5.d[1]; mov v6.h[7], v6.h[0]"),
    ("umov", "umov w0, v1.b[3]; umov w2, v3.h[7]; mov w4, v5.s[3]; mov x6, v7.d[1]"),
    ("smov", "smov w0, v1.b[3]; smov x2, v3.h[7]; smov x4, v5.s[1]; smov w6, v7.h[2]"),
    # modified immediate
    ("movi", "movi v0.16b, #0xab; movi v1.4s, #0x12, lsl #24; movi v2.2s, #0x12, msl #16; "
             "movi v3.4h, #0x34, lsl #8; movi d4, #0xff00ff00ff0000ff; movi v5.2d, #0xff000000000000ff; "
             "movi v6.8b, #0x7f; movi v7.4s, #0x5, msl #8"),
    ("mvni", "mvni v0.4s, #0x12, lsl #8; mvni v1.8h, #0x12; mvni v2.4s, #0x5, msl #8; mvni v3.2s, #0x80, lsl #24"),
    ("orr_imm", "orr v0.4s, #0x12, lsl #16; orr v1.4h, #0x12, lsl #8; orr v2.2s, #0xff"),
    ("bic_imm", "bic v0.8h, #0xf, lsl #8; bic v1.2s, #0x80, lsl #24; bic v2.4s, #0x1"),
    ("fmov_vec_imm", "fmov v0.4s, #1.0; fmov v1.2d, #-2.5; fmov v2.2s, #0.125"),
    # shift by immediate
    ("sshr", "sshr v0.16b, v1.16b, #3; sshr v2.2d, v3.2d, #64; sshr v4.4h, v5.4h, #16; sshr d6, d7, #1"),
    ("ushr", "ushr v0.4s, v1.4s, #32; ushr v2.8b, v3.8b, #1; ushr d4, d5, #64"),
    ("ssra", "ssra v0.8h, v1.8h, #16; ssra v2.2s, v3.2s, #5; ssra d4, d5, #63"),
    ("usra", "usra v0.16b, v1.16b, #8; usra d2, d3, #64"),
    ("srshr", "srshr v0.4s, v1.4s, #1; srshr v2.16b, v3.16b, #8; srshr d4, d5, #64"),
    ("urshr", "urshr v0.16b, v1.16b, #8; urshr v2.2d, v3.2d, #33; urshr d4, d5, #1"),
    ("srsra", "srsra v0.8h, v1.8h, #3; srsra d2, d3, #63"),
    ("ursra", "ursra v0.2d, v1.2d, #64; ursra v2.4h, v3.4h, #16; ursra d4, d5, #2"),
    ("sri", "sri v0.8b, v1.8b, #3; sri v2.2d, v3.2d, #64; sri d4, d5, #64; sri v6.4s, v7.4s, #1"),
    ("shl", "shl v0.4s, v1.4s, #31; shl v2.16b, v3.16b, #0; shl d4, d5, #3"),
    ("sli", "sli v0.16b, v1.16b, #0; sli v2.8h, v3.8h, #15; sli d4, d5, #63"),
    ("sqshlu", "sqshlu v0.8h, v1.8h, #5; sqshlu v2.2d, v3.2d, #63; sqshlu s4, s5, #31; sqshlu b6, b7, #0"),
    ("sqshl_imm", "sqshl v0.16b, v1.16b, #7; sqshl v2.4s, v3.4s, #1; sqshl d4, d5, #1; sqshl h6, h7, #15"),
    ("uqshl_imm", "uqshl v0.4s, v1.4s, #3; uqshl v2.2d, v3.2d, #60; uqshl b4, b5, #4; uqshl d6, d7, #0"),
    ("shrn", "shrn v0.8b, v1.8h, #3; shrn2 v2.4s, v3.2d, #32; shrn v4.4h, v5.4s, #1"),
    ("rshrn", "rshrn v0.4h, v1.4s, #16; rshrn2 v2.16b, v3.8h, #1; rshrn v4.2s, v5.2d, #32"),
    ("sqshrun", "sqshrun v0.8b, v1.8h, #2; sqshrun2 v2.4s, v3.2d, #32; sqshrun s4, d5, #5"),
    ("sqrshrun", "sqrshrun v0.4h, v1.4s, #9; sqrshrun2 v2.8h, v3.4s, #16; sqrshrun b4, h5, #1"),
    ("sqshrn", "sqshrn v0.2s, v1.2d, #7; sqshrn2 v2.16b, v3.8h, #8; sqshrn b4, h5, #8"),
    ("uqshrn", "uqshrn v0.4h, v1.4s, #1; uqshrn2 v2.4s, v3.2d, #20; uqshrn h4, s5, #16"),
    ("sqrshrn", "sqrshrn v0.8b, v1.8h, #1; sqrshrn2 v2.8h, v3.4s, #16; sqrshrn h4, s5, #3"),
    ("uqrshrn", "uqrshrn v0.2s, v1.2d, #32; uqrshrn2 v2.16b, v3.8h, #4; uqrshrn s4, d5, #1"),
    ("sshll", "sshll v0.8h, v1.8b, #3; sshll2 v2.2d, v3.4s, #31; sxtl v4.4s, v5.4h"),
    ("ushll", "ushll v0.4s, v1.4h, #15; ushll2 v2.8h, v3.16b, #0; uxtl2 v4.2d, v5.4s"),
    # by element
    ("mul_elem", "mul v0.8h, v1.8h, v2.h[7]; mul v3.2s, v4.2s, v20.s[3]; mul v5.4h, v6.4h, v15.h[0]"),
    ("mla_elem", "mla v0.4h, v1.4h, v15.h[2]; mla v3.4s, v4.4s, v31.s[1]"),
    ("mls_elem", "mls v0.8h, v1.8h, v2.h[5]; mls v3.2s, v4.2s, v5.s[0]"),
    ("sqdmulh_elem", "sqdmulh v0.8h, v1.8h, v2.h[5]; sqdmulh v3.2s, v4.2s, v5.s[3]; sqdmulh s6, s7, v8.s[1]"),
    ("sqrdmulh_elem", "sqrdmulh v0.4s, v1.4s, v2.s[2]; sqrdmulh h3, h4, v5.h[6]"),
    ("smlal_elem", "smlal v0.4s, v1.4h, v2.h[3]; smlal2 v3.2d, v4.4s, v5.s[3]"),
    ("umlal_elem", "umlal v0.2d, v1.2s, v2.s[1]; umlal2 v3.4s, v4.8h, v5.h[4]"),
    ("smlsl_elem", "smlsl2 v0.4s, v1.8h, v2.h[4]; smlsl v3.2d, v4.2s, v5.s[0]"),
    ("umlsl_elem", "umlsl v0.2d, v1.2s, v2.s[1]; umlsl2 v3.4s, v4.8h, v5.h[7]"),
    ("smull_elem", "smull v0.4s, v1.4h, v2.h[7]; smull2 v3.2d, v4.4s, v5.s[2]"),
    ("umull_elem", "umull2 v0.2d, v1.4s, v2.s[2]; umull v3.4s, v4.4h, v5.h[1]"),
    ("sqdmull_elem", "sqdmull v0.4s, v1.4h, v2.h[0]; sqdmull2 v3.2d, v4.4s, v5.s[3]; sqdmull s6, h7, v8.h[3]"),
    ("sqdmlal_elem", "sqdmlal v0.4s, v1.4h, v2.h[1]; sqdmlal2 v3.2d, v4.4s, v5.s[0]; sqdmlal d6, s7, v8.s[3]"),
    ("sqdmlsl_elem", "sqdmlsl v0.2d, v1.2s, v2.s[3]; sqdmlsl2 v3.4s, v4.8h, v5.h[2]; sqdmlsl s6, h7, v8.h[5]"),
    # permute / extract / table
    ("uzp1", "uzp1 v0.16b, v1.16b, v2.16b; uzp1 v3.4s, v4.4s, v5.4s; uzp1 v6.2s, v7.2s, v8.2s"),
    ("uzp2", "uzp2 v0.4h, v1.4h, v2.4h; uzp2 v3.2d, v4.2d, v5.2d"),
    ("trn1", "trn1 v0.8b, v1.8b, v2.8b; trn1 v3.8h, v4.8h, v5.8h; trn1 v6.2d, v7.2d, v8.2d"),
    ("trn2", "trn2 v0.4s, v1.4s, v2.4s; trn2 v3.16b, v4.16b, v5.16b"),
    ("zip1", "zip1 v0.8h, v1.8h, v2.8h; zip1 v3.8b, v4.8b, v5.8b; zip1 v6.2d, v7.2d, v8.2d"),
    ("zip2", "zip2 v0.2d, v1.2d, v2.2d; zip2 v3.2s, v4.2s, v5.2s; zip2 v6.16b, v7.16b, v8.16b"),
    ("ext", "ext v0.16b, v1.16b, v2.16b, #3; ext v3.8b, v4.8b, v5.8b, #7; ext v6.16b, v7.16b, v8.16b, #0"),
    ("tbl", "tbl v0.16b, {v1.16b}, v2.16b; tbl v3.8b, {v30.16b, v31.16b}, v4.8b; "
            "tbl v5.16b, {v6.16b, v7.16b, v8.16b}, v9.16b; tbl v10.16b, {v31.16b, v0.16b, v1.16b, v2.16b}, v11.16b"),
    ("tbx", "tbx v0.16b, {v1.16b, v2.16b, v3.16b}, v4.16b; tbx v5.8b, {v6.16b, v7.16b, v8.16b, v9.16b}, v10.8b; "
            "tbx v11.16b, {v12.16b}, v13.16b"),
]

# small-index table lookups: index lanes in range most of the time
TBL_SMALL = "tbl v0.16b, {v1.16b, v2.16b}, v3.16b; tbx v4.16b, {v5.16b, v6.16b, v7.16b}, v8.16b"


def _small_index_hook(rng, st):
    int_hook(rng, st)
    for n in (3, 8):
        st["vregs"][n] = sum(rng.randrange(0, 56) << (8 * k) for k in range(16))


# FP vector / scalar forms (name, asm, FP width)
FP = [
    ("fadd_v", "fadd v0.4s, v1.4s, v2.4s; fadd v3.2s, v4.2s, v5.2s", 32),
    ("fsub_v", "fsub v0.2d, v1.2d, v2.2d", 64),
    ("fmul_v", "fmul v0.4s, v1.4s, v2.4s; fmul v3.2s, v4.2s, v5.2s", 32),
    ("fdiv_v", "fdiv v0.2d, v1.2d, v2.2d", 64),
    ("fmax_v", "fmax v0.4s, v1.4s, v2.4s", 32),
    ("fmin_v", "fmin v0.2d, v1.2d, v2.2d", 64),
    ("fmaxnm_v", "fmaxnm v0.4s, v1.4s, v2.4s; fmaxnm v3.2s, v4.2s, v5.2s", 32),
    ("fminnm_v", "fminnm v0.2d, v1.2d, v2.2d", 64),
    ("fmla_v", "fmla v0.4s, v1.4s, v2.4s", 32),
    ("fmls_v", "fmls v0.2d, v1.2d, v2.2d", 64),
    ("fmulx", "fmulx v0.4s, v1.4s, v2.4s; fmulx s3, s4, s5", 32),
    ("fmulx_d", "fmulx v0.2d, v1.2d, v2.2d; fmulx d3, d4, d5", 64),
    ("frecps", "frecps v0.4s, v1.4s, v2.4s; frecps s3, s4, s5", 32),
    ("frecps_d", "frecps d0, d1, d2", 64),
    ("frsqrts", "frsqrts v0.4s, v1.4s, v2.4s; frsqrts s3, s4, s5", 32),
    ("frsqrts_d", "frsqrts v0.2d, v1.2d, v2.2d", 64),
    ("fabd", "fabd v0.4s, v1.4s, v2.4s; fabd s3, s4, s5", 32),
    ("fcmeq", "fcmeq v0.4s, v1.4s, v2.4s; fcmeq s3, s4, s5", 32),
    ("fcmge", "fcmge v0.2d, v1.2d, v2.2d; fcmge d3, d4, d5", 64),
    ("fcmgt", "fcmgt v0.4s, v1.4s, v2.4s; fcmgt s3, s4, s5", 32),
    ("facge", "facge v0.4s, v1.4s, v2.4s; facge s3, s4, s5", 32),
    ("facgt", "facgt v0.2d, v1.2d, v2.2d; facgt d3, d4, d5", 64),
    ("faddp_v", "faddp v0.4s, v1.4s, v2.4s; faddp v3.2d, v4.2d, v5.2d", 32),
    ("fmaxp_v", "fmaxp v0.4s, v1.4s, v2.4s", 32),
    ("fminp_v", "fminp v0.2s, v1.2s, v2.2s", 32),
    ("fmaxnmp_v", "fmaxnmp v0.2d, v1.2d, v2.2d", 64),
    ("fminnmp_v", "fminnmp v0.4s, v1.4s, v2.4s", 32),
    ("faddp_s", "faddp s0, v1.2s; faddp d2, v3.2d", 32),
    ("fmaxp_s", "fmaxp s0, v1.2s", 32),
    ("fminp_s", "fminp d0, v1.2d", 64),
    ("fmaxnmp_s", "fmaxnmp d0, v1.2d", 64),
    ("fminnmp_s", "fminnmp s0, v1.2s", 32),
    ("fmaxv", "fmaxv s0, v1.4s", 32),
    ("fminv", "fminv s0, v1.4s", 32),
    ("fmaxnmv", "fmaxnmv s0, v1.4s", 32),
    ("fminnmv", "fminnmv s0, v1.4s", 32),
    ("frintn_v", "frintn v0.4s, v1.4s", 32),
    ("frintm_v", "frintm v0.2d, v1.2d", 64),
    ("frintp_v", "frintp v0.4s, v1.4s", 32),
    ("frintz_v", "frintz v0.2s, v1.2s", 32),
    ("frinta_v", "frinta v0.2d, v1.2d", 64),
    ("frintx_v", "frintx v0.4s, v1.4s", 32),
    ("frinti_v", "frinti v0.2d, v1.2d", 64),
    ("fcvtns_v", "fcvtns v0.4s, v1.4s; fcvtns s2, s3", 32),
    ("fcvtnu_v", "fcvtnu v0.2d, v1.2d; fcvtnu d2, d3", 64),
    ("fcvtms_v", "fcvtms v0.4s, v1.4s; fcvtms s2, s3", 32),
    ("fcvtmu_v", "fcvtmu v0.2s, v1.2s; fcvtmu s2, s3", 32),
    ("fcvtps_v", "fcvtps v0.2d, v1.2d; fcvtps d2, d3", 64),
    ("fcvtpu_v", "fcvtpu v0.4s, v1.4s; fcvtpu s2, s3", 32),
    ("fcvtzs_v", "fcvtzs v0.4s, v1.4s; fcvtzs d2, d3", 32),
    ("fcvtzu_v", "fcvtzu v0.2d, v1.2d; fcvtzu s2, s3", 64),
    ("fcvtas_v", "fcvtas v0.4s, v1.4s; fcvtas s2, s3", 32),
    ("fcvtau_v", "fcvtau v0.2d, v1.2d; fcvtau d2, d3", 64),
    ("fcmgt_zero", "fcmgt v0.4s, v1.4s, #0.0; fcmgt s2, s3, #0.0", 32),
    ("fcmeq_zero", "fcmeq v0.2d, v1.2d, #0.0; fcmeq d2, d3, #0.0", 64),
    ("fcmlt_zero", "fcmlt v0.4s, v1.4s, #0.0; fcmlt s2, s3, #0.0", 32),
    ("fcmge_zero", "fcmge v0.2d, v1.2d, #0.0; fcmge d2, d3, #0.0", 64),
    ("fcmle_zero", "fcmle v0.4s, v1.4s, #0.0; fcmle s2, s3, #0.0", 32),
    ("fabs_v", "fabs v0.4s, v1.4s; fabs v2.2d, v3.2d", 32),
    ("fneg_v", "fneg v0.2s, v1.2s; fneg v2.2d, v3.2d", 32),
    ("fsqrt_v", "fsqrt v0.4s, v1.4s", 32),
    ("fsqrt_v_d", "fsqrt v0.2d, v1.2d", 64),
    ("fcvtn", "fcvtn v0.4h, v1.4s; fcvtn2 v2.8h, v3.4s", 32),
    ("fcvtn_d", "fcvtn v0.2s, v1.2d; fcvtn2 v2.4s, v3.2d", 64),
    ("fcvtxn", "fcvtxn v0.2s, v1.2d; fcvtxn2 v2.4s, v3.2d; fcvtxn s4, d5", 64),
    ("fcvtl", "fcvtl v0.2d, v1.2s; fcvtl2 v2.2d, v3.4s", 32),
    ("fcvtl_h", "fcvtl v0.4s, v1.4h; fcvtl2 v2.4s, v3.8h", 16),
    ("frecpe", "frecpe v0.4s, v1.4s; frecpe s2, s3", 32),
    ("frecpe_d", "frecpe v0.2d, v1.2d; frecpe d2, d3", 64),
    ("frsqrte", "frsqrte v0.4s, v1.4s; frsqrte s2, s3", 32),
    ("frsqrte_d", "frsqrte v0.2d, v1.2d; frsqrte d2, d3", 64),
    ("frecpx", "frecpx s0, s1; frecpx d2, d3", 32),
    ("fmla_elem", "fmla v0.4s, v1.4s, v2.s[3]; fmla s3, s4, v5.s[1]", 32),
    ("fmls_elem", "fmls v0.2s, v1.2s, v2.s[1]; fmls s3, s4, v31.s[3]", 32),
    ("fmul_elem", "fmul v0.4s, v1.4s, v2.s[2]; fmul s3, s4, v5.s[0]", 32),
    ("fmulx_elem", "fmulx v0.4s, v1.4s, v2.s[0]; fmulx s3, s4, v5.s[2]", 32),
    ("fp_elem_d", "fmla v0.2d, v1.2d, v2.d[1]; fmul d3, d4, v5.d[1]; fmulx v6.2d, v7.2d, v8.d[0]; "
                  "fmls d9, d10, v11.d[0]", 64),
]

# integer <-> FP conversions from integer lanes
FP_FROM_INT = [
    ("scvtf_v", "scvtf v0.4s, v1.4s; scvtf v2.2d, v3.2d; scvtf s4, s5; scvtf d6, d7"),
    ("ucvtf_v", "ucvtf v0.2s, v1.2s; ucvtf v2.2d, v3.2d; ucvtf s4, s5; ucvtf d6, d7"),
    ("scvtf_fixed_v", "scvtf v0.4s, v1.4s, #3; scvtf v2.2d, v3.2d, #64; scvtf s4, s5, #32; scvtf d6, d7, #1"),
    ("ucvtf_fixed_v", "ucvtf v0.4s, v1.4s, #32; ucvtf v2.2d, v3.2d, #3; ucvtf s4, s5, #1; ucvtf d6, d7, #64"),
]

FP_TO_FIXED = [
    ("fcvtzs_fixed_v", "fcvtzs v0.4s, v1.4s, #1; fcvtzs s2, s3, #32", 32),
    ("fcvtzu_fixed_v", "fcvtzu v0.2s, v1.2s, #7; fcvtzu s2, s3, #17", 32),
    ("fcvtzs_fixed_d", "fcvtzs v0.2d, v1.2d, #1; fcvtzs d2, d3, #64", 64),
    ("fcvtzu_fixed_d", "fcvtzu v0.2d, v1.2d, #40; fcvtzu d2, d3, #3", 64),
]

# FRINT32Z/32X/64Z/64X (vector): keystone 0.9.2 has no syntax; encode.
FRINT_TS_V = [("frint32z_v", 0, 0b11110), ("frint32x_v", 1, 0b11110),
              ("frint64z_v", 0, 0b11111), ("frint64x_v", 1, 0b11111)]


INT_G = grouped(INT)
FP_G = grouped(FP)


@pytest.mark.parametrize("name,text", INT_G, ids=_ids(INT_G))
def test_int(name, text):
    check_flags(text, int_hook)


def test_tbl_in_range_indexes():
    check_flags(TBL_SMALL, _small_index_hook)


@pytest.mark.parametrize("fpcr", FPCR)
@pytest.mark.parametrize("name,text,bits", FP_G, ids=_ids(FP_G))
def test_fp(name, text, bits, fpcr):
    check_flags(text, fp_hook(bits), fpcr=fpcr)


@pytest.mark.parametrize("name,text", FP_FROM_INT, ids=_ids(FP_FROM_INT))
def test_fp_from_int(name, text):
    check_flags(text, int_hook)


@pytest.mark.parametrize("fpcr", FPCR)
@pytest.mark.parametrize("name,text,bits", FP_TO_FIXED, ids=_ids(FP_TO_FIXED))
def test_fp_to_fixed(name, text, bits, fpcr):
    check_flags(text, fp_hook(bits), fpcr=fpcr)


@pytest.mark.parametrize("fpcr", FPCR + [1 << 22, 2 << 22, 3 << 22])
@pytest.mark.parametrize("text,bits", [("frintx v0.4s, v1.4s; frinti v2.4s, v3.4s", 32),
                                       ("frintx v0.2d, v1.2d; frinti v2.2d, v3.2d", 64),
                                       ("frecpe v0.4s, v1.4s; frecpe d2, d3", 32)])
def test_fp_rounding_mode(text, bits, fpcr):
    """FRINTX/FRINTI (and FRECPE's overflow) follow FPCR.RMode."""
    check_flags(text, fp_hook(bits), fpcr=fpcr)


@pytest.mark.parametrize("fpcr", FPCR)
@pytest.mark.parametrize("name,u,opc", FRINT_TS_V, ids=_ids(FRINT_TS_V))
@pytest.mark.parametrize("sz,q", [(0, 1), (1, 1), (0, 0)])
def test_frint_ts_vector(name, u, opc, sz, q, fpcr):
    # 0 Q U 01110 0 sz 10000 opcode 10 Rn Rd
    word = 0x0E200800 | (q << 30) | (u << 29) | (sz << 22) | (opc << 12) | (1 << 5)
    check_flags([word], fp_hook(64 if sz else 32), fpcr=fpcr)


@pytest.mark.parametrize("word,what", [
    (0x0EE08400, "ADD .1D (size 11, Q=0) is reserved"),
    (0x0E205800 | (3 << 22), "CNT with size 11 is unallocated"),
    (0x0F000400 | (0xF << 12) | (1 << 29), "FMOV Vd.1D (op=1, cmode 1111, Q=0) is unallocated"),
    (0x0E000400 | (0 << 16), "DUP with imm5 = 0 is unallocated"),
    (0x2E004000 | (1 << 14) | (1 << 11), "EXT .8B with imm4 >= 8 is reserved"),
])
def test_reserved_is_undefined(word, what):
    check_flags([word], cases=3, expect="undef")


def _gas(text):
    from tests.test_isa_crypto import gas
    return gas(text)


DOT_RDM = [
    ("sdot_udot", "sdot v0.4s, v1.16b, v2.16b; udot v3.2s, v4.8b, v5.8b; "
                  "sdot v6.2s, v7.8b, v8.8b; udot v9.4s, v10.16b, v11.16b"),
    ("dot_elem", "sdot v0.4s, v1.16b, v2.4b[3]; udot v3.2s, v4.8b, v31.4b[1]; "
                 "udot v5.4s, v6.16b, v7.4b[0]; sdot v8.2s, v9.8b, v20.4b[2]"),
    ("sqrdmlah", "sqrdmlah v0.8h, v1.8h, v2.8h; sqrdmlah v3.2s, v4.2s, v5.2s; "
                 "sqrdmlah h6, h7, h8; sqrdmlah s9, s10, s11"),
    ("sqrdmlsh", "sqrdmlsh v0.4h, v1.4h, v2.4h; sqrdmlsh v3.4s, v4.4s, v5.4s; "
                 "sqrdmlsh h6, h7, h8; sqrdmlsh s9, s10, s11"),
    ("sqrdmlah_elem", "sqrdmlah v0.8h, v1.8h, v2.h[7]; sqrdmlah v3.2s, v4.2s, v5.s[3]; "
                      "sqrdmlah h6, h7, v8.h[1]; sqrdmlah s9, s10, v11.s[2]"),
    ("sqrdmlsh_elem", "sqrdmlsh v0.4h, v1.4h, v15.h[3]; sqrdmlsh v3.4s, v4.4s, v5.s[1]; "
                      "sqrdmlsh h6, h7, v8.h[5]; sqrdmlsh s9, s10, v11.s[0]"),
]


FCMA = [   # (name, asm, FP width): FEAT_FCMA, single and double precision
    ("fcadd", "fcadd v0.4s, v1.4s, v2.4s, #90; fcadd v3.2s, v4.2s, v5.2s, #270", 32),
    ("fcadd_d", "fcadd v0.2d, v1.2d, v2.2d, #90; fcadd v3.2d, v4.2d, v5.2d, #270", 64),
    ("fcmla", "fcmla v0.4s, v1.4s, v2.4s, #0; fcmla v3.2s, v4.2s, v5.2s, #90; "
              "fcmla v6.4s, v7.4s, v8.4s, #180; fcmla v9.4s, v10.4s, v11.4s, #270", 32),
    ("fcmla_d", "fcmla v0.2d, v1.2d, v2.2d, #0; fcmla v3.2d, v4.2d, v5.2d, #90; "
                "fcmla v6.2d, v7.2d, v8.2d, #180; fcmla v9.2d, v10.2d, v11.2d, #270", 64),
    ("fcmla_elem", "fcmla v0.4s, v1.4s, v2.s[0], #0; fcmla v3.4s, v4.4s, v5.s[1], #90; "
                   "fcmla v6.4s, v7.4s, v31.s[1], #180; fcmla v9.4s, v10.4s, v11.s[0], #270", 32),
]


@pytest.mark.parametrize("fpcr", FPCR + [1 << 22])
@pytest.mark.parametrize("name,text,bits", FCMA, ids=_ids(FCMA))
def test_fcma(name, text, bits, fpcr):
    check_flags(_gas(text), fp_hook(bits), fpcr=fpcr)


@pytest.mark.parametrize("name,text", DOT_RDM, ids=_ids(DOT_RDM))
def test_dot_and_rdm(name, text):
    check_flags(_gas(text), int_hook, cases=max(40, CASES))


FP_RMODE = [
    ("arith_s", "fadd v0.4s, v1.4s, v2.4s; fmul v3.2s, v4.2s, v5.2s; fdiv v6.4s, v7.4s, v8.4s; "
                "fmla v9.4s, v10.4s, v11.4s; fsqrt v12.4s, v13.4s; faddp v14.4s, v15.4s, v16.4s", 32),
    ("arith_d", "fsub v0.2d, v1.2d, v2.2d; fmul v3.2d, v4.2d, v5.d[1]; fmls v6.2d, v7.2d, v8.2d; "
                "fabd v9.2d, v10.2d, v11.2d; fmulx d12, d13, d14", 64),
    ("steps", "frecps v0.4s, v1.4s, v2.4s; frsqrts v3.4s, v4.4s, v5.4s; frsqrts d6, d7, d8", 32),
    ("narrow", "fcvtn v0.4h, v1.4s; fcvtn2 v2.8h, v3.4s", 32),
    ("narrow_d", "fcvtn v0.2s, v1.2d; fcvtn2 v2.4s, v3.2d", 64),
]


@pytest.mark.parametrize("fpcr", [1 << 22, 2 << 22, 3 << 22, (2 << 22) | FZ])
@pytest.mark.parametrize("name,text,bits", FP_RMODE, ids=_ids(FP_RMODE))
def test_fp_directed_rounding(name, text, bits, fpcr):
    check_flags(text, fp_hook(bits), fpcr=fpcr)


@pytest.mark.parametrize("fpcr", [1 << 22, 3 << 22])
def test_int_to_fp_directed_rounding(fpcr):
    check_flags("scvtf v0.4s, v1.4s; ucvtf v2.2d, v3.2d; scvtf d4, d5; ucvtf s6, s7; "
                "scvtf v8.2d, v9.2d, #3; ucvtf v10.4s, v11.4s, #32", int_hook, fpcr=fpcr)


# FEAT_I8MM: Unicorn 2.1 (QEMU 5) does not implement it (UC_ERR_EXCEPTION),
# so the oracles are the ARM pseudocode written out here (the dot product
# and MatMulAdd loops) and qemu-aarch64 7.2 on tests/fixtures/fpsimd_i8mm.c
# (the same instructions through arm_neon.h).

def _bytes(v, signed):
    out = []
    for k in range(16):
        x = (v >> (8 * k)) & 0xFF
        out.append(x - 256 if signed and x & 0x80 else x)
    return out


def _s32(v, i):
    return (v >> (32 * i)) & 0xFFFFFFFF


def _pack32(lanes, q=True):
    return sum((x & 0xFFFFFFFF) << (32 * i) for i, x in enumerate(lanes))


def _ref_i8mm(op, vd, vn, vm, q=True, index=0):
    if op in ("usdot", "usdot_elem", "sudot_elem"):
        sn, sm = (op == "sudot_elem"), (op != "sudot_elem")
        n, m = _bytes(vn, sn), _bytes(vm, sm)
        lanes = 4 if q else 2
        out = []
        for i in range(lanes):
            g = i if op == "usdot" else index
            out.append(_s32(vd, i) + sum(n[4 * i + k] * m[4 * g + k] for k in range(4)))
        return _pack32(out)
    sn, sm = {"smmla": (True, True), "ummla": (False, False), "usmmla": (False, True)}[op]
    n, m = _bytes(vn, sn), _bytes(vm, sm)
    out = [_s32(vd, 2 * i + j) + sum(n[8 * i + k] * m[8 * j + k] for k in range(8))
           for i in range(2) for j in range(2)]
    return _pack32(out)


I8MM = [   # (op, asm, Q, index)
    ("usdot", "usdot v0.4s, v1.16b, v2.16b", 1, 0),
    ("usdot", "usdot v0.2s, v1.8b, v2.8b", 0, 0),
    ("usdot_elem", "usdot v0.4s, v1.16b, v2.4b[3]", 1, 3),
    ("sudot_elem", "sudot v0.2s, v1.8b, v2.4b[1]", 0, 1),
    ("sudot_elem", "sudot v0.4s, v1.16b, v2.4b[2]", 1, 2),
    ("smmla", "smmla v0.4s, v1.16b, v2.16b", 1, 0),
    ("ummla", "ummla v0.4s, v1.16b, v2.16b", 1, 0),
    ("usmmla", "usmmla v0.4s, v1.16b, v2.16b", 1, 0),
]


@pytest.mark.parametrize("op,text,q,index", I8MM, ids=[f"{x[0]}_{i}" for i, x in enumerate(I8MM)])
def test_i8mm_against_pseudocode(op, text, q, index):
    import random
    from tests.unicorn_rig import random_state, run_jit
    from emu.cpustate import ExitReason
    words = gas_i8mm(text)
    rng = random.Random(f"i8mm:{text}")
    for k in range(max(40, CASES)):
        st = random_state(rng)
        int_hook(rng, st)
        vd, vn, vm = st["vregs"][0], st["vregs"][1], st["vregs"][2]
        j = run_jit(words, st)
        assert j["reason"] == ExitReason.BRK
        want = _ref_i8mm(op, vd, vn, vm, q, index)
        if not q:
            want &= (1 << 64) - 1
        assert j["v"][0] == want, f"{text} case {k}: jit={j['v'][0]:#034x} want={want:#034x}"
        assert j["v"][1:3] == [vn, vm]


def gas_i8mm(text):
    from tests.test_isa_crypto import gas
    return gas(text, "armv8.6-a+i8mm")


# -- every form of the decode table ------------------------------------------------------------
# The lists above name instructions by assembly; a form of translator/patterns.py TABLE
# (one row per encoding, e.g. SSHR_v has one row per element size) that none of them
# reaches is swept here: a few random encodings of the row (random fields, kept when the
# row decodes them, capstone names them and we lift them: harness/risu.py), run together
# from CASES states whose V registers hold integer edge lanes, FP32 or FP64 values in turn.

# FEAT_I8MM is not in Unicorn 2.1 (QEMU 5): these rows run against qemu-aarch64 7.2
# (tests/test_isa_vectors_qemu.py) and the pseudocode (test_i8mm_against_pseudocode).
NOT_IN_UNICORN = {"USDOT_v", "USDOT_elem", "SUDOT_elem", "USMMLA", "UMMLA", "SMMLA"}
SWEEP_WORDS = 4


def _listed_forms():
    import translator.jit  # noqa: F401  (registers every form)
    from translator import patterns
    from tests.unicorn_rig import asm
    seen = set()
    for lst in (INT, FP, FP_FROM_INT, FP_TO_FIXED):
        for item in lst:
            seen.update((p.name, p.bits) for p in (patterns.decode(w)[0] for w in asm(item[1]))
                        if p is not None)
    return seen


def _unlisted_rows():
    import translator.jit  # noqa: F401
    from translator import patterns
    listed = _listed_forms()
    return [p for p in patterns.TABLE if p.group == "simd" and (p.name, p.bits) not in listed
            and p.name not in NOT_IN_UNICORN]


def form_words(pat, n=SWEEP_WORDS, seed="sweep"):
    """n distinct random encodings of the row `pat` that capstone decodes and we lift."""
    import random
    from harness import risu
    from translator import decoder, patterns
    rng = random.Random(f"{seed}:{pat.name}:{pat.bits}")
    words = []
    for _ in range(4000):
        w = risu.random_word(pat, rng)
        if w in words or patterns.decode(w)[0] is not pat:
            continue
        if not decoder.capstone_view(w, risu.CODE_BASE)[0] or not risu.lifts(w):
            continue
        if risu.deviation(pat, patterns.decode(w)[1]) is not None:
            continue
        words.append(w)
        if len(words) == n:
            break
    return words


def mixed_hook(rng, st):
    """Integer edge lanes, FP32 or FP64 values in turn (each with its own edge sweep)."""
    k = st.get("case")
    if k is not None:
        st["case"] = k // 3
    kind = (k if k is not None else rng.randrange(3)) % 3
    (int_hook, fp_hook(32), fp_hook(64))[kind](rng, st)
    st["case"] = k


UNLISTED = _unlisted_rows()


@pytest.mark.parametrize("pat", UNLISTED, ids=[f"{p.name}-{p.bits}" for p in UNLISTED])
def test_form_sweep(pat):
    words = form_words(pat)
    assert len(words) == SWEEP_WORDS, (
        f"only {len(words)} encodings of {pat.name} {pat.bits} that capstone decodes and we lift")
    check_flags(words, mixed_hook)


# -- random encodings of every row ------------------------------------------------------------
# The lists name fixed encodings; here every decode-table row of a group gets ROW_WORDS random
# encodings (random registers, immediates, sizes: form_words), ROWS_PER_SNIPPET rows to a
# snippet (one compile per snippet), CASES states per snippet with integer edge lanes, FP32
# and FP64 values in turn.  Other groups use the same helper (tests/test_isa_dp.py).

ROW_WORDS = 2
ROWS_PER_SNIPPET = 8


def row_chunks(groups):
    import translator.jit  # noqa: F401
    from translator import patterns
    rows = [p for p in patterns.TABLE if p.group in groups and p.name not in NOT_IN_UNICORN]
    return [(f"{'+'.join(groups)}-{i // ROWS_PER_SNIPPET}", rows[i:i + ROWS_PER_SNIPPET])
            for i in range(0, len(rows), ROWS_PER_SNIPPET)]


def encoding_sweep(rows):
    words = []
    for p in rows:
        ws = form_words(p, ROW_WORDS, seed="rows")
        assert len(ws) == ROW_WORDS, f"no {ROW_WORDS} encodings of {p.name} {p.bits} we lift"
        words += ws
    check_flags(words, mixed_hook)


ROW_CHUNKS = row_chunks(("simd", "crypto"))


@pytest.mark.parametrize("rows", [c[1] for c in ROW_CHUNKS], ids=[c[0] for c in ROW_CHUNKS])
def test_encoding_sweep(rows):
    encoding_sweep(rows)
