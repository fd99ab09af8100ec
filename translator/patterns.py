"""Decode patterns as data: one line per A64 encoding, a lift function per form.

Owns: the pattern registry (`@pattern(NAME, BITS)` puts a line in the table),
matching an instruction word to its form and extracting the lettered fields,
and the per-word decode memo.  A pattern is 32 characters, most significant
bit first: '0'/'1' fixed bits, '-' ignored, letters are fields (all positions
of one letter concatenate, MSB first), e.g. ADD (immediate):
    "z0010001ssiiiiiiiiiiiinnnnnddddd".
Does not own: semantics (translator/isa/*) or block boundaries (decoder.py).
"""
from dataclasses import dataclass


@dataclass
class Pattern:
    name: str
    bits: str
    func: object
    mask: int
    value: int
    fields: tuple          # (letter, ((shift, width), ...)) MSB-first runs
    group: str             # module that defines it (for the coverage ledger)
    ends_block: bool

    def extract(self, word):
        out = {}
        for letter, runs in self.fields:
            v = 0
            for shift, width in runs:
                v = (v << width) | ((word >> shift) & ((1 << width) - 1))
            out[letter] = v
        return out


TABLE = []            # every registered Pattern, in registration order
_buckets = None       # op0 (bits 28:25) -> patterns, most specific first
_memo = {}


def _compile(bits):
    bits = bits.replace(" ", "").replace("_", "")
    if len(bits) != 32:
        raise ValueError(f"pattern {bits!r} is not 32 bits")
    mask = value = 0
    runs = {}
    for i, ch in enumerate(bits):
        shift = 31 - i
        if ch in "01":
            mask |= 1 << shift
            value |= int(ch) << shift
        elif ch != "-":
            lst = runs.setdefault(ch, [])
            if lst and lst[-1][0] == shift + 1:
                lst[-1] = (shift, lst[-1][1] + 1)
            else:
                lst.append((shift, 1))
    return bits, mask, value, tuple((k, tuple(v)) for k, v in runs.items())


def pattern(name, bits, ends_block=False):
    """Decorator: register `func` as the lift function for encoding `bits`."""
    def deco(func):
        b, mask, value, fields = _compile(bits)
        TABLE.append(Pattern(name, b, func, mask, value, fields,
                             func.__module__.rsplit(".", 1)[-1], ends_block))
        global _buckets
        _buckets = None
        return func
    return deco


def _build():
    global _buckets
    _buckets = [[] for _ in range(16)]
    order = sorted(TABLE, key=lambda p: -bin(p.mask).count("1"))
    for op0 in range(16):
        v = op0 << 25
        for p in order:
            m = p.mask & (0xF << 25)
            if (v & m) == (p.value & m):
                _buckets[op0].append(p)


def decode(word):
    """(Pattern, fields) for an instruction word, or (None, None)."""
    hit = _memo.get(word)
    if hit is not None:
        return hit
    if _buckets is None:
        _build()
    res = (None, None)
    for p in _buckets[(word >> 25) & 0xF]:
        if word & p.mask == p.value:
            res = (p, p.extract(word))
            break
    if len(_memo) < 1 << 20:
        _memo[word] = res
    return res
