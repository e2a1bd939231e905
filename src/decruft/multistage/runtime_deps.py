"""Runtime libraries inferred from the built artifacts, never guessed.

1. The artifacts that go to the runtime are streamed out of a container created (never started)
   from the built build stage (``GET /containers/{id}/archive``, docker-py ``get_archive``) and
   read as a tar stream; a member whose first four bytes are ``\\x7fELF`` is read into memory and
   parsed with pyelftools (``DT_NEEDED``, ``DT_RUNPATH``/``DT_RPATH``, ``PT_INTERP``). Nothing is
   extracted to the host disk and nothing found is ever executed: ``ldd`` would run the
   binary's own loader, which is unsafe on untrusted files.
2. Each needed soname that the artifacts do not provide themselves is located inside the build
   image (``ldconfig -p``, then the RUNPATHs and the usual library directories) and mapped to the
   package that owns it (``dpkg -S``, ``apk info -W``, ``rpm -qf``), in one shell script run in
   a container of the build image.
3. The runtime base's installed packages (``dpkg-query -W``, ``apk info``, ``rpm -qa``) are
   subtracted; ``-dev`` packages are never proposed (a soname resolving to one is reported).

Data files a program references by path (the CA bundle, zoneinfo) count when the binary names
them *and* the build image has them: for Go binaries this is what decides between ``scratch``
and a Debian base.
"""

from __future__ import annotations

import io
import posixpath
import shlex
import tarfile
from dataclasses import dataclass, field
from typing import Iterable

from decruft.image.tarstream import IterReader

MAX_ELF_BYTES = 512 << 20
ELF_MAGIC = b"\x7fELF"

#: Files a program may read at run time by a fixed path, and the package that provides them.
DATA_FILES = {
    "ca-certificates": (b"/etc/ssl/certs", b"ca-certificates.crt", b"/etc/pki/tls/certs"),
    "tzdata": (b"/usr/share/zoneinfo",),
}
# Where the build image keeps them (checked with `test -e`) and a path dpkg/apk/rpm can resolve.
DATA_PATHS = {
    "ca-certificates": ("/etc/ssl/certs/ca-certificates.crt", "/usr/share/ca-certificates"),
    "tzdata": ("/usr/share/zoneinfo/UTC", "/usr/share/zoneinfo"),
}


@dataclass(slots=True)
class ElfInfo:
    path: str  # absolute path in the build image
    needed: list[str]
    runpath: list[str]
    interpreter: str | None
    soname: str | None
    data_files: list[str] = field(default_factory=list)  # DATA_FILES keys the file mentions

    @property
    def static(self) -> bool:
        return self.interpreter is None and not self.needed


