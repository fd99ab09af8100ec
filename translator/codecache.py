"""The on-disk cache of compiled regions.

Owns: where compiled regions live between runs (EMU_JIT_CACHE_DIR, else
EMU_CACHE_DIR/jit, else $XDG_CACHE_HOME/emu/jit, default ~/.cache/emu/jit), the translator version that keys them (a hash of the
translator's and CPU-state contract's source files, the LLVM and llvmlite
versions, the host CPU), the
record format (object code + a JSON description: function, link slots with
their targets, the guest blocks with a hash of their bytes; one checksum over
both, and a shape check of the description, so a damaged or altered record is a
miss), validation of a record against the guest code now in memory, atomic
writes, and removing the temporary files of writers that died mid-write.
A record is looked up by a key derived before lifting (tier, entry pcs, the
first bytes at the first entry); it is used only if every block it was
built from still has the same bytes.  Does not own: lifting or compiling.
"""
import hashlib
import json
import re
import os
import pathlib
import threading

import llvmlite.binding as llvm

_ROOT = pathlib.Path(__file__).resolve().parent
_CONTRACT = [_ROOT.parent / "emu" / "cpustate.py", _ROOT.parent / "emu" / "memory.py"]


def translator_version(extra=""):
    """A hash of everything that shapes generated code."""
    h = hashlib.sha256()
    for path in sorted(_ROOT.rglob("*.py")) + _CONTRACT:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(f"llvm {llvm.llvm_version_info} llvmlite {_llvmlite_version()}".encode())
    h.update(llvm.get_host_cpu_name().encode())
    h.update(llvm.get_host_cpu_features().flatten().encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def _llvmlite_version():
    import llvmlite
    return llvmlite.__version__


def default_dir():
    """EMU_JIT_CACHE_DIR, else EMU_CACHE_DIR/jit, else $XDG_CACHE_HOME/emu/jit, else
    ~/.cache/emu/jit (the XDG base-directory rule: an unset, empty or relative
    XDG_CACHE_HOME is ignored)."""
    jit = os.environ.get("EMU_JIT_CACHE_DIR")
    if jit:
        return pathlib.Path(jit)
    env = os.environ.get("EMU_CACHE_DIR")
    if env:
        return pathlib.Path(env) / "jit"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = pathlib.Path(xdg) if os.path.isabs(xdg) else pathlib.Path.home() / ".cache"
    return base / "emu" / "jit"


def block_hash(data):
    return hashlib.sha1(data).hexdigest()


_SUM = 20                           # bytes of sha1 after the length: over description + object
_GUEST_LIMIT = 1 << 40              # guest addresses (emu/memory.py ADDR_BITS)
_MAX_BLOCK = 1 << 20                # bytes of guest code one recorded block may span
_TMP = re.compile(r"\.tmp(\d+)\.\d+$")


def _is_int(v, lo, hi):
    return type(v) is int and lo <= v < hi


def well_formed(record):
    """Does a description have the shape the translator relies on (types and ranges)?"""
    try:
        blocks, slots = record["blocks"], record["slots"]
        return (isinstance(record["fn"], str) and _is_int(record["tier"], 0, 8)
                and _is_int(record["ninsns"], 0, 1 << 32)
                and isinstance(blocks, list) and blocks
                and all(isinstance(b, list) and len(b) == 3 and _is_int(b[0], 0, _GUEST_LIMIT)
                        and _is_int(b[1] - b[0], 4, _MAX_BLOCK) and b[1] <= _GUEST_LIMIT
                        and type(b[1]) is int and not (b[0] | b[1]) & 3 and isinstance(b[2], str)
                        for b in blocks)
                and isinstance(slots, list)
                and all(isinstance(sl, list) and sl and isinstance(sl[0], str) for sl in slots))
    except (KeyError, TypeError):
        return False


def _writer_gone(name):
    """A temporary file whose writer process no longer exists (killed mid-write)."""
    m = _TMP.match(name)
    if not m:
        return False
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False
    return False


class CodeCache:
    def __init__(self, directory, version):
        """directory None: a disabled cache (lookups miss, stores do nothing)."""
        self.version = version
        self.enabled = directory is not None
        self.dir = pathlib.Path(directory) / version if directory is not None else None
        self._made = set()              # subdirectories known to exist
        self._names = {}                # subdirectory -> names in it (see _listing)
        if self.enabled:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError:
                self.enabled = False

    def key(self, tier, promote, entries, head):
        h = hashlib.sha256()
        h.update(f"{tier}:{int(promote)}:{','.join('%x' % e for e in entries)}".encode())
        h.update(head)
        return h.hexdigest()[:32]

    def _listing(self, d):
        """The names in subdirectory d, read once per process (None: unreadable).
        Records other processes write later are not seen: only a cache miss."""
        names = self._names.get(d)
        if names is None:
            try:
                names = set(os.listdir(d))
            except FileNotFoundError:
                names = set()
            except OSError:
                return None
            for name in [n for n in names if n.startswith(".tmp") and _writer_gone(n)]:
                try:
                    os.unlink(d / name)
                except OSError:
                    pass
            self._names[d] = names
        return names

    def _path(self, key):
        return self.dir / key[:2] / f"{key}.bin"

    def load(self, key):
        """(record, object bytes) or None."""
        if not self.enabled:
            return None
        path = self._path(key)
        names = self._listing(path.parent)
        if names is not None and path.name not in names:
            return None                 # a miss without a failing open()
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        n = int.from_bytes(blob[:4], "little")
        body = blob[4 + _SUM:]
        if len(body) < n or hashlib.sha1(body).digest() != blob[4:4 + _SUM]:
            return None                 # torn, truncated or altered: a miss
        try:
            record = json.loads(body[:n])
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or not well_formed(record):
            return None
        return record, body[n:]

    def store(self, key, record, data):
        """One file per region: a 4-byte length of the JSON record, the sha1 of what
        follows, the record, the object code; written under a temporary name and renamed
        (readers never see a part)."""
        if not self.enabled:
            return
        path = self._path(key)
        meta = json.dumps(record).encode()
        tmp = path.with_name(f".tmp{os.getpid()}.{threading.get_ident()}")
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            with open(tmp, "wb") as f:
                f.write(len(meta).to_bytes(4, "little") + hashlib.sha1(meta + data).digest()
                        + meta + data)
            os.replace(tmp, path)
            names = self._names.get(path.parent)
            if names is not None:
                names.add(path.name)
        except OSError:
            pass
