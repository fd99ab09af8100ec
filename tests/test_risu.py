"""Random instruction streams (risu style) against Unicorn: harness/risu.py.

A fixed-seed campaign of STREAMS streams of ~20 random valid encodings of the lifted forms
(every group but branches and exception/system; loads and stores on a sandboxed base
register) runs in both engines from one random state per stream; registers, flags, vectors
and memory must match.  The counts (streams, instructions, per group) are printed.  Deeper
campaigns: `python -m harness risu --streams N --seed S`.

Divergences found by deeper campaigns stay here as explicit vectors: Unicorn's own errors
checked against the ARM pseudocode, our bugs not yet fixed as xfail(strict=True).
Found so far (seed 7, 1000 streams; seeds 11 and 2024: none):
- a store-exclusive of another size than the load-exclusive before it: Unicorn stores and
  reports failure (test_store_exclusive_size_mismatch_unicorn_deviation).
"""
import random

from harness import risu

SEED = 2024
STREAMS = 120


def test_generated_words_are_valid():
    """Every generated word decodes to the form it was drawn from, capstone decodes it, we
    lift it, and a load/store uses only the sandboxed base register."""
    from translator import decoder, patterns
    gen = risu.Generator(SEED)
    pairs = gen.stream(300)
    assert {p.group for _, p in pairs} >= {"dp_imm", "dp_reg", "fp", "simd", "loadstore"}
    for w, p in pairs:
        got, f = patterns.decode(w)
        assert got is p, hex(w)
        assert decoder.capstone_view(w, risu.CODE_BASE)[0], hex(w)
        assert risu.lifts(w), hex(w)
        assert p.group not in risu.EXCLUDED_GROUPS and not p.ends_block
        if p.group == risu.MEM_GROUP and "n" in f:      # (PRFM literal has no base)
            assert f["n"] == risu.BASE, hex(w)


def test_store_exclusive_matches_last_load_exclusive():
    """A store-exclusive of another size than the stream's last load-exclusive is
    CONSTRAINED UNPREDICTABLE (QEMU fails it, we may not); the generator never draws one."""
    from translator import patterns
    gen = risu.Generator(SEED + 1)
    for _ in range(20):
        last = None
        for w, p in gen.stream(40):
            kind, what = risu._exclusive(p, w, patterns)
            if kind == "load":
                last = what
            elif kind == "store":
                assert what == last, hex(w)


def test_random_streams_match_unicorn(capsys):
    c = risu.Campaign(SEED).run(STREAMS)
    with capsys.disabled():
        print("\n" + c.summary())
    assert c.streams == STREAMS and c.insns >= 15 * STREAMS
    assert len(c.by_group) >= 5 and min(c.by_group.values()) >= STREAMS
    assert not c.divergences, "\n\n".join(d.report() for d in c.divergences)


def test_known_unicorn_deviations_are_not_generated():
    from translator import patterns
    gen = risu.Generator(SEED + 2)
    for w, p in gen.stream(400):
        assert risu.deviation(p, patterns.decode(w)[1]) is None, hex(w)


def test_minimiser_reduces_to_one_instruction(monkeypatch):
    """The minimiser finds the one diverging instruction of a stream (a fake divergence:
    the rig's compare is made to report one for any snippet holding that word)."""
    from tests import unicorn_rig
    gen = risu.Generator(SEED + 3)
    words = [w for w, _ in gen.stream(12)]
    culprit = words[7]
    real = unicorn_rig.compare

    def fake(ws, st, **kw):
        return real(ws, st, **kw) or (["fake divergence"] if culprit in ws else [])
    monkeypatch.setattr(unicorn_rig, "compare", fake)
    st = risu.initial_state(random.Random(1))
    div = risu.minimise(risu.Divergence(0, words, ["fake divergence"], 0), st)
    assert div.prefix == 8 and div.word == culprit
    assert "minimised to one instruction" in div.report()


def test_store_exclusive_size_mismatch_unicorn_deviation():
    """Found by risu (seed 7, stream 220: LDXP x15, x10, [x28] ... STXRB w1, w13, [x28]),
    minimised to LDXR x15, [x28]; STXRB w1, w13, [x28].

    ARM ARM (B2.9, AArch64.ExclusiveMonitorsPass): when a store-exclusive's size differs from
    the load-exclusive's it is CONSTRAINED UNPREDICTABLE whether the monitors pass, but the
    outcome is one of: pass (memory written, status 0) or fail (memory untouched, status 1).
    Unicorn (QEMU 5; qemu-aarch64 7.2 has the same code) does neither: its cmpxchg compares
    the stored size's bytes and writes them, then compares the old value with the whole
    64-bit remembered value and reports failure (status 1, memory written).  We pass.  The
    check: our result obeys the pseudocode; Unicorn differs from us in the status register
    only (so everything else is still compared against it)."""
    from tests import unicorn_rig as rig
    cases = [("ldxr x15; stxrb", [0xC85F7F8F, 0x0801578D], 1),
             ("ldxp x15, x10; stxrb", [0xC8662B8F, 0x0801578D], 1),
             ("ldxr w15; stxrh", [0x885F7F8F, 0x4801578D], 2)]
    rng = random.Random(220)
    for name, words, nbytes in cases:
        for _ in range(8):
            st = rig.random_state(rng, data_regs=(28,))
            off = st["regs"][28] - rig.DATA_BASE
            new = (st["regs"][13] & ((1 << 8 * nbytes) - 1)).to_bytes(nbytes, "little")
            old = st["data"][off:off + nbytes]
            j = rig.run_jit(words, st)
            got = j["data"][off:off + nbytes]
            assert (j["x"][1], got) in ((0, new), (1, old)), (name, j["x"][1], got.hex())
            diffs = rig.compare(words, st)
            assert diffs in ([], [f"x1: unicorn=0x1 jit={j['x'][1]:#x}"]), (name, diffs)
