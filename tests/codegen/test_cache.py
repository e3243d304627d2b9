"""The cache of generated files: keys by content, verified files, repairs, concurrency, failures.

Multi-process tests run tests/cache_cases.py as a child (`python -B`, so that no stale .pyc hides a
source edit) and read the JSON line it prints; no test sleeps to synchronise.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import linecache
import os
import subprocess
import sys
import threading
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.codegen import cache, pipeline as compiler
from s2sad.codegen.emit import HEADER_MARK, verify

import cache_cases as cc

CHILD = Path(cc.__file__).resolve()


@pytest.fixture(autouse=True)
def gen(tmp_path, monkeypatch) -> Path:
    """Each test has its own (not yet existing) generated folder."""
    folder = tmp_path / "gen"
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(folder))
    return folder


def _env(gen: Path) -> dict:
    root = str(Path(__file__).resolve().parents[2])   # the checkout, whether or not s2sad is installed
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, S2SAD_GENERATED_DIR=str(gen), PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=path)
    env.pop("PYTHONWARNINGS", None)
    return env


def _child_cmd(path: Path, name: str, func: str, args, pre=(), gate=False, block=False) -> list[str]:
    cmd = [sys.executable, "-B", str(CHILD)]
    for p, n in pre:
        cmd += ["--pre", f"{p}:{n}"]
    if gate:
        cmd.append("--gate")
    if block:
        cmd.append("--block-write")
    return cmd + [f"{path}:{name}", func] + [str(a) for a in args]


def child(gen: Path, path: Path, name: str, func: str, *args, pre=()) -> dict:
    """Run grad(func)(*args) in a new process; its JSON report."""
    out = subprocess.run(_child_cmd(path, name, func, args, pre), env=_env(gen), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def files(folder: Path, pattern: str = "*") -> list[Path]:
    """The files in `folder` (not its __pycache__ of compiled code, see codes())."""
    return sorted(p for p in folder.glob(pattern) if p.is_file()) if folder.is_dir() else []


def codes(folder: Path) -> list[Path]:
    """The compiled-code files s2sad keeps beside the generated files."""
    return files(folder / cache.CODE_DIR)


def assert_valid(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(cache.GENERATED_MARK) and verify(text), path
    key = path.stem.rsplit("_", 1)[1]
    assert f"\n{cache.KEY_MARK}{key}\n" in text


def module(tmp_path: Path, stem: str, text: str):
    name = cc.unique(stem)
    path = cc.write_module(tmp_path, name, text)
    return cc.import_path(path, name), path, name


def cache_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, cache.CacheWarning)]


# --- keys, disk hits and misses across processes -----------------------------------------------------

def test_cold_then_warm_process(tmp_path, gen):
    name = cc.unique("loop")
    path = cc.write_module(tmp_path, name, cc.LOOP)
    cold = child(gen, path, name, "f", 2.0, 3.0)
    warm = child(gen, path, name, "f", 2.0, 3.0)
    assert cold["grad"] == warm["grad"] == 36.0
    assert (cold["generated"], warm["generated"]) == (1, 0)
    assert cold["path"] == warm["path"] and not cold["warnings"] and not warm["warnings"]
    assert len(files(gen)) == 1
    assert_valid(Path(warm["path"]))


def test_edit_with_same_mtime_and_size_regenerates(tmp_path, gen):
    name = cc.unique("poly")
    path = cc.write_module(tmp_path, name, cc.POLY)
    first = child(gen, path, name, "f", 2.0, 3.0)
    assert (first["grad"], first["generated"]) == (7.0, 1)
    st = path.stat()
    path.write_text(cc.POLY.replace("x * x + y * x", "x * x - y * x"), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    second = child(gen, path, name, "f", 2.0, 3.0)
    assert (second["grad"], second["generated"]) == (1.0, 1)
    assert second["path"] != first["path"]


def test_comment_or_whitespace_edit_is_a_hit(tmp_path, gen):
    name = cc.unique("poly")
    path = cc.write_module(tmp_path, name, cc.POLY)
    first = child(gen, path, name, "f", 2.0, 3.0)
    path.write_text(cc.POLY.replace("x * x + y * x", "x*x + y*x    # edited: comment and spacing"),
                    encoding="utf-8")
    second = child(gen, path, name, "f", 2.0, 3.0)
    assert first["grad"] == second["grad"] == 7.0
    assert (first["generated"], second["generated"]) == (1, 0)
    assert first["path"] == second["path"]


def test_callee_in_another_module_edited_regenerates(tmp_path, gen):
    callee = cc.unique("callee")
    callee_path = cc.write_module(tmp_path, callee, cc.CALLEE.format(body="x * x"))
    caller = cc.unique("caller")
    caller_path = cc.write_module(tmp_path, caller, cc.CALLER.format(callee=callee))
    pre = [(callee_path, callee)]
    first = child(gen, caller_path, caller, "f", 2.0, pre=pre)          # d/dx x^3 = 12
    again = child(gen, caller_path, caller, "f", 2.0, pre=pre)
    callee_path.write_text(cc.CALLEE.format(body="x * x * x"), encoding="utf-8")
    edited = child(gen, caller_path, caller, "f", 2.0, pre=pre)         # d/dx x^4 = 32
    assert (first["grad"], first["generated"]) == (12.0, 1)
    assert (again["grad"], again["generated"]) == (12.0, 0)
    assert (edited["grad"], edited["generated"]) == (32.0, 1)
    assert edited["path"] != first["path"] and len(files(gen)) == 2


def test_memory_hit_skips_the_disk(tmp_path, monkeypatch):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    reads = []
    original = cache.read
    monkeypatch.setattr(cache, "read", lambda *a: reads.append(a) or original(*a))
    assert s2sad.grad(m.f)(2.0, 3.0) == 36.0
    assert len(reads) == 1
    g = s2sad.grad(m.f)                     # a new grad object: the memory cache, not the disk
    assert g(2.0, 3.0) == 36.0
    assert len(reads) == 1
    assert g._compile("numpy").transformed  # the very object generated above


def test_key_covers_options(tmp_path):
    m, _, _ = module(tmp_path, "poly", cc.POLY)
    keys = {
        "argnums=0": s2sad.grad(m.f)._compile("numpy").key,
        "argnums=1": s2sad.grad(m.f, argnums=1)._compile("numpy").key,
        "argnums=(0,1)": s2sad.grad(m.f, argnums=(0, 1))._compile("numpy").key,
        "forward": compiler.compile_jvp(m.f, (0,)).key,
    }
    assert len(set(keys.values())) == len(keys), keys
    assert s2sad.grad(m.f)._compile("numpy").key == keys["argnums=0"]       # deterministic
    src = compiler.frontend.load(m.f)
    base = {"mode": "reverse", "argnums": 0, "has_aux": False, "backend": "numpy"}
    variants = [dict(base, has_aux=True), dict(base, backend="cupy"), dict(base, mode="forward"),
                dict(base, order=2)]
    assert len({cache.make_key([src], o) for o in [base] + variants}) == 1 + len(variants)


def test_key_covers_versions(tmp_path, monkeypatch):
    m, _, _ = module(tmp_path, "poly", cc.POLY)
    src = compiler.frontend.load(m.f)
    options = {"mode": "reverse", "argnums": 0}
    env = cache.environment()
    assert s2sad.__version__ in env and cache.compiler_fingerprint() in env
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in env
    base = cache.make_key([src], options)
    changed = []
    for attr, value in (("__version__", "99.0"), ("PYTHON", "cpython 3.99"), ("_FINGERPRINT", ["0" * 16])):
        with monkeypatch.context() as mp:
            mp.setattr(cache, attr, value)
            changed.append(cache.make_key([src], options))
    assert base not in changed and len(set(changed)) == 3
    assert cache.make_key([src], options) == base


def test_fingerprint_of_sources_and_its_memo(tmp_path, monkeypatch):
    """The s2sad-source part of the key: a content hash, remembered under the files' size and mtime."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    root = tmp_path / "pkg"
    (root / "rules").mkdir(parents=True)
    (root / "a.py").write_text("A = 1\n")
    (root / "rules" / "b.py").write_text("B = 2\n")
    (root / "notes.txt").write_text("not source\n")
    first = cache.fingerprint_of(str(root))
    memo = root / cache.CODE_DIR / "s2sad-fingerprint"
    assert memo.read_text().split()[1] == first and len(first) == 16
    assert cache.fingerprint_of(str(root)) == first
    (root / "notes.txt").write_text("still not source, longer\n")
    assert cache.fingerprint_of(str(root)) == first
    b = root / "rules" / "b.py"
    st = b.stat()
    b.write_text("B = 3\n")                            # same size; a new mtime: hashed again
    second = cache.fingerprint_of(str(root))
    assert second != first
    memo.unlink()
    assert cache.fingerprint_of(str(root)) == second    # the memo only saves time
    b.write_text("B = 2\n")
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.fingerprint_of(str(root)) == first
    memo.write_text("garbage\n")
    assert cache.fingerprint_of(str(root)) == first
    sig = memo.read_text().split()[0]
    memo.write_text(f"{sig} {'z' * 16}\n")              # the right signature, not a fingerprint
    assert cache.fingerprint_of(str(root)) == first
    memo.unlink()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)     # python -B: nothing written
    assert cache.fingerprint_of(str(root)) == first and not memo.exists()


