"""A fast LLVM IR text builder with the subset of the llvmlite.ir interface the lifter uses.

Owns: functions, basic blocks, instructions and the IRBuilder that the lifter and the
semantics functions (translator/isa/*) build regions with, and their rendering to LLVM
assembly text.  Types, constants, modules, global variables, metadata strings and inline
asm are llvmlite.ir's own (re-exported here), so `from translator import irtext as ir`
is a drop-in replacement for `import llvmlite.ir as ir` in translator code.
Does not own: what is built (lifter.py, isa/*), compiling the text (compiler.py).

Why: llvmlite.ir spends most of its time naming values (a name scope per function,
deduplicated on every instruction) and formatting through deep __str__ chains; lifting
a guest instruction made ~15 such objects and cost ~0.2 ms, more than LLVM's tier-1
codegen of it.  Here an instruction is one small object (opcode, type, operands, a few
fields), named by a per-function counter, rendered once when the module is printed.

Differences from llvmlite.ir (all deliberate):
- every pointer type prints as `ptr` (LLVM's opaque pointers; typed pointer types are
  kept on values only so that `load` can infer the loaded type from an alloca);
- unnamed values are `%.N`; explicit names are quoted and made unique with `.K`;
- only the instructions listed in _RENDER exist; anything else is an AttributeError at
  lift time (a bug to fix here), never silently different text.
"""
from llvmlite.ir import (  # noqa: F401  (re-exported: the llvmlite.ir names translator code uses)
    IntType, HalfType, FloatType, DoubleType, VectorType, ArrayType, PointerType, VoidType,
    FunctionType, LiteralStructType, MetaDataType, Constant, Undefined, Value, Module,
    GlobalVariable, MetaDataString, InlineAsm, Type,
)

_VOID = VoidType()
_I1 = IntType(1)
_I32 = IntType(32)
_PTR = PointerType()

_CMP = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}


def _ts(ty):
    """Type -> text, cached on the (interned or long-lived) type object."""
    try:
        return ty._emu_text
    except AttributeError:
        s = "ptr" if isinstance(ty, PointerType) else str(ty)
        try:
            ty._emu_text = s
        except AttributeError:
            pass
        return s


def _tv(v):
    """Typed operand text: `i64 %.5`."""
    return f"{_ts(v.type)} {v.get_reference()}"


class _Named(Value):
    """A value with a local name inside a function (instruction or argument)."""
    __slots__ = ("type", "ref", "_name")

    def get_reference(self):
        return self.ref

    @property
    def name(self):
        return self._name

    def __str__(self):
        return self.ref


class Argument(_Named):
    __slots__ = ("attributes",)

    def __init__(self, fn, ty, index):
        self.type = ty
        self._name = f"a{index}"
        self.ref = f"%a{index}"
        self.attributes = []

    def add_attribute(self, attr):
        self.attributes.append(attr)


class _Attributes(list):
    def add(self, attr):
        if attr not in self:
            self.append(attr)


