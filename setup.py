"""Builds the optional compiled tar header loop; all other metadata is in pyproject.toml.

``optional=True``: without a C compiler (or Python headers) the install still succeeds and
``decruft.image.tarstream`` uses its pure-Python loop (the reference) for everything.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("decruft.image._tarscan", ["src/decruft/image/_tarscan.c"], optional=True)])
