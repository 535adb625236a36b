#!/usr/bin/env bash
# Object-storage servers for the tests, at pinned versions, on 127.0.0.1:
# versitygw (S3, posix backend), fake-gcs-server (GCS) and Azurite (Azure
# blobs). Installed into .cache/test-servers (git-ignored) on first use.
#
# TEST_SERVERS_NETNS=NAME runs them in that network namespace (ip netns
# exec) and TEST_SERVERS_HOST=ADDR has them listen on that address instead
# of 127.0.0.1 (bench/object.sh: a server across a rate-limited link).
#
#   scripts/test-servers.sh install        install the pinned servers
#   scripts/test-servers.sh start DIR [s3|gcs|azure]...
#                                          start them (or the ones named) with their data in DIR,
#                                          on random free ports; writes DIR/env (source it) and DIR/pids
#   scripts/test-servers.sh stop DIR       stop the servers started in DIR, by PID
#
# DIR/env exports BANYAN_TEST_S3_ENDPOINT, BANYAN_TEST_S3_ACCESS_KEY,
# BANYAN_TEST_S3_SECRET_KEY, BANYAN_TEST_GCS_ENDPOINT, BANYAN_TEST_AZURE_ENDPOINT,
# BANYAN_TEST_AZURE_ACCOUNT and BANYAN_TEST_AZURE_KEY, and BANYAN_TEST_VERSITYGW
# (the versitygw binary, for tests that run an S3 server of their own on a
# test host); the tests skip a server
# whose variables are unset (and fail when CI=true).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
AZURITE_VERSION=3.37.0

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/test-servers"
host=${TEST_SERVERS_HOST:-127.0.0.1}
in_netns=()
if [[ -n ${TEST_SERVERS_NETNS:-} ]]; then in_netns=(ip netns exec "$TEST_SERVERS_NETNS"); fi

install() {
	mkdir -p "$cache/bin"
	if [ "$(cat "$cache/versitygw.version" 2>/dev/null)" != "$VERSITYGW_VERSION" ]; then
		echo "installing versitygw $VERSITYGW_VERSION" >&2
		GOBIN="$cache/bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
		echo "$VERSITYGW_VERSION" >"$cache/versitygw.version"
	fi
	if [ "$(cat "$cache/fake-gcs-server.version" 2>/dev/null)" != "$FAKE_GCS_VERSION" ]; then
		echo "installing fake-gcs-server $FAKE_GCS_VERSION" >&2
		GOBIN="$cache/bin" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
		echo "$FAKE_GCS_VERSION" >"$cache/fake-gcs-server.version"
	fi
	if [ "$(cat "$cache/azurite.version" 2>/dev/null)" != "$AZURITE_VERSION" ]; then
		echo "installing azurite $AZURITE_VERSION" >&2
		npm install --silent --no-audit --no-fund --prefix "$cache/azurite" "azurite@$AZURITE_VERSION" >&2
		echo "$AZURITE_VERSION" >"$cache/azurite.version"
	fi
}

# free_port prints a TCP port that nothing on the host address listens on.
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# wait_port PID PORT NAME LOG waits until PORT accepts connections, failing
# if the process dies or 60 seconds pass.
wait_port() {
	local pid=$1 port=$2 name=$3 log=$4
	for _ in $(seq 600); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$name exited before listening on $host:$port:" >&2
			tail -20 "$log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$name does not listen on $host:$port after 60s:" >&2
	tail -20 "$log" >&2
	return 1
}

# launch NAME PORT CMD... starts CMD in the background (in the namespace
# TEST_SERVERS_NETNS names, if any: ip netns exec execs CMD, so the PID is
# CMD's), records its PID and waits for PORT.
launch() {
	local name=$1 port=$2
	shift 2
	"${in_netns[@]}" "$@" >"$dir/$name.log" 2>&1 &
	local pid=$!
	echo "$pid $name" >>"$dir/pids"
	wait_port "$pid" "$port" "$name" "$dir/$name.log"
}

start() {
	install
	mkdir -p "$dir"
	dir="$(cd "$dir" && pwd)"
	: >"$dir/pids"
	: >"$dir/env"
	local port want=" ${servers[*]:-s3 gcs azure} "
	local access=banyan-test-access secret
	secret="test-secret-$RANDOM$RANDOM"

	if [[ $want == *" s3 "* ]]; then
		port=$(free_port)
		mkdir -p "$dir/s3"
		ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret \
			launch versitygw "$port" "$cache/bin/versitygw" --port "$host:$port" posix "$dir/s3"
		cat >>"$dir/env" <<EOF
export BANYAN_TEST_S3_ENDPOINT=http://$host:$port
export BANYAN_TEST_S3_ACCESS_KEY=$access
export BANYAN_TEST_S3_SECRET_KEY=$secret
export BANYAN_TEST_VERSITYGW=$cache/bin/versitygw
EOF
		echo "versitygw (S3) on $host:$port" >&2
	fi

	if [[ $want == *" gcs "* ]]; then
		port=$(free_port)
		mkdir -p "$dir/gcs"
		launch fake-gcs-server "$port" "$cache/bin/fake-gcs-server" -scheme http -host "$host" \
			-port "$port" -public-host "$host:$port" -backend filesystem -filesystem-root "$dir/gcs" -log-level warn
		echo "export BANYAN_TEST_GCS_ENDPOINT=http://$host:$port" >>"$dir/env"
		echo "fake-gcs-server (GCS) on $host:$port" >&2
	fi

	if [[ $want == *" azure "* ]]; then
		port=$(free_port)
		mkdir -p "$dir/azure"
		launch azurite "$port" "$cache/azurite/node_modules/.bin/azurite-blob" --blobHost "$host" \
			--blobPort "$port" --location "$dir/azure" --skipApiVersionCheck --disableTelemetry --silent
		# Azurite's documented development account and key: public, not a secret.
		cat >>"$dir/env" <<EOF
export BANYAN_TEST_AZURE_ENDPOINT=http://$host:$port/devstoreaccount1
export BANYAN_TEST_AZURE_ACCOUNT=devstoreaccount1
export BANYAN_TEST_AZURE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
EOF
		echo "Azurite (Azure blobs) on $host:$port" >&2
	fi
}

stop() {
	[ -f "$dir/pids" ] || return 0
	local pid name
	while read -r pid name; do
		kill "$pid" 2>/dev/null || true
	done <"$dir/pids"
	while read -r pid name; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done <"$dir/pids"
	rm -f "$dir/pids"
}

case "${1:-}" in
install) install ;;
start)
	dir=${2:?usage: $0 start DIR [s3|gcs|azure]...}
	servers=("${@:3}")
	start
	;;
stop)
	dir=${2:?usage: $0 stop DIR}
	stop
	;;
*)
	echo "usage: $0 install | start DIR | stop DIR" >&2
	exit 2
	;;
esac