class Function(Value):
    """A function in a llvmlite Module: a definition once it has blocks, else a
    declaration."""

    def __init__(self, module, ftype, name):
        self.module = module
        self.function_type = ftype
        self.type = PointerType(ftype)
        self.name = module.scope.register(name)
        self.ref = '@"%s"' % name
        module.add_global(self)
        self.args = tuple(Argument(self, t, i) for i, t in enumerate(ftype.args))
        self.blocks = []
        self.attributes = _Attributes()
        self.linkage = ""
        self.calling_convention = ""
        self._names = {}
        self._next = 0

    @property
    def is_declaration(self):
        return not self.blocks

    @property
    def basic_blocks(self):
        return self.blocks

    def get_reference(self):
        return self.ref

    def _unique(self, name):
        """A fresh local name (values and blocks share LLVM's local namespace)."""
        n = self._names.get(name)
        if n is None:
            self._names[name] = 0
            return name
        while True:
            n += 1
            cand = f"{name}.{n}"
            if cand not in self._names:
                self._names[name] = n
                self._names[cand] = 0
                return cand

    def _value_ref(self, name):
        """(reference, name) of a value given an explicit name (unnamed values are
        numbered by Instr itself: %.N)."""
        name = self._unique(name)
        return f'%"{name}"', name

    def append_basic_block(self, name=""):
        bb = Block(self, self._unique(name or "bb"))
        self.blocks.append(bb)
        return bb

    def __str__(self):
        ft = self.function_type
        link = f"{self.linkage} " if self.linkage else ""
        cc = f"{self.calling_convention} " if self.calling_convention else ""
        attrs = (" " + " ".join(self.attributes)) if self.attributes else ""
        if not self.blocks:
            args = ", ".join(_ts(t) for t in ft.args)
            return f"declare {cc}{_ts(ft.return_type)} {self.ref}({args}){attrs}\n"
        args = ", ".join(
            f"{_ts(a.type)} {' '.join(a.attributes) + ' ' if a.attributes else ''}{a.ref}"
            for a in self.args)
        out = [f"define {link}{cc}{_ts(ft.return_type)} {self.ref}({args}){attrs} {{"]
        for bb in self.blocks:
            out.append(f'"{bb.name}":')
            for ins in bb.instructions:
                out.append("  " + _RENDER[ins.op](ins))
        out.append("}\n")
        return "\n".join(out)


class Block(Value):
    __slots__ = ("function", "name", "instructions", "terminator", "ref")

    def __init__(self, fn, name):
        self.function = fn
        self.name = name
        self.ref = f'%"{name}"'
        self.instructions = []
        self.terminator = None

    @property
    def parent(self):
        return self.function

    @property
    def is_terminated(self):
        return self.terminator is not None

    def get_reference(self):
        return self.ref


class Instr(_Named):
    """One instruction: opcode, result type, operands and op-specific extras."""
    __slots__ = ("op", "operands", "x", "align", "parent", "incoming", "cases", "weights")

    def __init__(self, block, op, ty, operands, x=None, name=""):
        self.op = op
        self.type = ty
        self.operands = operands
        self.x = x
        self.align = None
        self.parent = block
        if ty is _VOID or isinstance(ty, VoidType):
            self.ref = self._name = ""
        elif not name:
            fn = block.function
            fn._next += 1
            self.ref = f"%.{fn._next}"
            self._name = ""
        else:
            self.ref, self._name = block.function._value_ref(name)

    # phi
    def add_incoming(self, value, block):
        self.incoming.append((value, block))

    # switch
    def add_case(self, val, block):
        if not isinstance(val, Value):
            val = Constant(self.operands[0].type, val)
        self.cases.append((val, block))

    # br with weights
    def set_weights(self, weights):
        self.weights = list(weights)

    def __repr__(self):
        return f"<irtext {self.op} {self.ref}>"


class _Callable(Value):
    """A pointer value used as a callee with a known function type."""
    __slots__ = ("value", "function_type", "type")

    def __init__(self, value, fnty):
        self.value = value
        self.function_type = fnty
        self.type = value.type

    def get_reference(self):
        return self.value.get_reference()


def callable_as(value, fnty):
    return _Callable(value, fnty)


# -- rendering -------------------------------------------------------------------------
def _r_bin(i):
    a, b = i.operands
    fl = (" ".join(i.x) + " ") if i.x else ""
    return f"{i.ref} = {i.op} {fl}{_ts(a.type)} {a.get_reference()}, {b.get_reference()}"


def _r_operands(i):
    """`%r = op <ty> a, <ty> b, ...`: fneg, select, extract/insertelement, shufflevector."""
    return f"{i.ref} = {i.op} " + ", ".join(_tv(v) for v in i.operands)


def _r_cmp(i):
    a, b = i.operands
    return f"{i.ref} = {i.op} {i.x} {_ts(a.type)} {a.get_reference()}, {b.get_reference()}"


