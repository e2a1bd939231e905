import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM fedora\nRUN dnf install -y httpd\n", "dnf install -y httpd"),
    ("FROM centos:7\nRUN yum -y install httpd\n", "yum -y install httpd"),
    ("FROM ubi9-minimal\nRUN microdnf install -y nginx\n", "microdnf install -y nginx"),
    ("FROM photon\nRUN tdnf install -y curl\n", "tdnf install -y curl"),
    ("FROM rockylinux:9\nRUN dnf --enablerepo crb install -y x\n", "dnf --enablerepo crb install -y x"),
    ("FROM fedora\nRUN dnf -y update\n", "dnf -y update"),
    ("FROM fedora\nRUN dnf -y groupinstall 'Development Tools'\n", "dnf -y groupinstall 'Development Tools'"),
    ("FROM opensuse/leap\nRUN zypper -n in curl\n", "zypper -n in curl"),
    ("FROM opensuse/leap\nRUN zypper --non-interactive install curl\n", "zypper --non-interactive install curl"),
    # the clean must come after the (last) install
    ("FROM fedora\nRUN dnf clean all && dnf install -y x\n", "dnf install -y x"),
    ("FROM fedora\nRUN dnf install -y a && dnf clean all && dnf install -y b\n", "dnf install -y b"),
    # `clean packages` keeps the metadata
    ("FROM fedora\nRUN dnf install -y x && dnf clean packages\n", "dnf install -y x"),
    # an unrelated removal
    ("FROM fedora\nRUN dnf install -y x && rm -rf /tmp/*\n", "dnf install -y x"),
    ("FROM fedora\nRUN sudo dnf install -y x\n", "sudo dnf install -y x"),
    ("FROM fedora\nRUN <<EOF\ndnf install -y x\nEOF\n", "dnf install -y x"),
    ("FROM fedora\nRUN dnf install -y \\\n      gcc \\\n      make\n", "dnf install -y \\\n      gcc \\\n      make"),
]
ACCEPTS = [
    "FROM fedora\nRUN dnf install -y httpd && dnf clean all\n",
    "FROM centos:7\nRUN yum -y install httpd && yum clean all\n",
    # RHEL 8+: yum is dnf; either clean counts
    "FROM rockylinux:8\nRUN dnf install -y x && yum clean all\n",
    "FROM ubi9-minimal\nRUN microdnf install -y nginx && microdnf clean all\n",
    "FROM fedora\nRUN dnf install -y x && rm -rf /var/cache/dnf\n",
    "FROM fedora\nRUN dnf install -y x \\\n && rm -rf /var/cache/dnf/* /var/cache/yum\n",
    "FROM centos:7\nRUN yum install -y x && rm -rf /var/cache/yum\n",
    "FROM fedora\nRUN --mount=type=cache,target=/var/cache/dnf,sharing=locked dnf install -y x\n",
    "FROM fedora\nRUN --mount=type=cache,target=/var/cache dnf install -y x\n",
    "FROM opensuse/leap\nRUN zypper -n in curl && zypper clean --all\n",
    "FROM opensuse/leap\nRUN zypper -n in curl && zypper cc -a\n",
    "FROM opensuse/leap\nRUN zypper -n in curl && rm -rf /var/cache/zypp/*\n",
    "FROM fedora\nRUN <<EOF\ndnf install -y x\ndnf clean all\nEOF\n",
    "FROM fedora\nRUN dnf remove -y x\n",
    "FROM fedora\nRUN dnf repolist\n",
    'FROM fedora\nRUN ["dnf", "install", "-y", "x"]\n',
    "FROM fedora AS unused\nRUN dnf install -y x\nFROM fedora\nRUN true\n",
]


@pytest.mark.parametrize("source,span_text", CATCHES)
def test_catches_with_exact_span(source, span_text):
    [finding] = findings(source, "DC105")
    assert source[finding.span.start : finding.span.end] == span_text


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC105") == []


@pytest.mark.parametrize(
    "source,expected",
    [
        ("FROM fedora\nRUN dnf install -y x\n", "FROM fedora\nRUN dnf install -y x && dnf clean all\n"),
        (
            "FROM fedora\nRUN dnf install -y \\\n      gcc \\\n   && echo done\n",
            "FROM fedora\nRUN dnf install -y \\\n      gcc \\\n   && echo done \\\n   && dnf clean all\n",
        ),
        (
            "FROM fedora\nRUN dnf install -y gcc && \\\n    echo done\n",
            "FROM fedora\nRUN dnf install -y gcc && \\\n    echo done && \\\n    dnf clean all\n",
        ),
        ("FROM fedora\nRUN sudo yum install -y x;\n", "FROM fedora\nRUN sudo yum install -y x; sudo yum clean all\n"),
        ("FROM fedora\nRUN <<EOF\n  dnf install -y x\nEOF\n", "FROM fedora\nRUN <<EOF\n  dnf install -y x\n  dnf clean all\nEOF\n"),
        ("FROM opensuse/leap\nRUN zypper -n in x\n", "FROM opensuse/leap\nRUN zypper -n in x && zypper clean --all\n"),
        (
            "# escape=`\nFROM fedora\nRUN dnf install -y x `\n && echo ok\n",
            "# escape=`\nFROM fedora\nRUN dnf install -y x `\n && echo ok `\n && dnf clean all\n",
        ),
        ("FROM fedora\r\nRUN dnf install -y x \\\r\n && echo ok\r\n", "FROM fedora\r\nRUN dnf install -y x \\\r\n && echo ok \\\r\n && dnf clean all\r\n"),
    ],
)
def test_fix_appends_clean_in_the_files_style(source, expected):
    [finding] = findings(source, "DC105")
    assert finding.fix.applicability.value == "safe"
    fixed = apply(source, finding.fix)
    assert fixed == expected
    assert findings(fixed, "DC105") == []


def test_no_fix_when_the_last_line_ends_in_a_comment():
    source = "FROM fedora\nRUN dnf install -y x # the web server\n"
    [finding] = findings(source, "DC105")
    assert finding.fix is None


def test_builder_stage_is_info_and_root_copy_is_warning():
    narrow = "FROM fedora AS build\nRUN dnf install -y gcc\nFROM fedora\nCOPY --from=build /out /out\n"
    [finding] = findings(narrow, "DC105")
    assert finding.severity.value == "info"
    whole = "FROM fedora AS build\nRUN dnf install -y gcc\nFROM scratch\nCOPY --from=build / /\n"
    [finding] = findings(whole, "DC105")
    assert finding.severity.value == "warning"


@pytest.mark.parametrize(
    "command, pragma, silenced",
    [
        ("dnf install -y x", "DL3040", True),
        ("microdnf install -y x", "DL3040", True),
        ("yum install -y x", "DL3032", True),
        ("zypper install -y x", "DL3036", True),
        # hadolint has one rule per program: its pragma for yum does not silence dnf
        ("dnf install -y x", "DL3032", False),
        ("yum install -y x", "DL3040", False),
        ("zypper install -y x", "DL3032", False),
        ("dnf install -y x", "DC105", True),
    ],
)
def test_hadolint_pragmas_silence_only_their_program(command, pragma, silenced):
    tool = "hadolint" if pragma.startswith("DL") else "decruft:"
    text = f"FROM fedora\n# {tool} ignore={pragma}\nRUN {command}\n"
    assert (findings(text, "DC105") == []) is silenced
    global_text = f"# {tool} global ignore={pragma}\nFROM fedora\nRUN {command}\n"
    assert (findings(global_text, "DC105") == []) is silenced
