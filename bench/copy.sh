#!/usr/bin/env bash
# bench/copy.sh — `banyan-backup copy` between two local repositories,
# side by side with `cp -a` of the data the copy adds.
#
# Target (issue 15): a copy runs at ≥ 80% of cp -a's throughput on the
# same data, median of BENCH_ROUNDS rounds.
#
# One run, on one disk:
#   1. bench/gen writes a BanyanDB-shaped data root (fixed seed); a backup
#      of it goes into the source repository (untimed), then, after
#      `bench/gen --add-parts 1` (1% new parts), a second backup.
#   2. Rounds; in each, with the page cache dropped before every timed
#      step and a final sync inside each time, in an order that alternates
#      from round to round:
#        full:  cp -a of the source repository holding the first backup
#               (its packs, index files and manifest: what a copy of that
#               backup into an empty repository adds), against
#               `copy ID1` into a new, empty repository;
#        incr:  cp -a of the files the second backup added to the source
#               (its packs, index files and manifest), against `copy ID2`
#               into a repository that holds the copy of the first backup.
#      Throughput = bytes added (cp: bytes copied; copy: its bytes_added)
#      / seconds; the round's ratio is copy's over cp's.
#   3. The last round's destinations are checked: `verify --read-data`,
#      and the copies' root trees equal the source backups'.
#
# Environment:
#   BENCH_SIZE=1GiB      size of the generated root
#   BENCH_SEED=1         generator seed
#   BENCH_ROUNDS=5       rounds (medians over them)
#   BENCH_TARGET=0.80    the ratio the full copy must reach
#   BENCH_DIR, BENCH_KEEP, BENCH_OUT, BENCH_STRICT as in bench/backup.sh
# shellcheck disable=SC2034 # T C R L are read through namerefs (vals)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=copy
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-1GiB}
SEED=${BENCH_SEED:-1}
ROUNDS=${BENCH_ROUNDS:-5}
TARGET_RATIO=${BENCH_TARGET:-0.80}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
SYNC=1

setup_work /var/tmp/bbcopy.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs
SRC=$WORK/src     # both backups
SRC1=$WORK/src1   # the first backup only: what cp -a copies for "full"
NEW=$WORK/new     # the files the second backup added, for "incr"
BASE=$WORK/base   # a destination holding the copy of the first backup

cleanup() {
	local rc=$?
	cleanup_work "$ROOT" "$BIN" "$LOGS" "$SRC" "$SRC1" "$NEW" "$BASE" "$WORK"/dst-* "$WORK"/cp-*
	exit "$rc"
}
trap cleanup EXIT

BB=(env TZ=UTC "$BIN/banyan-backup")

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.15g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# files_of DIR lists the files below DIR, relative, sorted.
files_of() { (cd "$1" && find . -type f | sort); }

# ---------------------------------------------------------------- setup

mkdir -p "$BIN" "$LOGS"
for d in "$ROOT" "$SRC"; do
	[[ ! -e $d ]] || die "$d already exists (use an empty BENCH_DIR)"
done
log "work directory $WORK (size $SIZE, seed $SEED, $ROUNDS rounds)"
LOAD_START=$(loadavg)
COMMIT=$(src_commit) # of the binary built now
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
setup_rss
generate_root
SRC_FILES=$(tree_files "$ROOT")

"${BB[@]}" init --repo "$SRC" >"$LOGS/init.out" 2>&1 || die "init: $(cat "$LOGS/init.out")"
log "first backup into the source"
"${BB[@]}" backup --repo "$SRC" --root "$ROOT" --json --quiet >"$LOGS/backup1.json" 2>"$LOGS/backup1.err" ||
	die "backup: $(tail -n 3 "$LOGS/backup1.err")"
ID1=$(json_field "$LOGS/backup1.json" id)
cp -a "$SRC" "$SRC1"
files_of "$SRC" >"$LOGS/files1"
log "adding 1% new parts; second backup"
"$BIN/gen" --out "$ROOT" --seed "$SEED" --add-parts 1 2>"$LOGS/gen-add.err" || die "gen --add-parts: $(tail -n 3 "$LOGS/gen-add.err")"
"${BB[@]}" backup --repo "$SRC" --root "$ROOT" --json --quiet >"$LOGS/backup2.json" 2>"$LOGS/backup2.err" ||
	die "backup: $(tail -n 3 "$LOGS/backup2.err")"
