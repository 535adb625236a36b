#!/usr/bin/env bash
# bench/object.sh — banyan-backup against an S3 server, on 127.0.0.1 and,
# with BENCH_LINK, across rate-limited network links.
#
# Starts versitygw (scripts/test-servers.sh, posix backend in the work
# directory), generates a BanyanDB-shaped data root (bench/gen), and
# measures in one run, on the same server and disk:
#   raw PUT of 64 MiB objects (curl, one request each, unsigned payload)
#   banyan-backup backup of the root into s3://bench/repo
#   raw GET of the repository's packs (curl, to /dev/null): one at a time,
#     and four at once
#   banyan-backup restore latest from it, into a directory on the disk and,
#     where /dev/shm is a tmpfs, into memory (the restore's reading path
#     without the disk's writes)
# and prints a Markdown report with the PASS/MISS lines of the targets:
# backup at least 70% of the raw PUT rate, restore at least 70% of the raw
# GET rate of the same packs (the faster of one and four at once).
#
# The first part runs versitygw on 127.0.0.1, where the raw rates are memory
# copies. Each rate in BENCH_LINK adds a part that runs all the steps again
# with a new server in a network namespace of its own, reached over a veth
# pair whose two ends send at most that rate (tc tbf; bench/lib.sh,
# link_up): the client and the server still share the CPUs, the disk and
# the page cache, but every byte crosses a link of that rate. Needs root.
#
# Environment:
#   BENCH_SIZE=2GiB       size of the generated root
#   BENCH_SEED=1          generator seed
#   BENCH_OBJECTS=16      number of 64 MiB objects for the raw rates
#   BENCH_LINK=RATES      also measure across links of these tc rates, e.g.
#                         "1gbit 2500mbit" (default: 127.0.0.1 only)
#   BENCH_DIR=DIR         work directory (default: mktemp -d /var/tmp/bbobj.XXXX)
#   BENCH_KEEP=1          keep the work directory
#   BENCH_OUT=FILE        also write the report there
#   BENCH_STRICT=1        exit 1 when a target is missed
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=object
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-2GiB}
SEED=${BENCH_SEED:-1}
OBJECTS=${BENCH_OBJECTS:-16}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
SYNC=0

LINKS=(loopback)
read -r -a rates <<<"${BENCH_LINK:-}"
for r in "${rates[@]}"; do
	link_bits "$r" >/dev/null
	LINKS+=("$r")
