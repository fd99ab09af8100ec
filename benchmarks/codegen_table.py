#!/usr/bin/env python3
"""How much code each guest instruction becomes: the codegen table (benchmarks/CODEGEN.md).

    python3 benchmarks/codegen_table.py            print the table measured now
    python3 benchmarks/codegen_table.py --update   rewrite benchmarks/CODEGEN.md
    python3 benchmarks/codegen_table.py --check    compare with CODEGEN.md; exit 1 on growth

Each sample form (FORMS: integer, load/store, branch, FP, AdvSIMD, exclusive and LSE forms)
is lifted as a one-instruction region, the way the JIT lifts code on a miss
(`Translator._lift`, tier 1 with its hot counter, tier 2 without), from a tiny guest memory
holding just that code.  Counted:
- LLVM IR instructions of the region function after each tier's optimisation pipeline
  (`Compiler.asm`, which runs the same passes as a real compile);
- x86-64 instructions of the region function at tier 2 (from the assembly);
- IR instructions of module-internal helpers the form pulls in (the cold FP paths,
  `emu_fp_*`), at tier 2.
Every region carries the same fixed overhead (entry switch, hot counter, write-back, the
`leave` block, a link-slot exit): the region of a lone NOP is measured the same way and
subtracted, so a row shows what the instruction itself costs (the baseline is printed too).

tests/test_codegen_table.py runs `--check`'s comparison: a form whose count grew by more than
10% and more than 2 instructions over the committed table fails, so a codegen regression is
visible.  The x86 column depends on the host CPU LLVM targets (the JIT compiles for the host
it runs on); it is compared only on the CPU the table was recorded on.
"""
import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TABLE_MD = Path(__file__).resolve().parent / "CODEGEN.md"
CODE_BASE = 0x10000
SLOT = 0x40                  # bytes of guest code per form
COLUMNS = ("ir1", "ir2", "x86", "helpers")
HEADERS = {"ir1": "IR tier 1", "ir2": "IR tier 2", "x86": "x86-64 tier 2", "helpers": "helper IR"}

# (name, assembly or raw words).  keystone 0.9.2 cannot assemble LSE atomics: raw words,
# checked against capstone when measured.
FORMS = [
    ("nop", "nop"),
    ("add imm", "add x0, x1, #12"),
    ("add shifted reg", "add x0, x1, x2, lsl #3"),
    ("adds w", "adds w0, w1, w2"),
    ("sub extended reg", "sub x0, x1, w2, sxtw #2"),
    ("and imm", "and x0, x1, #0xff00"),
    ("orr reg", "orr x0, x1, x2"),
    ("eor ror w", "eor w0, w1, w2, ror #7"),
    ("lsl imm (ubfm)", "lsl x0, x1, #5"),
    ("asr reg", "asr x0, x1, x2"),
    ("ubfx", "ubfx x0, x1, #3, #9"),
    ("extr", "extr x0, x1, x2, #13"),
    ("movk", "movk x0, #0x1234, lsl #16"),
    ("ldr x imm", "ldr x0, [x1, #8]"),
    ("ldr w reg lsl", "ldr w0, [x1, x2, lsl #2]"),
    ("ldrb", "ldrb w0, [x1, #3]"),
    ("ldrsw", "ldrsw x0, [x1, #4]"),
    ("ldr post-index", "ldr x0, [x1], #16"),
    ("str x imm", "str x0, [x1, #8]"),
    ("strb", "strb w0, [x1]"),
    ("str pre-index", "str x0, [x1, #-16]!"),
    ("ldp x", "ldp x0, x1, [x2, #16]"),
    ("stp x pre-index sp", "stp x29, x30, [sp, #-16]!"),
    ("ldp q", "ldp q0, q1, [x2]"),
    ("ldr q", "ldr q0, [x1, #32]"),
    ("cmp + b.ne", "cmp x0, x1; b.ne #0x100"),
    ("csel", "csel x0, x1, x2, lt"),
    ("csinc w", "csinc w0, w1, w2, eq"),
    ("ccmp", "ccmp x0, x1, #4, ne"),
    ("madd", "madd x0, x1, x2, x3"),
    ("umulh", "umulh x0, x1, x2"),
    ("udiv", "udiv x0, x1, x2"),
    ("sdiv w", "sdiv w0, w1, w2"),
    ("clz", "clz x0, x1"),
    ("rev w", "rev w0, w1"),
    ("fadd d", "fadd d0, d1, d2"),
    ("fmul s", "fmul s0, s1, s2"),
    ("fmadd d", "fmadd d0, d1, d2, d3"),
    ("fdiv d", "fdiv d0, d1, d2"),
    ("fcmp d", "fcmp d0, d1"),
    ("fcvtzs x, d", "fcvtzs x0, d1"),
    ("scvtf d, x", "scvtf d0, x1"),
    ("fcvt s, d", "fcvt s0, d1"),
    ("add v.4s", "add v0.4s, v1.4s, v2.4s"),
    ("cmeq v.16b", "cmeq v0.16b, v1.16b, v2.16b"),
    ("umaxp v.16b", "umaxp v0.16b, v1.16b, v2.16b"),
    ("uminv b", "uminv b0, v1.16b"),
    ("tbl 1 reg", "tbl v0.16b, {v1.16b}, v2.16b"),
    ("tbl 2 regs", "tbl v0.16b, {v1.16b, v2.16b}, v3.16b"),
    ("dup v.4s, w", "dup v0.4s, w1"),
    ("fadd v.2d", "fadd v0.2d, v1.2d, v2.2d"),
    ("fmla v.4s", "fmla v0.4s, v1.4s, v2.4s"),
    ("ld1 1 reg", "ld1 {v0.16b}, [x1]"),
    ("ld1 2 regs post", "ld1 {v0.16b, v1.16b}, [x1], #32"),
    ("ld2 v.4s", "ld2 {v0.4s, v1.4s}, [x1]"),
    ("st1 1 reg", "st1 {v0.4s}, [x1]"),
    ("ldxr", "ldxr x0, [x1]"),
    ("stxr", "stxr w2, x0, [x1]"),
    ("ldar", "ldar x0, [x1]"),
    ("stlr", "stlr x0, [x1]"),
    ("cas x", [0xC8A07C41]),          # cas x0, x1, [x2]
    ("ldadd x", [0xF8200041]),        # ldadd x0, x1, [x2]
    ("ldaddal w", [0xB8E00041]),      # ldaddal w0, w1, [x2]
    ("swp x", [0xF8208041]),          # swp x0, x1, [x2]
]
CAPSTONE_CHECK = {"cas x": "cas", "ldadd x": "ldadd", "ldaddal w": "ldaddal", "swp x": "swp"}


