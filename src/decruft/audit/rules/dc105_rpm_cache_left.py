"""DC105: yum / dnf / microdnf / tdnf / zypper caches left in the layer."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    append_to_run,
    cache_dirs,
    mounts_cache,
    removes_cache,
    stake,
    tool_calls,
    wrapper_prefix,
)
from decruft.audit.rule import Applicability, Fix, Severity, rule

RPM_TOOLS = ("yum", "dnf", "microdnf", "tdnf")
_RPM_FILLS = frozenset({
    "install", "update", "upgrade", "groupinstall", "group install", "group update",
    "group upgrade", "reinstall", "downgrade", "makecache", "builddep", "distro-sync",
    "localinstall", "localupdate", "module install", "module enable", "swap",
    "upgrade-minimal", "update-minimal",
})  # fmt: skip
_ZYPPER_FILLS = frozenset({"install", "update", "dist-upgrade", "patch", "refresh", "source-install"})
# Every rpm tool's cache, so `dnf install ... && rm -rf /var/cache/yum` (RHEL 8: yum is dnf) counts.
_RPM_DIRS = ("/var/cache/dnf", "/var/cache/yum", "/var/cache/tdnf", "/var/cache/libdnf5")


@rule(
    code="DC105",
    name="rpm-cache-left",
    severity=Severity.WARNING,
    summary="yum/dnf/microdnf/tdnf/zypper install without cleaning the package cache",
    why="""
yum, dnf, microdnf and tdnf keep repository metadata (and, with keepcache, the
downloaded packages) in /var/cache/{yum,dnf,tdnf}; on a RHEL or Fedora base that is
often over 100 MB.  zypper keeps its metadata in /var/cache/zypp.  Unless the same
RUN runs `<tool> clean all` (`zypper clean --all`) or deletes the cache directory
after the last install, the cache is committed with the layer; cleaning in a
later RUN saves nothing.  A cache mount on the cache directory is accepted.
hadolint's DL3032 (yum), DL3040 (dnf) and DL3036 (zypper) ask for the same clean;
this rule also covers microdnf and tdnf, requires the clean to come after the
install, and accepts a removal of the cache directory or a cache mount.
""",
    bad="""
RUN dnf install -y httpd
""",
    good="""
RUN dnf install -y httpd && dnf clean all
""",
    fix="append `<tool> clean all` (`zypper clean --all`) to the RUN",
    applicability=Applicability.SAFE,
    hadolint=("DL3032", "DL3040", "DL3036"),
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        calls = tool_calls(script, *RPM_TOOLS, "zypper")
        if not calls:
            continue
        rpm = [call for call in calls if call.tool != "zypper" and call.verb in _RPM_FILLS]
        zypper = [call for call in calls if call.tool == "zypper" and call.verb in _ZYPPER_FILLS]
        for group, cleaned_by in ((rpm, _rpm_clean), (zypper, _zypper_clean)):
            if not group:
                continue
            last = group[-1]
            if any(cleaned_by(call) for call in calls if call.command.index > last.command.index):
                continue
            dirs = cache_dirs(context, instruction, last.tool)
            if last.tool != "zypper":
                dirs = [*dirs, *_RPM_DIRS]
            if any(mounts_cache(context, instruction, path) for path in dirs):
                continue
            if any(removes_cache(script, [path], after=last.command.index) for path in dirs):
                continue
            program = "zypper" if last.tool == "zypper" else last.program
            clean = "zypper clean --all" if last.tool == "zypper" else f"{program} clean all"
            edit = append_to_run(instruction, wrapper_prefix(last.command) + clean)
            finding = context.report(
                "DC105",
                last.command.span,
                f"`{program} {last.verb}` leaves the package cache in {dirs[0]}; "
                f"run `{clean}` at the end of the same RUN",
                instruction=instruction,
                stake=stake("zypper_cache" if last.tool == "zypper" else "yum_cache"),
                fix=Fix(f"append `{clean}`", Applicability.SAFE, [edit]) if edit else None,
            )
            if finding is not None:
                finding.hadolint = _HADOLINT_CODE.get(program)
            yield finding


# hadolint has one rule per program: a `# hadolint ignore=DL3032` silences yum only.
_HADOLINT_CODE = {"yum": "DL3032", "dnf": "DL3040", "microdnf": "DL3040", "zypper": "DL3036"}


def _rpm_clean(call) -> bool:
    return call.tool != "zypper" and call.verb == "clean" and "all" in call.operands()


def _zypper_clean(call) -> bool:
    return call.tool == "zypper" and call.verb == "clean"
