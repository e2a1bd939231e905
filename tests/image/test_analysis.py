"""Layer application, waste attribution, duplicates and cruft classes on synthetic images.

Each case is a small table: the layers, then what the analysis must say.  dive's figures for
some of the same images are checked in ``test_dive_compat.py``.
"""

from __future__ import annotations

import math

import pytest

from decruft.image.analysis import analyze, dive_metrics, short_instruction
from decruft.image.cruft import load_table

from tests.image.builders import d, f, hl, image, layer, ln, opq, wh


def waste(analysis) -> list[tuple[str, str, int, int, int, int]]:
    """(path, kind, written_by, hidden_by, bytes, files) of every waste group, sorted."""
    return sorted((g.path, g.kind, g.written_by, g.hidden_by, g.bytes, g.files) for g in analysis.waste_groups)


def final(analysis) -> dict[str, int]:
    return {item.path: item.entry.size for item in analysis.files}


# --------------------------------------------------------------------------- waste kinds

WASTE_CASES = [
    # (id, layers, expected waste groups, reclaimable, final files)
    (
        "overwrite",
        [[d("a"), f("a/x", 100)], [d("a"), f("a/x", 200)]],
        [("a/x", "overwritten", 0, 1, 100, 1)],
        100,
        {"a/x": 200},
    ),
    (
        "chmod-only re-adds the whole file",
        [[f("run.sh", 5000, mode=0o644)], [f("run.sh", 5000, mode=0o755)]],
        [("run.sh", "metadata-only", 0, 1, 5000, 1)],
        5000,
        {"run.sh": 5000},
    ),
    (
        "chown-only (COPY then chown -R)",
        [[d("app"), f("app/big", 10_000)], [d("app"), f("app/big", 10_000, uid=1000, gid=1000)]],
        [("app/big", "metadata-only", 0, 1, 10_000, 1)],
        10_000,
        {"app/big": 10_000},
    ),
    (
        "same size, other content (hashed)",
        [[f("a", 10, digest="sha256:1")], [f("a", 10, digest="sha256:2", mode=0o755)]],
        [("a", "overwritten", 0, 1, 10, 1)],
        10,
        {"a": 10},
    ),
    (
        "identical rewrite (hashed)",
        [[f("a", 10, digest="sha256:1")], [f("a", 10, digest="sha256:1")]],
        [("a", "identical", 0, 1, 10, 1)],
        10,
        {"a": 10},
    ),
    (
        "deleted file",
        [[d("a"), f("a/x", 100), f("a/y", 5)], [d("a"), wh("a/x")]],
        [("a/x", "deleted", 0, 1, 100, 1)],
        100,
        {"a/y": 5},
    ),
    (
        "deleted directory counts every file below it",
        [[d("b"), f("b/1", 50), d("b/sub"), f("b/sub/2", 50), f("keep", 7)], [wh("b")]],
        [("b/", "deleted", 0, 1, 100, 2)],
        100,
        {"keep": 7},
    ),
    (
        "deleted directory whose subdirectory was only implied",
        [[f("b/deep/er/x", 30)], [wh("b")]],
        [("b/", "deleted", 0, 1, 30, 1)],
        30,
        {},
    ),
    (
        "opaque whiteout hides lower children",
        [[d("c"), f("c/1", 70), d("c/sub"), f("c/sub/2", 30)], [d("c"), opq("c"), f("c/new", 10)]],
        [("c/", "opaque", 0, 1, 100, 2)],
        100,
        {"c/new": 10},
    ),
    (
        "opaque then the same name again",
        [[d("c"), f("c/1", 70)], [f("c/1", 5), opq("c"), d("c")]],
        [("c/", "opaque", 0, 1, 70, 1)],
        70,
        {"c/1": 5},
    ),
    (
        "re-created after delete",
        [[f("a", 100)], [wh("a")], [f("a", 50)]],
        [("a", "deleted", 0, 1, 100, 1)],
        100,
        {"a": 50},
    ),
    (
        "delete and re-create in one layer",
        [[d("d"), f("d/old", 40)], [wh("d"), d("d"), f("d/new", 4)]],
        [("d/", "deleted", 0, 1, 40, 1)],
        40,
        {"d/new": 4},
    ),
    (
        "a file replaces a directory",
        [[d("x"), f("x/1", 10), f("x/2", 20)], [f("x", 3)]],
        [("x/", "replaced", 0, 1, 30, 2)],
        30,
        {"x": 3},
    ),
    (
        "a directory replaces a file",
        [[f("x", 9)], [d("x"), f("x/1", 1)]],
        [("x", "overwritten", 0, 1, 9, 1)],
        9,
        {"x/1": 1},
    ),
    (
        "the same path twice in one layer",
        [[f("a", 10), f("a", 20)]],
        [("a", "overwritten", 0, 0, 10, 1)],
        10,
        {"a": 20},
    ),
    (
        "whiteout of a path no lower layer has",
        [[f("a", 1)], [wh("nothing")]],
        [],
        0,
        {"a": 1},
    ),
    (
        "empty files are never waste",
        [[f("empty", 0), f("gone", 0)], [f("empty", 0, mode=0o600), wh("gone")]],
        [],
        0,
        {"empty": 0},
    ),
]