def test_key_covers_helpers_transitively(tmp_path):
    name = cc.unique("deep")
    path = cc.write_module(tmp_path, name, cc.DEEP.format(inner="x * x"))
    m = cc.import_path(path, name)
    src = compiler.frontend.load(m.f)
    assert [d.qualname for d in compiler.dependencies(src)] == ["outer", "inner"]
    g = s2sad.grad(m.f)
    assert g(2.0) == 36.0
    key = g._compile("numpy").key
    path.write_text(cc.DEEP.format(inner="x * x * x"), encoding="utf-8")   # edit the innermost helper
    m = cc.import_path(path, name)
    g2 = s2sad.grad(m.f)
    assert g2(2.0) == 4 * 3.0 * 2.0 ** 3                 # d/dx 3 x^4
    assert g2._compile("numpy").key != key and g2.path != g.path


# --- corrupted and untrustworthy files ----------------------------------------------------------------

def _rehash(text: str, edit) -> str:
    """`text` with its body edited by `edit` and the hash line updated (a file that passes verify())."""
    start = text.index(HEADER_MARK)
    end = text.index("\n", start)
    body = text[end + 2:]
    new = edit(body)
    digest = hashlib.sha256(new.encode()).hexdigest()
    return text[:start] + HEADER_MARK + digest + "\n\n" + new


