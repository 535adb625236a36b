# bench/lib.sh — shell helpers shared by bench/backup.sh and bench/live.sh.
#
# Source it right after `set -euo pipefail`:
#   source "$(dirname "$0")/lib.sh"
# It only defines functions: sourcing it runs nothing and sets no variable.
#
# The sourcing script provides these variables (before it calls a helper
# that uses them):
#   LOG_TAG   the word after the time in log lines ("bench", "live")
#   SRC_DIR   the repository's top directory (go build runs there)
#   SIZE SEED the generator's --size and --seed
#   KEEP      1: cleanup_work keeps the work directory (BENCH_KEEP)
#   SYNC      1: measure NAME 1 ... ends with a `sync` (BENCH_SYNC; unset: 0)
#   OUT       where print_report also writes the report (BENCH_OUT)
#   STRICT    1: check_strict fails on a missed target (BENCH_STRICT)
#   BIN LOGS ROOT   built binaries, logs, the generated data root
# and a function `report` that prints the Markdown report (print_report).
#
# The helpers set these globals:
#   WORK OWN_WORK     setup_work: the work directory, and whether it made it
#   CACHES_DROPPED    setup_work: "yes"; drop_caches: why not, if a drop fails
#   TIME_BIN          setup_rss: GNU time, or empty to poll VmHWM
#   SECS RSS_KIB      measure: wall time (s) and peak RSS (KiB) of a command
#   CPU_SECS          measure: its user + system CPU time (s); empty without GNU time
#   GEN_LINE          generate_root: the generator's last line
#   REPORT MISSES     print_report: the report and its number of MISS lines

# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared with the sourcing script

# ---------------------------------------------------------------- logging

log() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "${LOG_TAG:-bench}" "$*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}

# ---------------------------------------------------------------- work directory

# setup_work TEMPLATE sets WORK to BENCH_DIR (made if missing; OWN_WORK=0) or
# to a new `mktemp -d TEMPLATE` (OWN_WORK=1), as an absolute path, and starts
# CACHES_DROPPED at "yes".
setup_work() {
	if [[ -n ${BENCH_DIR:-} ]]; then
		WORK=$BENCH_DIR
		OWN_WORK=0
		mkdir -p "$WORK"
	else
		WORK=$(mktemp -d "$1")
		OWN_WORK=1
	fi
	WORK=$(cd "$WORK" && pwd)
	CACHES_DROPPED=yes
}

# cleanup_work PATH... keeps the work directory when BENCH_KEEP=1, removes
# it when this run made it, and else removes only the PATHs (what the run
# created in the given BENCH_DIR). For the scripts' EXIT traps.
cleanup_work() {
	if [[ $KEEP == 1 ]]; then
		log "kept work directory $WORK"
	elif [[ $OWN_WORK == 1 ]]; then
		rm -rf -- "$WORK"
	else
		rm -rf -- "$@"
	fi
}

# ---------------------------------------------------------------- arithmetic

