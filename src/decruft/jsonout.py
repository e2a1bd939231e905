"""The JSON text of every ``--format json``/``sarif`` output, written by orjson.

Why a library: the standard library's encoder falls back to pure Python as soon as ``indent``
is set, which made writing the report a noticeable share of a large ``decruft audit`` run;
orjson writes the same documents (two-space indent, UTF-8 kept as is) many times faster.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(data: Any) -> str:
    """``data`` as indented JSON text (no trailing newline)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode("utf-8")