ID2=$(json_field "$LOGS/backup2.json" id)
# The files the second backup added (no lock is left behind).
files_of "$SRC" | comm -13 "$LOGS/files1" - >"$LOGS/files2"
mkdir -p "$NEW"
(cd "$SRC" && xargs -a "$LOGS/files2" cp -a --parents -t "$NEW")
FULL_CP_BYTES=$(tree_bytes "$SRC1")
INCR_CP_BYTES=$(tree_bytes "$NEW")
log "source: first backup $(mib "$FULL_CP_BYTES") MiB, second adds $(mib "$INCR_CP_BYTES") MiB in $(wc -l <"$LOGS/files2") files"

"${BB[@]}" init --repo "$BASE" >"$LOGS/init-base.out" 2>&1 || die "init: $(cat "$LOGS/init-base.out")"
"${BB[@]}" copy "$ID1" --from-repo "$SRC" --repo "$BASE" --quiet >"$LOGS/base.out" 2>&1 || die "copy: $(tail -n 3 "$LOGS/base.out")"

# ---------------------------------------------------------------- rounds

# [KIND.STEP.K]: seconds (T), CPU seconds (C), peak RSS KiB (R), bytes
# added (B), 1-min load at the start (L); KIND is full or incr, STEP cp or bb.
declare -A T C R B L

# timed KIND STEP K CMD... measures one step with caches dropped first.
timed() {
	local kind=$1 st=$2 k=$3
	shift 3
	drop_caches
	L[$kind.$st.$k]=$(cut -d' ' -f1 /proc/loadavg)
	measure "$kind-$st-$k" 1 "$@"
	T[$kind.$st.$k]=$SECS C[$kind.$st.$k]=${CPU_SECS:-0} R[$kind.$st.$k]=$RSS_KIB
}

# round_cp KIND K copies the data a copy of KIND adds with cp -a.
round_cp() {
	local kind=$1 k=$2 from dst=$WORK/cp-$1
	rm -rf -- "$dst"
	if [[ $kind == full ]]; then from=$SRC1; else from=$NEW; fi
	timed "$kind" cp "$k" cp -a "$from" "$dst"
	B[$kind.cp.$k]=$(tree_bytes "$dst")
	rm -rf -- "$dst"
}

# round_bb KIND K copies backup 1 into an empty repository (full) or
# backup 2 into one holding backup 1 (incr).
round_bb() {
	local kind=$1 k=$2 dst=$WORK/dst-$1 id=$ID1
	rm -rf -- "$dst"
	if [[ $kind == full ]]; then
		"${BB[@]}" init --repo "$dst" >"$LOGS/init-$kind-$k.out" 2>&1 || die "init: $(cat "$LOGS/init-$kind-$k.out")"
	else
		cp -a "$BASE" "$dst"
		id=$ID2
	fi
	timed "$kind" bb "$k" "${BB[@]}" copy "$id" --from-repo "$SRC" --repo "$dst" --json --quiet
	B[$kind.bb.$k]=$(json_field "$LOGS/$kind-bb-$k.out" bytes_added)
	[[ $(json_field "$LOGS/$kind-bb-$k.out" copied) == 1 ]] || die "$kind copy of round $k copied no backup"
	if ((k < ROUNDS)); then rm -rf -- "$dst"; fi
}

for ((k = 1; k <= ROUNDS; k++)); do
	log "round $k"
	for kind in full incr; do
		if ((k % 2)); then
			round_cp "$kind" "$k"
			round_bb "$kind" "$k"
		else
			round_bb "$kind" "$k"
			round_cp "$kind" "$k"
		fi
	done
done

# ---------------------------------------------------------------- checks

log "verify --read-data of the last round's destinations"
for kind in full incr; do
	"${BB[@]}" verify --repo "$WORK/dst-$kind" --read-data --quiet >"$LOGS/verify-$kind.out" 2>&1 ||
		die "verify of the $kind copy: $(tail -n 5 "$LOGS/verify-$kind.out")"
done
tree_of() { "${BB[@]}" list --repo "$1" --json | jq -r --arg t "$2" '.[] | select(.time == $t) | .tree'; }
SAME=yes
for id in "$ID1" "$ID2"; do
	t=$("${BB[@]}" show "$id" --repo "$SRC" --json | jq -r .time)
	src_tree=$(tree_of "$SRC" "$t")
	[[ $src_tree == "$(tree_of "$WORK/dst-incr" "$t")" ]] || SAME="NO: backup ${id:0:8}'s copy has another root tree"
done

# ---------------------------------------------------------------- report

