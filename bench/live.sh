#!/usr/bin/env bash
# bench/live.sh — a live-node backup under write load against an offline backup.
#
# Issue 3's target: a live-node backup of the simulator under write load adds
# at most 10% to the time of an offline backup of the same data, and the
# simulator's write rate during the backup stays within 10% of its rate
# without a backup.
#
# One run, on one disk:
#   1. bench/gen writes a BanyanDB-shaped data root (fixed seed).
#   2. Conditioning: banyand-sim runs the workload below on the root for
#      BENCH_CONDITION seconds and is stopped. Its merges reach every segment
#      of the written groups and soon replace the generator's small parts
#      (fewer files), so without this the offline backups would read a
#      differently shaped tree than the live ones.
#   3. BENCH_ROUNDS rounds, each one pair of backups taken a minute apart,
#      each into a new repository with the page cache dropped first:
#      a. offline, the simulator NOT running:
#           banyan-backup backup --root ROOT --json
#      b. banyand-sim starts again on ROOT with the steady, paced write
#         workload (a flush every 200 ms into one measure and one stream
#         group, merges, Bluge files; a seed of its own per round, so that no
#         written bytes repeat), warms up and runs an unloaded window;
#      c. live, while the workload runs:
#           banyan-backup backup --node GRPCADDR --root ROOT --json
#         with /sim/stats sampled right before and right after, then
#         another unloaded window (a drift of the workload's rate cancels
#         out);
#      d. the simulator is stopped with SIGTERM (by PID) and must exit
#         cleanly, and no snapshot may be left under ROOT.
# Then it prints a Markdown table and PASS/MISS lines.
#
# Incremental live backups of an index-heavy root (the snapshot's index
# files written anew each time, most of the root's bytes) are measured by
# bench/reuse.sh, on the same simulator and generator (--stream-index).
#
# Why pairs: this machine's speed drifts by ±30% within minutes. Each live
# backup is compared with the offline one just before it, of the same data
# but for the last round's writes, and the target is judged on the median
# of the rounds' ratios.
#
# While the node takes its snapshot, a live backup already reads the node's
# live parts (preread); the report gives how much of that the snapshot held.
#
# Fairness: the workload keeps writing, so each live backup reads a larger
# data set than the offline one before it; the report gives each backup's
# bytes_total and files and compares seconds per GiB as well as raw seconds. Neither offline nor
# live times end with a `sync` (banyan-backup syncs what it writes; a sync
# after a live backup would also flush the simulator's writes). The write
# rate is reported as flushes/s (the paced workload: each dropped tick is a
# lost flush) and MB/s (which also varies with the merges that fall in a
# window; the spread between the unloaded windows shows by how much).
#
# Environment:
#   BENCH_SIZE=1GiB       size of the generated root
#   BENCH_SEED=1          generator and workload seed
#   BENCH_DIR=DIR         work directory (default: mktemp -d /var/tmp/bblive.XXXX)
#   BENCH_KEEP=1          keep the work directory
#   BENCH_OUT=FILE        also write the report there (default /dev/stdout)
#   BENCH_WINDOW=10       seconds of each unloaded window
#   BENCH_WARMUP=5        seconds the workload runs before the first window
#   BENCH_CONDITION=20    seconds of the conditioning run (0: none)
#   BENCH_ROUNDS=5        offline and live pairs
#   BENCH_SIM_FLAGS=...   the simulator's workload flags (default below)
#   BENCH_STRICT=1        exit 1 when a target is missed
#
# Run as root to drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches);
# otherwise caches stay warm and the report says so.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=live
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-1GiB}
SEED=${BENCH_SEED:-1}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
WINDOW=${BENCH_WINDOW:-10}
WARMUP=${BENCH_WARMUP:-5}
CONDITION=${BENCH_CONDITION:-20}
STRICT=${BENCH_STRICT:-0}
ROUNDS=${BENCH_ROUNDS:-5}
# A flush every 200 ms writes one part (about 32 KiB) per shard of the two
# groups; every 5th flush merges, every 10th adds Bluge files. Creating files
# costs this disk about 0.5 ms each, so the workload takes about a quarter of
# one core: paced, not saturated, so that a backup that slows it shows.
SIM_FLAGS=${BENCH_SIM_FLAGS:---flush-interval 200ms --merge-every 5 --part-size 32KiB --bluge-every 10 --write-groups measure/sw_metricsMinute,stream/sw_records}