CORRUPTIONS = {
    "empty": lambda t: b"",
    "half": lambda t: t.encode()[: len(t.encode()) // 2],
    "random_bytes": lambda t: bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8)),
    "wrong_key_line": lambda t: t.replace(cache.KEY_MARK, cache.KEY_MARK + "0").encode(),
    "body_edited": lambda t: t.replace("return (", "return  (").encode(),
    # files that pass the hash check but are not usable
    "not_python": lambda t: _rehash(t, lambda b: b + "\ndef broken(:\n").encode(),
    "fails_to_load": lambda t: _rehash(t, lambda b: "import s2sad_no_such_module\n" + b).encode(),
    "no_function": lambda t: _rehash(t, lambda b: b.replace("def f_grad(", "def other_grad(")).encode(),
    "code_above_hash": lambda t: ("import os\n" + t).encode(),
    "cr_in_hash_line": lambda t: t.replace(HEADER_MARK, HEADER_MARK + "\r").encode(),
    "bom": lambda t: ("\ufeff" + t).encode(),
    "bad_free_line": lambda t: _rehash(t, lambda b: b.replace(
        compiler.FACTS_MARK, compiler.FREE_MARK + "SCALE=SCALE@x\n" + compiler.FACTS_MARK)).encode(),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_file_warns_and_is_repaired(tmp_path, gen, kind):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    path = s2sad.grad(m.f).path
    good = path.read_text(encoding="utf-8")
    path.write_bytes(CORRUPTIONS[kind](good))
    cache.memory_clear(gen)                 # as a new process would: go to the disk
    g = s2sad.grad(m.f)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert g(2.0, 3.0) == 36.0
    messages = cache_warnings(record)
    assert len(messages) == 1 and str(path) in messages[0], messages
    assert g._compile("numpy").transformed
    assert path.read_text(encoding="utf-8") == good
    assert_valid(path)
    assert files(gen) == [path]


