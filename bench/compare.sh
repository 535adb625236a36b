#!/usr/bin/env bash
# bench/compare.sh — banyan-backup, restic and kopia side by side on
# BanyanDB data roots (issue 17).
#
# Builds restic and kopia at pinned versions, each in a scratch module of
# its own under .cache/compare (git-ignored; `go get` then `go build`, kept
# until the version changes), builds banyan-backup and bench/gen from this
# tree, and for each kind of root (BENCH_ROOTS):
#   default   bench/gen's default root: part data incompressible, small indexes
#   logs      a root of log streams like a real one (--stream-index 0.67):
#             two thirds of its bytes in Bluge element indexes that compress
#             about 2:1
# runs BENCH_ROUNDS rounds, the tools in a rotating order in each round,
# each into a fresh repository:
#   full backup          page cache dropped before; ends with a sync
#   unchanged re-backup  right after (page cache warm)
#   restore, cold        page cache dropped before; ends with a sync; the
#                        restored tree is compared with the root (diff -r)
#   restore, warm        again into a fresh directory, with the repository
#                        in the page cache: the cache is dropped, then the
#                        repository's files are read back into it
# with `cp -a` and `tar | zstd -1` of the root as references (cold, synced),
# and `cp -a` again with the root read back into a dropped cache: the warm
# restore's reference. Only the data a step reads is warm, never the target
# file system's metadata: on this machine's file system (ext4 without a
# journal), an inode table left in the cache by a tree just deleted makes
# creating files two to five times slower, for every tool (docs/benchmarks.md).
# Then a simulated week on the last round's repositories: each day
# `bench/gen --next-day` (new parts and indexes in today's segment, merges in
# yesterday's, the oldest segment expiring), then each tool's backup, page
# cache dropped before each. Tools: banyan-backup, restic (compression
# auto), kopia (its default, no compression) and kopia with
# --compression=zstd-fastest. Every step prints the load average.
#
# Writes BENCH_DOCS/compare.md (per root: medians, stored bytes, peak RSS,
# the ratios against issue 17's targets) and BENCH_DOCS/compare.png (per
# root: repository bytes and daily backup time, day by day, per tool).
#
# Environment:
#   BENCH_SIZE=2GiB  BENCH_SEED=1  BENCH_ROUNDS=3  BENCH_DAYS=7
#   BENCH_ROOTS="default logs"
#   BENCH_DOCS=docs (of this tree)   where compare.md and compare.png go
#   BENCH_COLD=1     0: never drop the page cache (it is the whole machine's;
#                    on a machine shared with others' work), so "cold" is not
#   BENCH_DIR, BENCH_KEEP            as in bench/backup.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=compare
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-2GiB}
SEED=${BENCH_SEED:-1}
ROUNDS=${BENCH_ROUNDS:-3}
DAYS=${BENCH_DAYS:-7}
read -r -a KINDS <<<"${BENCH_ROOTS:-default logs}"
DOCS=${BENCH_DOCS:-$SRC_DIR/docs}
KEEP=${BENCH_KEEP:-0}
COLD=${BENCH_COLD:-1}
OUT=/dev/stdout
STRICT=0
SYNC=1

RESTIC_VERSION=v0.19.1
KOPIA_VERSION=v0.23.1
TOOLS_DIR=$SRC_DIR/.cache/compare
TOOLS=(banyan-backup restic kopia kopia-zstd)
PASSWORD=compare-benchmark-password
CMD=()

setup_work /var/tmp/bbcompare.XXXX
BIN=$WORK/bin
LOGS=$WORK/logs
RESULTS=$WORK/results.tsv
WEEK=$WORK/week.tsv

