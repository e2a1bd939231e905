"""Deterministic generator of varied, valid Dockerfiles for decruft's parser tests.

Every file it makes is accepted by BuildKit (parser *and* instruction layer): a FROM
comes first (after optional ARGs), flags are ones BuildKit knows for the instruction,
ENV/LABEL words are well formed, ONBUILD triggers are allowed, SHELL is JSON, ...
The *formatting* is what varies: keyword case, whitespace, continuations (with comment,
empty and whitespace-only lines inside them, trailing blanks after the escape char),
parser directives (and directive-looking comments where they are not directives),
BOM, LF / CRLF / mixed / CR-CR-LF line endings, missing final newline, heredocs
(``<<EOF``, ``<<-EOF`` with tabs, quoted delimiters, several per line, fd prefixes,
in COPY/ADD and ONBUILD RUN), JSON vs shell form (and invalid JSON falling back to
shell form), ENV/LABEL old and new forms, ``${VAR:-default}`` expansions, multi-stage
graphs, the backtick escape with Windows paths.

Usage::

    python tests/corpus/generate.py --out DIR [--count N] [--seed S]
    python tests/corpus/generate.py --check          # parse every file with the oracle

From code: ``generate(count, seed)`` -> list of ``(name, bytes)``;
``typical(count, seed)`` -> plain 20-60 line files for benchmarks;
``big_file(lines, seed)`` -> one file of about ``lines`` lines.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

SEED = 20240611
DEFAULT_COUNT = 400

# --------------------------------------------------------------------------- vocab

BASES = [
    "python:3.12-slim", "python:3.11", "node:20-alpine", "node:22-bookworm", "golang:1.22",
    "golang:1.23-alpine", "eclipse-temurin:21-jdk", "eclipse-temurin:21-jre-alpine",
    "maven:3.9-eclipse-temurin-21", "rocker/r-ver:4.4.1", "nginx:1.27-alpine", "debian:bookworm-slim",
    "ubuntu:24.04", "ubuntu:22.04", "alpine:3.20", "gcc:14", "rust:1.80-slim", "busybox",
    "gcr.io/distroless/static-debian12:nonroot", "registry.example.com:5000/team/base:1.2.3",
    "ruby:3.3-slim", "php:8.3-fpm", "mcr.microsoft.com/dotnet/sdk:8.0",
    "alpine@sha256:" + "0123456789abcdef" * 4, "fedora:40", "amazonlinux:2023",
]
STAGE_NAMES = ["build", "builder", "deps", "base", "test", "runtime", "final", "assets",
               "compile", "dev", "prod", "tools", "frontend", "backend", "stage-1", "py.deps"]
PLATFORMS = ["$BUILDPLATFORM", "${BUILDPLATFORM}", "linux/amd64", "linux/arm64", "$TARGETPLATFORM"]
PATHS = ["/app", "/src", "/usr/src/app", "/opt/service", "/workspace", "/srv/www", "/home/app"]
FILES = ["requirements.txt", "package.json", "package-lock.json", "go.mod", "go.sum", "pom.xml",
         "Gemfile", "Gemfile.lock", "pyproject.toml", "poetry.lock", "Cargo.toml", "nginx.conf",
         "entrypoint.sh", "src/", "app.py", "main.go", "index.js", "DESCRIPTION", "Makefile", "."]
SHELL_CMDS = [
    "apt-get update",
    "apt-get install -y --no-install-recommends curl ca-certificates",
    "rm -rf /var/lib/apt/lists/*",
    "pip install --no-cache-dir -r requirements.txt",
    "pip install -r requirements.txt",
    "npm ci --omit=dev",
    "npm install",
    "npm cache clean --force",
    "go build -o /out/app ./cmd/app",
    "go mod download",
    "CGO_ENABLED=0 go build -ldflags=\"-s -w\" -o /bin/server .",
    "mvn -B -q package -DskipTests",
    "apk add --no-cache git build-base",
    "echo \"hello $NAME\" > /tmp/greeting",
    "echo 'single quoted $HOME'",
    "make -j\"$(nproc)\"",
    "make install",
    "useradd -r -u 1001 -g 0 app",
    "chown -R app:app /app",
    "chmod +x /usr/local/bin/entrypoint.sh",
    "curl -fsSL https://example.com/install.sh | sh",
    "wget -q https://example.com/pkg.tar.gz -O /tmp/pkg.tar.gz",
    "tar -xzf /tmp/pkg.tar.gz -C /opt",
    "test -n \"${APP_ENV:-}\" || export APP_ENV=production",
    "cp ${SRC_DIR:-/src}/config.yml /etc/app/config.yml",
    "echo ${VERSION:?version is required}",
    "ls -la ${HOME:+$HOME/bin}",
    "R -e \"install.packages('remotes', repos='https://cloud.r-project.org')\"",
    "Rscript -e 'remotes::install_deps(dependencies = TRUE)'",
    "[ -f /etc/os-release ] && cat /etc/os-release",
    "if [ \"$TARGETARCH\" = \"arm64\" ]; then echo arm; else echo other; fi",
    "for f in a b c; do echo $f; done",
    "./configure --prefix=/usr/local",
    "dnf install -y gcc && dnf clean all",
    "yum -y install httpd && yum clean all",
    "gem install bundler && bundle install --jobs 4",
    "cargo build --release",
    "python -m compileall -q /app",
    "find / -xdev -name '*.pyc' -delete",
    "ln -sf /dev/stdout /var/log/nginx/access.log",
    "printf '%s\\n' a b c",
    "echo \"escaped \\\"quote\\\" here\"",
]
ENV_KEYS = ["PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "NODE_ENV", "GOPATH", "APP_HOME",
            "JAVA_OPTS", "LANG", "TZ", "PIP_NO_CACHE_DIR", "DEBIAN_FRONTEND", "CGO_ENABLED", "VERSION"]
ENV_VALUES = ["1", "production", "/go", "/app", "\"-Xms256m -Xmx512m\"", "C.UTF-8", "Etc/UTC",
              "off", "noninteractive", "0", "/usr/local/bin:$PATH", "${APP_HOME:-/app}/bin:${PATH}",
              "'single quoted value'", "\"double quoted value\"", "plain\\ escaped\\ spaces", "\"\"",
              "${VERSION:-1.0.0}", "$HOME/.local"]
LABEL_KEYS = ["maintainer", "org.opencontainers.image.source", "org.opencontainers.image.version",
              "\"com.example.vendor\"", "version", "description", "com.example.release-date"]
LABEL_VALUES = ["\"ACME Incorporated\"", "1.0", "\"https://github.com/example/repo\"",
                "\"This text illustrates \\\n  that label-values can span multiple lines.\"",
                "\"${VERSION}\"", "2024-01-01", "'quoted'", "\"\""]
ARG_NAMES = ["VERSION", "BASE_IMAGE", "PYTHON_VERSION", "NODE_VERSION", "GO_VERSION", "UID", "GID",
             "TARGETARCH", "TARGETOS", "BUILDPLATFORM", "APP_ENV", "HTTP_PROXY", "USERNAME"]
ARG_DEFAULTS = ["1.0.0", "3.12", "20", "1.22", "1000", "\"with spaces\"", "production", "app",
                "${VERSION:-latest}", "''", "python:3.12-slim"]
HEREDOC_BODIES = [
    ["set -eux", "apt-get update", "apt-get install -y --no-install-recommends curl",
     "rm -rf /var/lib/apt/lists/*"],
    ["#!/usr/bin/env bash", "echo \"Hello $NAME\"", "exit 0"],
    ["[global]", "index-url = https://pypi.org/simple", "no-cache-dir = true"],
    ["server {", "    listen 80;", "    location / { root /usr/share/nginx/html; }", "}"],
    ["import sys", "print(sys.version)"],
    [""],
    [],
    ["line with trailing spaces   ", "\tline with a tab", "EOFX not a terminator", " EOF (indented: not a terminator)"],
]
HEREDOC_NAMES = ["EOF", "EOT", "SCRIPT", "END", "CONFIG", "PY", "eof", "file.txt", "nginx.conf"]
COMMENTS = ["# install dependencies", "# build the app", "#", "#no space", "# TODO: slim this down",
            "# escape=`", "# syntax=docker/dockerfile:1", "# check=skip=all",
            "#   directive-looking = but not a directive", "# hadolint ignore=DL3008",
            "# -*- coding: utf-8 -*-"]
WINDOWS_BASES = ["mcr.microsoft.com/windows/servercore:ltsc2022", "mcr.microsoft.com/powershell:lts-nanoserver-1809"]


def _case(rng: random.Random, kw: str) -> str:
    r = rng.random()
    if r < 0.72:
        return kw.upper()
    if r < 0.84:
        return kw.lower()
    if r < 0.94:
        return kw.capitalize()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in kw)


def _sep(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.85:
        return " "
    if r < 0.93:
        return "  "
    if r < 0.97:
        return "\t"
    return " \t "


class Ctx:
    """State of one file being generated."""

    def __init__(self, rng: random.Random, escape: str = "\\") -> None:
        self.rng = rng
        self.escape = escape
        self.stages: list[str] = []
        self.windows = False
        self.heredoc_share = 1.0  # scales how often RUN/COPY/ADD use heredocs

    # -- formatting helpers ------------------------------------------------------------
    def kw(self, word: str) -> str:
        return _case(self.rng, word)

    def cont(self) -> str:
        """An escape char ending a physical line, maybe with trailing blanks."""
        r = self.rng.random()
        tail = ""
        if r < 0.08:
            tail = " "
        elif r < 0.12:
            tail = "\t "
        elif r < 0.14:
            tail = "   "
        return self.escape + tail

    def filler_lines(self) -> list[str]:
        """Lines BuildKit skips inside a continuation: comments, empty, whitespace-only."""
        out = []
        r = self.rng.random()
        if r < 0.12:
            out.append(self.rng.choice(["# comment inside continuation", "    # indented comment",
                                        "#", "\t# tab comment", "# escape=`"]))
        elif r < 0.17:
            out.append("")
        elif r < 0.20:
            out.append(self.rng.choice(["   ", "\t", " \t "]))
        return out

    def join_continued(self, head: str, parts: list[str], indent: str = "    ") -> str:
        """head + parts, some parts moved to continuation lines (with skipped filler lines)."""
        rng = self.rng
        out = head
        for i, p in enumerate(parts):
            if (i > 0 and rng.random() < 0.5) or (i == 0 and rng.random() < 0.15):
                out += " " + self.cont() + "\n"
                for f in self.filler_lines():
                    out += f + "\n"
                out += rng.choice([indent, indent, "  ", "\t", ""]) + p
            else:
                out += " " + p
        return out


# --------------------------------------------------------------------------- instructions

def i_from(ctx: Ctx, name: str | None, base: str | None = None) -> str:
    rng = ctx.rng
    parts = [ctx.kw("FROM")]
    if rng.random() < 0.15:
        parts.append(f"--platform={rng.choice(PLATFORMS)}")
    if base is None:
        if ctx.windows:
            base = rng.choice(WINDOWS_BASES)
        elif ctx.stages and rng.random() < 0.25:
            base = rng.choice(ctx.stages)
        elif rng.random() < 0.1:
            base = "scratch"
        elif rng.random() < 0.12:
            base = rng.choice(["${BASE_IMAGE}", "$BASE_IMAGE", "python:${PYTHON_VERSION}-slim",
                               "${BASE_IMAGE:-alpine:3.20}"])
        else:
            base = rng.choice(BASES)
    parts.append(base)
    if name:
        parts.append(rng.choice(["AS", "AS", "as", "As"]))
        parts.append(name if rng.random() < 0.9 else name.upper())
    s = _sep(rng)
    return parts[0] + s + " ".join(parts[1:])


def _shell_parts(ctx: Ctx, n: int) -> list[str]:
    rng = ctx.rng
    cmds = rng.sample(SHELL_CMDS, n)
    out = [cmds[0]]
    for c in cmds[1:]:
        out.append(rng.choice(["&&", "&&", ";", "||"]) + " " + c)
    return out


def _mount(ctx: Ctx) -> str:
    rng = ctx.rng
    t = rng.choice(["cache", "cache", "bind", "secret", "ssh", "tmpfs"])
    if t == "cache":
        opts = ["type=cache", "target=" + rng.choice(["/root/.cache/pip", "/root/.npm", "/go/pkg/mod",
                                                      "/var/cache/apt", "/root/.m2"])]
        if rng.random() < 0.4:
            opts.append("id=" + rng.choice(["pip", "npm-cache", "gomod"]))
        if rng.random() < 0.3:
            opts.append("sharing=" + rng.choice(["locked", "shared", "private"]))
        if rng.random() < 0.15:
            opts += ["uid=1000", "gid=1000", "mode=0755"]
    elif t == "bind":
        opts = ["type=bind", "source=" + rng.choice([".", "requirements.txt", "go.sum", "/src"]),
                "target=" + rng.choice(["/src", "/tmp/requirements.txt", "/app/go.sum"])]
        if ctx.stages and rng.random() < 0.4:
            opts.append("from=" + rng.choice(ctx.stages))
        if rng.random() < 0.3:
            opts.append(rng.choice(["rw", "readwrite=true", "ro"]))
    elif t == "secret":
        opts = ["type=secret", "id=" + rng.choice(["npmrc", "pip_conf", "aws"])]
        if rng.random() < 0.6:
            opts.append("target=" + rng.choice(["/root/.npmrc", "/etc/pip.conf", "/root/.aws/credentials"]))
        if rng.random() < 0.3:
            opts.append(rng.choice(["required", "required=true"]))
        if rng.random() < 0.2:
            opts.append("mode=0400")
    elif t == "ssh":
        opts = ["type=ssh"]
        if rng.random() < 0.5:
            opts.append("id=default")
        if rng.random() < 0.3:
            opts.append("required=true")
    else:
        opts = ["type=tmpfs", "target=/tmp"]
    if rng.random() < 0.08 and t != "tmpfs":
        opts[0], opts[-1] = opts[-1], opts[0]  # order does not matter to BuildKit
    return "--mount=" + ",".join(opts)


def i_run(ctx: Ctx) -> str:
    rng = ctx.rng
    flags: list[str] = []
    if rng.random() < 0.35:
        for _ in range(rng.choice([1, 1, 2, 3])):
            flags.append(_mount(ctx))
    if rng.random() < 0.08:
        flags.append("--network=" + rng.choice(["none", "host", "default"]))
    if rng.random() < 0.03:
        flags.append("--security=" + rng.choice(["insecure", "sandbox"]))
    kw = ctx.kw("RUN")
    r = rng.random()
    if r < 0.1:
        # exec form
        arr = rng.choice(['["/bin/sh", "-c", "echo hello"]', '["make","install"]',
                          '[ "pip", "install", "-r", "requirements.txt" ]', '["echo", "\\u00e9t\\u00e9"]',
                          '["sh", "-c", "echo \\"quoted\\" && ls"]', '[]'])
        head = kw + _sep(rng) + (" ".join(flags) + " " if flags else "")
        return head + arr
    if r < 0.14:
        # looks like JSON but is not: falls back to shell form
        bad = rng.choice(["[ -f /etc/passwd ] && echo yes", "['single', 'quotes']", "[\"unterminated\"",
                          "[\"trailing\", \"comma\",]", "[1 2 3] || true"])
        return kw + _sep(rng) + (" ".join(flags) + " " if flags else "") + bad
    if r < 0.14 + 0.16 * ctx.heredoc_share:
        return heredoc_instruction(ctx, kw, flags)
    parts = flags + _shell_parts(ctx, rng.choice([1, 1, 2, 3, 4, 5]))
    return ctx.join_continued(kw, parts)


def heredoc_instruction(ctx: Ctx, kw: str, flags: list[str], copy: bool = False) -> str:
    rng = ctx.rng
    n = 1 if rng.random() < 0.8 else rng.choice([2, 3])
    docs = []
    words = []
    used: set[str] = set()
    for i in range(n):
        name = rng.choice(HEREDOC_NAMES)
        while name in used:
            name = rng.choice(HEREDOC_NAMES) + str(i)
        used.add(name)
        chomp = rng.random() < 0.25
        q = rng.random()
        quoted = name
        if q < 0.15:
            quoted = f"'{name}'"
        elif q < 0.25:
            quoted = f'"{name}"'
        fd = ""
        if not copy and rng.random() < 0.1:
            fd = rng.choice(["3", "0", "4"])
        words.append(f"{fd}<<{'-' if chomp else ''}{quoted}")
        body = list(rng.choice(HEREDOC_BODIES))
        if chomp:
            body = ["\t" * rng.choice([1, 1, 2]) + b for b in body]
        body = [b for b in body if b.strip("\t") != name]
        term = ("\t" * rng.choice([0, 1, 2]) if chomp else "") + name
        docs.append((body, term))
    head = kw + _sep(rng) + (" ".join(flags) + " " if flags else "")
    if copy:
        line = head + " ".join(words) + " " + rng.choice(["/etc/app/", "/usr/local/bin/", "/tmp/"])
    else:
        style = rng.random()
        if style < 0.5:
            line = head + " ".join(words)
        elif style < 0.75:
            line = head + rng.choice(["cat ", "python3 ", "bash -e ", "sh -c 'cat' "]) + " ".join(words)
            if rng.random() < 0.5:
                line += rng.choice([" > /tmp/out", " | tee /tmp/log", " && echo done"])
        elif style < 0.87 and any(w[0].isdigit() for w in words):
            line = head + "cat " + " ".join(words) + " <&3"
        else:
            # heredoc word on a continuation line
            line = head + "cat " + ctx.cont() + "\n    " + " ".join(words)
    out = line + "\n"
    for k, (body, term) in enumerate(docs):
        for b in body:
            out += b + "\n"
        out += term
        if k < len(docs) - 1:
            out += "\n"
    return out


def i_copy(ctx: Ctx, add: bool = False) -> str:
    rng = ctx.rng
    kw = ctx.kw("ADD" if add else "COPY")
    flags: list[str] = []
    if not add and ctx.stages and rng.random() < 0.35:
        flags.append("--from=" + rng.choice(ctx.stages + ["0", "nginx:alpine"]))
    if rng.random() < 0.2:
        flags.append("--chown=" + rng.choice(["app:app", "1000:1000", "${UID:-1000}:${GID:-1000}", "root"]))
    if rng.random() < 0.12:
        flags.append("--chmod=" + rng.choice(["755", "0644", "u=rwx,g=rx"]))
    if rng.random() < 0.12:
        flags.append(rng.choice(["--link", "--link=true", "--link=false"]))
    if not add and rng.random() < 0.06:
        flags.append(rng.choice(["--parents", "--parents=true"]))
    if rng.random() < 0.06:
        flags.append("--exclude=" + rng.choice(["*.md", "**/__pycache__", "node_modules"]))
        if rng.random() < 0.4:
            flags.append("--exclude=.git")
    if add and rng.random() < 0.15:
        flags.append("--checksum=sha256:" + "ab" * 32)
    if add and rng.random() < 0.1:
        flags.append(rng.choice(["--keep-git-dir=true", "--keep-git-dir"]))
    r = rng.random()
    if r < 0.12 * ctx.heredoc_share:
        return heredoc_instruction(ctx, kw, flags, copy=True)
    if r < 0.25:
        srcs = rng.sample(FILES, rng.choice([1, 2]))
        arr = "[" + ", ".join(f'"{s}"' for s in srcs + [rng.choice(PATHS) + "/"]) + "]"
        return kw + _sep(rng) + (" ".join(flags) + " " if flags else "") + arr
    if add and rng.random() < 0.3:
        srcs = [rng.choice(["https://example.com/archive.tar.gz", "app.tar.gz",
                            "git@github.com:moby/buildkit.git#v0.12.5", "https://github.com/moby/buildkit.git"])]
    else:
        srcs = rng.sample(FILES, rng.choice([1, 1, 2, 3]))
    dst = rng.choice(PATHS + ["./", ".", "${APP_HOME:-/app}/"])
    if len(srcs) > 1 and not dst.endswith("/"):
        dst += "/"
    parts = flags + srcs + [dst]
    if rng.random() < 0.2:
        return ctx.join_continued(kw, parts)
    return kw + _sep(rng) + " ".join(parts)


def i_env(ctx: Ctx, label: bool = False) -> str:
    rng = ctx.rng
    kw = ctx.kw("LABEL" if label else "ENV")
    keys = LABEL_KEYS if label else ENV_KEYS
    vals = LABEL_VALUES if label else ENV_VALUES
    if rng.random() < 0.25:
        # old form: KEY value with spaces
        v = rng.choice(["value with spaces", "/usr/local/bin:$PATH", "1", "\"quoted words\" and more",
                        "${HOME:-/root}/bin"])
        return kw + _sep(rng) + rng.choice(keys).strip('"') + rng.choice([" ", "  ", "\t"]) + v
    pairs = []
    for k in rng.sample(keys, rng.choice([1, 1, 2, 3])):
        v = rng.choice(vals)
        if not label and "\n" in v:
            v = "x"
        pairs.append(f"{k}={v}")
    if len(pairs) > 1 and rng.random() < 0.5:
        return ctx.join_continued(kw, pairs)
    return kw + _sep(rng) + " ".join(pairs)


def i_arg(ctx: Ctx) -> str:
    rng = ctx.rng
    name = rng.choice(ARG_NAMES)
    if rng.random() < 0.5:
        return ctx.kw("ARG") + _sep(rng) + f"{name}={rng.choice(ARG_DEFAULTS)}"
    return ctx.kw("ARG") + _sep(rng) + name


def i_simple(ctx: Ctx) -> str:
    rng = ctx.rng
    which = rng.choice(["WORKDIR", "USER", "EXPOSE", "VOLUME", "STOPSIGNAL", "MAINTAINER", "HEALTHCHECK",
                        "SHELL", "CMD", "ENTRYPOINT", "WORKDIR", "EXPOSE", "USER"])
    kw = ctx.kw(which)
    s = _sep(rng)
    if which == "WORKDIR":
        return kw + s + rng.choice(PATHS + ["${APP_HOME:-/app}", "$HOME/src", "relative/dir"])
    if which == "USER":
        return kw + s + rng.choice(["app", "1001", "app:app", "${UID}:${GID}", "nobody", "root"])
    if which == "EXPOSE":
        return kw + s + " ".join(rng.sample(["80", "443", "8080/tcp", "53/udp", "${PORT}", "3000", "9000-9010"],
                                            rng.choice([1, 1, 2, 3])))
    if which == "VOLUME":
        return kw + s + rng.choice(["/data", "/var/lib/postgresql/data /var/log", '["/data"]',
                                    '["/data", "/logs"]', "[/not/json]"])
    if which == "STOPSIGNAL":
        return kw + s + rng.choice(["SIGTERM", "SIGQUIT", "9", "SIGRTMIN+3"])
    if which == "MAINTAINER":
        return kw + s + rng.choice(["Jane Doe <jane@example.com>", "team@example.com"])
    if which == "HEALTHCHECK":
        if rng.random() < 0.15:
            return kw + s + rng.choice(["NONE", "none"])
        flags = []
        for f, vs in (("interval", ["30s", "1m", "5s"]), ("timeout", ["3s", "10s"]),
                      ("start-period", ["5s", "1m30s"]), ("start-interval", ["1s", "2s"]),
                      ("retries", ["3", "5"])):
            if rng.random() < 0.35:
                flags.append(f"--{f}={rng.choice(vs)}")
        cmd = rng.choice(['CMD curl -f http://localhost/ || exit 1', 'CMD ["curl", "-f", "http://localhost/"]',
                          "cmd wget -qO- localhost:8080/health", 'CMD ["/healthcheck"]'])
        if flags and rng.random() < 0.3:
            return ctx.join_continued(kw, flags + [cmd])
        return kw + s + " ".join(flags + [cmd])
    if which == "SHELL":
        return kw + s + rng.choice(['["/bin/bash", "-o", "pipefail", "-c"]', '["/bin/sh", "-c"]',
                                    '["bash","-euxo","pipefail","-c"]'])
    if which in ("CMD", "ENTRYPOINT"):
        return kw + s + rng.choice([
            '["python", "app.py"]', '["node", "index.js"]', '["/bin/server"]', "python -m app",
            "exec gunicorn app:app --bind 0.0.0.0:${PORT:-8000}", '["nginx", "-g", "daemon off;"]',
            "[\"java\", \"-jar\", \"/app/app.jar\"]", "[not, json]", '["Rscript", "run.R"]',
            '[ "sh", "-c", "echo $HOME" ]', "[]", "./entrypoint.sh"])
    raise AssertionError(which)


def i_onbuild(ctx: Ctx) -> str:
    rng = ctx.rng
    kw = ctx.kw("ONBUILD")
    r = rng.random()
    if r < 0.25:
        inner = heredoc_instruction(ctx, ctx.kw("RUN"), [])
    elif r < 0.5:
        inner = ctx.kw("COPY") + " . " + rng.choice(PATHS)
    elif r < 0.65:
        inner = ctx.kw("RUN") + " " + " ".join(_shell_parts(ctx, 2))
    elif r < 0.75:
        inner = ctx.kw("RUN") + " " + _mount(ctx) + " make"
    elif r < 0.85:
        inner = ctx.kw("ENV") + " ONBUILT=1"
    elif r < 0.92:
        inner = ctx.kw("CMD") + ' ["run"]'
    else:
        inner = ctx.kw("ADD") + " app.tar.gz /opt/"
    return kw + _sep(rng) + inner


def i_comment(ctx: Ctx) -> str:
    return ctx.rng.choice(["", " ", "  ", "\t"]) + ctx.rng.choice(COMMENTS)


# --------------------------------------------------------------------------- whole files

def directives(ctx: Ctx) -> list[str]:
    rng = ctx.rng
    out = []
    if rng.random() < 0.3:
        out.append(rng.choice(["# syntax=docker/dockerfile:1", "#syntax=docker/dockerfile:1.7",
                               "# syntax = docker/dockerfile:1.4", "# SYNTAX=docker/dockerfile:1",
                               "#  syntax=docker/dockerfile:1.7-labs  "]))
    if ctx.escape == "`":
        out.append(rng.choice(["# escape=`", "#escape=`", "# ESCAPE = `", "# escape=`  "]))
    elif rng.random() < 0.1:
        out.append(rng.choice(["# escape=\\", "#escape=\\"]))
    if rng.random() < 0.1:
        # `check` last: BuildKit < 0.14 does not know it (ends directive scanning there)
        out.append(rng.choice(["# check=skip=JSONArgsRecommended", "# check=error=true"]))
    return out


def windows_file(rng: random.Random) -> list[str]:
    ctx = Ctx(rng, escape="`")
    ctx.windows = True
    lines = directives(ctx)
    lines.append(i_from(ctx, None))
    lines.append(ctx.kw("SHELL") + ' ["powershell", "-Command", "$ErrorActionPreference = \'Stop\';"]')
    lines.append(ctx.kw("COPY") + " testfile.txt c:\\")
    lines.append(ctx.kw("WORKDIR") + " c:\\app")
    lines.append(ctx.kw("RUN") + " dir c:\\ `\n    ; Write-Host done")
    lines.append(ctx.kw("RUN") + " New-Item -ItemType Directory -Path C:\\data `\n  `\n    -Force")
    lines.append(ctx.kw("ENV") + " APP_PATH=C:\\app\\bin FOO=bar` baz")
    lines.append(ctx.kw("RUN") + " echo `\n# comment in continuation\n\n    still-running")
    lines.append(ctx.kw("RUN") + " echo trailing-backslash-is-literal \\")
    if rng.random() < 0.5:
        lines.append(ctx.kw("RUN") + " <<EOF\nWrite-Host from heredoc `\nEOF")
    lines.append(ctx.kw("CMD") + ' ["powershell.exe", "-File", "C:\\\\app\\\\run.ps1"]')
    return lines


def stage_body(ctx: Ctx, length: int) -> list[str]:
    rng = ctx.rng
    out = []
    weights = [("run", 30), ("copy", 18), ("add", 4), ("env", 9), ("label", 4), ("arg", 6),
               ("simple", 18), ("onbuild", 3), ("comment", 8), ("blank", 8)]
    pool = [k for k, w in weights for _ in range(w)]
    for _ in range(length):
        k = rng.choice(pool)
        if k == "run":
            out.append(i_run(ctx))
        elif k == "copy":
            out.append(i_copy(ctx))
        elif k == "add":
            out.append(i_copy(ctx, add=True))
        elif k == "env":
            out.append(i_env(ctx))
        elif k == "label":
            out.append(i_env(ctx, label=True))
        elif k == "arg":
            out.append(i_arg(ctx))
        elif k == "simple":
            out.append(i_simple(ctx))
        elif k == "onbuild":
            out.append(i_onbuild(ctx))
        elif k == "comment":
            out.append(i_comment(ctx))
        else:
            out.append(rng.choice(["", "", "   ", "\t"]))
    return out


def random_file(rng: random.Random) -> list[str]:
    ctx = Ctx(rng)
    lines: list[str] = []
    lines += directives(ctx)
    if lines and rng.random() < 0.3:
        lines.append(rng.choice(["", "# a normal comment ends the directives"]))
    if rng.random() < 0.1:
        lines.append("")
        lines.append(rng.choice(["# syntax=docker/dockerfile:1", "# escape=`", "#escape=\\"]))
    for _ in range(rng.choice([0, 0, 1, 2])):
        lines.append(i_arg(ctx))
    n_stages = rng.choice([1, 1, 1, 2, 2, 3, 4])
    for si in range(n_stages):
        name = None
        if si < n_stages - 1 or rng.random() < 0.3:
            name = rng.choice([s for s in STAGE_NAMES if s not in ctx.stages] or ["extra"])
        lines.append(i_from(ctx, name))
        if name:
            ctx.stages.append(name.lower())
        lines += stage_body(ctx, rng.randint(2, 14))
    return lines


def focused_files() -> list[tuple[str, str]]:
    """Hand-picked shapes every run includes (edge cases that must be in the corpus)."""
    return [
        ("heredoc-next-instruction", "FROM alpine\nRUN <<EOF\necho hi\nEOF\nRUN echo after\n"),
        ("heredoc-chomp-tabs", "FROM alpine\nRUN <<-EOF\n\techo one\n\t\techo two\n\t\tEOF\nCMD [\"sh\"]\n"),
        ("heredoc-quoted", "FROM alpine\nRUN <<'EOF'\necho $HOME\nEOF\nRUN <<\"EOT\" bash\necho $PATH\nEOT\n"),
        ("heredoc-multi", "FROM alpine\nCOPY <<a.txt <<b.txt /dst/\nAAA\na.txt\nBBB\nb.txt\n"),
        ("heredoc-fd", "FROM alpine\nRUN 3<<EOF cat /dev/fd/3\nthree\nEOF\n"),
        ("heredoc-onbuild", "FROM alpine\nONBUILD RUN <<EOF\necho onbuild\nEOF\nONBUILD COPY <<x /x\nX\nx\n"),
        ("heredoc-add", "FROM alpine\nADD <<EOF /etc/motd\nwelcome\nEOF\n"),
        ("heredoc-crlf", "FROM alpine\r\nRUN <<EOF\r\necho crlf\r\nEOF\r\nRUN echo next\r\n"),
        ("heredoc-empty-body", "FROM alpine\nRUN <<EOF\nEOF\n"),
        ("heredoc-at-eof-no-newline", "FROM alpine\nRUN <<EOF\necho x\nEOF"),
        ("heredoc-in-continuation", "FROM alpine\nRUN cat \\\n  <<EOF\nhello\nEOF\n"),
        ("json-heredoc-word", "FROM alpine\nRUN [\"cat\", \"<<EOF\"]\nRUN echo after\n"),
        ("heredoc-in-quotes-not-heredoc", "FROM alpine\nRUN echo \"<<EOF\" && echo '<<EOT'\n"),
        ("escaped-escape-eol", "FROM alpine\nRUN echo \\\\\nRUN echo next\n"),
        ("backslash-alone", "FROM alpine\nRUN echo a \\\n\\\n  b\n"),
        ("continuation-at-eof", "FROM alpine\nRUN echo a \\"),
        ("continuation-at-eof-nl", "FROM alpine\nRUN echo a \\\n"),
        ("comment-in-continuation", "FROM alpine\nRUN apt-get update \\\n# comment\n    # indented\n && echo ok\n"),
        ("whitespace-continuation", "FROM alpine\nRUN a \\\n   \n\t\n  b\n"),
        ("trailing-ws-after-escape", "FROM alpine\nRUN a \\   \n  b \\\t\n  c\n"),
        ("escape-backtick", "# escape=`\nFROM alpine\nRUN echo a `\n  b\nRUN echo c:\\\n"),
        ("escape-backslash-explicit", "# escape=\\\nFROM alpine\nRUN echo a \\\n  b\n"),
        ("directive-after-blank", "\n# escape=`\nFROM alpine\nRUN echo a \\\n b\n"),
        ("directive-after-comment", "# hello\n# escape=`\nFROM alpine\nRUN echo a \\\n b\n"),
        ("directive-after-instruction", "FROM alpine\n# escape=`\nRUN echo a \\\n b\n"),
        ("unknown-directive-first", "# foo=bar\n# escape=`\nFROM alpine\nRUN echo a \\\n b\n"),
        ("directive-spacing", "#   ESCAPE   =   `   \nFROM alpine\nRUN echo a `\n b\n"),
        ("syntax-escape-check", "# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM alpine\nRUN a `\n b\n"),
        ("bom-directive", "\ufeff# escape=`\nFROM alpine\nRUN a `\n b\n"),
        ("bom-plain", "\ufeffFROM alpine\nRUN echo bom\n"),
        ("cr-cr-lf", "FROM alpine\r\r\nRUN echo a \\\r\r\n  b\r\r\n"),
        ("mixed-endings", "FROM alpine\r\nRUN echo a \\\n  b\r\nCMD [\"sh\"]\n"),
        ("no-final-newline", "FROM alpine\nCMD [\"sh\"]"),
        ("only-from", "FROM scratch\n"),
        ("arg-before-from", "ARG BASE=alpine:3.20\nARG TAG\nFROM ${BASE}\nARG TAG\nRUN echo $TAG\n"),
        ("env-forms", "FROM alpine\nENV A 1\nENV B=2 C=\"three four\" D=five\\ six\nENV E=\nENV F ${A:-x} y\n"),
        ("label-forms", "FROM alpine\nLABEL a b c\nLABEL \"k v\"=\"v w\" x=y\nLABEL multi=\"one \\\n two\"\n"),
        ("json-forms", "FROM alpine\nCMD [\"a\", \"b\"]\nCMD [a, b]\nCMD []\nENTRYPOINT [ \"x\" ]\n"
                       "VOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\nRUN [\"echo\",\"\\u0041\\n\"]\n"),
        ("healthcheck", "FROM alpine\nHEALTHCHECK --interval=5m --timeout=3s --retries=3 \\\n"
                        "  CMD curl -f http://localhost/ || exit 1\nHEALTHCHECK NONE\n"),
        ("keywords-case", "from alpine AS Build\nrun echo\nRun echo\nrUN echo\ncopy --from=build a b\n"),
        ("flags-quoted", "FROM alpine\nCOPY --chown=\"1000:1000\" a /b\nRUN --mount=type=cache,target=\"/root/.cache\" echo\n"),
        ("expansions", "FROM ${BASE:-alpine}\nARG V=1\nENV P=${V:-0} Q=${V:+set} R=${V:?err}\n"
                       "WORKDIR ${HOME:-/root}\nRUN echo ${V#x} ${V%y} $${NOT}\n"),
        ("mount-all", "FROM alpine AS build\nFROM alpine\n"
                      "RUN --mount=type=cache,target=/c,id=c,sharing=locked,uid=1,gid=1,mode=0700 \\\n"
                      "    --mount=type=bind,from=build,source=/x,target=/y,rw \\\n"
                      "    --mount=type=secret,id=s,target=/s,required \\\n"
                      "    --mount=type=ssh,id=default,required=true \\\n"
                      "    --mount=type=tmpfs,target=/t \\\n"
                      "    --network=none --security=insecure echo ok\n"),
        ("copy-add-flags", "FROM alpine AS b\nFROM alpine\n"
                           "COPY --from=b --chown=1:1 --chmod=755 --link --parents --exclude=*.md --exclude=.git a b /dst/\n"
                           "ADD --checksum=sha256:" + "ab" * 32 + " --chown=1 --chmod=644 --link=false --exclude=x "
                           "https://example.com/a.tgz /a\n"
                           "ADD --keep-git-dir=true https://github.com/moby/buildkit.git /bk\n"),
        ("platform", "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=linux/arm64 alpine\n"),
        ("tabs-and-spaces", "\tFROM\talpine\n  RUN \t echo  spaced\n\tCMD\t[\"sh\"]\n"),
        ("indented-comment-directive", "  # escape=`\nFROM alpine\nRUN a `\n b\n"),
        ("comments-everywhere", "# top\nFROM alpine\n# mid\nRUN echo # also not a comment\n#\n"),
        ("empty-lines-only-between", "\n\n\nFROM alpine\n\n\n\nRUN x\n\n"),
        ("onbuild-variants", "FROM alpine\nONBUILD RUN --mount=type=cache,target=/x make\nONBUILD ENV A=1 B=2\n"
                             "ONBUILD CMD [\"x\"]\nonbuild copy . /app\n"),
        ("long-continuation", "FROM alpine\nRUN " + " \\\n ".join(f"echo {i} &&" for i in range(200)) + " true\n"),
        ("unicode", "FROM alpine\nLABEL description=\"caf\u00e9 \u2603 \u65e5\u672c\"\nRUN echo \u00e9t\u00e9\n"),
        ("shell-instr", "FROM alpine\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN echo x | cat\n"),
        ("arg-multi", "FROM alpine\nARG A B=2 C=\"3 3\"\n"),
        ("stopsignal-user-workdir", "FROM alpine\nSTOPSIGNAL SIGKILL\nUSER 1000:1000\nWORKDIR /a/b\nEXPOSE 80/tcp 53/udp\n"),
    ]


def _endings(rng: random.Random, text: str) -> str:
    """Re-terminate lines: LF, CRLF, mixed, a few CR-CR-LF; maybe drop the final newline."""
    r = rng.random()
    if r < 0.72:
        style = "lf"
    elif r < 0.86:
        style = "crlf"
    elif r < 0.97:
        style = "mixed"
    else:
        style = "crcrlf"
    lines = text.split("\n")
    out = []
    for i, ln in enumerate(lines):
        if i == len(lines) - 1:
            out.append(ln)
            break
        if style == "lf":
            e = "\n"
        elif style == "crlf":
            e = "\r\n"
        elif style == "crcrlf":
            e = "\r\r\n"
        else:
            e = rng.choice(["\n", "\r\n"])
        out.append(ln + e)
    return "".join(out)


def _finish(rng: random.Random, lines: list[str]) -> bytes:
    text = "\n".join(lines)
    if rng.random() < 0.9:
        text += "\n"
    if rng.random() < 0.05:
        text += rng.choice(["\n", "\n\n", "# trailing comment\n", "   \n"])
    text = _endings(rng, text)
    data = text.encode("utf-8")
    if rng.random() < 0.06:
        data = b"\xef\xbb\xbf" + data
    return data


def generate(count: int = DEFAULT_COUNT, seed: int = SEED) -> list[tuple[str, bytes]]:
    """``count`` random files plus the focused shapes, as (name, bytes), deterministic."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = [(f"focus-{name}", text.encode("utf-8")) for name, text in focused_files()]
    for i in range(count):
        if i % 25 == 7:
            lines = windows_file(rng)
        else:
            lines = random_file(rng)
        out.append((f"gen-{i:04d}", _finish(rng, lines)))
    return out


