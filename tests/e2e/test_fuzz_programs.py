"""Random programs written the way people write NumPy code (progen.py), each checked in reverse mode,
forward mode and to second order against central differences (differential.py).

CI runs a fixed set of seeds; benchmarks/fuzz.py runs thousands on seeds CI never uses. A program may
be refused (a DifferentiationError that names the user's line), never answered wrongly, never crash.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import differential
import progen

# the seeds CI runs, and the programs the large runs (benchmarks/fuzz.py) found wrong or crashing, fixed since
FOUND = [1000948, 1002576, 2001920, 3002250, 3003661, 4001025, 5004213, 9004743, 32000003, 32000018]
SEEDS = list(range(48)) + FOUND


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    import sys
    path = tmp_path_factory.mktemp("programs")
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))


# the dialect with tuples, lists, dicts and helpers returning two values (progen's `containers`)
CONTAINER_FOUND = [(7000075, 1), (7000146, 1), (12001125, 2)]          # (seed, dialect)
CONTAINER_SEEDS = [(s, 2) for s in range(8000000, 8000016)] + CONTAINER_FOUND


@pytest.mark.parametrize("seed, containers", [(s, 0) for s in SEEDS] + CONTAINER_SEEDS)
def test_random_program_in_every_mode(seed, containers, workdir):
    program = progen.generate(seed, containers=containers)
    out = differential.check(program, workdir)
    bad = {m: d for m, (s, d) in out.modes.items() if s in ("wrong", "crash")}
    assert not bad, f"seed {seed}:\n{program.source}\n{bad}"
    for mode, (status, detail) in out.modes.items():
        if status == "refused":       # a refusal says which line and why
            assert detail, (mode, program.source)


# vmap (the function, then its gradient, over a batch of examples against a loop): the seeds CI runs,
# and what the large runs found wrong or crashing, fixed since (refused, where that is the fix)
VMAP_FOUND = [(20000008, 0), (20000053, 0), (20000203, 0), (22000210, 0), (22000577, 0), (22001047, 0),
              (25001534, 0), (29000457, 2), (30000478, 0), (30000559, 0), (31000536, 2)]
VMAP_SEEDS = [(s, 0) for s in range(30)] + [(s, 2) for s in range(8000000, 8000010)] + VMAP_FOUND


@pytest.mark.parametrize("seed, containers", VMAP_SEEDS)
def test_random_program_batched(seed, containers, workdir):
    program = progen.generate(seed, containers=containers)
    out = differential.check(program, workdir, modes=("vmap",))
    bad = {m: d for m, (s, d) in out.modes.items() if s in ("wrong", "crash")}
    assert not bad, f"seed {seed}:\n{program.source}\n{bad}"


def test_most_random_programs_are_differentiated(workdir):
    """Refusals are the exception: under 10% of these seeds (the 10,000-program runs say under 3%)."""
    outs = [differential.check(progen.generate(s), workdir, modes=("reverse",)) for s in range(100, 160)]
    judged = [o for o in outs if o.status != "discarded"]
    refused = [o for o in judged if o.status == "refused"]
    assert len(judged) >= 50 and len(refused) <= 0.1 * len(judged)


def test_the_generator_writes_what_people_write():
    features = set()
    for s in range(200):
        features |= progen.generate(s).features
    for wanted in ("helper-rebinds-parameter", "helper-result-rebinds", "repeated-argument", "self-assignment-parameter",
                   "augmented-parameter", "float-copy-then-augment", "row-write", "column-write",
                   "row-augmented", "element-write", "fancy-index-write", "if", "elif", "for", "while",
                   "break/continue",
                   "early-return"):
        assert wanted in features, wanted


@pytest.mark.parametrize("seed", range(0, 300, 3))
def test_the_generator_tracks_kinds(seed):
    """Every variable has the kind (number, vector, matrix) the generator thinks it has: the programs
    test what they mean to test."""
    program = progen.generate(seed, check_kinds=True)
    namespace: dict = {}
    exec(compile(program.source, f"<program {seed}>", "exec"), namespace)
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in program.args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            namespace["f"](*args)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {exc} has another kind\n{program.source}") from None
        except (FloatingPointError, ValueError, ZeroDivisionError):
            pass                                  # a numerical failure: the harness discards those


def test_the_generator_is_deterministic_across_processes():
    """A seed names the same program in every process (whatever the hash seed), so a failing seed
    reported by benchmarks/fuzz.py can be run again."""
    import os
    import subprocess
    import sys
    code = ("import sys, hashlib; sys.path.insert(0, %r); import progen; "
            "print(hashlib.sha256(''.join(progen.generate(s).source for s in range(40)).encode()).hexdigest())"
            % os.path.dirname(progen.__file__))
    outs = {subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONHASHSEED=str(h)),
                           capture_output=True, text=True, check=True).stdout for h in (1, 2)}
    assert len(outs) == 1


def test_a_kink_of_the_gradient_at_the_point_is_discarded_not_judged(workdir):
    # seed 15001237 evaluates sin(|x|)-like code at x = 0.0: the gradient has a kink there, s2sad's
    # Hessian is one of its one-sided second derivatives and central differences their mean (they agree
    # at every step). The harness must discard it rather than report it wrong (as it did once)
    out = differential.check(progen.generate(15001237), workdir, ("second",))
    assert out.status == "discarded" and "kink of the gradient" in out.detail
