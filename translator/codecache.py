"""The on-disk cache of compiled regions.

Owns: where compiled regions live between runs (EMU_CACHE_DIR, default
~/.cache/emu/jit), the translator version that keys them (a hash of the
translator's and CPU-state contract's source files, the host CPU), the
record format (object code + a JSON description: function, link slots with
their targets, the guest blocks with a hash of their bytes), validation of a
record against the guest code now in memory, and atomic writes.
A record is looked up by a key derived before lifting (tier, entry pcs, the
first bytes at the first entry); it is used only if every block it was
built from still has the same bytes.  Does not own: lifting or compiling.
"""
import hashlib
import json
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
    h.update(llvm.get_host_cpu_name().encode())
    h.update(llvm.get_host_cpu_features().flatten().encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def default_dir():
    env = os.environ.get("EMU_CACHE_DIR")
    base = pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "emu"
    return base / "jit"


def block_hash(data):
    return hashlib.sha1(data).hexdigest()


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
            n = int.from_bytes(blob[:4], "little")
            record = json.loads(blob[4:4 + n])
        except (OSError, ValueError):
            return None
        data = blob[4 + n:]
        if hashlib.sha1(data).hexdigest() != record.get("obj_sha1"):
            return None
        return record, data

    def store(self, key, record, data):
        """One file per region: a 4-byte length, the JSON record, the object code;
        written under a temporary name and renamed (readers never see a part)."""
        if not self.enabled:
            return
        path = self._path(key)
        meta = json.dumps(dict(record, obj_sha1=hashlib.sha1(data).hexdigest())).encode()
        tmp = path.with_name(f".tmp{os.getpid()}.{threading.get_ident()}")
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            with open(tmp, "wb") as f:
                f.write(len(meta).to_bytes(4, "little") + meta + data)
            os.replace(tmp, path)
            names = self._names.get(path.parent)
            if names is not None:
                names.add(path.name)
        except OSError:
            pass
