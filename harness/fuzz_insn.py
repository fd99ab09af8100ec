"""The instruction-fuzzing campaign: `python -m harness fuzz instructions`.

  python -m harness fuzz instructions [--count N] [--seed S] [--jobs J] [--tier T]
  python -m harness fuzz instructions --seed S --case K       # replay one case, in detail
  python -m harness fuzz instructions --words 0xW,0xW [--seed S] [--case K]

A case is a few instruction words run once through the JIT, in-process, with emu/snippet.py's
run_snippet (code at CODE_BASE, then BRK #0), from a random machine state (X registers often
pointing into the data pages, near or past the 2**40 address limit) with data pages mapped
(two data, two stack pages, and in most cases the very top page of the guest space).  Its
words come from one of FAMILIES: uniformly random words, words made from a row of the decode
table (translator/patterns.py: the row's fixed bits, every other bit random), short
sequences (2-4 words) of either, register-indirect branches (BR/BLR/RET) to random 64-bit
targets, direct branches to nearby addresses (loops, the end of the code page, the page after
it), code at the end of an executable page that runs off it (off the top of the guest
address space, into a data page, into unmapped memory), and stores into a writable code page
(the self-modifying-code path).  Case K of seed S depends on nothing else (its own
random.Random), so `--seed S --case K` replays it exactly.
Tiers (--tier mixed): tier 1, the cheapest (one LLVM module per case: run_snippet cannot
batch cases into one translation); one case in TIER_SHARE at tier 2 and one under "auto",
where a hot loop is promoted.

After each case these must hold, else the case is a failure:
- no Python exception escaped (emu turns bad guest input into an exit reason);
- the exit reason is one of EXPECTED (an endless loop is stopped by a watchdog that sets the
  CPU's exit-request word: TIMEOUT; run_snippet's own exit limit: LOOP; neither is a failure);
- a host canary page (mmap'd outside the guest's reservation, filled with a pattern), the
  host pages next to the reservation (our own canary where the address is free, a snapshot
  where it holds a read-only mapping; below it sits the page-flags table's guard tail, which
  must stay zero) and the read-only code are unchanged;
- the page-flags table is as before except on the case's own pages (which must hold the
  rights they were mapped with): the low and high 4096 entries, the pages named by the
  registers and a random sample after every case, the whole table (its resident pages:
  mincore) every --scan-every cases and at the end.
The campaign runs in worker processes (--jobs, one by default); a worker that dies (SIGSEGV:
a store that escaped the checks) or stops making progress is a failure of the case it was
running, and a new worker goes on after it.  A worker runs --per-worker cases and a fresh one
takes over: a process never frees a translation, and at ~2 host mappings each it would meet
vm.max_map_count (65530 by default) after ~30,000 cases.  Every failure is printed with the
command line that replays it.

Unicorn replays a sample of the cases it can run (the rig's pages only, no FPCR.FZ/AHP; not
those where we stopped fetching from an address the rig maps executable: its code region is
64 KiB and its data pages are executable): registers, flags, PC, V registers and data pages
are compared after tests/unicorn_rig.py's termination and fault-leeway rules; FPSR is not
(as harness/risu.py).  Divergences are a separate count, never failures: semantics are
tests/test_isa_*.py's business.

Speed: each case is one LLVM module (~2-3 ms at tier 1, most of a case's time); 100,000
cases take ~5-6 minutes with --jobs 2 on the project's 2-core machine.

Owns: case generation, the invariants and their checks, the watchdog, the worker processes
and their line protocol, the summary and the reproducers.
Does not own: the JIT (translator/), guest memory (emu/memory.py), the snippet runner
(emu/snippet.py; its per-process guests are reached through snippet._guest, to watch their
memory and map extra executable pages), the Unicorn rig, the `fuzz` dispatch
(harness/__main__.py).
"""
import argparse
import bisect
import ctypes
import itertools
import json
import mmap
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emu import snippet  # noqa: E402
from emu.cpustate import ExitReason  # noqa: E402
from emu.memory import (ADDR_LIMIT, NPAGES, PAGE_SHIFT, PAGE_SIZE, PAGE_READ, PAGE_WRITE,  # noqa: E402
                        PAGE_EXEC, PAGE_CODE, PROT_READ, PROT_EXEC, page_ceil)
from translator import jit as _jit  # noqa: E402,F401  (registers the decode table)
from translator import patterns  # noqa: E402
from translator.compiler import CodeMemoryExhausted  # noqa: E402

CODE_BASE = snippet.CODE_BASE
M64 = (1 << 64) - 1

# -- the guest layout (data) --------------------------------------------------------------------
DATA_BASE, DATA_SIZE = 0x200000, 0x2000     # tests/unicorn_rig.py's pages: Unicorn replays there
STACK_BASE, STACK_SIZE = 0x300000, 0x2000
STACK_TOP = STACK_BASE + 0x1000
TOP_BASE = ADDR_LIMIT - PAGE_SIZE           # a data page at the very top of the guest space
TOP_SHARE = 0.6                             # cases that map it
# Executable pages a case may run off the end of, and what lies beyond each.
EXEC_PAGES = {
    "top": ADDR_LIMIT - PAGE_SIZE,          # the address limit (2**40)
    "before-data": DATA_BASE - PAGE_SIZE,   # a data page: mapped, not executable
    "lone": 0x400000,                       # unmapped memory
}

EXPECTED = frozenset({ExitReason.BRK, ExitReason.SYSCALL, ExitReason.FAULT_READ,
                      ExitReason.FAULT_WRITE, ExitReason.FAULT_EXEC, ExitReason.UNDEF,
                      ExitReason.ALIGN, ExitReason.HLT})
EXPECTED_NAMES = frozenset(r.name for r in EXPECTED)
SNIPPET_LIMIT = "snippet did not finish"    # run_snippet's RuntimeError at its exit limit

R, W, X, C = PAGE_READ, PAGE_WRITE, PAGE_EXEC, PAGE_CODE
CODE_FLAGS = frozenset({R | X, R | X | C})
WRITABLE_CODE_FLAGS = frozenset({R | W | X, R | W | X | C})
DATA_FLAGS = frozenset({R | W})

TIER_SHARE = 50            # --tier mixed: one case in this many at tier 2, one under "auto"
DEFAULTS = {"count": 1000, "seed": 1, "tier": "mixed", "timeout": 0.1, "scan_every": 256,
            "unicorn_every": 4, "jobs": 1, "show": 5, "hang": 120.0, "per_worker": 10000}
FLAGS_WINDOW = 0x1000      # entries checked after every case at each end of the table
SAMPLE_PAGES = 16          # random flags entries checked after every case
MAX_RESETS = 20            # fresh snippet guests after exceptions (1 TiB reservations each)
MAX_RESTARTS = 50          # workers started after one died, before the supervisor gives up
MAX_STILLBORN = 3          # workers in a row that died before finishing one case: give up
FPCR_FZ16, FPCR_RMODE, FPCR_FZ, FPCR_DN, FPCR_AHP = 1 << 19, 3 << 22, 1 << 24, 1 << 25, 1 << 26

