"""Tier-0 stencils: machine code per decode-table form *shape*, built from the lifter's own
semantics, with holes for what changes between instances of a shape.

Owns: generating stencil IR by running a form's semantics function (translator/isa/*)
*concolically*: every decoded field, the instruction's PC and its word are `Sym`s, ints
that carry both a concrete value (of a sample word) and a Python expression over the field
names.  Arithmetic on Syms stays symbolic; anything that decides the code's structure
(`if`, comparisons, indexing, bit_length) takes the concrete value and records a *guard*
(expression, outcome).  The guards of one run are the shape: every word with the same
outcomes runs the semantics down the same path and gets the same IR but for its constants,
which are the holes.  An emitted constant that is a Sym becomes a hole; a CPU-state offset
that is a Sym (a register number turned into x_offset(n)) becomes a 32-bit displacement hole.

Holes in the machine code (x86-64, small code model, reloc static; see
/work/shared/notes/copy-and-patch.md):
- CPU-state offsets: `getelementptr i8, ptr %state, i64 ptrtoint (ptr @H to i64)`, folded by
  LLVM into the addressing mode: R_X86_64_32S (the value is < 1024).
- immediates: an opaque `movabsq $H, reg` (R_X86_64_64) or `movl $H, reg` (R_X86_64_32) in
  inline asm, so LLVM can neither fold a hole into a disp32 (it does so for a plain
  ptrtoint even with !absolute_symbol ranges) nor assume it is non-null.
- the continuation: `musttail call @tier0_cont(state, mem, pflags)`: R_X86_64_PLT32, patched to
  the next stencil (or dropped when it is the stencil's last 5 bytes: the next one follows).

Stencil functions have the block signature void (ptr state, ptr mem, ptr pflags) of
translator/lifter.py, read and write guest registers in the CPU state itself (tier-1 style),
and leave through `ret` with state.pc / exit_reason / exit_info written on every exit (page
fault, SMC, UNDEF, alignment), so faults are precise to the instruction.

Forms: FORMS (straight-line integer and load/store forms, ~99% of the straight-line words of
a static busybox's .text).  Shapes are found by tracing sample words: a fixed-seed set of
edge-biased random encodings per form, then the neighbours (one field changed) of every word
that found a new shape, until no new shape turns up.  The guards of each form form a trie;
at run time one generated Python function per form (the trie as nested ifs, hole values at
the leaves) maps a word to (stencil, hole values), memoized per word.  A word whose path
leaves the trie, or a shape whose code would need a constant pool or a helper call, is not
covered: tier 0 returns None for it (a caller falls back to tier 1).  Shape counts are
large (6559: register 31 or not, the 16 condition codes, extend options ... multiply), built
once per translator version in ~20-35 s and cached (stencils-<hash>.json, ~3 MB, 0.15 s to
load with the selectors).

Generator adaptations (not changes to the semantics): `const` of the lifter and the isa
modules is swapped while tracing (a Sym constant becomes a hole), and loadstore's `_add`
(which tests isinstance(off, int)) is given a Sym-aware twin with the same behaviour.

Does not own: stitching, arenas, installing (translator/tier0.py).
"""
import hashlib
import io
import json
import os
import random
import re
import sys
import tempfile
import time

import llvmlite
import llvmlite.binding as llvm
import llvmlite.ir as lir

from emu.cpustate import OFFSET
from . import irtext as ir
from . import lifter as _lifter
from . import isa  # noqa: F401  (registers the decode table)
from . import patterns
from .lifter import I8, I32, I64, PTR, BLOCK_FNTY, RegionLifter, Undefined

# Straight-line forms tier 0 covers in this increment (the most frequent in static code:
# benchmarks/tier0_stitch.py prints the coverage of a real binary's .text).
FORMS = ("LDST_uimm", "ADD_imm", "LOG_sreg", "MOVW", "LDST_pair", "ADD_sreg", "ADRP", "ADR",
         "LDST_reg", "LOG_imm", "LDST_imm9", "BFM", "CSEL", "ADD_ereg", "CCMP", "DP3", "DP2",
         "DP1", "EXTR", "ADC", "HINT")
SAMPLES_PER_FORM = 1000
SEED = 20261204
CONT = "tier0_cont"

R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S = 1, 2, 4, 10, 11


# -- concolic integers ---------------------------------------------------------------------

class NeedsShape(Exception):
    """A Sym was used where the generator cannot stay symbolic (hash, format...)."""


