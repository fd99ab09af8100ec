"""Tier-0 translation cost (decode + stitch + install) per guest instruction, beside tier 1.

    python3 benchmarks/tier0_stitch.py [--binary PATH] [--insns N] [--stencils DIR]

Takes a real AArch64 binary (default: busybox from `python3 -m harness fetch busybox-static`),
counts which fraction of its .text words tier 0 covers (translator/stencils.py FORMS), picks
straight-line runs of covered words (from the start of .text on, runs of 2+ words, up to
N instructions in all) and measures CPU seconds (time.process_time):
- tier 0: decode (the decode table, memoized per word: the memo is cleared first, so each
  distinct word is decoded once, as in a cold run), stencil selection and hole values
  (memoized per word likewise), copy + patch, write into the executable arena;
- tier 1: the same runs, each followed by BRK #0, translated as one-block regions through
  translator.jit.Translator (decode, lift to LLVM IR, LLVM codegen, load), the path of
  emu/snippet.py.
Prints both in microseconds per guest instruction and their ratio.  The stencil set comes
from --stencils (default: EMU_CACHE_DIR/tier0 or ~/.cache/emu/tier0); its one-time build
is reported separately.
"""
import argparse
import collections
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from elftools.elf.elffile import ELFFile  # noqa: E402

from translator import patterns, stencils as S, tier0  # noqa: E402


def busybox():
    root = subprocess.run([sys.executable, "-m", "harness", "fetch", "busybox-static"],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()[-1]
    return os.path.join(root, "bin", "busybox")


def text_words(path):
    with open(path, "rb") as f:
        e = ELFFile(f)
        sec = e.get_section_by_name(".text")
        data, addr = sec.data(), sec["sh_addr"]
    return addr, [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) - 3, 4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary")
    ap.add_argument("--insns", type=int, default=3000)
    ap.add_argument("--stencils")
    ap.add_argument("--no-tier1", action="store_true")
    args = ap.parse_args()
    path = args.binary or busybox()

    t = time.process_time()
    w0 = time.perf_counter()
    ss = S.load(args.stencils)
    build = time.process_time() - t
    print(f"stencil set: {len(ss.stencils)} stencils, "
          f"{sum(len(s.code) for s in ss.stencils.values())} bytes, "
          f"{'read from cache' if ss.stats.get('from_cache') else 'built'} in {build:.2f} s CPU "
          f"({time.perf_counter() - w0:.2f} s wall), {ss.stats['path']}")

    base, words = text_words(path)
    by_form = collections.Counter()
    covered = collections.Counter()
    for w in words:
        p, _ = patterns.decode(w)
        name = p.name if p else None
        by_form[name] += 1
        st, _ = ss.select(w)
        if st is not None and st != "undef":
            covered[name] += 1
    n = len(words)
    straight = sum(c for f, c in by_form.items()
                   if f is not None and not next(p for p in patterns.TABLE if p.name == f).ends_block)
    print(f"{path}: {n} .text words; tier 0 covers {sum(covered.values())} "
          f"({100 * sum(covered.values()) / n:.1f}% of all words, "
          f"{100 * sum(covered.values()) / straight:.1f}% of the straight-line ones)")
    for f, c in by_form.most_common(16):
        print(f"  {str(f):10} {c:7} words ({100 * c / n:4.1f}%), tier 0 {covered[f]:7}")

    # straight-line runs of covered words
    runs = []
    total = 0
    k = 0
    while k < n and total < args.insns:
        j = k
        while j < n and ss.select(words[j])[0] not in (None, "undef") and j - k < 128:
            j += 1
        if j - k >= 2:
            m = min(j - k, args.insns - total)
            runs.append((base + 4 * k, words[k:k + m]))
            total += m
        k = j + 1
    print(f"sample: {len(runs)} runs, {total} instructions "
          f"({len(set(w for _, r in runs for w in r))} distinct words)")

    # tier 0, cold memos
    patterns._memo.clear()
    ss._memo.clear()
    t0 = tier0.Tier0(ss)
    t = time.process_time()
    for pc, ws in runs:
        t0.stitch(pc, ws, end="chain")
    cold = (time.process_time() - t) / total * 1e6
    t = time.process_time()
    for pc, ws in runs:
        t0.stitch(pc, ws, end="chain")
    warm = (time.process_time() - t) / total * 1e6
    print(f"tier 0: {cold:.2f} us/insn (decode + select + stitch + install, cold memos), "
          f"{warm:.2f} us/insn with the per-word memos warm; arena {t0.arena.pos} bytes "
          f"({t0.arena.pos / total / 2:.0f} bytes/insn)")
    if args.no_tier1:
        return

    from emu.cpustate import CPUState
    from emu.memory import GuestMemory, PROT_READ, PROT_EXEC, page_ceil
    from translator.jit import Translator
    cpu = CPUState()
    mem = GuestMemory()
    tr = Translator(cpu, mem, tiering="auto", batch=False)
    code = bytearray()
    starts = []
    for pc, ws in runs:
        starts.append(0x100000 + len(code))
        for w in ws + [0xD4200000]:
            code += w.to_bytes(4, "little")
    mem.commit(0x100000, page_ceil(len(code)), PROT_READ | PROT_EXEC)
    mem.write(0x100000, bytes(code), force=True)
    patterns._memo.clear()
    t = time.process_time()
    for a in starts:
        tr.translate(a)
    t1 = (time.process_time() - t) / total * 1e6
    print(f"tier 1: {t1:.1f} us/insn (decode + lift + LLVM + load, one region per run; "
          f"{tr.stats['insns_translated']} instructions incl. the BRKs)")
    print(f"ratio tier 1 / tier 0: {t1 / cold:.0f}x (cold memos)")


if __name__ == "__main__":
    main()