# -- machine states (tables as data) ------------------------------------------------------------
EDGE = (0, 1, 2, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
        0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
        0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFF80000000, 0xFFFFFFFFFFFF8000,
        ADDR_LIMIT - 1, ADDR_LIMIT, 1 << 48)

# (weight, value maker) for X registers: pointers into the pages, near and past the limit.
VALUES = (
    (30, lambda r: r.getrandbits(64)),
    (14, lambda r: r.choice(EDGE)),
    (16, lambda r: DATA_BASE + r.randrange(DATA_SIZE)),
    (10, lambda r: DATA_BASE + 0x800 + r.randrange(0x800) // 16 * 16),
    (5, lambda r: STACK_BASE + r.randrange(STACK_SIZE)),
    (6, lambda r: ADDR_LIMIT - r.randrange(1, 256)),
    (4, lambda r: TOP_BASE - r.randrange(0, 64)),
    (4, lambda r: r.choice((ADDR_LIMIT, 1 << 48, 1 << 63, 1 << 64)) + r.randrange(-64, 64)),
    (4, lambda r: CODE_BASE + r.randrange(64)),
    (7, lambda r: r.randrange(70)),
)
# (weight, target maker) for BR/BLR/RET: the 64-bit space, the limit, the code, its page end.
TARGETS = (
    (4, lambda r: r.getrandbits(64)),
    (2, lambda r: r.getrandbits(40) & ~3),
    (3, lambda r: ADDR_LIMIT + 4 * r.randrange(-4, 4)),
    (1, lambda r: (1 << 48) + 4 * r.randrange(-2, 2)),
    (1, lambda r: (1 << 63) + 4 * r.randrange(-2, 2)),
    (1, lambda r: (1 << 64) - 4 * r.randrange(1, 4)),
    (2, lambda r: CODE_BASE + r.randrange(24)),
    (2, lambda r: CODE_BASE + PAGE_SIZE - 4 * r.randrange(-1, 3)),
    (1, lambda r: DATA_BASE + 4 * r.randrange(64)),
    (1, lambda r: TOP_BASE + 4 * r.randrange(PAGE_SIZE // 4)),
)
# 64-bit FP patterns (specials) a V register lane may hold.
FP_LANES = (0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
            0x7FF0000000000001, 0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x3FF0000000000000,
            0x7F8000007FC00000, 0x0000000180000001, 0x7F7FFFFF00800000, 0x43E0000000000000)


class Weighted:
    """Draws from a table of (weight, item, ...) rows."""

    def __init__(self, rows):
        self.rows = rows
        self.cum = list(itertools.accumulate(r[0] for r in rows))

    def draw(self, rng):
        return self.rows[bisect.bisect_right(self.cum, rng.randrange(self.cum[-1]))]


_weighted = {}


def pick(rng, table):
    """A value from a (weight, maker) table."""
    w = _weighted.get(id(table))
    if w is None:
        w = _weighted[id(table)] = Weighted(table)
    return w.draw(rng)[1](rng) & M64


def random_vreg(rng):
    if rng.random() < 0.7:
        return rng.getrandbits(128)
    return rng.choice(FP_LANES) | (rng.choice(FP_LANES) << 64)


def random_fpcr(rng):
    if rng.random() < 0.5:
        return 0
    bits = (FPCR_FZ16, FPCR_FZ, FPCR_DN, FPCR_AHP)
    return (rng.randrange(4) << 22) | sum(b for b in bits if rng.random() < 0.3)


# -- cases ---------------------------------------------------------------------------------------
@dataclass
class Case:
    index: int
    family: str
    words: list
    regs: dict
    sp: int
    nzcv: int
    vregs: dict
    fpcr: int
    data: bytes
    stack: bytes
    top: bytes = None              # the top data page's bytes; None: not mapped
    tier: object = 1
    exec_page: tuple = None        # (page address, words at the end of that page)
    code_writable: bool = False

    def all_words(self):
        return list(self.words) + (list(self.exec_page[1]) if self.exec_page else [])

    def pages(self):
        """run_snippet's data pages."""
        out = [(DATA_BASE, self.data), (STACK_BASE, self.stack)]
        return out + ([(TOP_BASE, self.top)] if self.top is not None else [])


def random_case(rng, index, tier):
    regs = {n: pick(rng, VALUES) for n in range(31)}
    sp = STACK_TOP if rng.random() < 0.7 else pick(rng, VALUES)
    case = Case(index, "", [], regs, sp, rng.getrandbits(4) << 28,
                {n: random_vreg(rng) for n in range(32)}, random_fpcr(rng),
                rng.randbytes(DATA_SIZE), rng.randbytes(STACK_SIZE))
    case.top = rng.randbytes(PAGE_SIZE) if rng.random() < TOP_SHARE else None
    draw = rng.randrange(TIER_SHARE)
    case.tier = {0: 2, 1: "auto"}.get(draw, 1) if tier == "mixed" else tier
    return case


# -- words from the decode table ----------------------------------------------------------------
_groups = {}


def groups():
    """Decode-table rows by group (the module defining them), built once."""
    if not _groups:
        for p in patterns.TABLE:
            _groups.setdefault(p.group, []).append(p)
    return _groups


def row(name):
    return next(p for p in patterns.TABLE if p.name == name)


def field_width(pat, letter):
    return sum(w for _, w in dict(pat.fields)[letter])


def set_field(pat, word, letter, value):
    """word with field `letter` of pattern `pat` set to value (its runs, MSB first)."""
    left = field_width(pat, letter)
    for shift, width in dict(pat.fields)[letter]:
        left -= width
        part = (value >> left) & ((1 << width) - 1)
        word = (word & ~(((1 << width) - 1) << shift)) | (part << shift)
    return word


def fill(pat, rng, **fixed):
    """The row's fixed bits, every other bit random, then the given fields."""
    word = pat.value | (rng.getrandbits(32) & ~pat.mask & 0xFFFFFFFF)
    for letter, value in fixed.items():
        if letter in dict(pat.fields):
            word = set_field(pat, word, letter, value)
    return word


def table_word(rng, group=None, **fixed):
    """A word of a random row: group uniform (the 400-odd SIMD rows do not crowd out the
    rest), then a row of it."""
    by = groups()
    pats = by[group] if group else by[rng.choice(sorted(by))]
    return fill(rng.choice(pats), rng, **fixed)


def any_word(rng):
    return table_word(rng) if rng.random() < 0.5 else rng.getrandbits(32)


# -- families: each fills case.words (and may set registers, pages) -----------------------------
INDIRECT = ("BR", "BLR", "RET")
DIRECT = ("B", "BL", "B_cond", "CBZ", "TBZ")


def fam_random(rng, case):
    case.words = [rng.getrandbits(32)]


def fam_random_seq(rng, case):
    case.words = [rng.getrandbits(32) for _ in range(rng.randrange(2, 5))]


def fam_table(rng, case):
    case.words = [table_word(rng)]


def fam_table_seq(rng, case):
    case.words = [table_word(rng) for _ in range(rng.randrange(2, 5))]


def fam_mixed_seq(rng, case):
    case.words = [any_word(rng) for _ in range(rng.randrange(2, 5))]


def fam_indirect(rng, case):
    """0-2 words, then BR/BLR/RET Xn with Xn a random target (XZR: address 0)."""
    n = rng.randrange(32)
    if n < 31:
        case.regs[n] = pick(rng, TARGETS)
    pre = [table_word(rng) for _ in range(rng.randrange(3))]
    case.words = pre + [fill(row(rng.choice(INDIRECT)), rng, n=n)]


def near_offset(rng, slot, length):
    """A branch offset in words from `slot`: mostly forward within the code (the final BRK
    and the zero word after it included), sometimes back (loops), to the code page's last
    words, to the page after it, or before the code."""
    choice = rng.random()
    if choice < 0.57:
        return rng.randrange(1, length - slot + 2)
    if choice < 0.65:
        return -rng.randrange(0, slot + 1)
    if choice < 0.8:
        return PAGE_SIZE // 4 - slot - rng.randrange(1, 3)
    if choice < 0.9:
        return PAGE_SIZE // 4 - slot + rng.randrange(2)
    return -slot - rng.randrange(1, 1 << 12)


def fam_near_branch(rng, case):
    length = rng.randrange(1, 5)
    words = [any_word(rng) for _ in range(length)]
    slot = rng.randrange(length)
    pat = row(rng.choice(DIRECT))
    off = near_offset(rng, slot, length) & ((1 << field_width(pat, "i")) - 1)
    words[slot] = fill(pat, rng, i=off)
    case.words = words


def fam_off_page(rng, case):
    """1-3 words at the end of an executable page, entered by BR from CODE_BASE."""
    where = rng.choice(sorted(EXEC_PAGES))
    page = EXEC_PAGES[where]
    body = [any_word(rng) for _ in range(rng.randrange(1, 4))]
    n = rng.randrange(31)
    case.regs[n] = page + PAGE_SIZE - 4 * len(body)
    case.words = [fill(row("BR"), rng, n=n)]
    case.exec_page = (page, body)
    if page == TOP_BASE:
        case.top = None
    case.family += ":" + where


def fam_smc(rng, case):
    """Loads/stores based on registers pointing into a writable code page."""
    case.code_writable = True
    words = []
    for _ in range(rng.randrange(1, 4)):
        n = rng.randrange(31)
        case.regs[n] = CODE_BASE + rng.randrange(0, 32) // 8 * 8
        words.append(table_word(rng, "loadstore", n=n))
    case.words = words


# (weight, name, generator); the names are the summary's and the reproducers' family names.
FAMILIES = (
    (20, "random", fam_random),
    (10, "random-seq", fam_random_seq),
    (24, "table", fam_table),
    (14, "table-seq", fam_table_seq),
    (8, "mixed-seq", fam_mixed_seq),
    (9, "indirect", fam_indirect),
    (6, "near-branch", fam_near_branch),
    (6, "off-page", fam_off_page),
    (3, "smc", fam_smc),
)
_families = Weighted(FAMILIES)
# Families whose cases Unicorn can replay (the rig maps only the code, data and stack pages).
REPLAYABLE = {"random", "random-seq", "table", "table-seq", "mixed-seq", "indirect",
              "near-branch", "given"}


def make_case(seed, index, tier="mixed", words=None):
    """Case `index` of campaign `seed` (with `words`: those words, family "given")."""
    rng = random.Random(f"fuzz-insn:{seed}:{index}")
    case = random_case(rng, index, tier)
    if words is not None:
        case.family, case.words = "given", list(words)
        return case
    _, case.family, gen = _families.draw(rng)
    gen(rng, case)
    return case


# -- host memory: canaries and the flags table --------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_MAP_PRIVATE, _MAP_ANON, _MAP_NORESERVE, _MAP_FIXED_NOREPLACE = 0x02, 0x20, 0x4000, 0x100000
_RW = mmap.PROT_READ | mmap.PROT_WRITE
CANARY = bytes((i * 167 + 0x5A) & 0xFF for i in range(PAGE_SIZE))


class HostCanary:
    """One host page outside every guest reservation, filled with CANARY."""

    def __init__(self):
        self.page = mmap.mmap(-1, PAGE_SIZE)
        self.page.write(CANARY)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.page))

    def check(self):
        if self.page[:] == CANARY:
            return []
        first = next(i for i in range(PAGE_SIZE) if self.page[i] != CANARY[i])
        self.page[:] = CANARY
        return [f"host canary page {self.addr:#x} changed at +{first:#x}"]


_canary = None


def host_canary():
    global _canary
    if _canary is None:
        _canary = HostCanary()
    return _canary


def host_maps():
    """(lo, hi, perms, name) of this process's mappings."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = (int(v, 16) for v in parts[0].split("-"))
            out.append((lo, hi, parts[1], parts[5].strip() if len(parts) > 5 else ""))
    return out


_own_pages = set()          # canary pages this process mapped next to reservations


def own_page_at(addr):
    """Map one RW page exactly at addr (None if something is there)."""
    p = _libc.mmap(addr, PAGE_SIZE, _RW, _MAP_PRIVATE | _MAP_ANON | _MAP_FIXED_NOREPLACE, -1, 0)
    if p in (None, ctypes.c_void_p(-1).value):
        return None
    if p != addr:                    # a kernel without MAP_FIXED_NOREPLACE put it elsewhere
        _libc.munmap(p, PAGE_SIZE)
        return None
    _own_pages.add(p)
    return p


def page_above_next_reservation():
    """A page of ours where the next guest reservation will most likely end: mmap places a
    new mapping at the top of the highest gap that fits, so probe with one page more than a
    reservation, unmap the probe and map a page at its top.  (Checked afterwards: the
    reservation may still land elsewhere.)"""
    size = ADDR_LIMIT + PAGE_SIZE
    p = _libc.mmap(None, size, 0, _MAP_PRIVATE | _MAP_ANON | _MAP_NORESERVE, -1, 0)
    if p in (None, ctypes.c_void_p(-1).value):
        return None
    _libc.munmap(p, size)
    return own_page_at(p + ADDR_LIMIT)


def drop_own_page(addr):
    _own_pages.discard(addr)
    _libc.munmap(addr, PAGE_SIZE)


class GuestWatch:
    """The invariants of one snippet guest's host memory: its page-flags table outside the
    case's pages and the host pages next to its reservation."""

    def __init__(self, mem, others, ours=None):
        """others: the watches of other guests; ours: a page of ours that may be the one
        just above this guest's reservation (page_above_next_reservation)."""
        self.mem = mem
        self.flags = mem.flags_addr
        self.size = NPAGES + PAGE_SIZE           # the table, its guard entry and tail
        self.baseline = {}                       # page -> flags outside every layout
        self.last_layout = {}                    # the layout of the last case run here
        self.watched = []                        # (label, address, bytes expected there)
        self.notes = []
        self.sampler = random.Random(mem.base)
        self._expect_cache = {}
        self._zero = ctypes.create_string_buffer(1 << 20)
        if ours is not None and ours != mem.base + ADDR_LIMIT:
            drop_own_page(ours)
            ours = None
        for label, addr in (("above", mem.base + ADDR_LIMIT), ("below", mem.base - PAGE_SIZE)):
            self._neighbour(label, addr, others, ours)

    def _neighbour(self, label, addr, others, ours):
        where = f"the page {label} the guest reservation"
        if addr == self.flags + NPAGES:
            self.notes.append(f"{where}: the flags table's guard tail (checked with the table)")
            return
        hit = [m for m in host_maps() if m[0] <= addr < m[1]]
        if addr == ours or addr in _own_pages or not hit and own_page_at(addr) is not None:
            ctypes.memmove(addr, CANARY, PAGE_SIZE)
            self.watched.append((where, addr, CANARY))
            self.notes.append(f"{where}: our canary")
            return
        lo, hi, perms, name = hit[0] if hit else (0, 0, "?", "")
        flags_of = [o for o in others if o.flags <= addr < o.flags + o.size]
        if flags_of:
            self.notes.append(f"{where}: another watched guest's flags table")
        elif perms.startswith("r") and perms[1] != "w":
            self.watched.append((where, addr, ctypes.string_at(addr, PAGE_SIZE)))
            self.notes.append(f"{where}: read-only {name or 'anonymous'} (snapshot)")
        else:
            self.notes.append(f"{where}: {perms} {name or 'anonymous'} (not checked)")

    # -- expected flags
    def expected(self, page, layout):
        allowed = layout.get(page)
        if allowed is not None:
            return allowed
        return frozenset({self.baseline.get(page, 0)})

    def _expected_bytes(self, lo, n, layout):
        key = (lo, n, tuple(sorted((p, min(a)) for p, a in layout.items())))
        exp = self._expect_cache.get(key)
        if exp is None:
            exp = bytearray(n)
            for p, v in self.baseline.items():
                if lo <= p < lo + n:
                    exp[p - lo] = v
            for p, allowed in layout.items():
                if lo <= p < lo + n:
                    exp[p - lo] = min(allowed)
            exp = self._expect_cache[key] = bytes(exp)
        return exp

    def _window(self, lo, n, layout):
        got = bytearray(ctypes.string_at(self.flags + lo, n))
        out = []
        for p, allowed in layout.items():
            if lo <= p < lo + n:
                if got[p - lo] in allowed:
                    got[p - lo] = min(allowed)
        exp = self._expected_bytes(lo, n, layout)
        if got != exp:
            for i in [i for i in range(n) if got[i] != exp[i]][:4]:
                v = ctypes.c_uint8.from_address(self.flags + lo + i).value
                out.append(self._differs(lo + i, v, layout))
        return out

    def _differs(self, page, got, layout):
        """The message for a wrong entry; outside the layout the new value becomes the
        baseline (one corruption is reported once, by the case after which it was found)."""
        msg = self._flag_msg(page, got, self.expected(page, layout))
        if page not in layout:
            if got:
                self.baseline[page] = got
            else:
                self.baseline.pop(page, None)
            self._expect_cache.clear()
        return msg

    @staticmethod
    def _flag_msg(page, got, allowed):
        where = f"guard/tail entry +{page - NPAGES:#x}" if page >= NPAGES else \
            f"page {page:#x} (guest {page << PAGE_SHIFT:#x})"
        want = "/".join(f"{v:#x}" for v in sorted(allowed))
        return f"page flags changed: {where} is {got:#x}, expected {want}"

    def start(self, layout):
        """The baseline: what the table holds outside `layout` once a first case ran."""
        self.baseline = {}
        for page, value in self._nonzero():
            if page not in layout:
                self.baseline[page] = value
        self._expect_cache.clear()

    def _resident(self):
        """Which pages of the table are in memory (mincore): a page never touched reads as
        zero and is not looked at, so a scan does not fault in 256 MiB of zero pages.  (On
        a host with swap a swapped-out page is skipped too.)"""
        vec = ctypes.create_string_buffer(self.size // PAGE_SIZE)
        if _libc.mincore(self.flags, self.size, vec) != 0:
            return None
        return vec.raw

    def _nonzero(self):
        chunk = len(self._zero)
        per = chunk // PAGE_SIZE
        resident = self._resident()
        for off in range(0, self.size, chunk):
            n = min(chunk, self.size - off)
            first = off // PAGE_SIZE
            if resident is not None and not resident[first:first + per].strip(b"\0"):
                continue
            if _libc.memcmp(self.flags + off, self._zero, n) == 0:
                continue
            blob = ctypes.string_at(self.flags + off, n)
            for m in re.finditer(rb"[^\x00]", blob):
                yield off + m.start(), blob[m.start()]

    def check(self, layout, pages=()):
        """After every case: both ends of the table, `pages`, a random sample; the neighbours."""
        out = self._window(0, FLAGS_WINDOW, layout)
        out += self._window(NPAGES - FLAGS_WINDOW, FLAGS_WINDOW + PAGE_SIZE, layout)
        sample = set(pages) | {self.sampler.randrange(NPAGES) for _ in range(SAMPLE_PAGES)}
        for p in sample:
            if 0 <= p < NPAGES:
                v = ctypes.c_uint8.from_address(self.flags + p).value
                if v not in self.expected(p, layout):
                    out.append(self._differs(p, v, layout))
        for label, addr, want in self.watched:
            if _libc.memcmp(addr, want, PAGE_SIZE):
                got = ctypes.string_at(addr, PAGE_SIZE)
                first = next(i for i in range(PAGE_SIZE) if got[i] != want[i])
                out.append(f"host memory changed: {label} at +{first:#x}")
                if want is CANARY:           # our own page: re-arm it
                    ctypes.memmove(addr, want, PAGE_SIZE)
        return sorted(set(out))

    def full_scan(self, layout):
        """The whole table against the baseline and the current layout."""
        out = []
        seen = set()
        for page, value in self._nonzero():
            seen.add(page)
            if value not in self.expected(page, layout):
                out.append(self._differs(page, value, layout))
        for page in [p for p in self.baseline if p not in seen and p not in layout]:
            out.append(self._differs(page, 0, layout))
        return out[:8]


def layout_of(case):
    """page -> the flags values it may hold after the case (its own mappings)."""
    code_len = page_ceil(4 * (len(case.words) + 1))
    cflags = WRITABLE_CODE_FLAGS if case.code_writable else CODE_FLAGS
    out = {p: cflags for p in range(CODE_BASE >> PAGE_SHIFT, (CODE_BASE + code_len) >> PAGE_SHIFT)}
    for addr, data in case.pages():
        for p in range(addr >> PAGE_SHIFT, (addr + page_ceil(len(data))) >> PAGE_SHIFT):
            out[p] = DATA_FLAGS
    if case.exec_page:
        out[case.exec_page[0] >> PAGE_SHIFT] = CODE_FLAGS
    return out


# -- the watchdog -------------------------------------------------------------------------------
class Watchdog:
    """Stops an endless guest loop: while a case has run longer than `seconds`, sets the
    CPU's exit-request word (again every `seconds`: run_snippet clears the whole CPU state
    when it starts, so a request set before that would be lost).  Translated code leaves at
    its next backward branch or chain point with ExitReason.REQUEST."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.cv = threading.Condition()
        self.cpu = None
        self.deadline = 0.0
        self.fired = False
        threading.Thread(target=self._run, name="fuzz-insn-watchdog", daemon=True).start()

    def arm(self, cpu):
        with self.cv:
            self.cpu, self.fired = cpu, False
            self.deadline = time.monotonic() + self.seconds
            self.cv.notify()

    def disarm(self):
        with self.cv:
            self.cpu = None
            return self.fired

    def _run(self):
        with self.cv:
            while True:
                if self.cpu is None:
                    self.cv.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cv.wait(left)
                    continue
                self.cpu.exit_request = 1
                self.fired = True
                self.deadline = time.monotonic() + self.seconds


# -- running one case ---------------------------------------------------------------------------
class Recycle(Exception):
    """The process is near the host's vm.max_map_count: every translation stays loaded in
    one process (emu/snippet.py never frees one), ~2 mappings each.  Not a finding: the
    campaign goes on in a fresh worker process from the case that met it."""
@dataclass
class Outcome:
    label: str                     # exit reason name, TIMEOUT, LOOP, EXCEPTION, ...
    failures: list = field(default_factory=list)
    diffs: list = None             # Unicorn: None not compared, [] equal, else the differences
    result: object = None


def describe_exception(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if tb:
        f = tb[-1]
        try:
            path = Path(f.filename).resolve().relative_to(REPO)
        except ValueError:
            path = f.filename
        where = f" (at {path}:{f.lineno} in {f.name})"
    return f"exception escaped: {type(exc).__name__}: {exc}{where}"


def _guest(tier):
    """run_snippet's guest for `tier`: (cpu, mem, translator, its mapping list)."""
    return snippet._guest(False, tier)


class Runner:
    """Runs cases and checks the invariants; keeps the watch of every guest it used."""

    def __init__(self, timeout=DEFAULTS["timeout"], unicorn_every=DEFAULTS["unicorn_every"]):
        self.watchdog = Watchdog(timeout)
        self.watches = {}              # id(mem) -> GuestWatch
        self.unicorn_every = unicorn_every
        self.rig = None
        self.resets = 0

    def watch(self, tier):
        ours = page_above_next_reservation() if (False, tier) not in snippet._shared else None
        cpu, mem, _, _ = _guest(tier)
        w = self.watches.get(id(mem))
        if w is None:
            w = GuestWatch(mem, list(self.watches.values()), ours)
            # a first case releases what earlier users of this guest mapped; then the baseline
            warm = make_case(0, 0, tier, words=[])
            warm.top = None
            try:
                snippet.run_snippet([], pages=warm.pages(), tier=tier)
            except CodeMemoryExhausted:
                raise Recycle() from None
            w.start(layout_of(warm))
            self.watches[id(mem)] = w
        return cpu, mem, w

    def run(self, case):
        cpu, mem, watch = self.watch(case.tier)
        layout = watch.last_layout = layout_of(case)
        out = Outcome("?")
        try:
            if self._map_exec_page(case, mem, out):
                out.result = self._execute(case, cpu, out)
            out.failures += self._check(case, mem, watch, layout, out.result)
            out.diffs = self._unicorn(case, out)
        finally:
            if case.exec_page:
                mem.release(case.exec_page[0], PAGE_SIZE)
        if out.label == "EXCEPTION":
            self._reset(case.tier)
        return out

    def _map_exec_page(self, case, mem, out):
        """The case's extra executable page, if any.  The case's data pages are mapped first
        (run_snippet releases the last case's pages when the set changes, which would take
        our page with them).  False when that raised (a failure of the case)."""
        if not case.exec_page:
            return True
        try:
            snippet.run_snippet([], pages=case.pages(), tier=case.tier)
            page, body = case.exec_page
            mem.commit(page, PAGE_SIZE, PROT_READ | PROT_EXEC)
            code = b"".join(w.to_bytes(4, "little") for w in body)
            mem.write(page + PAGE_SIZE - len(code), code, force=True)
        except CodeMemoryExhausted:
            raise Recycle() from None
        except Exception as exc:       # noqa: BLE001 - any exception is the finding
            out.label = "EXCEPTION"
            out.failures.append("while mapping the executable page: " + describe_exception(exc))
            return False
        return True

    def _execute(self, case, cpu, out):
        self.watchdog.arm(cpu)
        result = None
        try:
            result = snippet.run_snippet(
                case.words, regs=case.regs, sp=case.sp, nzcv=case.nzcv, vregs=case.vregs,
                fpcr=case.fpcr, pages=case.pages(), code_writable=case.code_writable,
                tier=case.tier)
        except CodeMemoryExhausted:
            raise Recycle() from None
        except RuntimeError as exc:
            if str(exc) != SNIPPET_LIMIT:
                out.label = "EXCEPTION"
                out.failures.append(describe_exception(exc))
            else:
                out.label = "LOOP"
        except Exception as exc:       # noqa: BLE001 - any exception is the finding
            out.label = "EXCEPTION"
            out.failures.append(describe_exception(exc))
        finally:
            fired = self.watchdog.disarm()
        if result is not None:
            reason = result.reason
            if reason == ExitReason.REQUEST and fired:
                out.label = "TIMEOUT"
            elif reason in EXPECTED:
                out.label = reason.name
            else:
                out.label = getattr(reason, "name", str(reason))
                out.failures.append(f"unexpected exit reason {out.label} "
                                    f"(pc={result.cpu.pc:#x} info={result.info:#x})")
        return result

    def _check(self, case, mem, watch, layout, result):
        pages = [v >> PAGE_SHIFT for v in case.regs.values()]
        if result is not None:
            pages += [v >> PAGE_SHIFT for v in result.cpu.x]
        out = watch.check(layout, pages)
        out += host_canary().check()
        if result is None:             # the case raised: its pages may not be mapped
            return out
        if not case.code_writable:
            code = b"".join(w.to_bytes(4, "little") for w in case.words + [snippet.BRK0])
            if mem.read(CODE_BASE, len(code)) != code:
                out.append("the read-only code page changed")
        if case.exec_page:
            page, body = case.exec_page
            code = b"".join(w.to_bytes(4, "little") for w in body)
            if mem.read(page + PAGE_SIZE - len(code), len(code)) != code:
                out.append(f"the read-only executable page {page:#x} changed")
        return out

    def full_scan(self):
        """Every used guest's whole flags table (its last case's pages allowed)."""
        return [m for w in self.watches.values() for m in w.full_scan(w.last_layout)]

    def _reset(self, tier):
        """After an exception: a fresh guest for this tier (its state may be half-updated)."""
        if self.resets >= MAX_RESETS:
            return
        self.resets += 1
        mem = _guest(tier)[1]
        self.watches.pop(id(mem), None)
        snippet._shared.pop((False, tier), None)

    # -- Unicorn
    def replayable(self, case):
        return (self.unicorn_every > 0 and case.index % self.unicorn_every == 0
                and case.family in REPLAYABLE and case.top is None
                and not case.fpcr & (FPCR_FZ | FPCR_AHP | FPCR_FZ16))

    def _unicorn(self, case, out):
        if out.label not in EXPECTED_NAMES or out.failures or not self.replayable(case):
            return None
        if self.rig is None:
            from tests import unicorn_rig
            self.rig = unicorn_rig
        if self._unicorn_executes(out.result):
            return None
        return unicorn_diffs(self.rig, case, out.result)

    def _unicorn_executes(self, result):
        """Did we stop at an aligned PC that the rig maps executable (its code region is
        CODE_SIZE long, its data and stack pages are executable too)?  A layout difference,
        not a divergence: such cases are not compared."""
        pc, rig = result.cpu.pc, self.rig
        return (result.reason == ExitReason.FAULT_EXEC and not pc & 3
                and any(base <= pc < base + size for base, size in
                        ((CODE_BASE, rig.CODE_SIZE), (rig.DATA_BASE, rig.DATA_SIZE),
                         (rig.STACK_BASE, rig.STACK_SIZE))))


def unicorn_diffs(rig, case, result):
    """Differences between Unicorn and our run of the case, by the rig's rules."""
    st = {"regs": case.regs, "vregs": case.vregs, "nzcv": case.nzcv, "sp": case.sp,
          "data": case.data, "stack": case.stack, "case": None}
    cpu, mem = result.cpu, result.mem
    j = {"x": list(cpu.x), "sp": cpu.sp, "pc": cpu.pc, "nzcv": cpu.nzcv,
         "v": snippet.get_vregs(cpu), "fpsr": cpu.fpsr, "reason": result.reason,
         "info": result.info, "data": mem.read(DATA_BASE, DATA_SIZE),
         "stack": mem.read(STACK_BASE, STACK_SIZE)}
    u = rig.run_unicorn(case.words, st, case.fpcr)
    diffs, stop = rig.termination(case.words, u, j)
    if stop:
        return diffs
    skip, edges = rig.fault_leeway(case.words, u, j)
    diffs += [f"x{n}: unicorn={u['x'][n]:#x} jit={j['x'][n]:#x}" for n in range(31)
              if u["x"][n] != j["x"][n] and ("x", n) not in skip]
    diffs += [f"{k}: unicorn={u[k]:#x} jit={j[k]:#x}" for k in ("sp", "nzcv", "pc") if u[k] != j[k]]
    diffs += [f"v{n}: unicorn={u['v'][n]:#x} jit={j['v'][n]:#x}" for n in range(32)
              if u["v"][n] != j["v"][n] and ("v", n) not in skip]
    diffs += [f"{k} memory differs" for k in ("data", "stack")
              if not rig.same_memory(u[k], j[k], edges)]
    return diffs


# -- campaign statistics ------------------------------------------------------------------------
def form_of(words):
    names = []
    for w in words:
        p, _ = patterns.decode(w & 0xFFFFFFFF)
        names.append(p.name if p else "undecoded")
    return "+".join(names)


@dataclass
class Stats:
    cases: int = 0
    labels: Counter = field(default_factory=Counter)
    words: set = field(default_factory=set)
    failures: list = field(default_factory=list)     # dicts: case, what, repro
    compared: int = 0
    divergent: int = 0
    divergent_forms: Counter = field(default_factory=Counter)
    divergences: list = field(default_factory=list)  # the first few, as text
    notes: list = field(default_factory=list)        # what the host-memory checks cover
    stopped_at: int = None                           # the case a Recycle stopped before
    seconds: float = 0.0

    def add(self, label, words, compared="-", form=None):
        """One case: its label, all its words, "-" not compared / "=" same as Unicorn /
        "!" divergent (in form `form`)."""
        self.cases += 1
        self.labels[label] += 1
        self.words.update(words)
        if compared != "-":
            self.compared += 1
        if compared == "!":
            self.divergent += 1
            self.divergent_forms[form] += 1

    def summary(self, seed):
        rate = self.cases / self.seconds if self.seconds else 0.0
        exits = ", ".join(f"{k} {v}" for k, v in self.labels.most_common())
        return (f"fuzz instructions: seed {seed}, {self.cases} cases in {self.seconds:.1f} s "
                f"({rate:.0f}/s), {len(self.words)} distinct words; exits: {exits}; "
                f"unicorn: {self.compared} compared, {self.divergent} divergent; "
                f"failures: {len(self.failures)}")


# -- reproducers and reports --------------------------------------------------------------------
def reproducer(cfg, case_index, words=None):
    """The command line that replays one case."""
    cmd = ["python3 -m harness fuzz instructions"]
    if words is not None:
        cmd.append("--words " + ",".join(f"{w:#x}" for w in words))
    cmd.append(f"--seed {cfg.seed} --case {case_index}")
    if cfg.tier != DEFAULTS["tier"]:
        cmd.append(f"--tier {cfg.tier}")
    if cfg.timeout != DEFAULTS["timeout"]:
        cmd.append(f"--timeout {cfg.timeout}")
    return " ".join(cmd)


def failure_record(cfg, case, what):
    return {"case": case.index, "family": case.family, "tier": case.tier,
            "words": [f"{w:#010x}" for w in case.all_words()], "what": list(what),
            "repro": reproducer(cfg, case.index, case.words if case.family == "given" else None)}


def print_failure(f, out=None):
    out = out or sys.stdout
    print(f"FAIL case {f['case']} ({f['family']}, tier {f['tier']}, words "
          f"{' '.join(f['words']) or '-'}):", file=out)
    for w in f["what"]:
        print(f"    {w}", file=out)
    print(f"  reproduce: {f['repro']}", file=out, flush=True)


def divergence_text(cfg, case, diffs):
    return (f"divergence from unicorn, case {case.index} ({form_of(case.words)}: "
            f"{' '.join(f'{w:#010x}' for w in case.words)}): {'; '.join(diffs[:3])}; "
            f"replay: {reproducer(cfg, case.index)}")


# -- the in-process campaign --------------------------------------------------------------------
@dataclass
class Config:
    seed: int = DEFAULTS["seed"]
    count: int = DEFAULTS["count"]
    tier: object = DEFAULTS["tier"]
    timeout: float = DEFAULTS["timeout"]
    scan_every: int = DEFAULTS["scan_every"]
    unicorn_every: int = DEFAULTS["unicorn_every"]
    show: int = DEFAULTS["show"]
    words: list = None
    offset: int = 0                 # this process runs cases offset, offset+stride, ...
    stride: int = 1
    per_worker: int = DEFAULTS["per_worker"]   # ... at most this many of them (a worker)
    worker: bool = False
    crash_at: int = None            # tests: this process kills itself at that case


def compared_mark(diffs):
    return "-" if diffs is None else "!" if diffs else "="


def run_campaign(cfg, on_case=None, on_failure=None):
    """Run cases offset, offset+stride, ... below count in this process; returns Stats.
    on_case(case, outcome) after each case, on_failure(record) for each failure."""
    runner = Runner(cfg.timeout, cfg.unicorn_every)
    stats = Stats()
    t0 = time.perf_counter()
    indices = itertools.islice(range(cfg.offset, cfg.count, cfg.stride),
                               max(1, cfg.per_worker) if cfg.worker else None)
    last = since = None                # the last case run; the first since the last scan

    def fail(case, what):
        rec = failure_record(cfg, case, what)
        stats.failures.append(rec)
        if on_failure:
            on_failure(rec)

    for n, k in enumerate(indices):
        if cfg.crash_at == k:
            os.kill(os.getpid(), signal.SIGSEGV)
        case = make_case(cfg.seed, k, cfg.tier, cfg.words)
        try:
            out = runner.run(case)
        except Recycle:
            stats.stopped_at = k
            break
        last, since = case, k if since is None else since
        if out.failures:
            fail(case, out.failures)
        if (n + 1) % cfg.scan_every == 0:
            scan = runner.full_scan()
            if scan:
                fail(case, [f"full flags-table scan after this case (written by one of cases "
                            f"{since}..{k}): " + s for s in scan])
            since = None
        stats.add(out.label, case.all_words(), compared_mark(out.diffs),
                  form_of(case.words) if out.diffs else None)
        if out.diffs and len(stats.divergences) < cfg.show:
            stats.divergences.append(divergence_text(cfg, case, out.diffs))
        if on_case:
            on_case(case, out)
    if last is not None:
        scan = runner.full_scan()
        if scan:
            fail(last, ["full flags-table scan at the end: " + s for s in scan])
    stats.seconds = time.perf_counter() - t0
    stats.notes = sorted({n for w in runner.watches.values() for n in w.notes})
    return stats


def describe_case(case, out):
    """A replayed case, in detail."""
    from translator.decoder import capstone_view
    lines = [f"case {case.index}: family {case.family}, tier {case.tier}"]

    def text(w, addr):
        mnem, ops, _ = capstone_view(w, addr)
        p, _ = patterns.decode(w)
        asm = (mnem + " " + ops).strip() or "(capstone: undefined)"
        return f"{w:#010x}  {asm}  [{p.name if p else 'no row'}]"
    for i, w in enumerate(case.words):
        lines.append(f"  {CODE_BASE + 4 * i:#x}: {text(w, CODE_BASE + 4 * i)}")
    if case.exec_page:
        page, body = case.exec_page
        at = page + PAGE_SIZE - 4 * len(body)
        for i, w in enumerate(body):
            lines.append(f"  {at + 4 * i:#x}: {text(w, at + 4 * i)}")
    regs = " ".join(f"x{n}={v:#x}" for n, v in sorted(case.regs.items()))
    lines.append(f"  state: {regs} sp={case.sp:#x} nzcv={case.nzcv >> 28:#x} fpcr={case.fpcr:#x} "
                 f"top page {'mapped' if case.top is not None else 'not mapped'}"
                 f"{', code writable' if case.code_writable else ''}")
    r = out.result
    if r is not None:
        lines.append(f"  exit: {out.label} pc={r.cpu.pc:#x} info={r.info:#x}")
    else:
        lines.append(f"  exit: {out.label}")
    lines += [f"  FAIL: {f}" for f in out.failures] or ["  invariants: hold"]
    if out.diffs is not None:
        lines.append("  unicorn: " + ("; ".join(out.diffs) if out.diffs else "same"))
    return "\n".join(lines)


# -- workers and the supervisor -----------------------------------------------------------------
def worker_main(cfg):
    """A worker: one protocol line per case on stdout, then "e".
    c K LABEL U W,W   (U: - not compared, = same as Unicorn, ! divergent)
    f JSON            a failure record
    d TEXT            one of the first divergences"""
    out = sys.stdout

    def on_case(case, o):
        words = ",".join(f"{w:x}" for w in case.all_words()) or "-"
        form = form_of(case.words) if o.diffs else "-"
        out.write(f"c {case.index} {o.label} {compared_mark(o.diffs)} {words} {form}\n")
        out.flush()

    stats = run_campaign(cfg, on_case, lambda rec: out.write("f " + json.dumps(rec) + "\n"))
    for d in stats.divergences:
        out.write(f"d {d}\n")
    for n in stats.notes:
        out.write(f"n {n}\n")
    out.write("e\n")
    out.flush()
    return 0


def _worker_cmd(cfg, offset):
    cmd = [sys.executable, "-m", "harness", "fuzz", "instructions", "--worker",
           "--seed", str(cfg.seed), "--count", str(cfg.count), "--offset", str(offset),
           "--stride", str(cfg.stride), "--tier", str(cfg.tier), "--timeout", str(cfg.timeout),
           "--scan-every", str(cfg.scan_every), "--unicorn-every", str(cfg.unicorn_every),
           "--show", str(cfg.show), "--per-worker", str(cfg.per_worker)]
    if cfg.words is not None:
        cmd += ["--words", ",".join(f"{w:#x}" for w in cfg.words)]
    if cfg.crash_at is not None:
        cmd += ["--crash-at", str(cfg.crash_at)]
    return cmd


class Worker:
    """One worker process and the thread that reads its lines into the supervisor's queue."""

    def __init__(self, cfg, offset, lines):
        self.next = offset              # the case it runs next
        self.finished = False
        self.progressed = False         # it finished a case
        self.hung = False
        self.seen = time.monotonic()
        self.proc = subprocess.Popen(_worker_cmd(cfg, offset), stdout=subprocess.PIPE,
                                     cwd=REPO, text=True, bufsize=1)
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()

    def _read(self, lines):
        for line in self.proc.stdout:
            lines.put((self, line.rstrip("\n")))
        lines.put((self, None))


class Supervisor:
    """Runs the campaign in worker processes; a worker that dies or hangs is a failure of
    the case it was running, and a new worker goes on after that case."""

    def __init__(self, cfg, jobs, hang):
        self.cfg, self.jobs, self.hang = cfg, jobs, hang
        cfg.stride = jobs
        self.stats = Stats()
        self.notes = set()
        self.lines = queue.Queue()
        self.restarts = 0
        self.stillborn = 0
        self.live = set()

    def run(self):
        t0 = self.t0 = time.perf_counter()
        self.live = {Worker(self.cfg, i, self.lines) for i in range(min(self.jobs, self.cfg.count))}
        while self.live:
            try:
                w, line = self.lines.get(timeout=1.0)
            except queue.Empty:
                self._kill_hung()
                continue
            w.seen = time.monotonic()
            if line is None:
                self._ended(w)
            else:
                self._line(w, line)
        self.stats.seconds = time.perf_counter() - t0
        self.stats.notes = sorted(self.notes)
        return self.stats

    def _progress(self):
        every = max(1000, self.cfg.count // 10)
        if self.stats.cases % every == 0:
            print(f"fuzz instructions: {self.stats.cases}/{self.cfg.count} cases, "
                  f"{len(self.stats.failures)} failures, {time.perf_counter() - self.t0:.0f} s",
                  file=sys.stderr, flush=True)

    def _kill_hung(self):
        for w in self.live:
            if not w.hung and time.monotonic() - w.seen > self.hang:
                w.hung = True
                w.proc.kill()           # our own child, by its handle

    def _ended(self, w):
        self.live.discard(w)
        rc = w.proc.wait()
        if w.next >= self.cfg.count:
            return
        if w.finished:                  # its --per-worker share, or near the mapping limit
            self.live.add(Worker(self.cfg, w.next, self.lines))
            return
        what = (f"no progress for {self.hang:g} s (worker killed)" if w.hung
                else f"worker process died: {_status(rc)}")
        case = make_case(self.cfg.seed, w.next, self.cfg.tier, self.cfg.words)
        rec = failure_record(self.cfg, case, [what])
        self.stats.failures.append(rec)
        self.stats.add("HANG" if w.hung else "CRASH", case.all_words())
        print_failure(rec)
        self.stillborn = 0 if w.progressed else self.stillborn + 1
        if w.next + self.jobs >= self.cfg.count:
            return
        if self.restarts >= MAX_RESTARTS or self.stillborn >= MAX_STILLBORN:
            print(f"fuzz instructions: {self.restarts + 1} workers died "
                  f"({self.stillborn} in a row before their first case), giving up", flush=True)
            return
        self.restarts += 1
        self.live.add(Worker(self.cfg, w.next + self.jobs, self.lines))

    def _line(self, w, line):
        kind, _, rest = line.partition(" ")
        if kind == "c":
            k, label, mark, words, form = rest.split(" ")
            ws = [] if words == "-" else [int(x, 16) for x in words.split(",")]
            self.stats.add(label, ws, mark, form)
            w.next = int(k) + self.jobs
            w.progressed = True
            self._progress()
        elif kind == "f":
            rec = json.loads(rest)
            self.stats.failures.append(rec)
            print_failure(rec)
        elif kind == "d":
            if len(self.stats.divergences) < self.cfg.show:
                self.stats.divergences.append(rest)
        elif kind == "n":
            self.notes.add(rest)
        elif kind == "e":
            w.finished = True
        else:
            print(f"worker: {line}", file=sys.stderr)


def _status(rc):
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


# -- command line -------------------------------------------------------------------------------
def parse_words(text):
    try:
        return [int(w, 0) & 0xFFFFFFFF for w in text.replace(" ", "").split(",") if w]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of words: {text!r}") from None


def parse_tier(text):
    if text in ("mixed", "auto"):
        return text
    if text in ("1", "2"):
        return int(text)
    raise argparse.ArgumentTypeError("tier: mixed, auto, 1 or 2")


def make_parser(prog):
    p = argparse.ArgumentParser(prog=prog, description="Random instruction words through the "
                                "JIT; every case must end in a guest exit reason with the host "
                                "untouched.")
    p.add_argument("--count", type=int, default=DEFAULTS["count"],
                   help="cases (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--case", type=int, help="replay this one case, in detail")
    p.add_argument("--words", type=parse_words, help="run these words (comma-separated) from "
                   "the states of cases 0..count-1 (or of --case K)")
    p.add_argument("--tier", type=parse_tier, default=DEFAULTS["tier"],
                   help="mixed (default: tier 1, one case in %d at tier 2 and one under auto, "
                   "where hot loops are promoted), auto, 1 or 2" % TIER_SHARE)
    p.add_argument("--jobs", type=int, default=DEFAULTS["jobs"], help="worker processes")
    p.add_argument("--in-process", action="store_true",
                   help="no worker process (a host crash then ends the campaign unreported)")
    p.add_argument("--timeout", type=float, default=DEFAULTS["timeout"],
                   help="seconds before a running case is stopped as TIMEOUT")
    p.add_argument("--scan-every", type=int, default=DEFAULTS["scan_every"],
                   help="cases between scans of the whole flags table")
    p.add_argument("--unicorn-every", type=int, default=DEFAULTS["unicorn_every"],
                   help="replay every Nth case Unicorn can run there (0: none)")
    p.add_argument("--show", type=int, default=DEFAULTS["show"], help="divergences listed")
    p.add_argument("--hang", type=float, default=DEFAULTS["hang"],
                   help="seconds without progress before a worker is killed as hung")
    p.add_argument("--per-worker", type=int, default=DEFAULTS["per_worker"],
                   help="cases a worker process runs before a fresh one takes over (translations "
                   "are never freed in a process; ~2 host mappings each, vm.max_map_count)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--stride", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--crash-at", type=int, help=argparse.SUPPRESS)
    return p


def config_from(args):
    return Config(seed=args.seed, count=args.count, tier=args.tier, timeout=args.timeout,
                  scan_every=max(1, args.scan_every), unicorn_every=args.unicorn_every,
                  show=args.show, words=args.words, offset=args.offset, stride=args.stride,
                  crash_at=args.crash_at, per_worker=args.per_worker, worker=args.worker)


def replay(cfg, index):
    """--case K: run it in this process and describe it."""
    runner = Runner(cfg.timeout, 1 if cfg.unicorn_every else 0)
    case = make_case(cfg.seed, index, cfg.tier, cfg.words)
    out = runner.run(case)
    print(describe_case(case, out))
    failures = list(out.failures) + runner.full_scan()
    if failures:
        print_failure(failure_record(cfg, case, failures))
    return 1 if failures else 0


def cli(kind, argv, prog):
    assert kind == "instructions", kind
    args = make_parser(prog).parse_args(argv)
    cfg = config_from(args)
    if args.worker:
        return worker_main(cfg)
    if args.case is not None:
        return replay(cfg, args.case)
    if args.in_process or args.jobs < 1:
        stats = run_campaign(cfg, on_failure=print_failure)
        if stats.stopped_at is not None:
            print(f"fuzz instructions: stopped before case {stats.stopped_at}: this process "
                  f"nears vm.max_map_count (every translation stays loaded); run without "
                  f"--in-process: workers start afresh every --per-worker cases", flush=True)
    else:
        stats = Supervisor(cfg, args.jobs, args.hang).run()
    for note in stats.notes:
        print(f"note: {note}")
    for d in stats.divergences:
        print(d)
    if stats.divergent_forms:
        top = ", ".join(f"{k} {v}" for k, v in stats.divergent_forms.most_common(8))
        print(f"divergent forms (first words): {top}")
    print(stats.summary(cfg.seed), flush=True)
    return 1 if stats.failures or stats.stopped_at is not None else 0
