#!/usr/bin/env bash
# bench/revs.sh — two revisions of banyan-backup side by side.
#
# Builds banyan-backup at BENCH_OLD and BENCH_NEW (each in a temporary git
# worktree, removed after the build), generates one root (bench/gen), and
# runs BENCH_ROUNDS rounds. Each round runs both binaries, old first in odd
# rounds and new first in even ones, each into a fresh repository:
#   full backup          page cache dropped before; time ends with a sync
#   unchanged re-backup  page cache dropped before
#   restore latest       into a fresh directory, page cache dropped before;
#                        time ends with a sync
# In round 1 each binary's restored tree is compared with the root (diff -r).
# Prints a Markdown table: per step the medians, the median and range of the
# per-round new/old time ratios, PASS/MISS against a ratio ≤ BENCH_LIMIT,
# peak RSS and the load average; then the repositories' sizes.
#
# With BENCH_ENCRYPT=1 it compares instead one binary (BENCH_NEW) on a plain
# repository ("old") and on an encrypted one ("new": init --encrypt, every
# command given --password-file), for the encryption target: at most 10%
# slower, peak RSS within 128 MiB.
#
# Environment:
#   BENCH_OLD=a303c3c   BENCH_NEW=HEAD   the revisions (anything git names)
#   BENCH_ENCRYPT=0                      plain against encrypted (see above)
#   BENCH_SIZE=1GiB     BENCH_SEED=1     the generated root
#   BENCH_ROUNDS=5      BENCH_LIMIT=1.05
#   BENCH_DIR, BENCH_KEEP, BENCH_OUT, BENCH_STRICT  as in bench/backup.sh
# shellcheck disable=SC2034 # T C R L SZ are read through namerefs (vals, ratios)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=revs
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-1GiB}
SEED=${BENCH_SEED:-1}
ROUNDS=${BENCH_ROUNDS:-5}
LIMIT=${BENCH_LIMIT:-1.05}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
SYNC=1

ENCRYPT=${BENCH_ENCRYPT:-0}
OLD=$(git -C "$SRC_DIR" rev-parse --short "${BENCH_OLD:-a303c3c}^{commit}")
NEW=$(git -C "$SRC_DIR" rev-parse --short "${BENCH_NEW:-HEAD}^{commit}")

setup_work /var/tmp/bbrevs.XXXX
ROOT=$WORK/root
BIN=$WORK/bin
LOGS=$WORK/logs

cleanup() {
	local rc=$? v
	for v in old new; do
		[[ ! -d $WORK/src-$v ]] || git -C "$SRC_DIR" worktree remove --force "$WORK/src-$v" || true
	done
	cleanup_work "$ROOT" "$BIN" "$LOGS" "$WORK"/repo-* "$WORK"/restored-*
	exit "$rc"
}
trap cleanup EXIT

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.15g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# build_rev V REV builds banyan-backup at REV into BIN/bb-V.
build_rev() {
	local src=$WORK/src-$1
	log "building $1 = $2"
	git -C "$SRC_DIR" worktree add --detach --quiet "$src" "$2" 2>"$LOGS/worktree-$1.err" ||
		die "git worktree add $2: $(cat "$LOGS/worktree-$1.err")"
	(cd "$src" && go build -o "$BIN/bb-$1" ./cmd/banyan-backup) 2>"$LOGS/build-$1.err" ||
		die "cannot build $2: $(head -c 600 "$LOGS/build-$1.err")"
	git -C "$SRC_DIR" worktree remove --force "$src"
}

mkdir -p "$BIN" "$LOGS"
[[ ! -e $ROOT ]] || die "$ROOT already exists (use an empty BENCH_DIR)"
log "work directory $WORK (size $SIZE, seed $SEED, $ROUNDS rounds, $OLD → $NEW)"
LOAD_START=$(loadavg)
build_bin gen ./bench/gen
if [[ $ENCRYPT == 1 ]]; then
	build_rev new "$NEW"
	cp "$BIN/bb-new" "$BIN/bb-old"
	OLD="$NEW plain" NEW="$NEW encrypted"
	printf 'bench password\n' >"$WORK/password"
else
	build_rev old "$OLD"
	build_rev new "$NEW"
fi
setup_rss
generate_root
SRC_BYTES=$(tree_bytes "$ROOT")
SRC_FILES=$(tree_files "$ROOT")

# ---------------------------------------------------------------- rounds

STEPS=(full unchanged restore)
# [STEP.V.K]: seconds, CPU seconds, peak RSS KiB, 1-min load at the start,
# repository file bytes after the step (full, unchanged; packs: data/ after
# the full backup); SAME[V]: round 1's check.
declare -A T C R L SZ SAME

# step NAME V K SYNC CMD... measures one step with caches dropped first.
step() {
	local name=$1 v=$2 k=$3 s=$4
	shift 4
	drop_caches
	L[$name.$v.$k]=$(cut -d' ' -f1 /proc/loadavg)
	measure "$name-$v-$k" "$s" "$@"
	T[$name.$v.$k]=$SECS C[$name.$v.$k]=${CPU_SECS:-0} R[$name.$v.$k]=$RSS_KIB
}

