"""``decruft diff``: installed packages from paths (and contents when available), file and
layer changes between two synthetic images."""

from __future__ import annotations

from decruft.image.analysis import analyze
from decruft.image.diff import (
    diff_images,
    installed_packages,
    normalize_python_name,
    parse_apk_installed,
    parse_dpkg_status,
)

from tests.image.builders import d, f, image, layer, wh

DPKG_STATUS = """Package: bash
Status: install ok installed
Priority: required
Architecture: amd64
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell
 This is a continuation line: Package: not-a-package

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u4

Package: removed-but-configured
Status: deinstall ok config-files
Version: 1.0

Package: curl
Status: install ok installed
Version: 7.88.1-10+deb12u5
"""

APK_INSTALLED = """C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64

C:Q1def=
P:busybox
V:1.36.1-r15
"""


def test_parse_dpkg_status():
    assert parse_dpkg_status(DPKG_STATUS) == {
        "bash": ["5.2.15-2+b2"],
        "libc6": ["2.36-9+deb12u4"],
        "libc6:i386": ["2.36-9+deb12u4"],
        "curl": ["7.88.1-10+deb12u5"],
    }


def test_parse_apk_installed():
    assert parse_apk_installed(APK_INSTALLED) == {"musl": ["1.2.4-r2"], "busybox": ["1.36.1-r15"]}


def test_normalize_python_name():
    assert [normalize_python_name(n) for n in ("Django", "zope.interface", "typing_extensions", "A__B-.c")] == [
        "django", "zope-interface", "typing-extensions", "a-b-c"
    ]


def packages_of(*layers, contents=None):
    return installed_packages(analyze(image(*layers)), contents).by_ecosystem


def test_dpkg_names_from_info_lists_without_contents():
    found = packages_of([
        d("var/lib/dpkg/info"),
        f("var/lib/dpkg/status", 5000),
        f("var/lib/dpkg/info/bash.list", 100),
        f("var/lib/dpkg/info/libc6:amd64.list", 100),
        f("var/lib/dpkg/info/libc6:amd64.md5sums", 100),
    ])
    assert found["dpkg"] == {"bash": [""], "libc6": [""]}


def test_dpkg_from_status_contents_wins():
    found = packages_of([f("var/lib/dpkg/status", len(DPKG_STATUS)), f("var/lib/dpkg/info/bash.list", 1)],
                        contents={"var/lib/dpkg/status": DPKG_STATUS.encode()})
    assert found["dpkg"]["curl"] == ["7.88.1-10+deb12u5"]


def test_dpkg_distroless_status_d():
    found = packages_of([f("var/lib/dpkg/status.d/base-files", 300), f("var/lib/dpkg/status.d/base-files.md5sums", 300)])
    assert found["dpkg"] == {"base-files": [""]}


def test_pip_from_dist_info_and_egg_info():
    found = packages_of([
        d("usr/local/lib/python3.11/site-packages/Django-4.2.7.dist-info"),
        f("usr/local/lib/python3.11/site-packages/Django-4.2.7.dist-info/METADATA", 10),
        f("usr/local/lib/python3.11/site-packages/typing_extensions-4.8.0.dist-info/RECORD", 10),  # implied dir
        d("usr/lib/python3/dist-packages/six-1.16.0.egg-info"),
        f("usr/lib/python3/dist-packages/chardet-5.1.0.egg-info", 10),  # egg-info as a file
        d("opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info"),
        d("usr/local/lib/python3.11/site-packages/not_a_package"),
        d("home/app/project/foo-1.0.dist-info"),  # not under site-packages
    ])
    assert found["pip"] == {
        "django": ["4.2.7"],
        "typing-extensions": ["4.8.0"],
        "six": ["1.16.0"],
        "chardet": ["5.1.0"],
        "requests": ["2.31.0"],
    }


def test_npm_names_from_package_json_paths():
    found = packages_of([
        f("app/package.json", 10),
        f("app/node_modules/express/package.json", 10),
        f("app/node_modules/@types/node/package.json", 10),
        f("app/node_modules/express/node_modules/debug/package.json", 10),
        f("app/node_modules/debug/package.json", 10),
        f("app/node_modules/express/lib/package.json", 10),  # a file inside a package, not a package
        f("app/node_modules/.package-lock.json", 10),
    ])
    assert found["npm"] == {"express": ["1 copy"], "@types/node": ["1 copy"], "debug": ["2 copies"]}


def test_packages_deleted_by_a_later_layer_are_gone():
    found = packages_of(
        [d("usr/local/lib/python3.11/site-packages/pip-23.0.dist-info"), f("usr/local/lib/python3.11/site-packages/pip-23.0.dist-info/RECORD", 1)],
        [wh("usr/local/lib/python3.11/site-packages/pip-23.0.dist-info")],
    )
    assert "pip" not in found


def test_diff_images_end_to_end():
    base = layer(d("usr"), d("usr/bin"), f("usr/bin/sh", 100_000), d("var/lib/dpkg/info"),
                 f("var/lib/dpkg/info/dash.list", 10), created_by="ADD rootfs.tar /")
    a = analyze(image(
        base,
        layer(f("var/lib/apt/lists/P", 3_000_000), f("var/lib/dpkg/info/curl.list", 10), f("usr/bin/curl", 250_000),
              created_by="RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"),
        layer(d("app"), f("app/main.py", 100), f("app/node_modules/left-pad/package.json", 10), created_by="COPY . /app # buildkit"),
    ))
    b = analyze(image(
        base,
        layer(f("var/lib/dpkg/info/curl.list", 10), f("usr/bin/curl", 250_000),
              created_by="RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* # buildkit"),
        layer(d("app"), f("app/main.py", 120, mode=0o755), f("app/.env", 20), created_by="COPY . /app # buildkit"),
    ))
    diff = diff_images(a, b)
    assert diff.shared_layers == 1
    assert [pair.shared for pair in diff.layers] == [True, False, False]
    assert [(c.path, c.size_b) for c in diff.added] == [("app/.env", 20)]
    assert [(c.path, c.size_a) for c in diff.removed] == [("var/lib/apt/lists/P", 3_000_000), ("app/node_modules/left-pad/package.json", 10)]
    assert [(c.path, c.what) for c in diff.changed] == [("app/main.py", "size,mode")]
    assert ("var/", 3_000_020, 20) in diff.top_dirs
    assert diff.top_dirs[0][0] == "var/"  # the biggest change first
    cruft = {row[0]: (row[2], row[3]) for row in diff.cruft}
    assert cruft["apt-lists"] == (3_000_000, 0)
    assert cruft["secret-env"] == (0, 20)
    by_ecosystem = {p.ecosystem: p for p in diff.packages}
    assert by_ecosystem["npm"].removed == [("left-pad", ["1 copy"])]
    assert by_ecosystem["dpkg"].added == [] and by_ecosystem["dpkg"].removed == []
    assert diff.removed_bytes == 3_000_010 and diff.added_bytes == 20