@pytest.mark.parametrize("where", ["body", "header"])
def test_tampered_file_is_never_executed(tmp_path, gen, where):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    path = s2sad.grad(m.f).path
    good = path.read_text(encoding="utf-8")
    marker = tmp_path / "executed"
    evil = cc.TAMPER.format(marker=str(marker))
    if where == "body":       # appended to the hashed body: the hash no longer matches
        path.write_text(good + evil, encoding="utf-8")
    else:                     # above the hash line, which the hash does not cover: code, not comments
        path.write_text(evil + good, encoding="utf-8")
    cache.memory_clear(gen)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert s2sad.grad(m.f)(2.0, 3.0) == 36.0
    messages = cache_warnings(record)
    assert len(messages) == 1 and str(path) in messages[0], messages
    assert path.read_text(encoding="utf-8") == good
    assert not marker.exists()


def test_corrupted_file_in_a_new_process(tmp_path, gen):
    name = cc.unique("loop")
    path = cc.write_module(tmp_path, name, cc.LOOP)
    first = child(gen, path, name, "f", 2.0, 3.0)
    target = Path(first["path"])
    good = target.read_text(encoding="utf-8")
    target.write_text(good.replace("return (", "return (0.0 * "), encoding="utf-8")
    repaired = child(gen, path, name, "f", 2.0, 3.0)
    after = child(gen, path, name, "f", 2.0, 3.0)
    assert (repaired["grad"], repaired["generated"]) == (36.0, 1)
    assert len(repaired["warnings"]) == 1 and str(target) in repaired["warnings"][0]
    assert (after["grad"], after["generated"], after["warnings"]) == (36.0, 0, [])
    assert target.read_text(encoding="utf-8") == good and files(gen) == [target]


# --- the compiled code kept beside each file -------------------------------------------------------

def test_compiled_code_is_kept_and_used(tmp_path, gen, monkeypatch):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    path = s2sad.grad(m.f).path
    [code] = codes(gen)
    assert code == cache.code_path(path) and code.name.startswith(path.stem + ".")
    compiles = []
    original = cache.compile_text
    monkeypatch.setattr(cache, "compile_text", lambda *a: compiles.append(a[1]) or original(*a))
    cache.memory_clear(gen)
    g = s2sad.grad(m.f)
    assert g(2.0, 3.0) == 36.0 and not g._compile("numpy").transformed
    assert compiles == []                              # the disk hit did not compile the text again
    assert g._compile("numpy").fn.__code__.co_filename == str(path)


def _swap_body(text: str) -> str:
    """`text` with its gradient's last statement changed and the hash updated: a valid other file."""
    return _rehash(text, lambda b: b.replace("return (", "return (2.0 * "))


CODE_DAMAGE = {
    "garbage": lambda data, other: b"\x00" * 40 + data[40:],
    "truncated": lambda data, other: data[: len(data) // 2],
    "payload_flip": lambda data, other: data[:-20] + bytes([data[-20] ^ 0xFF]) + data[-19:],
    "empty": lambda data, other: b"",
    "for_other_text": lambda data, other: other,
}


@pytest.mark.parametrize("kind", list(CODE_DAMAGE))
def test_damaged_compiled_code_is_ignored(tmp_path, gen, kind):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    path = s2sad.grad(m.f).path
    code = cache.code_path(path)
    good = code.read_bytes()
    # the code a different text (the body changed, the hash updated) would have, stored for this path
    other_text = _swap_body(path.read_text(encoding="utf-8"))
    cache._store_code(path, other_text, compile(other_text, str(path), "exec"))
    other = code.read_bytes()
    code.write_bytes(CODE_DAMAGE[kind](good, other))
    cache.memory_clear(gen)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        g = s2sad.grad(m.f)
        assert g(2.0, 3.0) == 36.0                     # from the verified text, compiled again
    assert cache_warnings(record) == [] and not g._compile("numpy").transformed
    assert code.read_bytes() == good                   # and its code stored again


# --- folders that cannot be written ----------------------------------------------------------------

def _two_functions(tmp_path):
    a, _, _ = module(tmp_path, "loop", cc.LOOP)
    b, _, _ = module(tmp_path, "poly", cc.POLY)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ga, gb = s2sad.grad(a.f), s2sad.grad(b.f)
        assert ga(2.0, 3.0) == 36.0 and gb(2.0, 3.0) == 7.0
        assert s2sad.grad(a.f)(2.0, 3.0) == 36.0
        assert ga.path is None and gb.path is None
    return cache_warnings(record)


def test_generated_dir_is_a_regular_file(tmp_path, monkeypatch):
    target = tmp_path / "not_a_folder"
    target.write_text("I am a file\n")
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(target))
    messages = _two_functions(tmp_path)
    assert len(messages) == 1 and str(target) in messages[0], messages
    assert target.read_text() == "I am a file\n"


