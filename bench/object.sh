#!/usr/bin/env bash
# bench/object.sh — banyan-backup against an S3 server on 127.0.0.1.
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
# Environment:
#   BENCH_SIZE=2GiB       size of the generated root
#   BENCH_SEED=1          generator seed
#   BENCH_OBJECTS=16      number of 64 MiB objects for the raw rates
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

setup_work /var/tmp/bbobj.XXXX
ROOT=$WORK/root
RESTORED=$WORK/restored
SERVERS=$WORK/servers
BIN=$WORK/bin
LOGS=$WORK/logs
OBJ=$WORK/object-64MiB

MEMTARGET=""
cleanup() {
	local rc=$?
	"$SRC_DIR/scripts/test-servers.sh" stop "$SERVERS" || true
	if [[ -n $MEMTARGET ]]; then rm -rf -- "$MEMTARGET"; fi
	cleanup_work "$ROOT" "$RESTORED" "$SERVERS" "$BIN" "$LOGS" "$OBJ"
	exit "$rc"
}
trap cleanup EXIT

mbps() { calc '%.1f' "$1 / 1000000 / $2"; }

mkdir -p "$BIN" "$LOGS"
log "work directory $WORK (size $SIZE, seed $SEED)"
LOAD_START=$(loadavg)
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
setup_rss
generate_root
SRC_BYTES=$(tree_bytes "$ROOT")
SRC_FILES=$(tree_files "$ROOT")