cleanup() {
	local rc=$?
	if [[ $rc != 0 && $KEEP != 1 && -d $LOGS ]]; then
		local kept
		kept=$(mktemp -d /var/tmp/bbcompare-failed.XXXX)
		cp -a -- "$LOGS" "$RESULTS" "$WEEK" "$kept"/ 2>/dev/null || true
		log "the run failed; its logs and results are kept in $kept"
	fi
	cleanup_work "$BIN" "$LOGS" "$WORK"/root-* "$WORK"/repo-* "$WORK"/restored-* "$WORK"/cache-* "$WORK"/ref-* "$RESULTS" "$WEEK"
	exit "$rc"
}
trap cleanup EXIT

# cold prepares a cold step: drop the page cache, unless BENCH_COLD=0.
cold() {
	if [[ $COLD == 1 ]]; then
		drop_caches
	else
		CACHES_DROPPED="no (BENCH_COLD=0: the steps called cold ran with a warm cache)"
	fi
}

# prewarm DIR... reads every file under each DIR that exists, so that a
# warm step finds the data it reads in the page cache.
prewarm() {
	local d
	for d in "$@"; do
		if [[ -d $d ]]; then find "$d" -type f -exec cat -- {} + >/dev/null; fi
	done
}

# ---------------------------------------------------------------- the tools

# build_tool NAME MODULE VERSION PKG builds PKG of MODULE@VERSION into
# TOOLS_DIR/bin/NAME in a scratch module of its own, unless it is there at
# that version.
build_tool() {
	local name=$1 module=$2 version=$3 pkg=$4 mod=$TOOLS_DIR/mod-$1
	if [[ -x $TOOLS_DIR/bin/$name && $(cat "$TOOLS_DIR/$name.version" 2>/dev/null) == "$version" ]]; then
		return
	fi
	log "building $name $version (once; kept in $TOOLS_DIR)"
	rm -rf "$mod"
	mkdir -p "$mod" "$TOOLS_DIR/bin"
	printf 'module compare.tools/%s\n\ngo 1.26\n' "$name" >"$mod/go.mod"
	if ! (cd "$mod" && go get "$pkg@$version" && go build -o "$TOOLS_DIR/bin/$name" "$pkg") >"$LOGS/build-$name.log" 2>&1; then
		tail -n 20 "$LOGS/build-$name.log" >&2
		die "cannot build $module $version"
	fi
	printf '%s\n' "$version" >"$TOOLS_DIR/$name.version"
}

# tool_env TOOL REPO prints the environment a tool runs with.
tool_env() {
	case $1 in
	restic) printf '%s\n' "RESTIC_PASSWORD=$PASSWORD" "RESTIC_CACHE_DIR=$2.cache" ;;
	kopia*) printf '%s\n' "KOPIA_PASSWORD=$PASSWORD" "KOPIA_CHECK_FOR_UPDATES=false" "KOPIA_LOG_DIR=$2.logs" ;;
	*) printf '%s\n' "TZ=UTC" ;;
	esac
}

# tool_cmd TOOL REPO ARGS... sets CMD to a tool's command on repository
# REPO.
tool_cmd() {
	local tool=$1 repo=$2 envs
	shift 2
	mapfile -t envs < <(tool_env "$tool" "$repo")
	case $tool in
	banyan-backup) CMD=(env "${envs[@]}" "$BIN/banyan-backup" --repo "$repo" --quiet "$@") ;;
	restic) CMD=(env "${envs[@]}" "$TOOLS_DIR/bin/restic" -r "$repo" --quiet "$@") ;;
	kopia*) CMD=(env "${envs[@]}" "$TOOLS_DIR/bin/kopia" --config-file "$repo.config" "$@") ;;
	esac
}

# run_tool TOOL REPO ARGS... runs a tool's command on repository REPO.
run_tool() {
	tool_cmd "$@"
	"${CMD[@]}"
}

