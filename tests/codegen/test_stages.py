"""Each stage of the pass lists on its own: the code after it, as text (beside the end-to-end tests)."""
from __future__ import annotations

import ast

import numpy as np
import pytest

from s2sad.codegen import stages
from s2sad.errors import DifferentiationError
from s2sad.frontend.source import load
from s2sad.passes.simplify import peephole


def tanh_layer(x, w):
    y = np.tanh(x * w)
    return np.sum(y ** 2)


def scaled(x):
    a = x * 3.0
    b = a
    return np.sum(b * b)


def pair(x, y):
    s = np.sin(x + y)
    return x * y, s


def after(fn, stage: str, mode: str = "reverse", **options) -> str:
    """The code of `fn`'s derivative after `stage`, running the list up to it."""
    todo = stages.REVERSE if mode == "reverse" else stages.FORWARD
    names = [s.name for s in todo]
    job = stages.Job(load(fn), "test", f"{fn.__name__}_{mode}", **options)
    stages.run(todo[:names.index(stage) + 1], job)
    return job.text if stage == "emit" else job.code()


def test_the_pass_lists_are_data_in_running_order():
    assert [s.name for s in stages.REVERSE] == ["normalize", "activity", "check", "reverse", "peephole", "prune",
                                                "copies", "fuse", "lower", "emit"]
    assert [s.name for s in stages.FORWARD] == ["normalize", "activity", "check", "forward", "dead", "fuse", "blocks", "lower",
                                                "emit"]
    assert [s.name for s in stages.BATCH] == ["tapes", "normalize", "check", "batch", "dead", "blocks", "lower",
                                              "emit"]


def grown(x):
    hs = []
    for k in range(3):
        hs.append(np.tanh(x * k))
    return np.sum(np.stack(hs) ** 2)


def test_tapes_gives_each_saved_slot_of_generated_code_its_own_list():
    import s2sad
    g = s2sad.grad(grown)
    g(np.ones(2))
    job = stages.Job(load(g._compiled["numpy"].fn), "test", "grown_grad_vmap", select=(1,))
    stages.run(stages.BATCH[:1], job)
    code = ast.unparse(job.src.tree)
    assert "tape" not in code.replace("tape_", "")
    for slot in ("cond1", "hs", "hs_k"):
        assert f"tape_{slot} = []" in code and f"tape_{slot}.append({slot})" in code and \
            f"{slot} = tape_{slot}.pop()" in code
    assert "tape_hs_hs_k.append(np.copy(hs[hs_k]))" in code and "hs[hs_k] = tape_hs_hs_k.pop()" in code
    assert "tape = []" in g.source and "tape_cond1" not in g.source       # the gradient's own file keeps one


def test_normalize_gives_one_primitive_per_assignment():
    code = after(tanh_layer, "normalize")
    assert "t1 = x * w" in code and "y = np.tanh(t1)" in code
    assert "np.tanh(x * w)" not in code


def test_reverse_writes_each_rule_and_unbroadcasts_the_parameter_cotangent():
    code = after(tanh_layer, "reverse")
    assert "t1_bar = y_bar * (1 - y ** 2)" in code        # the tanh rule, through its output
    assert "x_bar = _rt.unbroadcast(t1_bar * w, x)" in code
    assert code.index("result = np.sum(t2)") < code.index("result_bar = out_bar")   # forward, then reverse


def test_peephole_turns_a_reset_and_an_add_into_one_assignment():
    stmts = ast.parse("v = 0.0\nv = v + e\nw = 0.0\nw = w + w").body
    out = ast.unparse(ast.Module(body=peephole(stmts), type_ignores=[]))
    assert out.splitlines() == ["v = e", "w = 0.0", "w = w + w"]    # w + w reads w: left alone


def test_prune_drops_what_only_computed_a_value_not_returned():
    before = after(tanh_layer, "peephole", value=False)
    pruned = after(tanh_layer, "prune", value=False)
    assert "result = np.sum(t2)" in before and "result = np.sum(t2)" not in pruned
    assert "t2 = y ** 2" not in pruned and "return (None, x_bar)" in pruned
    kept = after(tanh_layer, "prune", value=True)       # the value is returned: nothing goes
    assert "result = np.sum(t2)" in kept


def lstsq_fit(a, b, w):
    x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(w * x) + np.sum(s)


