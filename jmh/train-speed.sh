#!/usr/bin/env bash
# Training speed side by side: `./compresso distill` (3-layer student of all-MiniLM-L6-v2, batch 32, 2 threads)
# against PyTorch on the same recipe (jmh/pytorch/train_speed.py, Debian's python3-torch with OpenBLAS), in
# alternating rounds so machine noise hits both alike. Prints each round's tokens/s (real tokens, after 3
# warm-up steps) and the median ratio. Benchmark only.
#
#   jmh/train-speed.sh [ROUNDS] [STEPS]       (needs python3-torch and libopenblas0 or libopenblas-dev)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
steps=${2:-40}
work=${TMPDIR:-/tmp}/compresso-train-speed
mkdir -p "$work"
[ -s "$work/sentences.txt" ] || ./compresso corpus --source docs --count 20000 --per-file 100000 --out "$work/sentences.txt" >&2
[ -s "$work/ids.txt" ] || ./compresso corpus --source docs --count 20000 --per-file 100000 --format ids --out "$work/ids.txt" >&2
ours=()
theirs=()
for r in $(seq 1 "$rounds"); do
  o=$(./compresso distill --teacher all-minilm-l6-v2 --corpus "$work/sentences.txt" --out "$work/student.compresso" \
        --steps "$steps" --threads 2 --checkpoint none --seed "$r" 2>/dev/null \
      | sed -n 's/.*; \([0-9]*\) after the first 3 steps.*/\1/p')
  t=$(/usr/bin/python3 jmh/pytorch/train_speed.py "$work/ids.txt" --steps $((steps - 3)) --warmup 3 --threads 2 \
      --seed "$r" | sed -n 's/.* = \([0-9]*\) tokens\/s/\1/p')
  echo "round $r: compresso $o tokens/s, pytorch $t tokens/s"
  ours+=("$o")
  theirs+=("$t")
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]
t = [float(x) for x in sys.argv[2].split()]
print(f"median compresso {statistics.median(o):.0f} tokens/s, pytorch {statistics.median(t):.0f} tokens/s, "
      f"median per-round ratio {statistics.median([a / b for a, b in zip(o, t)]):.2f}x")
PY
