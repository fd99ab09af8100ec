"""Build an arm64 Debian bookworm root file system from Debian's packages, by profile.

Owns: the profiles (named package sets), resolving a profile's dependency closure for arm64,
downloading the .debs into a shared cache, unpacking them into the rootfs directory, the
fix-ups that stand in for the maintainer scripts we do not run, and the per-profile stamps.

How (the ordinary Debian tools, nothing installed into the host system):
  1. `dpkg --add-architecture arm64` + `apt-get update` when the host has no arm64 lists
     (harness.fetch.ensure_arch; needs root once).
  2. apt-get with a private configuration: APT::Architecture=arm64, the rootfs's own dpkg
     status file (DIR/.emu-rootfs/dpkg/status: what is already unpacked there), the archive
     cache $EMU_CACHE_DIR/apt-archives (default ~/.cache/emu/apt-archives).
     `apt-get -s install --no-install-recommends PKGS` gives the closure still missing from DIR;
     `apt-get install --download-only` fetches it (one progress line per package on a TTY,
     a summary otherwise).  Downloaded .debs stay in the cache: a rebuild is offline.
  3. `dpkg-deb --fsys-tarfile X.deb | tar -x --keep-directory-symlink -C DIR` per package,
     into a merged-/usr tree (bin, sbin, lib -> usr/...: bookworm's layout as debootstrap
     makes it), and the package's control fields appended to the private status.
  4. Fix-ups instead of maintainer scripts: /etc/passwd and /etc/group from base-passwd's
     masters, `update-alternatives --install` links found literally in postinst scripts
     (cc, lua, awk...), /tmp (1777), an empty /etc/ld.so.cache (no ldconfig: glibc's ld.so
     then searches its default multiarch directories, and never the host's cache through
     -L's fallback).  PT_INTERP /lib/ld-linux-aarch64.so.1 is checked at the end.
  5. A stamp per profile (DIR/.emu-rootfs/profile-NAME) with the package list: building a
     profile that is already there touches neither apt nor the network.

Every profile except `base` also brings `base` (a shell and coreutils in every rootfs).
Does not own: running programs in the rootfs (lanes.py, oracle.py).
"""
import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import fetch

ARCH = "arm64"
INTERP = "lib/ld-linux-aarch64.so.1"
META = ".emu-rootfs"
STAMP_VERSION = 2

# name -> (packages, one-line description).  Extra small packages beyond the obvious ones:
# dash (/bin/sh for system()/popen), base-files (/etc/os-release...), base-passwd (users).
PROFILES: dict[str, tuple[list[str], str]] = {
    "base": (["busybox-static", "bash", "coreutils", "findutils", "grep", "sed", "dash",
              "base-files", "base-passwd"], "shell and core tools"),
    "c": (["gcc", "libc6-dev"], "the GNU C compiler and glibc headers"),
    "python": (["python3"], "Python 3.11"),
    "scripting": (["perl", "lua5.4", "bc"], "perl, lua 5.4, bc"),
    "data": (["sqlite3", "xz-utils", "bzip2", "file"], "sqlite3, xz, bzip2, file"),
    "node": (["nodejs"], "Node.js"),
    "go": (["golang-go"], "the Go toolchain"),
    "rust": (["rustc", "cargo"], "rustc and cargo"),
    "java": (["openjdk-17-jdk-headless"], "OpenJDK 17 (java, javac; run from /usr/lib/jvm: "
                                           "no update-alternatives links)"),
}


