"""Random instruction streams (risu style), run in Unicorn and through our JIT.

  python -m harness risu [--streams N] [--seed S] [--length L]

Each stream is ~20 random valid encodings of lifted forms, run from one random machine state
in both engines (tests/unicorn_rig.py `compare` on the raw words: X0-X30, SP, PC, NZCV,
V0-V31 and the data and stack pages are compared; FPSR is not, see translator/isa/fp.py
KNOWN LIMITATIONS).  tests/test_risu.py runs a short campaign with a fixed seed; this command
runs deeper ones.

How a word is made: pick a top-level group (dp_imm, dp_reg, fp, simd, loadstore, crypto...;
uniformly, so the 400-odd SIMD forms do not crowd out the rest), then a form of
`translator.patterns.TABLE` in it; fill its field (and don't-care) bits at random; keep the
word only if `patterns.decode` gives back that same form, capstone decodes it, our JIT lifts
it (the semantics neither raise `Undefined` nor trap UNDEF), it is not a known Unicorn
deviation (UNICORN_DEVIATIONS), and Unicorn executes it alone (Unicorn 2.1 lacks e.g.
FEAT_I8MM: such forms are reported as not executable by Unicorn; tests/test_isa_simd.py
checks them against the ARM pseudocode and qemu-aarch64 7.2).  Branches and exception/system instructions are left out.
Register rules, so a stream stays inside its sandbox:
- X28 (BASE) is the base register of every load/store (field n forced to 28) and points into
  the middle of the data pages; no other register field of any word may be 28, so nothing
  else writes it;
- a load/store is kept only if, run alone in a probe Unicorn with X28 = middle of the data
  pages and every other register holding a large value, all its accesses fall within
  +-MEM_WINDOW bytes of X28 and any write-back moves X28 by a multiple of 16 of at most
  MEM_DRIFT bytes (so register-offset forms survive only with XZR, and exclusives and
  atomics stay aligned for the whole stream);
- constrained-unpredictable combinations are dropped: load pair into one register twice,
  store-exclusive status register equal to a data register, and a store-exclusive whose size
  differs from the stream's last load-exclusive (ARM leaves it to the implementation whether
  that succeeds: QEMU fails it, we may not);
- capstone itself rejects the other constrained-unpredictable encodings (write-back with
  Rt = Rn, should-be-one fields that are not).
Stream state: tests/unicorn_rig.py random_state (edge values in X registers), V registers
from tests/fpvals.py hooks (integer edge lanes, interesting FP32 or FP64 values, or random
bits), FPCR with a random RMode, DN on or off (FZ and AHP are left at 0: their documented
deviations are in translator/isa/fp.py KNOWN LIMITATIONS).
A divergence is minimised: the first instruction whose prefix diverges is re-run alone from
the state Unicorn reached before it; when that does not diverge (state the rig does not
carry, e.g. the exclusive monitor, is involved) the prefix is reduced instruction by
instruction instead.  The rig's JIT keeps every compiled stream (~0.1 MB each): run very
deep campaigns as several commands with different seeds.
"""
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CODE_BASE = 0x10000            # emu/snippet.py CODE_BASE (asserted in _deps)
BASE = 28                      # base register of every load/store
REG_LETTERS = set("dnmtTasu")  # pattern letters that name registers (5-bit fields)
EXCLUDED_GROUPS = {"branch", "system"}
MEM_GROUP = "loadstore"
MEM_WINDOW = 0x200
MEM_DRIFT = 0x80
STREAM_LEN = 20
TRIES_PER_FORM = 40            # random fills per draw of a form
GIVE_UP_TRIES = 2000           # fills without one valid word before a form is given up
DN = 1 << 25                   # FPCR.DN; RMode is bits 23:22 (FZ and AHP: see the docstring)
RMODE_SHIFT = 22

# Encodings where Unicorn (QEMU 5) is known to be wrong; each has its independent check.
UNICORN_DEVIATIONS = [
    ("LDSMAX/LDSMIN B/H/W: Unicorn compares sub-word values unsigned (ARM: signed); checked "
     "against the pseudocode by tests/test_isa_loadstore.py::test_ldsmax_ldsmin_subword",
     lambda p, f: p.name == "LDOP" and f["u"] == 0 and f["o"] in (4, 5) and f["z"] < 3),
    ("LDAPUR/STLUR with an offset that misaligns the access: an alignment fault (no FEAT_LSE2), "
     "which Unicorn (QEMU 5) does not check; checked against qemu-aarch64 7.2 by "
     "tests/test_isa_loadstore.py::test_ordered_alignment_against_qemu (the base register X28 "
     "stays 16-byte aligned, so the offset decides)",
     lambda p, f: p.name == "LDAPUR" and f["i"] % (1 << f["z"]) != 0),
]

