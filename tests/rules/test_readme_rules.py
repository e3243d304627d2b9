"""README.md's list of the functions s2sad differentiates (between `<!-- rules:start -->` and
`<!-- rules:end -->`) is made from the rules table; this test fails when it is stale. To refresh it:

    python tests/rules/test_readme_rules.py
"""
from __future__ import annotations

import pathlib
import re

from s2sad.rules import RULES

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"
_BLOCK = re.compile(re.escape(START) + r"\n(.*?)" + re.escape(END), re.S)


def _names(prefix: str, differentiable: bool) -> list[str]:
    out = []
    for key, r in RULES.items():
        if key.startswith(prefix) and r.differentiable == differentiable and "." not in key[len(prefix):]:
            out.append(key[len(prefix):])
    return sorted(out)


def block() -> str:
    """The list, as Markdown, from the rules table."""
    lines = ["The functions with a derivative rule (made from the rules table by "
             "`python tests/rules/test_readme_rules.py`):", ""]
    for title, prefix in (("NumPy", "np."), ("np.linalg", "np.linalg."), ("math", "math."),
                          ("scipy.special", "scipy.special.")):
        names = _names(prefix, True)
        lines.append(f"- **{title}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    zero = _names("np.", False) + [f"linalg.{n}" for n in _names("np.linalg.", False)] + \
        [f"math.{n}" for n in _names("math.", False)]
    lines += ["", "Without one (an integer, boolean or piecewise constant output, or one made from sizes: "
              "its derivative is zero, and s2sad says why): " + ", ".join(f"`{n}`" for n in sorted(zero)), ""]
    return "\n".join(lines)


def test_the_readme_list_of_functions_is_current():
    found = _BLOCK.search(README.read_text(encoding="utf-8"))
    assert found, f"README.md has no {START} ... {END} block"
    assert found.group(1) == block(), "README.md's list of functions is stale: run python tests/rules/test_readme_rules.py"


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    README.write_text(_BLOCK.sub(lambda _: f"{START}\n{block()}{END}", text, count=1), encoding="utf-8")