# init_repo TOOL REPO creates an empty repository.
init_repo() {
	local tool=$1 repo=$2
	rm -rf -- "$repo" "$repo".*
	case $tool in
	banyan-backup | restic) run_tool "$tool" "$repo" init ;;
	kopia*)
		run_tool "$tool" "$repo" repository create filesystem --path "$repo" --cache-directory "$repo.cache"
		if [[ $tool == kopia-zstd ]]; then
			run_tool "$tool" "$repo" policy set --global --compression=zstd-fastest
		fi
		;;
	esac >"$LOGS/init-$tool.log" 2>&1 || {
		cat "$LOGS/init-$tool.log" >&2
		die "cannot create a $tool repository"
	}
}

# backup_cmd TOOL REPO ROOT sets CMD to back up ROOT.
backup_cmd() {
	local tool=$1 repo=$2 root=$3
	case $tool in
	banyan-backup) tool_cmd "$tool" "$repo" backup --root "$root" ;;
	restic) tool_cmd "$tool" "$repo" backup "$root" ;;
	kopia*) tool_cmd "$tool" "$repo" snapshot create "$root" ;;
	esac
}

# restore_cmd TOOL REPO ROOT TARGET sets CMD to restore the latest backup of
# ROOT into TARGET, which then holds the root's entries. (kopia restores a
# snapshot by id: it is looked up first, outside the measured command.)
restore_cmd() {
	local tool=$1 repo=$2 root=$3 target=$4 id
	case $tool in
	banyan-backup) tool_cmd "$tool" "$repo" restore latest --target "$target" ;;
	restic) tool_cmd "$tool" "$repo" restore "latest:$root" --target "$target" ;;
	kopia*)
		id=$(run_tool "$tool" "$repo" snapshot list "$root" --json | jq -r '.[-1].id')
		tool_cmd "$tool" "$repo" snapshot restore "$id" "$target"
		;;
	esac
}

# repo_bytes REPO prints the bytes a repository holds (its files; caches
# are kept beside it).
repo_bytes() { tree_bytes "$1"; }

# ---------------------------------------------------------------- recording

# record KIND STEP TOOL ROUND SECS RSS_KIB BYTES appends a result line.
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-0}" "${7:-0}" "$(loadavg | cut -d' ' -f1)" >>"$RESULTS"
}

# step NAME SYNC CMD... logs the load average, then measures CMD.
step() {
	log "$1 (load $(loadavg))"
	measure "$@"
}