_deps_cache = {}


def _deps():
    """Heavy imports, once (the module itself imports only the standard library)."""
    if not _deps_cache:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        import llvmlite.ir as ir
        import translator.jit  # noqa: F401  (registers the decode table)
        from translator import decoder, patterns
        from translator.lifter import RegionLifter, Undefined
        from emu.cpustate import ExitReason
        _deps_cache.update(ir=ir, decoder=decoder, patterns=patterns, RegionLifter=RegionLifter,
                           Undefined=Undefined, ExitReason=ExitReason)
    return _deps_cache


def _rig():
    if "rig" not in _deps_cache:
        _deps()
        from tests import unicorn_rig
        from emu import snippet
        assert snippet.CODE_BASE == CODE_BASE
        _deps_cache["rig"] = unicorn_rig
    return _deps_cache["rig"]


# -- encodings ----------------------------------------------------------------------------------

def set_field(pat, word, letter, value):
    """word with field `letter` of pattern `pat` set to value (runs MSB first)."""
    runs = dict(pat.fields)[letter]
    width = sum(w for _, w in runs)
    for shift, w in runs:
        width -= w
        part = (value >> width) & ((1 << w) - 1)
        word = (word & ~(((1 << w) - 1) << shift)) | (part << shift)
    return word


def random_word(pat, rng, fixed=None):
    """The pattern's fixed bits; every field and don't-care bit random (then `fixed`)."""
    w = pat.value | (rng.getrandbits(32) & ~pat.mask & 0xFFFFFFFF)
    for letter, value in (fixed or {}).items():
        w = set_field(pat, w, letter, value)
    return w


_lift_memo = {}


def _lift_key(pat, fields):
    """What decides whether an encoding is undefined: the form, its non-register fields, and
    of its register fields only parity (CASP pairs), equalities and 31 (XZR/SP).  Register
    fields are the 5-bit fields named by REG_LETTERS."""
    regs = [(k, v) for k, v in sorted(fields.items())
            if k in REG_LETTERS and sum(w for _, w in dict(pat.fields)[k]) == 5]
    other = tuple((k, v) for k, v in sorted(fields.items()) if k not in dict(regs))
    vals = [v for _, v in regs]
    return (id(pat), other, tuple(v & 1 for v in vals), tuple(v == 31 for v in vals),
            tuple(a == b for i, a in enumerate(vals) for b in vals[i + 1:]))


def lifts(word, pc=CODE_BASE):
    """Does our JIT lift `word`?  A form must match and its semantics must neither raise
    Undefined nor emit an UNDEF trap.  (No compile: only the IR is built, once per
    _lift_key.)"""
    d = _deps()
    pat, fields = d["patterns"].decode(word)
    if pat is None:
        return False
    key = _lift_key(pat, fields)
    hit = _lift_memo.get(key)
    if hit is None:
        hit = _lift_memo[key] = _lifts(d, pat, fields, word, pc)
    return hit


def _lifts(d, pat, fields, word, pc):
    lifter = d["RegionLifter"](d["ir"].Module("probe"), "probe")
    lifter.begin_block(pc)
    lifter.pc, lifter.word = pc, word
    lifter.insn = d["decoder"].Insn(pc, word, pat, fields)
    traps = []
    trap = lifter.trap

    def watch(reason, pc=None, info=0):
        traps.append(reason)
        return trap(reason, pc, info)
    lifter.trap = watch
    try:
        pat.func(lifter, **fields)
    except d["Undefined"]:
        return False
    return d["ExitReason"].UNDEF not in traps


def _unpredictable(pat, f):
    """Constrained-unpredictable register combinations (ARM ARM K1.2) we do not generate."""
    if pat.name == "LDST_pair" and f.get("L") == 1 and f["t"] == f["T"]:
        return True
    if pat.name == "LDST_exclp":
        if f["L"] == 1:
            return f["t"] == f["u"]
        return f["s"] in (f["t"], f["u"], f["n"])
    if pat.name == "LDST_excl" and f["L"] == 0:
        return f["s"] in (f["t"], f["n"])
    return False


