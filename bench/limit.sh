#!/usr/bin/env bash
# bench/limit.sh — bandwidth limits over whole backups, and a limited live
# backup beside the node's writes.
#
# Targets (resource control issue):
#   1. --limit-read and --limit-upload hold within ±10% over a whole backup,
#      at 20 MiB/s and 100 MiB/s: bytes read (or bytes the repository grew
#      by, all of which pass the upload limiter) over the backup's wall time.
#   2. A live backup limited to 50 MiB/s (--limit-read 50MiB) keeps
#      banyand-sim's write rate within 5% of its rate without a backup.
#
# One run, on one disk:
#   1. bench/gen writes a BanyanDB-shaped data root (fixed seed).
#   2. An unlimited offline backup (the natural rate, which must exceed the
#      limits for them to mean anything), then one offline backup per limit
#      and rate, each into a new repository with the page cache dropped.
#      Then the read limits again on a faster pipeline: --force-rehash
#      backups into a repository that already holds the root (every file
#      read and hashed, nothing compressed or stored), so that a read limit
#      above what a first backup reaches on a loaded host is still tested.
#   3. banyand-sim starts on the root with live.sh's steady, paced write
#      workload, warms up, then: unloaded window, live backup limited to
#      BENCH_LIVE_LIMIT, unloaded window, live backup, unloaded window. The
#      simulator's /sim/stats is sampled every 0.5 s during each backup, so
#      the write rate is known over the whole backup and over its
#      rate-limited store phase alone (after the node's snapshot call, which
#      holds the write lock while it hard-links every file: live.sh measures
#      that part).
#   4. The simulator is stopped with SIGTERM (by PID).
#
# Environment:
#   BENCH_SIZE=512MiB     size of the generated root
#   BENCH_SEED=1          generator and workload seed
#   BENCH_RATES="20 100"  limits to check, MiB/s
#   BENCH_LIVE_LIMIT=50   the live backups' --limit-read, MiB/s
#   BENCH_WINDOW=10       seconds of each unloaded window
#   BENCH_WARMUP=5        seconds the workload runs before the first window
#   BENCH_DIR, BENCH_KEEP, BENCH_OUT, BENCH_STRICT as in bench/live.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=limit
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-512MiB}
SEED=${BENCH_SEED:-1}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
RATES=${BENCH_RATES:-20 100}
LIVE_LIMIT=${BENCH_LIVE_LIMIT:-50}
WINDOW=${BENCH_WINDOW:-10}
WARMUP=${BENCH_WARMUP:-5}
SIM_FLAGS=${BENCH_SIM_FLAGS:---flush-interval 200ms --merge-every 5 --part-size 32KiB --bluge-every 10 --write-groups measure/sw_metricsMinute,stream/sw_records}

setup_work /var/tmp/bblimit.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs
POLL_PID=

cleanup() {
	local rc=$?
	if [[ -n $POLL_PID ]]; then kill "$POLL_PID" 2>/dev/null || true; fi
	stop_sim
	cleanup_work "$ROOT" "$BIN" "$LOGS" "$WORK"/repo-*
	exit "$rc"
}
trap cleanup EXIT

BB=(env TZ=UTC "$BIN/banyan-backup")

# ---------------------------------------------------------------- offline backups

declare -A B_SECS B_DUR B_READ B_ADDED B_SNAP B_REMOVE B_START B_END

# run_backup NAME ARGS... backs ROOT up into a new repository (page cache
# dropped) and records wall time and the JSON's counters under NAME.
run_backup() {
	local name=$1 repo=$WORK/repo-$1
	shift
	"${BB[@]}" init --repo "$repo" >"$LOGS/init-$name.out" 2>&1 || {
		cat "$LOGS/init-$name.out" >&2
		die "banyan-backup init failed"
	}
	drop_caches
	B_START[$name]=$EPOCHREALTIME
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "$ROOT" "$@" --json
	B_END[$name]=$EPOCHREALTIME
	B_SECS[$name]=$SECS
	B_DUR[$name]=$(json_field "$LOGS/$name.out" duration_seconds)
	B_READ[$name]=$(json_field "$LOGS/$name.out" bytes_read)
	B_ADDED[$name]=$(json_field "$LOGS/$name.out" bytes_added)
	B_SNAP[$name]=$(jq -r '.snapshot_seconds // 0' "$LOGS/$name.out")
	B_REMOVE[$name]=$(jq -r '.snapshot_remove_seconds // 0' "$LOGS/$name.out")
	log "$name: $(calc '%.2f' "$SECS") s, read ${B_READ[$name]}, added ${B_ADDED[$name]}"
	rm -rf -- "$repo"
}