class RootfsError(RuntimeError):
    """The rootfs could not be built; `usage` marks bad input (exit status 2)."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


@dataclass
class BuildReport:
    root: Path
    profiles: list[str]
    already: list[str] = field(default_factory=list)   # profiles whose stamp was current
    installed: int = 0                                 # packages unpacked by this build
    downloaded: int = 0                                # of which fetched from the network
    download_bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.installed and self.already == self.profiles:
            return (f"rootfs {self.root}: profile(s) {', '.join(self.profiles)} already built "
                    f"({self.seconds:.1f} s)")
        built = [p for p in self.profiles if p not in self.already]
        return (f"rootfs {self.root}: profile(s) {', '.join(built)}: {self.installed} "
                f"packages unpacked, {self.downloaded} downloaded "
                f"({self.download_bytes / 1e6:.1f} MB), {self.installed - self.downloaded} from "
                f"the cache, in {self.seconds:.1f} s")


def default_root() -> Path:
    """The rootfs the lane and tests use: $EMU_ROOTFS, else <cache>/rootfs/bookworm-arm64."""
    if os.environ.get("EMU_ROOTFS"):
        return Path(os.environ["EMU_ROOTFS"])
    return fetch.cache_root() / "rootfs" / "bookworm-arm64"


def archives_dir() -> Path:
    return fetch.cache_root() / "apt-archives"


def with_requirements(profiles: list[str]) -> list[str]:
    """The profiles to build, base first, without duplicates; RootfsError on an unknown name."""
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        raise RootfsError(f"unknown profile {unknown[0]!r} (known: {', '.join(PROFILES)})",
                          usage=True)
    out = ["base"]
    for p in profiles:
        if p not in out:
            out.append(p)
    return out


def stamp_path(root: Path, profile: str) -> Path:
    return Path(root) / META / f"profile-{profile}"


def is_built(root, profile: str) -> bool:
    """True when `profile` was built into `root` with the current package list."""
    try:
        data = json.loads(stamp_path(Path(root), profile).read_text())
    except (OSError, ValueError):
        return False
    return (data.get("version") == STAMP_VERSION and data.get("packages") == PROFILES[profile][0]
            and (Path(root) / INTERP).exists())


def host_path(root, guest: str) -> Path:
    """The host file a guest absolute path names inside root, following symlinks the way the
    guest's kernel would (absolute targets re-rooted, `..` stopping at the root)."""
    root = Path(root)
    parts = [p for p in guest.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        cur = root.joinpath(*done, part)
        if cur.is_symlink():
            hops += 1
            if hops > 40:
                raise RootfsError(f"{guest}: too many levels of symbolic links in {root}")
            target = os.readlink(cur)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return root.joinpath(*done)


def missing_profiles(root, profiles: list[str]) -> list[str]:
    return [p for p in with_requirements(profiles) if not is_built(root, p)]


def build(root, profiles: list[str], progress: bool | None = None) -> BuildReport:
    """Build `profiles` (plus base) into `root`; quick when their stamps are current."""
    start = time.monotonic()
    wanted = with_requirements(list(profiles))
    root = Path(root)
    _check_writable(root)
    report = BuildReport(root, wanted)
    report.already = [p for p in wanted if is_built(root, p)]
    if report.already == wanted:
        report.seconds = time.monotonic() - start
        return report
    if progress is None:
        progress = sys.stderr.isatty()
    meta = root / META
    meta.mkdir(parents=True, exist_ok=True)
    with _locked(meta / "lock"):
        todo = [p for p in wanted if not is_built(root, p)]
        _prepare_tree(root)
        fetch.ensure_arch(ARCH)
        packages = [pkg for p in todo for pkg in PROFILES[p][0]]
        apt = _Apt(root)
        plan = apt.plan(packages)
        fetched, nbytes = apt.download(packages, plan, progress)
        _unpack_all(root, plan, apt, progress)
        _fixups(root, plan)
        if not (root / INTERP).exists():
            raise RootfsError(f"{root}: no /{INTERP} after unpacking (libc6 missing?)")
        for p in todo:
            stamp_path(root, p).write_text(json.dumps(
                {"version": STAMP_VERSION, "packages": PROFILES[p][0],
                 "built": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1) + "\n")
        report.installed, report.downloaded, report.download_bytes = len(plan), fetched, nbytes
    report.seconds = time.monotonic() - start
    return report


# ---------------------------------------------------------------------------------------------

def _check_writable(root: Path) -> None:
    """DIR must be (or become) a writable directory: else a usage error."""
    probe = root
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise RootfsError(f"{probe}: not a directory", usage=True)
    try:
        (root / META).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root / META, prefix=".probe-"):
            pass
    except OSError as exc:
        raise RootfsError(f"{root}: not writable ({exc.strerror or exc})", usage=True)


def _prepare_tree(root: Path) -> None:
    """A merged-/usr skeleton: bin, sbin, lib are symlinks into usr/ (bookworm's layout)."""
    for d in ("bin", "sbin", "lib"):
        (root / "usr" / d).mkdir(parents=True, exist_ok=True)
        link = root / d
        if not link.is_symlink() and not link.exists():
            link.symlink_to(f"usr/{d}")
    (root / META / "dpkg").mkdir(parents=True, exist_ok=True)
    status = root / META / "dpkg" / "status"
    if not status.exists():
        status.write_text("")


@dataclass
class _Pkg:
    name: str
    version: str
    arch: str

    @property
    def deb_name(self) -> str:
        # apt's archive file name: the epoch colon is %3a
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


_INST = re.compile(r"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[(\S+)\]\)")
_GET = re.compile(r"^Get:\d+ \S+ \S+ \S+ (\S+) (\S+) (\S+) \[([^\]]+)\]")
_SIZE = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


class _Apt:
    def __init__(self, root: Path):
        self.root = root
        self.archives = archives_dir()
        (self.archives / "partial").mkdir(parents=True, exist_ok=True)
        self.status = root / META / "dpkg" / "status"

    def cmd(self, *args: str) -> list[str]:
        opts = {
            "APT::Architecture": ARCH, "APT::Architectures": ARCH,
            "Dir::State::status": str(self.status),
            "Dir::State::extended_states": str(self.root / META / "extended_states"),
            "Dir::Cache::archives": str(self.archives),
            "Dir::Cache::pkgcache": "", "Dir::Cache::srcpkgcache": "",
            "APT::Install-Recommends": "false", "APT::Install-Suggests": "false",
            "APT::Get::Assume-Yes": "true",
        }
        if os.geteuid() == 0:
            opts["APT::Sandbox::User"] = "root"     # the _apt user cannot write our cache
        cmd = ["apt-get"]
        for k, v in opts.items():
            cmd += ["-o", f"{k}={v}"]
        return cmd + list(args)

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = self.cmd(*args)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  env=self._env(), timeout=1800)
        except FileNotFoundError:
            raise RootfsError("apt-get not found (building a rootfs needs Debian's apt and dpkg)")
        except subprocess.TimeoutExpired:
            raise RootfsError(f"`apt-get {' '.join(args)}` timed out")

    def plan(self, packages: list[str]) -> list[_Pkg]:
        """Packages (with versions) apt would install into the rootfs, in apt's order."""
        proc = self.run("-s", "install", *packages)
        if proc.returncode != 0:
            raise RootfsError(f"apt-get cannot resolve {' '.join(packages)} for {ARCH}: "
                              f"{fetch._last_line(proc.stderr + proc.stdout)}")
        plan = []
        for line in proc.stdout.splitlines():
            m = _INST.match(line)
            if m:
                plan.append(_Pkg(*m.groups()))
        return plan

    def download(self, packages: list[str], plan: list[_Pkg], progress: bool) -> tuple[int, int]:
        """Fetch what the cache lacks; returns (packages downloaded, bytes)."""
        need = [p for p in plan if not (self.archives / p.deb_name).is_file()]
        if not need:
            return 0, 0
        for attempt in (1, 2):
            done, nbytes, tail = self._download_once(packages, len(need), progress)
            if done is not None:
                break
            if attempt == 1:        # stale lists give 404s: one update, then retry
                fetch.apt_update()
        else:
            raise RootfsError(f"apt-get download failed: {tail}")
        missing = [p.deb_name for p in plan if not (self.archives / p.deb_name).is_file()]
        if missing:
            raise RootfsError(f"apt-get download did not produce {missing[0]} "
                              f"({len(missing)} missing) in {self.archives}")
        return done, nbytes

    def _download_once(self, packages, total, progress):
        cmd = self.cmd("install", "--download-only", "-q=0", *packages)
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, env=self._env())
        except FileNotFoundError:
            raise RootfsError("apt-get not found (building a rootfs needs Debian's apt and dpkg)")
        done, nbytes, lines = 0, 0, []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            m = _GET.match(line)
            if not m:
                continue
            done += 1
            name, _arch, _ver, size = m.groups()
            num, _, unit = size.partition(" ")
            with contextlib.suppress(ValueError):
                nbytes += int(float(num.replace(",", "")) * _SIZE.get(unit, 1))
            if progress:
                print(f"rootfs: download [{done:>{len(str(total))}}/{total}] {name} ({size})",
                      file=sys.stderr, flush=True)
        rc = proc.wait()
        if rc != 0:
            return None, nbytes, fetch._last_line("\n".join(lines))
        return done, nbytes, ""