class _Trace:
    active = None            # the run's {expr: outcome} (dict keeps first-seen order)


def _guard(expr, outcome):
    t = _Trace.active
    if t is not None:
        prev = t.get(expr)
        if prev is None:
            t[expr] = int(outcome)
        elif prev != int(outcome):
            raise AssertionError(f"guard {expr} changed outcome")
    return outcome


def _v(x):
    return (x.v, x.e) if isinstance(x, Sym) else (int(x), repr(int(x)))


def _binop(op, fn):
    def f(a, b):
        if not isinstance(b, (int, Sym)):
            return NotImplemented
        bv, be = _v(b)
        return Sym(fn(a.v, bv), f"({a.e} {op} {be})")

    def r(a, b):
        if not isinstance(b, (int, Sym)):
            return NotImplemented
        bv, be = _v(b)
        return Sym(fn(bv, a.v), f"({be} {op} {a.e})")
    return f, r


def _cmpop(op, fn):
    def f(a, b):
        if not isinstance(b, (int, Sym)):
            return NotImplemented
        bv, be = _v(b)
        return _guard(f"({a.e} {op} {be})", fn(a.v, bv))
    return f


class Sym:
    """An int with a concrete value `v` (of the sample word) and an expression `e`."""
    __slots__ = ("v", "e")

    def __init__(self, v, e):
        self.v = v
        self.e = e

    __add__, __radd__ = _binop("+", lambda a, b: a + b)
    __sub__, __rsub__ = _binop("-", lambda a, b: a - b)
    __mul__, __rmul__ = _binop("*", lambda a, b: a * b)
    __and__, __rand__ = _binop("&", lambda a, b: a & b)
    __or__, __ror__ = _binop("|", lambda a, b: a | b)
    __xor__, __rxor__ = _binop("^", lambda a, b: a ^ b)
    __lshift__, __rlshift__ = _binop("<<", lambda a, b: a << b)
    __rshift__, __rrshift__ = _binop(">>", lambda a, b: a >> b)
    __mod__, __rmod__ = _binop("%", lambda a, b: a % b)
    __floordiv__, __rfloordiv__ = _binop("//", lambda a, b: a // b)
    __eq__ = _cmpop("==", lambda a, b: a == b)
    __ne__ = _cmpop("!=", lambda a, b: a != b)
    __lt__ = _cmpop("<", lambda a, b: a < b)
    __le__ = _cmpop("<=", lambda a, b: a <= b)
    __gt__ = _cmpop(">", lambda a, b: a > b)
    __ge__ = _cmpop(">=", lambda a, b: a >= b)

    def __invert__(self):
        return Sym(~self.v, f"(~{self.e})")

    def __neg__(self):
        return Sym(-self.v, f"(-{self.e})")

    def __pos__(self):
        return self

    def __bool__(self):
        return bool(_guard(f"({self.e} != 0)", self.v != 0))

    def __index__(self):
        return _guard(f"int({self.e})", self.v)

    __int__ = __index__

    def bit_length(self):
        return _guard(f"({self.e}).bit_length()", self.v.bit_length())

    def __hash__(self):
        # a dict lookup by value (INT[bits]): the value is structure, a guard
        return hash(self.__index__())

    def __format__(self, spec):
        raise NeedsShape(f"format of {self.e}")

    def __repr__(self):
        return f"Sym({self.v}, {self.e!r})"


def _refers_pc(expr):
    return re.search(r"\bpc\b", expr) is not None


# -- IR values for holes ---------------------------------------------------------------------

class _Ref(lir.Value):
    """An IR operand given by its text (a global's address or a constant expression)."""

    def __init__(self, ty, ref):
        self.type = ty
        self._ref = ref

    def get_reference(self):
        return self._ref

    def __str__(self):
        return self._ref


_ASM64 = lir.InlineAsm(lir.FunctionType(I64, [PTR]), "movabsq $$${1:c}, $0", "=r,i")
_ASM32 = lir.InlineAsm(lir.FunctionType(I32, [PTR]), "movl $$${1:c}, $0", "=r,i")


class StencilLifter(RegionLifter):
    """The lift context of one stencil: RegionLifter's tier-1 code shape (registers are
    loads/stores of the CPU state), with Sym offsets and Sym constants turned into holes."""

    def __init__(self, module, name):
        super().__init__(module, name, smc_checks=True, chain=True, hot_threshold=0,
                         ssa_regs=False)
        self.name = name
        self.holes = []            # [(expr, width, kind)]: kind "off" (disp32) or "imm"
        self._hole_ix = {}
        self._imm_vals = {}
        self.body = self.fn.append_basic_block("body")
        self.b.position_at_end(self.body)
        self._gep_block = None

    def hole(self, kind, width, expr):
        key = (kind, width, expr)
        k = self._hole_ix.get(key)
        if k is None:
            k = self._hole_ix[key] = len(self.holes)
            self.holes.append((expr, width, kind))
        return f"{self.name}_h{k}"

    def _state_ptr(self, offset):
        if isinstance(offset, Sym):
            h = self.hole("off", 64, offset.e)
            return self.b.gep(self.state, [_Ref(I64, f"ptrtoint (ptr @{h} to i64)")],
                              source_etype=I8)
        return super()._state_ptr(offset)

    def field_ptr(self, offset, builder=None):
        if isinstance(offset, Sym):
            raise NeedsShape("symbolic field_ptr")
        return super().field_ptr(offset, builder)

    def imm(self, ty, sym):
        """The hole for constant `sym` of type `ty`, materialised in the entry block."""
        w = ty.width
        key = (w, sym.e)
        v = self._imm_vals.get(key)
        if v is None:
            if not isinstance(ty, lir.IntType) or w > 64:
                raise NeedsShape(f"hole of type {ty}")
            h = self.hole("imm", 64 if w > 32 else 32, sym.e)
            eb = self.eb
            g = _Ref(PTR, f"@{h}")
            if w > 32:
                v = eb.call(_ASM64, [g])
            else:
                v = eb.call(_ASM32, [g])
                if w < 32:
                    v = eb.trunc(v, ty)
            self._imm_vals[key] = v
        return v

    def finish_stencil(self):
        """entry -> body -> musttail continuation; exits through `leave` (ret)."""
        ir.IRBuilder(self.entry).branch(self.body)
        if not self.b.block.is_terminated:
            self.b.call(ir.callable_as(_Ref(PTR, f"@{CONT}"), BLOCK_FNTY), list(self.fn.args),
                        tail="musttail")
            self.b.ret_void()
        if not self.phi_pc.incoming:
            self.fn.blocks.remove(self.leave)
            return
        lb = self.lb
        lb.store(self.phi_pc, self.field_ptr(OFFSET["pc"], lb))
        lb.store(self.phi_reason, self.field_ptr(OFFSET["exit_reason"], lb))
        lb.store(self.phi_info, self.field_ptr(OFFSET["exit_info"], lb))
        lb.ret_void()


# The names in the semantics modules that the generator swaps while tracing.
def _semantic_modules():
    return [m for name, m in sys.modules.items()
            if m is not None and (name == "translator.lifter" or name.startswith("translator.isa."))]


class _Patched:
    """While tracing: const() of a Sym is a hole of the current stencil, and loadstore's
    `_add` treats a Sym offset like the int it stands for (it tests isinstance(off, int))."""

    def __init__(self, c):
        self.c = c
        self.saved = []

    def __enter__(self):
        orig = _lifter.const
        c = self.c

        def const(ty, v):
            if isinstance(v, Sym):
                return c.imm(ty, v)
            return orig(ty, v)

        from .isa import loadstore

        def _add(cc, base, off):
            if isinstance(off, (int, Sym)):
                return base if off == 0 else cc.b.add(base, const(I64, off))
            return cc.b.add(base, off)

        for m in _semantic_modules():
            if getattr(m, "const", None) is orig:
                self.saved.append((m, "const", orig))
                m.const = const
        self.saved.append((loadstore, "_add", loadstore._add))
        loadstore._add = _add
        return self

    def __exit__(self, *exc):
        for m, name, v in reversed(self.saved):
            setattr(m, name, v)


_PROF = re.compile(r", !prof !\d+")


def trace(pat, word, pc, name):
    """Run `pat`'s semantics on a sample word concolically.  Returns (guards, result) with
    guards [(expr, outcome)] and result either ("undef",), ("unsupported", why) or
    ("ok", function IR text, declarations {name: text}, holes)."""
    fields = pat.extract(word)
    syms = {k: Sym(v, k) for k, v in fields.items()}
    module = lir.Module(name=name)
    c = StencilLifter(module, name)
    c.pc = Sym(pc, "pc")
    c.word = Sym(word, "word")
    guards = {}
    _Trace.active = guards
    try:
        with _Patched(c):
            try:
                pat.func(c, **syms)
            except Undefined:
                return list(guards.items()), ("undef",)
            except NeedsShape as e:
                return list(guards.items()), ("unsupported", str(e))
    finally:
        _Trace.active = None
    gl = list(guards.items())
    if c.terminated or c.stubs:
        return gl, ("unsupported", "ends the block")
    if any(_refers_pc(e) for e, _ in gl):
        return gl, ("unsupported", "shape depends on the pc")
    c.finish_stencil()
    text = _PROF.sub(", !prof !0", str(c.fn))
    decls = {}
    for g in module.globals.values():
        if isinstance(g, ir.Function) and g.is_declaration and g.name != c.fn.name:
            decls[g.name] = str(g)
    return gl, ("ok", text, decls, c.holes)


# -- block-end stencils ----------------------------------------------------------------------

def _special(name, build):
    module = lir.Module(name=name)
    c = StencilLifter(module, name)
    build(c)
    ir.IRBuilder(c.entry).branch(c.body)
    c.fn.blocks.remove(c.leave)
    return str(c.fn), c.holes


def _head(c):
    """state.n_insns += N (the block's length), then continue."""
    b = c.b
    p = c.field_ptr(OFFSET["n_insns"])
    b.store(b.add(b.load(p, typ=I64), c.imm(I64, Sym(0, "n"))), p)
    b.call(ir.callable_as(_Ref(PTR, f"@{CONT}"), BLOCK_FNTY), list(c.fn.args), tail="musttail")
    b.ret_void()


def _exit(c):
    """state.pc = PC; exit_reason = REASON; exit_info = INFO; return to the dispatcher."""
    b = c.b
    b.store(c.imm(I64, Sym(0, "pc")), c.field_ptr(OFFSET["pc"]))
    b.store(c.imm(I32, Sym(0, "reason")), c.field_ptr(OFFSET["exit_reason"]))
    b.store(c.imm(I64, Sym(0, "info")), c.field_ptr(OFFSET["exit_info"]))
    b.ret_void()


def _chain(c):
    """A direct branch out of the block, as lifter.py's leave + chain: state.pc = PC; stop
    if exit_request; through the link slot if linked, else ask the dispatcher to link it
    (state.link_req = slot) and return."""
    b = c.b
    fn = c.fn
    b.store(c.imm(I64, Sym(0, "pc")), c.field_ptr(OFFSET["pc"]))
    slot_addr = c.imm(I64, Sym(0, "slot"))
    req = b.load_volatile(c.field_ptr(OFFSET["exit_request"]), 4, I32)
    ret_bb, go_bb = fn.append_basic_block("ret"), fn.append_basic_block("go")
    b.cbranch(b.icmp_unsigned("!=", req, lir.Constant(I32, 0)), ret_bb, go_bb)
    ir.IRBuilder(ret_bb).ret_void()
    gb = ir.IRBuilder(go_bb)
    slot = gb.inttoptr(slot_addr, PTR)
    target = gb.load(slot, typ=PTR)
    jump_bb, unl_bb = fn.append_basic_block("jump"), fn.append_basic_block("unlinked")
    gb.cbranch(gb.icmp_unsigned("!=", target, lir.Constant(PTR, None)), jump_bb, unl_bb)
    ub = ir.IRBuilder(unl_bb)
    ub.store(slot_addr, c.field_ptr(OFFSET["link_req"], ub))
    ub.ret_void()
    jb = ir.IRBuilder(jump_bb)
    jb.call(ir.callable_as(target, BLOCK_FNTY), list(fn.args), tail="musttail")
    jb.ret_void()


SPECIALS = {"head": _head, "exit": _exit, "chain": _chain}


# -- the stencil set -------------------------------------------------------------------------

class Stencil:
    """Machine code of one shape: code bytes, relocations [(offset, type, hole, addend)]
    with hole = index into holes or -1 for the continuation, holes [(expr, width, kind)],
    and `tail`: the code ends in the continuation's 5-byte jmp (dropped when stitched)."""
    __slots__ = ("name", "code", "relocs", "holes", "tail", "fn", "pc_holes", "body")

    def __init__(self, name, code, relocs, holes):
        self.name, self.code, self.relocs, self.holes = name, code, relocs, holes
        n = len(code)
        self.tail = any(h == -1 and off == n - 4 and k in (R_X86_64_PLT32, R_X86_64_PC32)
                        and code[n - 5] == 0xE9 for off, k, h, _ in relocs)
        self.body = code[:-5] if self.tail else code
        self.fn = None
        self.pc_holes = [i for i, (e, _, _) in enumerate(holes) if _refers_pc(e)]

    def to_json(self):
        return {"name": self.name, "code": self.code.hex(), "relocs": self.relocs,
                "holes": self.holes}

    @classmethod
    def from_json(cls, d):
        return cls(d["name"], bytes.fromhex(d["code"]), [tuple(r) for r in d["relocs"]],
                   [tuple(h) for h in d["holes"]])


def _hole_function(st, fields):
    """Compile `st`'s hole expressions into one Python function (word, pc, f) -> values."""
    src = ["def holes(word, pc, _F):"]
    for k in sorted(fields):
        src.append(f"    {k} = _F[{k!r}]")
    vals = []
    for e, w, _ in st.holes:
        vals.append(f"({e}) & {(1 << w) - 1:#x}")
    src.append(f"    return ({', '.join(vals)}{',' if vals else ''})")
    ns = {}
    exec(compile("\n".join(src), f"<stencil {st.name}>", "exec"), ns)
    return ns["holes"]


class StencilSet:
    """The compiled stencils, the shape trie of each form and the per-word memo."""

    def __init__(self, stencils, tries, stats):
        self.stencils = stencils            # name -> Stencil
        self.tries = tries                  # form name -> trie node
        self.stats = stats
        self._codes = {}
        self._memo = {}
        self._selectors = {}
        self.selector_code = {}             # form -> code object (cached with marshal)
        self.specials = {k: stencils[k] for k in SPECIALS}
        for st in stencils.values():
            st.fn = None

    def _code(self, expr):
        c = self._codes.get(expr)
        if c is None:
            c = self._codes[expr] = compile(expr, "<guard>", "eval")
        return c

    def select(self, word):
        """(Stencil, static hole values with pc holes None) for a word, or (None, why).
        Memoized per word."""
        hit = self._memo.get(word)
        if hit is not None:
            return hit
        pat, fields = patterns.decode(word)
        res = (None, "no form")
        if pat is not None:
            sel = self._selectors.get(pat.name)
            if sel is None:
                trie = self.tries.get(pat.name)
                code = self.selector_code.get(pat.name)
                if code is None and trie:
                    code = self.selector_code[pat.name] = _form_selector(pat, trie,
                                                                         self.stencils)
                sel = self._selectors[pat.name] = _selector(code) if trie else _not_covered
            res = sel(word, fields)
            if res[0] is not None and res[0] != "undef":
                res = (self.stencils[res[0]], (res[1], fields))
        if len(self._memo) < 1 << 20:
            self._memo[word] = res
        return res

    # -- persistence --
    def to_json(self):
        return {"stencils": {k: s.to_json() for k, s in self.stencils.items()},
                "tries": self.tries, "stats": self.stats}

    @classmethod
    def from_json(cls, d):
        return cls({k: Stencil.from_json(v) for k, v in d["stencils"].items()}, d["tries"],
                   d["stats"])


def _not_covered(word, fields):
    return (None, "form not covered")


def _form_selector(pat, trie, stencils):
    """One Python function per form, compiled from its trie: nested tests of the guards,
    and at each leaf the stencil's name with its hole values (pc holes None), so selecting
    a new word costs one call, not an eval per guard."""
    letters = [k for k, _ in pat.fields]
    src = ["def select(word, _F):"]
    src += [f"    {k} = _F[{k!r}]" for k in letters]

    def emit(node, ind):
        pad = " " * ind
        if "g" in node:
            src.append(f"{pad}_g = int({node['g']})")
            first = True
            for out, child in node["k"].items():
                src.append(f"{pad}{'if' if first else 'elif'} _g == {int(out)}:")
                first = False
                emit(child, ind + 4)
            src.append(f"{pad}return (None, 'shape not generated')")
        elif "s" in node:
            st = stencils[node["s"]]
            vals = ["None" if _refers_pc(e) else f"({e}) & {(1 << w) - 1:#x}"
                    for e, w, _ in st.holes]
            src.append(f"{pad}return ({st.name!r}, [{', '.join(vals)}])")
        elif node.get("undef"):
            src.append(f"{pad}return ('undef', None)")
        else:
            src.append(f"{pad}return (None, {node.get('why', 'unsupported')!r})")
    emit(trie, 4)
    return compile("\n".join(src), f"<tier0 {pat.name}>", "exec")


def _selector(code):
    ns = {}
    exec(code, ns)
    return ns["select"]


def _insert(trie, guards, leaf):
    node = trie
    for expr, out in guards:
        if "g" not in node:
            if node:                       # a leaf where a guard should be: inconsistent
                raise AssertionError("trie leaf met a guard")
            node["g"] = expr
            node["k"] = {}
        elif node["g"] != expr:
            raise AssertionError(f"trie: guard {node['g']} vs {expr}")
        node = node["k"].setdefault(str(out), {})
    if not node:
        node.update(leaf)
    return node


def _walk(trie, fields, word):
    node = trie
    env = dict(fields, word=word)
    while node and "g" in node:
        node = node["k"].get(str(int(eval(node["g"], {}, env))))
    return node


def _random_word(pat, rng):
    """A random encoding of `pat`; each field is, one time in three, an edge value (0, 1,
    all ones, all ones - 1): shapes such as a zero offset or register 31 show up."""
    free = ~pat.mask & 0xFFFFFFFF
    word = pat.value | (rng.getrandbits(32) & free)
    for _, runs in pat.fields:
        width = sum(w for _, w in runs)
        r = rng.random()
        if width == 5 and r < 0.35:        # a register field: 31 (SP or ZR) often
            v = 31
        elif r < 0.33:
            v = rng.choice((0, 1, (1 << width) - 1, (1 << width) - 2)) & ((1 << width) - 1)
        else:
            continue
        if True:
            for shift, w in reversed(runs):
                word = (word & ~(((1 << w) - 1) << shift)) | ((v & ((1 << w) - 1)) << shift)
                v >>= w
    return word


def _set_field(word, runs, v):
    for shift, w in reversed(runs):
        word = (word & ~(((1 << w) - 1) << shift)) | ((v & ((1 << w) - 1)) << shift)
        v >>= w
    return word


def _neighbours(pat, word, rng):
    out = []
    for _, runs in pat.fields:
        width = sum(w for _, w in runs)
        for v in {0, 1, 31 if width == 5 else 2, (1 << width) - 1, rng.getrandbits(width)}:
            out.append(_set_field(word, runs, v & ((1 << width) - 1)))
    return out


def generate(forms=FORMS, samples=SAMPLES_PER_FORM, seed=SEED, extra_words=(), explore=True):
    """Trace sample words of each form: (function texts, declarations, holes per stencil,
    tries, stats)."""
    rng = random.Random(seed)
    by_name = {p.name: p for p in patterns.TABLE}
    tries = {}
    funcs = {}            # stencil name -> (ir text, holes)
    decls = {}
    stats = {"shapes": {}, "undef_shapes": {}, "unsupported": {}}
    extra = {}
    for w in extra_words:
        p, _ = patterns.decode(w)
        if p is not None and p.name in forms:
            extra.setdefault(p.name, []).append(w)
    for form in forms:
        pat = by_name[form]
        if pat.ends_block:
            continue
        trie = tries[form] = {}
        # Random (edge-biased) encodings, then, from every word that found a new shape,
        # its neighbours: each field set to 0, 1, 31, all ones or a random value in turn
        # (a new shape is mostly one guard flipped: register 31 or not, a zero immediate).
        todo = [_random_word(pat, rng) for _ in range(samples)] + extra.get(form, [])
        todo.reverse()
        seen = set()
        while todo:
            word = todo.pop()
            if word in seen:
                continue
            seen.add(word)
            if patterns.decode(word)[0] is not pat:      # a more specific form owns it
                continue
            node = _walk(trie, pat.extract(word), word)
            if node:                                      # a leaf: shape known
                continue
            name = f"s{len(funcs)}_{form}"
            guards, res = trace(pat, word, 0x400000 + 4 * rng.randrange(1 << 20), name)
            if res[0] == "ok":
                funcs[name] = (res[1], res[3])
                decls.update(res[2])
                _insert(trie, guards, {"s": name})
                stats["shapes"][form] = stats["shapes"].get(form, 0) + 1
            elif res[0] == "undef":
                _insert(trie, guards, {"undef": 1})
                stats["undef_shapes"][form] = stats["undef_shapes"].get(form, 0) + 1
            else:
                _insert(trie, guards, {"why": res[1]})
                stats["unsupported"][form] = stats["unsupported"].get(form, 0) + 1
            if explore:
                todo.extend(_neighbours(pat, word, rng))
    for k, build in SPECIALS.items():
        text, holes = _special(k, build)
        funcs[k] = (text, holes)
    return funcs, decls, tries, stats


def _module_text(funcs, decls):
    out = [f"declare hidden void @{CONT}(ptr, ptr, ptr)"]
    for name, (_, holes) in funcs.items():
        for k in range(len(holes)):
            out.append(f"@{name}_h{k} = external hidden global i8")
    out.extend(decls.values())
    for text in (t for t, _ in funcs.values()):
        out.append(text)
    out.append('!0 = !{!"branch_weights", i32 1048576, i32 1}')
    return "\n".join(out) + "\n"


def _target_machine():
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=2, reloc="static", codemodel="small")