# calc evaluates an awk expression, e.g. calc '1/3' or calc '%.1f' '2/3'.
calc() {
	if [[ $# == 2 ]]; then
		awk "BEGIN { printf \"$1\", $2 }"
	else
		awk "BEGIN { print $1 }"
	fi
}

mib() { calc '%.1f' "$1 / 1048576"; }

# ---------------------------------------------------------------- files

# tree_bytes DIR prints the sum of the regular files' sizes.
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
tree_files() { find "$1" -type f | wc -l; }

# json_field FILE KEY prints a top-level number or string from a JSON file.
json_field() {
	local v
	v=$(json_opt "$1" "$2" "")
	[[ -n $v ]] || die "no \"$2\" in $1: $(head -c 300 "$1")"
	printf '%s\n' "$v"
}

# json_opt FILE KEY DEFAULT prints the field, or DEFAULT when the answer
# has none (json_field dies instead).
json_opt() {
	local v
	v=$(jq -r --arg k "$2" '.[$k] // empty' "$1" 2>/dev/null) ||
		v=$(sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p" "$1" | head -n 1)
	printf '%s\n' "${v:-$3}"
}

# ---------------------------------------------------------------- build and generate

# build_bin NAME PKG [HINT] builds the Go package PKG (e.g. ./bench/gen) of
# SRC_DIR into BIN/NAME; on failure it shows the compiler's errors and fails
# the benchmark with "cannot build PKG" and HINT.
build_bin() {
	if ! (cd "$SRC_DIR" && go build -o "$BIN/$1" "$2") 2>"$LOGS/build.err"; then
		cat "$LOGS/build.err" >&2
		die "cannot build $2${3:-}"
	fi
}

# generate_root writes a SIZE root with SEED into ROOT (BIN/gen), with the
# generator's further flags GEN_FLAGS if set, and sets GEN_LINE to the
# generator's summary line.
generate_root() {
	local flags
	read -r -a flags <<<"${GEN_FLAGS:-}"
	log "generating $SIZE root ${GEN_FLAGS:-}"
	"$BIN/gen" --out "$ROOT" --size "$SIZE" --seed "$SEED" "${flags[@]}" 2>"$LOGS/gen.err" || {
		cat "$LOGS/gen.err" >&2
		die "generator failed"
	}
	GEN_LINE=$(tail -n 1 "$LOGS/gen.err")
	log "$GEN_LINE"
}

# ---------------------------------------------------------------- measuring

# drop_caches syncs and drops the page cache; CACHES_DROPPED stays "yes"
# only while every drop succeeds.
drop_caches() {
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		CACHES_DROPPED="no (/proc/sys/vm/drop_caches not writable; caches warm)"
	fi
}

# finish_sync ends a timed write step: data must reach the disk to count.
finish_sync() {
	if [[ ${SYNC:-0} == 1 ]]; then sync; fi
}

# RSS measurement: GNU time's %M (max RSS, KiB), installed if missing; else
# poll VmHWM of the process while it runs.
setup_rss() {
	TIME_BIN=
	if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
		TIME_BIN=/usr/bin/time
		return
	fi
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing GNU time for peak RSS"
		if apt-get install -y -qq time >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; }; then
			if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
				TIME_BIN=/usr/bin/time
				return
			fi
		fi
	fi
	log "GNU time unavailable: peak RSS read from /proc/PID/status VmHWM"
}

# measure NAME SYNC CMD... runs CMD with stdout to $LOGS/NAME.out and
# stderr to $LOGS/NAME.err, and sets SECS (wall time, plus a final sync when
# SYNC is 1 and the script's SYNC is 1), RSS_KIB (peak resident set,
# KiB) and CPU_SECS (user + system; with GNU time only). It fails the
# benchmark if CMD fails. Call setup_rss first.
measure() {
	local name=$1 want_sync=$2
	shift 2
	local start rc=0
	RSS_KIB="" CPU_SECS=""
	start=$EPOCHREALTIME
	if [[ -n $TIME_BIN ]]; then
		"$TIME_BIN" -f '%U %S\n%M' -o "$LOGS/$name.rss" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" || rc=$?
		RSS_KIB=$(tail -n 1 "$LOGS/$name.rss")
		CPU_SECS=$(tail -n 2 "$LOGS/$name.rss" | awk 'NR == 1 { print $1 + $2 }')
	else
		"$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
		local pid=$! hwm peak=0
		while kill -0 "$pid" 2>/dev/null; do
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
			if [[ -n $hwm && $hwm -gt $peak ]]; then peak=$hwm; fi
			sleep 0.02
		done
		wait "$pid" || rc=$?
		RSS_KIB=$peak
	fi
	if [[ $want_sync == 1 ]]; then finish_sync; fi
	SECS=$(calc "$EPOCHREALTIME - $start")
	if [[ $rc != 0 ]]; then
		tail -n 20 "$LOGS/$name.err" >&2 || true
		die "$name: '$*' exited with $rc (logs in $LOGS; BENCH_KEEP=1 keeps them)"
	fi
}

# ---------------------------------------------------------------- host facts

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
mem_gib() { awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo; }
go_release() { go version | awk '{ print $3 }'; }
src_commit() { git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo "uncommitted"; }
utc_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# work_device prints the device that holds WORK.
work_device() { df -P "$WORK" | awk 'NR == 2 { print $1 }'; }

# ---------------------------------------------------------------- report

# target NAME OK DETAILS prints one PASS/MISS line.
target() {
	if [[ $2 == 1 ]]; then
		printf -- '- PASS %s: %s\n' "$1" "$3"
	else
		printf -- '- MISS %s: %s\n' "$1" "$3"
	fi
}

# print_report runs the script's `report`, prints it, also writes it to OUT
# unless that is /dev/stdout, and sets REPORT and MISSES.
print_report() {
	REPORT=$(report)
	MISSES=$(grep -c '^- MISS' <<<"$REPORT" || true)
	printf '%s\n' "$REPORT"
	if [[ $OUT != /dev/stdout ]]; then
		printf '%s\n' "$REPORT" >"$OUT"
	fi
}

# check_strict fails the benchmark when BENCH_STRICT=1 and a target was
# missed (after print_report).
check_strict() {
	if [[ $STRICT == 1 && $MISSES -gt 0 ]]; then
		die "$MISSES targets missed"
	fi
}

# ---------------------------------------------------------------- simulator
# For scripts that run banyand-sim: they set BIN, ROOT, LOGS and SIM_FLAGS.

SIM_PID=
SIM_GRPC=
SIM_HTTP=

# stop_sim sends SIGTERM to the simulator this script started and waits up
# to 15 s; it sets SIM_RC (its exit code, or "killed").
SIM_RC=
stop_sim() {
	[[ -n $SIM_PID ]] || return 0
	local pid=$SIM_PID i
	SIM_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		SIM_RC=killed
		return 0
	fi
	SIM_RC=0
	wait "$pid" 2>/dev/null || SIM_RC=$?
}

# start_sim SEED starts banyand-sim on ROOT and waits for "ready".
start_sim() {
	local flags i
	read -r -a flags <<<"$SIM_FLAGS"
	"$BIN/banyand-sim" --root "$ROOT" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
		--seed "$1" "${flags[@]}" >"$LOGS/sim.out" 2>"$LOGS/sim.err" &
	SIM_PID=$!
	for ((i = 0; i < 300; i++)); do
		if grep -qx ready "$LOGS/sim.out" 2>/dev/null; then break; fi
		kill -0 "$SIM_PID" 2>/dev/null || {
			cat "$LOGS/sim.err" >&2
			SIM_PID=
			die "banyand-sim exited before it was ready"
		}
		sleep 0.1
	done
	grep -qx ready "$LOGS/sim.out" || die "banyand-sim not ready after 30 s"
	SIM_GRPC=$(awk '$1 == "grpc" { print $2 }' "$LOGS/sim.out")
	SIM_HTTP=$(awk '$1 == "http" { print $2 }' "$LOGS/sim.out")
	[[ -n $SIM_GRPC && -n $SIM_HTTP ]] || die "banyand-sim printed no addresses: $(head -c 300 "$LOGS/sim.out")"
}

# pct A B prints A relative to B in percent, signed.
pct() { calc '%+.1f' "100 * ($1 / ($2) - 1)"; }
# ge A B prints 1 when A >= B.
ge() { calc "($2) <= ($1) ? 1 : 0"; }

# ---------------------------------------------------------------- rate-limited links
# For scripts that run a server on a host of its own: a network namespace
# joined to this one by a veth pair, each end of which sends at most RATE
# (a tc token bucket on its egress), so traffic both ways crosses a link of
# that rate. Needs root and iproute2 (ip, tc). The kernel's page cache and
# CPUs stay shared: the link bounds the bytes on the wire, nothing else.

LINK_NS=
LINK_DEV=
LINK_ADDR=
LINK_PEER_ADDR=

# link_bits RATE prints a tc rate given in bit, kbit, mbit or gbit (1gbit,
# 2500mbit) in bit/s; it fails the benchmark on any other form.
link_bits() {
	local n unit
	[[ $1 =~ ^([0-9]+([.][0-9]+)?)(|k|m|g)bit$ ]] || die "link rate '$1': want a number and bit, kbit, mbit or gbit (e.g. 1gbit, 2500mbit)"
	n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]}
	[[ $(calc "($n > 0) ? 1 : 0") == 1 ]] || die "link rate '$1': want more than nothing"
	case $unit in
	k) calc '%.0f' "$n * 1000" ;;
	m) calc '%.0f' "$n * 1000000" ;;
	g) calc '%.0f' "$n * 1000000000" ;;
	*) calc '%.0f' "$n" ;;
	esac
}

