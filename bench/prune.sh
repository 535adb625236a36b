#!/usr/bin/env bash
# bench/prune.sh — prune of a repository holding many backups.
#
# Generates a BanyanDB-shaped data root (bench/gen), then takes
# BENCH_BACKUPS backups of it, changing it before each one as a node does:
# a new part (BENCH_CHURN bytes in 3 files) appears in a shard of the
# newest measure segment, and the part added BENCH_LIFE runs before goes away
# (as merges replace parts). Then it measures:
#   banyan-backup forget --keep-last BENCH_KEEP_LAST   time
#   banyan-backup prune --dry-run                      time, peak RSS
#   banyan-backup prune                                time, peak RSS, repository size before and after
# and checks the result with `verify --read-data` (untimed) and a second
# prune that must find nothing to do. Prints a Markdown report.
#
# Environment:
#   BENCH_SIZE=2GiB        size of the generated root (2GiB, 512MiB, 100MB, bytes)
#   BENCH_SEED=1           generator seed
#   BENCH_BACKUPS=1000     backups to take
#   BENCH_KEEP_LAST=100    backups forget keeps
#   BENCH_CHURN=3145728    bytes of the part added before each backup
#   BENCH_LIFE=3           runs a churn part lives
#   BENCH_DIR=DIR          work directory (default: mktemp -d /var/tmp/bbprune.XXXX)
#   BENCH_KEEP=1           keep the work directory
#   BENCH_OUT=FILE         also write the report there (default /dev/stdout)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=prune
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-2GiB}
SEED=${BENCH_SEED:-1}
BACKUPS=${BENCH_BACKUPS:-1000}
KEEP_LAST=${BENCH_KEEP_LAST:-100}
CHURN=${BENCH_CHURN:-3145728}
LIFE=${BENCH_LIFE:-3}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
SYNC=0
STRICT=0

setup_work /var/tmp/bbprune.XXXX
ROOT=$WORK/root
REPO=$WORK/repo
BIN=$WORK/bin
LOGS=$WORK/logs

cleanup() {
	local rc=$?
	cleanup_work "$ROOT" "$REPO" "$BIN" "$LOGS"
	exit "$rc"
}
trap cleanup EXIT

BB=(env TZ=UTC "$BIN/banyan-backup" --repo "$REPO")

mkdir -p "$BIN" "$LOGS"
for d in "$ROOT" "$REPO"; do
	[[ ! -e $d ]] || die "$d already exists (use an empty BENCH_DIR)"
done
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
setup_rss
generate_root

# The shard that churns: shard-0 of the newest segment of the first
# measure group.
SHARD=$(find "$ROOT/measure/data" -mindepth 3 -maxdepth 3 -type d -name 'shard-0' | sort | tail -n 1)
[[ -n $SHARD ]] || die "no measure shard in $ROOT"
part() { printf '%s/ffff%012x' "$SHARD" "$1"; }

"${BB[@]}" init >"$LOGS/init.out"
log "taking $BACKUPS backups, each after adding $(mib "$CHURN") MiB and removing the part of $LIFE runs before"
backups_start=$EPOCHREALTIME
for ((i = 0; i < BACKUPS; i++)); do
	p=$(part "$i")
	mkdir "$p"
	for f in 0 1 2; do
		head -c $((CHURN / 3)) /dev/urandom >"$p/f$f.bin"
	done
	if ((i >= LIFE)); then rm -rf -- "$(part $((i - LIFE)))"; fi
	"${BB[@]}" backup --root "$ROOT" --quiet >>"$LOGS/backups.out" 2>>"$LOGS/backups.err" ||
		die "backup $i failed: $(tail -n 3 "$LOGS/backups.err")"
	if (((i + 1) % 100 == 0)); then log "$((i + 1)) backups"; fi
done
BACKUPS_SECS=$(calc '%.0f' "$EPOCHREALTIME - $backups_start")
REPO_BYTES_BACKUPS=$(tree_bytes "$REPO")

measure forget 0 "${BB[@]}" forget --keep-last "$KEEP_LAST" --json
FORGET_SECS=$SECS FORGET_RSS=$RSS_KIB
measure prune-dry 0 "${BB[@]}" prune --dry-run --json
DRY_SECS=$SECS DRY_RSS=$RSS_KIB
REPO_BEFORE=$(tree_bytes "$REPO")
measure prune 0 "${BB[@]}" prune --json
PRUNE_SECS=$SECS PRUNE_RSS=$RSS_KIB
REPO_AFTER=$(tree_bytes "$REPO")
P=$LOGS/prune.out
log "prune: $(calc '%.2f' "$PRUNE_SECS") s, peak RSS $((PRUNE_RSS / 1024)) MiB, repository $(mib "$REPO_BEFORE") → $(mib "$REPO_AFTER") MiB"

measure prune-again 0 "${BB[@]}" prune --json
AGAIN_SECS=$SECS AGAIN_RSS=$RSS_KIB
[[ $(json_field "$LOGS/prune-again.out" packs_deleted) == 0 ]] || die "a second prune still deleted packs"
log "verify --read-data"
"${BB[@]}" verify --read-data --quiet >"$LOGS/verify.out" 2>&1 || die "verify after prune failed: $(tail -n 5 "$LOGS/verify.out")"

report() {
	cat <<MD
### Prune: $BACKUPS backups of the $SIZE bench root ($(utc_now), commit $(src_commit))

Root: \`bench/gen --size $SIZE --seed $SEED\` ($GEN_LINE). Before each backup a
part of $(mib "$CHURN") MiB (3 files of fresh random bytes) was added to one shard and
the one added $LIFE runs before removed. The $BACKUPS backups took ${BACKUPS_SECS} s in all.
Then \`forget --keep-last $KEEP_LAST\` and \`prune\`. $(nproc) cores, $(mem_gib) GiB RAM,
load $(loadavg), $(go_release); page cache warm.

| step | seconds | peak RSS MiB | result |
|---|---:|---:|---|
| forget --keep-last $KEEP_LAST | $(calc '%.2f' "$FORGET_SECS") | $(calc '%.1f' "$FORGET_RSS / 1024") | $((BACKUPS - KEEP_LAST)) manifests removed |
| prune --dry-run | $(calc '%.2f' "$DRY_SECS") | $(calc '%.1f' "$DRY_RSS / 1024") | $(json_field "$LOGS/prune-dry.out" blobs_used) blobs used, $(json_field "$LOGS/prune-dry.out" packs) packs |
| prune | $(calc '%.2f' "$PRUNE_SECS") | $(calc '%.1f' "$PRUNE_RSS / 1024") | $(json_field "$P" packs_deleted) packs deleted ($(json_field "$P" packs_unused) unused, $(json_field "$P" packs_repacked) repacked into $(json_field "$P" packs_written)), $(json_field "$P" index_files_deleted) index files replaced by $(json_field "$P" index_files_written) |
| prune again (nothing to do) | $(calc '%.2f' "$AGAIN_SECS") | $(calc '%.1f' "$AGAIN_RSS / 1024") | 0 packs deleted |

Repository: $(mib "$REPO_BYTES_BACKUPS") MiB after the backups, $(mib "$REPO_AFTER") MiB after prune
($(mib $((REPO_BEFORE - REPO_AFTER))) MiB freed, measured with \`find\`; prune reported
$(mib "$(json_field "$P" bytes_freed)") MiB). \`verify --read-data\` passed on the $KEEP_LAST kept backups.
MD
}
print_report