def deviation(pat, fields):
    """The known-Unicorn-deviation reason for this encoding, or None."""
    for reason, pred in UNICORN_DEVIATIONS:
        if pred(pat, fields):
            return reason
    return None


class _Probe:
    """One Unicorn that runs a single word alone: does the oracle execute it at all (Unicorn
    2.1 lacks some extensions we lift, e.g. FEAT_I8MM), and for a load/store, where does it
    access memory."""

    def __init__(self):
        import unicorn
        import unicorn.arm64_const as U
        rig = _rig()
        self.U, self.unicorn = U, unicorn
        uc = self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
        uc.ctl_set_cpu_model(U.UC_CPU_ARM64_MAX)
        uc.mem_map(CODE_BASE, 0x1000)
        uc.mem_map(rig.DATA_BASE, rig.DATA_SIZE)
        uc.mem_map(rig.STACK_BASE, rig.STACK_SIZE)
        uc.reg_write(U.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        self.base = rig.DATA_BASE + rig.DATA_SIZE // 2
        self.sp = rig.STACK_BASE + rig.STACK_SIZE // 2
        self.accesses = []
        uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE,
                    lambda uc, access, addr, size, value, data: self.accesses.append((addr, size)))
        self.xregs = [U.UC_ARM64_REG_X0 + n for n in range(29)] + [U.UC_ARM64_REG_X29,
                                                                  U.UC_ARM64_REG_X30]

    def ok(self, word, mem):
        uc, U = self.uc, self.U
        for n, r in enumerate(self.xregs):
            uc.reg_write(r, self.base if n == BASE else (0x8BADF00DDEADBEEF ^ (n << 44)))
        uc.reg_write(U.UC_ARM64_REG_SP, self.sp)
        uc.mem_write(CODE_BASE, word.to_bytes(4, "little") + (0xD4200000).to_bytes(4, "little"))
        self.accesses = []
        try:
            uc.emu_start(CODE_BASE, CODE_BASE + 4, count=1)
        except self.unicorn.UcError:
            return False
        if not mem:
            return True
        drift = (uc.reg_read(self.xregs[BASE]) - self.base) & ((1 << 64) - 1)
        drift = drift - (1 << 64) if drift >> 63 else drift
        if drift % 16 or abs(drift) > MEM_DRIFT:
            return False
        lo, hi = self.base - MEM_WINDOW, self.base + MEM_WINDOW + 64
        return all(lo <= a and a + s <= hi for a, s in self.accesses)