def test_read_only_dir(tmp_path, gen):
    gen.mkdir()
    gen.chmod(0o555)
    try:
        probe = gen / "probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("chmod does not stop this user from writing (root)")
        messages = _two_functions(tmp_path)
        assert len(messages) == 1 and str(gen) in messages[0], messages
        assert files(gen) == []
    finally:
        gen.chmod(0o755)


def test_generated_dir_below_a_regular_file(tmp_path, monkeypatch):
    """A folder that cannot be created, also for root: its parent is a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file\n")
    target = blocker / "sub" / "generated"
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(target))
    messages = _two_functions(tmp_path)
    assert len(messages) == 1 and str(target) in messages[0], messages
    assert blocker.read_text() == "I am a file\n"


def test_folder_refusing_new_files(tmp_path, gen, monkeypatch):
    """An existing folder where creating a file fails (what a read-only folder does, also as root)."""
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied (simulated read-only folder)", str(gen))

    gen.mkdir()
    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    messages = _two_functions(tmp_path)
    assert len(messages) == 1 and str(gen) in messages[0], messages
    assert files(gen) == [] and codes(gen) == []


def test_read_only_folder_with_files_still_hits(tmp_path, gen, monkeypatch):
    """A prepared read-only cache: its verified files are used, nothing is written, no warning."""
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    path = s2sad.grad(m.f).path
    before = {p: p.read_bytes() for p in files(gen) + codes(gen)}
    cache.memory_clear(gen)

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied (simulated read-only folder)", str(gen))

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        g = s2sad.grad(m.f)
        assert g(2.0, 3.0) == 36.0
    assert cache_warnings(record) == []
    assert g.path == path and not g._compile("numpy").transformed
    assert {p: p.read_bytes() for p in files(gen) + codes(gen)} == before


def test_missing_dir_is_created(tmp_path, monkeypatch):
    folder = tmp_path / "a" / "b" / "c"
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(folder))
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    g = s2sad.grad(m.f)
    assert g(2.0, 3.0) == 36.0
    assert g.path.parent == folder and files(folder) == [g.path]


# --- concurrency and interrupted writes -----------------------------------------------------------

def test_processes_racing_on_an_empty_cache(tmp_path, gen):
    name = cc.unique("loop")
    path = cc.write_module(tmp_path, name, cc.LOOP)
    procs = [subprocess.Popen(_child_cmd(path, name, "f", (2.0, 3.0), gate=True), env=_env(gen),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    for p in procs:                         # all started: release them together
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r["grad"] == 36.0 and not r["warnings"] for r in reports), reports
    assert len({r["path"] for r in reports}) == 1
    assert files(gen) == [Path(reports[0]["path"])]
    assert_valid(files(gen)[0])
    assert codes(gen) == [cache.code_path(files(gen)[0])]
    assert cache._load_code(files(gen)[0], files(gen)[0].read_text(encoding="utf-8")) is not None


def test_threads_racing_in_one_process(tmp_path, gen, monkeypatch):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    calls = []
    original = compiler.stages.run
    monkeypatch.setattr(compiler.stages, "run", lambda *a: calls.append(1) or original(*a))
    barrier = threading.Barrier(8)
    results, errors, compiled = [], [], []

    def work():
        try:
            barrier.wait(timeout=30)
            g = s2sad.grad(m.f)
            results.append(g(2.0, 3.0))
            compiled.append(g._compile("numpy"))
        except BaseException as exc:   # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and results == [36.0] * 8
    assert 1 <= len(calls) <= 8             # a race may transform twice ...
    assert len({c.source for c in compiled}) == 1   # ... to the same result
    assert len(files(gen)) == 1 and not files(gen, "*.tmp")
    assert_valid(files(gen)[0])


class Killed(BaseException):
    """A writer that dies between writing its temporary file and renaming it."""


def test_rename_that_fails_leaves_no_file(tmp_path, gen, monkeypatch):
    m, _, _ = module(tmp_path, "loop", cc.LOOP)

    def fail(*a, **k):
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(os, "replace", fail)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        g = s2sad.grad(m.f)
        assert g(2.0, 3.0) == 36.0
    assert len(cache_warnings(record)) == 1 and g.path is None
    assert files(gen) == []                 # no target, no temporary file


def test_writer_killed_before_rename(tmp_path, gen, monkeypatch):
    name = cc.unique("loop")
    path = cc.write_module(tmp_path, name, cc.LOOP)
    m = cc.import_path(path, name)

    def killed(*a, **k):
        raise Killed()

    with monkeypatch.context() as mp:
        mp.setattr(os, "replace", killed)
        with pytest.raises(Killed):
            s2sad.grad(m.f)(2.0, 3.0)
    assert files(gen) == []                 # neither half a file nor a temporary file
    nxt = child(gen, path, name, "f", 2.0, 3.0)
    assert (nxt["grad"], nxt["generated"], nxt["warnings"]) == (36.0, 1, [])
    assert files(gen) == [Path(nxt["path"])]
    assert_valid(files(gen)[0])


@pytest.mark.parametrize("old", ["none", "old"])
def test_process_killed_mid_write(tmp_path, gen, old):
    """SIGKILL while the temporary file holds half the text: the target is the old file or none."""
    name = cc.unique("loop")
    path = cc.write_module(tmp_path, name, cc.LOOP)
    good = None
    if old == "old":               # an edited file: the next process regenerates and rewrites it
        first = child(gen, path, name, "f", 2.0, 3.0)
        target = Path(first["path"])
        good = target.read_text(encoding="utf-8")
        target.write_text(good.replace("return (", "return (0.0 * "), encoding="utf-8")
        before = target.read_bytes()
    proc = subprocess.Popen(_child_cmd(path, name, "f", (2.0, 3.0), block=True), env=_env(gen),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()              # the handshake: half of the text is on disk
        assert line.strip() == b"blocked", (line, proc.stderr.read() if proc.poll() is not None else "")
        [tmp] = files(gen, "*" + cache.TMP_SUFFIX)
        partial = tmp.read_bytes()
        if old == "old":
            assert target.read_bytes() == before       # the old file is untouched while writing
        else:
            assert files(gen, "*.py") == []
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert proc.returncode == -9
    if old == "old":
        assert target.read_bytes() == before           # the old file, not half the new one
        assert files(gen, "*.py") == [target]
    else:
        assert files(gen, "*.py") == []                # no file at all
    nxt = child(gen, path, name, "f", 2.0, 3.0)        # the next process: correct, one valid file
    assert (nxt["grad"], nxt["generated"]) == (36.0, 1)
    assert len(nxt["warnings"]) == (1 if old == "old" else 0), nxt["warnings"]
    final = Path(nxt["path"])
    assert_valid(final)
    assert files(gen, "*.py") == [final]
    assert 0 < len(partial) < final.stat().st_size and final.read_bytes().startswith(partial)
    if good is not None:
        assert final.read_text(encoding="utf-8") == good
    assert files(gen, "*" + cache.TMP_SUFFIX) == [tmp]  # left by the kill, never read ...
    assert cache.clear() == 2 and files(gen) == []     # ... and removed by `cache clear`


# --- identity: same names, interactive cells, exec, closures -----------------------------------------

def test_same_qualname_in_two_files(tmp_path):
    a, _, _ = module(tmp_path, "scaled", cc.SCALED.format(scale=2.0))
    b, _, _ = module(tmp_path, "scaled", cc.SCALED.format(scale=3.0))
    ga, gb = s2sad.grad(a.f), s2sad.grad(b.f)
    assert (ga(1.0), gb(1.0)) == (4.0, 6.0)
    ca, cb = ga._compile("numpy"), gb._compile("numpy")
    assert ca.key != cb.key and ga.path != gb.path
    assert ga.path.name.startswith(a.__name__) and gb.path.name.startswith(b.__name__)
    assert ga.path.exists() and gb.path.exists()


def _cell(monkeypatch, filename: str, text: str):
    """Run `text` the way IPython runs a cell: source in linecache, compiled with the cell's name."""
    monkeypatch.setitem(linecache.cache, filename, (len(text), None, text.splitlines(True), filename))
    namespace = {"__name__": "__main__"}
    exec(compile(text, filename, "exec"), namespace)
    return namespace["f"]