def _words(code, addr):
    if not isinstance(code, str):
        return list(code)
    import keystone
    ks = keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)
    enc, _ = ks.asm(code, addr)
    b = bytes(enc)
    return [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]


def _count_asm(text, fn):
    """x86 instructions of function `fn` in an assembly listing."""
    n, inside = 0, False
    for line in text.splitlines():
        s = line.split("#", 1)[0].strip()
        if not inside:
            inside = s == f"{fn}:"
            continue
        if s.startswith(".Lfunc_end") or (s.endswith(":") and not s.startswith(".")):
            break
        if s and not s.startswith(".") and not s.endswith(":"):
            n += 1
    return n


def place_forms():
    """A translator and guest memory holding every form of FORMS in its own SLOT
    from CODE_BASE: (translator, [(name, address, instruction count)])."""
    from emu.cpustate import CPUState
    from emu.memory import GuestMemory, PROT_READ, PROT_EXEC, page_ceil
    from translator import decoder
    from translator.jit import Translator

    cpu, mem = CPUState(), GuestMemory()
    tr = Translator(cpu, mem, tiering="auto")
    code = bytearray()
    placed = []
    for name, src in FORMS:
        addr = CODE_BASE + len(code)
        words = _words(src, addr)
        assert words and len(words) * 4 <= SLOT, (name, src)
        if name in CAPSTONE_CHECK:
            got = decoder.capstone_view(words[0], addr)[0]
            assert got == CAPSTONE_CHECK[name], (name, hex(words[0]), got)
        code += b"".join(w.to_bytes(4, "little") for w in words).ljust(SLOT, b"\0")
        placed.append((name, addr, len(words)))
    mem.commit(CODE_BASE, page_ceil(len(code)), PROT_READ | PROT_EXEC)
    mem.write(CODE_BASE, bytes(code), force=True)
    return tr, placed


