#!/bin/bash
# The measurements of docs/performance.md "Results" (issue 20): the interleaved A/B of the run
# path against an older build, then each command under GNU time at 1.1M and 10M rows, then
# DuckDB on the same bodies. Run it on a machine where nothing else runs.
#
#   bench/measure-issue20.sh OLD_BIN NEW_BIN PHASE_COSTS_BIN DATA_1M DATA_10M OUT PYTHON
#
# DATA_1M:  fake-wecom --generate 10000 --attendees 110 --seed 7 --days 30 --write-fixtures DIR
# DATA_10M: fake-wecom --generate 100000 --attendees 100 --seed 7 --days 7 --write-fixtures DIR
# PYTHON:   a python with duckdb installed (bench/run.py makes bench/.venv). OUT is emptied.
set -u
[ $# -eq 7 ] || { sed -n 2,11p "$0"; exit 2; }
OLD=$1 NEW=$2 PC=$3 D1=$4 D10=$5 O=$6 PY=$7
HERE="$(cd "$(dirname "$0")" && pwd)"
JOB=$HERE/bench.toml DB=$HERE/duckdb_baseline.py
rm -rf "$O"; mkdir -p "$O"
# Dirty pages of the previous command (gigabytes at 10M) are written back first, so that their
# writeback does not land in the next command's time.
settle() { sync; sleep 2; }
T() { settle; /usr/bin/time -f "$1 wall %e user %U sys %S rss_mib %M" "${@:2}" 2>&1 >/dev/null | tail -1 | awk '{$NF=int($NF/1024); print}'; }
echo "== $(date -u +%H:%M) $(git -C "$HERE" log --oneline -1 | cut -c1-8) $(uptime)"
echo "== A/B 1.1M run --source-dir (A=OLD, B=NEW), 6 runs"
bash $HERE/ab-run.sh $OLD $NEW $D1 6
echo "== 1.1M NEW summarize x3"
$NEW run --quiet --job $JOB --source-dir $D1 --ids $D1/ids.txt --out $O/n1 --store $O/n1/_store/raw.sqlite >/dev/null 2>&1
for i in 1 2 3; do T "sum1M-new" $NEW summarize --quiet --job $JOB --out $O/n1 --store $O/n1/_store/raw.sqlite; done
echo "== 1.1M phase-costs"
$PC $JOB $O/n1 2>&1 | tail -15
echo "== 1.1M DuckDB x2 summaries, x1 full"
for i in 1 2; do rm -rf $O/d1; T "duck1M" $PY $DB $D1 $O/d1 --threads 2; done
rm -rf $O/d1; T "duck1M-full" $PY $DB $D1 $O/d1 --threads 2 --full
echo "== 10M (7 days) NEW run, summarize x2"
T "run10M-new" $NEW run --quiet --job $JOB --source-dir $D10 --ids $D10/ids.txt --out $O/n10 --store $O/n10/_store/raw.sqlite
for i in 1 2; do T "sum10M-new" $NEW summarize --quiet --job $JOB --out $O/n10 --store $O/n10/_store/raw.sqlite; done
python3 -c "import json,glob; r=json.load(open(sorted(glob.glob('$O/n10/_runs/*.json'))[0])); print('run10M-new timings', r.get('timings'))"
rm -rf $O/n10/attendance $O/n10/meetings
echo "== 10M OLD run, summarize"
T "run10M-old" $OLD run --quiet --job $JOB --source-dir $D10 --ids $D10/ids.txt --out $O/o10
T "sum10M-old" $OLD summarize --quiet --job $JOB --out $O/o10
rm -rf $O/o10
echo "== 10M DuckDB summaries"
rm -rf $O/d10; T "duck10M" $PY $DB $D10 $O/d10 --threads 2
echo "== done $(date -u +%H:%M)"
