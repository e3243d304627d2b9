"""What the runtime needs from the layers above it, installed by them when they are imported.

Generated code imports only the runtime; a few of its helpers must run other generated code (a
recursive call's derivative runs the function's own gradient). The runtime cannot import the API
that compiles it, so the API installs those entry points here (api/targets.py).
"""
from __future__ import annotations

from typing import Callable

_HOOKS: dict[str, Callable] = {}


def install(name: str, fn: Callable) -> None:
    _HOOKS[name] = fn


def call(name: str, *args):
    try:
        fn = _HOOKS[name]
    except KeyError:
        raise RuntimeError(f"s2sad.runtime: {name} is installed by s2sad.api, which is not imported") from None
    return fn(*args)