log "starting versitygw"
"$SRC_DIR/scripts/test-servers.sh" start "$SERVERS" s3 2>"$LOGS/servers.err" || {
	cat "$LOGS/servers.err" >&2
	die "cannot start versitygw"
}
# shellcheck disable=SC1091
source "$SERVERS/env"
EP=$BANYAN_TEST_S3_ENDPOINT
S3=(curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3"
	--user "$BANYAN_TEST_S3_ACCESS_KEY:$BANYAN_TEST_S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
"${S3[@]}" -X PUT "$EP/raw" >"$LOGS/mb-raw.out" || die "cannot create bucket raw"
"${S3[@]}" -X PUT "$EP/bench" >"$LOGS/mb-bench.out" || die "cannot create bucket bench"

# ---------------------------------------------------------------- raw rates

head -c $((64 << 20)) /dev/urandom >"$OBJ"
RAW_BYTES=$((OBJECTS * (64 << 20)))
# shellcheck disable=SC2016 # expanded by the inner shell
put_all='for i in $(seq "$1"); do "${@:4}" -T "$2" "$3/raw/obj$i" >/dev/null || exit 1; done'
log "raw PUT of $OBJECTS × 64 MiB"
measure rawput 0 bash -c "$put_all" put "$OBJECTS" "$OBJ" "$EP" "${S3[@]}"
PUT_SECS=$SECS
PUT_MBPS=$(mbps "$RAW_BYTES" "$PUT_SECS")

# ---------------------------------------------------------------- banyan-backup

export AWS_ACCESS_KEY_ID=$BANYAN_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BANYAN_TEST_S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
BB=(env TZ=UTC "$BIN/banyan-backup" --repo s3://bench/repo --s3-endpoint "$EP")
"${BB[@]}" init >"$LOGS/init.out" 2>"$LOGS/init.err" || {
	cat "$LOGS/init.err" >&2
	die "banyan-backup init failed"
}
log "backup"
measure backup 0 "${BB[@]}" backup --root "$ROOT" --json
BK_SECS=$SECS BK_RSS=$RSS_KIB
BK_MBPS=$(mbps "$SRC_BYTES" "$BK_SECS")
BK_ADDED=$(json_field "$LOGS/backup.out" bytes_added)
BK_WIRE=$(mbps "$BK_ADDED" "$BK_SECS")

# The repository's packs, as versitygw's posix backend keeps them.
(cd "$SERVERS/s3/bench" && find repo/data -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}') >"$LOGS/packs.txt"
PACKS=$(wc -l <"$LOGS/packs.txt")
PACK_BYTES=$(cd "$SERVERS/s3/bench" && xargs -a "$LOGS/packs.txt" stat -c %s | awk '{ s += $1 } END { printf "%.0f\n", s }')
# shellcheck disable=SC2016
get_seq='while read -r p; do "${@:3}" -o /dev/null "$2/bench/$p" || exit 1; done <"$1"'
# shellcheck disable=SC2016
get_par='xargs -P4 -I{} "${@:3}" -o /dev/null "$2/bench/{}" <"$1"'
log "raw GET of the repository's $PACKS packs, one at a time"
measure rawget 0 bash -c "$get_seq" get "$LOGS/packs.txt" "$EP" "${S3[@]}"
GET_SECS=$SECS
GET_MBPS=$(mbps "$PACK_BYTES" "$GET_SECS")
log "raw GET of the same packs, four at once"
measure rawget4 0 bash -c "$get_par" get "$LOGS/packs.txt" "$EP" "${S3[@]}"
GET4_SECS=$SECS
GET4_MBPS=$(mbps "$PACK_BYTES" "$GET4_SECS")
GET_BEST=$(calc '%.1f' "($GET_MBPS > $GET4_MBPS) ? $GET_MBPS : $GET4_MBPS")

log "restore"
measure restore 0 "${BB[@]}" restore latest --target "$RESTORED" --json
RS_SECS=$SECS RS_RSS=$RSS_KIB
RS_MBPS=$(mbps "$SRC_BYTES" "$RS_SECS")
RS_WIRE=$(mbps "$BK_ADDED" "$RS_SECS")
RM_SECS="" RM_RSS=0 RM_WIRE=""
if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
	MEMTARGET=$(mktemp -d /dev/shm/bbobj.XXXX)
	log "restore into memory ($MEMTARGET)"
	measure restore-mem 0 "${BB[@]}" restore latest --target "$MEMTARGET/r" --json
	RM_SECS=$SECS RM_RSS=$RSS_KIB
	RM_WIRE=$(mbps "$BK_ADDED" "$RM_SECS")
	rm -rf -- "$MEMTARGET"
	MEMTARGET=""
fi

if diff -r "$ROOT" "$RESTORED" >"$LOGS/diff.out" 2>&1; then
	SAME="PASS (identical)"
else
	SAME="FAIL ($(wc -l <"$LOGS/diff.out") differences)"
fi
log "verify --read-data"
if "${BB[@]}" verify --read-data >"$LOGS/verify.out" 2>&1; then VERIFIED=PASS; else VERIFIED="FAIL ($(tail -n 1 "$LOGS/verify.out"))"; fi

le() { calc "($1) <= ($2) ? 1 : 0"; }

report() {
	printf '## banyan-backup to S3 (versitygw %s on 127.0.0.1, %s, seed %s)\n\n' "$(cat "$SRC_DIR/.cache/test-servers/versitygw.version")" "$SIZE" "$SEED"
	printf -- '- source: %s files, %s bytes (%s MiB); repository data stored: %s bytes\n' "$SRC_FILES" "$SRC_BYTES" "$(mib "$SRC_BYTES")" "$BK_ADDED"
	printf -- '- host: %s CPUs (shared with the server), %s GiB RAM, load %s at start and %s at end, %s, commit %s, %s\n' "$(nproc)" \
		"$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- server data and work directory: %s (%s); page cache warm\n' "$WORK" "$(work_device)"
	printf -- '- raw: curl, unsigned payload: %s sequential PUTs of 64 MiB; GETs of the repository'"'"'s %s packs (%s bytes) to /dev/null; MB/s = 10^6 bytes/s\n\n' "$OBJECTS" "$PACKS" "$PACK_BYTES"
	printf '| step | seconds | MB/s (source bytes) | MB/s (bytes sent or fetched) | peak RSS MiB |\n|---|---:|---:|---:|---:|\n'
	printf '| raw PUT 64 MiB | %.2f | - | %s | - |\n' "$PUT_SECS" "$PUT_MBPS"
	printf '| backup | %.2f | %s | %s | %.1f |\n' "$BK_SECS" "$BK_MBPS" "$BK_WIRE" "$(calc "$BK_RSS / 1024")"
	printf '| raw GET of the packs, one at a time | %.2f | - | %s | - |\n' "$GET_SECS" "$GET_MBPS"
	printf '| raw GET of the packs, four at once | %.2f | - | %s | - |\n' "$GET4_SECS" "$GET4_MBPS"
	printf '| restore into %s | %.2f | %s | %s | %.1f |\n' "$(work_device)" "$RS_SECS" "$RS_MBPS" "$RS_WIRE" "$(calc "$RS_RSS / 1024")"
	if [[ -n $RM_SECS ]]; then
		printf '| restore into memory (tmpfs) | %.2f | %s | %s | %.1f |\n' "$RM_SECS" "$(mbps "$SRC_BYTES" "$RM_SECS")" "$RM_WIRE" "$(calc "$RM_RSS / 1024")"
	fi
	printf '\nTargets:\n\n'
	target "backup ≥ 70% of raw PUT" "$(le "0.7 * $PUT_MBPS" "$BK_MBPS")" \
		"$BK_MBPS MB/s = $(calc '%.0f' "100 * $BK_MBPS / $PUT_MBPS")% of $PUT_MBPS MB/s"
	target "restore ≥ 70% of raw GET of the same packs" "$(le "0.7 * $GET_BEST" "$RS_WIRE")" \
		"$RS_WIRE MB/s of packs = $(calc '%.0f' "100 * $RS_WIRE / $GET_BEST")% of $GET_BEST MB/s"
	if [[ -n $RM_SECS ]]; then
		target "restore into memory ≥ 70% of raw GET of the same packs" "$(le "0.7 * $GET_BEST" "$RM_WIRE")" \
			"$RM_WIRE MB/s of packs = $(calc '%.0f' "100 * $RM_WIRE / $GET_BEST")% of $GET_BEST MB/s"
	fi
	printf '\nChecks: restored tree equals the source: %s; verify --read-data: %s\n' "$SAME" "$VERIFIED"
}

print_report
if [[ $SAME != PASS* || $VERIFIED != PASS ]]; then die "the restore check failed"; fi
check_strict
