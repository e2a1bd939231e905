"""A JSON-ready view of the parse tree and model (``decruft parse --format json``)."""

from __future__ import annotations

from typing import Any

from decruft.dockerfile.model import Model, creates_layer
from decruft.dockerfile.nodes import Dockerfile, Instruction, Span

SCHEMA_VERSION = 1


def _range(dockerfile: Dockerfile, span: Span) -> dict[str, int]:
    start = dockerfile.position(span.start)
    end = dockerfile.position(max(span.end - 1, span.start))
    return {
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column + (1 if span.end > span.start else 0),
        "offset": span.start,
        "length": span.end - span.start,
    }


def instruction_to_dict(instruction: Instruction, model: Model | None = None) -> dict[str, Any]:
    dockerfile = instruction.dockerfile
    position = instruction.position
    data: dict[str, Any] = {
        "kind": instruction.keyword,
        "line": instruction.start_line,
        "end_line": instruction.end_line,
        "column": position.column,
        "source": instruction.source,
        "flags": [
            {"name": flag.name, "value": flag.value, "raw": flag.raw, **_range(dockerfile, flag.span)}
            for flag in instruction.flags
        ],
        "arguments": instruction.buildkit_value,
        "args_text": instruction.args,
        "json": instruction.is_json,
        "heredocs": [
            {
                "name": heredoc.name,
                "fd": heredoc.fd,
                "chomp": heredoc.chomp,
                "expand": heredoc.expand,
                "content": heredoc.content,
                "body": _range(dockerfile, heredoc.body),
            }
            for heredoc in instruction.heredocs
        ],
        "creates_layer": creates_layer(instruction.effective),
    }
    if instruction.onbuild_inner is not None:
        data["onbuild"] = instruction_to_dict(instruction.onbuild_inner, None)
    script = instruction.shell if instruction.effective.keyword == "RUN" else None
    if script is not None:
        data["shell"] = {
            "complete": script.complete,
            "origin": script.origin,
            "commands": [
                {
                    "name": command.name,
                    "argv": command.argv,
                    "operator": command.operator,
                    "text": command.text,
                    **_range(dockerfile, command.span),
                }
                for command in script.commands
            ],
        }
    return data


def dockerfile_to_dict(dockerfile: Dockerfile, model: Model | None = None, target: str | None = None) -> dict[str, Any]:
    model = model or dockerfile.model
    reachable = {stage.index for stage in model.reachable(target)} if model.stages else set()
    final = model.target_stage(target) if model.stages else None
    return {
        "schema_version": SCHEMA_VERSION,
        "file": dockerfile.path,
        "escape": dockerfile.escape,
        "bom": dockerfile.bom,
        "line_count": dockerfile.line_count,
        "directives": [
            {"name": d.name, "value": d.value, "line": d.line} for d in dockerfile.directives
        ],
        "meta_args": [
            {
                "name": arg.name,
                "default": arg.default,
                "value": model.meta_values.get(arg.name),
                "line": arg.instruction.start_line,
            }
            for arg in model.meta_args
        ],
        "global_instructions": [
            instruction_to_dict(ins, model)
            for ins in dockerfile.instructions
            if ins.stage_index < 0 and ins.keyword != "FROM"
        ],
        "stages": [
            {
                "index": stage.index,
                "name": stage.name,
                "base": stage.base,
                "base_resolved": stage.base_resolved,
                "platform": stage.platform,
                "parent": stage.parent.index if stage.parent is not None else None,
                "line": stage.from_instruction.start_line,
                "reachable": stage.index in reachable,
                "final": final is stage,
                "layers": len(stage.layer_instructions()),
                "dependencies": [
                    {
                        "kind": dep.kind,
                        "reference": dep.reference,
                        "stage": dep.stage.index if dep.stage is not None else None,
                        "line": dep.instruction.start_line,
                    }
                    for dep in stage.dependencies
                ],
                "instructions": [
                    instruction_to_dict(ins, model)
                    for ins in [stage.from_instruction, *stage.instructions]
                ],
            }
            for stage in model.stages
        ],
        "warnings": [*dockerfile.warnings, *model.warnings],
    }
