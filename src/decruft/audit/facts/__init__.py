"""Facts several rules share about a Dockerfile: what a RUN body installs, writes, removes
or caches, and the edits their fixes make.

One module per subject (imported here, so rules write ``from decruft.audit.facts import ...``):

- ``commands``: apt commands, rm targets, a RUN's environment and inline variables, stakes
- ``tools``: package-manager calls (``ToolCall``: tool, verb, options)
- ``caches``: where package caches live, whether a RUN removes or mounts them, USER and HOME
- ``edits``: span edits shared by the fixes
- ``layers``: paths COPY/ADD/RUN write and remove, bytes taken from the build context
- ``dependencies``: dependency installs and their manifests (DC130's cache-order facts)
- ``images``: image references and base-image families
"""

from __future__ import annotations

from decruft.audit.facts.commands import (
    APT_TOOLS,
    YUM_TOOLS,
    apt_commands,
    env_value,
    pattern_covers,
    removes,
    rm_targets,
    run_env,
    run_variable,
    stake,
    truthy,
)
from decruft.audit.facts.tools import (
    HOME_ALIASES,
    ToolCall,
    argv_words,
    classify,
    tool_calls,
    wrapper_prefix,
)
from decruft.audit.facts.caches import (
    base_repository,
    cache_dirs,
    cache_mount_specs,
    canonical_home_path,
    display_path,
    expand_variables,
    mounts_cache,
    removes_cache,
    user_at,
)
from decruft.audit.facts.edits import (
    append_to_run,
    insert_after_word,
    insert_run_flags,
    remove_word,
)
from decruft.audit.facts.layers import (
    LazyVariables,
    SHARED_DIRS,
    Written,
    absolute,
    commands_with_cwd,
    context_bytes,
    copied_bytes,
    copy_destination,
    copy_sources,
    copy_writes,
    expand_simple,
    glob_covers,
    is_git_source,
    is_tar_archive,
    is_url,
    overlaps,
    removed_paths,
    run_writes,
    short_option_value,
    stage_chain_instructions,
    workdir_at,
)
from decruft.audit.facts.dependencies import (
    DependencyInstall,
    GRADLE_MANIFESTS,
    NODE_MANIFESTS,
    PYTHON_PROJECT,
    SMALL_BYTES,
    dependency_install,
    likely_small_file,
    package_install,
)
from decruft.audit.facts.images import (
    ImageReference,
    image_family,
    parse_image_reference,
    tag_is_slim,
)

__all__ = [
    "APT_TOOLS",
    "DependencyInstall",
    "GRADLE_MANIFESTS",
    "HOME_ALIASES",
    "ImageReference",
    "LazyVariables",
    "NODE_MANIFESTS",
    "PYTHON_PROJECT",
    "SHARED_DIRS",
    "SMALL_BYTES",
    "ToolCall",
    "Written",
    "YUM_TOOLS",
    "absolute",
    "append_to_run",
    "apt_commands",
    "argv_words",
    "base_repository",
    "cache_dirs",
    "cache_mount_specs",
    "canonical_home_path",
    "classify",
    "commands_with_cwd",
    "context_bytes",
    "copied_bytes",
    "copy_destination",
    "copy_sources",
    "copy_writes",
    "dependency_install",
    "display_path",
    "env_value",
    "expand_simple",
    "expand_variables",
    "glob_covers",
    "image_family",
    "insert_after_word",
    "insert_run_flags",
    "is_git_source",
    "is_tar_archive",
    "is_url",
    "likely_small_file",
    "mounts_cache",
    "overlaps",
    "package_install",
    "parse_image_reference",
    "pattern_covers",
    "remove_word",
    "removed_paths",
    "removes",
    "removes_cache",
    "rm_targets",
    "run_env",
    "run_variable",
    "run_writes",
    "short_option_value",
    "stage_chain_instructions",
    "stake",
    "tag_is_slim",
    "tool_calls",
    "truthy",
    "user_at",
    "workdir_at",
    "wrapper_prefix",
]