def compile_stencils(funcs, decls, jobs=None):
    """Compile every stencil -> {name: Stencil}, {name: why} (rejected).  The stencils are
    split over `jobs` LLVM modules compiled in forked processes (llvmlite serialises its
    calls under one lock, so threads would not overlap)."""
    names = list(funcs)
    jobs = jobs or min(4, os.cpu_count() or 1)
    chunks = [{n: funcs[n] for n in names[k::jobs]} for k in range(jobs)]
    if jobs == 1:
        results = [_compile_chunk(chunks[0], decls)]
    else:
        import multiprocessing
        global _CHUNKS
        _CHUNKS = (chunks, decls)
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_compile_chunk_json, range(jobs))
        _CHUNKS = None
        results = [({k: Stencil.from_json(v) for k, v in o.items()}, r) for o, r in results]
    out, rejected = {}, {}
    for o, r in results:
        out.update(o)
        rejected.update(r)
    return out, rejected


_CHUNKS = None


def _compile_chunk_json(k):
    chunks, decls = _CHUNKS
    o, r = _compile_chunk(chunks[k], decls)
    return {n: st.to_json() for n, st in o.items()}, r


def _compile_chunk(funcs, decls):
    from elftools.elf.elffile import ELFFile
    text = _module_text(funcs, decls)
    ctx = llvm.create_context()
    mod = llvm.parse_assembly(text, ctx)
    mod.verify()
    tm = _target_machine()
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=2))
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)
    obj = tm.emit_object(mod)
    elf = ELFFile(io.BytesIO(obj))
    symtab = elf.get_section_by_name(".symtab")
    text_sec = None
    for i, s in enumerate(elf.iter_sections()):
        if s.name == ".text":
            text_sec, text_ix = s, i
    data = text_sec.data()
    fns = {}
    for sym in symtab.iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC" and sym["st_shndx"] == text_ix:
            fns[sym.name] = (sym["st_value"], sym["st_size"])
    relocs = {name: [] for name in fns}
    rejected = {}
    spans = sorted((v, v + n, name) for name, (v, n) in fns.items())
    starts = [a for a, _, _ in spans]
    import bisect
    for s in elf.iter_sections():
        if not s.name.startswith(".rela") or s.name == ".rela.eh_frame":
            continue
        if s.name != ".rela.text":
            raise RuntimeError(f"stencils need relocations in {s.name}")
        syms = elf.get_section(s["sh_link"])
        for r in s.iter_relocations():
            off, kind = r["r_offset"], r["r_info_type"]
            target = syms.get_symbol(r["r_info_sym"]).name
            a, b, owner = spans[bisect.bisect_right(starts, off) - 1]
            assert a <= off < b
            if target == CONT:
                hole = -1
            elif target.startswith(owner + "_h"):
                hole = int(target[len(owner) + 2:])
            else:
                rejected[owner] = f"relocation against {target or 'a section'}"
                continue
            if kind not in (R_X86_64_64, R_X86_64_32, R_X86_64_32S, R_X86_64_PLT32,
                            R_X86_64_PC32):
                rejected[owner] = f"relocation type {kind}"
                continue
            relocs[owner].append((off - a, kind, hole, r["r_addend"]))
    out = {}
    for name, (v, n) in fns.items():
        if name in rejected or name not in funcs:
            continue
        out[name] = Stencil(name, bytes(data[v:v + n]), relocs[name], list(funcs[name][1]))
    return out, rejected