# vals A KIND STEP prints the rounds' values; medv their median.
vals() {
	local -n a=$1
	local k
	for ((k = 1; k <= ROUNDS; k++)); do printf '%s\n' "${a[$2.$3.$k]}"; done
}
# shellcheck disable=SC2046 # the values are numbers
medv() { median $(vals "$@"); }
# ratios KIND prints the rounds' throughput ratios, copy over cp -a.
ratios() {
	local k
	for ((k = 1; k <= ROUNDS; k++)); do
		calc '%.4f\n' "(${B[$1.bb.$k]} / ${T[$1.bb.$k]}) / (${B[$1.cp.$k]} / ${T[$1.cp.$k]})"
	done
}
mbps() { calc '%.1f' "$1 / 1000000 / $2"; }
# verdict KIND RATIO: the target is the full copy's; the incremental one is
# shown for what it costs (its fixed costs outweigh its little data).
verdict() {
	if [[ $1 != full ]]; then
		echo "-"
	elif [[ $(ge "$2" "$TARGET_RATIO") == 1 ]]; then
		echo PASS
	else
		echo MISS
	fi
}

report() {
	local kind rs med name loads
	printf '### Copy between two local repositories: %s root, %s rounds (%s, commit %s)\n\n' "$SIZE" "$ROUNDS" "$(utc_now)" "$COMMIT"
	# shellcheck disable=SC2016 # backquotes are Markdown
	printf -- '- root: `bench/gen --size %s --seed %s`, %s files (%s); then `--add-parts 1`\n' "$SIZE" "$SEED" "$SRC_FILES" "${GEN_LINE#gen: }"
	printf -- '- full: copy of the first backup into an empty repository; cp -a of the source repository holding it (%s bytes)\n' "$FULL_CP_BYTES"
	printf -- '- incr: copy of the second backup into a repository holding the first; cp -a of the %s files the second backup added to the source (%s bytes)\n' "$(wc -l <"$LOGS/files2")" "$INCR_CP_BYTES"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start and %s at end, %s, %s; page cache dropped before each step: %s; every time ends with a sync; cp -a first in odd rounds\n\n' \
		"$(nproc)" "$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(uname -r)" "$(go_release)" "$CACHES_DROPPED"
	printf '| copy | cp -a median s (MB/s) | copy median s (MB/s) | bytes cp -a / copy added | copy/cp -a throughput, median of rounds | min–max | ≥ %s | copy CPU s, peak RSS MiB | load (1 min) min–max |\n' "$TARGET_RATIO"
	printf '|---|---:|---:|---:|---:|---:|---|---:|---:|\n'
	for kind in full incr; do
		mapfile -t rs < <(ratios "$kind")
		med=$(median "${rs[@]}")
		mapfile -t loads < <(vals L "$kind" cp; vals L "$kind" bb)
		name="full (into an empty repository)"
		[[ $kind == full ]] || name="incremental (1% new parts)"
		printf '| %s | %.2f (%s) | %.2f (%s) | %s / %s | %.2f | %.2f–%.2f | %s | %.2f, %.1f | %s–%s |\n' "$name" \
			"$(medv T "$kind" cp)" "$(mbps "$(medv B "$kind" cp)" "$(medv T "$kind" cp)")" \
			"$(medv T "$kind" bb)" "$(mbps "$(medv B "$kind" bb)" "$(medv T "$kind" bb)")" \
			"$(medv B "$kind" cp)" "$(medv B "$kind" bb)" "$med" "$(lo "${rs[@]}")" "$(hi "${rs[@]}")" \
			"$(verdict "$kind" "$med")" \
			"$(medv C "$kind" bb)" "$(calc "$(medv R "$kind" bb) / 1024")" "$(lo "${loads[@]}")" "$(hi "${loads[@]}")"
	done
	printf '\nPer round (cp -a s / copy s = throughput ratio; load at the copy):\n\n'
	for kind in full incr; do
		printf -- '- %s:' "$kind"
		for ((k = 1; k <= ROUNDS; k++)); do
			printf ' %.2f/%.2f = %.2f (%s);' "${T[$kind.cp.$k]}" "${T[$kind.bb.$k]}" \
				"$(calc "(${B[$kind.bb.$k]} / ${T[$kind.bb.$k]}) / (${B[$kind.cp.$k]} / ${T[$kind.cp.$k]})")" "${L[$kind.bb.$k]}"
		done
		printf '\n'
	done
	printf '\n'
	# shellcheck disable=SC2016 # backquotes are Markdown
	printf "The last round's destinations passed \`verify --read-data\`; the copies' root trees equal the source backups': %s.\n\n" "$SAME"
	# shellcheck disable=SC2046 # the ratios are numbers
	med=$(median $(ratios full))
	target "full copy ≥ ${TARGET_RATIO} of cp -a's throughput" "$(ge "$med" "$TARGET_RATIO")" "median ratio $(calc '%.2f' "$med")"
}

print_report
[[ $SAME == yes ]] || die "a copy has another root tree"
check_strict