REALWORLD_DIR = Path(__file__).resolve().parent / "realworld"


def realworld() -> list[tuple[str, bytes]]:
    """The hand-written real-world shapes in tests/corpus/realworld/, as (name, bytes)."""
    return [(f"realworld-{p.stem}", p.read_bytes()) for p in sorted(REALWORLD_DIR.glob("*.Dockerfile"))]


def corpus(count: int = DEFAULT_COUNT, seed: int = SEED) -> list[tuple[str, bytes]]:
    """The whole agreement corpus: generated files plus the real-world ones."""
    return generate(count, seed) + realworld()


# --------------------------------------------------------------------------- benchmark inputs

def typical(count: int, seed: int = SEED + 1) -> list[bytes]:
    """Plain, realistic files of 20-60 physical lines (single or multi-stage, LF).

    Heredocs are rarer than in the test corpus (about one instruction in 60, as in
    Dockerfiles found in the wild), the rest of the mix is the same.
    """
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        ctx = Ctx(rng)
        ctx.heredoc_share = 0.1
        lines: list[str] = []
        if rng.random() < 0.3:
            lines.append("# syntax=docker/dockerfile:1")
        n_stages = rng.choice([1, 1, 2, 2, 3])
        for si in range(n_stages):
            name = STAGE_NAMES[si] if si < n_stages - 1 else None
            lines.append(i_from(ctx, name))
            if name:
                ctx.stages.append(name)
            lines += stage_body(ctx, rng.randint(4, 14))
        text = "\n".join(lines) + "\n"
        n = text.count("\n")
        if 20 <= n <= 60:
            out.append(text.encode())
    return out