# -- building and caching ----------------------------------------------------------------------

def source_hash():
    """Hash of everything the stencils derive from: the translator's sources (semantics,
    lifter, decode table, this file), the CPU state layout, LLVM and the host CPU."""
    h = hashlib.sha256()
    root = os.path.dirname(os.path.abspath(__file__))
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.endswith(".py") and "__pycache__" not in d)
    files.append(os.path.join(os.path.dirname(root), "emu", "cpustate.py"))
    files.append(os.path.join(os.path.dirname(root), "emu", "memory.py"))
    for f in files:
        h.update(f.encode())
        with open(f, "rb") as fh:
            h.update(fh.read())
    llvm.initialize_native_target()
    h.update(f"{llvmlite.__version__}:{llvm.llvm_version_info}:{llvm.get_host_cpu_name()}:"
             f"{llvm.get_host_cpu_features().flatten()}:{FORMS}:{SAMPLES_PER_FORM}:{SEED}"
             .encode())
    return h.hexdigest()[:32]


def build(forms=FORMS, samples=SAMPLES_PER_FORM, seed=SEED, extra_words=(), explore=True):
    t0 = time.perf_counter()
    funcs, decls, tries, stats = generate(forms, samples, seed, extra_words, explore)
    t1 = time.perf_counter()
    stencils, rejected = compile_stencils(funcs, decls)
    t2 = time.perf_counter()
    for form, trie in tries.items():            # rejected shapes become "unsupported" leaves
        stack = [trie]
        while stack:
            node = stack.pop()
            if "g" in node:
                stack.extend(node["k"].values())
            elif node.get("s") in rejected:
                node["why"] = rejected[node.pop("s")]
    stats.update({"generate_s": round(t1 - t0, 3), "compile_s": round(t2 - t1, 3),
                  "stencils": len(stencils), "rejected": rejected,
                  "code_bytes": sum(len(s.code) for s in stencils.values())})
    return StencilSet(stencils, tries, stats)


