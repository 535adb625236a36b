#!/usr/bin/env bash
# bench/cluster.sh — a coordinated backup of a three-node cluster against
# each node backed up alone (issue 13, Performance).
#
# Targets (docs/cluster.md):
#   - `cluster backup` of 3 data nodes takes at most 1.3× the time of the
#     slowest node backed up alone;
#   - with replicas: 1 (every part on two nodes) the set stores at most
#     1.1× the bytes of one copy;
#   - the snapshot window is under 1 s with three nodes;
#   - the coordinator's peak RSS is at most 64 MiB.
#
# One machine, every node its own process:
#   1. Three `banyand-sim --role data` nodes, seeded from the 0.11 fixture
#      (schema-property and property data: every data node holds the whole
#      schema) with a schema of their own (below), and a liaison filling
#      them: its workload writes parts of BENCH_PART_SIZE into every shard
#      of the measure, stream and trace groups and delivers each to its
#      replicas' nodes by placement. When the data nodes hold about
#      3 × BENCH_SIZE, the liaison is stopped and started again without a
#      workload (same root): it delivers what it still queued and writes
#      nothing more, so every round backs up the same data. The data nodes
#      run no workload either (no merges: the replicas' parts stay the
#      same bytes, as on a cluster between two merges).
#   2. A `banyan-backup agent` beside each node (the liaison's too), each
#      knowing one fresh repository per round by name (c1, c2, ...).
#   3. BENCH_ROUNDS rounds, the page cache dropped before every timed step,
#      odd rounds single backups first, even rounds the cluster first:
#      a. each data node alone: `backup --node GRPC --root ROOT` into a new
#         repository (the slowest of the three is the round's number);
#      b. `cluster backup` of the cluster (discovery file: 3 data nodes and
#         the liaison) into a new repository, under GNU time for its RSS;
#      c. (BENCH_PARALLEL=1) the three single backups started at once, each
#         into its own new repository: what the nodes' work costs this
#         machine without the coordinator, since here the three "nodes"
#         share one machine's 2 cores and disk while on a real cluster each
#         has its own.
# Then a Markdown report with PASS/MISS lines (medians over the rounds).
#
# The replicas baseline ("one copy"): the three single-node repositories
# together hold every part twice (replicas: 1) and the schema three times;
# half their bytes is one copy, stored the same way (compression, trees,
# packs, index). The set's repository is compared with that. The sum of
# the nodes' roots over two is printed beside it.
#
# Environment:
#   BENCH_SIZE=384MiB     data per data node (the liaison fills to 3× this)
#   BENCH_PART_SIZE=1MiB  about the size of one part the liaison writes
#   BENCH_REPLICAS=1      replicas of every group (0: no replica target)
#   BENCH_ROUNDS=3        rounds
#   BENCH_PARALLEL=1      also time the three single backups run at once
#   BENCH_SEED=1          the workload's seed
#   BENCH_FILL_INTERVAL=1s  the liaison's flush interval while filling
#   BENCH_DIR, BENCH_KEEP, BENCH_OUT, BENCH_STRICT as in the other scripts
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

LOG_TAG=cluster
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-384MiB}
PART_SIZE=${BENCH_PART_SIZE:-1MiB}
REPLICAS=${BENCH_REPLICAS:-1}
ROUNDS=${BENCH_ROUNDS:-3}
PARALLEL=${BENCH_PARALLEL:-1}
SEED=${BENCH_SEED:-1}
FILL_INTERVAL=${BENCH_FILL_INTERVAL:-1s}
OUT=${BENCH_OUT:-/dev/stdout}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
FIXTURE=$SRC_DIR/testdata/fixtures/banyandb-0.11.0-dev-small.tar.zst
NODES=3

setup_work /var/tmp/bbcluster.XXXX
BIN=$WORK/bin
LOGS=$WORK/logs
NODE_DIR=$WORK/nodes
DISCOVERY=$WORK/nodes.yaml
TOKEN=$WORK/token

# Processes this script started, by PID: the nodes and the agents.
PIDS=()

