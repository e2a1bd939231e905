"""Runtime-library inference without an engine: ELF reading, tar streams, the resolve script
(run with the host's own sh, ldconfig and dpkg: a Debian host like the images), the decision."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from decruft.multistage.runtime_deps import (
    Resolution,
    _package_name,
    decide,
    installed_script,
    needed_sonames,
    parse_resolution,
    read_elf,
    resolve_script,
    scan_archive,
)

LS = Path("/bin/ls")
LDCONFIG = Path("/sbin/ldconfig")  # statically linked on glibc systems


@pytest.mark.skipif(not LS.exists() or not LDCONFIG.exists(), reason="needs /bin/ls and /sbin/ldconfig")
def test_read_elf_dynamic_and_static():
    dynamic = read_elf(LS.read_bytes(), "/bin/ls")
    assert dynamic is not None
    assert "libc.so.6" in dynamic.needed
    assert dynamic.interpreter and dynamic.interpreter.startswith("/lib")
    assert not dynamic.static
    static = read_elf(LDCONFIG.read_bytes(), "/sbin/ldconfig")
    assert static is not None and static.static and static.needed == []


def test_read_elf_rejects_non_elf():
    assert read_elf(b"\x7fELF" + b"\0" * 60, "/x") is None
    assert read_elf(b"#!/bin/sh\necho hi\n", "/x") is None


def _tar(entries: list[tuple[str, bytes | None, str | None]]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data, link in entries:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                archive.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.mark.skipif(not LS.exists(), reason="needs /bin/ls")
def test_scan_archive_finds_elf_files_and_what_the_tree_provides():
    stream = _tar([
        ("app", None, None),
        ("app/bin", None, None),
        ("app/bin/ls", LS.read_bytes(), None),
        ("app/README", b"not a program" * 10, None),
        ("app/lib", None, None),
        ("app/lib/libfoo.so.1", None, "libfoo.so.1.2"),
    ])
    elves, provided, files = scan_archive(stream, "/opt/app")
    assert [e.path for e in elves] == ["/opt/app/bin/ls"]
    assert files == 2
    assert {"libfoo.so.1", "ls", "README"} <= provided
    needed = needed_sonames(elves, provided | {"libselinux.so.1"})
    assert "libc.so.6" in needed and "libselinux.so.1" not in needed


def test_parse_resolution_and_package_names():
    output = ("noise\nM dpkg\nL libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 zlib1g\nL libnope.so.3 ? ?\n"
              "D ca-certificates ca-certificates\nD tzdata -\n")
    resolution = parse_resolution(output)
    assert resolution.manager == "dpkg"
    assert resolution.libraries == {"libz.so.1": ("/lib/x86_64-linux-gnu/libz.so.1", "zlib1g"),
                                    "libnope.so.3": ("?", "?")}
    assert resolution.data == {"ca-certificates": "ca-certificates", "tzdata": ""}
    assert _package_name("zlib-1.3.1-r0", "apk") == "zlib"
    assert _package_name("libssl3-3.1.4-r5", "apk") == "libssl3"
    assert _package_name("libstdc++", "apk") == "libstdc++"


def test_decide_subtracts_the_base_and_refuses_dev_packages():
    elves = [read_elf_stub("/usr/local/bin/tool", ["libz.so.1", "libyaml-0.so.2", "libfoo.so.1", "libbar.so"]),
             read_elf_stub("/usr/local/lib/libfoo.so.1", ["libc.so.6"], soname="libfoo.so.1")]
    provided = {"libfoo.so.1"}
    resolution = Resolution("dpkg", {
        "libz.so.1": ("/lib/libz.so.1", "zlib1g"), "libyaml-0.so.2": ("/usr/lib/libyaml-0.so.2", "libyaml-0-2"),
        "libc.so.6": ("/lib/libc.so.6", "libc6"), "libbar.so": ("/usr/lib/libbar.so", "libbar-dev"),
    }, {})
    needs = decide(elves, provided, resolution, {"zlib1g", "libc6"})
    assert needs.packages == ["libyaml-0-2"]
    assert needs.reasons["libyaml-0-2"] == ["libyaml-0.so.2 (/usr/local/bin/tool)"]
    assert set(needs.already) == {"zlib1g", "libc6"}
    assert needs.refused == ["libbar.so (/usr/local/bin/tool) -> libbar-dev"]
    assert needs.unresolved == []


def read_elf_stub(path, needed, soname=None):
    from decruft.multistage.runtime_deps import ElfInfo

    return ElfInfo(path, needed, [], "/lib64/ld-linux-x86-64.so.2", soname)


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("ldconfig") is None and not LDCONFIG.exists(),
                    reason="needs a dpkg-based host")
def test_resolve_script_on_this_host():
    script = resolve_script({"libc.so.6": [], "libdoesnotexist.so.9": []}, ["tzdata"])
    output = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}).stdout
    resolution = parse_resolution(output)
    assert resolution.manager == "dpkg"
    assert resolution.libraries["libc.so.6"][1] == "libc6"
    assert resolution.libraries["libdoesnotexist.so.9"] == ("?", "?")
    assert "tzdata" in resolution.data


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a dpkg-based host")
def test_installed_script_lists_packages():
    output = subprocess.run(["sh", "-c", installed_script()], capture_output=True, text=True, timeout=60).stdout
    assert "libc6" in output.split()
