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
#   3. Offline baseline, the simulator NOT running: twice, into a new
#      repository each time, with the page cache dropped first,
#        banyan-backup backup --root ROOT --json
#   4. banyand-sim starts again on ROOT with the same steady, paced write
#      workload (a flush every 200 ms into one measure and one stream group,
#      merges, Bluge files; fixed seed, another one than the conditioning's so
#      that no written bytes repeat), warms up, then runs an unloaded window.
#   5. Live backup, twice, each into a new repository with the page cache
#      dropped first, while the workload runs:
#        banyan-backup backup --node GRPCADDR --root ROOT --json
#      with /sim/stats sampled right before and right after, and another
#      unloaded window after each, so that every backup sits between two
#      unloaded windows (a drift of the workload's rate cancels out).
#   6. The simulator is stopped with SIGTERM (by PID) and must exit cleanly.
#   7. Cross-check: an offline backup of the root as the workload left it.
# Then it prints a Markdown table and PASS/MISS lines.
#
# While the node takes its snapshot, a live backup already reads the node's
# live parts (preread); the report gives how much of that the snapshot held.
#
# Fairness: the workload keeps writing, so each live backup reads a larger
# data set than the offline ones; the report gives each backup's bytes_total
# and files and compares seconds per GiB as well as raw seconds. Neither offline nor
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

median2() { calc "($1 + $2) / 2"; }
min2() { calc "($1) < ($2) ? ($1) : ($2)"; }

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
command -v curl >/dev/null || die "curl is not installed"

RUN_START=$EPOCHREALTIME
log "work directory $WORK (size $SIZE, seed $SEED)"
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

log "offline backups (simulator stopped)"
backup off1
backup off2
LOAD_OFFLINE=$(loadavg)

LIVE_SEED=$((SEED + 1))
log "starting banyand-sim: $SIM_FLAGS --seed $LIVE_SEED"
start_sim "$LIVE_SEED"
sleep "$WARMUP"
unloaded u1
live live1
unloaded u2
live live2
unloaded u3
LOAD_LIVE=$(loadavg)
SIM_ERRORS=$(stat_of errors u3-b)
SIM_LAST_ERROR=$(jq -r '.last_error // empty' "$LOGS/stats-u3-b.json" 2>/dev/null || true)
SIM_SNAPSHOTS=$(($(stat_of snapshot_calls u3-b) - $(stat_of snapshot_calls u1-a)))
SIM_SNAPSHOTS_TAKEN=$(($(stat_of snapshots_taken u3-b) - $(stat_of snapshots_taken u1-a)))
SIM_UPTIME=$(stat_of uptime_seconds u3-b)

log "stopping banyand-sim (SIGTERM)"
stop_sim
[[ $SIM_RC == 0 ]] || die "banyand-sim did not exit cleanly after SIGTERM ($SIM_RC): $(tail -n 3 "$LOGS/sim.err")"
SNAPS_LEFT=$(snapshots_left)

log "offline backup of the root as the workload left it"
backup off3
RUN_SECS=$(calc "$EPOCHREALTIME - $RUN_START")

# ---------------------------------------------------------------- report

# brow LABEL NAME prints one backup's row.
brow() {
	local n=$2
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(calc '%.2f' "${B_SECS[$n]}")" \
		"$(calc '%.2f' "${B_DUR[$n]}")" \
		"$(calc '%.2f' "$(secs_per_gib "$n")")" "$(calc '%.1f' "${B_TOTAL[$n]} / 1000000 / ${B_SECS[$n]}")" \
		"${B_TOTAL[$n]}" "${B_FILES[$n]}" "${B_READ[$n]}" "${B_ADDED[$n]}" "$(calc '%.1f' "${B_RSS[$n]} / 1024")"
}

# wrow LABEL NAME prints one workload window's row.
wrow() {
	local n=$2
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(calc '%.2f' "${W_SECS[$n]}")" \
		"${W_FLUSHES[$n]}" "$(calc '%.2f' "${W_FPS[$n]}")" "$(calc '%.1f' "${W_BYTES[$n]} / 1000000")" \
		"$(calc '%.2f' "${W_MBPS[$n]}")" "${W_MERGES[$n]}" "$(calc '%.0f' "${W_CPU[$n]}")"
}