cleanup() {
	local rc=$? pid
	for pid in "${PIDS[@]}"; do [[ -z $pid ]] || kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do [[ -z $pid ]] || wait "$pid" 2>/dev/null || true; done
	cleanup_work "$BIN" "$LOGS" "$NODE_DIR" "$DISCOVERY" "$TOKEN" "$WORK/schema.json" "$WORK"/repo-*
	exit "$rc"
}
trap cleanup EXIT
# A command failing under set -e says which.
set -o errtrace
trap 'log "FAILED at line $LINENO: $BASH_COMMAND"' ERR

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }
# list FORMAT V... prints the values, each in FORMAT, separated by ", ".
# shellcheck disable=SC2059 # the format is the caller's
list() { printf "$1 " "${@:2}" | sed 's/ $//; s/ /, /g'; }
# size_bytes 384MiB prints the bytes of a size (KiB, MiB, GiB; KB, MB, GB).
size_bytes() { numfmt --from=auto "${1%B}"; }

BB=(env TZ=UTC "$BIN/banyan-backup")

# ---------------------------------------------------------------- nodes

# Node N's variables: N_ROOT[N], N_GRPC[N], N_HTTP[N], N_NAME[N], N_PID[N],
# AGENT[N] (its agent's URL). Nodes 0..2 are data nodes, 3 the liaison.
declare -A N_ROOT N_GRPC N_HTTP N_NAME N_PID AGENT
LIAISON=$NODES

# start_node N NAME ARGS... starts banyand-sim for node N and waits until
# it is ready.
start_node() {
	local n=$1 name=$2 i out
	shift 2
	out=$LOGS/$name.out
	"$BIN/banyand-sim" --root "${N_ROOT[$n]}" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
		--schema "$WORK/schema.json" --node-host 127.0.0.1 --seed "$SEED" "$@" >"$out" 2>"$LOGS/$name.err" &
	N_PID[$n]=$!
	PIDS+=("$!")
	for ((i = 0; i < 600; i++)); do
		if grep -qx ready "$out" 2>/dev/null; then break; fi
		kill -0 "${N_PID[$n]}" 2>/dev/null || die "$name exited: $(tail -n 5 "$LOGS/$name.err")"
		sleep 0.1
	done
	grep -qx ready "$out" || die "$name not ready after 60 s"
	N_GRPC[$n]=$(awk '$1 == "grpc" { print $2 }' "$out")
	N_HTTP[$n]=$(awk '$1 == "http" { print $2 }' "$out")
	N_NAME[$n]=$(awk '$1 == "name" { print $2 }' "$out")
}

