"""What the API must know about a generated function, kept in its file's header so that a file read back
from the cache needs no transform: `Facts` writes its own header line and reads it back."""
from __future__ import annotations

from dataclasses import dataclass, field

MARK = "# s2sad-facts: "


@dataclass
class Facts:
    """Facts about one generated function.

    active_output: the output depends on a differentiated parameter (else the gradient is zero).
    scalar_if: the value is not computed, and the output is a scalar when this parameter is one.
    indexed: parameters read by element inside loops (the API may pass them as 1-D vectors).
    value, scalar_output: whether the value is returned; whether the output is certainly a scalar.
    tangents: forward mode's tangent parameters, in order.
    loops: vmap's primitives with no batched form, run once per example.
    """

    active_output: bool = True
    scalar_if: str | None = None
    indexed: list[str] = field(default_factory=list)
    value: bool = True
    scalar_output: bool = False
    tangents: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)     # vmap: primitives run once per example

    def line(self) -> str:
        """The header line (only what a cached file needs: the rest is known from the options)."""
        text = f"{MARK}active_output={self.active_output}"
        if self.scalar_if:
            text += f" scalar_if={self.scalar_if}"
        if self.indexed:
            text += f" indexed={','.join(self.indexed)}"
        return text

    @classmethod
    def parse(cls, line: str) -> "Facts":
        """The facts of a header line written by `line()`."""
        fields = dict(item.partition("=")[::2] for item in line[len(MARK):].split())
        return cls(active_output=fields.get("active_output") == "True",
                   scalar_if=fields.get("scalar_if") or None,
                   indexed=[v for v in fields.get("indexed", "").split(",") if v])
