"""Real dynamic programs from an arm64 Debian bookworm rootfs (harness/rootfs.py builds it from
Debian's packages into ~/.cache/emu/rootfs/bookworm-arm64, or $EMU_ROOTFS), each command run
under `qemu-aarch64 -L ROOT` and `emu run -L ROOT` on the same rootfs; stdout and exit status
must match (harness.lanes.ROOTFS_ROWS, shared with `python -m harness lane rootfs`).

Default suite: the rootfs builder itself (bad input, idempotence, layout, path resolution) and
a fast subset of the `base` profile's programs (the base profile builds in about 6 s cold with
a download of 13.5 MB, under a second once built).  Every other row, including the heavy
profiles (python, c, node, go, rust: hundreds of MB), is marked slow; those tests build their
profile on first use.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import fetch, lanes, oracle, rootfs

# Rows of the base profile that stay quick under emu even with a cold JIT cache (the first
# one pays for translating ld.so and glibc's start-up); together they cover the loader (ld.so,
# libc, libtinfo, libacl...), path lookup in the rootfs (symlinked /bin, /etc/os-release ->
# ../usr/lib/os-release), stat, stdio, the environment, and fork + wait4 (bash's pipeline runs
# in forked children that share the parent's translations).
FAST_ROWS = ["bash -c loop", "bash pipeline (fork)", "sh (dash) loop", "cat /etc/os-release",
             "sha256sum", "stat", "printenv"]

_built: dict[str, Path] = {}


def _root_with(profile: str) -> Path:
    """The shared rootfs with `profile` built (once per session); fails the test with why not."""
    if profile not in _built:
        root = rootfs.default_root()
        try:
            rootfs.build(root, [profile], progress=False)
        except (rootfs.RootfsError, fetch.FetchError) as exc:
            pytest.fail(f"cannot build the {profile} rootfs profile in {root}: {exc} (needs apt, "
                        f"root and network once; `emu rootfs build {root} --profile {profile}`)",
                        pytrace=False)
        _built[profile] = root
    return _built[profile]


@pytest.fixture(scope="session")
def base_root() -> Path:
    return _root_with("base")


def _rows(names=None, exclude=()):
    rows = [r for r in lanes.ROOTFS_ROWS if (names is None or r.name in names)
            and r.name not in exclude]
    return pytest.mark.parametrize("row", rows, ids=[lanes._row_id(r) for r in rows])


def _check(row, root, tmp_path):
    out = lanes.run_rootfs_row(row, root, tmp_path)
    if out.status != "pass":
        pytest.fail(f"{out.row}: {out.status}: {out.detail}", pytrace=False)


def test_fast_rows_exist():
    names = {r.name for r in lanes.ROOTFS_ROWS if r.profile == "base"}
    assert set(FAST_ROWS) <= names, set(FAST_ROWS) - names


@_rows(FAST_ROWS)
def test_base_program_matches_qemu(row, base_root, qemu, tmp_path):
    _check(row, base_root, tmp_path)


@pytest.mark.slow
@_rows(exclude=FAST_ROWS)
def test_program_matches_qemu(row, qemu, tmp_path):
    _check(row, _root_with(row.profile), tmp_path)


# --- the builder ------------------------------------------------------------------------------

def _cli(*args):
    cmd = [sys.executable, "-m", "emu", "rootfs", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=oracle.emu_process_env({"HOME": os.environ.get("HOME", "/root")}),
                          timeout=300)


def _one_error_line(proc, what, needle):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"{what}: exit {proc.returncode}, stderr {proc.stderr!r}"
    assert len(lines) == 1 and "Traceback" not in proc.stderr, f"{what}: {proc.stderr!r}"
    assert needle in lines[0], f"{what}: {lines[0]!r}"


def test_bad_input_is_one_line_status_2(tmp_path):
    _one_error_line(_cli("build", tmp_path / "r", "--profile", "nosuch"), "unknown profile",
                    "unknown profile 'nosuch'")
    afile = tmp_path / "file"
    afile.write_text("x")
    _one_error_line(_cli("build", afile / "r", "--profile", "base"), "DIR under a file",
                    "not a directory")
    _one_error_line(_cli("build", "/proc/emu-no-such/r", "--profile", "base"), "DIR in /proc",
                    "not writable")
    _one_error_line(_cli("build", tmp_path / "r"), "no --profile", "--profile")


def test_rebuild_is_quick_and_layout_is_bookworm(base_root):
    start = time.monotonic()
    proc = _cli("build", base_root, "--profile", "base")
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "already built" in proc.stderr and proc.stdout.strip() == str(base_root)
    assert took < 10, f"rebuilding a built profile took {took:.1f} s"
    for d in ("bin", "sbin", "lib"):
        assert os.readlink(base_root / d) == f"usr/{d}", f"/{d} is not the merged-/usr symlink"
    ld = rootfs.host_path(base_root, "/lib/ld-linux-aarch64.so.1")
    head = ld.read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and head[18:20] == b"\xb7\x00", f"{ld} is not an AArch64 ELF"
    bash = rootfs.host_path(base_root, "/bin/bash").read_bytes()
    assert b"/lib/ld-linux-aarch64.so.1\0" in bash[:4096]
    assert (base_root / "etc/passwd").read_text().startswith("root:")
    assert (base_root / "etc/ld.so.cache").exists()
    assert (base_root / "tmp").stat().st_mode & 0o1777 == 0o1777
    assert rootfs.is_built(base_root, "base")


def test_profiles_imply_base_and_unknown_names_fail():
    assert rootfs.with_requirements(["go", "python"]) == ["base", "go", "python"]
    with pytest.raises(rootfs.RootfsError) as info:
        rootfs.with_requirements(["base", "pyhton"])
    assert info.value.usage and "pyhton" in str(info.value)


def test_host_path_reroots_absolute_symlinks(tmp_path):
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "etc/alternatives").mkdir(parents=True)
    (root / "usr/bin/mawk").write_text("")
    (root / "bin").symlink_to("usr/bin")
    (root / "usr/bin/awk").symlink_to("/etc/alternatives/awk")
    (root / "etc/alternatives/awk").symlink_to("/usr/bin/mawk")
    assert rootfs.host_path(root, "/bin/awk") == root / "usr/bin/mawk"
    assert rootfs.host_path(root, "/../../bin/./awk") == root / "usr/bin/mawk"
    assert rootfs.host_path(root, "/usr/bin/../../bin/mawk") == root / "usr/bin/mawk"
    (root / "loop").symlink_to("/loop")
    with pytest.raises(rootfs.RootfsError):
        rootfs.host_path(root, "/loop/x")


def test_lane_reports_unbuilt_profiles_as_unsupported(monkeypatch, tmp_path, qemu):
    monkeypatch.setenv("EMU_ROOTFS", str(tmp_path / "empty"))
    monkeypatch.setattr(lanes, "ROOTFS_PROFILES", ["go", "rust"])
    outcomes, seconds = lanes.run_lane("rootfs")
    assert len(outcomes) == len(lanes.rootfs_rows(["go", "rust"]))
    assert all(o.status == "unsupported" and "not built" in o.detail for o in outcomes)
    report = lanes.markdown_report("rootfs", outcomes, seconds)
    assert f"0 pass, 0 fail, {len(outcomes)} unsupported" in report


def test_lane_row_filter(tmp_path, qemu):
    """`harness lane rootfs --row TEXT` runs only the matching rows; a filter matching nothing
    is an error (status 2, one line), never an empty report that looks like success."""
    def lane(*args):
        return subprocess.run([sys.executable, "-m", "harness", "lane", "rootfs", "--rootfs",
                               str(tmp_path / "empty"), "--out", str(tmp_path / "r.md"), *args],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env=oracle.emu_process_env({"HOME": os.environ.get("HOME", "/root")}),
                              timeout=120, cwd=oracle.REPO)
    none = lane("--row", "no such row anywhere")
    assert none.returncode == 2 and "no row" in none.stderr and "Traceback" not in none.stderr
    some = lane("--row", "bash pipeline")
    assert some.returncode == 1, some.stderr        # the profile is not built: unsupported
    report = (tmp_path / "r.md").read_text()
    assert "0 pass, 0 fail, 1 unsupported of 1 rows" in report, report
    assert "base: bash pipeline (fork)" in report