done
if [[ ${#LINKS[@]} -gt 1 ]]; then
	[[ $(id -u) == 0 ]] || die "BENCH_LINK needs root (network namespaces and tc)"
	command -v tc >/dev/null || die "BENCH_LINK needs tc (iproute2)"
fi

setup_work /var/tmp/bbobj.XXXX
ROOT=$WORK/root
RESTORED="" # restores
SERVERS=$WORK/servers
BIN=$WORK/bin
LOGS=$WORK/logs
OBJ=$WORK/object-64MiB

SERVER_DIR=""
MEMTARGET=""
LINK_STATS=""
cleanup() {
	local rc=$?
	stop_s3
	link_down
	if [[ -n $MEMTARGET ]]; then rm -rf -- "$MEMTARGET"; fi
	cleanup_work "$ROOT" "$WORK"/restored-* "$SERVERS" "$BIN" "$LOGS" "$OBJ"
	exit "$rc"
}
trap cleanup EXIT

mbps() { calc '%.1f' "$1 / 1000000 / $2"; }
le() { calc "($1) <= ($2) ? 1 : 0"; }

# ---------------------------------------------------------------- server

# start_s3 starts versitygw for the part RUN: on 127.0.0.1, or in the
# link's namespace at its far end; creates the buckets raw and bench, and
# sets EP, S3 (curl with the keys) and BB (banyan-backup on s3://bench/repo).
start_s3() {
	local -a where=()
	SERVER_DIR=$SERVERS/$RUN
	if [[ $LINK != loopback ]]; then where=(TEST_SERVERS_NETNS="$LINK_NS" TEST_SERVERS_HOST="$LINK_PEER_ADDR"); fi
	log "$RUN: starting versitygw"
	env "${where[@]}" "$SRC_DIR/scripts/test-servers.sh" start "$SERVER_DIR" s3 2>"$LOGS/$RUN-servers.err" || {
		cat "$LOGS/$RUN-servers.err" >&2
		die "cannot start versitygw"
	}
	# shellcheck disable=SC1091
	source "$SERVER_DIR/env"
	EP=$BANYAN_TEST_S3_ENDPOINT
	S3=(curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3"
		--user "$BANYAN_TEST_S3_ACCESS_KEY:$BANYAN_TEST_S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
	"${S3[@]}" -X PUT "$EP/raw" >"$LOGS/$RUN-mb-raw.out" || die "cannot create bucket raw"
	"${S3[@]}" -X PUT "$EP/bench" >"$LOGS/$RUN-mb-bench.out" || die "cannot create bucket bench"
	export AWS_ACCESS_KEY_ID=$BANYAN_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BANYAN_TEST_S3_SECRET_KEY
	BB=(env TZ=UTC "$BIN/banyan-backup" --repo s3://bench/repo --s3-endpoint "$EP")
}

# stop_s3 stops the part's server and removes its data.
stop_s3() {
	[[ -n $SERVER_DIR ]] || return 0
	"$SRC_DIR/scripts/test-servers.sh" stop "$SERVER_DIR" || true
	rm -rf -- "$SERVER_DIR"
	SERVER_DIR=""
}

# ---------------------------------------------------------------- steps

raw_put() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	local put_all='for i in $(seq "$1"); do "${@:4}" -T "$2" "$3/raw/obj$i" >/dev/null || exit 1; done'
	log "$RUN: raw PUT of $OBJECTS × 64 MiB"
	measure "$RUN-rawput" 0 bash -c "$put_all" put "$OBJECTS" "$OBJ" "$EP" "${S3[@]}"
	PUT_SECS=$SECS
	PUT_MBPS=$(mbps "$RAW_BYTES" "$PUT_SECS")
}

backup_s3() {
	"${BB[@]}" init >"$LOGS/$RUN-init.out" 2>"$LOGS/$RUN-init.err" || {
		cat "$LOGS/$RUN-init.err" >&2
		die "banyan-backup init failed"
	}
	log "$RUN: backup"
	measure "$RUN-backup" 0 "${BB[@]}" backup --root "$ROOT" --json
	BK_SECS=$SECS BK_RSS=$RSS_KIB
	BK_MBPS=$(mbps "$SRC_BYTES" "$BK_SECS")
	BK_ADDED=$(json_field "$LOGS/$RUN-backup.out" bytes_added)
	BK_WIRE=$(mbps "$BK_ADDED" "$BK_SECS")
}

# raw_gets fetches the repository's packs, as versitygw's posix backend
# keeps them, one at a time and then four at once.
raw_gets() {
	local packs=$LOGS/$RUN-packs.txt
	(cd "$SERVER_DIR/s3/bench" && find repo/data -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}') >"$packs"
	PACKS=$(wc -l <"$packs")
	PACK_BYTES=$(cd "$SERVER_DIR/s3/bench" && xargs -a "$packs" stat -c %s | awk '{ s += $1 } END { printf "%.0f\n", s }')
	# shellcheck disable=SC2016
	local get_seq='while read -r p; do "${@:3}" -o /dev/null "$2/bench/$p" || exit 1; done <"$1"'
	# shellcheck disable=SC2016
	local get_par='xargs -P4 -I{} "${@:3}" -o /dev/null "$2/bench/{}" <"$1"'
	log "$RUN: raw GET of the repository's $PACKS packs, one at a time"
	measure "$RUN-rawget" 0 bash -c "$get_seq" get "$packs" "$EP" "${S3[@]}"
	GET_SECS=$SECS
	GET_MBPS=$(mbps "$PACK_BYTES" "$GET_SECS")
	log "$RUN: raw GET of the same packs, four at once"
	measure "$RUN-rawget4" 0 bash -c "$get_par" get "$packs" "$EP" "${S3[@]}"
	GET4_SECS=$SECS
	GET4_MBPS=$(mbps "$PACK_BYTES" "$GET4_SECS")
	GET_BEST=$(calc '%.1f' "($GET_MBPS > $GET4_MBPS) ? $GET_MBPS : $GET4_MBPS")
}

restores() {
	# Each part restores into a directory of its own; the trees are deleted
	# at the end. On a filesystem without a journal (ext4 here), creating
	# files where a tree was just deleted is two to five times slower while
	# the deleted inodes' table blocks are cached: the allocator skips
	# inodes deleted in the last minute, one at a time
	# (docs/benchmarks.md, object storage).
	RESTORED=$WORK/restored-$RUN
	sync
	log "$RUN: restore"
	measure "$RUN-restore" 0 "${BB[@]}" restore latest --target "$RESTORED" --json
	RS_SECS=$SECS RS_RSS=$RSS_KIB
	RS_MBPS=$(mbps "$SRC_BYTES" "$RS_SECS")
	RS_WIRE=$(mbps "$BK_ADDED" "$RS_SECS")
	RM_SECS="" RM_RSS=0 RM_WIRE=""
	if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
		MEMTARGET=$(mktemp -d /dev/shm/bbobj.XXXX)
		log "$RUN: restore into memory ($MEMTARGET)"
		measure "$RUN-restore-mem" 0 "${BB[@]}" restore latest --target "$MEMTARGET/r" --json
		RM_SECS=$SECS RM_RSS=$RSS_KIB
		RM_WIRE=$(mbps "$BK_ADDED" "$RM_SECS")
		rm -rf -- "$MEMTARGET"
		MEMTARGET=""
	fi
}

# check_restore compares the restored tree with the source and verifies
# the repository; it sets SAME and VERIFIED and counts failures in FAILED.
check_restore() {
	if diff -r "$ROOT" "$RESTORED" >"$LOGS/$RUN-diff.out" 2>&1; then
		SAME="PASS (identical)"
	else
		SAME="FAIL ($(wc -l <"$LOGS/$RUN-diff.out") differences)"
		FAILED=$((FAILED + 1))
	fi
	log "$RUN: verify --read-data"
	if "${BB[@]}" verify --read-data >"$LOGS/$RUN-verify.out" 2>&1; then
		VERIFIED=PASS
	else
		VERIFIED="FAIL ($(tail -n 1 "$LOGS/$RUN-verify.out"))"
		FAILED=$((FAILED + 1))
	fi
}

# ---------------------------------------------------------------- report

# heading prints the part's title and what its link is.
heading() {
	if [[ $LINK == loopback ]]; then
		printf '### versitygw on 127.0.0.1 (loopback)\n\n'
		printf -- '- load %s at the start of this part\n' "$PART_LOAD"
		return
	fi
	local bits
	bits=$(link_bits "$LINK")
	printf '### versitygw across a %s link\n\n' "$LINK"
	printf -- '- link: veth pair to a network namespace, tc tbf %s on both ends = %s MB/s of frames each way; no added delay; tbf at the end: %s\n' \
		"$LINK" "$(calc '%.1f' "$bits / 8000000")" "$LINK_STATS"
	printf -- '- load %s at the start of this part; the raw GET reached %s%% of the link'"'"'s rate\n' \
		"$PART_LOAD" "$(calc '%.0f' "100 * $GET_BEST / ($bits / 8000000)")"
}

# section prints the part's table, its targets and its checks.
section() {
	heading
	printf -- '- repository data stored: %s bytes; %s packs, %s bytes\n' "$BK_ADDED" "$PACKS" "$PACK_BYTES"
	printf '\n| step | seconds | MB/s (source bytes) | MB/s (bytes sent or fetched) | peak RSS MiB |\n|---|---:|---:|---:|---:|\n'
	printf '| raw PUT 64 MiB | %.2f | - | %s | - |\n' "$PUT_SECS" "$PUT_MBPS"
	printf '| backup | %.2f | %s | %s | %.1f |\n' "$BK_SECS" "$BK_MBPS" "$BK_WIRE" "$(calc "$BK_RSS / 1024")"
	printf '| raw GET of the packs, one at a time | %.2f | - | %s | - |\n' "$GET_SECS" "$GET_MBPS"
	printf '| raw GET of the packs, four at once | %.2f | - | %s | - |\n' "$GET4_SECS" "$GET4_MBPS"
	printf '| restore into %s | %.2f | %s | %s | %.1f |\n' "$(work_device)" "$RS_SECS" "$RS_MBPS" "$RS_WIRE" "$(calc "$RS_RSS / 1024")"
	if [[ -n $RM_SECS ]]; then
		printf '| restore into memory (tmpfs) | %.2f | %s | %s | %.1f |\n' "$RM_SECS" "$(mbps "$SRC_BYTES" "$RM_SECS")" "$RM_WIRE" "$(calc "$RM_RSS / 1024")"
	fi
	printf '\nTargets (%s):\n\n' "$LINK"
	target "backup ≥ 70% of raw PUT ($LINK)" "$(le "0.7 * $PUT_MBPS" "$BK_MBPS")" \
		"$BK_MBPS MB/s = $(calc '%.0f' "100 * $BK_MBPS / $PUT_MBPS")% of $PUT_MBPS MB/s"
	target "restore ≥ 70% of raw GET of the same packs ($LINK)" "$(le "0.7 * $GET_BEST" "$RS_WIRE")" \
		"$RS_WIRE MB/s of packs = $(calc '%.0f' "100 * $RS_WIRE / $GET_BEST")% of $GET_BEST MB/s"
	if [[ -n $RM_SECS ]]; then
		target "restore into memory ≥ 70% of raw GET of the same packs ($LINK)" "$(le "0.7 * $GET_BEST" "$RM_WIRE")" \
			"$RM_WIRE MB/s of packs = $(calc '%.0f' "100 * $RM_WIRE / $GET_BEST")% of $GET_BEST MB/s"
	fi
	printf '\nChecks: restored tree equals the source: %s; verify --read-data: %s\n\n' "$SAME" "$VERIFIED"
}

report() {
	printf '## banyan-backup to S3 (versitygw %s, %s, seed %s; %s)\n\n' "$(cat "$SRC_DIR/.cache/test-servers/versitygw.version")" \
		"$SIZE" "$SEED" "${LINKS[*]}"
	printf -- '- source: %s files, %s bytes (%s MiB)\n' "$SRC_FILES" "$SRC_BYTES" "$(mib "$SRC_BYTES")"
	printf -- '- host: %s CPUs (shared with the server), %s GiB RAM, load %s at start and %s at end, %s, commit %s, %s\n' "$(nproc)" \
		"$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- server data and work directory: %s (%s); page cache warm\n' "$WORK" "$(work_device)"
	printf -- '- raw: curl, unsigned payload: %s sequential PUTs of 64 MiB; GETs of the repository'"'"'s packs to /dev/null; MB/s = 10^6 bytes/s\n\n' "$OBJECTS"
	cat "$LOGS/sections.md"
}

# ---------------------------------------------------------------- run

# run_part TAG LINK runs every step against a new server, on 127.0.0.1
# (LINK "loopback") or across a link of rate LINK, and adds its section.
run_part() {
	RUN=$1 LINK=$2
	sync
	PART_LOAD=$(loadavg)
	if [[ $LINK != loopback ]]; then
		log "$RUN: link $LINK"
		link_up "$RUN" "$LINK"
	fi
	start_s3
	raw_put
	backup_s3
	raw_gets
	restores
	if [[ $LINK != loopback ]]; then LINK_STATS=$(link_qdisc_stats); fi
	check_restore
	section >>"$LOGS/sections.md"
	stop_s3
	link_down
}

mkdir -p "$BIN" "$LOGS"
log "work directory $WORK (size $SIZE, seed $SEED, ${LINKS[*]})"
LOAD_START=$(loadavg)
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
setup_rss
generate_root
SRC_BYTES=$(tree_bytes "$ROOT")
SRC_FILES=$(tree_files "$ROOT")
head -c $((64 << 20)) /dev/urandom >"$OBJ"
RAW_BYTES=$((OBJECTS * (64 << 20)))
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
FAILED=0
: >"$LOGS/sections.md"
for i in "${!LINKS[@]}"; do
	run_part "$i" "${LINKS[$i]}"
done

print_report
if [[ $FAILED != 0 ]]; then die "the restore check failed"; fi
check_strict
