"""np.einsum and np.tensordot as contractions, and their derivatives.

An einsum of n operands is read as a contraction of n + 1 slots: slot 0 is the output, slots 1..n the
operands. `<g, einsum(a1, ..., an)>` is the full contraction M(g, a1, ..., an), and the derivative of
M in slot k is the contraction of every other slot, shaped like slot k: `einsum_grad{k}`. So
`einsum_grad0` is the einsum itself, `einsum_grad{k}(subscripts, g, a1, ..., an)` is the cotangent of
operand k, and the derivatives of these are again `einsum_grad`s (every order).

A letter repeated within the slot that is solved for (the cotangent of `np.einsum('ii->i', a)`) puts
the result on a diagonal: the repeat becomes a letter of its own, tied to the first by an identity
matrix. A letter of that slot that no other slot has (a summed axis, or a broadcast axis of length 1)
is spread by a vector of ones.
"""
from __future__ import annotations

import string

import numpy as np

from ..backends import module_of as _xp

SLOTS = 7          # the output and up to six operands


def _refuse(message: str):
    from .arrays import refuse
    refuse(message)


def _parse(subscripts, n: int) -> list[str]:
    """The subscripts of the output (first) and of the n operands, spaces removed, `...` kept."""
    if not isinstance(subscripts, str):
        _refuse("np.einsum in its interleaved form (operand, sublist, ...) is not differentiated: "
                "write the subscripts as a string")
    s = subscripts.replace(" ", "")
    lhs, arrow, out = s.partition("->")
    ins = lhs.split(",")
    if len(ins) > SLOTS - 1:
        _refuse("np.einsum of more than six operands is not differentiated")
    if len(ins) != n:
        raise ValueError(f"s2sad: np.einsum subscripts {subscripts!r} name {len(ins)} operands, {n} given")
    if not arrow:       # implicit output: the ellipsis, then the letters used once, in ASCII order
        letters = "".join(x.replace("...", "") for x in ins)
        once = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        out = ("..." if any("..." in x for x in ins) else "") + once
    return [out] + ins


def _expand(subs: list[str], values: list) -> list[list[str]]:
    """Each slot's subscripts as a list of letters, its ellipsis replaced by letters of its own (one per
    broadcast axis, counted from the right, shared by every slot)."""
    used = set("".join(subs)) - {"."}
    fresh = iter(c for c in string.ascii_letters if c not in used)
    ell = [np.ndim(v) - (len(s) - 3) if "..." in s and v is not None else 0 for s, v in zip(subs, values)]
    width = max(ell[1:], default=0)
    letters = [next(fresh) for _ in range(width)]
    out = []
    for k, s in enumerate(subs):
        if "..." not in s:
            out.append(list(s))
            continue
        before, _, after = s.partition("...")
        nd = width if k == 0 else ell[k]
        out.append(list(before) + letters[width - nd:] + list(after))
    return out


def contract(subscripts, target: int, slots: list):
    """The contraction of every slot but `target`, shaped like slot `target` (see the module docstring).
    `slots[0]` is the output (None where it is the target and not known yet); `slots[target]` is read
    for its shape only."""
    n = max(k for k, v in enumerate(slots) if v is not None or k == 0)
    values = list(slots[: n + 1])
    subs = _expand(_parse(subscripts, n), values)
    for k, v in enumerate(values):
        if v is None and k != target:
            raise ValueError(f"s2sad: np.einsum operand {k} is missing")
        if v is not None and np.ndim(v) != len(subs[k]):
            raise ValueError(f"s2sad: np.einsum subscripts {subscripts!r} do not match operand shapes")
    if n == 1 and set(subs[1]) <= set(subs[0]):
        # NumPy returns a view of the operand ('ij->ji', 'ii->i'), which the aliasing analysis does not
        # follow (it reads a view's base from the first argument, here the subscripts): a later write into
        # the operand would change the result unseen
        _refuse(f"np.einsum({subscripts!r}, a) sums nothing and returns a view of a, which s2sad does not "
                "follow through later writes: write np.transpose, np.swapaxes or np.diagonal instead")
    used = set(c for s in subs for c in s)
    fresh = iter(c for c in string.ascii_letters if c not in used)
    size: dict[str, int] = {}
    for s, v in zip(subs, values):
        for c, m in zip(s, np.shape(v) if v is not None else ()):
            size[c] = max(size.get(c, 1), m)
    # an axis of length 1 that broadcasts against a longer one: a letter of its own
    for s, v in zip(subs, values):
        if v is not None:
            for i, (c, m) in enumerate(zip(s, np.shape(v))):
                if m == 1 and size[c] > 1:
                    s[i] = next(fresh)
                    size[s[i]] = 1
    mine = subs[target]
    others = [(s, v) for k, (s, v) in enumerate(zip(subs, values)) if k != target]
    xp = _xp(next((v for v in values if hasattr(v, "dtype")), None))      # where the arrays live
    dtype = np.result_type(*[getattr(v, "dtype", type(v)) for _, v in others], np.float32)
    extra = []
    seen: set[str] = set()
    for i, c in enumerate(mine):
        if c in seen:           # a repeated letter: the result lies on a diagonal
            mine[i] = next(fresh)
            extra.append(([c, mine[i]], xp.eye(size[c], dtype=dtype)))
        seen.add(c)
    elsewhere = {c for s, _ in others for c in s}
    for c in list(seen):
        if c not in elsewhere:  # summed over by this slot alone, or broadcast: spread by ones
            extra.append(([c], xp.ones(size[c], dtype=dtype)))
    terms = others + extra
    spec = ",".join("".join(s) for s, _ in terms) + "->" + "".join(mine)
    operands = [xp.asarray(v) for _, v in terms]      # numbers too (an array: itself)
    result = xp.einsum(spec, *operands, optimize=len(terms) > 2)
    if target and hasattr(values[target], "shape") and np.ndim(result) == 0:
        result = xp.asarray(result)
    return result


def _slot(target: int):
    def einsum_grad(subscripts, s0=None, s1=None, s2=None, s3=None, s4=None, s5=None, s6=None):
        return contract(subscripts, target, [s0, s1, s2, s3, s4, s5, s6])
    einsum_grad.__name__ = einsum_grad.__qualname__ = f"einsum_grad{target}"
    einsum_grad.__doc__ = (f"The contraction of np.einsum's slots (0: the output, 1...: the operands) but slot "
                           f"{target}, shaped like slot {target}" + (": the einsum itself." if target == 0 else
                                                                       f": the cotangent of operand {target}."))
    return einsum_grad


einsum_grad0, einsum_grad1, einsum_grad2, einsum_grad3, einsum_grad4, einsum_grad5, einsum_grad6 = \
    (_slot(k) for k in range(SLOTS))


def tensordot_subscripts(a, b, axes=2) -> str:
    """The einsum subscripts of np.tensordot(a, b, axes) (axes an int, or a pair of axes or sequences)."""
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a, ax_b = [x % na for x in ax_a], [x % nb for x in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [sa[i] for i in range(na) if i not in ax_a] + [sb[j] for j in range(nb) if j not in ax_b]
    return f"{''.join(sa)},{''.join(sb)}->{''.join(out)}"
