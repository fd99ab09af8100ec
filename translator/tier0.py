"""Tier 0: copy-and-patch translation of straight-line guest code (no LLVM call).

Owns: the executable arena (one RWX mapping, bump-allocated: stitched blocks and their
link-slot cells), stitching a run of guest words into one native block function
void (ptr state, ptr mem, ptr pflags) (the signature of translator/lifter.py's regions and of
what the dispatcher calls), and the per-instruction hole values.

A block is: `head` (state.n_insns += N, as lifter.begin_block), one stencil per guest
instruction (translator/stencils.py) laid out back to back (a stencil's trailing jump to the
next is dropped, any other continuation jump is patched to the next stencil), then an end:
- "chain": a direct branch out, as lifter.py's leave + chain: state.pc = next pc; if
  exit_request return; if the block's link slot is set, jump through it, else set
  state.link_req = the slot's address and return (the dispatcher links it);
- "exit": state.pc, exit_reason, exit_info = given values; return (BRK, UNDEF, STEP ...).
Faults inside a stencil return with state.pc at the faulting instruction and
FAULT_READ/FAULT_WRITE/SMC/ALIGN in exit_reason (registers are in the CPU state: precise).

Not yet: wiring into translator/jit.py (block table, page marking, invalidation); see the
integration plan in the tier-0 issue.
"""
import ctypes
import mmap
import struct
import time

from emu.cpustate import ExitReason
from . import stencils as S

M64 = (1 << 64) - 1
_Q = struct.Struct("<Q")
_I = struct.Struct("<I")
_i = struct.Struct("<i")
BLOCK_CFUNC = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
MAX_INSNS = 128


class Arena:
    """One RWX host mapping, bump-allocated."""

    def __init__(self, size=64 << 20):
        self.map = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.size = size
        self.pos = 0

    def alloc(self, n, align=16):
        p = (self.pos + align - 1) & ~(align - 1)
        if p + n > self.size:
            raise MemoryError("tier-0 arena full")
        self.pos = p + n
        return p

    def write(self, off, data):
        self.map[off:off + len(data)] = data


class Block:
    __slots__ = ("pc", "end", "ninsns", "addr", "size", "slot", "fn")

    def __init__(self, pc, end, ninsns, addr, size, slot):
        self.pc, self.end, self.ninsns, self.addr, self.size, self.slot = (
            pc, end, ninsns, addr, size, slot)
        self.fn = None

    def callable(self):
        if self.fn is None:
            self.fn = BLOCK_CFUNC(self.addr)
        return self.fn

    def __call__(self, cpu, mem):
        self.callable()(ctypes.addressof(cpu), mem.base, mem.flags_addr)


class Tier0:
    """Stitches blocks from a StencilSet into an Arena."""

    def __init__(self, stencil_set=None, arena=None, cache_dir=None):
        self.ss = stencil_set or S.load(cache_dir)
        self.arena = arena or Arena()
        sp = self.ss.specials
        self._head, self._exit, self._chain = sp["head"], sp["exit"], sp["chain"]
        self.stats = {"blocks": 0, "insns": 0, "stitch_s": 0.0}

    def select(self, word):
        """(Stencil, (static hole values, fields)) for a word, ("undef", None), or
        (None, why)."""
        return self.ss.select(word)

    def supported(self, word):
        return self.ss.select(word)[0] is not None

    def _emit(self, buf, st, vals):
        """Append stencil `st` with hole values `vals` to `buf` (a bytearray)."""
        base = len(buf)
        body = st.body
        buf += body
        nxt = base + len(body)
        tail_off = len(st.code) - 4 if st.tail else -1
        for off, kind, h, add in st.relocs:
            if h < 0:
                if off == tail_off:
                    continue
                _i.pack_into(buf, base + off, nxt + add - (base + off))
            elif kind == S.R_X86_64_64:
                _Q.pack_into(buf, base + off, (vals[h] + add) & M64)
            else:
                _I.pack_into(buf, base + off, (vals[h] + add) & 0xFFFFFFFF)

    @staticmethod
    def _special_vals(st, **kw):
        return [kw[e] for e, _, _ in st.holes]

    def stitch(self, pc, words, end="chain", reason=ExitReason.BRK, info=0, next_pc=None):
        """A block for `words` at `pc` (every word must be supported, or "undef": that word
        ends the block with an UNDEF exit).  end: "chain" (to next_pc, default the word after
        the last) or "exit" (reason, info, state.pc = the address after the words, e.g. of a
        BRK the caller does not stitch)."""
        t0 = time.perf_counter()
        buf = bytearray()
        self._emit(buf, self._head, self._special_vals(self._head, n=len(words)))
        a = pc
        ss_select = self.ss.select
        for w in words:
            st, hv = ss_select(w)
            if st is None:
                raise ValueError(f"word {w:#010x} at {a:#x}: {hv}")
            if st == "undef":
                end, reason, info = "exit_at", ExitReason.UNDEF, w
                break
            vals, fields = hv
            if st.pc_holes:
                vals = list(vals)
                full = None
                for i in st.pc_holes:
                    if st.holes[i][0] == "pc":
                        vals[i] = a
                    else:
                        if full is None:
                            if st.fn is None:
                                st.fn = S._hole_function(st, fields)
                            full = st.fn(w, a, fields)
                        vals[i] = full[i]
            self._emit(buf, st, vals)
            a += 4
        arena = self.arena
        slot = None
        if end == "chain":
            slot = arena.alloc(8, 8)
            arena.write(slot, bytes(8))
            slot_addr = arena.addr + slot
            self._emit(buf, self._chain, self._special_vals(
                self._chain, pc=a if next_pc is None else next_pc, slot=slot_addr))
            slot = slot_addr
        else:
            self._emit(buf, self._exit, self._special_vals(
                self._exit, pc=a, reason=int(reason), info=info & M64))
        off = arena.alloc(len(buf))
        arena.write(off, bytes(buf))
        n = (a - pc) // 4 + (1 if end == "exit_at" else 0)
        blk = Block(pc, a, n, arena.addr + off, len(buf), slot)
        self.stats["blocks"] += 1
        self.stats["insns"] += len(words)
        self.stats["stitch_s"] += time.perf_counter() - t0
        return blk

    def translate(self, fetch_word, pc, limit=MAX_INSNS):
        """Stitch the longest supported straight-line run from pc (up to limit words),
        chaining to the first word not taken.  None if the word at pc is not supported."""
        words = []
        a = pc
        select = self.ss.select
        while len(words) < limit:
            w = fetch_word(a)
            if w is None:
                break
            st, _ = select(w)
            if st is None:
                break
            words.append(w)
            a += 4
            if st == "undef":
                break
        if not words:
            return None
        return self.stitch(pc, words, end="chain")


def decode_supported(ss, word):
    """Is `word` a form tier 0 takes (for coverage counts)?"""
    return ss.select(word)[0] is not None