# one_round KIND ROOT ROUND runs every tool once, in an order that rotates
# with the round, and the references.
one_round() {
	local kind=$1 root=$2 round=$3 i tool repo target n=${#TOOLS[@]}
	for ((i = 0; i < n; i++)); do
		tool=${TOOLS[(i + round) % n]}
		repo=$WORK/repo-$kind-$tool
		target=$WORK/restored-$kind-$tool
		init_repo "$tool" "$repo"
		cold
		backup_cmd "$tool" "$repo" "$root"
		step "$kind round $round: $tool full backup" 1 "${CMD[@]}"
		record "$kind" full "$tool" "$round" "$SECS" "$RSS_KIB" "$(repo_bytes "$repo")"
		step "$kind round $round: $tool unchanged re-backup" 0 "${CMD[@]}"
		record "$kind" unchanged "$tool" "$round" "$SECS" "$RSS_KIB" "$(repo_bytes "$repo")"
		rm -rf -- "$target"
		cold
		restore_cmd "$tool" "$repo" "$root" "$target"
		step "$kind round $round: $tool restore, cold" 1 "${CMD[@]}"
		record "$kind" restore-cold "$tool" "$round" "$SECS" "$RSS_KIB"
		if ! diff -r --no-dereference "$root" "$target" >"$LOGS/diff-$kind-$tool.out" 2>&1; then
			die "$tool restored a tree that differs from the root: $(head -n 5 "$LOGS/diff-$kind-$tool.out")"
		fi
		rm -rf -- "$target"
		cold
		prewarm "$repo" "$repo".* # restic's and kopia's caches are beside it
		step "$kind round $round: $tool restore, warm" 1 "${CMD[@]}"
		record "$kind" restore-warm "$tool" "$round" "$SECS" "$RSS_KIB"
		rm -rf -- "$target"
	done
	rm -rf -- "$WORK/ref-copy" "$WORK/ref.tar.zst"
	cold
	step "$kind round $round: cp -a" 1 cp -a "$root" "$WORK/ref-copy"
	record "$kind" full "cp -a" "$round" "$SECS" "" "$(tree_bytes "$WORK/ref-copy")"
	record "$kind" restore-cold "cp -a" "$round" "$SECS"
	if ! diff -r --no-dereference "$root" "$WORK/ref-copy" >"$LOGS/diff-$kind-cp.out" 2>&1; then
		die "cp -a made a tree that differs from the root: $(head -n 5 "$LOGS/diff-$kind-cp.out")"
	fi
	rm -rf -- "$WORK/ref-copy"
	cold
	prewarm "$root"
	step "$kind round $round: cp -a, warm" 1 cp -a "$root" "$WORK/ref-copy"
	record "$kind" restore-warm "cp -a" "$round" "$SECS"
	rm -rf -- "$WORK/ref-copy"
	cold
	# shellcheck disable=SC2016 # expanded by the inner shell
	step "$kind round $round: tar | zstd -1" 1 bash -c 'tar -C "$1" -cf - . | zstd -1 -T1 -q -o "$2"' tar "$root" "$WORK/ref.tar.zst"
	record "$kind" full "tar|zstd -1" "$round" "$SECS" "" "$(stat -c %s "$WORK/ref.tar.zst")"
	rm -f -- "$WORK/ref.tar.zst"
}

# week KIND ROOT FLAGS moves the root a day on DAYS times and backs it up
# with every tool into the last round's repositories.
week() {
	local kind=$1 root=$2 day tool i n=${#TOOLS[@]} f
	read -r -a f <<<"$3"
	for tool in "${TOOLS[@]}"; do
		printf '%s\t%s\t0\t%s\t%s\n' "$kind" "$tool" \
			"$(awk -F'\t' -v k="$kind" -v t="$tool" -v r="$ROUNDS" '$1 == k && $2 == "full" && $3 == t && $4 == r { print $5 }' "$RESULTS")" \
			"$(repo_bytes "$WORK/repo-$kind-$tool")" >>"$WEEK"
	done
	for ((day = 1; day <= DAYS; day++)); do
		log "$kind day $day: bench/gen --next-day (load $(loadavg))"
		"$BIN/gen" --out "$root" --next-day --seed $((SEED * 1000 + day)) "${f[@]}" 2>>"$LOGS/gen.err" || die "bench/gen --next-day failed"
		for ((i = 0; i < n; i++)); do
			tool=${TOOLS[(i + day) % n]}
			cold
			backup_cmd "$tool" "$WORK/repo-$kind-$tool" "$root"
			step "$kind day $day: $tool backup" 1 "${CMD[@]}"
			record "$kind" daily "$tool" "$day" "$SECS" "$RSS_KIB" "$(repo_bytes "$WORK/repo-$kind-$tool")"
			printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$tool" "$day" "$SECS" "$(repo_bytes "$WORK/repo-$kind-$tool")" >>"$WEEK"
		done
	done
}

# ---------------------------------------------------------------- the report

# stat_of KIND STEP TOOL FIELD AGG prints the median (AGG=median), maximum
# (max) or last value (last) of a field (5 secs, 6 rss_kib, 7 bytes) over
# the matching result lines, or "-".
stat_of() {
	awk -F'\t' -v k="$1" -v s="$2" -v t="$3" -v f="$4" '$1 == k && $2 == s && $3 == t { print $f + 0 }' "$RESULTS" |
		if [[ $5 == median ]]; then sort -g; else cat; fi |
		awk -v agg="$5" '
			{ v[n++] = $1 }
			END {
				if (n == 0) { print "-"; exit }
				if (agg == "max") { m = v[0]; for (i = 1; i < n; i++) if (v[i] > m) m = v[i]; print m; exit }
				if (agg == "last") { print v[n - 1]; exit }
				print (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			}'
}

fmt_secs() { if [[ $1 == - ]]; then echo -; else calc '%.2f' "$1"; fi; }

# ratio A B prints A/B with two decimals, or "-".
ratio() { if [[ $1 == - || $2 == - || $2 == 0 ]]; then echo -; else calc '%.2f' "$1 / $2"; fi; }

# verdict NAME OK DETAILS prints a PASS or MISS line, or "not measured".
verdict() {
	if [[ $2 == - ]]; then printf -- '- not measured: %s\n' "$1"; else target "$1" "$2" "$3"; fi
}

# leq A B prints 1 when A <= B, "-" when either is missing.
leq() { if [[ $1 == - || $2 == - ]]; then echo -; else calc "($1) <= ($2) ? 1 : 0"; fi; }

report_kind() {
	local kind=$1 src cols=("${TOOLS[@]}" "cp -a" "tar|zstd -1") c row
	src=$(cat "$WORK/source-$kind")
	printf '\n### %s root (%s, %s files)\n\n' "$kind" "$(mib "$src") MiB" "$(cat "$WORK/files-$kind")"
	printf '| median of %s rounds |' "$ROUNDS"
	for c in "${cols[@]}"; do printf ' %s |' "${c//|/\\|}"; done
	printf '\n|---|'
	for c in "${cols[@]}"; do printf -- '---:|'; done
	printf '\n'
	for row in "full backup s:full:5:median" "unchanged re-backup s:unchanged:5:median" \
		"restore s, cold:restore-cold:5:median" "restore s, warm:restore-warm:5:median" \
		"daily backup s (median of the week):daily:5:median"; do
		IFS=: read -r label st field agg <<<"$row"
		printf '| %s |' "$label"
		for c in "${cols[@]}"; do printf ' %s |' "$(fmt_secs "$(stat_of "$kind" "$st" "$c" "$field" "$agg")")"; done
		printf '\n'
	done
	printf '| stored after the full backup, × source |'
	for c in "${cols[@]}"; do
		local b
		b=$(stat_of "$kind" full "$c" 7 median)
		printf ' %s |' "$(ratio "$b" "$src")"
	done
	printf '\n| stored after the week, × source of day 0 |'
	for c in "${cols[@]}"; do printf ' %s |' "$(ratio "$(stat_of "$kind" daily "$c" 7 last)" "$src")"; done
	printf '\n| peak RSS MiB, any step |'
	for c in "${cols[@]}"; do
		local m=-
		for st in full unchanged restore-cold restore-warm daily; do
			local v
			v=$(stat_of "$kind" "$st" "$c" 6 max)
			if [[ $v != - && $v != 0 ]] && { [[ $m == - ]] || (($(calc "($m) < ($v) ? 1 : 0"))); }; then m=$v; fi
		done
		if [[ $m == - ]]; then printf ' - |'; else printf ' %s |' "$(calc '%.0f' "$m / 1024")"; fi
	done
	printf '\n\nLoad average (1 min) during these steps: %s.\n\n' \
		"$(awk -F'\t' -v k="$kind" '$1 == k { if (min == "" || $8 < min) min = $8; if ($8 > max) max = $8 } END { print min "–" max }' "$RESULTS")"
	report_targets "$kind"
}

# of TOOL STEP [FIELD [AGG]] is stat_of for the root being reported
# (REPORT_KIND): by default the median of the seconds.
of() { stat_of "$REPORT_KIND" "$2" "$1" "${3:-5}" "${4:-median}"; }

# smaller A B prints the smaller of two numbers, or "-".
smaller() { if [[ $1 == - || $2 == - ]]; then echo -; else calc "($1 < $2) ? $1 : $2"; fi; }

# report_targets KIND prints issue 17's targets for one root.
report_targets() {
	REPORT_KIND=$1
	local bb_full stored week fast st v rss=0
	bb_full=$(of banyan-backup full)
	stored=$(of banyan-backup full 7)
	printf 'Targets (ratios of medians; absolute times are not stable on this machine):\n\n'
	verdict "stored ≤ restic's" "$(leq "$stored" "$(of restic full 7)")" "$(ratio "$stored" "$(of restic full 7)")× restic's"
	if [[ $1 == logs ]]; then
		verdict "stored ≤ 1.02× tar | zstd -1" "$(leq "$stored" "$(calc "1.02 * $(of "tar|zstd -1" full 7)")")" "$(ratio "$stored" "$(of "tar|zstd -1" full 7)")× tar | zstd -1"
	fi
	week=$(of banyan-backup daily 7 last)
	verdict "stored after the week ≤ restic's and kopia's" "$(leq "$week" "$(smaller "$(of restic daily 7 last)" "$(of kopia daily 7 last)")")" \
		"$(ratio "$week" "$(of restic daily 7 last)")× restic's, $(ratio "$week" "$(of kopia daily 7 last)")× kopia's"
	verdict "full backup ≥ 2.5× faster than restic" "$(leq "$(calc "2.5 * $bb_full")" "$(of restic full)")" "restic takes $(ratio "$(of restic full)" "$bb_full")×"
	verdict "full backup ≥ 1.5× faster than kopia-zstd" "$(leq "$(calc "1.5 * $bb_full")" "$(of kopia-zstd full)")" "kopia-zstd takes $(ratio "$(of kopia-zstd full)" "$bb_full")×"
	verdict "full backup ≤ 1.2× cp -a" "$(leq "$bb_full" "$(calc "1.2 * $(of "cp -a" full)")")" "$(ratio "$bb_full" "$(of "cp -a" full)")× cp -a"
	for st in restore-cold restore-warm; do
		verdict "$st ≤ 1.0× cp -a" "$(leq "$(of banyan-backup "$st")" "$(of "cp -a" "$st")")" "$(ratio "$(of banyan-backup "$st")" "$(of "cp -a" "$st")")× cp -a's ${st#restore-} copy (every blob verified)"
	done
	for st in unchanged daily; do
		# kopia with and without compression: the issue names kopia, and
		# the one that does not compress is often the faster.
		fast=$(smaller "$(of restic "$st")" "$(smaller "$(of kopia "$st")" "$(of kopia-zstd "$st")")")
		verdict "$st backup ≥ 3× faster than the fastest of restic, kopia and kopia-zstd" "$(leq "$(calc "3 * $(of banyan-backup "$st")")" "$fast")" "the fastest takes $(ratio "$fast" "$(of banyan-backup "$st")")×"
	done
	for st in full unchanged restore-cold restore-warm daily; do
		v=$(of banyan-backup "$st" 6 max)
		if [[ $v != - ]] && (($(calc "($rss) < ($v) ? 1 : 0"))); then rss=$v; fi
	done
	verdict "peak RSS ≤ 128 MiB" "$(leq "$rss" $((128 * 1024)))" "$(calc '%.1f' "$rss / 1024") MiB"
}

# shellcheck disable=SC2016 # backquotes are Markdown
report() {
	printf '# banyan-backup, restic and kopia side by side (`bench/compare.sh`)\n\n'
	printf 'Generated by `bench/compare.sh`; do not edit by hand. '
	printf 'Roots of %s from `bench/gen` (seed %s), %s rounds, a week of %s days. ' "$SIZE" "$SEED" "$ROUNDS" "$DAYS"
	printf 'banyan-backup at commit %s; restic %s (compression auto); kopia %s, by default (no compression) and with `--compression=zstd-fastest` ("kopia-zstd"). ' \
		"$COMMIT" "$RESTIC_VERSION" "$KOPIA_VERSION"
	printf '%s CPUs, %s GiB RAM, %s, work directory on %s, page cache dropped: %s; %s.\n\n' \
		"$(nproc)" "$(mem_gib)" "$(go_release)" "$(work_device)" "$CACHES_DROPPED" "$(utc_now)"
	printf 'Steps: full backup into a fresh repository (cold cache, ends with a sync); unchanged re-backup right after; '
	printf 'restore into a fresh directory with a cold cache and again with a warm one (both end with a sync; '
	printf 'the cold one is compared with the root by `diff -r`; warm: the cache dropped, then the repository read back into it); '
	printf '`cp -a` and `tar | zstd -1 -T1` of the root (cold, synced), and `cp -a` again with the root read back into a dropped cache '
	printf '(the warm restore'"'"'s reference; in the restore rows, cp -a is its cold and warm copy). '
	printf 'The week: each day `bench/gen --next-day` (new parts and index files, merges, the oldest segment expiring), '
	printf 'then each tool backs up into its repository of the last round (cold cache). Stored bytes are the files of each repository.\n'
	for kind in "${KINDS[@]}"; do report_kind "$kind"; done
	if [[ -s $DOCS/compare.png ]]; then
		printf '\n![repository bytes and daily backup times per tool](compare.png)\n'
	fi
}

# ---------------------------------------------------------------- main

mkdir -p "$BIN" "$LOGS"
: >"$RESULTS"
printf 'root\ttool\tday\tseconds\tstored_bytes\n' >"$WEEK"
log "work directory $WORK (size $SIZE, seed $SEED, $ROUNDS rounds, $DAYS days, roots: ${KINDS[*]}; load $(loadavg))"
build_tool restic github.com/restic/restic "$RESTIC_VERSION" github.com/restic/restic/cmd/restic
build_tool kopia github.com/kopia/kopia "$KOPIA_VERSION" github.com/kopia/kopia
build_bin gen ./bench/gen
build_bin banyan-backup ./cmd/banyan-backup
COMMIT=$(src_commit) # of the binary built now, not of HEAD when the tables are written
build_bin chart ./bench/compare/chart
setup_rss
command -v jq >/dev/null || die "jq is needed (kopia's snapshot ids)"

# A root, four repositories, a restored tree, a copy and a tar of it are
# on the disk at once: about nine times the root's size. A run that fills
# the disk fails half-way (a tool's restore meets "no space left").
need=$((9 * $(numfmt --from=iec-i "${SIZE%B}")))
avail=$(df --output=avail -B1 "$WORK" | tail -n 1)
if ((avail < need)); then
	die "$WORK has $(numfmt --to=iec-i "$avail")B free; a run of $SIZE roots needs about $(numfmt --to=iec-i "$need")B: free some, or set BENCH_DIR or a smaller BENCH_SIZE"
fi

for kind in "${KINDS[@]}"; do
	case $kind in
	default) gen_flags="" ;;
	logs) gen_flags="--stream-index 0.67" ;;
	*) die "unknown root kind $kind: want default or logs" ;;
	esac
	ROOT=$WORK/root-$kind
	GEN_FLAGS=$gen_flags generate_root
	tree_bytes "$ROOT" >"$WORK/source-$kind"
	tree_files "$ROOT" >"$WORK/files-$kind"
	for ((round = 1; round <= ROUNDS; round++)); do one_round "$kind" "$ROOT" "$round"; done
	week "$kind" "$ROOT" "$gen_flags"
	if [[ $KEEP != 1 ]]; then
		rm -rf -- "$ROOT" "$WORK"/repo-"$kind"-* # and the tools' caches beside them: measured, and the next root needs the space
	fi
done

if [[ -n $DOCS ]]; then
	mkdir -p "$DOCS"
	"$BIN/chart" --in "$WEEK" --out "$DOCS/compare.png" --title "$SIZE roots, $COMMIT" || log "the chart failed"
	OUT=$DOCS/compare.md
fi
print_report
