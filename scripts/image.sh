#!/usr/bin/env bash
# Builds banyan-backup's container image (Dockerfile) with the first engine
# that works: docker (with a daemon that answers), podman, or buildah;
# ENGINE=podman (or docker, buildah) picks one.
#
#   scripts/image.sh            build IMAGE:VERSION (and print the reference)
#   scripts/image.sh --test     build, then run `version --json` in the image
#                               and check the stamp and the user (65532); with
#                               no engine on the machine, say so and exit 0
#
# IMAGE defaults to the Dockerfile's io.github.banyan-backup.image label;
# VERSION, COMMIT and BUILD_DATE default to what scripts/build.sh takes from
# git. GO_IMAGE overrides the build stage's image (pin it by digest).
set -euo pipefail
cd "$(dirname "$0")/.."

test_mode=0
case "${1:-}" in
--test) test_mode=1 ;;
"") ;;
*) echo "usage: scripts/image.sh [--test]" >&2; exit 2 ;;
esac

engine_works() {
	case $1 in
	docker) command -v docker >/dev/null && docker info >/dev/null 2>&1 ;;
	podman) command -v podman >/dev/null && podman info >/dev/null 2>&1 ;;
	buildah) command -v buildah >/dev/null && buildah version >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

engine=${ENGINE:-}
if [ -n "$engine" ]; then
	engine_works "$engine" || { echo "scripts/image.sh: ENGINE=$engine does not work here" >&2; exit 1; }
else
	for e in docker podman buildah; do
		if engine_works "$e"; then engine=$e; break; fi
	done
fi
if [ -z "$engine" ]; then
	why="docker: $(command -v docker >/dev/null && echo 'client only, no daemon answers' || echo 'not installed');"
	why="$why podman: $(command -v podman >/dev/null && echo 'does not answer' || echo 'not installed');"
	why="$why buildah: $(command -v buildah >/dev/null && echo 'does not answer' || echo 'not installed')"
	if [ "$test_mode" = 1 ]; then
		echo "SKIPPED: container image build: no container engine on this machine ($why)."
		echo "The Dockerfile's build stage (scripts/build.sh on the build context .dockerignore leaves) is tested without one: deploy/image_test.go."
		exit 0
	fi
	echo "scripts/image.sh: no container engine ($why)" >&2
	exit 1
fi

image=${IMAGE:-$(sed -n 's/.*io\.github\.banyan-backup\.image="\([^"]*\)".*/\1/p' Dockerfile)}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
build_date=${BUILD_DATE:-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)}
ref="$image:$version"
args=(--build-arg "VERSION=$version" --build-arg "COMMIT=$commit" --build-arg "BUILD_DATE=$build_date")
[ -z "${GO_IMAGE:-}" ] || args+=(--build-arg "GO_IMAGE=$GO_IMAGE")

echo "== building $ref with $engine"
case $engine in
docker | podman) "$engine" build "${args[@]}" -t "$ref" -f Dockerfile . ;;
buildah) buildah bud "${args[@]}" -t "$ref" -f Dockerfile . ;;
esac
echo "$ref"
[ "$test_mode" = 1 ] || exit 0

echo "== checking $ref"
case $engine in
docker | podman)
	out=$("$engine" run --rm --read-only "$ref" version --json)
	user=$("$engine" image inspect --format '{{.Config.User}}' "$ref")
	;;
buildah)
	ctr=$(buildah from "$ref")
	trap 'buildah rm "$ctr" >/dev/null' EXIT
	out=$(buildah run "$ctr" -- /usr/local/bin/banyan-backup version --json)
	user=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$ref")
	;;
esac
echo "$out"
grep -q "\"version\": \"$version\"" <<<"$out" || { echo "the image's binary does not report version $version" >&2; exit 1; }
grep -q "\"commit\": \"$commit\"" <<<"$out" || { echo "the image's binary does not report commit $commit" >&2; exit 1; }
[ "$user" = "65532:65532" ] || { echo "the image runs as '$user', want 65532:65532" >&2; exit 1; }
echo "ok: $ref runs as 65532:65532 and reports $version ($commit)"