def default_cache_dir():
    d = os.environ.get("EMU_CACHE_DIR")
    if d:
        return os.path.join(d, "tier0")
    return os.path.join(os.path.expanduser("~"), ".cache", "emu", "tier0")


_loaded = {}


def load(cache_dir=None, rebuild=False, samples=SAMPLES_PER_FORM, extra_words=(), explore=True):
    """The stencil set for this translator version: from cache_dir if there (one JSON file
    named by source_hash() and the sampling), else built and stored there (atomically).
    samples/extra_words: sample words per form and words whose shapes must be in the set
    (tests build a small set from their own words); explore: also trace the neighbours
    (one field changed) of every word that found a new shape."""
    cache_dir = cache_dir or default_cache_dir()
    key = source_hash()
    if samples != SAMPLES_PER_FORM or extra_words or not explore:
        h = hashlib.sha256(f"{samples}:{explore}:{sorted(set(extra_words))}".encode()
                           ).hexdigest()[:12]
        key = f"{key}-{h}"
    path = os.path.join(cache_dir, f"stencils-{key}.json")
    hit = _loaded.get(path)
    if hit is not None and not rebuild:
        return hit
    ss = None
    if not rebuild:
        try:
            with open(path) as f:
                ss = StencilSet.from_json(json.load(f))
            ss.stats["from_cache"] = True
        except (OSError, ValueError, KeyError):
            ss = None
    if ss is None:
        ss = build(samples=samples, extra_words=extra_words, explore=explore)
        os.makedirs(cache_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-stencils-")
        with os.fdopen(fd, "w") as f:
            json.dump(ss.to_json(), f)
        os.replace(tmp, path)
        ss.stats["from_cache"] = False
    ss.stats["path"] = path
    _load_selectors(ss, path)
    _loaded[path] = ss
    return ss


def _load_selectors(ss, path):
    """The forms' compiled selector functions, kept beside the set as marshal data (Python
    version in the name): compiling them all costs ~0.7 s, loading them milliseconds."""
    import marshal
    mpath = f"{path[:-5]}-py{sys.version_info[0]}{sys.version_info[1]}.selectors"
    try:
        with open(mpath, "rb") as f:
            codes = marshal.load(f)
        if set(codes) == set(ss.tries):
            ss.selector_code.update(codes)
            return
    except (OSError, ValueError, EOFError, TypeError):
        pass
    by_name = {p.name: p for p in patterns.TABLE}
    for form, trie in ss.tries.items():
        if trie:
            ss.selector_code[form] = _form_selector(by_name[form], trie, ss.stencils)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-selectors-")
    with os.fdopen(fd, "wb") as f:
        marshal.dump({k: v for k, v in ss.selector_code.items()}, f)
    os.replace(tmp, mpath)
