"""Stages, stage graph, ARG/ENV scope and build-arg overrides."""

from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model

MULTI = """\
ARG BASE=debian
ARG TAG=bookworm
FROM ${BASE}:${TAG}-slim AS base
ENV APP=/app PATH=/app/bin:$PATH
ARG TAG
RUN echo $TAG

FROM golang:1.19 AS build
ARG VERSION=1.0
ENV V=${VERSION:-x} W=$V
RUN --mount=type=bind,from=base,source=/etc,target=/x go build

FROM base AS unused
RUN echo unused

FROM base
COPY --from=build /out /usr/local/bin/
ENV B="${APP}/b c"
CMD ["app"]
"""


def model(source=MULTI, **kwargs):
    return build_model(parse(source), **kwargs)


def test_stages_and_bases_use_meta_args():
    m = model()
    assert [(s.index, s.name, s.base_resolved) for s in m.stages] == [
        (0, "base", "debian:bookworm-slim"),
        (1, "build", "golang:1.19"),
        (2, "unused", "base"),
        (3, None, "base"),
    ]
    assert m.stages[3].parent is m.stages[0]


def test_build_arg_overrides_meta_default():
    m = model(build_args={"TAG": "trixie"})
    assert m.stages[0].base_resolved == "debian:trixie-slim"


def test_graph_reachability():
    m = model()
    assert [s.index for s in m.reachable()] == [0, 1, 3]
    assert [s.index for s in m.unreachable()] == [2]
    assert [s.index for s in m.reachable("unused")] == [0, 2]
    kinds = {(d.kind, d.reference) for s in m.stages for d in s.dependencies}
    assert kinds == {("mount", "base"), ("from", "base"), ("copy", "build")}


def test_meta_arg_visible_in_stage_only_after_redeclaration():
    df = parse(MULTI)
    m = build_model(df)
    run_tag = df.instructions[5]  # RUN echo $TAG after ARG TAG
    assert m.scope_at(run_tag).args["TAG"] == "bookworm"
    env_line = df.instructions[3]  # ENV before ARG TAG
    assert "TAG" not in m.scope_at(env_line).args


def test_env_is_inherited_through_from_stage_and_expanded_before_instruction():
    df = parse(MULTI)
    m = build_model(df)
    cmd = df.instructions[-1]
    env = m.env_at(cmd)
    assert env["APP"] == "/app" and env["B"] == "/app/b c"
    assert env["PATH"] == "/app/bin:"  # base image ENV is unknown to the model
    build_env = m.env_at(df.instructions[9])
    assert build_env["V"] == "1.0"
    assert build_env["W"] == ""  # ENV values expand with the env *before* the instruction


def test_env_beats_arg_of_same_name():
    df = parse("FROM a\nARG X=arg\nENV X=env\nRUN echo\n")
    assert build_model(df).scope_at(df.instructions[-1]).variables()["X"] == "env"


def test_copy_from_numeric_index_and_expanded_name():
    df = parse("FROM a AS one\nFROM b\nARG SRC=one\nCOPY --from=0 /a /a\nCOPY --from=${SRC} /b /b\n")
    m = build_model(df)
    deps = m.stages[1].dependencies
    assert [(d.reference, d.stage.index) for d in deps] == [("0", 0), ("one", 0)]


def test_external_image_copy_is_not_a_stage():
    m = model("FROM a\nCOPY --from=nginx:latest /etc/nginx /etc/nginx\n")
    [dep] = m.stages[0].dependencies
    assert dep.stage is None and dep.reference == "nginx:latest"


def test_final_chain_and_layers():
    m = model()
    assert [s.index for s in m.final_chain()] == [0, 3]
    assert [i.keyword for i in m.stages[0].layer_instructions()] == ["RUN"]


def test_expanded_words_for_copy():
    df = parse("FROM a\nARG D=/opt\nCOPY src ${D}/app\n")
    m = build_model(df)
    assert m.expanded_words(df.instructions[-1]) == ["src", "/opt/app"]


def test_target_stage_lookup_is_case_insensitive():
    m = model()
    assert m.target_stage("BUILD").index == 1


def test_scopes_recorded_per_stage_equal_a_replay_per_instruction():
    """scope_at records a whole stage in one pass; each scope must equal the replay from the
    start of the stage chain for that one instruction (the definition)."""
    source = (
        "ARG BASE=debian\nFROM $BASE AS base\nARG V=1\nENV A=$V B=x\nRUN echo\nARG V\n"
        "FROM base AS build\nENV B=y\nARG W=${A}-2\nRUN echo $W\nUSER app\nENV C=${B}z\n"
        "FROM scratch\nCOPY --from=build / /\nARG TARGETARCH\nENV D=$TARGETARCH\n"
    )
    for order in (1, -1):  # the first question may be about any stage
        model = build_model(parse(source))
        for instruction in model.dockerfile.instructions[::order]:
            got = model.scope_at(instruction)
            want = model._compute_scope(instruction)
            assert (got.args, got.env, got.declared_args) == (want.args, want.env, want.declared_args), instruction