# run_rehash NAME ARGS... backs ROOT up again with --force-rehash into
# $WORK/repo-base, which already holds it: every file is read and hashed,
# nothing is stored. This pipeline is faster than a first backup (no
# compression, no packs), so it can show read limits that a first backup
# on a loaded host would not reach.
run_rehash() {
	local name=$1 repo=$WORK/repo-base
	shift
	if [[ ! -d $repo ]]; then
		"${BB[@]}" init --repo "$repo" >"$LOGS/init-base.out" 2>&1 || die "banyan-backup init failed"
		"${BB[@]}" backup --repo "$repo" --root "$ROOT" --json >"$LOGS/base.out" 2>"$LOGS/base.err" || die "base backup failed"
	fi
	drop_caches
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "$ROOT" --force-rehash "$@" --json
	B_SECS[$name]=$SECS
	B_DUR[$name]=$(json_field "$LOGS/$name.out" duration_seconds)
	B_READ[$name]=$(json_field "$LOGS/$name.out" bytes_read)
	B_ADDED[$name]=$(json_field "$LOGS/$name.out" bytes_added)
	log "$name: $(calc '%.2f' "$SECS") s, read ${B_READ[$name]}, added ${B_ADDED[$name]}"
}

# mibs BYTES SECS
mibs() { calc '%.2f' "$1 / 1048576 / $2"; }

# ---------------------------------------------------------------- simulator

# stats_line prints "uptime flushes bytes_written" from /sim/stats.
stats_line() {
	curl -fsS --max-time 10 "http://$SIM_HTTP/sim/stats" | jq -r '"\(.uptime_seconds) \(.flushes) \(.bytes_written) \(.errors)"'
}

declare -A W_SECS W_FLUSHES W_BYTES

# window NAME "A-line" "B-line" records the rates between two stats lines.
window() {
	local a b
	read -r -a a <<<"$2"
	read -r -a b <<<"$3"
	W_SECS[$1]=$(calc "${b[0]} - ${a[0]}")
	W_FLUSHES[$1]=$((b[1] - a[1]))
	W_BYTES[$1]=$((b[2] - a[2]))
}
fps() { calc "${W_FLUSHES[$1]} / ${W_SECS[$1]}"; }
mbps() { calc "${W_BYTES[$1]} / 1000000 / ${W_SECS[$1]}"; }

unloaded() {
	local a b
	log "unloaded window $1 (${WINDOW} s)"
	a=$(stats_line)
	sleep "$WINDOW"
	b=$(stats_line)
	window "$1" "$a" "$b"
}

# poll FILE appends "epochtime stats_line" every 0.5 s until killed.
poll() {
	while :; do
		printf '%s %s\n' "$EPOCHREALTIME" "$(stats_line)" >>"$1"
		sleep 0.5
	done
}

# live NAME takes a live backup limited to LIVE_LIMIT with the workload
# running; windows NAME (whole backup) and NAME-store (after the snapshot
# call, before the snapshot's removal) get the simulator's rates.
live() {
	local name=$1 a b pollf=$LOGS/poll-$1.txt
	log "live backup $name (--limit-read ${LIVE_LIMIT}MiB)"
	: >"$pollf"
	a=$(stats_line)
	poll "$pollf" &
	POLL_PID=$!
	run_backup "$name" --node "$SIM_GRPC" --limit-read "${LIVE_LIMIT}MiB"
	kill "$POLL_PID" 2>/dev/null || true
	wait "$POLL_PID" 2>/dev/null || true
	POLL_PID=
	b=$(stats_line)
	window "$name" "$a" "$b"
	# The store phase: samples taken 0.3 s after the snapshot call's end
	# until the snapshot's removal began.
	local from to first last
	from=$(calc '%.6f' "${B_START[$name]} + ${B_SECS[$name]} - ${B_DUR[$name]} - ${B_REMOVE[$name]} + 0.3")
	to=$(calc '%.6f' "${B_END[$name]} - ${B_REMOVE[$name]} - 0.1")
	first=$(awk -v f="$from" -v t="$to" '$1 >= f && $1 <= t { $1 = ""; print; exit }' "$pollf")
	last=$(awk -v f="$from" -v t="$to" '$1 >= f && $1 <= t { $1 = ""; l = $0 } END { print l }' "$pollf")
	[[ -n $first && -n $last ]] || die "no simulator samples during $name's store phase ($from to $to): $(head -c 600 "$pollf")"
	window "$name-store" "$first" "$last"
	kill -0 "$SIM_PID" 2>/dev/null || die "banyand-sim died"
}

# ---------------------------------------------------------------- run

