"""``decruft ci-cache``: ready-to-use layer-cache snippets for GitHub Actions, GitLab CI, AWS CodeBuild.

A hosted CI runner starts with an empty Docker cache, so every build is a cold build unless
the cache travels with the image. Three ways, by ``backend``:

``registry`` (default)
    ``docker buildx build --cache-from type=registry,ref=<cache> --cache-to
    type=registry,ref=<cache>,mode=max``: BuildKit exports the result of every step of every
    stage (``mode=max``: what lets a multi-stage build skip its builder stages; ``mode=min``
    would export only the final image's layers) to a separate cache tag in the registry the
    image goes to (GHCR, the GitLab registry, ECR), and the next build imports it. Needs a
    buildx builder that can export caches (``docker-container`` driver: the default ``docker``
    driver cannot). For ECR the cache must be written as an image manifest with OCI media
    types (``image-manifest=true,oci-mediatypes=true``).
``inline``
    ``docker build --build-arg BUILDKIT_INLINE_CACHE=1`` writes cache metadata into the image
    itself and ``--cache-from <image>`` reads it: no buildx needed (works with the BuildKit
    built into Docker 18.09-22 too), but only the final stage's layers are cached (min mode).
``provider``
    the CI's own cache: GitHub Actions' cache service (``type=gha``); on GitLab a local cache
    directory (``type=local``) kept by GitLab's ``cache:``; on CodeBuild the project's
    ``LOCAL_DOCKER_LAYER_CACHE`` mode (privileged mode, cache kept on the build host only,
    best effort: a build on another host starts cold).

Every snippet is YAML (comments included) and its docker command lines come from
`build_lines`; the tests parse the YAML and run the command lines against a local registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

PROVIDERS = ("github", "gitlab", "codebuild")
BACKENDS = ("registry", "inline", "provider")


@dataclass(frozen=True)
class SnippetOptions:
    provider: str
    backend: str = "registry"
    dockerfile: str = "Dockerfile"
    context: str = "."
    image: str | None = None  # default: the provider's registry image variable


def _q(text: str) -> str:
    """Quote for the shell, but leave ``$VARIABLES`` expandable (double quotes)."""
    if all(c.isalnum() or c in "._-/:=,@" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_lines(backend: str, *, dockerfile: str = "Dockerfile", context: str = ".", ecr: bool = False,
                cache_dir: str = ".buildx-cache") -> list[str]:
    """The shell lines that build and publish ``$IMAGE:$TAG`` with the layer cache of ``backend``.

    They use the shell variables ``IMAGE`` (repository, no tag), ``TAG`` and, for the registry
    backend, ``CACHE_REF`` (the cache's own tag, e.g. ``$IMAGE:buildcache``).
    """
    file_args = f"--file {_q(dockerfile)} {_q(context)}"
    if backend == "registry":
        extra = ",image-manifest=true,oci-mediatypes=true" if ecr else ""
        return [
            "docker buildx build "
            '--cache-from type=registry,ref="$CACHE_REF" '
            f'--cache-to type=registry,ref="$CACHE_REF",mode=max{extra} '
            '--tag "$IMAGE:$TAG" --push ' + file_args,
        ]
    if backend == "inline":
        return [
            "DOCKER_BUILDKIT=1 docker build "
            '--cache-from "$IMAGE:latest" --build-arg BUILDKIT_INLINE_CACHE=1 '
            '--tag "$IMAGE:$TAG" --tag "$IMAGE:latest" ' + file_args,
            'docker push "$IMAGE:$TAG"',
            'docker push "$IMAGE:latest"',
        ]
    if backend == "gha":
        return [
            "docker buildx build --cache-from type=gha --cache-to type=gha,mode=max "
            '--tag "$IMAGE:$TAG" --push ' + file_args,
        ]
    if backend == "local":
        return [
            "docker buildx build "
            f"--cache-from type=local,src={cache_dir} "
            f"--cache-to type=local,dest={cache_dir}-new,mode=max "
            '--tag "$IMAGE:$TAG" --push ' + file_args,
            # BuildKit only adds to a local cache directory: swap in the new one so it stays small.
            f"rm -rf {cache_dir} && mv {cache_dir}-new {cache_dir}",
        ]
    if backend == "docker-layer-cache":
        return [
            'DOCKER_BUILDKIT=1 docker build --tag "$IMAGE:$TAG" ' + file_args,
            'docker push "$IMAGE:$TAG"',
        ]
    raise ValueError(f"unknown backend {backend!r}")


def _indent(lines: list[str], spaces: int, item: bool = True) -> str:
    pad = " " * spaces
    prefix = "- " if item else ""
    return "\n".join(f"{pad}{prefix}{_yaml_scalar(line)}" for line in lines)


def _yaml_scalar(line: str) -> str:
    """A shell line as a YAML plain scalar when safe, else single-quoted."""
    risky = line[:1] in "!&*[]{}|>@`'\"%#,?:-" or ": " in line or " #" in line or line.endswith(":")
    return "'" + line.replace("'", "''") + "'" if risky else line


# ---------------------------------------------------------------------------------- GitHub
def github(options: SnippetOptions) -> str:
    image = options.image or "ghcr.io/${{ github.repository }}"
    head = f"""# .github/workflows/docker.yml -- build and push with a BuildKit layer cache ({options.backend}).
# Hosted runners start with an empty Docker cache; the cache below travels between runs.
name: docker
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
  packages: write
jobs:
  image:
    runs-on: ubuntu-latest
    env:
      IMAGE: {image}
      TAG: ${{{{ github.sha }}}}
      CACHE_REF: {image}:buildcache
    steps:
      - uses: actions/checkout@v4
"""
    if options.backend == "inline":
        login = """      - name: log in to the registry
        run: echo "${{ secrets.GITHUB_TOKEN }}" | docker login ghcr.io -u "${{ github.actor }}" --password-stdin
"""
        return head + login + f"""      # Inline cache: the image carries its own cache metadata (final stage only, mode=min).
      - name: build and push
        run: |
{_block(build_lines("inline", dockerfile=options.dockerfile, context=options.context), 10)}
"""
    backend = "gha" if options.backend == "provider" else "registry"
    note = ("# GitHub's cache service (type=gha, 10 GB per repository, evicted when full); mode=max\n"
            "      # caches every stage." if backend == "gha" else
            "# Registry cache next to the image (mode=max: every step of every stage, so the\n"
            "      # builder stages of a multi-stage build are cached too).")
    gha_env = ""
    if backend == "gha":
        gha_env = """      - name: expose the cache service to buildx
        uses: crazy-max/ghaction-github-runtime@v3
"""
    return head + f"""      # The default "docker" builder cannot export caches: a docker-container builder can.
      - uses: docker/setup-buildx-action@v3
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ secrets.GITHUB_TOKEN }}}}
{gha_env}      {note}
      - name: build and push
        run: |
{_block(build_lines(backend, dockerfile=options.dockerfile, context=options.context), 10)}
"""


def _block(lines: list[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in lines)


# ---------------------------------------------------------------------------------- GitLab
def gitlab(options: SnippetOptions) -> str:
    image = options.image or "$CI_REGISTRY_IMAGE"
    head = f"""# .gitlab-ci.yml -- build and push with a BuildKit layer cache ({options.backend}).
