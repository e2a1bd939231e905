"""BuildKit's instruction-level checks: known instructions, their flags and arguments.

The parser layer accepts anything shaped like ``WORD args``; BuildKit's
``instructions.Parse`` then rejects unknown instructions, unknown or malformed
flags and wrong argument counts.  The table below is the one place that says which
flags each instruction takes.
"""

from __future__ import annotations

import re
from enum import Enum

from decruft.dockerfile.mounts import MountError, parse_mount
from decruft.dockerfile.nodes import Dockerfile, Instruction
from decruft.dockerfile.parser import heredoc_word_or_none
from decruft.errors import DockerfileSyntaxError


class FlagKind(Enum):
    STRING = "string"
    BOOL = "bool"
    STRINGS = "strings"  # may repeat


S, B, M = FlagKind.STRING, FlagKind.BOOL, FlagKind.STRINGS

FLAGS: dict[str, dict[str, FlagKind]] = {
    "ADD": {
        "chown": S, "chmod": S, "link": B, "keep-git-dir": B, "checksum": S,
        "exclude": M, "parents": B, "unpack": B,
    },
    "COPY": {"chown": S, "from": S, "chmod": S, "link": B, "parents": B, "exclude": M},
    "FROM": {"platform": S},
    "RUN": {"mount": M, "network": S, "security": S, "device": M},
    "HEALTHCHECK": {
        "interval": S, "timeout": S, "start-period": S, "start-interval": S, "retries": S,
    },
}  # fmt: skip

KNOWN = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip

# Instructions that add a filesystem layer to the image (BuildKit: a snapshot step).
LAYER_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
# WORKDIR creates a layer only when the directory does not exist yet; we count it apart.
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip


class _Problem(ValueError):
    def __init__(self, message: str, column_offset: int | None = None) -> None:
        super().__init__(message)
        self.column_offset = column_offset


def validate(dockerfile: Dockerfile) -> None:
    """Raise DockerfileSyntaxError for what BuildKit's instruction layer rejects."""
    seen_stage = False
    for instruction in dockerfile.instructions:
        try:
            _validate_instruction(instruction)
        except _Problem as problem:
            raise _error(dockerfile, instruction, problem) from None
        if instruction.keyword == "FROM":
            seen_stage = True
        elif instruction.keyword != "ARG" and not seen_stage:
            raise _error(
                dockerfile,
                instruction,
                _Problem(
                    f"{instruction.keyword} before the first FROM: "
                    "no build stage in current context (only ARG may come before FROM)"
                ),
            )
    if not seen_stage:
        last = dockerfile.instructions[-1]
        raise _error(
            dockerfile, last, _Problem("dockerfile contains no stages to build (no FROM)")
        )


def _error(dockerfile: Dockerfile, instruction: Instruction, problem: _Problem):
    offset = (
        problem.column_offset
        if problem.column_offset is not None
        else instruction.keyword_span.start
    )
    position = dockerfile.position(offset)
    return DockerfileSyntaxError(
        str(problem),
        file=dockerfile.path,
        line=position.line,
        column=position.column,
        end_line=instruction.end_line,
    )


def _validate_instruction(instruction: Instruction) -> None:
    keyword = instruction.keyword
    if keyword not in KNOWN:
        raise _Problem(f"unknown instruction: {instruction.keyword_raw}")
    check = _ARGUMENT_CHECKS.get(keyword)
    if check is not None:
        args = instruction.buildkit_value
        check(instruction, args)
        if keyword == "HEALTHCHECK" and args[0].upper() == "NONE":
            return  # BuildKit never parses the flags of HEALTHCHECK NONE
    if instruction.flags:
        parse_flags(instruction)


def parse_flags(instruction: Instruction) -> dict[str, str | list[str]]:
    """BuildKit's BFlags.Parse: flag values by name, or _Problem."""
    values: dict[str, str | list[str]] = {}
    if not instruction.flags:
        return values
    allowed = FLAGS.get(instruction.keyword, {})
    for flag in instruction.flags:
        where = flag.span.start
        if not flag.raw.startswith("--"):
            raise _Problem(f"arg should start with -- : {flag.raw}", where)
        kind = allowed.get(flag.name)
        if kind is None:
            hint = f" (known: {', '.join('--' + name for name in allowed)})" if allowed else ""
            raise _Problem(f"unknown flag: --{flag.name}{hint}", where)
        if flag.name in values and kind is not FlagKind.STRINGS:
            raise _Problem(f"duplicate flag specified: --{flag.name}", where)
        if kind is FlagKind.BOOL:
            if flag.value == "":
                raise _Problem(f"missing a value on flag: --{flag.name}", where)
            lowered = (flag.value or "true").lower()
            if lowered not in ("true", "false"):
                raise _Problem(
                    f"expecting boolean value for flag --{flag.name}, not: {flag.value}", where
                )
            values[flag.name] = lowered
        else:
            if flag.value is None:
                raise _Problem(f"missing a value on flag: --{flag.name}", where)
            if kind is FlagKind.STRINGS:
                existing = values.setdefault(flag.name, [])
                assert isinstance(existing, list)
                existing.append(flag.value)
            else:
                values[flag.name] = flag.value
    if instruction.keyword == "HEALTHCHECK":
        _check_healthcheck_flags(instruction, values)
    if instruction.keyword == "RUN":
        network = values.get("network")
        if isinstance(network, str) and network not in ("default", "none", "host"):
            raise _Problem(f"network mode {network!r} not supported", instruction.flag("network").span.start)
        security = values.get("security")
        if isinstance(security, str) and security not in ("sandbox", "insecure"):
            raise _Problem(f"security mode {security!r} not supported", instruction.flag("security").span.start)

        for flag in instruction.flags:
            if flag.name == "mount":
                try:
                    parse_mount(flag.value or "")
                except MountError as exc:
                    raise _Problem(str(exc), flag.span.start) from None
    return values


