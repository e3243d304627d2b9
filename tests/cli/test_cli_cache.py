"""`python -m s2sad cache info` and `python -m s2sad cache clear`, run as a user would (subprocess)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import s2sad
from s2sad.codegen import cache

import cache_cases as cc


@pytest.fixture
def gen(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "gen"
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(folder))
    return folder


def cli(*args: str, gen: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m s2sad ARGS...` with $S2SAD_GENERATED_DIR set to `gen` (unset when None)."""
    env = dict(os.environ)
    env.pop("S2SAD_GENERATED_DIR", None)
    if gen is not None:
        env["S2SAD_GENERATED_DIR"] = str(gen)
    return subprocess.run([sys.executable, "-m", "s2sad", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def fields(out: str) -> dict:
    """`folder: ...`, `files: ...`, `size: ...` lines as a dict."""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def generate(tmp_path: Path, *stems: str) -> list[Path]:
    """Generate gradient files for modules of cache_cases (in this process, into $S2SAD_GENERATED_DIR)."""
    paths = []
    for stem in stems:
        name = cc.unique(stem)
        m = cc.import_path(cc.write_module(tmp_path, name, getattr(cc, stem.upper())), name)
        g = s2sad.grad(m.f)
        g(2.0, 3.0)
        paths.append(g.path)
    return paths


@pytest.mark.parametrize("args", [["--help"], ["cache", "--help"], ["cache", "info", "--help"],
                                  ["cache", "clear", "--help"]])
def test_help(args, gen):
    out = cli(*args, gen=gen)
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.startswith("usage: s2sad")
    if args[0] == "--help":
        assert "cache" in out.stdout
    elif len(args) == 2:
        assert "info" in out.stdout and "clear" in out.stdout
    else:
        assert "--dir DIR" in out.stdout and "S2SAD_GENERATED_DIR" in out.stdout


def test_info_of_a_folder_not_there_yet(tmp_path, gen):
    out = cli("cache", "info", gen=gen)
    assert out.returncode == 0, out.stderr
    d = fields(out.stdout)
    assert d["folder"] == f"{gen} (does not exist yet)" and d["files"] == "0" and d["size"] == "0 bytes"
    assert not gen.exists()                                # info creates nothing


def test_info_counts_generated_files(tmp_path, gen):
    paths = generate(tmp_path, "loop", "poly")
    (gen / "notes.txt").write_text("not s2sad's\n")
    total = sum(p.stat().st_size for p in paths)
    for args in (("cache", "info"), ("cache", "info", "--dir", str(gen))):
        out = cli(*args, gen=gen if len(args) == 2 else tmp_path / "elsewhere")
        assert out.returncode == 0, out.stderr
        d = fields(out.stdout)
        assert d["folder"] == str(gen) and d["files"] == "2"
        assert f"({total} bytes)" in d["size"] or d["size"] == f"{total} bytes"


def test_default_folder_is_generated_in_the_working_directory(tmp_path):
    out = cli("cache", "info", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert fields(out.stdout)["folder"] == f"{tmp_path / 'generated'} (does not exist yet)"


def test_clear_removes_only_s2sad_files(tmp_path, gen):
    paths = generate(tmp_path, "loop", "poly")
    assert len(list((gen / cache.CODE_DIR).iterdir())) == 2
    stray = gen / (paths[0].name + ".k1ll3d" + cache.TMP_SUFFIX)     # left by a killed writer
    stray.write_text(paths[0].read_text()[:100])
    mine = {gen / "notes.py": "# my notes\n", gen / "README": "hello\n", gen / "data.tmp": "keep\n",
            gen / cache.CODE_DIR / "notes.cpython-311.pyc": "python's own\n"}
    for p, text in mine.items():
        p.write_text(text)
    out = cli("cache", "clear", gen=gen)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"removed 3 files from {gen}"
    left = sorted(p for p in gen.rglob("*") if p.is_file())
    assert left == sorted(mine) and all(p.read_text() == t for p, t in mine.items())
    again = cli("cache", "clear", "--dir", str(gen))
    assert again.returncode == 0 and again.stdout.strip() == f"removed 0 files from {gen}"
    assert fields(cli("cache", "info", gen=gen).stdout)["files"] == "0"


def test_clear_then_grad_regenerates(tmp_path, gen):
    [path] = generate(tmp_path, "loop")
    assert cli("cache", "clear", gen=gen).stdout.strip() == f"removed 1 file from {gen}"
    assert not path.exists() and not (gen / cache.CODE_DIR).exists()
    name = cc.unique("loop")
    script = cc.write_module(tmp_path, name, cc.LOOP)
    out = subprocess.run([sys.executable, "-B", str(Path(cc.__file__)), f"{script}:{name}", "f", "2.0", "3.0"],
                         env=dict(os.environ, S2SAD_GENERATED_DIR=str(gen)), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert fields(cli("cache", "info", gen=gen).stdout)["files"] == "1"


@pytest.mark.parametrize("args, message", [
    (["cache"], "the following arguments are required: ACTION"),
    (["cache", "bogus"], "invalid choice: 'bogus'"),
    (["cache", "info", "--dir"], "expected one argument"),
    (["cache", "clear", "extra"], "unrecognized arguments: extra"),
])
def test_usage_errors_are_one_line(args, message, gen):
    out = cli(*args, gen=gen)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2sad: error: ") and message in lines[0], out.stderr


@pytest.mark.parametrize("action", ["info", "clear"])
def test_folder_that_is_a_file(tmp_path, action):
    target = tmp_path / "a_file"
    target.write_text("keep me\n")
    for out in (cli("cache", action, "--dir", str(target)), cli("cache", action, gen=target)):
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr.strip() == f"s2sad: error: {target} is not a folder"
    assert target.read_text() == "keep me\n"
