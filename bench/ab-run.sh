#!/bin/bash
# Interleaved A/B timing of the whole offline run (`run --source-dir`: bodies → store → tables)
# for two builds, each into a fresh output folder and store every time, on a folder of bodies
# made by `fake-wecom --generate … --write-fixtures DIR`. A and B alternate, so drift in the
# machine hits both alike.
#
#   bench/ab-run.sh BIN_A BIN_B DIR [RUNS]
#
# Prints the mean wall and CPU seconds, the peak RSS and every wall time of each side.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,9p "$0"; exit 2; }
bin_a=$1 bin_b=$2 dir=$3 runs=${4:-8}
job="$(cd "$(dirname "$0")" && pwd)/bench.toml"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for _ in $(seq "$runs"); do
  for side in A B; do
    if [ $side = A ]; then bin=$bin_a; else bin=$bin_b; fi
    out="$scratch/out-$side"
    rm -rf "$out"
    # Builds before --store kept the store under --out; later ones need it named.
    store=()
    if "$bin" run --help | grep -q -- '--store'; then store=(--store "$out/_store/raw.sqlite"); fi
    /usr/bin/time -f "$side %e %U %S %M" "$bin" run --quiet --job "$job" --source-dir "$dir" \
      --ids "$dir/ids.txt" --out "$out" "${store[@]}" 2>&1 >/dev/null | tail -1
  done
done | awk '{w[$1]+=$2; c[$1]+=$3+$4; m[$1]=($5>m[$1]?$5:m[$1]); n[$1]++; all[$1]=all[$1]" "$2}
  END {for (k in w) printf "%s wall %.3f s  cpu %.3f s  peak %d MiB [%s ]\n", k, w[k]/n[k], c[k]/n[k], m[k]/1024, all[k]}' | sort