def _unpack_all(root: Path, plan: list[_Pkg], apt: _Apt, progress: bool) -> None:
    status = apt.status
    entries = []
    for i, pkg in enumerate(plan, 1):
        deb = apt.archives / pkg.deb_name
        if progress:
            print(f"\rrootfs: unpack [{i}/{len(plan)}] {pkg.name:40.40}", end="", file=sys.stderr,
                  flush=True)
        control = _unpack(deb, root)
        entries.append(control)
    if progress and plan:
        print(file=sys.stderr)
    # One write at the end: a failed unpack leaves the status (and so apt's view) as it was.
    if entries:
        with open(status, "a") as f:
            for control in entries:
                f.write(control)


def _unpack(deb: Path, root: Path) -> str:
    """Unpack one .deb's files into root; returns its dpkg status entry."""
    with tempfile.TemporaryDirectory(prefix="emu-deb-") as tmp:
        ctrl = subprocess.run(["dpkg-deb", "-e", str(deb), tmp], capture_output=True, text=True)
        if ctrl.returncode != 0:
            raise RootfsError(f"dpkg-deb -e {deb.name}: {fetch._last_line(ctrl.stderr)}")
        control = Path(tmp, "control").read_text()
        postinst = Path(tmp, "postinst")
        if postinst.is_file():
            alts = root / META / "alternatives"
            alts.mkdir(exist_ok=True)
            shutil.copyfile(postinst, alts / f"{deb.name}.postinst")
    data = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    owner = ["--no-same-owner"] if os.geteuid() != 0 else []
    tar = subprocess.run(["tar", "-x", "--keep-directory-symlink", *owner, "-C", str(root)],
                         stdin=data.stdout, capture_output=True, text=True)
    data.stdout.close()
    err = data.stderr.read().decode("utf-8", "replace")
    if data.wait() != 0:
        raise RootfsError(f"dpkg-deb --fsys-tarfile {deb.name}: {fetch._last_line(err)}")
    if tar.returncode != 0:
        raise RootfsError(f"unpacking {deb.name} into {root}: {fetch._last_line(tar.stderr)}")
    lines = control.rstrip("\n").split("\n")
    lines.insert(1, "Status: install ok installed")
    return "\n".join(lines) + "\n\n"


