"""Run every example, regenerate the committed generated/ folder from scratch, and refresh the README's
tour (the generated file it shows verbatim) and its outputs (the blocks marked `<!-- output: COMMAND -->`).

Run from the repository root: python examples/run_all.py
"""
import os
import runpy
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"run_all.py"}


def main() -> int:
    os.chdir(ROOT)
    target = ROOT / "generated"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    os.environ["S2SAD_GENERATED_DIR"] = str(target)
    os.environ.setdefault("S2SAD_EXAMPLE_ROWS", "2000000")   # out_of_core.py's file is the same at any size
    for script in sorted((ROOT / "examples").glob("*.py")):
        if script.name in SKIP:
            continue
        print(f"== {script.relative_to(ROOT)}", flush=True)
        runpy.run_path(str(script), run_name="__main__")
    print(f"\n{len(list(target.glob('*.py')))} generated files in {target.relative_to(ROOT)}/")
    from s2sad import readme_tour
    print("README tour", "updated" if readme_tour.update(ROOT) else "already current")
    print("README generated code", "updated" if readme_tour.update_generated(ROOT) else "already current")
    print("README outputs", "updated" if readme_tour.update_outputs(ROOT) else "already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
