"""The on-disk code cache (translator/codecache.py): a record comes back only whole and
unmodified, and a second run of a program takes its regions from the cache and prints the
same thing (guest output compared with qemu-aarch64 by the fixture tests; here with the
first, cold run of the same binary, and the counters show where the code came from)."""
import json

from harness import oracle
from translator.codecache import CodeCache


def test_record_round_trip_and_damage_is_a_miss(tmp_path):
    cache = CodeCache(tmp_path, "v1")
    record = {"fn": "r1", "tier": 1, "blocks": [[0x1000, 0x1010, "ab"]]}
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


def test_disabled_cache_stores_nothing(tmp_path):
    cache = CodeCache(None, "v1")
    cache.store("ab" * 16, {"fn": "x"}, b"obj")
    assert cache.load("ab" * 16) is None


def _stats(result):
    line = next(l for l in result.stderr.decode().splitlines() if l.startswith("EMU_BLOCK_STATS"))
    return json.loads(line.split(" ", 1)[1])


def test_second_run_comes_from_the_cache(tmp_path, aarch64_cc):
    binary = oracle.compile_c(oracle.FIXTURES / "qsort.c", "aarch64")
    env = {"EMU_CACHE_DIR": str(tmp_path / "jit")}
    cold = oracle.run_emu([binary], env=env, stats=True, cwd=tmp_path, timeout=600)
    warm = oracle.run_emu([binary], env=env, stats=True, cwd=tmp_path, timeout=600)
    assert cold.status == warm.status and cold.stdout == warm.stdout and cold.stdout
    s1, s2 = _stats(cold), _stats(warm)
    assert s1.get("cache_hits", 0) == 0 and s1["blocks_translated"] > 0
    assert s2["cache_hits"] > 0 and s2.get("blocks_translated", 0) < s1["blocks_translated"] / 4