# ---------------------------------------------------------------------------------------------
# Fix-ups standing in for maintainer scripts.

_ALT = re.compile(r"update-alternatives\b[^\n]*?--install\s+(/\S+)\s+([\w.+-]+)\s+(/\S+)\s+(\d+)"
                  r"((?:\s+--slave\s+/\S+\s+[\w.+-]+\s+/\S+)*)")
_SLAVE = re.compile(r"--slave\s+(/\S+)\s+([\w.+-]+)\s+(/\S+)")


def _fixups(root: Path, plan: list[_Pkg]) -> None:
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    os.chmod(tmp, 0o1777)
    # No ldconfig run (libc-bin's trigger): an empty cache, which ld.so ignores in favour of
    # its default multiarch directories, rather than falling back to the host's x86-64 cache
    # through -L's fallback to host paths.
    cache = root / "etc" / "ld.so.cache"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        cache.write_bytes(b"")
    for name in ("passwd", "group"):
        master = root / "usr/share/base-passwd" / f"{name}.master"
        target = root / "etc" / name
        if master.is_file() and not target.exists():
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(master, target)
    _alternatives(root)


def _alternatives(root: Path) -> None:
    """Set up `update-alternatives --install` links given literally in postinst scripts."""
    best: dict[str, tuple[int, str, list[tuple[str, str, str]]]] = {}
    links: dict[str, str] = {}
    alts = root / META / "alternatives"
    if not alts.is_dir():
        return
    for script in sorted(alts.glob("*.postinst")):
        text = script.read_text(errors="replace").replace("\\\n", " ")
        for m in _ALT.finditer(text):
            link, name, path, prio, slaves = m.groups()
            if "$" in link + name + path or not (root / path.lstrip("/")).exists():
                continue
            if name not in best or int(prio) > best[name][0]:
                best[name] = (int(prio), path, _SLAVE.findall(slaves or ""))
                links[name] = link
    etc = root / "etc" / "alternatives"
    for name, (_prio, path, slaves) in best.items():
        etc.mkdir(parents=True, exist_ok=True)
        for link, alt, target in [(links[name], name, path), *slaves]:
            if "$" in link + alt + target or not (root / target.lstrip("/")).exists():
                continue
            _force_symlink(etc / alt, target)
            host_link = root / link.lstrip("/")
            if host_link.is_symlink() or not host_link.exists():
                host_link.parent.mkdir(parents=True, exist_ok=True)
                _force_symlink(host_link, f"/etc/alternatives/{alt}")


def _force_symlink(path: Path, target: str) -> None:
    if path.is_symlink() or path.exists():
        if path.is_symlink() and os.readlink(path) == target:
            return
        path.unlink()
    path.symlink_to(target)


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# The command line, shared by `emu rootfs` and `python -m harness rootfs`.

def add_arguments(parser) -> None:
    """Add `build DIR --profile NAME...` (and `profiles`) to an argparse (sub)parser."""
    sub = parser.add_subparsers(dest="rootfs_cmd", required=True)
    b = sub.add_parser("build", help="build or extend an arm64 Debian bookworm rootfs in DIR")
    b.add_argument("dir", metavar="DIR")
    b.add_argument("--profile", action="append", required=True, metavar="NAME",
                   help=f"package set, repeatable: {', '.join(PROFILES)} (all imply base)")
    b.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show one line per download (default: when stderr is a terminal)")
    sub.add_parser("profiles", help="list the profiles and their packages")


def main(args, prog: str = "emu rootfs") -> int:
    """Run a parsed `rootfs` command; bad input -> one line, status 2; failures -> status 1."""
    if args.rootfs_cmd == "profiles":
        for name, (pkgs, what) in PROFILES.items():
            print(f"{name:10} {what}: {' '.join(pkgs)}")
        return 0
    try:
        report = build(args.dir, args.profile, progress=args.progress)
    except RootfsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2 if exc.usage else 1
    except fetch.FetchError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print(report.summary(), file=sys.stderr)
    print(report.root)
    return 0