mkdir -p "$BIN" "$LOGS"
[[ ! -e $ROOT ]] || die "$ROOT already exists (use an empty BENCH_DIR)"
command -v curl >/dev/null || die "curl is not installed"
command -v jq >/dev/null || die "jq is not installed"
RUN_START=$EPOCHREALTIME
LOAD_START=$(loadavg)
for p in gen:./bench/gen banyan-backup:./cmd/banyan-backup banyand-sim:./cmd/banyand-sim; do
	build_bin "${p%%:*}" "${p#*:}"
done
setup_rss
generate_root

log "offline backups"
run_backup free
for r in $RATES; do
	run_backup "read-$r" --limit-read "${r}MiB"
	run_backup "upload-$r" --limit-upload "${r}MiB"
done
run_rehash rehash-free
for r in $RATES; do
	run_rehash "rehash-$r" --limit-read "${r}MiB"
done
LOAD_OFFLINE=$(loadavg)

start_sim "$((SEED + 1))"
sleep "$WARMUP"
unloaded u1
live live1
unloaded u2
live live2
unloaded u3
SIM_ERRORS=$(stats_line | awk '{ print $4 }')
LOAD_LIVE=$(loadavg)
stop_sim
[[ $SIM_RC == 0 ]] || die "banyand-sim did not exit cleanly after SIGTERM ($SIM_RC)"
RUN_SECS=$(calc "$EPOCHREALTIME - $RUN_START")

# ---------------------------------------------------------------- report

# within A B F prints 1 when A is within B ± F·B ("<=" only: awk's print
# would take ">" for a redirection).
within() { calc "(($1) - ($2)) * (($1) - ($2)) <= ($3) * ($3) * ($2) * ($2) ? 1 : 0"; }

