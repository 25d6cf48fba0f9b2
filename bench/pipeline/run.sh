#!/usr/bin/env bash
# The data-stage benchmark: throughput and peak memory of each Go data stage
# on the real datasets, the same clean + normalize in pandas in the same run,
# and a synthetic MovieLens-layout input (20M ratings by default) through
# ingest, clean and normalize, which must stay under 2 GiB peak RSS a stage.
#
#   bench/pipeline/run.sh            # from anywhere; ~15 min on 2 busy cores
#
# Knobs (environment):
#   BENCH_ROWS=20000000   rows of the synthetic ratings.csv
#   BENCH_REPEAT=3        runs of the real-data part; medians are reported
#   BENCH_PANDAS_SYNTH=1  also run the pandas peer on the synthetic input (0: skip)
#   BENCH_KEEP=1          keep the temporary folder (artifacts, profiles)
#   BENCH_RESULTS=...     where the report goes (default bench/pipeline/results.md)
#   TMPDIR                where the temporary folder goes (needs ~2 GB at 20M rows)
#
# Output: a markdown report on stdout and in $BENCH_RESULTS.
# Exit status 1 when a Go stage's peak RSS on the synthetic input is over
# 2 GiB, or when the pandas peer's output differs from the Go artifacts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
data_root=$(cd "$repo/../shared/datasets" && pwd)
rows=${BENCH_ROWS:-20000000}
repeat=${BENCH_REPEAT:-3}
pandas_synth=${BENCH_PANDAS_SYNTH:-1}
results=${BENCH_RESULTS:-$here/results.md}
limit_kb=$((2 * 1024 * 1024)) # 2 GiB

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crossrec-bench.XXXXXX")
cleanup() {
	if [[ -n "${BENCH_KEEP:-}" ]]; then
		echo "bench: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

# Free space: the synthetic CSV is ~28 bytes a row, and ingest, clean and
# normalize each write ~8-9 bytes a row of Parquet, the peer as much again.
need_kb=$((rows * 70 / 1024 + 200 * 1024))
free_kb=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if ((free_kb < need_kb)); then
	echo "bench: $tmp has $((free_kb / 1024)) MiB free, needs about $((need_kb / 1024)) MiB" >&2
	exit 2
fi

# measure PART NAME CMD...: runs CMD, appends "part name wall user sys
# maxrss_kb status" to $tmp/measure.tsv and returns CMD's status. GNU time gives ru_maxrss of the
# child; without it a Python wrapper reads the same from os.wait4.
if /usr/bin/time -f %M true >/dev/null 2>&1; then
	timer() { /usr/bin/time -o "$tmp/time.out" -f "%e %U %S %M" "$@"; }
else
	timer() {
		python3 - "$tmp/time.out" "$@" <<'PY'
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{time.perf_counter() - t:.2f} {ru.ru_utime:.2f} {ru.ru_stime:.2f} {ru.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
PY
	}
fi
measure() {
	local part=$1 name=$2 status=0
	shift 2
	timer "$@" || status=$?
	# GNU time adds a line before its own when the command fails: take the last.
	read -r wall user sys rss < <(tail -n 1 "$tmp/time.out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$name" "$wall" "$user" "$sys" "$rss" "$status" >>"$tmp/measure.tsv"
	log "$part $name: ${wall}s wall, $((rss / 1024)) MiB peak RSS, exit $status"
	return "$status"
}

printf 'part\tstage\twall_s\tuser_s\tsys_s\tmaxrss_kb\tstatus\n' >"$tmp/measure.tsv"
uptime >"$tmp/load.txt"

stages=(ingest clean normalize features align split tasks eda) # the data stages, in dvc.yaml order

# Build the data stages' binaries once, so no run pays for compilation (not
# ./stages/...: train and evaluate pull in the model stack and are not measured).
log "building the stage binaries"
(cd "$repo" && go build -o "$tmp/bin/" "${stages[@]/#/./stages/}" && go build -o "$tmp/bin/synth" ./bench/pipeline/synth)

# A run root: params.yaml with data.root made absolute, plus the repository
# files stages read by path under the root (align's genre tables).
make_root() { # DIR DATA_ROOT [DOMAIN FORMAT]: one domain only when given
	mkdir -p "$1/lib/align"
	cp "$repo"/lib/align/*.csv "$1/lib/align/"
	python3 - "$repo/params.yaml" "$1/params.yaml" "$2" "${3:-}" "${4:-}" <<'PY'
import sys, yaml
src, dst, root, domain, fmt = sys.argv[1:]
p = yaml.safe_load(open(src))
p["data"]["root"] = root
if domain:
    p["data"]["domains"] = {domain: {"format": fmt, "dir": ".", "kind": "movies"}}
yaml.safe_dump(p, open(dst, "w"), sort_keys=False)
PY
}

real="$tmp/real"
make_root "$real" "$data_root"

# verify NAME ROOT PEER_OUT [SAMPLE]: compare the peer's tables with the Go
# artifacts (untimed); the outcome goes to $tmp/verify-NAME.txt.
verify() {
	if python3 "$here/pandas_peer.py" verify --params "$2/params.yaml" --out "$3" --go-root "$2" \
		--sample "${4:-0}" >"$tmp/verify-$1.txt" 2>&1; then
		log "verify $1: the peer's output equals the Go artifacts"
	else
		log "verify $1: FAILED, see the report"
	fi
}

# a+b. Real data: every data stage, then the pandas peer, BENCH_REPEAT times;
# the peer's output is verified against the Go artifacts after the first.
for r in $(seq 1 "$repeat"); do
	for s in "${stages[@]}"; do
		measure "real$r" "$s" "$tmp/bin/$s" -C "$real" -params "$real/params.yaml" || exit 1
	done
	measure "real$r" pandas python3 "$here/pandas_peer.py" run --params "$real/params.yaml" \
		--out "$tmp/peer-real" --timings "$tmp/peer-real-$r.json" || true
	if ((r == 1)); then verify real "$real" "$tmp/peer-real"; fi
done

# c. Synthetic MovieLens input: ingest, clean, normalize, then the peer.
synth_data="$tmp/synth-data"
measure synth synth "$tmp/bin/synth" -out "$synth_data" -n "$rows" -seed 1 || exit 1
synth="$tmp/synth"
make_root "$synth" "$synth_data" movies movielens-csv
for s in ingest clean normalize; do
	measure synth "$s" "$tmp/bin/$s" -C "$synth" -params "$synth/params.yaml" || break
done
if [[ "$pandas_synth" == 1 ]]; then
	# Its failure (out of memory included) is reported at the end.
	if measure synth pandas python3 "$here/pandas_peer.py" run --params "$synth/params.yaml" \
		--out "$tmp/peer-synth" --timings "$tmp/peer-synth.json"; then
		verify synth "$synth" "$tmp/peer-synth" 200000
	fi
	rm -rf "$tmp/peer-synth"
fi
uptime >>"$tmp/load.txt"

python3 "$here/report.py" --tmp "$tmp" --limit-kb "$limit_kb" --rows "$rows" --repeat "$repeat" \
	--out "$results"