# link_up TAG RATE creates the namespace bbo<pid>-<TAG> and the veth pair
# bbo<pid>-<TAG>c (here, at LINK_ADDR) and bbo<pid>-<TAG>s (there, at
# LINK_PEER_ADDR, a /30 in 10.251.0.0/16), both limited to RATE by tbf. It
# sets LINK_NS and LINK_DEV first, so that link_down removes a link made
# halfway. Call link_down (also from the EXIT trap) before the next link_up.
link_up() {
	local tag=$1 rate=$2 bits burst i net
	bits=$(link_bits "$rate")
	# A bucket of 1 ms at the rate, and at least 256 KiB: several 64 KiB
	# segments (GSO) fit in it, so the rate holds steady.
	burst=$(calc '%.0f' "($bits / 8000 > 262144) ? $bits / 8000 : 262144")
	for ((i = 0; i < 100; i++)); do
		net="10.251.$((RANDOM % 256)).$((RANDOM % 64 * 4))"
		[[ -z $(ip -o -4 addr show to "$net/30") ]] && break
	done
	LINK_NS=bbo$$-$tag LINK_DEV=bbo$$-${tag}c
	LINK_ADDR=${net%.*}.$((${net##*.} + 1)) LINK_PEER_ADDR=${net%.*}.$((${net##*.} + 2))
	local peer=bbo$$-${tag}s
	link_ip netns add "$LINK_NS"
	link_ip link add "$LINK_DEV" type veth peer name "$peer"
	link_ip link set "$peer" netns "$LINK_NS"
	link_ip addr add "$LINK_ADDR/30" dev "$LINK_DEV"
	link_ip link set "$LINK_DEV" up
	link_ip -n "$LINK_NS" link set lo up
	link_ip -n "$LINK_NS" addr add "$LINK_PEER_ADDR/30" dev "$peer"
	link_ip -n "$LINK_NS" link set "$peer" up
	link_tc qdisc add dev "$LINK_DEV" root tbf rate "$rate" burst "$burst" latency 20ms
	link_tc -n "$LINK_NS" qdisc add dev "$peer" root tbf rate "$rate" burst "$burst" latency 20ms
}

# link_ip and link_tc run ip or tc, and fail the benchmark with the first
# line of its complaint.
link_ip() {
	local err
	err=$(ip "$@" 2>&1 >/dev/null) || die "ip $*: ${err%%$'\n'*}"
}
link_tc() {
	local err
	err=$(tc "$@" 2>&1 >/dev/null) || die "tc $*: ${err%%$'\n'*}"
}

# link_down removes the veth pair (its qdiscs go with it) and the
# namespace. Stop the processes in the namespace first: one still running
# keeps the namespace alive (not its name) until it exits.
link_down() {
	if [[ -n $LINK_DEV ]]; then ip link delete "$LINK_DEV" 2>/dev/null || true; fi
	if [[ -n $LINK_NS ]]; then ip netns delete "$LINK_NS" 2>/dev/null || true; fi
	LINK_NS='' LINK_DEV='' LINK_ADDR='' LINK_PEER_ADDR=''
}

# link_qdisc_stats prints the packets the link's tbf dropped and delayed
# (overlimits), both ends: "dropped D, overlimits O".
link_qdisc_stats() {
	{
		tc -s qdisc show dev "$LINK_DEV"
		tc -n "$LINK_NS" -s qdisc show
	} 2>/dev/null | awk '/dropped/ { gsub(/[,)]/, ""); d += $7; o += $9 } END { printf "dropped %d, overlimits %d\n", d, o }'
}