# Shared runners start every job with an empty Docker cache; the cache below travels between jobs.
build-image:
  image: docker:27
  services:
    - docker:27-dind
  variables:
    DOCKER_TLS_CERTDIR: /certs
    IMAGE: {image}
    TAG: $CI_COMMIT_SHORT_SHA
    CACHE_REF: {image}:buildcache
"""
    login = '    - echo "$CI_REGISTRY_PASSWORD" | docker login "$CI_REGISTRY" -u "$CI_REGISTRY_USER" --password-stdin'
    builder = "    # The default \"docker\" builder cannot export caches: a docker-container builder can.\n" \
              "    - docker buildx create --use --driver docker-container"
    if options.backend == "inline":
        return head + f"""  before_script:
{login}
  script:
    # Inline cache: the image carries its own cache metadata (final stage only, mode=min).
{_indent(build_lines("inline", dockerfile=options.dockerfile, context=options.context), 4)}
"""
    if options.backend == "provider":
        return head + f"""  # GitLab's cache keeps .buildx-cache per branch (the runner uploads it as an archive:
  # slower than a registry cache for big images, but needs no registry space).
  cache:
    key: buildx-$CI_COMMIT_REF_SLUG
    paths:
      - .buildx-cache
  before_script:
{login}
{builder}
  script:
{_indent(build_lines("local", dockerfile=options.dockerfile, context=options.context), 4)}
"""
    return head + f"""  before_script:
{login}
{builder}
  script:
    # Registry cache next to the image (mode=max: every step of every stage).
{_indent(build_lines("registry", dockerfile=options.dockerfile, context=options.context), 4)}
"""


# ---------------------------------------------------------------------------------- CodeBuild
_DLC_LIMITS = """# LOCAL_DOCKER_LAYER_CACHE (the CodeBuild project's cache mode, not the buildspec) keeps
# Docker's layers on the build host. Its limits: the project needs privileged mode; the cache
# lives on one host and is best effort (a build that lands on another host, or after the cache
# expired, starts cold); nothing is shared between projects. A registry cache in ECR has none
# of these limits, and AWS recommends it for BuildKit."""