report() {
	printf '## banyan-backup bandwidth limits (%s, seed %s)\n\n' "$SIZE" "$SEED"
	printf -- '- source: %s\n' "${GEN_LINE#gen: }"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start, %s after the offline backups, %s after the live ones; %s, %s, commit %s, %s\n' \
		"$(nproc)" "$(mem_gib)" "$LOAD_START" "$LOAD_OFFLINE" "$LOAD_LIVE" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- page cache dropped before each backup: %s; whole run %.0f s\n\n' "$CACHES_DROPPED" "$RUN_SECS"
	printf '| backup | limit | seconds | bytes read | read MiB/s | bytes added (uploaded) | upload MiB/s | limited rate / limit |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
	printf '| unlimited | — | %.2f | %s | %s | %s | %s | — |\n' "${B_SECS[free]}" "${B_READ[free]}" "$(mibs "${B_READ[free]}" "${B_SECS[free]}")" \
		"${B_ADDED[free]}" "$(mibs "${B_ADDED[free]}" "${B_SECS[free]}")"
	local r n rate
	for r in $RATES; do
		n=read-$r
		rate=$(mibs "${B_READ[$n]}" "${B_SECS[$n]}")
		printf '| --limit-read %sMiB | %s MiB/s | %.2f | %s | %s | %s | %s | %.1f%% |\n' "$r" "$r" "${B_SECS[$n]}" "${B_READ[$n]}" "$rate" \
			"${B_ADDED[$n]}" "$(mibs "${B_ADDED[$n]}" "${B_SECS[$n]}")" "$(calc "100 * $rate / $r")"
		n=upload-$r
		rate=$(mibs "${B_ADDED[$n]}" "${B_SECS[$n]}")
		printf '| --limit-upload %sMiB | %s MiB/s | %.2f | %s | %s | %s | %s | %.1f%% |\n' "$r" "$r" "${B_SECS[$n]}" "${B_READ[$n]}" \
			"$(mibs "${B_READ[$n]}" "${B_SECS[$n]}")" "${B_ADDED[$n]}" "$rate" "$(calc "100 * $rate / $r")"
	done
	printf '| unlimited, --force-rehash into a repository holding the data | — | %.2f | %s | %s | %s | — | — |\n' "${B_SECS[rehash-free]}" \
		"${B_READ[rehash-free]}" "$(mibs "${B_READ[rehash-free]}" "${B_SECS[rehash-free]}")" "${B_ADDED[rehash-free]}"
	for r in $RATES; do
		n=rehash-$r
		rate=$(mibs "${B_READ[$n]}" "${B_SECS[$n]}")
		printf '| --limit-read %sMiB, --force-rehash, same repository | %s MiB/s | %.2f | %s | %s | %s | — | %.1f%% |\n' "$r" "$r" "${B_SECS[$n]}" \
			"${B_READ[$n]}" "$rate" "${B_ADDED[$n]}" "$(calc "100 * $rate / $r")"
	done
	printf '\nRates are bytes over the whole backup'"'"'s wall time (process start to exit, %s); 1 MiB = 2^20 bytes.\n\n' "scan and index load included"

	printf 'Simulator write rate (%s; seconds by its clock):\n\n' "$SIM_FLAGS"
	printf '| window | seconds | flushes/s | MB/s |\n|---|---:|---:|---:|\n'
	local w
	for w in u1 live1 live1-store u2 live2 live2-store u3; do
		printf '| %s | %.2f | %.2f | %.2f |\n' "$w" "${W_SECS[$w]}" "$(fps "$w")" "$(mbps "$w")"
	done
	local un_f un_m ld_f ld_m st_f st_m
	un_f=$(calc "(${W_FLUSHES[u1]} + ${W_FLUSHES[u2]} + ${W_FLUSHES[u3]}) / (${W_SECS[u1]} + ${W_SECS[u2]} + ${W_SECS[u3]})")
	un_m=$(calc "(${W_BYTES[u1]} + ${W_BYTES[u2]} + ${W_BYTES[u3]}) / 1000000 / (${W_SECS[u1]} + ${W_SECS[u2]} + ${W_SECS[u3]})")
	ld_f=$(calc "(${W_FLUSHES[live1]} + ${W_FLUSHES[live2]}) / (${W_SECS[live1]} + ${W_SECS[live2]})")
	ld_m=$(calc "(${W_BYTES[live1]} + ${W_BYTES[live2]}) / 1000000 / (${W_SECS[live1]} + ${W_SECS[live2]})")
	st_f=$(calc "(${W_FLUSHES[live1-store]} + ${W_FLUSHES[live2-store]}) / (${W_SECS[live1-store]} + ${W_SECS[live2-store]})")
	st_m=$(calc "(${W_BYTES[live1-store]} + ${W_BYTES[live2-store]}) / 1000000 / (${W_SECS[live1-store]} + ${W_SECS[live2-store]})")
	printf '\nLive backups (--limit-read %sMiB): %.2f s and %.2f s, of which the node'"'"'s snapshot call %.2f s and %.2f s; read rate over scan+store %s and %s MiB/s.\n' \
		"$LIVE_LIMIT" "${B_SECS[live1]}" "${B_SECS[live2]}" "${B_SNAP[live1]}" "${B_SNAP[live2]}" \
		"$(mibs "${B_READ[live1]}" "${B_DUR[live1]}")" "$(mibs "${B_READ[live2]}" "${B_DUR[live2]}")"
	printf 'Simulator workload errors: %s; exit after SIGTERM: %s.\n\n' "$SIM_ERRORS" "$SIM_RC"

	printf 'Targets:\n\n'
	for r in $RATES; do
		rate=$(calc "${B_READ[read-$r]} / 1048576 / ${B_SECS[read-$r]}")
		target "--limit-read ${r}MiB within ±10% over the backup" "$(within "$rate" "$r" 0.10)" "$(calc '%.2f' "$rate") MiB/s"
		rate=$(calc "${B_ADDED[upload-$r]} / 1048576 / ${B_SECS[upload-$r]}")
		target "--limit-upload ${r}MiB within ±10% over the backup" "$(within "$rate" "$r" 0.10)" "$(calc '%.2f' "$rate") MiB/s"
		rate=$(calc "${B_READ[rehash-$r]} / 1048576 / ${B_SECS[rehash-$r]}")
		target "--limit-read ${r}MiB within ±10% over a --force-rehash backup" "$(within "$rate" "$r" 0.10)" "$(calc '%.2f' "$rate") MiB/s"
	done
	target "write rate during the limited store phase ≥ 95% of unloaded (flushes/s)" "$(ge "$st_f" "0.95 * $un_f")" \
		"$(calc '%.2f' "$st_f") = $(calc '%.1f' "100 * $st_f / $un_f")% of $(calc '%.2f' "$un_f")"
	target "write rate during the limited store phase ≥ 95% of unloaded (MB/s)" "$(ge "$st_m" "0.95 * $un_m")" \
		"$(calc '%.2f' "$st_m") = $(calc '%.1f' "100 * $st_m / $un_m")% of $(calc '%.2f' "$un_m")"
	target "write rate over the whole limited backup, snapshot call included, ≥ 95% of unloaded (flushes/s)" "$(ge "$ld_f" "0.95 * $un_f")" \
		"$(calc '%.2f' "$ld_f") = $(calc '%.1f' "100 * $ld_f / $un_f")% of $(calc '%.2f' "$un_f")"
	target "write rate over the whole limited backup, snapshot call included, ≥ 95% of unloaded (MB/s)" "$(ge "$ld_m" "0.95 * $un_m")" \
		"$(calc '%.2f' "$ld_m") = $(calc '%.1f' "100 * $ld_m / $un_m")% of $(calc '%.2f' "$un_m")"
}

print_report
check_strict