def _r_cast(i):
    return f"{i.ref} = {i.op} {_tv(i.operands[0])} to {_ts(i.type)}"


def _align(i):
    return f", align {i.align}" if i.align else ""


def _r_load(i):
    p = i.operands[0]
    if i.x == "volatile":
        return f"{i.ref} = load volatile {_ts(i.type)}, ptr {p.get_reference()}{_align(i)}"
    if i.x:
        return (f"{i.ref} = load atomic {_ts(i.type)}, ptr {p.get_reference()} {i.x}"
                f"{_align(i)}")
    return f"{i.ref} = load {_ts(i.type)}, ptr {p.get_reference()}{_align(i)}"


def _r_store(i):
    v, p = i.operands
    if i.x:
        return f"store atomic {_tv(v)}, ptr {p.get_reference()} {i.x}{_align(i)}"
    return f"store {_tv(v)}, ptr {p.get_reference()}{_align(i)}"


def _r_alloca(i):
    return f"{i.ref} = alloca {_ts(i.x)}"


def _r_gep(i):
    p, *idx = i.operands
    ib = "inbounds " if i.x[1] else ""
    rest = "".join(", " + _tv(v) for v in idx)
    return f"{i.ref} = getelementptr {ib}{_ts(i.x[0])}, ptr {p.get_reference()}{rest}"


def _r_extractvalue(i):
    return f"{i.ref} = extractvalue {_tv(i.operands[0])}, {i.x}"


def _r_insertvalue(i):
    a, e = i.operands
    return f"{i.ref} = insertvalue {_tv(a)}, {_tv(e)}, {i.x}"


def _r_phi(i):
    inc = ", ".join(f"[{v.get_reference()}, {b.ref}]" for v, b in i.incoming)
    return f"{i.ref} = phi {_ts(i.type)} {inc}"


def _r_br(i):
    return f"br label {i.operands[0].ref}"


def _r_condbr(i):
    c, t, f = i.operands
    s = f"br {_tv(c)}, label {t.ref}, label {f.ref}"
    if i.weights:
        module = i.parent.function.module
        key = tuple(i.weights)
        cache = module.__dict__.setdefault("_emu_weights", {})
        ref = cache.get(key)
        if ref is None:
            md = module.add_metadata([MetaDataString(module, "branch_weights")]
                                     + [Constant(_I32, w) for w in key])
            ref = cache[key] = md.get_reference()
        s += f", !prof {ref}"
    return s


def _r_switch(i):
    v, default = i.operands
    cases = " ".join(f"{_tv(c)}, label {b.ref}" for c, b in i.cases)
    return f"switch {_tv(v)}, label {default.ref} [{cases}]"


def _r_ret(i):
    return f"ret {_tv(i.operands[0])}" if i.operands else "ret void"


def _r_unreachable(i):
    return "unreachable"


def _r_call(i):
    callee, args = i.operands[0], i.operands[1:]
    tail, cconv, attrs, fastmath = i.x
    fnty = callee.function_type
    rty = _ts(fnty) if fnty.var_arg else _ts(fnty.return_type)
    head = f"{i.ref} = " if i.ref else ""
    t = f"{tail} " if tail else ""
    cc = f"{cconv} " if cconv else ""
    fm = (" ".join(fastmath) + " ") if fastmath else ""
    a = ", ".join(_tv(v) for v in args)
    at = (" " + " ".join(attrs)) if attrs else ""
    return f"{head}{t}call {fm}{cc}{rty} {callee.get_reference()}({a}){at}"


def _r_fence(i):
    scope, ordering = i.x
    sc = f'syncscope("{scope}") ' if scope else ""
    return f"fence {sc}{ordering}"


def _r_cmpxchg(i):
    p, cmp, new = i.operands
    ok, fail = i.x
    return (f"{i.ref} = cmpxchg ptr {p.get_reference()}, {_tv(cmp)}, {_tv(new)} "
            f"{ok} {fail}")