class Generator:
    """Random valid words from the lifted forms, grouped by the forms' modules."""

    def __init__(self, seed):
        d = _deps()
        _lift_memo.clear()            # a campaign's words depend on its seed alone
        self.rng = random.Random(f"risu:{seed}")
        self.decoder, self.patterns = d["decoder"], d["patterns"]
        self.groups = {}
        for p in self.patterns.TABLE:
            if p.group not in EXCLUDED_GROUPS and not p.ends_block:
                self.groups.setdefault(p.group, []).append(p)
        self.group_names = sorted(self.groups)
        self.tries = Counter()        # id(form) -> random fills tried
        self.accepted = Counter()     # id(form) -> words accepted
        self.dead = set()             # forms given up (no valid fill in GIVE_UP_TRIES)
        self.no_oracle = Counter()    # id(form) -> words Unicorn could not execute
        self._probe = None

    def _bias(self, pat):
        """Field values drawn on purpose: the base register of loads/stores, small (and
        16-byte multiple) offsets, XZR/SP in register fields now and then (memory forms:
        often in Rs/Rt2/Rm, which many of them require or need for a bounded address)."""
        rng = self.rng
        mem = pat.group == MEM_GROUP
        fixed = {}
        for letter, runs in pat.fields:
            width = sum(w for _, w in runs)
            if mem and letter == "n":
                fixed[letter] = BASE
            elif letter in REG_LETTERS and width == 5:
                if rng.random() < (0.5 if mem and letter in "sum" else 0.1):
                    fixed[letter] = 31
            elif mem and letter == "i" and width >= 6 and rng.random() < 0.7:
                fixed[letter] = (rng.randrange(-8, 9) * rng.choice((1, 16))) % (1 << width)
        return fixed

    def _fill(self, pat):
        fixed = self._bias(pat)
        w = random_word(pat, self.rng, fixed)
        got, f = self.patterns.decode(w)
        if got is not pat:
            return None
        for letter, runs in pat.fields:
            if letter in REG_LETTERS and sum(x for _, x in runs) == 5 and f[letter] == BASE \
                    and not (letter == "n" and pat.group == MEM_GROUP):
                return None
        if _unpredictable(pat, f) or deviation(pat, f):
            return None
        if not self.decoder.capstone_view(w, CODE_BASE)[0] or not lifts(w):
            return None
        if self._probe is None:
            self._probe = _Probe()
        mem = pat.group == MEM_GROUP
        if not self._probe.ok(w, mem):
            if not mem:
                self.no_oracle[id(pat)] += 1
            return None
        return w

    def word(self, excl=None):
        """(word, pattern) of one random valid encoding.  excl: the (size, pair) of the
        stream's last load-exclusive; a store-exclusive of another size is not drawn (it is
        CONSTRAINED UNPREDICTABLE whether it succeeds: QEMU fails it, we may not)."""
        while True:
            g = self.rng.choice(self.group_names)
            live = [p for p in self.groups[g] if id(p) not in self.dead]
            if not live:
                self.group_names.remove(g)
                if not self.group_names:
                    raise RuntimeError("risu: no form yields a valid encoding")
                continue
            p = self.rng.choice(live)
            key = id(p)
            for _ in range(TRIES_PER_FORM):
                self.tries[key] += 1
                w = self._fill(p)
                if w is not None and _exclusive(p, w, self.patterns)[0] == "store" \
                        and _exclusive(p, w, self.patterns)[1] != excl:
                    w = None
                if w is not None:
                    self.accepted[key] += 1
                    return w, p
            if not self.accepted[key] and self.tries[key] >= GIVE_UP_TRIES:
                self.dead.add(key)

    def stream(self, length=STREAM_LEN):
        out = []
        excl = None
        for _ in range(length):
            w, p = self.word(excl)
            kind, what = _exclusive(p, w, self.patterns)
            if kind == "load":
                excl = what
            out.append((w, p))
        return out

    def dead_forms(self):
        return sorted({p.name for g in self.groups.values() for p in g if id(p) in self.dead})


def _exclusive(pat, word, patterns):
    """("load"|"store"|None, (size, pair)) for the exclusive forms."""
    if pat.name not in ("LDST_excl", "LDST_exclp"):
        return None, None
    f = patterns.decode(word)[1]
    if pat.name == "LDST_excl":
        return ("load" if f["L"] else "store"), (f["z"], False)
    return ("load" if f["L"] else "store"), (2 + f["z"], True)


# -- running ------------------------------------------------------------------------------------

def disasm(words):
    dec = _deps()["decoder"]
    out = []
    for i, w in enumerate(words):
        m, ops, _ = dec.capstone_view(w, CODE_BASE + 4 * i)
        out.append(f"{w:08x}  {m} {ops}".rstrip())
    return out


def initial_state(rng):
    """A random rig state; X28 near the middle of the data pages; V registers filled with
    integer edge lanes, FP values or random bits (tests/fpvals.py hooks)."""
    rig = _rig()
    from tests import fpvals
    st = rig.random_state(rng)
    st["regs"][BASE] = rig.DATA_BASE + rig.DATA_SIZE // 2 + 16 * rng.randrange(-8, 8)
    k = rng.randrange(4)
    if k == 0:
        fpvals.int_hook(rng, st)
    elif k in (1, 2):
        fpvals.fp_hook(32 if k == 1 else 64)(rng, st)
    return st


def state_after(words, st, fpcr):
    """The rig state Unicorn reaches after running `words` from `st`."""
    rig = _rig()
    if not words:
        return st
    u = rig.run_unicorn(words, st, fpcr)
    return {"regs": dict(enumerate(u["x"])), "vregs": dict(enumerate(u["v"])),
            "nzcv": u["nzcv"], "sp": u["sp"], "data": u["data"], "stack": u["stack"]}