@pytest.mark.parametrize("case", WASTE_CASES, ids=lambda case: case[0])
def test_waste(case):
    _, layers, expected_groups, reclaimable, files = case
    analysis = analyze(image(*layers))
    assert waste(analysis) == sorted(expected_groups)
    assert analysis.reclaimable_bytes == reclaimable
    assert final(analysis) == files
    assert analysis.final_bytes == sum(files.values())
    assert analysis.size_bytes == analysis.final_bytes + reclaimable  # nothing lost, nothing counted twice


# --------------------------------------------------------------------------- hard links


def test_hidden_file_still_reached_through_a_visible_hard_link_is_not_waste():
    analysis = analyze(image([d("bin"), f("bin/python3.11", 6000), hl("bin/python3", "bin/python3.11")], [wh("bin/python3.11")]))
    assert analysis.reclaimable_bytes == 0
    assert analysis.final_bytes == 6000
    assert final(analysis) == {"bin/python3": 0}


def test_deleting_the_file_and_all_its_hard_links_is_waste():
    analysis = analyze(image([d("bin"), f("bin/a", 6000), hl("bin/b", "bin/a")], [wh("bin")]))
    assert waste(analysis) == [("bin/", "deleted", 0, 1, 6000, 1)]


def test_hard_links_add_no_bytes_and_are_counted_as_files():
    analysis = analyze(image([f("a", 100), hl("b", "a"), ln("c", "a")]))
    assert analysis.final_bytes == 100
    assert analysis.final_files == 3
    assert analysis.layers[0].files == 3


def test_hard_link_of_another_layer_does_not_rescue():
    # tar hard links always name a member of the same layer; a same-named path elsewhere is not it
    analysis = analyze(image([f("a", 100)], [hl("b", "a")], [wh("a")]))
    assert analysis.reclaimable_bytes == 100


# --------------------------------------------------------------------------- attribution


def test_attribution_to_writer_and_hider_layers():
    img = image(
        layer(d("var/lib/apt/lists"), f("var/lib/apt/lists/a", 1000), created_by="RUN /bin/sh -c apt-get update # buildkit"),
        layer(f("var/lib/apt/lists/b", 2000), f("usr/bin/tool", 500), created_by="RUN /bin/sh -c apt-get install -y tool # buildkit"),
        layer(wh("var/lib/apt/lists"), created_by="RUN /bin/sh -c rm -rf /var/lib/apt/lists # buildkit"),
    )
    analysis = analyze(img)
    assert waste(analysis) == [
        ("var/lib/apt/lists/", "deleted", 0, 2, 1000, 1),
        ("var/lib/apt/lists/", "deleted", 1, 2, 2000, 1),
    ]
    assert analysis.waste_matrix == {(0, 2): 1000, (1, 2): 2000}
    assert [st.wasted_bytes for st in analysis.layers] == [1000, 2000, 0]
    assert [st.hidden_bytes for st in analysis.layers] == [0, 0, 3000]
    assert analysis.layers[2].deleted.paths == 2 and analysis.layers[2].deleted.bytes == 3000
    assert [st.created_by for st in analysis.layers] == [
        "RUN apt-get update",
        "RUN apt-get install -y tool",
        "RUN rm -rf /var/lib/apt/lists",
    ]


