import pytest

from decruft.audit.facts import parse_image_reference
from decruft.dockerfile import parse
from tests.rules.helpers import findings, lines

REWRITES = [
    ("FROM python:3.12\n", "FROM python:3.12-slim\n"),
    ("FROM python\n", "FROM python:slim\n"),
    ("FROM python:latest\n", "FROM python:slim\n"),
    ("FROM python:3.12-bookworm\n", "FROM python:3.12-slim-bookworm\n"),
    ("FROM python:3.12.3-bullseye AS app\n", "FROM python:3.12.3-slim-bullseye AS app\n"),
    ("FROM python:bookworm\n", "FROM python:slim-bookworm\n"),
    ("FROM node:20\n", "FROM node:20-slim\n"),
    ("FROM node:20-bookworm\n", "FROM node:20-bookworm-slim\n"),
    ("FROM node:lts\n", "FROM node:lts-slim\n"),
    ("FROM debian:bookworm\n", "FROM debian:bookworm-slim\n"),
    ("FROM debian:12\n", "FROM debian:12-slim\n"),
    ("FROM debian\n", "FROM debian:stable-slim\n"),
    ("FROM ruby:3.3-bookworm\n", "FROM ruby:3.3-slim-bookworm\n"),
    # registry prefixes are kept as written
    ("FROM docker.io/library/python:3.12\n", "FROM docker.io/library/python:3.12-slim\n"),
    ("FROM public.ecr.aws/docker/library/node:20\n", "FROM public.ecr.aws/docker/library/node:20-slim\n"),
    ("FROM --platform=linux/amd64 python:3.12\n", "FROM --platform=linux/amd64 python:3.12-slim\n"),
    ("from python:3.12 as app\n", "from python:3.12-slim as app\n"),
    # the root of the final chain, through stage aliases
    ("FROM python:3.12 AS base\nFROM base\nRUN true\n", "FROM python:3.12-slim AS base\nFROM base\nRUN true\n"),
]
CATCHES_WITHOUT_EDIT = [
    "FROM python:3.12@sha256:" + "a" * 64 + "\n",  # pinned: the digest would no longer match
    "ARG PY=3.12\nFROM python:${PY}\n",  # built from an ARG
    "FROM eclipse-temurin:21\n",  # a JRE image is another repository/tag scheme
    "FROM eclipse-temurin:21-jdk-jammy\n",
    "FROM php:8.3-apache\n",
    "FROM r-base:4.3.3\n",
]
ACCEPTS = [
    "FROM python:3.12-slim\n",
    "FROM python:3.12-slim-bookworm\n",
    "FROM python:3.12-alpine\n",
    "FROM node:20-alpine3.19\n",
    "FROM debian:bookworm-slim\n",
    "FROM eclipse-temurin:21-jre\n",
    "FROM python:3.12-windowsservercore-ltsc2022\n",
    "FROM ubuntu:24.04\n",  # no slimmer variant of the same family
    "FROM scratch\n",
    "FROM gcr.io/distroless/python3-debian12\n",
    "FROM myorg/python:3.12\n",  # not the official image
    # SDK images are DC150's
    "FROM golang:1.22\n",
    "FROM rust:1.77\n",
    # full images in builder stages are fine
    "FROM python:3.12 AS build\nRUN pip wheel -w /w psycopg2\nFROM python:3.12-slim\nCOPY --from=build /w /w\n",
    "FROM node:20 AS build\nRUN npm ci\nFROM nginx:alpine\nCOPY --from=build /dist /usr/share/nginx/html\n",
    # an unknown base from an ARG without default
    "ARG BASE\nFROM ${BASE}\n",
]


@pytest.mark.parametrize("source,fixed", REWRITES)
def test_rewrites_the_tag(source, fixed):
    [finding] = findings(source, "DC140")
    assert finding.fix.applicability.value == "unsafe"
    [edit] = finding.fix.edits
    out = source[: edit.span.start] + edit.replacement + source[edit.span.end :]
    assert out == fixed
    parse(out)


@pytest.mark.parametrize("source", CATCHES_WITHOUT_EDIT)
def test_catches_without_edit(source):
    [finding] = findings(source, "DC140")
    assert finding.fix.edits == []


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC140") == []


def test_message_and_stake():
    [finding] = findings("FROM python:3.12\nCOPY . /app\n", "DC140")
    assert finding.line == 1 and finding.severity.value == "warning"
    assert "python:3.12-slim" in finding.message and "compilers" in finding.message
    assert finding.stake.bytes > 500_000_000 and not finding.stake.measured


def test_target_selection():
    source = "FROM python:3.12 AS dev\nRUN true\nFROM python:3.12-slim AS prod\nRUN true\n"
    assert lines(source, "DC140") == []
    assert lines(source, "DC140", target="dev") == [1]


@pytest.mark.parametrize(
    "text,registry,repository,tag,digest",
    [
        ("python", None, "python", None, None),
        ("python:3.12", None, "python", "3.12", None),
        ("docker.io/library/python:3.12-slim@sha256:ab", "docker.io", "python", "3.12-slim", "sha256:ab"),
        ("localhost:5000/team/app:1", "localhost:5000", "team/app", "1", None),
        ("registry.example.com:443/python", "registry.example.com:443", "python", None, None),
        ("rocker/r-ver:4.3", None, "rocker/r-ver", "4.3", None),
        ("python@sha256:abc", None, "python", None, "sha256:abc"),
    ],
)
def test_parse_image_reference(text, registry, repository, tag, digest):
    reference = parse_image_reference(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