setup_work /var/tmp/bblive.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs

# ---------------------------------------------------------------- helpers
# (log, die, calc, measure and the others are in bench/lib.sh)

# cleanup stops the simulator and removes what this script created, unless
# BENCH_KEEP=1.
cleanup() {
	local rc=$?
	stop_sim
	cleanup_work "$ROOT" "$BIN" "$LOGS" "$WORK"/repo-*
	exit "$rc"
}
trap cleanup EXIT

# median V... prints the median of the numbers (the mean of the middle two
# of an even count); lo and hi their least and greatest.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# BB runs banyan-backup; the generator and the simulator name segments in UTC.
BB=(env TZ=UTC "$BIN/banyan-backup")

# ---------------------------------------------------------------- backups

# Each backup's results: ${B_SECS[name]} (wall time), B_DUR (its own
# duration_seconds: scanning and storing, without connecting, the snapshot
# call and the snapshot's removal), B_RSS, B_TOTAL, B_READ, B_ADDED, B_FILES.
declare -A B_SECS B_DUR B_RSS B_TOTAL B_READ B_ADDED B_FILES B_SNAP B_RM B_PRE B_PREUSED

# record NAME keeps the measured time and RSS of backup NAME and the
# numbers of its --json answer.
record() {
	local name=$1 out=$LOGS/$1.out
	B_SECS[$name]=$SECS
	B_RSS[$name]=$RSS_KIB
	B_DUR[$name]=$(json_field "$out" duration_seconds)
	B_TOTAL[$name]=$(json_field "$out" bytes_total)
	B_READ[$name]=$(json_field "$out" bytes_read)
	B_ADDED[$name]=$(json_field "$out" bytes_added)
	B_FILES[$name]=$(json_field "$out" files)
	B_SNAP[$name]=$(json_opt "$out" snapshot_seconds 0) # live backups only
	B_RM[$name]=$(json_opt "$out" snapshot_remove_seconds 0)
	B_PRE[$name]=$(json_opt "$out" preread_bytes 0)
	B_PREUSED[$name]=$(json_opt "$out" preread_bytes_used 0)
}

# backup NAME [ARGS...] backs ROOT up into a new repository, the page cache
# dropped first, and records the results under NAME.
backup() {
	local name=$1 repo=$WORK/repo-$1
	shift
	"${BB[@]}" init --repo "$repo" >"$LOGS/init-$name.out" 2>&1 || {
		cat "$LOGS/init-$name.out" >&2
		die "banyan-backup init failed"
	}
	drop_caches
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "$ROOT" "$@" --json
	record "$name"
	log "$name: $(calc '%.2f' "$SECS") s, ${B_TOTAL[$name]} bytes, ${B_FILES[$name]} files"
	rm -rf -- "$repo"
}

# secs_per_gib NAME
secs_per_gib() { calc "${B_SECS[$1]} * 1073741824 / ${B_TOTAL[$1]}"; }

# ---------------------------------------------------------------- simulator

CLK_TCK=$(getconf CLK_TCK)

# sample NAME saves /sim/stats as $LOGS/stats-NAME.json and the simulator's
# CPU time (s) as $LOGS/cpu-NAME.
sample() {
	curl -fsS --max-time 10 "http://$SIM_HTTP/sim/stats" >"$LOGS/stats-$1.json" ||
		die "cannot read http://$SIM_HTTP/sim/stats"
	awk -v t="$CLK_TCK" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$SIM_PID/stat" >"$LOGS/cpu-$1"
}
stat_of() { json_field "$LOGS/stats-$2.json" "$1"; }

# Each window's rates: ${W_SECS[name]} (simulator's uptime between the two
# samples), W_FLUSHES, W_BYTES, W_MERGES, W_FPS, W_MBPS, W_CPU (% of one core).
declare -A W_SECS W_FLUSHES W_BYTES W_MERGES W_FPS W_MBPS W_CPU