def _r_atomicrmw(i):
    p, v = i.operands
    op, ordering = i.x
    return f"{i.ref} = atomicrmw {op} ptr {p.get_reference()}, {_tv(v)} {ordering}"


_BINOPS = ("add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "and", "or", "xor", "shl",
           "lshr", "ashr", "fadd", "fsub", "fmul", "fdiv", "frem")
_CASTS = ("trunc", "zext", "sext", "fptrunc", "fpext", "fptoui", "fptosi", "uitofp", "sitofp",
          "ptrtoint", "inttoptr", "bitcast", "addrspacecast")
_RENDER = {op: _r_bin for op in _BINOPS}
_RENDER.update({op: _r_cast for op in _CASTS})
_RENDER.update({
    "fneg": _r_operands, "icmp": _r_cmp, "fcmp": _r_cmp, "select": _r_operands,
    "load": _r_load, "store": _r_store, "alloca": _r_alloca, "getelementptr": _r_gep,
    "extractelement": _r_operands, "insertelement": _r_operands,
    "shufflevector": _r_operands, "extractvalue": _r_extractvalue,
    "insertvalue": _r_insertvalue, "phi": _r_phi, "br": _r_br, "condbr": _r_condbr,
    "switch": _r_switch, "ret": _r_ret, "unreachable": _r_unreachable, "call": _r_call,
    "fence": _r_fence, "cmpxchg": _r_cmpxchg, "atomicrmw": _r_atomicrmw,
})
_TERMINATORS = {"br", "condbr", "switch", "ret", "unreachable"}


def _binop(op):
    def method(self, lhs, rhs, name="", flags=()):
        return self._add(op, lhs.type, (lhs, rhs), tuple(flags) or None, name)
    method.__name__ = op
    return method


def _cast(op):
    def method(self, value, typ, name=""):
        return self._add(op, typ, (value,), None, name)
    method.__name__ = op
    return method


def _bool_type(ty):
    return VectorType(_I1, ty.count) if isinstance(ty, VectorType) else _I1


