#!/usr/bin/env bash
# bench/backup.sh — banyan-backup's end-to-end benchmark.
#
# Generates a BanyanDB-shaped data root (bench/gen), then measures in one
# run, side by side on the same disk:
#   cp -a ROOT COPY                          the baseline for throughput
#   tar -C ROOT -cf - . | zstd -1 -T1        the baseline for size
#   banyan-backup backup (full)              time, MB/s, peak RSS, repository size
#   banyan-backup backup (unchanged)         time, page cache dropped and then warm
#   bench/gen --add-parts 1; backup          time, bytes added
#   banyan-backup restore latest             time, MB/s, peak RSS
# checks that the restored tree equals the source, and prints a Markdown
# table and PASS/MISS lines for the project's targets. banyan-backup's
# stderr goes to files there, so it prints a progress line every 10 s;
# bench/progress.sh measures what those lines cost (nothing measurable).
#
# Environment:
#   BENCH_SIZE=2GiB       size of the generated root (2GiB, 512MiB, 100MB, bytes)
#   BENCH_SEED=1          generator seed
#   BENCH_DIR=DIR         work directory (default: mktemp -d /var/tmp/bbbench.XXXX;
#                         keep it on the disk you want to measure)
#   BENCH_KEEP=1          keep the work directory
#   BENCH_OUT=FILE        also write the report there (default /dev/stdout)
#   BENCH_SYNC=1          end the timed cp -a, tar|zstd, full backup and restore
#                         with `sync` (default 1): the copies must reach the disk,
#                         as banyan-backup syncs what it writes
#   BENCH_VERIFY=1        also run `banyan-backup verify --read-data` (untimed check)
#   BENCH_STRICT=1        exit 1 when a target is missed
#   BENCH_BASELINE_ONLY=1 measure only the generator, cp -a and tar|zstd
#                         (for use while banyan-backup does not build)
#
# Run as root to drop the page cache between steps (sync; echo 3 >
# /proc/sys/vm/drop_caches); otherwise caches stay warm and the report says so.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=bench
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-2GiB}
SEED=${BENCH_SEED:-1}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
SYNC=${BENCH_SYNC:-1}
VERIFY=${BENCH_VERIFY:-1}
STRICT=${BENCH_STRICT:-0}
BASELINE_ONLY=${BENCH_BASELINE_ONLY:-0}

setup_work /var/tmp/bbbench.XXXX
ROOT=$WORK/root
COPY=$WORK/copy
TARBALL=$WORK/root.tar.zst
REPO=$WORK/repo
RESTORED=$WORK/restored
BIN=$WORK/bin
LOGS=$WORK/logs

# ---------------------------------------------------------------- helpers
# (log, die, calc, measure and the others are in bench/lib.sh)

# cleanup removes what this script created, unless BENCH_KEEP=1.
cleanup() {
	local rc=$?
	cleanup_work "$ROOT" "$COPY" "$TARBALL" "$REPO" "$RESTORED" "$BIN" "$LOGS"
	exit "$rc"
}
trap cleanup EXIT

mbps() { calc '%.1f' "$1 / 1000000 / $2"; }
ratio() { calc '%.2f' "$1 / $2"; }

# BB runs banyan-backup; the generator names segments in UTC.
BB=(env TZ=UTC "$BIN/banyan-backup")

# ---------------------------------------------------------------- build

mkdir -p "$BIN" "$LOGS"
for d in "$ROOT" "$COPY" "$TARBALL" "$REPO" "$RESTORED"; do
	[[ ! -e $d ]] || die "$d already exists (use an empty BENCH_DIR)"
done
command -v zstd >/dev/null || die "zstd is not installed"

log "work directory $WORK (size $SIZE, seed $SEED)"
LOAD_START=$(loadavg)
build_bin gen ./bench/gen
HAVE_CLI=0
if [[ $BASELINE_ONLY != 1 ]]; then
	build_bin banyan-backup ./cmd/banyan-backup \
		" (see above); BENCH_BASELINE_ONLY=1 runs only gen, cp -a and tar|zstd"
	HAVE_CLI=1