def test_layer_added_modified_deleted_counts():
    analysis = analyze(
        image(
            [d("etc"), f("etc/a", 1), f("etc/b", 2), d("bin"), f("bin/x", 10)],
            [d("etc"), f("etc/a", 3), f("etc/c", 4), wh("bin"), opq("etc")],
        )
    )
    top = analysis.layers[1]
    # opaque etc hides a and b first; then a is written again -> counted as new, not modified
    assert (top.added.paths, top.added.bytes) == (2, 7)
    assert (top.modified.paths, top.modified.bytes) == (0, 0)
    assert (top.deleted.paths, top.deleted.bytes) == (3, 13)
    assert (top.files, top.dirs, top.whiteouts, top.opaque_whiteouts) == (2, 1, 1, 1)
    base = analysis.layers[0]
    assert (base.added.paths, base.added.bytes, base.files, base.dirs) == (3, 13, 3, 2)


def test_modified_counts_paths_a_lower_layer_had():
    analysis = analyze(image([f("a", 1), f("b", 2)], [f("a", 5), ln("b", "a")]))
    assert (analysis.layers[1].modified.paths, analysis.layers[1].modified.bytes) == (2, 5)


def test_noop_whiteouts_are_counted_and_warned():
    analysis = analyze(image([f("a", 1)], [wh("x"), wh("y/z")]))
    assert analysis.layers[1].noop_whiteouts == 2
    assert any("no lower layer" in w for w in analysis.warnings)


# --------------------------------------------------------------------------- duplicates


def test_exact_duplicates_by_digest():
    analysis = analyze(
        image(
            [
                f("app/static/logo.png", 4000, digest="sha256:aa"),
                f("app/public/logo-copy.png", 4000, digest="sha256:aa"),
                f("app/public/other.png", 4000, digest="sha256:bb"),
                f("tiny1", 1, digest="sha256:cc"),
                f("tiny2", 1, digest="sha256:cc"),
            ]
        )
    )
    dups = analysis.duplicates
    assert dups.method == "digest" and dups.exact
    assert [(g.paths, g.wasted_bytes) for g in dups.groups] == [
        (["app/public/logo-copy.png", "app/static/logo.png"], 4000),
        (["tiny1", "tiny2"], 1),
    ]
    assert dups.bytes == 4001


def test_possible_duplicates_by_size_and_name_without_hashes():
    analysis = analyze(
        image(
            [
                f("usr/lib/a/LICENSE", 2000),
                f("usr/lib/b/LICENSE", 2000),
                f("usr/lib/c/COPYING", 2000),  # same size, other name: not reported
                f("x/small", 100),
                f("y/small", 100),  # below the 1 KiB floor for unhashed guesses
            ]
        )
    )
    dups = analysis.duplicates
    assert dups.method == "size+name" and not dups.exact
    assert [g.paths for g in dups.groups] == [["usr/lib/a/LICENSE", "usr/lib/b/LICENSE"]]
    assert dups.groups[0].digest is None


def test_hidden_copies_and_hard_links_are_not_duplicates():
    analysis = analyze(
        image(
            [f("a", 5000, digest="sha256:x"), hl("b", "a"), f("c", 5000, digest="sha256:x")],
            [wh("c")],
        )
    )
    assert analysis.duplicates.groups == []


# --------------------------------------------------------------------------- cruft classes

