"""Fetch Debian arm64 packages with the ordinary Debian tools and unpack them into a cache.

Owns: the package cache (default ~/.cache/emu/debs/<pkg>/, an unpacked `dpkg-deb -x` tree
with a `.emu-fetched` stamp; EMU_CACHE_DIR or XDG_CACHE_HOME move it) and the steps that fill it:
`dpkg --add-architecture arm64`, `apt-get update` (only when no arm64 package lists exist, or
once more when a download fails on stale lists), `apt-get download PKG:arm64`, `dpkg-deb -x`.
Once a package is unpacked, fetching it again touches neither apt nor the network.
Does not own: dependency resolution (one package, no dependencies: enough for busybox-static
and for building a rootfs by hand) or installing anything into the host system.
"""
import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STAMP = ".emu-fetched"
APT_LISTS = "/var/lib/apt/lists"


class FetchError(RuntimeError):
    """A package could not be fetched; the message says why and what to do."""


def cache_root() -> Path:
    """The emu cache directory: $EMU_CACHE_DIR, else $XDG_CACHE_HOME/emu, else ~/.cache/emu."""
    if os.environ.get("EMU_CACHE_DIR"):
        return Path(os.environ["EMU_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "emu"


def debs_dir() -> Path:
    """Where unpacked packages live, one directory per package."""
    return cache_root() / "debs"


def _split(spec: str, arch: str) -> tuple[str, str]:
    """'busybox-static' or 'busybox-static:arm64' -> (name, arch)."""
    name, _, given = spec.partition(":")
    return name, given or arch


def cached(pkg: str, arch: str = "arm64") -> Path | None:
    """The unpacked root of `pkg` if it is already in the cache, else None."""
    name, arch = _split(pkg, arch)
    dest = debs_dir() / name if arch == "arm64" else debs_dir() / f"{name}_{arch}"
    return dest if (dest / STAMP).is_file() else None


def _privileged(cmd: list[str]) -> list[str]:
    """Prefix a system-changing command with `sudo -n` when not root (never prompts)."""
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo"):
        return ["sudo", "-n", *cmd]
    return cmd


def _run(cmd: list[str], what: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=900)
    except FileNotFoundError:
        raise FetchError(f"{what}: `{cmd[0]}` not found (fetching needs Debian's dpkg and apt)")
    except subprocess.TimeoutExpired:
        raise FetchError(f"{what}: `{' '.join(cmd)}` timed out")
    return proc


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("E:", "dpkg:", "error"))]
    return (errors or lines or ["(no output)"])[-1]


def _has_lists(arch: str) -> bool:
    return bool(glob.glob(os.path.join(APT_LISTS, f"*binary-{arch}_Packages*")))


def ensure_arch(arch: str = "arm64") -> None:
    """Make dpkg and apt know the foreign architecture `arch` and have its package lists."""
    native = _run(["dpkg", "--print-architecture"], "dpkg").stdout.strip()
    if arch != native:
        foreign = _run(["dpkg", "--print-foreign-architectures"], "dpkg").stdout.split()
        if arch not in foreign:
            _log(f"adding dpkg architecture {arch}")
            proc = _run(_privileged(["dpkg", "--add-architecture", arch]), "dpkg --add-architecture")
            if proc.returncode != 0:
                raise FetchError(f"cannot add the {arch} architecture (run as root: "
                                 f"dpkg --add-architecture {arch} && apt-get update): "
                                 f"{_last_line(proc.stderr)}")
    if not _has_lists(arch):
        apt_update()
        if not _has_lists(arch):
            raise FetchError(f"apt-get update produced no {arch} package lists in {APT_LISTS}")


def apt_update() -> None:
    """Run `apt-get update` (root, or passwordless sudo, needed)."""
    _log("apt-get update")
    proc = _run(_privileged(["apt-get", "update", "-q"]), "apt-get update")
    if proc.returncode != 0:
        raise FetchError(f"apt-get update failed (needs root and network): "
                         f"{_last_line(proc.stderr + proc.stdout)}")


def fetch(pkg: str, arch: str = "arm64") -> Path:
    """Download and unpack one Debian package; return the root of the unpacked tree (cached)."""
    name, arch = _split(pkg, arch)
    hit = cached(name, arch)
    if hit:
        return hit
    root = debs_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        hit = cached(name, arch)        # another process may have fetched it meanwhile
        if hit:
            return hit
        ensure_arch(arch)
        dest = root / name if arch == "arm64" else root / f"{name}_{arch}"
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            deb = _download(name, arch, work)
            tree = work / "root"
            proc = _run(["dpkg-deb", "-x", str(deb), str(tree)], "dpkg-deb -x")
            if proc.returncode != 0:
                raise FetchError(f"dpkg-deb -x {deb.name} failed: {_last_line(proc.stderr)}")
            (tree / STAMP).write_text(f"{deb.name}\n")
            if dest.exists():
                shutil.rmtree(dest)     # an interrupted earlier attempt (no stamp)
            os.replace(tree, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    _log(f"{name}:{arch} unpacked in {dest}")
    return dest


def _download(name: str, arch: str, work: Path) -> Path:
    cmd = ["apt-get", "download", "-q", f"{name}:{arch}"]
    if os.geteuid() == 0:
        cmd[1:1] = ["-o", "APT::Sandbox::User=root"]   # the _apt user cannot write `work`
    _log(" ".join(cmd))
    proc = _run(cmd, "apt-get download", cwd=str(work))
    if proc.returncode != 0:
        # Stale lists give 404s and "Unable to locate" means never updated for this arch:
        # one `apt-get update` and a retry, then give up with apt's own message.
        apt_update()
        proc = _run(cmd, "apt-get download", cwd=str(work))
    if proc.returncode != 0:
        raise FetchError(f"apt-get download {name}:{arch} failed: "
                         f"{_last_line(proc.stderr + proc.stdout)}")
    debs = sorted(work.glob("*.deb"))
    if len(debs) != 1:
        raise FetchError(f"apt-get download {name}:{arch} left {len(debs)} .deb files")
    return debs[0]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _log(msg: str) -> None:
    print(f"harness.fetch: {msg}", file=sys.stderr, flush=True)