# stop_node N stops node N's process (SIGTERM, then up to 30 s).
stop_node() {
	local pid=${N_PID[$1]} i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# write_discovery [LIAISON] writes the discovery file: the data nodes, and
# the liaison when asked.
write_discovery() {
	local n last=$((NODES - 1))
	[[ ${1:-} == liaison ]] && last=$LIAISON
	{
		echo "nodes:"
		for ((n = 0; n <= last; n++)); do
			printf -- '- name: node-%s\n  grpc_address: %s\n' "$n" "${N_GRPC[$n]}"
		done
	} >"$DISCOVERY.tmp"
	mv "$DISCOVERY.tmp" "$DISCOVERY"
}

# cluster_json N prints node N's /sim/cluster.
cluster_json() { curl -fsS --max-time 10 "http://${N_HTTP[$1]}/sim/cluster"; }

# data_bytes prints the bytes under the data nodes' roots (a .snp the node
# replaces while find reads is skipped).
data_bytes() {
	local n sum=0
	for ((n = 0; n < NODES; n++)); do sum=$((sum + $(tree_bytes "${N_ROOT[$n]}" 2>/dev/null))); done
	echo "$sum"
}

# write_schema: three shards per group (the placement table's entries of
# one group start on three different nodes, so the nodes get alike data),
# the fixture's group names and trace index rules.
write_schema() {
	cat >"$WORK/schema.json" <<EOF
{"groups":[
 {"catalog":"measure","name":"bk_measure","shards":3,"segment_interval":"day","replicas":$REPLICAS},
 {"catalog":"property","name":"bk_prop","shards":1,"replicas":$REPLICAS},
 {"catalog":"stream","name":"bk_stream","shards":3,"segment_interval":"day","replicas":$REPLICAS},
 {"catalog":"trace","name":"bk_trace","shards":3,"segment_interval":"day","replicas":$REPLICAS,"index_rules":["duration","timestamp"]}]}
EOF
}

# fill runs the liaison's workload until the data nodes hold about
# 3 × SIZE (counting what it still queues, once per copy), then starts the
# liaison again without a workload and waits until its queue is empty.
fill() {
	local target have queued i
	target=$((NODES * $(size_bytes "$SIZE")))
	log "filling the data nodes to $(mib "$target") MiB through the liaison (parts of $PART_SIZE every $FILL_INTERVAL)"
	start_node "$LIAISON" liaison-fill --role liaison --node-discovery-file "$DISCOVERY" \
		--node-discovery-interval 200ms --sync-interval 100ms --flush-interval "$FILL_INTERVAL" \
		--part-size "$PART_SIZE" --start-time 2026-11-23T00:00:00Z
	FILL_START=$EPOCHREALTIME
	for ((i = 0; ; i++)); do
		sleep 2
		kill -0 "${N_PID[$LIAISON]}" 2>/dev/null || die "the liaison exited: $(tail -n 5 "$LOGS/liaison-fill.err")"
		have=$(data_bytes)
		queued=$(cluster_json "$LIAISON" | jq '.queue.bytes // 0')
		if ((i % 10 == 0)); then
			log "data nodes $(mib "$have") MiB, liaison queue $(mib "$queued") MiB, load $(loadavg)"
		fi
		((have + queued * (REPLICAS + 1) < target)) || break
	done
	stop_node "$LIAISON"
	PIDS=("${PIDS[@]/${N_PID[$LIAISON]}/}")
	start_node "$LIAISON" liaison --role liaison --node-discovery-file "$DISCOVERY" \
		--node-discovery-interval 200ms --sync-interval 100ms --flush-interval 0
	for ((i = 0; i < 600; i++)); do
		[[ $(cluster_json "$LIAISON" | jq '.queue.parts // 0') == 0 ]] && break
		sleep 1
	done
	[[ $(cluster_json "$LIAISON" | jq '.queue.parts // 0') == 0 ]] || die "the liaison did not deliver its queue in 10 min"
	FILL_SECS=$(calc "$EPOCHREALTIME - $FILL_START")
	log "filled in $(calc '%.0f' "$FILL_SECS") s: data nodes $(mib "$(data_bytes)") MiB"
}

# start_agent N ROLE starts node N's agent, which knows repository cK as
# WORK/repo-cK for every round K, and sets AGENT[N].
start_agent() {
	local n=$1 role=$2 k addr i repos=() log=$LOGS/agent-$1.err
	for ((k = 1; k <= ROUNDS; k++)); do repos+=(--repository "c$k=$WORK/repo-c$k"); done
	"${BB[@]}" agent --token-file "$TOKEN" --role "$role" --node "${N_GRPC[$n]}" --root "${N_ROOT[$n]}" \
		--listen 127.0.0.1:0 --state-dir "$WORK/nodes/agent-$n" --node-name "${N_NAME[$n]}" "${repos[@]}" \
		>"$LOGS/agent-$n.out" 2>"$log" &
	PIDS+=("$!")
	for ((i = 0; i < 300; i++)); do
		addr=$(jq -r 'select(.msg == "listening") | .addr' "$log" 2>/dev/null | head -n 1 || true)
		[[ -n $addr ]] && break
		kill -0 "$!" 2>/dev/null || die "agent $n exited: $(tail -n 5 "$log")"
		sleep 0.1
	done
	[[ -n $addr ]] || die "agent $n did not listen after 30 s"
	AGENT[$n]=http://$addr
}

# ---------------------------------------------------------------- timed steps

# Results: ${T[name]} seconds; SINGLE_BYTES[node] a single repository's
# bytes (the last round's); C_* of each round's cluster backup.
declare -A T RSS CPU REPO_BYTES PRUNED_BYTES C_WINDOW C_PHASES
declare -A SINGLE_BYTES

new_repo() {
	rm -rf -- "$1"
	"${BB[@]}" init --repo "$1" >"$LOGS/init.out" 2>&1 || die "cannot init $1: $(cat "$LOGS/init.out")"
}

# single K N backs node N up alone into a new repository.
single() {
	local k=$1 n=$2 name=single-$1-$2 repo=$WORK/repo-single-$2
	new_repo "$repo"
	drop_caches
	measure "$name" 0 "${BB[@]}" backup --repo "$repo" --root "${N_ROOT[$n]}" --node "${N_GRPC[$n]}" --json --quiet
	T[$name]=$SECS
	RSS[$name]=$RSS_KIB
	CPU[$name]=${CPU_SECS:-0}
	SINGLE_BYTES[$n]=$(tree_bytes "$repo")
	log "round $k, node $n alone: $(calc '%.2f' "$SECS") s, $(json_field "$LOGS/$name.out" files) files, repository $(mib "${SINGLE_BYTES[$n]}") MiB, load $(loadavg)"
	rm -rf -- "$repo"
}

# parallel K runs the three single backups at once.
parallel() {
	local k=$1 n cmd=''
	for ((n = 0; n < NODES; n++)); do
		new_repo "$WORK/repo-par-$n"
		cmd+="$(printf '%q ' "${BB[@]}" backup --repo "$WORK/repo-par-$n" --root "${N_ROOT[$n]}" --node "${N_GRPC[$n]}" --json --quiet) >$(printf '%q' "$LOGS/par-$k-$n.json") & p$n=\$!; "
	done
	drop_caches
	measure "par-$k" 0 bash -c "${cmd}wait \$p0 && wait \$p1 && wait \$p2"
	T[par-$k]=$SECS
	log "round $k, three single backups at once: $(calc '%.2f' "$SECS") s, load $(loadavg)"
	rm -rf -- "$WORK"/repo-par-*
}

# cluster K runs `cluster backup` into repository cK.
cluster() {
	local k=$1 name=cluster-$1 repo=$WORK/repo-c$1 n args=()
	new_repo "$repo"
	for ((n = 0; n <= LIAISON; n++)); do args+=(--agent "${N_GRPC[$n]}=${AGENT[$n]}"); done
	drop_caches
	measure "$name" 0 "${BB[@]}" cluster backup --repo "$repo" --repo-name "c$k" --node-discovery-file "$DISCOVERY" \
		--token-file "$TOKEN" --cluster bench --lease 5m "${args[@]}" --json --quiet
	T[$name]=$SECS
	RSS[$name]=$RSS_KIB
	REPO_BYTES[$k]=$(tree_bytes "$repo")
	C_WINDOW[$k]=$(json_field "$LOGS/$name.out" window_seconds)
	C_PHASES[$k]=$(jq -r '[.phases[] | "\(.name) \(.seconds * 100 | round / 100)"] | join(", ")' "$LOGS/$name.out")
	[[ $(jq '[.set.nodes[] | select(.role == "data" and .backup != null)] | length' "$LOGS/$name.out") == "$NODES" ]] ||
		die "the set of round $k does not name $NODES data node backups: $(head -c 500 "$LOGS/$name.out")"
	log "round $k, cluster backup: $(calc '%.2f' "$SECS") s, window $(calc '%.3f' "${C_WINDOW[$k]}") s, RSS $(calc '%.1f' "$RSS_KIB / 1024") MiB, repository $(mib "${REPO_BYTES[$k]}") MiB, load $(loadavg)"
	# Not timed against a target: what a prune after the set leaves (a blob
	# stored twice is live in one pack only; repository-format.md, Forget
	# and prune), and that the repository then verifies.
	measure "prune-$k" 0 "${BB[@]}" prune --repo "$repo" --json --quiet
	T[prune-$k]=$SECS
	PRUNED_BYTES[$k]=$(tree_bytes "$repo")
	measure "verify-$k" 0 "${BB[@]}" verify --repo "$repo" --json --quiet
	log "round $k, prune: $(calc '%.2f' "${T[prune-$k]}") s, repository $(mib "${PRUNED_BYTES[$k]}") MiB; verify clean"
	rm -rf -- "$repo"
}

# ---------------------------------------------------------------- run

mkdir -p "$BIN" "$LOGS" "$NODE_DIR"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number"
[[ $REPLICAS =~ ^[0-9]+$ ]] || die "BENCH_REPLICAS must be a number"
[[ -f $FIXTURE ]] || die "no fixture $FIXTURE"
for c in curl jq; do command -v "$c" >/dev/null || die "$c is not installed"; done

RUN_START=$EPOCHREALTIME
LOAD_START=$(loadavg)
log "work directory $WORK ($SIZE per node, parts of $PART_SIZE, replicas $REPLICAS, $ROUNDS rounds)"
build_bin banyan-backup ./cmd/banyan-backup
build_bin banyand-sim ./cmd/banyand-sim
setup_rss
head -c 48 /dev/urandom | base64 >"$TOKEN"
chmod 600 "$TOKEN"
write_schema

for ((n = 0; n < NODES; n++)); do
	N_ROOT[$n]=$NODE_DIR/data-$n
	start_node "$n" "data-$n" --role data --from-fixture "$FIXTURE" --flush-interval 0
done
N_ROOT[$LIAISON]=$NODE_DIR/liaison
write_discovery
fill
write_discovery liaison
for ((n = 0; n < NODES; n++)); do start_agent "$n" data; done
start_agent "$LIAISON" liaison

declare -A NODE_BYTES NODE_FILES
for ((n = 0; n < NODES; n++)); do
	NODE_BYTES[$n]=$(tree_bytes "${N_ROOT[$n]}")
	NODE_FILES[$n]=$(tree_files "${N_ROOT[$n]}")
	log "data node $n (${N_NAME[$n]}): $(mib "${NODE_BYTES[$n]}") MiB, ${NODE_FILES[$n]} files"
done
LOAD_MEASURE=$(loadavg)

for ((k = 1; k <= ROUNDS; k++)); do
	log "round $k of $ROUNDS"
	if ((k % 2 == 0)); then cluster "$k"; fi
	for ((n = 0; n < NODES; n++)); do single "$k" "$n"; done
	if ((k % 2 == 1)); then cluster "$k"; fi
	if [[ $PARALLEL == 1 ]]; then parallel "$k"; fi
done
RUN_SECS=$(calc "$EPOCHREALTIME - $RUN_START")

# ---------------------------------------------------------------- report

report() {
	local k n slowest=() clus=() par=() ratios=() par_ratios=() windows=() rss=() bytes=() pruned=() prune_secs=() singles
	local cpu=() bound=() c
	local one_copy roots_half rep_ratio
	for ((k = 1; k <= ROUNDS; k++)); do
		singles=()
		for ((n = 0; n < NODES; n++)); do singles+=("${T[single-$k-$n]}"); done
		slowest+=("$(hi "${singles[@]}")")
		c=0
		for ((n = 0; n < NODES; n++)); do c=$(calc "$c + ${CPU[single-$k-$n]}"); done
		cpu+=("$c")
		bound+=("$(calc "$c / $(nproc) / $(hi "${singles[@]}")")")
		clus+=("${T[cluster-$k]}")
		ratios+=("$(calc "${T[cluster-$k]} / $(hi "${singles[@]}")")")
		windows+=("${C_WINDOW[$k]}")
		rss+=("$(calc "${RSS[cluster-$k]} / 1024")")
		bytes+=("${REPO_BYTES[$k]}")
		pruned+=("${PRUNED_BYTES[$k]}")
		prune_secs+=("${T[prune-$k]}")
		if [[ $PARALLEL == 1 ]]; then
			par+=("${T[par-$k]}")
			par_ratios+=("$(calc "${T[cluster-$k]} / ${T[par-$k]}")")
		fi
	done
	local ratio_med window_med rss_max
	ratio_med=$(median "${ratios[@]}")
	window_med=$(median "${windows[@]}")
	rss_max=$(hi "${rss[@]}")

	printf '## banyan-backup cluster benchmark (3 data nodes of about %s, parts of %s, replicas %s, %s rounds)\n\n' \
		"$SIZE" "$PART_SIZE" "$REPLICAS" "$ROUNDS"
	printf -- '- data nodes (banyand-sim --role data, filled by one liaison in %.0f s): %s\n' "$FILL_SECS" \
		"$(for ((n = 0; n < NODES; n++)); do printf '%s %s MiB in %s files; ' "${N_NAME[$n]}" "$(mib "${NODE_BYTES[$n]}")" "${NODE_FILES[$n]}"; done | sed 's/; $//')"
	printf -- '- host: %s CPUs, %s GiB RAM, load %s at start, %s before the rounds, %s at end; %s, %s, commit %s, %s\n' \
		"$(nproc)" "$(mem_gib)" "$LOAD_START" "$LOAD_MEASURE" "$(loadavg)" "$(uname -r)" "$(go_release)" "$(src_commit)" "$(utc_now)"
	printf -- '- work directory: %s (%s); whole run %.0f s; page cache dropped before each timed step: %s\n\n' \
		"$WORK" "$(work_device)" "$RUN_SECS" "$CACHES_DROPPED"

	printf '| round | node 0 alone s | node 1 alone s | node 2 alone s | slowest s | cluster backup s | cluster / slowest |%s window s | coordinator RSS MiB | set repository MiB | phases s |\n' \
		"$([[ $PARALLEL == 1 ]] && printf ' three alone at once s | cluster / at once |')"
	printf '|---|---:|---:|---:|---:|---:|---:|%s---:|---:|---:|---|\n' "$([[ $PARALLEL == 1 ]] && printf -- '---:|---:|')"
	for ((k = 1; k <= ROUNDS; k++)); do
		printf '| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%s %.3f | %.1f | %s | %s |\n' "$k" \
			"${T[single-$k-0]}" "${T[single-$k-1]}" "${T[single-$k-2]}" "${slowest[$((k - 1))]}" "${T[cluster-$k]}" \
			"${ratios[$((k - 1))]}" \
			"$([[ $PARALLEL == 1 ]] && printf ' %.2f | %.2f |' "${T[par-$k]}" "${par_ratios[$((k - 1))]}")" \
			"${C_WINDOW[$k]}" "${rss[$((k - 1))]}" "$(mib "${REPO_BYTES[$k]}")" "${C_PHASES[$k]}"
	done
	printf '\n'

	one_copy=0
	for ((n = 0; n < NODES; n++)); do one_copy=$((one_copy + SINGLE_BYTES[$n])); done
	one_copy=$((one_copy / (REPLICAS + 1)))
	roots_half=$(($(data_bytes) / (REPLICAS + 1)))
	rep_ratio=$(calc "$(median "${bytes[@]}") / $one_copy")
	local b pr_ratios=()
	for b in "${pruned[@]}"; do pr_ratios+=("$(calc "$b / $one_copy")"); done
	printf 'One copy: the three single-node repositories (last round: %s MiB) over %s = %s MiB; the data roots over %s = %s MiB.\n\n' \
		"$(for ((n = 0; n < NODES; n++)); do printf '%s\n' "$(mib "${SINGLE_BYTES[$n]}")"; done | paste -sd, | sed 's/,/, /g')" "$((REPLICAS + 1))" \
		"$(mib "$one_copy")" "$((REPLICAS + 1))" "$(mib "$roots_half")"

	printf 'Targets (issue 13), medians over the rounds:\n\n'
	target "cluster backup ≤ 1.3× the slowest node alone" "$(ge 1.3 "$ratio_med")" \
		"$(calc '%.2f' "$ratio_med")× ($(calc '%.2f' "$(median "${clus[@]}")") s against $(calc '%.2f' "$(median "${slowest[@]}")") s; rounds $(list '%.2f' "${ratios[@]}"))"
	if [[ -n $TIME_BIN ]]; then
		printf -- '- (not a target) what this machine allows: the three single backups used %s s of CPU (user + system; median of the rounds), so on %s CPUs the three nodes'"'"' work takes at least %s s at once, %s× the slowest alone (rounds %s)\n' \
			"$(calc '%.2f' "$(median "${cpu[@]}")")" "$(nproc)" "$(calc '%.2f' "$(median "${cpu[@]}") / $(nproc)")" \
			"$(calc '%.2f' "$(median "${bound[@]}")")" "$(list '%.2f' "${bound[@]}")"
	fi
	if [[ $PARALLEL == 1 ]]; then
		printf -- '- (not a target) cluster backup against the three single backups run at once on this machine: %s× (%s s against %s s; rounds %s)\n' \
			"$(calc '%.2f' "$(median "${par_ratios[@]}")")" "$(calc '%.2f' "$(median "${clus[@]}")")" \
			"$(calc '%.2f' "$(median "${par[@]}")")" "$(list '%.2f' "${par_ratios[@]}")"
	fi
	if ((REPLICAS > 0)); then
		target "set with replicas: $REPLICAS stores ≤ 1.1× one copy" "$(ge 1.1 "$rep_ratio")" \
			"$(calc '%.2f' "$rep_ratio")× ($(mib "$(median "${bytes[@]}")") MiB against $(mib "$one_copy") MiB; $(calc '%.2f' "$(median "${bytes[@]}") / $roots_half")× the roots over $((REPLICAS + 1)))"
		printf -- '- (not a target) the same repository after a prune: %s× one copy (%s MiB; prune took %s s; rounds %s)\n' \
			"$(calc '%.2f' "$(median "${pruned[@]}") / $one_copy")" "$(mib "$(median "${pruned[@]}")")" \
			"$(calc '%.2f' "$(median "${prune_secs[@]}")")" "$(list '%.2f' "${pr_ratios[@]}")"
	fi
	target "snapshot window < 1 s" "$(calc "$window_med < 1 ? 1 : 0")" \
		"$(calc '%.3f' "$window_med") s (rounds $(list '%.3f' "${windows[@]}"))"
	target "coordinator peak RSS ≤ 64 MiB" "$(ge 64 "$rss_max")" \
		"$(calc '%.1f' "$rss_max") MiB at most (rounds $(list '%.1f' "${rss[@]}"))"
}

print_report
check_strict