class Divergence:
    def __init__(self, index, words, diffs, fpcr):
        self.index, self.words, self.diffs, self.fpcr = index, words, diffs, fpcr
        self.word = None          # the one instruction, when it diverges alone
        self.state = None         # ... from this state
        self.alone_diffs = None
        self.prefix = None
        self.reduced = None       # a shorter sequence that still diverges from the start

    def report(self):
        lines = [f"stream {self.index} (fpcr={self.fpcr:#x}) diverges: " + "; ".join(self.diffs[:6])]
        lines += ["    " + t for t in disasm(self.words)]
        if self.word is not None:
            lines.append(f"  minimised to one instruction: {disasm([self.word])[0]}")
            lines.append("    alone from the state before it: " + "; ".join(self.alone_diffs[:6]))
        elif self.reduced is not None:
            lines.append(f"  not reproducible alone; reduced to {len(self.reduced)} instructions "
                         f"(from the stream's initial state):")
            lines += ["    " + t for t in disasm(self.reduced)]
        return "\n".join(lines)


def minimise(div, st):
    """Find the first diverging prefix; re-run its last instruction alone from the state
    Unicorn reached before it.  When that does not diverge (state outside the rig's reach,
    such as the exclusive monitor, is involved), drop instructions one at a time from the
    prefix while it still diverges."""
    rig = _rig()
    words = div.words
    for k in range(1, len(words) + 1):
        if rig.compare(words[:k], st, fpcr=div.fpcr):
            div.prefix = k
            before = state_after(words[:k - 1], st, div.fpcr)
            alone = rig.compare([words[k - 1]], before, fpcr=div.fpcr)
            if alone:
                div.word, div.state, div.alone_diffs = words[k - 1], before, alone
                return div
            keep = list(words[:k])
            for i in range(k - 2, -1, -1):
                trial = keep[:i] + keep[i + 1:]
                if rig.compare(trial, st, fpcr=div.fpcr):
                    keep = trial
            div.reduced = keep
            return div
    return div


class Campaign:
    def __init__(self, seed=1, length=STREAM_LEN):
        self.seed, self.length = seed, length
        self.gen = Generator(seed)
        self.rng = random.Random(f"risu-states:{seed}")
        self.streams = 0
        self.insns = 0
        self.by_group = Counter()
        self.forms = set()
        self.divergences = []

    def run(self, n, progress=None):
        rig = _rig()
        for _ in range(n):
            pairs = self.gen.stream(self.length)
            words = [w for w, _ in pairs]
            st = initial_state(self.rng)
            fpcr = self.rng.choice((0, DN)) | (self.rng.randrange(4) << RMODE_SHIFT)
            diffs = rig.compare(words, st, fpcr=fpcr)
            self.streams += 1
            self.insns += len(words)
            for _, p in pairs:
                self.by_group[p.group] += 1
                self.forms.add((p.name, p.bits))
            if diffs:
                div = minimise(Divergence(self.streams - 1, words, diffs, fpcr), st)
                self.divergences.append(div)
                if progress:
                    progress(div.report())
        return self

    def unicorn_cannot(self):
        """Forms of which Unicorn failed to execute words it was given alone, and no word of
        which got into a stream (the oracle lacks the extension)."""
        return sorted({p.name for g in self.gen.groups.values() for p in g
                       if self.gen.no_oracle[id(p)] and not self.gen.accepted[id(p)]})

    def never(self):
        """Eligible forms no word was generated for (yet)."""
        return sorted({p.name for g in self.gen.groups.values() for p in g
                       if not self.gen.accepted[id(p)]})

    def summary(self):
        groups = ", ".join(f"{g} {n}" for g, n in sorted(self.by_group.items()))
        return (f"risu seed {self.seed}: {self.streams} streams, {self.insns} instructions "
                f"({groups}); {len(self.forms)} distinct forms; "
                f"{len(self.never())} eligible forms never drawn "
                f"({len(self.unicorn_cannot())} of them not executable by Unicorn); "
                f"{len(self.divergences)} divergences")


def add_arguments(p):
    p.add_argument("--streams", type=int, default=200, help="streams to run (default 200)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--length", type=int, default=STREAM_LEN,
                   help=f"instructions per stream (default {STREAM_LEN})")


def main(args, prog="python -m harness risu"):
    if args.streams < 1 or args.length < 1:
        print(f"{prog}: --streams and --length must be positive", file=sys.stderr)
        return 2
    c = Campaign(args.seed, args.length)
    c.run(args.streams, progress=lambda text: print(text, flush=True))
    print(c.summary())
    cannot = c.unicorn_cannot()
    if cannot:
        print("forms Unicorn cannot execute (not tested here): " + ", ".join(cannot))
    never = c.never()
    if never and len(never) <= 60:
        print("eligible forms never drawn: " + ", ".join(never))
    return 1 if c.divergences else 0