run() {
	local v=$1 k=$2 repo=$WORK/repo-$1 target=$WORK/restored-$1
	local bb=(env TZ=UTC "$BIN/bb-$v" --repo "$repo") init=()
	if [[ $ENCRYPT == 1 && $v == new ]]; then
		bb+=(--password-file "$WORK/password") init=(--encrypt)
	fi
	rm -rf -- "$repo" "$target"
	"${bb[@]}" init "${init[@]}" >"$LOGS/init-$v-$k.out" 2>&1 || die "init ($v): $(cat "$LOGS/init-$v-$k.out")"
	log "round $k: $v"
	step full "$v" "$k" 1 "${bb[@]}" backup --root "$ROOT" --json
	SZ[full.$v.$k]=$(tree_bytes "$repo") SZ[packs.$v.$k]=$(tree_bytes "$repo/data")
	step unchanged "$v" "$k" 0 "${bb[@]}" backup --root "$ROOT" --json
	SZ[unchanged.$v.$k]=$(tree_bytes "$repo")
	step restore "$v" "$k" 1 "${bb[@]}" restore latest --target "$target" --json
	if [[ $k == 1 ]]; then
		if diff -r "$ROOT" "$target" >"$LOGS/diff-$v.out" 2>&1; then
			SAME[$v]="identical ($(tree_files "$target") files, $(tree_bytes "$target") bytes)"
		else
			SAME[$v]="DIFFERENT ($(wc -l <"$LOGS/diff-$v.out") lines of diff -r)"
		fi
	fi
	rm -rf -- "$repo" "$target"
}

for ((k = 1; k <= ROUNDS; k++)); do
	if ((k % 2)); then order=(old new); else order=(new old); fi
	for v in "${order[@]}"; do run "$v" "$k"; done
done

# ---------------------------------------------------------------- report

# vals KIND STEP V prints the rounds' values of T, C, R, L or SZ; medv their median.
vals() {
	local -n a=$1
	local k
	for ((k = 1; k <= ROUNDS; k++)); do printf '%s\n' "${a[$2.$3.$k]}"; done
}
# shellcheck disable=SC2046 # the values are numbers
medv() { median $(vals "$@"); }
# shellcheck disable=SC2046
median_ratio() { median $(ratios "$@"); }
# ratios STEP [KIND] prints the rounds' new/old ratios of T (or C).
ratios() {
	local -n a=${2:-T}
	local k
	for ((k = 1; k <= ROUNDS; k++)); do calc '%.4f\n' "${a[$1.new.$k]} / ${a[$1.old.$k]}"; done
}

report() {
	local s rs med ok name loads
	printf '## banyan-backup %s → %s (%s, seed %s, %s rounds)\n\n' "$OLD" "$NEW" "$SIZE" "$SEED" "$ROUNDS"
	printf -- '- source: %s files, %s bytes (%s MiB); %s\n' "$SRC_FILES" "$SRC_BYTES" "$(mib "$SRC_BYTES")" "${GEN_LINE#gen: }"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start and %s at end, %s, %s, %s\n' "$(nproc)" \
		"$(mem_gib)" "$LOAD_START" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(utc_now)"
	printf -- '- page cache dropped before each step: %s; full backup and restore times end with a sync; old first in odd rounds\n\n' "$CACHES_DROPPED"
	printf '| step | old median s | new median s | new/old, median of rounds | new/old, min–max | ≤ %s | CPU s old / new, medians | CPU new/old, median | peak RSS MiB old / new | load (1 min) min–max |\n' "$LIMIT"
	printf '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n'
	for s in "${STEPS[@]}"; do
		mapfile -t rs < <(ratios "$s")
		med=$(median "${rs[@]}")
		ok=$(calc "$med <= $LIMIT ? 1 : 0")
		mapfile -t loads < <(vals L "$s" old; vals L "$s" new)
		name=$s
		[[ $s != full ]] || name="full backup"
		[[ $s != unchanged ]] || name="unchanged re-backup"
		printf '| %s | %.3f | %.3f | %.3f | %.3f–%.3f | %s | %.2f / %.2f | %.3f | %.1f / %.1f | %s–%s |\n' "$name" \
			"$(medv T "$s" old)" "$(medv T "$s" new)" "$med" "$(lo "${rs[@]}")" "$(hi "${rs[@]}")" \
			"$([[ $ok == 1 ]] && echo PASS || echo MISS)" \
			"$(medv C "$s" old)" "$(medv C "$s" new)" "$(median_ratio "$s" C)" \
			"$(calc "$(medv R "$s" old) / 1024")" "$(calc "$(medv R "$s" new) / 1024")" \
			"$(lo "${loads[@]}")" "$(hi "${loads[@]}")"
	done
	printf '\nPer-round new/old ratios:\n\n'
	for s in "${STEPS[@]}"; do
		printf -- '- %s: %s (CPU: %s)\n' "$s" "$(ratios "$s" | xargs printf '%.3f ' | sed 's/ $//')" \
			"$(ratios "$s" C | xargs printf '%.3f ' | sed 's/ $//')"
	done
	printf '\nRepository bytes (sum of its files), each round:\n\n'
	for s in full unchanged; do
		printf -- '- after the %s backup: old %s; new %s\n' "$s" "$(vals SZ "$s" old | xargs)" "$(vals SZ "$s" new | xargs)"
	done
	printf -- '- packs (data/) after the full backup: old %s; new %s\n' "$(vals SZ packs old | sort -u | xargs)" "$(vals SZ packs new | sort -u | xargs)"
	printf -- '- new − old, medians: %+.0f bytes after the full backup, %+.0f after the unchanged one\n' \
		"$(calc "$(medv SZ full new) - $(medv SZ full old)")" "$(calc "$(medv SZ unchanged new) - $(medv SZ unchanged old)")"
	printf '\nRestored tree equals the root (round 1, diff -r): old %s; new %s\n' "${SAME[old]}" "${SAME[new]}"
	for s in "${STEPS[@]}"; do
		[[ $(calc "$(median_ratio "$s") <= $LIMIT ? 1 : 0") == 1 ]] || printf -- '- MISS %s\n' "$s"
	done
}

print_report
[[ ${SAME[old]} != DIFFERENT* && ${SAME[new]} != DIFFERENT* ]] || die "a restored tree differs from the root"
check_strict
