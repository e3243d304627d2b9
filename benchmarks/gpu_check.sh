#!/usr/bin/env bash
# The GPU checks of the CuPy backend, as one short run on an NVIDIA machine with CuPy (from the
# repository root): the CuPy-array tests on real CuPy, the CuPy-source tests, then the GPU benchmark.
#   bash benchmarks/gpu_check.sh          # about 3 minutes on an H200
#   bash benchmarks/gpu_check.sh --all    # and the whole test suite after it
set -u -o pipefail
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out="${OUT:-benchmarks}"
python - <<'PY'
import cupy
p = cupy.cuda.runtime.getDeviceProperties(0)
print("GPU:", p["name"].decode() if isinstance(p["name"], bytes) else p["name"], "| CuPy", cupy.__version__)
PY
status=0
python -m pytest -p no:cacheprovider -rs tests/backends/test_cupy_arrays.py tests/backends/test_backends.py -k "not fake_cupy" \
    2>&1 | tail -n 25 || status=1
python benchmarks/gpu_run.py --repeats 7 --out "$out/gpu_results.json" || status=1
if [ "${1:-}" = "--all" ]; then
    python -m pytest -p no:cacheprovider 2>&1 | tail -n 15 || status=1
fi
exit $status