def test_function_from_an_ipython_cell(monkeypatch):
    f1 = _cell(monkeypatch, "<ipython-input-1-5e2b7d0c1a9f>", cc.CELL)
    g1 = s2sad.grad(f1)
    assert np.isclose(g1(0.7), np.cos(0.7) * 0.7 + np.sin(0.7))
    assert g1.path.name.startswith("interactive_f_grad_")
    assert "np.sin(x) * x" in g1.source         # the cell's line is quoted
    f2 = _cell(monkeypatch, "<ipython-input-7-0b1c2d3e4f50>", "\n\n" + cc.CELL)   # same code, new cell
    f3 = _cell(monkeypatch, "<ipython-input-8-aa00bb11cc22>", cc.CELL.replace("* x", "* x * x"))
    k1, k2, k3 = (s2sad.grad(f)._compile("numpy").key for f in (f1, f2, f3))
    assert k1 == k2 != k3
    assert np.isclose(s2sad.grad(f3)(0.7), np.cos(0.7) * 0.49 + 2 * 0.7 * np.sin(0.7))


def test_function_from_a_jupyter_kernel_cell(monkeypatch):
    """ipykernel names cells like temporary files that do not exist: the source is only in linecache."""
    f1 = _cell(monkeypatch, "/nonexistent/ipykernel_4242/1234567890.py", cc.CELL)
    f2 = _cell(monkeypatch, "/nonexistent/ipykernel_4343/9876543210.py", "x0 = 1.0\n" + cc.CELL)
    g1, g2 = s2sad.grad(f1), s2sad.grad(f2)
    assert np.isclose(g1(0.7), np.cos(0.7) * 0.7 + np.sin(0.7)) and g2(0.7) == g1(0.7)
    assert g1.path == g2.path and g1.path.name.startswith("interactive_f_grad_")


