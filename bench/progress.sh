#!/usr/bin/env bash
# bench/progress.sh — what progress lines off a terminal cost a backup.
#
# Target (issue 15): the progress lines printed when stderr is not a
# terminal (a CronJob's or systemd's log) add no measurable time to
# bench/backup.sh's backups: the median wall time with progress on is
# within ±3% of the median with it off.
#
# One run, on one disk: bench/gen writes a BanyanDB-shaped data root (fixed
# seed), then each round runs the same two backups with progress on
# (stderr to a file, --progress-interval BENCH_INTERVAL, far more often than
# the default 10s) and off (--quiet), in alternating order (on first in odd
# rounds, off first in even ones), page cache dropped before each:
#   full     a first backup into a new repository (bench/backup.sh's step)
#   rehash   --force-rehash into a repository that holds the root already:
#            every file read and hashed, nothing stored, the fastest
#            pipeline and the most progress updates per second
# and prints the medians per kind and mode.
#
# Environment:
#   BENCH_SIZE=512MiB     size of the generated root
#   BENCH_SEED=1          generator seed
#   BENCH_ROUNDS=5        rounds
#   BENCH_INTERVAL=1s     --progress-interval of the runs with progress on
#   BENCH_DIR, BENCH_KEEP, BENCH_OUT, BENCH_STRICT as in bench/backup.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=progress
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-512MiB}
SEED=${BENCH_SEED:-1}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
ROUNDS=${BENCH_ROUNDS:-5}
INTERVAL=${BENCH_INTERVAL:-1s}

setup_work /var/tmp/bbprogress.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs
REPO=$WORK/repo

cleanup() {
	local rc=$?
	cleanup_work "$ROOT" "$BIN" "$LOGS" "$REPO" "$WORK"/repo-full
	exit "$rc"
}
trap cleanup EXIT

BB=(env TZ=UTC "$BIN/banyan-backup")

# median V... prints the median of the numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A SECS_OF CPU_OF LINES_OF

# run KIND MODE ROUND runs one backup and records its wall time.
run() {
	local kind=$1 mode=$2 repo=$REPO name="$1-$2-$3"
	local flags=(--quiet)
	if [[ $mode == on ]]; then flags=(--progress-interval "$INTERVAL"); fi
	if [[ $kind == full ]]; then
		repo=$WORK/repo-full
		rm -rf -- "$repo"
		"${BB[@]}" init --repo "$repo" >/dev/null 2>"$LOGS/init.err" || die "init failed: $(cat "$LOGS/init.err")"
	else
		flags+=(--force-rehash)
	fi
	drop_caches
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "$ROOT" --json "${flags[@]}"
	SECS_OF[$name]=$SECS
	CPU_OF[$name]=${CPU_SECS:-0}
	LINES_OF[$name]=$(grep -c '"message_type":"status"' "$LOGS/$name.err" || true)
	log "$name: $(calc '%.2f' "$SECS") s, CPU ${CPU_OF[$name]} s, ${LINES_OF[$name]} progress lines"
}

mkdir -p "$BIN" "$LOGS"
log "work directory $WORK (size $SIZE, seed $SEED, $ROUNDS rounds, interval $INTERVAL)"
LOAD_START=$(loadavg)
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
setup_rss
generate_root
SRC_BYTES=$(tree_bytes "$ROOT")
"${BB[@]}" init --repo "$REPO" >/dev/null 2>"$LOGS/init.err" || die "init failed: $(cat "$LOGS/init.err")"
log "first backup into the rehash repository"
measure seed 0 "${BB[@]}" backup --repo "$REPO" --root "$ROOT" --quiet

for ((r = 1; r <= ROUNDS; r++)); do
	order=(on off)
	if ((r % 2 == 0)); then order=(off on); fi
	for kind in full rehash; do
		for mode in "${order[@]}"; do
			run "$kind" "$mode" "$r"
		done
	done
done

report() {
	printf '## progress lines off a terminal: cost (%s, seed %s, %d rounds, --progress-interval %s)\n\n' "$SIZE" "$SEED" "$ROUNDS" "$INTERVAL"
	printf -- '- source: %s bytes (%s MiB); %s\n' "$SRC_BYTES" "$(mib "$SRC_BYTES")" "${GEN_LINE#gen: }"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start and %s at end, %s, %s, commit %s, %s\n' "$(nproc)" \
		"$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- page cache dropped before each backup: %s; on and off alternate, on first in odd rounds\n\n' "$CACHES_DROPPED"
	printf '| backup | progress | wall seconds per round | median wall s | CPU seconds per round | median CPU s | progress lines per run |\n|---|---|---|---:|---|---:|---:|\n'
	local kind mode r secs cpus lines
	for kind in full rehash; do
		for mode in on off; do
			secs=() cpus=() lines=()
			for ((r = 1; r <= ROUNDS; r++)); do
				secs+=("$(calc '%.2f' "${SECS_OF[$kind-$mode-$r]}")")
				cpus+=("$(calc '%.2f' "${CPU_OF[$kind-$mode-$r]}")")
				lines+=("${LINES_OF[$kind-$mode-$r]}")
			done
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$kind" "$mode" "${secs[*]}" "$(calc '%.2f' "$(median "${secs[@]}")")" \
				"${cpus[*]}" "$(calc '%.2f' "$(median "${cpus[@]}")")" "$(median "${lines[@]}")"
		done
	done
	printf '\nTargets (wall time as the target says; CPU time, user + system, is less disturbed by other load):\n\n'
	for kind in full rehash; do
		compare "$kind backup with progress lines within ±3% of --quiet, wall (medians)" SECS_OF "$kind" s
		compare "$kind backup with progress lines within ±3% of --quiet, CPU (medians)" CPU_OF "$kind" "s CPU"
	done
}

# compare NAME ARRAY KIND UNIT prints the target line for the medians of
# ARRAY's on and off runs of KIND.
compare() {
	local -n of=$2
	local on=() off=() r med_on med_off diff
	for ((r = 1; r <= ROUNDS; r++)); do
		on+=("${of[$3-on-$r]}")
		off+=("${of[$3-off-$r]}")
	done
	med_on=$(median "${on[@]}")
	med_off=$(median "${off[@]}")
	diff=$(pct "$med_on" "$med_off")
	target "$1" "$(calc "(($diff < 0 ? -($diff) : $diff) <= 3 ? 1 : 0)")" \
		"$(calc '%.2f' "$med_on") $4 vs $(calc '%.2f' "$med_off") $4: $diff%"
}

print_report
check_strict
