"""Dockerfile generation per ecosystem: pure, fast, table-style (no engine).

Each case is a single-stage Dockerfile and what the plan must contain: the ecosystem, the
runtime base, the paths copied from the build stage, text that must (and must not) appear in
the converted file. The rendered file must always parse and have exactly two stages more
than... exactly the original stages plus one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model
from decruft.multistage import NotConvertible, plan_conversion
from decruft.multistage.plan import install_command, runtime_base_for

CASES = [
    pytest.param(
        "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN apt-get update && apt-get install -y gcc libpq-dev\n"
        "RUN pip install -r requirements.txt\nRUN chown -R nobody:nogroup /app\nUSER nobody\nEXPOSE 8000\n"
        'CMD ["python", "app.py"]\n',
        "python", "python:3.11-slim", ["/opt/venv", "/app"],
        ["RUN python3 -m venv /opt/venv\nENV VIRTUAL_ENV=/opt/venv", "COPY --from=build --chown=nobody:nogroup /app /app",
         "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH"],
        ["gcc\nCOPY"],
        id="python-pip-requirements",
    ),
    pytest.param(
        "FROM python:3.12-bookworm\nRUN pip install poetry\nWORKDIR /srv\nCOPY pyproject.toml poetry.lock ./\n"
        "RUN poetry install --no-root\nCOPY . .\nCMD [\"python\", \"-m\", \"srv\"]\n",
        "python", "python:3.12-slim-bookworm", ["/opt/venv", "/srv"],
        ["RUN pip install poetry\nWORKDIR /srv\nCOPY pyproject.toml poetry.lock ./\nRUN python3 -m venv /opt/venv"],
        [],
        id="python-poetry-tool-stays-outside-the-venv",
    ),
    pytest.param(
        "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install uv\nRUN uv sync --frozen\n"
        'ENV PATH="/app/.venv/bin:$PATH"\nCMD ["uvicorn", "app.main:app"]\n',
        "python", "python:3.11-slim", ["/app"],
        ['ENV PATH="/app/.venv/bin:$PATH"'],
        ["python3 -m venv"],
        id="python-uv-sync-keeps-its-project-venv",
    ),
    pytest.param(
        "FROM python:3.11\nCOPY app.py /srv/app.py\nRUN pip install --user flask\nCMD [\"python\", \"/srv/app.py\"]\n",
        "python", "python:3.11-slim", ["/opt/venv", "/srv/app.py"],
        ["RUN pip install  flask"],
        ["--user"],
        id="python-pip-user-goes-to-the-venv",
    ),
    pytest.param(
        "FROM node:20\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
        "USER node\nEXPOSE 3000\nCMD [\"node\", \"dist/server.js\"]\n",
        "node", "node:20-slim", ["/usr/src/app"],
        ["USER root\nRUN cd /usr/src/app && npm prune --omit=dev\n"],
        [],
        id="node-npm-prunes-dev-dependencies",
    ),
    pytest.param(
        "FROM node:20-bookworm\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile\nCMD [\"node\", \"index.js\"]\n",
        "node", "node:20-bookworm-slim", ["/app"],
        ["yarn install --production --ignore-scripts --prefer-offline"],
        [],
        id="node-yarn",
    ),
    pytest.param(
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nRUN npm run build\nEXPOSE 3000\n"
        'CMD ["npx", "serve", "-s", "dist", "-l", "3000"]\n',
        "node-static", "busybox:1.35", ["/app/dist"],
        ['CMD ["httpd", "-f", "-v", "-p", "3000", "-h", "/www"]', "COPY --from=build /app/dist /www"],
        ['CMD ["npx"'],
        id="node-front-end-ends-in-a-static-server",
    ),
    pytest.param(
        "FROM golang:1.19\nWORKDIR /go/src/app\nCOPY . .\nRUN go build -o /go/bin/app .\nEXPOSE 8080\nCMD [\"app\"]\n",
        "go", "debian:bookworm-slim", ["/go/src/app"],
        ["FROM golang:1.19 AS build\n"],
        [],
        id="go-build-output",
    ),
    pytest.param(
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential zlib1g-dev\n"
        "COPY . /usr/src/tool\nWORKDIR /usr/src/tool\nRUN make && make install PREFIX=/usr/local\nCMD [\"tool\"]\n",
        "make-install", "debian:bookworm-slim", ["/decruft/install/", "/usr/src/tool"],
        ["RUN cd /usr/src/tool && make install PREFIX=/usr/local DESTDIR=/decruft/install",
         "COPY --from=build /decruft/install/ /", "RUN ldconfig"],
        [],
        id="c-make-install-into-a-staging-root",
    ),
    pytest.param(
        "FROM gcc:13\nWORKDIR /src\nCOPY . .\nRUN cmake -S . -B build && cmake --build build && cmake --install build\n"
        'CMD ["tool"]\n',
        "make-install", "debian:bookworm-slim", ["/decruft/install/", "/src"],
        ["DESTDIR=/decruft/install cmake --install build"],
        [],
        id="cmake-install-uses-destdir-from-the-environment",
    ),
    pytest.param(
        "FROM r-base:4.2\nRUN apt-get update && apt-get install -y r-cran-httpuv build-essential libssl-dev\n"
        "RUN Rscript -e 'install.packages(\"jsonlite\")'\nCOPY . /app\nWORKDIR /app\nCMD [\"Rscript\", \"app.R\"]\n",
        "r", "r-base:4.2", ["/usr/local/lib/R/site-library", "/usr/lib/R/site-library", "/app"],
        ["COPY --from=build /usr/lib/R/site-library /usr/lib/R/site-library"],
        ["build-essential\nCOPY"],
        id="r-site-libraries",
    ),
    pytest.param(
        "FROM maven:3.9-eclipse-temurin-17\nWORKDIR /app\nCOPY . .\nRUN mvn -q package\n"
        'CMD ["java", "-jar", "target/app.jar"]\n',
        "java", "eclipse-temurin:17-jre",
        ["/app/target/app.jar", "/app/target/lib", "/app/target/libs", "/app/target/dependency",
         "/app/target/dependency-jars"],
        ["COPY --from=build /app/target/app.jar /app/target/app.jar"],
        [],
        id="java-maven-jar-on-a-jre",
    ),
    pytest.param(
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y default-jdk maven\nWORKDIR /src\nCOPY . .\n"
        "RUN mvn -o package\nCMD [\"java\", \"-jar\", \"target/svc.jar\"]\n",
        "java", "debian:bookworm-slim",
        ["/src/target/svc.jar", "/src/target/lib", "/src/target/libs", "/src/target/dependency",
         "/src/target/dependency-jars"],
        ["RUN mkdir -p /usr/share/man/man1 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
         "--no-install-recommends default-jre-headless"],
        ["maven"],
        id="java-from-apt-runs-on-the-headless-jre",
    ),
    pytest.param(
        "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y nginx curl\nCOPY site /var/www/html/\n"
        "RUN chown -R www-data:www-data /var/www/html\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
        "apt-service", "debian:bookworm-slim", ["/var/www/html"],
        ["--no-install-recommends nginx &&", "COPY --from=build --chown=www-data:www-data /var/www/html /var/www/html"],
        ["curl"],
        id="apt-service-reinstalls-without-build-helpers",
    ),
    pytest.param(
        "FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
        "node", "node:20-slim", ["/app"],
        ["COPY --from=build /app /app"],
        ["npm prune"],
        id="node-without-dependencies",
    ),
]


@pytest.mark.parametrize("source, ecosystem, runtime, copied, present, absent", CASES)
def test_plan_per_ecosystem(source, ecosystem, runtime, copied, present, absent):
    plan = plan_conversion(source)
    assert plan.ecosystem == ecosystem
    assert plan.runtime_base == runtime
    assert [a.source for a in plan.artifacts] == copied
    text = plan.render(plan.base_packages)
    for snippet in present:
        assert snippet in text, snippet
    for snippet in absent:
        assert snippet not in text.split("# Runtime stage")[1], snippet
    dockerfile = parse(text)
    model = build_model(dockerfile)
    assert len(model.stages) == 2
    assert model.final_stage.base_resolved == runtime


def test_build_stage_is_the_original_stage_verbatim_but_for_insertions():
    source = ("# comment kept\nFROM golang:1.19\nRUN apt-get update\nWORKDIR /src\nCOPY . .\n"
              "RUN go build -o /out/app .\nCMD [\"/out/app\"]\n")
    plan = plan_conversion(source)
    assert plan.build_text == source.replace("FROM golang:1.19", "FROM golang:1.19 AS build")


def test_carried_instructions_keep_their_order_and_text():
    source = (
        "FROM python:3.11\nARG VERSION=1\nENV APP_VERSION=$VERSION \\\n    MODE=prod\nLABEL org.example=x\n"
        "WORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nVOLUME /data\nEXPOSE 8000/tcp\n"
        "STOPSIGNAL SIGINT\nHEALTHCHECK --interval=5s CMD [\"python\", \"-c\", \"1\"]\nSHELL [\"/bin/sh\", \"-c\"]\n"
        "USER 1000\nENTRYPOINT [\"python\"]\nCMD [\"app.py\"]\n"
    )
    plan = plan_conversion(source)
    runtime = plan.render([]).split("# Runtime stage")[1]
    order = ["ARG VERSION=1", "ENV APP_VERSION=$VERSION \\\n    MODE=prod", "LABEL org.example=x", "WORKDIR /app",
             "VOLUME /data", "EXPOSE 8000/tcp", "STOPSIGNAL SIGINT", "HEALTHCHECK --interval=5s", "SHELL [",
             "USER 1000", 'ENTRYPOINT ["python"]', 'CMD ["app.py"]']
    positions = [runtime.index(item) for item in order]
    assert positions == sorted(positions)


def test_runtime_packages_are_installed_before_the_copies_and_cleaned_up():
    plan = plan_conversion("FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN make install\nUSER 1000\nCMD [\"x\"]\n")
    text = plan.render(["libyaml-0-2", "libsqlite3-0"]).split("# Runtime stage")[1]
    install = ("RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
               "libsqlite3-0 libyaml-0-2 && rm -rf /var/lib/apt/lists/*")
    assert install in text
    assert text.index(install) < text.index("COPY --from=build") < text.index("USER 1000")


def test_a_stage_with_an_alias_keeps_it():
    plan = plan_conversion("FROM node:20 AS app\nWORKDIR /a\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"i.js\"]\n")
    assert plan.build_name == "app"
    assert "COPY --from=app /a /a" in plan.render([])


def test_a_multi_stage_file_whose_final_stage_builds_is_split_further():
    source = ("FROM node:20 AS assets\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\n"
              "FROM python:3.11\nWORKDIR /app\nCOPY . .\nCOPY --from=assets /a/dist /app/static\n"
              "RUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n")
    plan = plan_conversion(source)
    text = plan.render([])
    assert "FROM node:20 AS assets" in text and "FROM python:3.11 AS build" in text
    assert len(build_model(parse(text)).stages) == 3


NOT_CONVERTED = [
    pytest.param("FROM python:3.11-slim AS build\nRUN pip install flask\nFROM python:3.11-slim\n"
                 "COPY --from=build /usr/local /usr/local\nCMD [\"flask\"]\n",
                 "already multi-stage and the final stage ships no toolchain", id="good-multi-stage-left-alone"),
    pytest.param("FROM golang:1.19 AS build\nRUN go build -o /app .\nFROM build\nCMD [\"/app\"]\n",
                 "built FROM the earlier stage", id="final-from-earlier-stage"),
    pytest.param("FROM python:3.11\nONBUILD COPY . /app\nRUN pip install flask\n", "ONBUILD", id="onbuild"),
    pytest.param("FROM node:20\nCOPY . /\nRUN npm ci\nCMD [\"node\", \"index.js\"]\n", "a system directory",
                 id="context-copied-to-root"),
    pytest.param("FROM busybox:1.35\nCOPY site /www\nCMD [\"httpd\", \"-f\", \"-h\", \"/www\"]\n",
                 "no build to separate", id="nothing-to-build"),
    pytest.param("FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential curl\n"
                 "CMD [\"bash\"]\n", "every package the stage installs is a build tool", id="only-build-tools"),
    pytest.param("FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . /src\nRUN make -C /src\nCMD [\"/src/app\"]\n",
                 "no known runtime base", id="unknown-base"),
    pytest.param("ARG BASE\nFROM $BASE\nRUN pip install flask\n", "build arguments", id="base-from-arg"),
    pytest.param("FROM python@sha256:" + "a" * 64 + "\nRUN pip install flask\nCMD [\"flask\"]\n", "pinned by digest",
                 id="digest-pinned"),
    pytest.param("FROM maven:3.9-eclipse-temurin-17\nCOPY . /app\nRUN mvn package\nCMD java -jar /app/target/x.jar\n",
                 "java -jar", id="java-shell-form"),
    pytest.param("FROM scratch\nCOPY app /app\n", "FROM scratch", id="scratch"),
    pytest.param("FROM python:3.11\nFROBNICATE x\n", "does not parse", id="syntax-error"),
]


@pytest.mark.parametrize("source, reason", NOT_CONVERTED)
def test_not_converted_says_why(source, reason):
    with pytest.raises(NotConvertible) as caught:
        plan_conversion(source)
    assert reason in str(caught.value)


@pytest.mark.parametrize("base, runtime", [
    ("python:3.11", "python:3.11-slim"),
    ("python:3.11-bookworm", "python:3.11-slim-bookworm"),
    ("python", "python:slim"),
    ("python:3.11-alpine", "python:3.11-alpine"),
    ("node:20", "node:20-slim"),
    ("node:20-bookworm", "node:20-bookworm-slim"),
    ("debian:bookworm", "debian:bookworm-slim"),
    ("debian", "debian:stable-slim"),
    ("golang:1.19", "debian:bookworm-slim"),
    ("golang:1.22-bullseye", "debian:bullseye-slim"),
    ("golang:1.22-alpine3.19", "alpine:3.19"),
    ("buildpack-deps:bookworm-scm", "debian:bookworm-slim"),
    ("registry.example.com/library/python:3.12", "registry.example.com/library/python:3.12-slim"),
    ("ubuntu:22.04", "ubuntu:22.04"),
])
def test_runtime_base_for(base, runtime):
    assert runtime_base_for(base)[0] == runtime


@pytest.mark.parametrize("manager, expected", [
    ("apt", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends a b "
            "&& rm -rf /var/lib/apt/lists/*"),
    ("apk", "apk add --no-cache a b"),
    ("dnf", "dnf install -y a b && dnf clean all"),
    ("none", None),
])
def test_install_command(manager, expected):
    assert install_command(manager, ["b", "a", "b"]) == expected
    assert install_command(manager, []) is None


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_python_checks_import_every_requirement_of_the_context(tmp_path):
    (tmp_path / "requirements.txt").write_text("# deps\nFlask==3.0.0  # web\nmarkupsafe>=2\n-r other.txt\n\n")
    (tmp_path / "Pipfile").write_text('[packages]\nrequests = "*"\n')
    plan = plan_conversion("FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
                           "CMD [\"python\", \"app.py\"]\n", context=tmp_path)
    (check,) = plan.checks
    assert check.command[3:] == ["Flask", "markupsafe", "requests"]


def test_node_checks_require_every_production_dependency(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps(
        {"dependencies": {"express": "4", "zod": "3"}, "devDependencies": {"typescript": "5"}}))
    plan = plan_conversion("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"i.js\"]\n",
                           context=tmp_path)
    (check,) = plan.checks
    assert check.command[3:] == ["express", "zod"] and check.workdir == "/app"


@pytest.mark.parametrize("example, ecosystem", [
    ("python-app", "python"), ("node-app", "node"), ("go-app", "go"), ("c-app", "make-install"), ("r-app", "r"),
])
def test_bundled_examples_plan(example, ecosystem):
    path = EXAMPLES / example / "Dockerfile"
    plan = plan_conversion(path.read_text(), str(path), context=path.parent)
    assert plan.ecosystem == ecosystem
    parse(plan.render(["somepackage"]))


@pytest.mark.parametrize("copy, expected", [
    ("COPY entrypoint.sh /usr/local/bin/", ["/usr/local/bin/entrypoint.sh"]),
    ("COPY a.sh b.sh /usr/local/bin/", ["/usr/local/bin/a.sh", "/usr/local/bin/b.sh"]),
    ("COPY site /var/www/html/", ["/var/www/html"]),
    ("COPY conf/app.ini /etc/app.ini", ["/etc/app.ini"]),
    ("COPY --chown=app:app . ./", ["/srv"]),
])
def test_application_paths(copy, expected):
    source = f"FROM python:3.11\nWORKDIR /srv\n{copy}\nRUN pip install flask\nCMD [\"flask\"]\n"
    plan = plan_conversion(source)
    assert [a.source for a in plan.artifacts if a.source != "/opt/venv"] == expected


def test_r_stages_only_the_packages_the_app_loads(tmp_path):
    (tmp_path / "app.R").write_text('library(httpuv)\nsuppressMessages(require("jsonlite"))\nx <- data.table::fread\n'
                                   "utils::head(1)\n")
    (tmp_path / "pkg" / "mine").mkdir(parents=True)
    (tmp_path / "pkg" / "mine" / "DESCRIPTION").write_text("Package: mine\nVersion: 1.0\n")
    source = ("FROM r-base:4.2\nRUN apt-get update && apt-get install -y r-cran-plumber r-base-dev\n"
              "RUN Rscript -e 'install.packages(c(\"glue\", \"R6\"))'\nCOPY . /app\nWORKDIR /app\n"
              "RUN R CMD INSTALL pkg/mine\nCMD [\"Rscript\", \"app.R\"]\n")
    plan = plan_conversion(source, context=tmp_path)
    line = next(line for line in plan.build_text.splitlines() if line.startswith("RUN Rscript -e 'ip <-"))
    assert line.endswith("' R6 data.table glue httpuv jsonlite mine plumber")
    assert [a.source for a in plan.artifacts] == ["/decruft/R/", "/app"]
    assert "which = c(\"Depends\", \"Imports\")" in line  # LinkingTo is build-time only


def test_r_without_its_code_in_the_context_copies_the_whole_site_libraries(tmp_path):
    plan = plan_conversion("FROM r-base:4.2\nRUN apt-get update && apt-get install -y r-cran-httpuv\n"
                           "COPY run.sh /usr/local/bin/\nCMD [\"run.sh\"]\n", context=tmp_path)
    assert [a.source for a in plan.artifacts] == ["/usr/local/lib/R/site-library", "/usr/lib/R/site-library",
                                                  "/usr/local/bin/run.sh"]


@pytest.mark.parametrize("cmd, scripts, expected", [
    ('["npx", "serve", "-s", "build", "-l", "5000"]', {}, ("build", 5000)),
    ('["npx", "http-server", "dist", "-p", "8081"]', {}, ("dist", 8081)),
    ('["npm", "start"]', {"start": "serve -s out"}, ("out", 3000)),
    ('["npm", "run", "preview"]', {"preview": "vite preview --port 8080 --host"}, ("dist", 8080)),
    ('["node", "server.js"]', {}, None),
    ('["npm", "start"]', {"start": "node dist/index.js"}, None),
])
def test_static_front_end_detection(cmd, scripts, expected, tmp_path):
    from decruft.multistage.node import static_output
    from decruft.multistage.plan import read_stage

    facts = read_stage(f"FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD {cmd}\n")
    assert static_output(facts, {"scripts": scripts}) == expected


def test_venv_for_installs_run_as_another_user():
    plan = plan_conversion("FROM python:3.11\nRUN useradd -m app\nUSER app\nWORKDIR /home/app/src\nCOPY . .\n"
                           "RUN pip install --user -r requirements.txt\nCMD [\"python\", \"main.py\"]\n")
    assert ("USER root\nRUN python3 -m venv /opt/venv && chown -R app /opt/venv\nUSER app\n"
            "ENV VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\"\nRUN pip install  -r requirements.txt") in plan.build_text
    runtime = plan.render([]).split("# Runtime stage")[1]
    assert "RUN useradd -m app\nCOPY --from=build /opt/venv /opt/venv" in runtime
    assert runtime.index("RUN useradd -m app") < runtime.index("USER app")