class IRBuilder:
    """Appends instructions at the end of a block (or before a given instruction)."""

    def __init__(self, block=None):
        self._block = block
        self._before = None

    @property
    def block(self):
        return self._block

    basic_block = block

    @property
    def function(self):
        return self._block.function

    @property
    def module(self):
        return self._block.function.module

    def position_at_end(self, block):
        self._block = block
        self._before = None

    def position_at_start(self, block):
        self._block = block
        self._before = block.instructions[0] if block.instructions else None

    def position_before(self, instr):
        self._block = instr.parent
        self._before = instr

    def append_basic_block(self, name=""):
        return self._block.function.append_basic_block(name)

    def _add(self, op, ty, operands, x, name=""):
        blk = self._block
        ins = Instr(blk, op, ty, operands, x, name)
        if self._before is None:
            blk.instructions.append(ins)
        else:
            lst = blk.instructions
            lst.insert(lst.index(self._before), ins)
        return ins

    def _term(self, op, operands):
        blk = self._block
        if blk.terminator is not None:
            raise AssertionError(f"block {blk.name!r} is already terminated")
        ins = self._add(op, _VOID, operands, None)
        blk.terminator = ins
        return ins

    # arithmetic
    add, sub, mul = _binop("add"), _binop("sub"), _binop("mul")
    udiv, sdiv, urem, srem = _binop("udiv"), _binop("sdiv"), _binop("urem"), _binop("srem")
    and_, or_, xor = _binop("and"), _binop("or"), _binop("xor")
    shl, lshr, ashr = _binop("shl"), _binop("lshr"), _binop("ashr")
    fadd, fsub, fmul = _binop("fadd"), _binop("fsub"), _binop("fmul")
    fdiv, frem = _binop("fdiv"), _binop("frem")

    def not_(self, value, name=""):
        ty = value.type
        ones = Constant(ty, (-1,) * ty.count) if isinstance(ty, VectorType) else Constant(ty, -1)
        return self.xor(value, ones, name=name)

    def neg(self, value, name=""):
        return self.sub(Constant(value.type, 0), value, name=name)

    def fneg(self, arg, name="", flags=()):
        return self._add("fneg", arg.type, (arg,), None, name)

    # comparisons
    def _i1_eq(self, cmpop, lhs, rhs, name):
        """== / != of two i1 values as xor (LLVM's fast instruction selector, used
        at tier 1, does not take icmp on i1)."""
        ne = self.xor(lhs, rhs, name=name if cmpop == "!=" else "")
        return ne if cmpop == "!=" else self.xor(ne, Constant(_I1, 1), name=name)

    def icmp_unsigned(self, cmpop, lhs, rhs, name=""):
        if lhs.type is _I1 and cmpop in ("==", "!="):
            return self._i1_eq(cmpop, lhs, rhs, name)
        op = _CMP[cmpop]
        if cmpop not in ("==", "!="):
            op = "u" + op
        return self._add("icmp", _bool_type(lhs.type), (lhs, rhs), op, name)

    def icmp_signed(self, cmpop, lhs, rhs, name=""):
        if lhs.type is _I1 and cmpop in ("==", "!="):
            return self._i1_eq(cmpop, lhs, rhs, name)
        op = _CMP[cmpop]
        if cmpop not in ("==", "!="):
            op = "s" + op
        return self._add("icmp", _bool_type(lhs.type), (lhs, rhs), op, name)

    def fcmp_ordered(self, cmpop, lhs, rhs, name="", flags=()):
        op = "o" + _CMP[cmpop] if cmpop in _CMP else cmpop
        return self._add("fcmp", _bool_type(lhs.type), (lhs, rhs), op, name)

    def fcmp_unordered(self, cmpop, lhs, rhs, name="", flags=()):
        op = "u" + _CMP[cmpop] if cmpop in _CMP else cmpop
        return self._add("fcmp", _bool_type(lhs.type), (lhs, rhs), op, name)

    def select(self, cond, lhs, rhs, name="", flags=()):
        if lhs.type is _I1 and cond.type is _I1:
            # (c & a) | (~c & b): the fast instruction selector rejects i1 selects
            return self.or_(self.and_(cond, lhs), self.and_(self.not_(cond), rhs), name=name)
        return self._add("select", lhs.type, (cond, lhs, rhs), None, name)

    # casts
    trunc, zext, sext = _cast("trunc"), _cast("zext"), _cast("sext")
    fptrunc, fpext = _cast("fptrunc"), _cast("fpext")
    fptoui, fptosi, uitofp, sitofp = (_cast("fptoui"), _cast("fptosi"), _cast("uitofp"),
                                      _cast("sitofp"))
    ptrtoint, inttoptr, bitcast = _cast("ptrtoint"), _cast("inttoptr"), _cast("bitcast")
    addrspacecast = _cast("addrspacecast")

    # memory
    def alloca(self, typ, size=None, name=""):
        assert size is None
        return self._add("alloca", PointerType(typ), (), typ, name)

    def load(self, ptr, name="", align=None, typ=None):
        ins = self._add("load", typ or ptr.type.pointee, (ptr,), None, name)
        ins.align = align
        return ins

    def load_volatile(self, ptr, align, typ):
        """A volatile load (not in llvmlite.ir): never removed, merged or moved
        across other volatile accesses, and, unlike an atomic load, taken by LLVM's
        fast instruction selector."""
        ins = self._add("load", typ, (ptr,), "volatile", "")
        ins.align = align
        return ins

    def store(self, value, ptr, align=None):
        ins = self._add("store", _VOID, (value, ptr), None)
        ins.align = align
        return ins

    def load_atomic(self, ptr, ordering, align, name="", typ=None):
        ins = self._add("load", typ or ptr.type.pointee, (ptr,), ordering, name)
        ins.align = align
        return ins

    def store_atomic(self, value, ptr, ordering, align):
        ins = self._add("store", _VOID, (value, ptr), ordering)
        ins.align = align
        return ins

    def gep(self, ptr, indices, inbounds=False, name="", source_etype=None):
        ety = source_etype or ptr.type.pointee
        return self._add("getelementptr", _PTR, (ptr, *indices), (ety, inbounds), name)

    # vectors and aggregates
    def extract_element(self, vector, idx, name=""):
        if not isinstance(idx, Value):
            idx = Constant(_I32, idx)
        return self._add("extractelement", vector.type.element, (vector, idx), None, name)

    def insert_element(self, vector, value, idx, name=""):
        if not isinstance(idx, Value):
            idx = Constant(_I32, idx)
        return self._add("insertelement", vector.type, (vector, value, idx), None, name)

    def shuffle_vector(self, vector1, vector2, mask, name=""):
        ty = VectorType(vector1.type.element, mask.type.count)
        return self._add("shufflevector", ty, (vector1, vector2, mask), None, name)

    def extract_value(self, agg, idx, name=""):
        idxs = list(idx) if isinstance(idx, (tuple, list)) else [idx]
        ty = agg.type
        for k in idxs:
            ty = ty.elements[k] if hasattr(ty, "elements") else ty.element
        return self._add("extractvalue", ty, (agg,), ", ".join(map(str, idxs)), name)

    def insert_value(self, agg, value, idx, name=""):
        idxs = list(idx) if isinstance(idx, (tuple, list)) else [idx]
        return self._add("insertvalue", agg.type, (agg, value), ", ".join(map(str, idxs)), name)

    def phi(self, typ, name="", flags=()):
        ins = self._add("phi", typ, (), None, name)
        ins.incoming = []
        return ins

    # control flow
    def branch(self, target):
        return self._term("br", (target,))

    def cbranch(self, cond, truebr, falsebr):
        ins = self._term("condbr", (cond, truebr, falsebr))
        ins.weights = None
        return ins

    def switch(self, value, default):
        ins = self._term("switch", (value, default))
        ins.cases = []
        return ins

    def ret(self, value):
        return self._term("ret", (value,))

    def ret_void(self):
        return self._term("ret", ())

    def unreachable(self):
        return self._term("unreachable", ())

    def call(self, fn, args, name="", cconv=None, tail=False, fastmath=(), attrs=(),
             arg_attrs=None):
        assert arg_attrs is None
        if tail is True:
            tail = "tail"
        fnty = fn.function_type
        if isinstance(fn, InlineAsm):
            fn = _Callable(fn, fnty)
        if isinstance(attrs, str):
            attrs = (attrs,)
        return self._add("call", fnty.return_type, (fn, *args),
                         (tail or "", cconv or "", tuple(attrs), tuple(fastmath)), name)

    # atomics
    def fence(self, ordering, targetscope=None, name=""):
        return self._add("fence", _VOID, (), (targetscope, ordering))

    def cmpxchg(self, ptr, cmp, val, ordering, failordering=None, name=""):
        ty = LiteralStructType([val.type, _I1])
        return self._add("cmpxchg", ty, (ptr, cmp, val),
                         (ordering, failordering or ordering), name)

    def atomic_rmw(self, op, ptr, val, ordering, name=""):
        return self._add("atomicrmw", val.type, (ptr, val), (op, ordering), name)


def dispose(module):
    """Break the reference cycles of a printed module (block <-> instruction,
    function <-> block, module <-> function) so that reference counting frees it
    at once instead of leaving ~10^4 objects per region to the cyclic GC."""
    for g in list(module.globals.values()):
        if isinstance(g, Function):
            for bb in g.blocks:
                bb.instructions = bb.terminator = None
            g.blocks = []
    module.globals.clear()