@pytest.mark.skipif(importlib.util.find_spec("IPython") is None, reason="IPython is not installed")
def test_function_from_a_real_ipython_shell(tmp_path, gen):
    """A cell of a real IPython InteractiveShell, in two sessions: generated once, then a disk hit."""
    env = dict(_env(gen), IPYTHONDIR=str(tmp_path / "ipython"))
    reports = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-B", "-c", cc.IPYTHON_CHILD], env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        reports.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = reports
    assert first["filename"].startswith("<") and first["filename"] != "<string>"
    assert np.isclose(first["grad"], np.cos(0.7) * 0.7 + np.sin(0.7)) and second["grad"] == first["grad"]
    assert (first["transformed"], second["transformed"]) == (True, False)
    assert first["path"] == second["path"] and Path(first["path"]).name.startswith("interactive_f_grad_")
    assert "np.sin(x) * x" in first["source"] and not first["warnings"] and not second["warnings"]


def test_exec_without_linecache_is_a_clear_error():
    namespace = {"__name__": "built_by_exec"}
    exec(compile("def f(x):\n    return x * x\n", "<s2sad-test-exec>", "exec"), namespace)
    with pytest.raises(s2sad.DifferentiationError, match=r"cannot find the source of f .*exec\(\)"):
        s2sad.grad(namespace["f"])(1.0)


def _no_source_cases():
    built = {"__name__": "built_by_exec"}
    exec(compile("def f(x):\n    return x * x\n", "<string>", "exec"), built)
    ns = {}
    exec("def g(x):\n    return x + 1.0\n", ns)
    made = types.FunctionType(compile("def h(x):\n    return x\n", "<made>", "exec").co_consts[0], {})
    return {"exec_string": built["f"], "exec_plain": ns["g"], "FunctionType": made}


@pytest.mark.parametrize("case", ["exec_string", "exec_plain", "FunctionType"])
def test_no_retrievable_source_is_a_clear_error(case, gen):
    fn = _no_source_cases()[case]
    with pytest.raises(s2sad.DifferentiationError, match=r"cannot find the source of .* exec\(\)"):
        s2sad.grad(fn)(1.0)
    assert files(gen) == []


def test_not_a_python_function_is_a_clear_error():
    import math          # (np.sin has a rule: grad(np.sin) differentiates `def sin(x): return np.sin(x)`)
    with pytest.raises(s2sad.DifferentiationError, match="not a Python function.*def f"):
        s2sad.grad(np.frompyfunc(math.sin, 1, 1))(1.0)