# window NAME FROM TO computes the rates between samples FROM and TO.
window() {
	local name=$1 a=$2 b=$3 dt
	dt=$(calc "$(stat_of uptime_seconds "$b") - $(stat_of uptime_seconds "$a")")
	W_SECS[$name]=$dt
	W_FLUSHES[$name]=$(($(stat_of flushes "$b") - $(stat_of flushes "$a")))
	W_BYTES[$name]=$(($(stat_of bytes_written "$b") - $(stat_of bytes_written "$a")))
	W_MERGES[$name]=$(($(stat_of merges "$b") - $(stat_of merges "$a")))
	W_FPS[$name]=$(calc "${W_FLUSHES[$name]} / $dt")
	W_MBPS[$name]=$(calc "${W_BYTES[$name]} / 1000000 / $dt")
	W_CPU[$name]=$(calc "100 * ($(cat "$LOGS/cpu-$b") - $(cat "$LOGS/cpu-$a")) / $dt")
}

# unloaded NAME runs the workload alone for WINDOW seconds.
unloaded() {
	log "unloaded window $1 (${WINDOW} s)"
	sample "$1-a"
	sleep "$WINDOW"
	sample "$1-b"
	window "$1" "$1-a" "$1-b"
	kill -0 "$SIM_PID" 2>/dev/null || die "banyand-sim died"
}

# live NAME takes a live backup with the workload running, sampling the
# simulator right before and right after it.
live() {
	local name=$1 repo=$WORK/repo-$1
	log "live backup $name"
	"${BB[@]}" init --repo "$repo" >"$LOGS/init-$name.out" 2>&1 || {
		cat "$LOGS/init-$name.out" >&2
		die "banyan-backup init failed"
	}
	drop_caches
	sample "$name-a"
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "$ROOT" --node "$SIM_GRPC" --json
	sample "$name-b"
	window "$name" "$name-a" "$name-b"
	record "$name"
	log "$name: $(calc '%.2f' "$SECS") s, ${B_TOTAL[$name]} bytes, ${B_FILES[$name]} files; workload $(calc '%.1f' "${W_FPS[$name]}") flushes/s"
	rm -rf -- "$repo"
	kill -0 "$SIM_PID" 2>/dev/null || die "banyand-sim died"
}