def big_file(lines: int, seed: int = SEED + 2) -> bytes:
    """One Dockerfile of about ``lines`` physical lines (many stages, all instruction kinds)."""
    rng = random.Random(seed)
    ctx = Ctx(rng)
    out = ["# syntax=docker/dockerfile:1", "FROM alpine AS s0"]
    ctx.stages.append("s0")
    count = 2
    si = 0
    while count < lines:
        if rng.random() < 0.02:
            si += 1
            out.append(i_from(ctx, f"s{si}"))
            ctx.stages.append(f"s{si}")
        else:
            out.append(rng.choice([i_run, i_copy, i_env, i_simple, i_arg, i_comment])(ctx))
        count += out[-1].count("\n") + 1
    return ("\n".join(out) + "\n").encode()


# --------------------------------------------------------------------------- CLI

KNOWN = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
         "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
# flag name -> kind ("s" string, "b" bool, "m" repeatable string), as BuildKit's instructions layer
FLAGS = {
    "FROM": {"platform": "s"},
    "RUN": {"mount": "m", "network": "s", "security": "s"},
    "COPY": {"chown": "s", "from": "s", "chmod": "s", "link": "b", "parents": "b", "exclude": "m"},
    "ADD": {"chown": "s", "chmod": "s", "link": "b", "keep-git-dir": "b", "checksum": "s", "exclude": "m",
            "unpack": "b"},
    "HEALTHCHECK": {"interval": "s", "timeout": "s", "start-period": "s", "start-interval": "s", "retries": "s"},
}


