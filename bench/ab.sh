#!/bin/bash
# Interleaved A/B timing of `summarize` for two builds, for changes smaller than this machine's
# run-to-run noise (±10 %): A and B alternate, so drift in the machine hits both alike.
#
#   bench/ab.sh BIN_A OUT_A BIN_B OUT_B [RUNS]
#
# OUT_A / OUT_B are output folders holding a store each (e.g. copies of
# bench/data/out-10000x110 after `python3 bench/run.py --quick`). Prints the mean wall and CPU
# seconds of each side and every wall time.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,9p "$0"; exit 2; }
bin_a=$1 out_a=$2 bin_b=$3 out_b=$4 runs=${5:-8}
job="$(cd "$(dirname "$0")" && pwd)/bench.toml"
for _ in $(seq "$runs"); do
  for side in A B; do
    if [ $side = A ]; then bin=$bin_a out=$out_a; else bin=$bin_b out=$out_b; fi
    /usr/bin/time -f "$side %e %U %S" "$bin" summarize --quiet --job "$job" --out "$out" --store "$out/_store/raw.sqlite" \
      2>&1 >/dev/null | tail -1
  done
done | awk '{w[$1]+=$2; c[$1]+=$3+$4; n[$1]++; all[$1]=all[$1]" "$2}
  END {for (k in w) printf "%s wall %.3f s  cpu %.3f s  [%s ]\n", k, w[k]/n[k], c[k]/n[k], all[k]}' | sort