CRUFT_CASES = [
    ("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", "apt-lists"),
    ("var/cache/apt/archives/curl_7.88_amd64.deb", "apt-cache"),
    ("var/cache/apt/pkgcache.bin", "apt-cache"),
    ("var/cache/apk/APKINDEX.tar.gz", "apk-cache"),
    ("root/.cache/pip/http-v2/a/b/c", "pip-cache"),
    ("home/app/.cache/pip/wheels/x.whl", "pip-cache"),
    ("root/.npm/_cacache/content-v2/sha512/ab/cd", "npm-cache"),
    ("usr/local/share/.cache/yarn/v6/npm-x/package.json", "yarn-pnpm-cache"),
    ("root/.cache/go-build/ab/abcdef-d", "go-cache"),
    ("go/pkg/mod/github.com/x/y@v1/z.go", "go-cache"),
    ("usr/local/cargo/registry/cache/x.crate", "cargo-cache"),
    ("root/.m2/repository/org/x/y.jar", "jvm-build-cache"),
    ("usr/lib/gcc/x86_64-linux-gnu/12/cc1", "c-toolchain"),
    ("usr/bin/x86_64-linux-gnu-gcc-12", "c-toolchain"),
    ("usr/local/go/bin/go", "go-toolchain"),
    ("usr/local/rustup/toolchains/x/bin/rustc", "rust-toolchain"),
    ("usr/lib/jvm/java-17-openjdk-amd64/jmods/java.base.jmod", "jdk-toolchain"),
    ("usr/include/stdio.h", "headers-static-libs"),
    ("usr/lib/x86_64-linux-gnu/libssl.a", "headers-static-libs"),
    ("usr/share/doc/bash/copyright", "docs"),
    ("usr/share/man/man1/ls.1.gz", "man-pages"),
    ("usr/share/locale/de/LC_MESSAGES/coreutils.mo", "locales"),
    ("usr/local/lib/python3.11/site-packages/numpy/tests/test_x.py", "python-tests"),
    ("usr/local/lib/python3.11/site-packages/numpy/tests/__pycache__/t.cpython-311.pyc", "python-tests"),
    ("usr/local/lib/python3.11/test/test_os.py", "python-tests"),
    ("app/node_modules/lodash/test/a.js", "node-tests"),
    ("usr/local/lib/python3.11/__pycache__/os.cpython-311.pyc", "python-bytecode-installed"),
    ("usr/local/lib/python3.11/site-packages/requests/__pycache__/api.cpython-311.pyc", "python-bytecode-installed"),
    ("app/__pycache__/main.cpython-310.pyc", "python-bytecode"),
    ("srv/app/util.pyc", "python-bytecode"),
    ("app/.git/objects/pack/pack-1.pack", "vcs"),
    ("app/.DS_Store", "context-junk"),
    ("app/.pytest_cache/v/cache/lastfailed", "context-junk"),
    ("app/npm-debug.log", "logs"),
    ("var/log/apt/term.log", "dpkg-leftovers"),
    ("var/cache/debconf/templates.dat-old", "dpkg-leftovers"),
    ("tmp/build/archive.tar.gz", "temp-files"),
    ("app/.env", "secret-env"),
    ("app/config/.env.production", "secret-env"),
    ("root/.ssh/id_ed25519", "secret-key"),
    ("app/certs/server.key", "secret-key"),
    ("app/deploy.pem", "secret-key"),
    ("root/.aws/credentials", "secret-credentials"),
    ("app/.npmrc", "secret-credentials"),
    # not cruft
    ("app/main.py", None),
    ("app/node_modules/lodash/lodash.js", None),
    ("app/node_modules/lodash/LICENSE.md", None),
    ("app/.env.example", None),
    ("etc/ssl/certs/ca-certificates.crt", None),
    ("etc/ssl/certs/ISRG_Root_X1.pem", None),
    ("usr/local/lib/python3.11/site-packages/certifi/cacert.pem", None),
    ("root/.ssh/id_ed25519.pub", None),
    ("var/lib/apt/lists/lock", None),
    ("usr/share/locale/locale.alias", None),
    ("usr/lib/x86_64-linux-gnu/libssl.so.3", None),
    ("usr/bin/python3.11", None),
    ("usr/bin/ld.so", None),  # the dynamic loader, not the linker
    ("usr/lib/ssl/cert.pem", None),  # a symlink to the CA bundle
    ("usr/share/go-1.19/src/crypto/tls/testdata/example-key.pem", "go-toolchain"),
    ("usr/local/go/src/crypto/tls/testdata/example-key.pem", "go-toolchain"),
    ("srv/app/tests/fixtures/server.key", None),
    ("usr/share/python3/debpython/__pycache__/version.cpython-311.pyc", "python-bytecode-installed"),
    ("usr/src/app/__pycache__/main.cpython-311.pyc", "python-bytecode"),
    ("usr/bin/ldd", None),
]


@pytest.mark.parametrize("path,expected", CRUFT_CASES, ids=[c[0] for c in CRUFT_CASES])
def test_cruft_class_of_path(path, expected):
    cls = load_table().class_of(path)
    assert (cls.id if cls else None) == expected