# ---------------------------------------------------------------------- argument checks
def _exactly_one(name: str):
    def check(instruction: Instruction, args: list[str]) -> None:
        if len(args) != 1:
            raise _Problem(f"{name} requires exactly one argument")

    return check


def _at_least_one(name: str):
    def check(instruction: Instruction, args: list[str]) -> None:
        if not args:
            raise _Problem(f"{name} requires at least one argument")

    return check


def _key_values(name: str):
    def check(instruction: Instruction, args: list[str]) -> None:
        if not args:
            raise _Problem(f"{name} requires at least one argument")
        if any(not key for key in args[::2]):
            raise _Problem(f"{name} names can not be blank")

    return check


def _check_from(instruction: Instruction, args: list[str]) -> None:
    if len(args) == 3 and args[1].lower() == "as":
        if not _STAGE_NAME.match(args[2].lower()):
            raise _Problem(
                f'invalid name for build stage: "{args[2]}", '
                "name can't start with a number or contain symbols"
            )
    elif len(args) != 1:
        raise _Problem("FROM requires either one or three arguments")


def _check_sources_and_dest(instruction: Instruction, args: list[str]) -> None:
    if len(args) < 2:
        raise _Problem(
            f"{instruction.keyword} requires at least two arguments, but only one was provided. "
            "Destination could not be determined."
        )
    if not instruction.is_json and heredoc_word_or_none(args[-1]) is not None:
        raise _Problem(f"{instruction.keyword} cannot accept a heredoc as a destination")


def _check_onbuild(instruction: Instruction, args: list[str]) -> None:
    inner = instruction.onbuild_inner
    if inner is None:
        raise _Problem("ONBUILD requires at least one argument")
    trigger = inner.keyword
    if trigger == "ONBUILD":
        raise _Problem("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise _Problem(f"{trigger} isn't allowed as an ONBUILD trigger")
    # BuildKit parses the trigger only when a child image builds FROM this one.


def _check_arg(instruction: Instruction, args: list[str]) -> None:
    if not args:
        raise _Problem("ARG requires at least one argument")
    for word in args:
        if word.startswith("="):
            raise _Problem("ARG names can not be blank")


def _check_shell(instruction: Instruction, args: list[str]) -> None:
    if not instruction.is_json:
        raise _Problem("SHELL requires the arguments to be in JSON form")
    if not args:
        raise _Problem("SHELL requires at least one argument")


def _check_volume(instruction: Instruction, args: list[str]) -> None:
    if not args:
        raise _Problem("VOLUME requires at least one argument")
    if any(not value.strip() for value in args):
        raise _Problem("VOLUME specified can not be an empty string")


def _check_healthcheck(instruction: Instruction, args: list[str]) -> None:
    if not args:
        raise _Problem("HEALTHCHECK requires at least one argument")
    kind = args[0].upper()
    if kind == "NONE":
        if len(args) > 1:
            raise _Problem("HEALTHCHECK NONE takes no arguments")
        return
    if kind != "CMD":
        raise _Problem(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if len(args) < 2:
        raise _Problem("Missing command after HEALTHCHECK CMD")


def _check_healthcheck_flags(instruction: Instruction, values: dict) -> None:
    for name in ("interval", "timeout", "start-period", "start-interval"):
        text = values.get(name)
        if text:
            seconds = parse_duration(text)
            if seconds is None:
                raise _Problem(f'time: invalid duration "{text}"')
            if 0 < seconds < 0.001:
                raise _Problem(f'Interval "{name}" cannot be less than 1ms')
    retries = values.get("retries")
    if retries:
        try:
            count = int(retries, 10)
        except ValueError:
            raise _Problem(f'strconv.ParseInt: parsing "{retries}": invalid syntax') from None
        if count < 0:
            raise _Problem(f"--retries cannot be negative ({count})")


def parse_duration(text: str) -> float | None:
    """Go's time.ParseDuration, in seconds; None when invalid."""
    body = text
    sign = 1.0
    if body[:1] in ("+", "-"):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        return None
    total = 0.0
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * total


_ARGUMENT_CHECKS = {
    "ENV": _key_values("ENV"),
    "LABEL": _key_values("LABEL"),
    "MAINTAINER": _exactly_one("MAINTAINER"),
    "ADD": _check_sources_and_dest,
    "COPY": _check_sources_and_dest,
    "FROM": _check_from,
    "ONBUILD": _check_onbuild,
    "WORKDIR": _exactly_one("WORKDIR"),
    "HEALTHCHECK": _check_healthcheck,
    "EXPOSE": _at_least_one("EXPOSE"),
    "USER": _exactly_one("USER"),
    "VOLUME": _check_volume,
    "STOPSIGNAL": _exactly_one("STOPSIGNAL"),
    "ARG": _check_arg,
    "SHELL": _check_shell,
}