def codebuild(options: SnippetOptions) -> str:
    image = options.image or "$AWS_ACCOUNT_ID.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com/$IMAGE_REPO_NAME"
    login = ('aws ecr get-login-password --region "$AWS_DEFAULT_REGION" | docker login --username AWS '
             '--password-stdin "$AWS_ACCOUNT_ID.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com"')
    # CodeBuild does not expand variables inside env.variables: the image name is put together
    # in the shell (buildspec 0.2 runs all commands of a build in one shell, so it persists).
    head = f"""# buildspec.yml -- build and push with a BuildKit layer cache ({options.backend}).
# CodeBuild's default is NO_CACHE: every build starts with an empty Docker cache.
version: 0.2
env:
  variables:
    IMAGE_REPO_NAME: my-app
phases:
  pre_build:
    commands:
      - IMAGE={image}
      - CACHE_REF=$IMAGE:buildcache
      - TAG=$CODEBUILD_RESOLVED_SOURCE_VERSION
      - {_yaml_scalar(login)}
"""
    if options.backend == "provider":
        lines = build_lines("docker-layer-cache", dockerfile=options.dockerfile, context=options.context)
        return head + f"""  build:
    commands:
{_indent(lines, 6)}
---
{_DLC_LIMITS}
# CloudFormation (AWS::CodeBuild::Project), the two settings it needs:
Environment:
  PrivilegedMode: true
Cache:
  Type: LOCAL
  Modes:
    - LOCAL_DOCKER_LAYER_CACHE
"""
    if options.backend == "inline":
        lines = build_lines("inline", dockerfile=options.dockerfile, context=options.context)
        comment = "      # Inline cache: the image carries its own cache metadata (final stage only, mode=min)."
    else:
        lines = ["docker buildx create --use --driver docker-container",
                 *build_lines("registry", dockerfile=options.dockerfile, context=options.context, ecr=True)]
        comment = ("      # ECR registry cache (mode=max: every step of every stage), written as an image\n"
                   "      # manifest with OCI media types, which ECR requires for caches.")
    return head + f"""  build:
    commands:
{comment}
{_indent(lines, 6)}
# The alternative, `decruft ci-cache --provider codebuild --backend provider`:
{_DLC_LIMITS}
"""


def snippet(options: SnippetOptions) -> str:
    if options.provider not in PROVIDERS:
        raise ValueError(f"unknown provider {options.provider!r}")
    if options.backend not in BACKENDS:
        raise ValueError(f"unknown backend {options.backend!r}")
    return {"github": github, "gitlab": gitlab, "codebuild": codebuild}[options.provider](options)


@click.command("ci-cache")
@click.option("--provider", type=click.Choice(PROVIDERS), required=True, help="The CI service.")
@click.option("--backend", type=click.Choice(BACKENDS), default="registry", show_default=True,
              help="registry: buildx registry cache, mode=max; inline: cache metadata in the image "
                   "(no buildx); provider: the CI's own cache (GitHub cache service, GitLab cache:, "
                   "CodeBuild LOCAL_DOCKER_LAYER_CACHE).")
@click.option("--file", "dockerfile", default="Dockerfile", show_default=True, help="Dockerfile path in the repository.")
@click.option("--context", default=".", show_default=True, help="Build context in the repository.")
@click.option("--image", default=None, help="Image repository (default: the provider's registry variable).")
def ci_cache_command(provider: str, backend: str, dockerfile: str, context: str, image: str | None) -> None:
    """Print a CI configuration snippet that keeps the Docker layer cache between builds."""
    click.echo(snippet(SnippetOptions(provider, backend, dockerfile, context, image)), nl=False)