fi
setup_rss

# ---------------------------------------------------------------- generate

generate_root
"$BIN/gen" --check "$ROOT" 2>>"$LOGS/gen.err" || die "generated root fails its layout check"
SRC_BYTES=$(tree_bytes "$ROOT")
SRC_FILES=$(tree_files "$ROOT")

# ---------------------------------------------------------------- baselines

log "cp -a"
drop_caches
measure cp 1 cp -a "$ROOT" "$COPY"
CP_SECS=$SECS
CP_MBPS=$(mbps "$SRC_BYTES" "$CP_SECS")
rm -rf -- "$COPY"

log "tar | zstd -1 -T1"
drop_caches
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
measure tar 1 bash -c 'set -o pipefail; tar -C "$1" -cf - . | zstd -q -1 -T1 >"$2"' tar "$ROOT" "$TARBALL"
TAR_SECS=$SECS
TAR_MBPS=$(mbps "$SRC_BYTES" "$TAR_SECS")
TAR_BYTES=$(stat -c %s "$TARBALL")
rm -f -- "$TARBALL"

# ---------------------------------------------------------------- banyan-backup

if [[ $HAVE_CLI == 1 ]]; then
	"${BB[@]}" init --repo "$REPO" >"$LOGS/init.out" 2>"$LOGS/init.err" || {
		cat "$LOGS/init.err" >&2
		die "banyan-backup init failed"
	}

	log "full backup"
	drop_caches
	measure full 1 "${BB[@]}" backup --repo "$REPO" --root "$ROOT" --json
	FULL_SECS=$SECS FULL_RSS=$RSS_KIB
	FULL_MBPS=$(mbps "$SRC_BYTES" "$FULL_SECS")
	FULL_ADDED=$(json_field "$LOGS/full.out" bytes_added)
	REPO_BYTES=$(du -sb "$REPO" | cut -f1)

	log "unchanged re-backup"
	drop_caches
	measure unchanged 0 "${BB[@]}" backup --repo "$REPO" --root "$ROOT" --json
	UNCH_SECS=$SECS UNCH_RSS=$RSS_KIB
	UNCH_ADDED=$(json_field "$LOGS/unchanged.out" bytes_added)

	# The same again with the metadata in the page cache, as on a server
	# that backs up often.
	log "unchanged re-backup, warm cache"
	measure unchanged-warm 0 "${BB[@]}" backup --repo "$REPO" --root "$ROOT" --json
	WARM_SECS=$SECS WARM_RSS=$RSS_KIB
	WARM_ADDED=$(json_field "$LOGS/unchanged-warm.out" bytes_added)

	log "adding 1% new parts"
	"$BIN/gen" --add-parts 1 --out "$ROOT" --seed "$SEED" 2>"$LOGS/add.err" || {
		cat "$LOGS/add.err" >&2
		die "gen --add-parts failed"
	}
	ADD_LINE=$(tail -n 1 "$LOGS/add.err")
	log "$ADD_LINE"
	NEW_BYTES=$(tree_bytes "$ROOT")

	log "incremental backup"
	drop_caches
	measure incr 0 "${BB[@]}" backup --repo "$REPO" --root "$ROOT" --json
	INCR_SECS=$SECS INCR_RSS=$RSS_KIB
	INCR_ADDED=$(json_field "$LOGS/incr.out" bytes_added)
	INCR_PCT=$(calc '%.1f' "100 * $INCR_SECS / $FULL_SECS")
	REPO_BYTES_AFTER=$(du -sb "$REPO" | cut -f1)

	log "restore latest"
	drop_caches
	measure restore 1 "${BB[@]}" restore latest --repo "$REPO" --target "$RESTORED" --json
	REST_SECS=$SECS REST_RSS=$RSS_KIB
	REST_MBPS=$(mbps "$NEW_BYTES" "$REST_SECS")
	REST_BYTES=$(tree_bytes "$RESTORED")

	log "comparing the restored tree with the source"
	if diff -r "$ROOT" "$RESTORED" >"$LOGS/diff.out" 2>&1; then
		SAME="PASS (diff -r: identical, $(tree_files "$RESTORED") files, $REST_BYTES bytes)"
	else
		SAME="FAIL (diff -r: $(wc -l <"$LOGS/diff.out") differences, e.g. $(head -n 1 "$LOGS/diff.out"))"
	fi
	if "$BIN/gen" --check "$RESTORED" 2>"$LOGS/check-restored.err"; then
		LAYOUT="PASS ($(tail -n 1 "$LOGS/check-restored.err" | sed 's/^gen: //'))"
	else
		LAYOUT="FAIL ($(head -n 1 "$LOGS/check-restored.err"))"
	fi

	VERIFIED="not run (BENCH_VERIFY=0)"
	if [[ $VERIFY == 1 ]]; then
		log "verify --read-data"
		vstart=$EPOCHREALTIME
		if "${BB[@]}" verify --repo "$REPO" --read-data >"$LOGS/verify.out" 2>&1; then
			VERIFIED="PASS ($(calc '%.2f' "$EPOCHREALTIME - $vstart") s)"
		else
			VERIFIED="FAIL (exit $?; $(tail -n 1 "$LOGS/verify.out"))"
		fi
	fi