def read_elf(data: bytes, path: str) -> ElfInfo | None:
    """DT_NEEDED, RUNPATH, SONAME and PT_INTERP of one ELF file (None: not a readable ELF)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        needed: list[str] = []
        runpath: list[str] = []
        soname = None
        interpreter = None
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_INTERP":
                interpreter = segment.get_interp_name()
        for section in elf.iter_sections():
            if not isinstance(section, DynamicSection):
                continue
            for tag in section.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_RUNPATH":
                    runpath += tag.runpath.split(":")
                elif tag.entry.d_tag == "DT_RPATH":
                    runpath += tag.rpath.split(":")
                elif tag.entry.d_tag == "DT_SONAME":
                    soname = tag.soname
    except (ELFError, ValueError, KeyError, IndexError, AssertionError, UnicodeDecodeError) as exc:
        del exc
        return None
    origin = posixpath.dirname(path)
    runpath = [r.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for r in runpath if r]
    info = ElfInfo(path, needed, runpath, interpreter, soname)
    info.data_files = _data_files(elf, data)
    return info


def _data_files(elf, data: bytes) -> list[str]:
    """Which `DATA_FILES` the program may read. A Go binary names the zoneinfo directory and the
    CA bundle paths whenever it links ``time`` or ``crypto/x509`` at all; its symbol table says
    whether it can actually load a time zone or the system roots, so an unstripped Go binary is
    judged by its symbols and everything else by the strings it contains."""
    found = [package for package, needles in DATA_FILES.items() if any(n in data for n in needles)]
    is_go = elf.get_section_by_name(".gopclntab") is not None or elf.get_section_by_name(".go.buildinfo") is not None
    symbols = elf.get_section_by_name(".symtab")
    if not is_go or symbols is None or not found:
        return found
    wanted = {"ca-certificates": GO_CA_SYMBOLS, "tzdata": GO_ZONEINFO_SYMBOLS}
    hits: set[str] = set()
    for symbol in symbols.iter_symbols():
        name = symbol.name
        for package, prefixes in wanted.items():
            if package not in hits and name.startswith(prefixes):
                hits.add(package)
    return [package for package in found if package in hits]


#: Go functions that read the system CA bundle / a zoneinfo file (unstripped binaries).
GO_CA_SYMBOLS = ("crypto/x509.loadSystemRoots", "crypto/x509.initSystemRoots", "crypto/x509.SystemCertPool")
GO_ZONEINFO_SYMBOLS = ("time.LoadLocation",)


def scan_archive(stream, root: str) -> tuple[list[ElfInfo], set[str], int]:
    """ELF files in a tar stream of ``root`` (as ``get_archive`` sends it: the last path
    component of ``root`` is the archive's top directory). Returns the ELF infos, the sonames
    and file names the tree provides, and the number of files."""
    parent = posixpath.dirname(root.rstrip("/")) or "/"
    elves: list[ElfInfo] = []
    provided: set[str] = set()
    files = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            path = posixpath.normpath(posixpath.join(parent, member.name))
            if member.issym() or member.islnk():
                provided.add(posixpath.basename(path))
                continue
            if not member.isreg():
                continue
            files += 1
            provided.add(posixpath.basename(path))
            if member.size < 64:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            head = handle.read(4)
            if head != ELF_MAGIC or member.size > MAX_ELF_BYTES:
                continue
            info = read_elf(head + handle.read(), path)
            if info is not None:
                elves.append(info)
                if info.soname:
                    provided.add(info.soname)
    return elves, provided, files


def scan_image_paths(client, image: str, paths: list[str]) -> tuple[list[ElfInfo], set[str], int]:
    """`scan_archive` over ``paths`` of ``image``: one created (never started) container."""
    import docker.errors

    container = client.api.create_container(image, command=["/decruft-never-run"], entrypoint=[],
                                            labels={"decruft-multistage": "scan"})
    elves: list[ElfInfo] = []
    provided: set[str] = set()
    files = 0
    try:
        for path in paths:
            try:
                chunks, _stat = client.api.get_archive(container["Id"], path)
            except docker.errors.NotFound:
                continue
            found, names, count = scan_archive(IterReader(iter(chunks)), path)
            elves += found
            provided |= names
            files += count
    finally:
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
        except docker.errors.APIError:
            pass
    return elves, provided, files


# ------------------------------------------------------------------------------ packages
#: Runs in the build image: locate each soname (or data path) and print its owning package.
#:   `L <soname> <path-or-?> <package-or-?>` and `D <key> <package-or-?>` and `M <manager>`.
RESOLVE_SCRIPT = r"""
manager=none
if [ -f /var/lib/dpkg/status ] && command -v dpkg-query >/dev/null 2>&1; then manager=dpkg
elif [ -f /lib/apk/db/installed ] && command -v apk >/dev/null 2>&1; then manager=apk
elif [ -d /var/lib/rpm ] && command -v rpm >/dev/null 2>&1; then manager=rpm; fi
echo "M $manager"
owner() {
  for q in "$1" "$(readlink -f "$1" 2>/dev/null)" "${1#/usr}" "/usr$1"; do
    [ -n "$q" ] || continue
    case $manager in
      dpkg) o=$(dpkg -S "$q" 2>/dev/null | head -n 1 | cut -d: -f1 | cut -d, -f1) ;;
      apk) o=$(apk info -W "$q" 2>/dev/null | sed -n 's/.* is owned by //p' | head -n 1) ;;
      rpm) o=$(rpm -qf --qf '%{NAME}\n' "$q" 2>/dev/null | head -n 1) ;;
      *) o= ;;
    esac
    case $o in ""|*"not owned"*|*"no path"*) ;; *) echo "$o"; return ;; esac
  done
  echo "?"
}
cache=$(ldconfig -p 2>/dev/null)
find_lib() {
  p=$(printf '%s\n' "$cache" | awk -v l="$1" '$1 == l { print $NF; exit }')
  if [ -z "$p" ]; then
    for d in $2 /lib /usr/lib /lib64 /usr/lib64 /lib/*-linux-gnu /usr/lib/*-linux-gnu /usr/local/lib; do
      if [ -e "$d/$1" ]; then p="$d/$1"; break; fi
    done
  fi
  if [ -z "$p" ]; then
    p=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o -name "$1" -print 2>/dev/null | head -n 1)
  fi
  echo "${p:-?}"
}
"""


@dataclass(slots=True)
class Resolution:
    manager: str  # dpkg, apk, rpm, none
    libraries: dict[str, tuple[str, str]]  # soname -> (path, package) ("?" when unknown)
    data: dict[str, str]  # data key -> package ("" when the build image lacks the files)


def resolve_script(needed: dict[str, list[str]], data_keys: Iterable[str]) -> str:
    """The shell script that resolves ``needed`` (soname -> extra search dirs) and data files."""
    lines = [RESOLVE_SCRIPT]
    for soname, dirs in sorted(needed.items()):
        search = " ".join(shlex.quote(d) for d in dirs)
        lines.append(f'p=$(find_lib {shlex.quote(soname)} "{search}"); '
                     f'if [ "$p" = "?" ]; then echo "L {soname} ? ?"; else echo "L {soname} $p $(owner "$p")"; fi')
    for key in sorted(set(data_keys)):
        probe, owned = DATA_PATHS[key]
        lines.append(f'if [ -e {shlex.quote(probe)} ]; then echo "D {key} $(owner {shlex.quote(owned)})"; '
                     f'else echo "D {key} -"; fi')
    return "\n".join(lines) + "\n"


def parse_resolution(output: str) -> Resolution:
    manager = "none"
    libraries: dict[str, tuple[str, str]] = {}
    data: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.strip().split(" ")
        if parts[0] == "M" and len(parts) == 2:
            manager = parts[1]
        elif parts[0] == "L" and len(parts) >= 4:
            libraries[parts[1]] = (parts[2], _package_name(" ".join(parts[3:]), manager))
        elif parts[0] == "D" and len(parts) >= 3:
            data[parts[1]] = "" if parts[2] == "-" else _package_name(" ".join(parts[2:]), manager)
    return Resolution(manager, libraries, data)


def _package_name(owner: str, manager: str) -> str:
    """``zlib1g`` from dpkg's ``zlib1g``; ``zlib`` from apk's ``zlib-1.3.1-r0``."""
    owner = owner.strip()
    if manager == "apk" and owner != "?":
        head, _, release = owner.rpartition("-")
        if release.startswith("r") and release[1:].isdigit():
            name, _, _version = head.rpartition("-")
            return name or head
    return owner


def installed_script() -> str:
    """Lists the installed package names of an image (the runtime base)."""
    # Test for the databases, not only the tools: BusyBox has an `rpm` applet and no packages.
    return ("if [ -f /var/lib/dpkg/status ] && command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f '${Package}\\n'; "
            "elif [ -f /lib/apk/db/installed ] && command -v apk >/dev/null 2>&1; then apk info; "
            "elif [ -d /var/lib/rpm ] && command -v rpm >/dev/null 2>&1; then rpm -qa --qf '%{NAME}\\n'; fi")


@dataclass(slots=True)
class RuntimeNeeds:
    """What the runtime stage must install, and why (for the explanation)."""

    packages: list[str] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # package -> "libz.so.1 (bin/zcheck)"
    already: dict[str, list[str]] = field(default_factory=dict)  # package in the base -> reasons
    unresolved: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # -dev packages a soname resolved to


def needed_sonames(elves: list[ElfInfo], provided: set[str]) -> dict[str, list[str]]:
    """soname -> search dirs (RUNPATHs) for every DT_NEEDED the artifacts do not provide."""
    needed: dict[str, list[str]] = {}
    for elf in elves:
        for soname in elf.needed:
            if soname in provided:
                continue
            dirs = needed.setdefault(soname, [])
            for directory in elf.runpath:
                if directory not in dirs:
                    dirs.append(directory)
    return needed


def decide(elves: list[ElfInfo], provided: set[str], resolution: Resolution, base_packages: set[str],
           data_keys: Iterable[str] = ()) -> RuntimeNeeds:
    """Combine the scan, the resolution in the build image and the runtime base's packages."""
    needs = RuntimeNeeds()
    users: dict[str, list[str]] = {}
    for elf in elves:
        for soname in elf.needed:
            if soname not in provided:
                users.setdefault(soname, []).append(elf.path)
    for soname, paths in sorted(users.items()):
        _path, package = resolution.libraries.get(soname, ("?", "?"))
        shown = f"{soname} ({_short_paths(paths)})"
        if package == "?":
            needs.unresolved.append(shown)
            continue
        _add(needs, package, shown, base_packages)
    for key in sorted(set(data_keys)):
        package = resolution.data.get(key, "")
        if package and package != "?":
            _add(needs, package, f"{key} files the binary names", base_packages)
    return needs


def _add(needs: RuntimeNeeds, package: str, reason: str, base_packages: set[str]) -> None:
    if package.endswith(("-dev", "-devel")):
        needs.refused.append(f"{reason} -> {package}")
        return
    if package in base_packages:
        needs.already.setdefault(package, []).append(reason)
        return
    if package not in needs.packages:
        needs.packages.append(package)
    needs.reasons.setdefault(package, []).append(reason)


def _short_paths(paths: list[str], limit: int = 2) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
