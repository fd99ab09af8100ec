"""Tier-1 code stays on LLVM's fast instruction selector (FastISel).

Tier 1 compiles with codegen O0, where LLVM selects instructions with FastISel and falls
back to the much slower SelectionDAG for the rest of a block at the first instruction it
cannot take (an intrinsic call like llvm.umin, an i128 or i1 compare, an i1 select, a global
address under the JIT's large code model).  Shaping the IR for FastISel cut tier-1 LLVM time
by ~40% (README, "Tiers").  This test lifts every integer, memory and branch form of the
codegen table (benchmarks/codegen_table.py FORMS) at tier 1 and compiles it in a child
process with `-fast-isel-abort=3`, which makes LLVM abort, naming the instruction, on any
fallback.  The known fallbacks, one block each per region, are taken out of the text first:
the entry block's global addresses (hot counter, link slots), the entry switch and the
chaining tail calls.  AdvSIMD/FP forms whose values are i128
(V registers) and atomic accesses are outside this check."""
import importlib.util
import re
import subprocess
import sys

from harness.oracle import REPO

_spec = importlib.util.spec_from_file_location("codegen_table", REPO / "benchmarks" / "codegen_table.py")
codegen_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(codegen_table)

CHILD = r"""
import sys, llvmlite.binding as llvm
from translator.compiler import Compiler
llvm.set_option("", "-fast-isel-abort=3")
c = Compiler(1)
for text in sys.stdin.read().split("\0"):
    if text.strip():
        c.tm.emit_object(llvm.parse_assembly(text, c.context))
print("ok")
"""


def _switch_as_branches(m):
    value, default = m.group(1), m.group(2)
    cases = re.findall(r"i64 (-?\d+), label (\S+)", m.group(3))
    out = []
    for k, (const, label) in enumerate(cases):
        nxt = f"%sw{k}" if k + 1 < len(cases) else default
        out.append(f"  %swc{k} = icmp eq {value}, {const}\n  br i1 %swc{k}, label {label}, label {nxt}")
        if k + 1 < len(cases):
            out.append(f"sw{k}:")
    return "\n".join(out) if cases else f"  br label {default}"


def _tier1_modules():
    from translator.jit import HOT_THRESHOLD

    tr, placed = codegen_table.place_forms()
    out = {}
    for name, addr, n in placed:
        module = tr.compiler.new_module(f"fi_{addr:x}")
        tr._lift(module, [addr], limit=n, tier=1, hot_threshold=HOT_THRESHOLD)
        text = str(module)
        # the entry block's global addresses: the known, accepted fallback
        text = re.sub(r'@"?(r[0-9a-f_x]+_(hot|L\d+))"?(?= *[,\]\n])', "inttoptr (i64 4096 to ptr)", text)
        text = re.sub(r'@"?r[0-9a-f_x]+_(hot|L\d+)"? = [^\n]*\n', "", text)
        # and the chaining tail calls to the next region or the table probe (FastISel
        # lowers no tail call and, in the large code model, no call to another module)
        text = re.sub(r"^  musttail call void \S+\(ptr %a0, ptr %a1, ptr %a2\)\n", "", text,
                      flags=re.M)
        # and the entry switch (FastISel lowers no switch): a chain of compares here
        text = re.sub(r"^  switch (i64 \S+), label (\S+) \[(.*)\]$", _switch_as_branches, text,
                      flags=re.M)
        out[name] = text
    return out


# Forms whose tier-1 code must stay whole on FastISel: the common integer, memory and branch
# instructions (a call to an LLVM intrinsic in their IR would take them out of the checked
# set and fail this list).
REQUIRED = {"add imm", "adds w", "sub extended reg", "orr reg", "lsl imm (ubfm)", "ldr x imm",
            "ldr w reg lsl", "ldrb", "ldr post-index", "str x imm", "strb", "str pre-index",
            "ldp x", "stp x pre-index sp", "cmp + b.ne", "csel", "csinc w", "ccmp", "madd"}


def test_integer_memory_and_branch_forms_use_fastisel():
    # Left out: forms with i128, vector or FP values (AdvSIMD, V registers), the atomic
    # and exclusive accesses (FastISel takes no atomic instruction) and forms whose
    # semantics call an LLVM intrinsic (CLZ, REV, UMULH...: the call falls back).
    lifted = _tier1_modules()
    modules = {name: text for name, text in lifted.items()
               if not re.search(r"\bi128\b|<\d+ x |\b(float|double|half)\b|\batomic|cmpxchg|fence"
                                r'|call \S+ @"?llvm\.', text)}
    missing = REQUIRED - set(modules)
    assert not missing, (f"these forms' tier-1 IR now has i128/vector/FP values, atomics or "
                         f"intrinsic calls: {sorted(missing)}")
    child = subprocess.run([sys.executable, "-c", CHILD], input="\0".join(modules.values()).encode(),
                           cwd=REPO, capture_output=True, timeout=300)
    err = child.stderr.decode(errors="replace")
    missed = re.search(r"FastISel missed:.*?\(in function: r([0-9a-f]+)_", err)
    if missed:
        pc = int(missed.group(1), 16)
        form = next((n for n, t in modules.items() if f'@"r{pc:x}_' in t), "?")
        raise AssertionError(f"tier-1 code of {form!r} falls back to SelectionDAG: "
                             f"{missed.group(0)}")
    assert child.returncode == 0 and b"ok" in child.stdout, err[-800:]