def test_cruft_report_bytes_top_paths_and_informational():
    analysis = analyze(
        image(
            [
                f("var/lib/apt/lists/a_Packages", 40_000_000),
                f("var/lib/apt/lists/b_Packages", 10_000_000),
                f("usr/share/doc/bash/copyright", 10_000),
                f("usr/share/doc/bash/NEWS.gz", 90_000),
                f("usr/share/doc/curl/copyright", 5_000),
                f("usr/local/lib/python3.11/site-packages/x/__pycache__/a.pyc", 7_000),
                f("app/.env", 100),
                f("app/main.py", 1_000),
            ]
        )
    )
    cruft = analysis.cruft
    assert cruft.bytes == 50_000_000 + 105_000 + 100  # informational bytecode not counted
    apt = cruft.get("apt-lists")
    assert (apt.bytes, apt.files) == (50_000_000, 2)
    assert apt.top_roots(1) == [("var/lib/apt/lists/a_Packages", 40_000_000, 1)]
    docs = cruft.get("docs")
    assert docs.top_roots() == [("usr/share/doc/bash/", 100_000, 2), ("usr/share/doc/curl/", 5_000, 1)]
    assert cruft.get("python-bytecode-installed").cls.informational
    assert cruft.bytes_of("package-manager") == 50_000_000
    assert cruft.bytes_of("secret-env") == 100
    assert cruft.by_category()["secret"] == 100
    assert cruft.results[-1].cls.informational  # informational classes are listed last


def test_cruft_ignores_what_the_final_image_cannot_see():
    analysis = analyze(image([f("var/lib/apt/lists/x", 1000)], [wh("var/lib/apt/lists")]))
    assert analysis.cruft.bytes == 0
    assert analysis.reclaimable_bytes == 1000


# --------------------------------------------------------------------------- instructions


@pytest.mark.parametrize(
    "created_by,expected",
    [
        ("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit", "RUN apt-get update && apt-get install -y curl"),
        ("RUN |2 VERSION=1.2 TARGETARCH=amd64 /bin/sh -c make install # buildkit", "RUN make install"),
        ("COPY . /app # buildkit", "COPY . /app"),
        ("/bin/sh -c #(nop)  ENV PATH=/usr/local/bin:/usr/bin", "ENV PATH=/usr/local/bin:/usr/bin"),
        ("/bin/sh -c #(nop) ADD file:3a7bcf2 in / ", "ADD file:3a7bcf2 in /"),
        ("/bin/sh -c set -eux;\tapt-get update;\n  rm -rf /var/lib/apt/lists/*", "RUN set -eux; apt-get update; rm -rf /var/lib/apt/lists/*"),
        ("WORKDIR /app", "WORKDIR /app"),
        (None, ""),
        ("", ""),
    ],
)
def test_short_instruction(created_by, expected):
    assert short_instruction(created_by) == expected


# --------------------------------------------------------------------------- dive figures


def test_dive_counts_overwrite_twice_and_deleted_directory_not_at_all():
    overwrite = dive_metrics(image([d("a"), f("a/x", 100)], [d("a"), f("a/x", 200)]))
    assert (overwrite.wasted_bytes, overwrite.efficiency, overwrite.user_wasted_percent) == (300, 100 / 300, 1.5)
    assert overwrite.inefficient_files == [("/a/x", 2, 300)]
    deleted_dir = dive_metrics(image([d("b"), f("b/1", 50), f("b/2", 50), f("c", 7)], [wh("b"), f("c", 7)]))
    assert deleted_dir.wasted_bytes == 14  # only the rewritten c; b/ is "no waste" for dive
    assert deleted_dir.efficiency == pytest.approx(207 / 214)


def test_dive_ignores_opaque_whiteouts():
    metrics = dive_metrics(image([d("c"), f("c/1", 70)], [d("c"), opq("c"), f("c/2", 10)]))
    assert (metrics.wasted_bytes, metrics.efficiency) == (0, 1.0)


def test_dive_stops_a_layer_at_a_whiteout_of_a_missing_path():
    metrics = dive_metrics(image([d("a"), f("a/x", 100)], [d("a"), f("a/x", 100, mode=0o600)], [wh("nothere"), d("a"), f("a/x", 300)]))
    assert metrics.aborted_layers == [2]
    assert metrics.wasted_bytes == 200  # layer 2's a/x is never counted
    assert metrics.efficiency == pytest.approx(99 / 200)  # the half-made record adds min = -1


def test_dive_sees_a_repeated_docker_save_layer_as_empty():
    # Docker <= 24 saves a repeated layer as a symlink; dive reads the symlink member (empty)
    metrics = dive_metrics(image([f("a", 6)], [f("a", 6)]))
    assert (metrics.wasted_bytes, metrics.size_bytes, metrics.user_size_bytes) == (0, 6, 0)


def test_dive_user_wasted_percent_without_user_bytes():
    assert math.isnan(dive_metrics(image([d("a")], [d("a")])).user_wasted_percent)
    assert math.isinf(dive_metrics(image([f("a", 100)], [wh("a")])).user_wasted_percent)