fi

# ---------------------------------------------------------------- report

# row NAME SECS MBPS RSS_KIB SIZE [WHOLE] prints one table row with the
# ratios; the size ratio only for sizes of a whole tree (WHOLE=1).
row() {
	local name=$1 secs=$2 mbps=$3 rss=$4 size=$5 whole=${6:-1} rssmib=- vscp=- vstar=- svstar=-
	[[ -z $rss ]] || rssmib=$(calc '%.1f' "$rss / 1024")
	if [[ $secs != - ]]; then
		vscp="$(ratio "$secs" "$CP_SECS")×"
		vstar="$(ratio "$secs" "$TAR_SECS")×"
		secs=$(calc '%.2f' "$secs")
	fi
	[[ $whole != 1 ]] || svstar="$(calc '%.3f' "$size / $TAR_BYTES")×"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$name" "$secs" "$mbps" "$rssmib" "$size" "$vscp" "$vstar" "$svstar"
}

le() { calc "($1) <= ($2) ? 1 : 0"; }

report() {
	printf '## banyan-backup benchmark (%s, seed %s)\n\n' "$SIZE" "$SEED"
	printf -- '- source: %s files, %s bytes (%s MiB); %s\n' "$SRC_FILES" "$SRC_BYTES" "$(mib "$SRC_BYTES")" "${GEN_LINE#gen: }"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start and %s at end, %s, %s, commit %s, %s\n' "$(nproc)" \
		"$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- work directory: %s (%s)\n' "$WORK" "$(work_device)"
	printf -- '- page cache dropped before each step: %s; cp -a, tar|zstd, full backup and restore times include a final sync: %s\n' \
		"$CACHES_DROPPED" "$([[ $SYNC == 1 ]] && echo yes || echo no)"
	printf -- '- MB/s = source bytes / 10^6 / seconds; ratios: time ÷ cp -a time, time ÷ tar|zstd time, size ÷ tar.zst size\n\n'
	printf '| step | seconds | MB/s | peak RSS MiB | size bytes | time vs cp -a | time vs tar\\|zstd | size vs tar\\|zstd |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
	row "cp -a" "$CP_SECS" "$CP_MBPS" "" "$SRC_BYTES"
	row "tar\\|zstd -1" "$TAR_SECS" "$TAR_MBPS" "" "$TAR_BYTES"
	if [[ $HAVE_CLI != 1 ]]; then
		printf '\nbanyan-backup steps skipped (BENCH_BASELINE_ONLY=1).\n'
		return
	fi
	row "full backup (repository)" "$FULL_SECS" "$FULL_MBPS" "$FULL_RSS" "$REPO_BYTES"
	row "unchanged re-backup (bytes added)" "$UNCH_SECS" - "$UNCH_RSS" "$UNCH_ADDED" 0
	row "unchanged re-backup, warm cache" "$WARM_SECS" - "$WARM_RSS" "$WARM_ADDED" 0
	row "incremental 1% (bytes added)" "$INCR_SECS" - "$INCR_RSS" "$INCR_ADDED" 0
	row "restore" "$REST_SECS" "$REST_MBPS" "$REST_RSS" "$REST_BYTES"

	local unch_limit peak
	unch_limit=$(calc '%.3f' "0.2 * $SRC_BYTES / 2147483648")
	peak=$(printf '%s\n' "$FULL_RSS" "$UNCH_RSS" "$WARM_RSS" "$INCR_RSS" "$REST_RSS" | sort -n | tail -n 1)
	printf '\nFull backup added %s bytes; incremental: %s; repository %s → %s bytes.\n\n' \
		"$FULL_ADDED" "${ADD_LINE#gen: }" "$REPO_BYTES" "$REPO_BYTES_AFTER"
	printf 'Targets:\n\n'
	target "full backup throughput ≥ 75% of cp -a" "$(le "0.75 * $CP_MBPS" "$FULL_MBPS")" \
		"$FULL_MBPS MB/s = $(calc '%.0f' "100 * $FULL_MBPS / $CP_MBPS")% of cp -a ($CP_MBPS MB/s)"
	target "restore throughput ≥ 75% of cp -a" "$(le "0.75 * $CP_MBPS" "$REST_MBPS")" \
		"$REST_MBPS MB/s = $(calc '%.0f' "100 * $REST_MBPS / $CP_MBPS")% of cp -a ($CP_MBPS MB/s)"
	target "repository ≤ 105% of tar|zstd -1" "$(le "$REPO_BYTES" "1.05 * $TAR_BYTES")" \
		"$REPO_BYTES bytes = $(calc '%.1f' "100 * $REPO_BYTES / $TAR_BYTES")% of $TAR_BYTES"
	target "unchanged re-backup < 0.2 s per 2 GiB (cold cache)" "$(calc "$UNCH_SECS < $unch_limit ? 1 : 0")" \
		"$(calc '%.3f' "$UNCH_SECS") s (limit $unch_limit s for $(mib "$SRC_BYTES") MiB, $SRC_FILES files)"
	target "unchanged re-backup < 0.2 s per 2 GiB (warm cache)" "$(calc "$WARM_SECS < $unch_limit ? 1 : 0")" \
		"$(calc '%.3f' "$WARM_SECS") s (limit $unch_limit s)"
	target "incremental ≤ 5% of full backup time" "$(le "$INCR_SECS" "0.05 * $FULL_SECS")" \
		"$(calc '%.3f' "$INCR_SECS") s = $INCR_PCT% of $(calc '%.2f' "$FULL_SECS") s"
	target "peak RSS ≤ 128 MiB" "$(le "$peak" 131072)" \
		"max $(calc '%.1f' "$peak / 1024") MiB (full $(mib $((FULL_RSS * 1024))), unchanged $(mib $((UNCH_RSS * 1024)))/$(mib $((WARM_RSS * 1024))), incremental $(mib $((INCR_RSS * 1024))), restore $(mib $((REST_RSS * 1024))))"
	printf '\nChecks:\n\n'
	printf -- '- restored tree equals the source: %s\n' "$SAME"
	printf -- '- restored tree has the BanyanDB layout: %s\n' "$LAYOUT"
	printf -- '- verify --read-data: %s\n' "$VERIFIED"
}

print_report

if [[ $HAVE_CLI == 1 && ($SAME != PASS* || $LAYOUT != PASS* || $VERIFIED == FAIL*) ]]; then
	die "the restore check failed"
fi
check_strict