def test_prune_never_reads_a_shape_from_another_item_of_a_tuple():
    # x and s are items of lstsq's tuple, of different shapes: a shape argument naming x stays x
    before = after(lstsq_fit, "peephole", value=False)
    pruned = after(lstsq_fit, "prune", value=False)
    assert "s = t1[3]" in before and "s = t1[3]" not in pruned
    assert "x = t1[0]" in pruned and ", s)" not in pruned and "_rt.unbroadcast(_rt.full(t2_bar, t2) * w, x)" in pruned


def test_copies_reads_the_source_of_a_reverse_sweep_copy():
    before = after(scaled, "peephole")
    code = after(scaled, "copies")
    assert "a_bar = b_bar" in before
    assert "a_bar = b_bar" not in code and "b_bar" in code


def test_fuse_inlines_temporaries_read_once():
    code = after(tanh_layer, "fuse")
    assert "t1" not in code and "t2" not in code
    assert "y = np.tanh(x * w)" in code


def test_lower_moves_the_code_to_the_backend_module():
    assert "np.tanh" in after(tanh_layer, "lower")
    code = after(tanh_layer, "lower", backend="cupy")
    assert "cp.tanh(x * w)" in code and "np." not in code


def test_forward_mode_gives_each_value_its_tangent():
    code = after(tanh_layer, "forward", mode="forward", wrt_nums=(0, 1))
    assert "y_dot = t1_dot * (1 - y ** 2)" in code
    assert "return (result, result_dot)" in code


def test_dead_removes_what_a_selected_output_does_not_need():
    before = after(pair, "forward", mode="forward", wrt_nums=(0,), select=(0,))
    assert "np.sin" in before
    selected = after(pair, "dead", mode="forward", wrt_nums=(0,), select=(0,))
    assert "np.sin" not in selected and "x * y" in selected


def test_emit_writes_a_header_with_its_facts():
    text = after(tanh_layer, "emit", value=False)
    assert "# s2sad-facts: active_output=True" in text
    assert "def tanh_layer_reverse(x, w, out_bar=1.0):" in text


def test_dump_prints_the_named_stages(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path))
    monkeypatch.setenv("S2SAD_DUMP", "normalize,fuse")
    job = stages.Job(load(tanh_layer), "test", "g")
    stages.run(stages.REVERSE, job, stages.dumped())
    err = capsys.readouterr().err
    assert "# --- tanh_layer: after normalize ---" in err and "# --- tanh_layer: after fuse ---" in err
    assert "after reverse" not in err


def test_dump_refuses_a_stage_that_does_not_exist(monkeypatch):
    monkeypatch.setenv("S2SAD_DUMP", "normalise")
    with pytest.raises(DifferentiationError, match="names no stage normalise.*normalize"):
        stages.dumped()


def _ticking(step: float):
    """A clock that moves `step` seconds each time it is read."""
    now = [0.0]

    def clock():
        now[0] += step
        return now[0]
    return clock


def test_a_slow_transform_says_where_it_is_at_each_stage(monkeypatch, capsys):
    monkeypatch.setattr(stages, "_clock", _ticking(0.5))
    stages.run(stages.REVERSE, stages.Job(load(tanh_layer), "test", "g", value=False))
    lines = capsys.readouterr().err.splitlines()
    assert lines, "no progress line"
    assert all(line.startswith("s2sad: transforming tanh_layer (test_stages.py:") for line in lines)
    assert ", 2 statements): " in lines[0]
    shown = [line.split("): ")[1].split(" after ")[0] for line in lines]
    names = [s.name for s in stages.REVERSE]
    assert shown == names[names.index(shown[0]):] + ["done"]     # one line per stage from then on, then done
    assert shown[0] != "normalize"                                # not before the first 2 s
    seconds = [float(line.split(" after ")[1].removesuffix(" s")) for line in lines]
    assert seconds == sorted(seconds) and seconds[0] > stages.SLOW_S


def test_a_quick_transform_prints_nothing(monkeypatch, capsys):
    monkeypatch.setattr(stages, "_clock", _ticking(0.01))
    stages.run(stages.REVERSE, stages.Job(load(tanh_layer), "test", "g", value=False))
    assert capsys.readouterr().err == ""


def idle_loop(x):
    for i in range(3):
        pass
    return np.sum(x ** 2)


def test_blocks_leaves_no_loop_empty_in_forward_mode():
    before = after(idle_loop, "dead", mode="forward", wrt_nums=(0,))
    code = after(idle_loop, "blocks", mode="forward", wrt_nums=(0,))
    with pytest.raises(SyntaxError):           # normalize dropped the `pass`: the loop has no body
        compile(before, "idle_loop", "exec")
    compile(code, "idle_loop", "exec")
    assert "for i in range(3):\n        pass" in code