def test_closure_value_read_at_call_time(tmp_path):
    m, _, _ = module(tmp_path, "closures", cc.CLOSURES)
    f, set_c = m.make(2.0)
    g = s2sad.grad(f)
    assert g(1.0) == 4.0
    set_c(5.0)                               # changed after decoration: read at call time
    assert g(1.0) == 10.0
    f7, _ = m.make(7.0)
    g7 = s2sad.grad(f7)
    assert g7(1.0) == 14.0 and g(1.0) == 10.0
    assert g7.path == g.path and len(files(g.path.parent, "closures*")) == 1


def test_closure_value_is_not_baked_into_the_file(tmp_path):
    m, _, _ = module(tmp_path, "closures", cc.CLOSURES)
    f, set_c = m.make(2.718281)
    g = s2sad.grad(f)
    assert np.isclose(g(1.0), 2 * 2.718281)
    assert "2.718281" not in g.source and "2.718281" not in g.path.read_text(encoding="utf-8")
    cache.memory_clear(g.path.parent)                   # a new closure, from the disk
    f9, _ = m.make(9.0)
    g9 = s2sad.grad(f9)
    assert g9(1.0) == 18.0 and g9.path == g.path and not g9._compile("numpy").transformed


def test_global_value_read_at_call_time(tmp_path):
    m, _, _ = module(tmp_path, "globals", cc.GLOBALS)
    g = s2sad.grad(m.f)
    assert g(1.0) == 4.0
    m.SCALE = 5.0
    assert g(1.0) == 10.0 and s2sad.grad(m.f)(1.0) == 10.0
    assert "5.0" not in g.source


def test_closure_of_a_helper_is_bound_per_function(tmp_path):
    """Two closures of the same code share a key, but each reads its own helper's closure."""
    m, _, _ = module(tmp_path, "closures", cc.CLOSURES)
    f2, f3 = m.make_with_helper(2.0), m.make_with_helper(3.0)
    g2, g3 = s2sad.grad(f2), s2sad.grad(f3)
    assert (g2(1.0), g3(1.0)) == (4.0, 6.0)
    assert g2.path == g3.path
    cache.memory_clear(g2.path.parent)       # and from the disk
    assert s2sad.grad(m.make_with_helper(5.0))(1.0) == 10.0


# --- info and clear ------------------------------------------------------------------------------

def test_info_and_clear_touch_only_s2sad_files(tmp_path, gen):
    assert cache.info() == {"path": gen.absolute(), "files": 0, "bytes": 0}
    m, _, _ = module(tmp_path, "loop", cc.LOOP)
    p, _, _ = module(tmp_path, "poly", cc.POLY)
    ga, gp = s2sad.grad(m.f), s2sad.grad(p.f)
    ga(2.0, 3.0), gp(2.0, 3.0)
    stray = gen / (ga.path.name + ".x1y2z3" + cache.TMP_SUFFIX)
    stray.write_text("# Generated by s2sad, half writ")
    mine = {gen / "notes.py": "# my own notes\n", gen / "data.tmp": "keep me\n", gen / "README": "hi\n"}
    for path, text in mine.items():
        path.write_text(text)
    d = cache.info(gen)
    assert d["files"] == 2 and d["bytes"] == ga.path.stat().st_size + gp.path.stat().st_size
    assert cache.clear() == 3
    assert sorted(files(gen)) == sorted(mine) and all(p.read_text() == t for p, t in mine.items())
    assert cache.info(gen)["files"] == 0
    assert cache.clear(tmp_path / "missing") == 0
    g = s2sad.grad(m.f)                      # forgotten in memory too: the file comes back
    assert g(2.0, 3.0) == 36.0 and g.path.exists()


def test_the_compiler_fingerprint_covers_the_whole_package():
    """Editing a rule, a mode or a pass (not only codegen/) must change every key: a file made by the
    old compiler is never read back by the new one."""
    names = {rel for rel, _ in cache._sources(cache.PACKAGE_ROOT)}
    assert {"rules/numpy.py", "modes/reverse.py", "modes/batch.py", "passes/fuse.py", "runtime/__init__.py",
            "codegen/cache.py"} <= names
