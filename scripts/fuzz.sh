#!/usr/bin/env bash
# Runs every fuzz target of the repository (each `func Fuzz…` of a
# *_test.go, found anew each time) for DURATION (default 5s), one after the
# other, with WORKERS processes each (default: one per CPU). scripts/test.sh
# runs it; `scripts/fuzz.sh 10m 1` fuzzes longer on a shared machine.
#
# Each package's test binary is built once with fuzzing instrumentation and
# run in the package's directory, as `go test -fuzz` would. A crash fails
# the run and leaves the input in the package's testdata/fuzz/<target>/:
# commit it with the fix, `go test` replays it from then on. The corpus the
# fuzzer grows stays in the Go build cache ($GOCACHE/fuzz), out of the
# repository.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5s}
workers=${2:-$(getconf _NPROCESSORS_ONLN)}
cache=$(go env GOCACHE)
if [ -z "$cache" ] || [ "$cache" = off ]; then
	echo "fuzzing needs the Go build cache (GOCACHE is off)" >&2
	exit 1
fi
case "$(realpath -m "$cache")/" in
"$(pwd -P)"/*) echo "GOCACHE $cache is inside the repository: the fuzz corpus would land there" >&2; exit 1 ;;
esac

bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT

for dir in $(git grep --untracked -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u); do
	pkg=$(go list "./$dir")
	bin=$bins/${dir//\//_}.test
	go test -c -fuzz=. -o "$bin" "./$dir"
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go); do
		echo "-- $pkg $target ($duration)"
		out=$bins/out
		if (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^$target\$" -test.fuzztime="$duration" \
			-test.parallel="$workers" -test.fuzzcachedir="$cache/fuzz/$pkg") >"$out" 2>&1; then
			cat "$out"
			continue
		fi
		cat "$out"
		# Go's fuzz coordinator can fail a target with "context deadline
		# exceeded" at the end of -fuzztime on a loaded machine, having found
		# nothing (it then writes no failing input): that is not a crash.
		if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out"; then
			echo "-- $target: the fuzz coordinator's deadline race at the end of the run, no failing input: not a crash"
			continue
		fi
		exit 1
	done
done