# snapshots_left prints how many entries the catalogs' snapshots/ hold.
snapshots_left() {
	find "$ROOT" -mindepth 3 -maxdepth 3 -path '*/snapshots/*' 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- run

mkdir -p "$BIN" "$LOGS"
[[ ! -e $ROOT ]] || die "$ROOT already exists (use an empty BENCH_DIR)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number"
command -v curl >/dev/null || die "curl is not installed"

RUN_START=$EPOCHREALTIME
log "work directory $WORK (size $SIZE, seed $SEED, $ROUNDS rounds)"
LOAD_START=$(loadavg)
for p in gen:./bench/gen banyan-backup:./cmd/banyan-backup banyand-sim:./cmd/banyand-sim; do
	build_bin "${p%%:*}" "${p#*:}"
done
setup_rss

generate_root

GEN_FILES=$(tree_files "$ROOT")
GEN_BYTES=$(tree_bytes "$ROOT")
COND_LINE="none (BENCH_CONDITION=0)"
if [[ $CONDITION -gt 0 ]]; then
	log "conditioning: the workload for $CONDITION s (--seed $SEED)"
	start_sim "$SEED"
	sleep "$CONDITION"
	sample cond
	COND_FLUSHES=$(stat_of flushes cond)
	COND_MERGES=$(stat_of merges cond)
	COND_WRITTEN=$(stat_of bytes_written cond)
	stop_sim
	[[ $SIM_RC == 0 ]] || die "banyand-sim did not exit cleanly after SIGTERM ($SIM_RC): $(tail -n 3 "$LOGS/sim.err")"
	[[ $(stat_of errors cond) == 0 ]] || die "banyand-sim reported workload errors: $(head -c 300 "$LOGS/stats-cond.json")"
	COND_LINE="$CONDITION s of the workload (--seed $SEED: $COND_FLUSHES flushes, $COND_MERGES merges, $COND_WRITTEN bytes written), then stopped: $GEN_FILES files, $GEN_BYTES bytes → $(tree_files "$ROOT") files, $(tree_bytes "$ROOT") bytes"
	log "conditioned: $COND_LINE"
fi

# Per round k: backups off$k and live$k, windows u${k}a (before live$k) and
# u${k}b (after it); R_SEED, R_SNAPS (catalog snapshots taken), R_LEFT
# (snapshot entries left after the round), R_RC (exit after SIGTERM).
declare -A R_SEED R_SNAPS R_LEFT R_RC
SIM_ERRORS=0
SIM_LAST_ERROR=
SIM_UPTIME=0
for ((k = 1; k <= ROUNDS; k++)); do
	log "round $k of $ROUNDS: offline backup (simulator stopped)"
	backup "off$k"
	R_SEED[$k]=$((SEED + k))
	log "starting banyand-sim: $SIM_FLAGS --seed ${R_SEED[$k]}"
	start_sim "${R_SEED[$k]}"
	sleep "$WARMUP"
	unloaded "u${k}a"
	live "live$k"
	unloaded "u${k}b"
	SIM_ERRORS=$((SIM_ERRORS + $(stat_of errors "u${k}b-b")))
	err=$(jq -r '.last_error // empty' "$LOGS/stats-u${k}b-b.json" 2>/dev/null || true)
	SIM_LAST_ERROR=${err:-$SIM_LAST_ERROR}
	R_SNAPS[$k]=$(($(stat_of snapshots_taken "u${k}b-b") - $(stat_of snapshots_taken "u${k}a-a")))
	SIM_UPTIME=$(calc "$SIM_UPTIME + $(stat_of uptime_seconds "u${k}b-b")")
	log "stopping banyand-sim (SIGTERM)"
	stop_sim
	R_RC[$k]=$SIM_RC
	[[ $SIM_RC == 0 ]] || die "banyand-sim did not exit cleanly after SIGTERM ($SIM_RC): $(tail -n 3 "$LOGS/sim.err")"
	R_LEFT[$k]=$(snapshots_left)
done
RUN_SECS=$(calc "$EPOCHREALTIME - $RUN_START")

# ---------------------------------------------------------------- report

# rrow K prints round K's row.
rrow() {
	local k=$1 off=off$1 live=live$1 base_fps base_mbps
	base_fps=$(calc "(${W_FPS[u${k}a]} + ${W_FPS[u${k}b]}) / 2")
	base_mbps=$(calc "(${W_MBPS[u${k}a]} + ${W_MBPS[u${k}b]}) / 2")
	printf '| %s | %.2f | %.2f | %.2f | %.2f | **%s%%** | %.2f | %.0f, %.0f | %s%% | %s%% |\n' "$k" \
		"${B_SECS[$off]}" "$(secs_per_gib "$off")" "${B_SECS[$live]}" "$(secs_per_gib "$live")" \
		"$(pct "$(secs_per_gib "$live")" "$(secs_per_gib "$off")")" "${B_SNAP[$live]}" \
		"$(mib "${B_PRE[$live]}")" "$(mib "${B_PREUSED[$live]}")" \
		"$(calc '%.1f' "100 * ${W_FPS[$live]} / $base_fps")" "$(calc '%.1f' "100 * ${W_MBPS[$live]} / $base_mbps")"
}

# wrow LABEL NAME prints one workload window's row.
wrow() {
	local n=$2
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(calc '%.2f' "${W_SECS[$n]}")" \
		"${W_FLUSHES[$n]}" "$(calc '%.2f' "${W_FPS[$n]}")" "$(calc '%.1f' "${W_BYTES[$n]} / 1000000")" \
		"$(calc '%.2f' "${W_MBPS[$n]}")" "${W_MERGES[$n]}" "$(calc '%.0f' "${W_CPU[$n]}")"
}

report() {
	local k ratios=() raw=() fps=() mbps=() off_gib=() live_gib=() un_mbps=() snaps=0 left=0
	local un_f=0 un_b=0 un_m=0 un_s=0 ld_f=0 ld_b=0 ld_m=0 ld_s=0 base_fps base_mbps
	for ((k = 1; k <= ROUNDS; k++)); do
		off_gib+=("$(secs_per_gib "off$k")")
		live_gib+=("$(secs_per_gib "live$k")")
		ratios+=("$(calc "100 * $(secs_per_gib "live$k") / $(secs_per_gib "off$k")")")
		raw+=("$(calc "100 * ${B_SECS[live$k]} / ${B_SECS[off$k]}")")
		base_fps=$(calc "(${W_FPS[u${k}a]} + ${W_FPS[u${k}b]}) / 2")
		base_mbps=$(calc "(${W_MBPS[u${k}a]} + ${W_MBPS[u${k}b]}) / 2")
		fps+=("$(calc "100 * ${W_FPS[live$k]} / $base_fps")")
		mbps+=("$(calc "100 * ${W_MBPS[live$k]} / $base_mbps")")
		un_mbps+=("${W_MBPS[u${k}a]}" "${W_MBPS[u${k}b]}")
		for w in "u${k}a" "u${k}b"; do
			un_f=$((un_f + ${W_FLUSHES[$w]}))
			un_b=$((un_b + ${W_BYTES[$w]}))
			un_m=$((un_m + ${W_MERGES[$w]}))
			un_s=$(calc "$un_s + ${W_SECS[$w]}")
		done
		ld_f=$((ld_f + ${W_FLUSHES[live$k]}))
		ld_b=$((ld_b + ${W_BYTES[live$k]}))
		ld_m=$((ld_m + ${W_MERGES[live$k]}))
		ld_s=$(calc "$ld_s + ${W_SECS[live$k]}")
		snaps=$((snaps + ${R_SNAPS[$k]}))
		left=$((left + ${R_LEFT[$k]}))
	done
	local ratio_med un_fps ld_fps un_mbps_all ld_mbps
	ratio_med=$(median "${ratios[@]}")
	un_fps=$(calc "$un_f / $un_s")
	ld_fps=$(calc "$ld_f / $ld_s")
	un_mbps_all=$(calc "$un_b / 1000000 / $un_s")
	ld_mbps=$(calc "$ld_b / 1000000 / $ld_s")

	printf '## banyan-backup live-node benchmark (%s, seed %s, %s rounds)\n\n' "$SIZE" "$SEED" "$ROUNDS"
	printf -- '- source: %s\n' "${GEN_LINE#gen: }"
	printf -- '- workload: banyand-sim %s --seed <%s + round>; errors %s%s\n' \
		"$SIM_FLAGS" "$SEED" "$SIM_ERRORS" "${SIM_LAST_ERROR:+ (last: $SIM_LAST_ERROR)}"
	printf -- '- conditioning before the first round: %s\n' "$COND_LINE"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start, %s at end; %s, %s, commit %s, %s\n' \
		"$(nproc)" "$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- work directory: %s (%s); whole run %.0f s\n' "$WORK" "$(work_device)" "$RUN_SECS"
	printf -- '- page cache dropped before each backup: %s; every backup is a full one into a new repository; no final sync\n\n' "$CACHES_DROPPED"

	printf 'Each round: an offline backup (simulator stopped), then a live one under the workload; live overhead per GiB, since the workload adds data between the two. Write rate: flushes/s and MB/s during the live backup against the mean of the unloaded windows just before and after it.\n\n'
	printf '| round | offline s | offline s/GiB | live s | live s/GiB | live overhead | node snapshot call s | read during it, used (MiB) | flushes/s | MB/s |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
	for ((k = 1; k <= ROUNDS; k++)); do rrow "$k"; done

	printf '\n| backup | seconds | of which scan+store | bytes_total | files | bytes_read | bytes_added | peak RSS MiB |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for ((k = 1; k <= ROUNDS; k++)); do
		for n in "off$k" "live$k"; do
			printf '| %s | %.2f | %.2f | %s | %s | %s | %s | %.1f |\n' "$n" "${B_SECS[$n]}" "${B_DUR[$n]}" \
				"${B_TOTAL[$n]}" "${B_FILES[$n]}" "${B_READ[$n]}" "${B_ADDED[$n]}" "$(calc "${B_RSS[$n]} / 1024")"
		done
	done
	printf '\nOutside scan+store a live backup spends the node'"'"'s snapshot call (in which the node hard-links every file) and the removal of the snapshot (%s s, overlapping the last writes); an offline one only starts (%s s).\n' \
		"$(for ((k = 1; k <= ROUNDS; k++)); do printf '%.2f ' "${B_RM[live$k]}"; done | sed 's/ $//; s/ /, /g')" \
		"$(for ((k = 1; k <= ROUNDS; k++)); do calc '%.2f ' "${B_SECS[off$k]} - ${B_DUR[off$k]}"; done | sed 's/ $//; s/ /, /g')"

	printf '\nSimulator write rate (seconds by its own clock; MB = 10^6 bytes written, merges included):\n\n'
	printf '| window | seconds | flushes | flushes/s | MB written | MB/s | merges | sim CPU %% |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for ((k = 1; k <= ROUNDS; k++)); do
		wrow "round $k, unloaded before" "u${k}a"
		wrow "round $k, during the live backup" "live$k"
		wrow "round $k, unloaded after" "u${k}b"
	done
	printf '| all unloaded | %.2f | %s | %.2f | | %.2f | | |\n' "$un_s" "$un_f" "$un_fps" "$un_mbps_all"
	printf '| all during backups | %.2f | %s | %.2f | | %.2f | | |\n' "$ld_s" "$ld_f" "$ld_fps" "$ld_mbps"
	printf '\nUnloaded windows ranged %.2f–%.2f MB/s (merges come in bursts); the scheduled rate is one flush per --flush-interval.\n' \
		"$(lo "${un_mbps[@]}")" "$(hi "${un_mbps[@]}")"

	printf '\nTargets (issue 3), over the rounds:\n\n'
	target "live backup ≤ 110% of offline, per GiB (same data)" "$(ge 110 "$ratio_med")" \
		"median of the rounds $(calc '%.1f' "$ratio_med")% (each: $(printf '%.1f%% ' "${ratios[@]}" | sed 's/ $//'); medians $(calc '%.2f' "$(median "${live_gib[@]}")") vs $(calc '%.2f' "$(median "${off_gib[@]}")") s/GiB)"
	target "live backup ≤ 110% of offline, raw seconds (the live backup holds the round's writes too)" "$(ge 110 "$(median "${raw[@]}")")" \
		"median of the rounds $(calc '%.1f' "$(median "${raw[@]}")")% (each: $(printf '%.1f%% ' "${raw[@]}" | sed 's/ $//'))"
	target "write rate during backup ≥ 90% of unloaded (flushes/s)" "$(ge "$ld_fps" "0.9 * $un_fps")" \
		"$(calc '%.2f' "$ld_fps") flushes/s = $(calc '%.1f' "100 * $ld_fps / $un_fps")% of $(calc '%.2f' "$un_fps") (rounds: $(printf '%.1f%% ' "${fps[@]}" | sed 's/ $//'))"
	target "merge rate during backup ≥ 90% of unloaded (merges/s)" "$(ge "$ld_m / $ld_s" "0.9 * $un_m / $un_s")" \
		"$(calc '%.2f' "$ld_m / $ld_s") merges/s = $(calc '%.1f' "100 * ($ld_m / $ld_s) / ($un_m / $un_s)")% of $(calc '%.2f' "$un_m / $un_s")"
	printf -- '- (not a target) bytes written during backup, merges included: %s MB/s = %s%% of %s (rounds: %s). Which parts a merge takes, and so its size, varies: the unloaded windows alone ranged %s–%s MB/s.\n' \
		"$(calc '%.2f' "$ld_mbps")" "$(calc '%.1f' "100 * $ld_mbps / $un_mbps_all")" "$(calc '%.2f' "$un_mbps_all")" \
		"$(printf '%.1f%% ' "${mbps[@]}" | sed 's/ $//')" "$(calc '%.2f' "$(lo "${un_mbps[@]}")")" "$(calc '%.2f' "$(hi "${un_mbps[@]}")")"

	printf '\nChecks:\n\n'
	printf -- '- live backups: %s catalog snapshots taken; snapshot entries left under ROOT/*/snapshots after the rounds: %s\n' "$snaps" "$left"
	printf -- '- banyand-sim: %s workload errors in %.0f s; exit status after SIGTERM: %s\n' "$SIM_ERRORS" "$SIM_UPTIME" \
		"$(for ((k = 1; k <= ROUNDS; k++)); do printf '%s ' "${R_RC[$k]}"; done | sed 's/ $//')"
}

print_report

if [[ $SIM_ERRORS != 0 ]]; then
	die "banyand-sim reported $SIM_ERRORS workload errors"
fi
check_strict
