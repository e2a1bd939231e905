#!/usr/bin/env bash
# Creates the junk this example is about, next to this script: a `.git` directory
# (~4 MB, mostly an incompressible pack file) and a `node_modules` tree (~5 MB of
# dev tooling: prettier, eslint, typescript look-alikes). Neither can be committed, so
# the tests and benchmarks run this first.
#
# Deterministic (the same bytes on every machine: Python's seeded PRNG) and idempotent
# (a stamp with the junk version; a second run does nothing). `--force` regenerates.
#
# The fake `.git` has no `refs/` directory on purpose, so git never mistakes this folder
# for a nested repository; to a build context it weighs what a real one would.
set -euo pipefail
cd "$(dirname "$0")"

VERSION=1
STAMP_GIT=.git/decruft-junk-version
STAMP_NM=node_modules/.decruft-junk-version

if [ "${1:-}" != --force ] && [ "$(cat "$STAMP_GIT" 2>/dev/null)" = "$VERSION" ] \
   && [ "$(cat "$STAMP_NM" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
rm -rf .git node_modules

PYTHON=$(command -v python3 || command -v python) || { echo "make-junk.sh: needs python3" >&2; exit 1; }
"$PYTHON" - "$VERSION" <<'PY'
import hashlib
import json
import os
import random
import sys

version = sys.argv[1]
rng = random.Random(20261127)


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


WORDS = ("const function return if else for while var let export import require module "
         "options config value node token parse print format error warn rule plugin "
         "source target result array object string number length index default").split()


def js(lines):
    """Plausible minified-ish JavaScript text (compressible like the real thing)."""
    out = []
    for i in range(lines):
        a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
        out.append(f"function {a}_{i}({b}, {c}) {{ return {b}.{c} ? {a}_{i}({c}, {b}) : "
                   f"{rng.randrange(1 << 30)}; }}")
    return "\n".join(out) + "\n"


# ---- .git: what a few hundred commits of history look like on disk
pack = rng.randbytes(3_600_000)
pack_name = hashlib.sha1(pack).hexdigest()
write(f".git/objects/pack/pack-{pack_name}.pack", b"PACK\x00\x00\x00\x02" + pack)
write(f".git/objects/pack/pack-{pack_name}.idx", b"\xfftOc\x00\x00\x00\x02" + rng.randbytes(90_000))
for i in range(40):  # loose objects
    digest = hashlib.sha1(f"loose {i}".encode()).hexdigest()
    write(f".git/objects/{digest[:2]}/{digest[2:]}", rng.randbytes(rng.randrange(200, 8000)))
write(".git/HEAD", "ref: refs/heads/main\n")
write(".git/config", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
      "[remote \"origin\"]\n\turl = git@example.com:acme/junk-context.git\n"
      "\tfetch = +refs/heads/*:refs/remotes/origin/*\n")
write(".git/description", "Unnamed repository; edit this file 'description' to name the repository.\n")
write(".git/index", b"DIRC\x00\x00\x00\x02" + rng.randbytes(24_000))
write(".git/packed-refs", f"# pack-refs with: peeled fully-peeled sorted\n{pack_name} refs/heads/main\n")
write(".git/logs/HEAD", "".join(
    f"{hashlib.sha1(str(i).encode()).hexdigest()} {hashlib.sha1(str(i + 1).encode()).hexdigest()} "
    f"Dev <dev@example.com> {1700000000 + i * 3600} +0000\tcommit: change {i}\n" for i in range(300)))
write(".git/hooks/pre-commit.sample", "#!/bin/sh\n# An example hook script.\nexit 0\n", 0o755)
write(".git/decruft-junk-version", version + "\n")

# ---- node_modules: dev tooling installed on the developer's machine
packages = {"prettier": 1_500_000, "eslint": 900_000, "typescript": 1_800_000,
            "@babel/parser": 400_000, "acorn": 200_000, "chalk": 30_000}
lock = {"name": "junk-context", "lockfileVersion": 3, "requires": True, "packages": {}}
for name, size in packages.items():
    base = f"node_modules/{name}"
    version_str = f"{rng.randrange(1, 9)}.{rng.randrange(0, 20)}.{rng.randrange(0, 10)}"
    write(f"{base}/package.json", json.dumps({"name": name, "version": version_str,
                                               "main": "index.js", "license": "MIT"}, indent=2) + "\n")
    text = js(max(1, size // 90))
    write(f"{base}/index.js", text[:size])
    write(f"{base}/README.md", f"# {name}\n\n" + js(40))
    write(f"{base}/LICENSE", "MIT License\n\nCopyright (c) contributors\n")
    lock["packages"][base] = {"version": version_str, "dev": True}
os.makedirs("node_modules/.bin", exist_ok=True)
for tool in ("prettier", "eslint", "tsc"):
    target = {"tsc": "typescript"}.get(tool, tool)
    link = f"node_modules/.bin/{tool}"
    if not os.path.lexists(link):
        os.symlink(f"../{target}/index.js", link)
write("node_modules/.package-lock.json", json.dumps(lock, indent=2) + "\n")
write("node_modules/.decruft-junk-version", version + "\n")
PY