def measure():
    """{form name: {column: raw count}} and the host CPU name."""
    import llvmlite.binding as llvm
    from translator.jit import HOT_THRESHOLD

    tr, placed = place_forms()
    out = {}
    for name, addr, n in placed:
        row = {}
        for tier, compiler in ((1, tr.compiler), (2, tr.compiler2)):
            module = compiler.new_module(f"cg_{addr:x}_{tier}")
            _, lifter = tr._lift(module, [addr], limit=n, tier=tier,
                                 hot_threshold=HOT_THRESHOLD if tier == 1 else 0)
            lifter_name = lifter.fn.name
            ir_text, asm = compiler.asm(module)
            mod = llvm.parse_assembly(ir_text)
            main = helpers = 0
            for f in mod.functions:
                if f.is_declaration:
                    continue
                k = sum(1 for bb in f.blocks for _ in bb.instructions)
                if f.name == lifter_name:
                    main = k
                else:
                    helpers += k
            if tier == 1:
                row["ir1"] = main
            else:
                row["ir2"], row["helpers"] = main, helpers
                row["x86"] = _count_asm(asm, lifter_name)
        out[name] = row
    return out, llvm.get_host_cpu_name()


def net(raw):
    base = raw["nop"]
    return {name: {c: row[c] - base[c] for c in COLUMNS} for name, row in raw.items() if name != "nop"}


def render(raw, cpu):
    import llvmlite
    base = raw["nop"]
    src = dict(FORMS)
    lines = [
        "# Codegen table: what one guest instruction becomes",
        "",
        "Generated by `python3 benchmarks/codegen_table.py --update` (see its docstring); "
        "tests/test_codegen_table.py fails when a count grows by more than 10% and more than "
        "2 instructions.",
        "",
        f"- Host CPU (x86 column): `{cpu}`; llvmlite {llvmlite.__version__}.",
        f"- Each form is a one-instruction region (`cmp + b.ne`: two).  Subtracted from every "
        f"row, the region of a lone NOP: {base['ir1']} IR instructions at tier 1, "
        f"{base['ir2']} at tier 2, {base['x86']} x86-64 instructions at tier 2.",
        "- *helper IR*: instructions of module-internal helpers the form calls on its cold "
        "path (FP NaN/flush/flags handling), tier 2.",
        "",
        "| form | guest code | " + " | ".join(HEADERS[c] for c in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for name, row in net(raw).items():
        code = src[name]
        text = code if isinstance(code, str) else " ".join(f".inst {w:#010x}" for w in code)
        lines.append(f"| {name} | `{text}` | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    lines.append("")
    return "\n".join(lines)


ROW_RE = re.compile(r"^\| (?P<name>[^|]+?) \| `[^`]*` \|(?P<nums>(?: -?\d+ \|)+)\s*$")
CPU_RE = re.compile(r"Host CPU \(x86 column\): `([^`]+)`")


def parse(text):
    """({form: {column: count}}, cpu) from a CODEGEN.md text."""
    rows = {}
    for line in text.splitlines():
        m = ROW_RE.match(line)
        if m:
            nums = [int(x) for x in m["nums"].strip(" |").split(" | ")]
            rows[m["name"]] = dict(zip(COLUMNS, nums))
    m = CPU_RE.search(text)
    return rows, (m.group(1) if m else None)


def regressions(old_text, raw, cpu):
    """(problems, notes): counts that grew past the tolerance; what was not compared."""
    old, old_cpu = parse(old_text)
    new = net(raw)
    problems, notes = [], []
    cols = list(COLUMNS)
    if old_cpu != cpu:
        cols.remove("x86")
        notes.append(f"x86 column not compared: table recorded on `{old_cpu}`, this host is `{cpu}`")
    for name, row in old.items():
        if name not in new:
            problems.append(f"{name}: in the table but no longer measured")
            continue
        for c in cols:
            was, now = row[c], new[name][c]
            if now > was + max(2, abs(was) * 0.10):
                problems.append(f"{name}: {HEADERS[c]} {was} -> {now}")
    for name in new:
        if name not in old:
            notes.append(f"{name}: not in the committed table (run --update)")
    return problems, notes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--update", action="store_true", help=f"rewrite {TABLE_MD.name}")
    g.add_argument("--check", action="store_true", help=f"compare with {TABLE_MD.name}")
    args = ap.parse_args(argv)
    raw, cpu = measure()
    text = render(raw, cpu)
    if args.update:
        TABLE_MD.write_text(text)
        print(f"{TABLE_MD.relative_to(REPO)} written ({len(raw) - 1} forms)")
        return 0
    if args.check:
        if not TABLE_MD.exists():
            print(f"codegen_table: {TABLE_MD.relative_to(REPO)} is missing; run --update",
                  file=sys.stderr)
            return 1
        problems, notes = regressions(TABLE_MD.read_text(), raw, cpu)
        for line in notes:
            print(f"note: {line}")
        for line in problems:
            print(f"grew: {line}")
        return 1 if problems else 0
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
