import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

GO = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\n"
RUST = "FROM rust:1.78\nWORKDIR /src\nCOPY . .\n"

CATCHES = [
    (GO + "RUN go build -o /app .\n", "go build -o /app .", ["/root/.cache/go-build", "/go/pkg/mod"]),
    (GO + "RUN CGO_ENABLED=0 go build -o /app .\n", "CGO_ENABLED=0 go build -o /app .", ["/root/.cache/go-build"]),
    (GO + "RUN go mod download\n", "go mod download", ["/go/pkg/mod"]),
    # the module cache belongs to the earlier `go mod download` RUN
    (
        "FROM golang:1.22\nCOPY go.* .\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\n",
        "go build -o /app .",
        ["/root/.cache/go-build"],
    ),
    (GO + "RUN go install github.com/x/y@v1.0.0\n", "go install github.com/x/y@v1.0.0", ["/go/pkg/mod"]),
    (GO + "RUN go build -mod=vendor -o /app .\n", "go build -mod=vendor -o /app .", ["/root/.cache/go-build"]),
    # only the build cache is cleaned
    (GO + "RUN go build -o /app . && go clean -cache\n", "go build -o /app .", ["/go/pkg/mod"]),
    (GO + "RUN --mount=type=cache,target=/root/.cache/go-build go build -o /app .\n", "go build -o /app .", ["/go/pkg/mod"]),
    ("FROM debian\nRUN go build -o /app .\n", "go build -o /app .", ["/root/go/pkg/mod"]),
    ("FROM golang\nENV GOCACHE=/gocache\nRUN go build .\n", "go build .", ["/gocache"]),
    (RUST + "RUN cargo build --release\n", "cargo build --release", ["/usr/local/cargo/registry", "target"]),
    (RUST + "RUN cargo +nightly build --release\n", "cargo +nightly build --release", ["target"]),
    (RUST + "RUN cargo install --path .\n", "cargo install --path .", ["/usr/local/cargo/registry"]),
    ("FROM debian\nRUN cargo build\n", "cargo build", ["/root/.cargo/registry"]),
    (RUST + "RUN cargo build --release && cp target/release/app /usr/local/bin/\n", "cargo build --release", ["target/"]),
    (RUST + "RUN cargo build --target-dir /tmp/t\n", "cargo build --target-dir /tmp/t", ["/tmp/t"]),
    ("FROM maven:3-eclipse-temurin-21\nCOPY . .\nRUN mvn -B package\n", "mvn -B package", ["/root/.m2/repository"]),
    ("FROM eclipse-temurin:21\nCOPY . .\nRUN ./mvnw -B package -DskipTests\n", "./mvnw -B package -DskipTests", ["/root/.m2/repository"]),
    ("FROM gradle:8-jdk21\nCOPY . .\nRUN gradle build --no-daemon\n", "gradle build --no-daemon", ["/root/.gradle/caches"]),
    ("FROM eclipse-temurin:21\nCOPY . .\nRUN ./gradlew bootJar\n", "./gradlew bootJar", ["/root/.gradle/caches"]),
    (GO + "RUN sudo go build -o /app .\n", "sudo go build -o /app .", ["go-build"]),
    (GO + "RUN <<EOF\ngo build -o /app .\nEOF\n", "go build -o /app .", ["go-build"]),
    (GO + "RUN go vet ./... \\\n && go build \\\n      -o /app .\n", "go build \\\n      -o /app .", ["go-build"]),
    # the final stage is built FROM the one that builds: its layers ship
    ("FROM golang AS base\nRUN go build -o /app .\nFROM base\nCMD [\"/app\"]\n", "go build -o /app .", ["go-build"]),
    # a stage copied whole ships too
    ("FROM golang AS b\nRUN go build -o /app .\nFROM scratch\nCOPY --from=b / /\n", "go build -o /app .", ["go-build"]),
]
ACCEPTS = [
    # builder stage whose artifact is copied out: the recommended pattern
    "FROM golang AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n",
    "FROM rust AS build\nRUN cargo build --release\nFROM debian\nCOPY --from=build /src/target/release/x /x\n",
    "FROM maven AS build\nRUN mvn package\nFROM eclipse-temurin:21-jre\nCOPY --from=build /t/app.jar /app.jar\n",
    GO + "RUN go build -o /app . && go clean -cache -modcache\n",
    GO + "RUN go build -o /app . \\\n && rm -rf /root/.cache/go-build /go/pkg/mod\n",
    GO + "RUN go build -o /app . && rm -rf ~/.cache /go/pkg\n",
    GO + "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build -o /app .\n",
    GO + "RUN go version\n",
    GO + "RUN go env\n",
    RUST + "RUN cargo build --release && cp target/release/app /usr/local/bin/ && rm -rf target /usr/local/cargo/registry\n",
    RUST + "RUN --mount=type=cache,target=/usr/local/cargo/registry --mount=type=cache,target=/src/target cargo build\n",
    RUST + "RUN cargo build --release && cargo clean && rm -rf $CARGO_HOME/registry\n".replace("$CARGO_HOME", "/usr/local/cargo"),
    RUST + "RUN cargo --version\n",
    "FROM maven\nRUN mvn -B package && rm -rf /root/.m2/repository\n",
    "FROM maven\nRUN mvn -B package -Dmaven.repo.local=/tmp/m2 && rm -rf /tmp/m2\n",
    "FROM maven\nRUN --mount=type=cache,target=/root/.m2 mvn -B package\n",
    "FROM maven\nRUN mvn --version\n",
    "FROM gradle\nRUN gradle build && rm -rf ~/.gradle\n",
    "FROM gradle\nRUN --mount=type=cache,target=/root/.gradle gradle build\n",
    "FROM gradle\nENV GRADLE_USER_HOME=/gh\nRUN gradle build && rm -rf /gh/caches\n",
    'FROM golang\nRUN ["go", "build", "-o", "/app", "."]\n',
    "FROM golang AS unused\nRUN go build .\nFROM scratch\nCOPY x /x\n",
]


@pytest.mark.parametrize("source,span_text,mentions", CATCHES)
def test_catches_with_exact_span(source, span_text, mentions):
    finding = findings(source, "DC115")[-1]
    assert source[finding.span.start : finding.span.end] == span_text
    for mention in mentions:
        assert mention in finding.message
    assert finding.severity.value == "warning"


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC115") == []


def test_fix_adds_cache_mounts_unsafe():
    source = GO + "RUN go build -o /app .\n"
    [finding] = findings(source, "DC115")
    assert finding.fix.applicability.value == "unsafe"
    fixed = apply(source, finding.fix)
    assert fixed.endswith(
        "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build -o /app .\n"
    )
    assert findings(fixed, "DC115") == []


def test_fix_never_mounts_the_cargo_target_dir():
    source = RUST + "RUN cargo build --release && rm -rf /usr/local/cargo/registry\n"
    [finding] = findings(source, "DC115")
    assert "target" in finding.message
    assert finding.fix is None


def test_module_download_and_build_are_reported_separately():
    source = "FROM golang:1.22\nCOPY go.* .\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\n"
    first, second = findings(source, "DC115")
    assert "/go/pkg/mod" in first.message and "go-build" not in first.message
    assert "go-build" in second.message and "/go/pkg/mod" not in second.message


def test_stake_is_reported():
    [finding] = findings(GO + "RUN go build .\n", "DC115")
    assert finding.stake.bytes >= 100_000_000
