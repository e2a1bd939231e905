"""A plugin that the base image's ONBUILD COPY brings in."""


def describe():
    return "hello-plugin 1.0"
