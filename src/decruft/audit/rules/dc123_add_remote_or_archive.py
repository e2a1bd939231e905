"""DC123: ``ADD <url>`` and ``ADD`` of local files where its magic is a surprise or a waste."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    absolute,
    copy_destination,
    copy_sources,
    is_git_source,
    is_tar_archive,
    is_url,
    removed_paths,
    stage_chain_instructions,
    workdir_at,
)
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule

_EXTRACTORS = frozenset({"tar", "unzip", "gunzip", "bunzip2", "unxz", "xz", "zstd", "7z", "bsdtar"})


@rule(
    code="DC123",
    name="add-remote-or-archive",
    severity=Severity.WARNING,
    summary="ADD of a URL, or ADD whose implicit extraction (or lack of it) surprises",
    why="""
`ADD <url>` downloads into a layer of its own.  When a later RUN extracts or deletes
the download, the archive still ships in the ADD layer (see DC120); `curl` in a RUN
that downloads, extracts and deletes in one step keeps it out.  An unpinned `ADD
<url>` also fetches whatever the server returns today; `ADD --checksum=sha256:...`
pins it (and then is fine for a file you keep as is).

`ADD local.tar.gz /dest/` silently *extracts* local tar archives: if you wanted the
file (the destination is named like the archive, or a later RUN unpacks or deletes
it), you get a directory instead.  When extraction is what you want, ADD is the
smallest way to do it (no archive left in any layer), so decruft accepts it.  A
remote archive is never extracted (unless `--unpack=true`).

For plain local files and directories ADD behaves like COPY with surprises; like
hadolint's DL3020 decruft suggests COPY (as a hint only, since an archive without
a tar suffix would still be extracted by ADD).  hadolint accepts `ADD <url>` and
local archives without comment.
""",
    bad="""
ADD https://example.com/tool-1.2.tar.gz /tmp/
RUN tar -xzf /tmp/tool-1.2.tar.gz -C /opt && rm /tmp/tool-1.2.tar.gz
""",
    good="""
RUN curl -fsSL https://example.com/tool-1.2.tar.gz | tar -xz -C /opt
""",
    fix=(
        "describes the rewrite (curl in a RUN, ADD --checksum, or COPY); for plain local files "
        "replaces ADD with COPY"
    ),
    applicability=Applicability.UNSAFE,
    hadolint=("DL3020",),
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction):
            continue
        chain = stage_chain_instructions(context, stage)
        for position, instruction in enumerate(chain):
            if instruction.keyword != "ADD" or instruction.stage_index != stage.index:
                continue
            later_runs = [ins for ins in chain[position + 1 :] if ins.keyword == "RUN" and ins.shell]
            yield from _check_add(context, instruction, later_runs)


def _check_add(context: RuleContext, instruction, later_runs):
    sources = copy_sources(context, instruction)
    dest = copy_destination(context, instruction)
    if not sources or dest is None:
        return
    cwd = workdir_at(context, instruction)
    dest_abs = absolute(dest, cwd)
    into_dir = dest.endswith("/") or dest in (".", "..") or len(sources) > 1
    remote = [source for source in sources if is_url(source) and not is_git_source(source)]
    if any(is_git_source(source) for source in sources):
        return  # ADD of a git repository: a feature with no COPY equivalent
    if remote:
        yield from _remote(context, instruction, remote[0], dest_abs, into_dir, later_runs)
        return
    archives = [source for source in sources if is_tar_archive(source)]
    if archives and instruction.flag_value("from") is None:
        if instruction.flag_value("unpack") is not None:
            return  # extraction chosen explicitly, either way
        yield from _local_archive(context, instruction, archives[0], dest, dest_abs, later_runs)
        return
    if instruction.flag_value("checksum") or instruction.flag_value("unpack"):
        return
    yield context.report(
        "DC123",
        instruction,
        "ADD of local files behaves like COPY plus surprises (tar archives are extracted); use COPY",
        severity=Severity.INFO,
        fix=Fix(
            "replace ADD with COPY (unsafe: a tar archive without a tar suffix would no "
            "longer be extracted)",
            Applicability.UNSAFE,
            [Edit(instruction.keyword_span, _same_case("COPY", instruction.keyword_raw))],
        ),
    )


def _remote(context, instruction, url, dest_abs, into_dir, later_runs):
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    path = f"{dest_abs.rstrip('/')}/{name}" if into_dir and name else dest_abs
    user = _later_use(context, path, later_runs)
    if user is not None:
        run, verb = user
        yield context.report(
            "DC123",
            instruction,
            f"ADD downloads {name or url} into its own layer and the RUN on line {run.start_line} "
            f"{verb} it: the download still ships in the ADD layer",
            stake=Stake(note="the whole download stays in the image"),
            fix=Fix(
                f"replace the ADD with `curl -fsSL {url}` in the RUN on line {run.start_line}, piping "
                "into the extractor or deleting the file in that same RUN",
                Applicability.UNSAFE,
            ),
        )
        return
    if instruction.flag_value("checksum"):
        return
    yield context.report(
        "DC123",
        instruction,
        f"ADD {url} is not pinned: the build takes whatever the server returns; "
        "add `--checksum=sha256:<digest>` (or download with curl in a RUN and verify it)",
        severity=Severity.INFO,
        fix=Fix("add --checksum=sha256:<digest of the file>", Applicability.DISPLAY),
    )


def _local_archive(context, instruction, archive, dest, dest_abs, later_runs):
    name = archive.rstrip("/").rsplit("/", 1)[-1]
    dest_name = dest.rstrip("/").rsplit("/", 1)[-1]
    named_like_file = not dest.endswith("/") and is_tar_archive(dest_name)
    kept_path = dest_abs if named_like_file else f"{dest_abs.rstrip('/')}/{name}"
    user = _later_use(context, kept_path, later_runs)
    if not named_like_file and user is None:
        return  # deliberate extraction: the smallest way to unpack a local archive
    if user is not None:
        run, verb = user
        reason = (
            f"the RUN on line {run.start_line} {verb} {kept_path}, but ADD already extracted "
            f"{name} into {dest_abs}: there is no such file"
        )
    else:
        reason = f"{dest} is named like a file, but ADD extracts {name} into a directory of that name"
    yield context.report(
        "DC123",
        instruction,
        reason,
        fix=Fix(
            "to keep the archive as a file use COPY; to extract it, keep ADD with a directory "
            "destination and drop the manual extraction (or say so with `ADD --unpack=true`)",
            Applicability.UNSAFE,
        ),
    )


def _later_use(context, path: str, later_runs) -> tuple[object, str] | None:
    """The first later RUN that extracts or deletes ``path`` (by full path or file name)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for run in later_runs:
        script = run.shell
        for command in script.commands:
            if command.name in _EXTRACTORS and any(
                arg == path or arg.rstrip("/").rsplit("/", 1)[-1] == name for arg in command.args
            ):
                return run, "extracts"
        for _command, paths in removed_paths(context, run, script):
            if path in paths:
                return run, "deletes"
    return None


def _same_case(keyword: str, written: str) -> str:
    return keyword.lower() if written.islower() else keyword
