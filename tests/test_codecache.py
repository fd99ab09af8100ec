"""The on-disk code cache (translator/codecache.py): a record comes back only whole and
unmodified, and a second run of a program takes its regions from the cache and prints the
same thing (guest output compared with qemu-aarch64 by the fixture tests; here with the
first, cold run of the same binary, and the counters show where the code came from)."""
import json
import os

from harness import oracle
from translator.codecache import CodeCache


def test_record_round_trip_and_damage_is_a_miss(tmp_path):
    cache = CodeCache(tmp_path, "v1")
    record = {"fn": "r1", "tier": 1, "ninsns": 4, "slots": [["s0", 0x1010]],
              "blocks": [[0x1000, 0x1010, "ab"]]}
    cache.store("00ff" * 8, record, b"\x7fELF-object-bytes")
    got = cache.load("00ff" * 8)
    assert got is not None and got[1] == b"\x7fELF-object-bytes"
    assert {k: got[0][k] for k in record} == record
    path = cache._path("00ff" * 8)
    blob = path.read_bytes()
    path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))      # one bit of the object flipped
    assert cache.load("00ff" * 8) is None
    path.write_bytes(blob[:10])                              # truncated inside the record
    assert cache.load("00ff" * 8) is None
    assert cache.load("11" * 16) is None                     # never stored
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp")]


def test_altered_record_description_is_a_miss_not_systemerror(tmp_path):
    """One changed digit in a record's description (a block's end now before its start) gave
    `SystemError: Negative size` from validation: the checksum covered only the object code.
    Any change to the description is a miss now, and so is a well-checksummed record whose
    description has the wrong shape."""
    cache = CodeCache(tmp_path, "v1")
    key = "ab" * 16
    record = {"fn": "r1", "tier": 1, "ninsns": 4, "slots": [],
              "blocks": [[0x401000, 0x401010, "ab"]]}
    cache.store(key, record, b"obj")
    path = cache._path(key)
    blob = path.read_bytes()
    at = blob.index(b"4198416")                              # 0x401010, the block's end
    path.write_bytes(blob[:at] + b"3" + blob[at + 1:])       # now before 0x401000
    assert cache.load(key) is None
    for bad in ([[0x401010, 0x401000, "ab"]], [[-4, 0, "ab"]], [[0, 1 << 41, "ab"]], []):
        cache.store(key, dict(record, blocks=bad), b"obj")
        assert CodeCache(tmp_path, "v1").load(key) is None, bad


def test_temporary_file_of_a_killed_writer_is_removed(tmp_path):
    """kill -9 between creating a record's temporary file and renaming it left a 0-byte
    file that was never removed.  The next process that lists that directory removes the
    temporary files whose writer is gone (and leaves a live writer's alone)."""
    import subprocess
    dead = subprocess.Popen(["true"])
    dead.wait()
    cache = CodeCache(tmp_path, "v1")
    key = "cd" * 16
    sub = cache._path(key).parent
    sub.mkdir(parents=True)
    (sub / f".tmp{dead.pid}.1234").write_bytes(b"")
    (sub / f".tmp{os.getpid()}.99").write_bytes(b"")
    assert CodeCache(tmp_path, "v1").load(key) is None
    assert sorted(p.name for p in sub.iterdir()) == [f".tmp{os.getpid()}.99"]


def test_cache_directory_follows_xdg_cache_home(monkeypatch, tmp_path):
    """XDG_CACHE_HOME was ignored (issue 11): the JIT cache goes to $XDG_CACHE_HOME/emu/jit
    unless EMU_JIT_CACHE_DIR or EMU_CACHE_DIR say otherwise; a relative value is ignored,
    as the XDG base-directory rules say."""
    from translator.codecache import default_dir
    for var in ("EMU_JIT_CACHE_DIR", "EMU_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "emu" / "jit"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "emu" / "jit"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert default_dir() == tmp_path / "home" / ".cache" / "emu" / "jit"
    monkeypatch.setenv("EMU_CACHE_DIR", str(tmp_path / "emu"))
    assert default_dir() == tmp_path / "emu" / "jit"
    monkeypatch.setenv("EMU_JIT_CACHE_DIR", str(tmp_path / "j"))
    assert default_dir() == tmp_path / "j"


def test_disabled_cache_stores_nothing(tmp_path):
    cache = CodeCache(None, "v1")
    cache.store("ab" * 16, {"fn": "x"}, b"obj")
    assert cache.load("ab" * 16) is None


def _stats(result):
    line = next(l for l in result.stderr.decode().splitlines() if l.startswith("EMU_BLOCK_STATS"))
    return json.loads(line.split(" ", 1)[1])


def test_second_run_comes_from_the_cache(tmp_path, qemu, aarch64_cc):
    """Cold and warm runs both give qemu-aarch64's output; the warm one from the cache."""
    binary = oracle.compile_c(oracle.FIXTURES / "qsort.c", "aarch64")
    env = {"EMU_CACHE_DIR": str(tmp_path / "jit")}
    ref = oracle.run_qemu([binary], cwd=tmp_path, timeout=120)
    cold = oracle.run_emu([binary], env=env, stats=True, cwd=tmp_path, timeout=600)
    warm = oracle.run_emu([binary], env=env, stats=True, cwd=tmp_path, timeout=600)
    assert ref.status == 0 and ref.stdout, ref.describe()
    for run in (cold, warm):
        assert (run.status, run.stdout) == (ref.status, ref.stdout), run.describe()
    s1, s2 = _stats(cold), _stats(warm)
    assert s1.get("cache_hits", 0) == 0 and s1["blocks_translated"] > 0
    assert s2["cache_hits"] > 0 and s2.get("blocks_translated", 0) < s1["blocks_translated"] / 4


def test_stale_record_with_matching_head_is_rejected(tmp_path, qemu, aarch64_cc):
    """A record is keyed by its entry and first 64 bytes: tests/fixtures/cache_stale.c built
    with -DK=3 and -DK=5 differs in one instruction of f past those bytes, so the K=5 run
    finds the K=3 record of f's region and must reject it by the bytes of its blocks.  The
    K=5 output must be qemu-aarch64's (the stale code would give K=3's sum)."""
    src = oracle.FIXTURES / "cache_stale.c"
    k3 = oracle.compile_c(src, "aarch64", extra_flags=["-DK=3"])
    k5 = oracle.compile_c(src, "aarch64", extra_flags=["-DK=5"])
    env = {"EMU_CACHE_DIR": str(tmp_path / "jit")}
    ref3 = oracle.run_qemu([k3], cwd=tmp_path, timeout=60)
    ref5 = oracle.run_qemu([k5], cwd=tmp_path, timeout=60)
    assert ref3.stdout != ref5.stdout and ref5.status == 0, (ref3.describe(), ref5.describe())
    first = oracle.run_emu([k3], env=env, stats=True, cwd=tmp_path, timeout=300)
    assert (first.status, first.stdout) == (ref3.status, ref3.stdout), first.describe()
    got = oracle.run_emu([k5], env=env, stats=True, cwd=tmp_path, timeout=300)
    assert (got.status, got.stdout) == (ref5.status, ref5.stdout), got.describe()
    st = _stats(got)
    assert st.get("cache_hits", 0) > 0 and st.get("cache_misses", 0) >= 1, st