# ge A B prints 1 when A >= B (awk would take ">" after print for a redirection).

report() {
	# Backup times: medians (of 2: their mean) and minimums.
	local off_med off_min live_med live_min off_gib_med off_gib_min live_gib_med live_gib_min
	off_med=$(median2 "${B_SECS[off1]}" "${B_SECS[off2]}")
	off_min=$(min2 "${B_SECS[off1]}" "${B_SECS[off2]}")
	live_med=$(median2 "${B_SECS[live1]}" "${B_SECS[live2]}")
	live_min=$(min2 "${B_SECS[live1]}" "${B_SECS[live2]}")
	off_gib_med=$(median2 "$(secs_per_gib off1)" "$(secs_per_gib off2)")
	off_gib_min=$(min2 "$(secs_per_gib off1)" "$(secs_per_gib off2)")
	live_gib_med=$(median2 "$(secs_per_gib live1)" "$(secs_per_gib live2)")
	live_gib_min=$(min2 "$(secs_per_gib live1)" "$(secs_per_gib live2)")
	local off_bytes live_bytes grow
	off_bytes=${B_TOTAL[off1]}
	live_bytes=$(calc '%.0f' "(${B_TOTAL[live1]} + ${B_TOTAL[live2]}) / 2")
	grow=$(pct "$live_bytes" "$off_bytes")

	# Write rates: each live backup against the mean of the unloaded windows
	# just before and just after it; overall, all backup time against all
	# unloaded time.
	local base1_fps base2_fps base1_mbps base2_mbps
	base1_fps=$(median2 "${W_FPS[u1]}" "${W_FPS[u2]}")
	base2_fps=$(median2 "${W_FPS[u2]}" "${W_FPS[u3]}")
	base1_mbps=$(median2 "${W_MBPS[u1]}" "${W_MBPS[u2]}")
	base2_mbps=$(median2 "${W_MBPS[u2]}" "${W_MBPS[u3]}")
	local un_secs un_fps un_mbps ld_secs ld_fps ld_mbps
	un_secs=$(calc "${W_SECS[u1]} + ${W_SECS[u2]} + ${W_SECS[u3]}")
	un_fps=$(calc "(${W_FLUSHES[u1]} + ${W_FLUSHES[u2]} + ${W_FLUSHES[u3]}) / $un_secs")
	un_mbps=$(calc "(${W_BYTES[u1]} + ${W_BYTES[u2]} + ${W_BYTES[u3]}) / 1000000 / $un_secs")
	ld_secs=$(calc "${W_SECS[live1]} + ${W_SECS[live2]}")
	ld_fps=$(calc "(${W_FLUSHES[live1]} + ${W_FLUSHES[live2]}) / $ld_secs")
	ld_mbps=$(calc "(${W_BYTES[live1]} + ${W_BYTES[live2]}) / 1000000 / $ld_secs")
	local mb_lo mb_hi
	mb_lo=$(printf '%s\n' "${W_MBPS[u1]}" "${W_MBPS[u2]}" "${W_MBPS[u3]}" | sort -g | head -n 1)
	mb_hi=$(printf '%s\n' "${W_MBPS[u1]}" "${W_MBPS[u2]}" "${W_MBPS[u3]}" | sort -g | tail -n 1)

	printf '## banyan-backup live-node benchmark (%s, seed %s)\n\n' "$SIZE" "$SEED"
	printf -- '- source: %s\n' "${GEN_LINE#gen: }"
	printf -- '- workload: banyand-sim %s --seed %s; sim CPU %s%% of one core unloaded (mean of the windows), errors %s%s\n' \
		"$SIM_FLAGS" "$LIVE_SEED" "$(calc '%.0f' "(${W_CPU[u1]} + ${W_CPU[u2]} + ${W_CPU[u3]}) / 3")" "$SIM_ERRORS" \
		"${SIM_LAST_ERROR:+ (last: $SIM_LAST_ERROR)}"
	printf -- '- conditioning before the offline backups: %s\n' "$COND_LINE"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start, %s after the offline backups, %s after the live ones, %s at end; %s, %s, commit %s, %s\n' \
		"$(nproc)" "$(mem_gib)" "$LOAD_START" "$LOAD_OFFLINE" \
		"$LOAD_LIVE" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- work directory: %s (%s); whole run %.0f s\n' "$WORK" "$(work_device)" "$RUN_SECS"
	printf -- '- page cache dropped before each backup: %s; every backup is a full one into a new repository; no final sync\n' "$CACHES_DROPPED"
	printf -- '- the workload keeps writing, so the live data sets are larger than the offline one (mean %s vs %s bytes, %s%%; %s and %s vs %s files): compare s/GiB\n\n' \
		"$live_bytes" "$off_bytes" "$grow" "${B_FILES[live1]}" "${B_FILES[live2]}" "${B_FILES[off1]}"

	printf '| backup | seconds | of which scan+store | s/GiB | MB/s | bytes_total | files | bytes_read | bytes_added | peak RSS MiB |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
	brow "offline 1 (sim stopped)" off1
	brow "offline 2 (sim stopped)" off2
	brow "live 1 (--node, under writes)" live1
	brow "live 2 (--node, under writes)" live2
	brow "offline 3 (root after the workload, cross-check)" off3
	printf '\n| | offline | live | live overhead |\n|---|---:|---:|---:|\n'
	printf '| seconds, median of 2 | %.2f | %.2f | %s%% |\n' "$off_med" "$live_med" "$(pct "$live_med" "$off_med")"
	printf '| seconds, min of 2 | %.2f | %.2f | %s%% |\n' "$off_min" "$live_min" "$(pct "$live_min" "$off_min")"
	printf '| s/GiB, median of 2 | %.2f | %.2f | %s%% |\n' "$off_gib_med" "$live_gib_med" "$(pct "$live_gib_med" "$off_gib_med")"
	printf '| s/GiB, min of 2 | %.2f | %.2f | %s%% |\n' "$off_gib_min" "$live_gib_min" "$(pct "$live_gib_min" "$off_gib_min")"
	printf '\nSeconds outside scan+store (start, connecting; live: the snapshot call, in which the node hard-links every file, and the removal of the snapshot): offline %.2f, %.2f; live %.2f, %.2f.\n' \
		"$(calc "${B_SECS[off1]} - ${B_DUR[off1]}")" "$(calc "${B_SECS[off2]} - ${B_DUR[off2]}")" \
		"$(calc "${B_SECS[live1]} - ${B_DUR[live1]}")" "$(calc "${B_SECS[live2]} - ${B_DUR[live2]}")"
	printf 'Of which the node'"'"'s snapshot call: %.2f, %.2f s; the removal of the snapshot (overlapping the last writes): %.2f, %.2f s.\n' \
		"${B_SNAP[live1]}" "${B_SNAP[live2]}" "${B_RM[live1]}" "${B_RM[live2]}"
	printf 'During the snapshot call the live backups read %.1f and %.1f MiB of the node'"'"'s live parts, of which %.1f and %.1f MiB were in the snapshot and not read again.\n' \
		"$(mib "${B_PRE[live1]}")" "$(mib "${B_PRE[live2]}")" "$(mib "${B_PREUSED[live1]}")" "$(mib "${B_PREUSED[live2]}")"

	printf '\nSimulator write rate (seconds by its own clock; MB = 10^6 bytes written, merges included):\n\n'
	printf '| window | seconds | flushes | flushes/s | MB written | MB/s | merges | sim CPU %% |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
	wrow "unloaded 1 (before)" u1
	wrow "during live 1" live1
	wrow "unloaded 2 (between)" u2
	wrow "during live 2" live2
	wrow "unloaded 3 (after)" u3
	printf '| all unloaded | %.2f | | %.2f | | %.2f | | |\n' "$un_secs" "$un_fps" "$un_mbps"
	printf '| all during backups | %.2f | | %.2f | | %.2f | | |\n' "$ld_secs" "$ld_fps" "$ld_mbps"
	printf '\nDuring each backup vs the mean of the unloaded windows around it: live 1 %s%% flushes/s, %s%% MB/s; live 2 %s%% flushes/s, %s%% MB/s. Unloaded MB/s ranged %.2f–%.2f (merges come in bursts); the scheduled rate is one flush per --flush-interval.\n' \
		"$(pct "${W_FPS[live1]}" "$base1_fps")" "$(pct "${W_MBPS[live1]}" "$base1_mbps")" \
		"$(pct "${W_FPS[live2]}" "$base2_fps")" "$(pct "${W_MBPS[live2]}" "$base2_mbps")" "$mb_lo" "$mb_hi"

	printf '\nTargets (issue 3):\n\n'
	target "live backup ≤ 110% of offline, per GiB (same data)" "$(ge "1.10 * $off_gib_med" "$live_gib_med")" \
		"median $(calc '%.2f' "$live_gib_med") s/GiB = $(calc '%.1f' "100 * $live_gib_med / $off_gib_med")% of $(calc '%.2f' "$off_gib_med") s/GiB (min: $(calc '%.1f' "100 * $live_gib_min / $off_gib_min")%)"
	target "live backup ≤ 110% of offline, raw seconds (live data $grow%)" "$(ge "1.10 * $off_med" "$live_med")" \
		"median $(calc '%.2f' "$live_med") s = $(calc '%.1f' "100 * $live_med / $off_med")% of $(calc '%.2f' "$off_med") s (min: $(calc '%.1f' "100 * $live_min / $off_min")%)"
	target "write rate during backup ≥ 90% of unloaded (flushes/s)" "$(ge "$ld_fps" "0.9 * $un_fps")" \
		"$(calc '%.2f' "$ld_fps") flushes/s = $(calc '%.1f' "100 * $ld_fps / $un_fps")% of $(calc '%.2f' "$un_fps") (live 1 $(calc '%.1f' "100 * ${W_FPS[live1]} / $base1_fps")%, live 2 $(calc '%.1f' "100 * ${W_FPS[live2]} / $base2_fps")%)"
	target "write rate during backup ≥ 90% of unloaded (MB/s)" "$(ge "$ld_mbps" "0.9 * $un_mbps")" \
		"$(calc '%.2f' "$ld_mbps") MB/s = $(calc '%.1f' "100 * $ld_mbps / $un_mbps")% of $(calc '%.2f' "$un_mbps") (live 1 $(calc '%.1f' "100 * ${W_MBPS[live1]} / $base1_mbps")%, live 2 $(calc '%.1f' "100 * ${W_MBPS[live2]} / $base2_mbps")%; unloaded windows $(calc '%.2f' "$mb_lo")–$(calc '%.2f' "$mb_hi"))"

	printf '\nChecks:\n\n'
	printf -- '- live backups: %s snapshot calls, %s catalog snapshots taken; snapshot entries left under ROOT/*/snapshots: %s\n' \
		"$SIM_SNAPSHOTS" "$SIM_SNAPSHOTS_TAKEN" "$SNAPS_LEFT"
	printf -- '- banyand-sim: %s workload errors in %.0f s; exit status after SIGTERM: %s\n' "$SIM_ERRORS" "$SIM_UPTIME" "$SIM_RC"
	printf -- '- offline 3 (the root the workload left, %s bytes) took %.2f s, %.2f s/GiB: %s%% per GiB against offline 1–2\n' \
		"${B_TOTAL[off3]}" "${B_SECS[off3]}" "$(secs_per_gib off3)" "$(pct "$(secs_per_gib off3)" "$off_gib_med")"
}

print_report

if [[ $SIM_ERRORS != 0 ]]; then
	die "banyand-sim reported $SIM_ERRORS workload errors"
fi
check_strict