def instruction_problems(cmds) -> list[str]:
    """A rough model of BuildKit's instruction layer over the oracle's parse result.

    Catches what would make a generated file invalid beyond the parser (unknown
    instruction or flag, no FROM first, bad FROM, missing arguments, ...).
    """
    import re

    probs = []
    seen_from = False
    for c in cmds:
        kw = c.cmd.upper()
        where = f"line {c.start_line} {kw}"
        if kw not in KNOWN:
            probs.append(f"{where}: unknown instruction")
            continue
        if kw == "FROM":
            seen_from = True
            if not (len(c.value) == 1 or (len(c.value) == 3 and c.value[1].lower() == "as")):
                probs.append(f"{where}: FROM needs one or three arguments")
            elif len(c.value) == 3 and not re.match(r"^[a-z][a-z0-9-_.]*$", c.value[2].lower()):
                probs.append(f"{where}: bad stage name")
        elif kw != "ARG" and not seen_from:
            probs.append(f"{where}: instruction before the first FROM")
        if kw == "HEALTHCHECK" and c.value and c.value[0].upper() == "NONE":
            continue
        allowed = FLAGS.get(kw, {})
        used: set[str] = set()
        for f in c.flags:
            if f == "--":
                break
            name, eq, _val = f[2:].partition("=")
            kind = allowed.get(name)
            if kind is None:
                probs.append(f"{where}: unknown flag {name}")
            elif kind == "s" and not eq:
                probs.append(f"{where}: flag {name} needs a value")
            elif kind == "b" and eq and _val.lower() not in ("true", "false"):
                probs.append(f"{where}: flag {name} needs a boolean")
            elif kind != "m" and name in used:
                probs.append(f"{where}: duplicate flag {name}")
            used.add(name)
        v = list(c.value)
        if kw in ("COPY", "ADD") and len(v) < 2:
            probs.append(f"{where}: needs a source and a destination")
        if kw in ("ENV", "LABEL", "ARG", "EXPOSE", "VOLUME", "SHELL", "ONBUILD", "HEALTHCHECK") and not v:
            probs.append(f"{where}: needs an argument")
        if kw == "ONBUILD" and (c.sub_cmd or "").upper() in ("ONBUILD", "FROM", "MAINTAINER"):
            probs.append(f"{where}: trigger not allowed")
        if kw == "ONBUILD" and (c.sub_cmd or "").upper() not in KNOWN:
            probs.append(f"{where}: unknown trigger instruction")
        if kw == "SHELL" and not c.json:
            probs.append(f"{where}: SHELL must be JSON")
        if kw == "HEALTHCHECK" and v and v[0].upper() != "CMD":
            probs.append(f"{where}: HEALTHCHECK type")
    if not seen_from:
        probs.append("no FROM")
    return probs


def oracle_check(files: list[tuple[str, bytes]]) -> int:
    import tempfile

    import dockerfile  # the PyPI package wrapping BuildKit's parser

    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files:
            p = Path(tmp) / name
            p.write_bytes(data)
            try:
                cmds = dockerfile.parse_file(str(p))
            except dockerfile.GoParseError as e:
                bad += 1
                print(f"{name}: oracle rejects: {e}", file=sys.stderr)
                continue
            probs = instruction_problems(cmds)
            if probs:
                bad += 1
                print(f"{name}: instruction layer would reject: {probs}", file=sys.stderr)
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="write the corpus as DIR/<name>.Dockerfile")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check", action="store_true", help="parse every file with the oracle")
    a = ap.parse_args(argv)
    files = corpus(a.count, a.seed)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            (a.out / f"{name}.Dockerfile").write_bytes(data)
        print(f"wrote {len(files)} files to {a.out}")
    if a.check:
        bad = oracle_check(files)
        print(f"{len(files) - bad}/{len(files)} accepted by the oracle")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
