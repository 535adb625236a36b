#!/usr/bin/env bash
# bench/reuse.sh — incremental live backups of a root whose Bluge index
# files are most of its bytes (as on a real root of log streams: docs/
# banyandb.md, Snapshots). A node writes its snapshot's index files anew
# each time; a live backup reuses the parent's blobs for the copies of
# unchanged live files (repository-format.md, "Incremental backups").
#
# Generates one root (bench/gen --stream-index), runs banyand-sim on it
# without writes, and in BENCH_ROUNDS rounds, each into a fresh
# repository, times a full live backup and then an unchanged live
# re-backup, page cache dropped before each. Optionally (BENCH_OLD=REV,
# e.g. a303c3c) the same rounds with the binary of REV, before the reuse.
# Target: the unchanged re-backup's own work (duration_seconds: without the
# node's snapshot call and the snapshot's removal, which no backup tool can
# shorten) takes at most 10% of the full backup's (median of the rounds'
# ratios), and reads under 5% of the root. Wall times, snapshot call
# included, are reported beside it.
#
# Environment: BENCH_SIZE (1GiB), BENCH_SEED (1), BENCH_STREAM_INDEX (0.67),
# BENCH_ROUNDS (3), BENCH_OLD (none), BENCH_DIR, BENCH_KEEP, BENCH_OUT.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=reuse
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-1GiB}
SEED=${BENCH_SEED:-1}
ROUNDS=${BENCH_ROUNDS:-3}
OLD=${BENCH_OLD:-}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
GEN_FLAGS="--stream-index ${BENCH_STREAM_INDEX:-0.67}"
SIM_FLAGS="--flush-interval 0"

setup_work /var/tmp/bbreuse.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs
trap 'stop_sim; cleanup_work "$ROOT" "$BIN" "$LOGS" "$WORK"/repo-* "$WORK/old-src"' EXIT
mkdir -p "$BIN" "$LOGS"

for p in gen:./bench/gen banyan-backup:./cmd/banyan-backup banyand-sim:./cmd/banyand-sim; do
	build_bin "${p%%:*}" "${p#*:}"
done
bins=(new)
if [[ -n $OLD ]]; then
	git -C "$SRC_DIR" worktree add -q --detach "$WORK/old-src" "$OLD"
	(cd "$WORK/old-src" && go build -o "$BIN/banyan-backup-old" ./cmd/banyan-backup)
	git -C "$SRC_DIR" worktree remove --force "$WORK/old-src"
	bins+=(old)
fi
generate_root
setup_rss
start_sim "$SEED"
TOTAL=$(tree_bytes "$ROOT")

declare -A FULL AGAIN READ FULLWORK AGAINWORK SNAP
for ((r = 1; r <= ROUNDS; r++)); do
	for b in "${bins[@]}"; do
		exe=$BIN/banyan-backup
		[[ $b == old ]] && exe=$BIN/banyan-backup-old
		repo=$WORK/repo-$b-$r
		"$exe" init --repo "$repo" >/dev/null
		drop_caches
		measure "full-$b-$r" 0 "$exe" backup --repo "$repo" --root "$ROOT" --node "$SIM_GRPC" --json --quiet
		FULL[$b]+="$SECS "
		drop_caches
		measure "again-$b-$r" 0 "$exe" backup --repo "$repo" --root "$ROOT" --node "$SIM_GRPC" --json --quiet
		AGAIN[$b]+="$SECS "
		READ[$b]+="$(json_field "$LOGS/again-$b-$r.out" bytes_read) "
		FULLWORK[$b]+="$(json_field "$LOGS/full-$b-$r.out" duration_seconds) "
		AGAINWORK[$b]+="$(json_field "$LOGS/again-$b-$r.out" duration_seconds) "
		SNAP[$b]+="$(json_field "$LOGS/again-$b-$r.out" snapshot_seconds) "
		log "round $r $b: full $(json_field "$LOGS/full-$b-$r.out" duration_seconds)s, unchanged $SECS s, read $(json_field "$LOGS/again-$b-$r.out" bytes_read) bytes, load $(loadavg)"
		rm -rf "$repo"
	done
done

# ratios "A1 A2 …" "B1 B2 …" prints A1/B1 A2/B2 ….
ratios() {
	local -a a b
	local i
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for ((i = 0; i < ${#a[@]}; i++)); do printf '%s ' "$(calc '%.4f' "${a[$i]} / ${b[$i]}")"; done
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() {
	printf '## Incremental live backups of an index-heavy root (`bench/reuse.sh`, %s)\n\n' "$(utc_now)"
	printf -- '- source: %s, %s of it in stream element indexes; %s rounds; page cache dropped: %s; load at end %s\n' \
		"${GEN_LINE#gen: }" "${BENCH_STREAM_INDEX:-0.67}" "$ROUNDS" "$CACHES_DROPPED" "$(loadavg)"
	printf -- '- commit %s, go %s\n\n' "$(src_commit)" "$(go_release)"
	printf '| binary | full: backup work s (wall s) | unchanged: backup work s (wall s, of which snapshot call s) | work re-backup / full, median of rounds | wall re-backup / full | read by the re-backup, %% of the root |\n|---|---:|---:|---:|---:|---:|\n'
	local b
	for b in "${bins[@]}"; do
		RATIO[$b]=$(ratios "${AGAINWORK[$b]}" "${FULLWORK[$b]}" | median)
		READPCT[$b]=$(calc '%.2f' "100 * $(echo "${READ[$b]}" | median) / $TOTAL")
		printf '| %s | %.2f (%.2f) | %.2f (%.2f, %.2f) | %.3f | %.3f | %s |\n' "$b" "$(echo "${FULLWORK[$b]}" | median)" "$(echo "${FULL[$b]}" | median)" \
			"$(echo "${AGAINWORK[$b]}" | median)" "$(echo "${AGAIN[$b]}" | median)" "$(echo "${SNAP[$b]}" | median)" \
			"${RATIO[$b]}" "$(ratios "${AGAIN[$b]}" "${FULL[$b]}" | median)" "${READPCT[$b]}"
	done
	printf '\n'
	target "unchanged live re-backup's work ≤ 10% of a full one's" "$(ge 0.10 "${RATIO[new]}")" "${RATIO[new]}"
	target "unchanged live re-backup reads < 5% of the root" "$(ge 5 "${READPCT[new]}")" "${READPCT[new]}%"
}
declare -A RATIO READPCT
print_report
