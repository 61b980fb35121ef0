#!/usr/bin/env bash
# The GPU runs of benchmarks/README.md ("On a GPU") as one script, sized to fit 15 minutes of a GPU machine with its
# setup: install (about 4 min), check that TensorFlow sees the GPU (stop if not), then by value: the training speed of
# the original model at batch 64 (the original loop vs ours, with XLA, GPU busy), the swap's quality after a few
# minutes of the original preset (ID retrieval, recognised as B, sharpness, expression, jitter), and, with time
# left, the tiny preset's speed. Each step gets a time limit within a deadline (DEADLINE_S, default 780 s after the
# start), so the script always ends in time and writes what it has; a step that runs out is logged, not fatal.
#
# Usage (repository root, Linux, NVIDIA driver, Python >= 3.10):
#   benchmarks/gpu_run.sh [OUT_DIR]        # default: $OUT when set (the device tool's folder), else out/gpu-run
# Environment: VENV (default .venv-gpu; reused when TensorFlow is already installed there), WHEELHOUSE (a folder
# of wheels for a machine without a package registry: pip installs from it alone), DEEPFAKE_DATA_MIRROR (the
# sample data, else downloaded), DEADLINE_S.
# Writes into OUT_DIR: run.log (everything, with times), env.txt (GPU, driver, versions), train-original.txt,
# gpu-original.json (quality curve), train-tiny.txt. Record the figures in benchmarks/README.md by hand.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-out/gpu-run}}
VENV=${VENV:-.venv-gpu}
DEADLINE_S=${DEADLINE_S:-780}
PY="$VENV/bin/python"
mkdir -p "$OUT_DIR"
START=$(date +%s)
log() { echo "[$(( $(date +%s) - START )) s] $*" | tee -a "$OUT_DIR/run.log"; }

# step LIMIT_S FILE CMD...: run CMD for at most LIMIT_S seconds (less when the deadline is nearer), output to FILE
step() {
  local limit=$1 file=$2
  shift 2
  local left=$(( DEADLINE_S - ($(date +%s) - START) ))
  (( left < limit )) && limit=$left
  if (( limit < 30 )); then log "skipped (deadline): $*"; return 1; fi
  log "start, at most ${limit} s: $*"
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT_DIR/run.log" > "$OUT_DIR/$file"
  local rc=${PIPESTATUS[0]}
  log "end, exit $rc$([[ $rc == 124 ]] && echo ' (time limit)')"
  return "$rc"
}

# 1. Install: the tested versions (ci/constraints.txt) with TensorFlow's CUDA libraries (the gpu extra).
if ! "$PY" -c "import tensorflow" 2>/dev/null; then
  PIP_FROM=()
  [[ -n "${WHEELHOUSE:-}" ]] && PIP_FROM=(--no-index --find-links "$WHEELHOUSE")
  python3 -m venv "$VENV" || exit 1
  step 300 install.txt "$PY" -m pip install --quiet "${PIP_FROM[@]}" -c ci/constraints.txt -e ".[dlib,gpu]" || exit 1
  step 60 install-fr.txt "$PY" -m pip install --quiet "${PIP_FROM[@]}" --no-deps "face_recognition==1.3.0" || exit 1
fi

# 2. The GPU as TensorFlow sees it: no GPU for TensorFlow, no GPU figures (stop).
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$PY" -c "import sys, tensorflow as tf, keras, numpy, cv2; print(sys.version.split()[0], 'tensorflow', \
tf.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, 'opencv', cv2.__version__)"; } \
  > "$OUT_DIR/env.txt" 2>&1
cat "$OUT_DIR/env.txt" | tee -a "$OUT_DIR/run.log"
step 90 gpu-check.txt "$PY" -c "import tensorflow as tf; gpus = tf.config.list_physical_devices('GPU'); \
print('GPU seen by TensorFlow:', gpus); raise SystemExit(0 if gpus else 1)" || { log "TensorFlow sees no GPU: stop"; exit 1; }

# 3. Training speed, original preset at batch 64 (benchmarks/README.md, Training): naive loop, ours, ours with XLA.
step 180 train-original.txt "$PY" -m benchmarks.bench train --preset original --batch-size 64 --steps 50 --xla

# 4. Swap quality per training minute of the original preset on the GPU (shortened from the README's 20 000 steps
#    to what the deadline allows; the curve says how far it got).
step 420 quality-original.txt "$PY" -m benchmarks.bench recipes --preset original \
  --recipes original:batch_size=64,precision=float16 --minutes 4 --every 2 --out "$OUT_DIR/gpu-original.json"

# 5. With time left: the tiny preset's speed at batch 64.
step 120 train-tiny.txt "$PY" -m benchmarks.bench train --preset tiny --batch-size 64 --steps 50 --xla

log "done: $(ls "$OUT_DIR" | tr '\n' ' ')"
