"""The one definition of the guest CPU state shared by Python and compiled code.

Owns: the C layout of the AArch64 user-mode register file (X0-X30, SP, PC,
N/Z/C/V as separate bytes, V0-V31, FPCR/FPSR, TPIDR_EL0, the exclusive
monitor), the dispatcher's control words (exit reason, exit info, exit
request, pending link slot, block table pointer and mask) and native
counters, plus the exit-reason codes.  The translator derives its field
offsets from FIELDS; Python reads and writes the same bytes through the
ctypes structure.  Does not own: what any field means to the kernel layer.
"""
import ctypes
import enum

# (name, ctypes type) in layout order.  Offsets are asserted below so that a
# change here is a deliberate change of the contract.
FIELDS = [
    ("x", ctypes.c_uint64 * 31),       # X0..X30
    ("sp", ctypes.c_uint64),
    ("pc", ctypes.c_uint64),
    ("n", ctypes.c_uint8),
    ("z", ctypes.c_uint8),
    ("c", ctypes.c_uint8),
    ("v", ctypes.c_uint8),
    ("_pad0", ctypes.c_uint32),
    ("vreg", (ctypes.c_uint64 * 2) * 32),  # V0..V31, little-endian 128-bit
    ("fpcr", ctypes.c_uint32),
    ("fpsr", ctypes.c_uint32),
    ("tpidr", ctypes.c_uint64),        # TPIDR_EL0
    ("excl_addr", ctypes.c_uint64),    # exclusive monitor: address (or ~0)
    ("excl_val", ctypes.c_uint64),     # value seen by LDXR (low half of pair)
    ("excl_val2", ctypes.c_uint64),    # high half for LDXP
    ("exit_reason", ctypes.c_uint32),  # ExitReason, 0 while chaining
    ("exit_request", ctypes.c_uint32), # nonzero: stop at the next chain point
    ("exit_info", ctypes.c_uint64),    # fault address / instruction word ...
    ("link_req", ctypes.c_uint64),     # address of a link slot to patch
    ("table", ctypes.c_uint64),        # block table: {u64 pc, u64 fn} entries
    ("table_mask", ctypes.c_uint64),   # entries - 1
    ("n_links", ctypes.c_uint64),      # native counter: link slots patched
    ("n_lookups", ctypes.c_uint64),    # native counter: dispatcher lookups
    ("tid", ctypes.c_uint64),          # guest thread id owning this state
    ("n_insns", ctypes.c_uint64),      # native counter: guest instructions of blocks entered
]


class CPUState(ctypes.Structure):
    _fields_ = FIELDS

    def get_v(self, i):
        lo, hi = self.vreg[i][0], self.vreg[i][1]
        return lo | (hi << 64)

    def set_v(self, i, value):
        self.vreg[i][0] = value & 0xFFFFFFFFFFFFFFFF
        self.vreg[i][1] = (value >> 64) & 0xFFFFFFFFFFFFFFFF

    @property
    def nzcv(self):
        return (self.n << 31) | (self.z << 30) | (self.c << 29) | (self.v << 28)

    @nzcv.setter
    def nzcv(self, value):
        self.n = (value >> 31) & 1
        self.z = (value >> 30) & 1
        self.c = (value >> 29) & 1
        self.v = (value >> 28) & 1


OFFSET = {name: getattr(CPUState, name).offset for name, _ in FIELDS}
SIZE = ctypes.sizeof(CPUState)

assert OFFSET["sp"] == 248 and OFFSET["pc"] == 256 and OFFSET["n"] == 264
assert OFFSET["vreg"] == 272 and OFFSET["fpcr"] == 784
assert SIZE == 896, SIZE


def x_offset(i):
    return OFFSET["x"] + 8 * i


def v_offset(i):
    return OFFSET["vreg"] + 16 * i


class ExitReason(enum.IntEnum):
    """Why compiled code returned to Python (state.exit_reason)."""
    NONE = 0        # still chaining (never seen by Python)
    MISS = 1        # state.pc has no translation
    SYSCALL = 2     # SVC executed; state.pc is past it
    FAULT_READ = 3  # load from unmapped/unreadable page; exit_info = address
    FAULT_WRITE = 4 # store to unmapped/read-only page; exit_info = address
    FAULT_EXEC = 5  # (Python side) fetch from a non-executable page
    UNDEF = 6       # undefined/unlifted instruction; exit_info = word
    SMC = 7         # store into a page holding translated code; exit_info = address
    BRK = 8         # BRK #imm; exit_info = imm
    REQUEST = 9     # exit_request was set (signal pending, thread exit ...)
    STEP = 10       # a single-step translation finished
    ALIGN = 11      # misaligned exclusive/atomic access; exit_info = address
    HLT = 12        # HLT / UDF-class trap; exit_info = word
    HOT = 13        # a tier-1 region's execution counter reached the threshold
