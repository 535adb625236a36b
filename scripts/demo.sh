#!/usr/bin/env bash
# The demo: builds banyan-backup, makes a BanyanDB data root from the 0.11
# fixture, backs it up, adds a part the way BanyanDB flushes one, backs up
# again (showing how little is added), verifies every blob, restores into a
# new directory and compares it with the source. KEEP=1 keeps the work dir.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/banyan-backup-demo.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "build"
go build -o bin/banyan-backup ./cmd/banyan-backup
bb() { ./bin/banyan-backup "$@"; }
export BANYAN_BACKUP_REPO="$work/repo"

say "a BanyanDB 0.11 data root from testdata/fixtures (written by a real server)"
command -v zstd >/dev/null || { echo "the demo needs zstd to unpack the fixture: apt-get install zstd" >&2; exit 1; }
mkdir -p "$work/fixture"
tar --zstd -xf testdata/fixtures/banyandb-0.11.0-dev-small.tar.zst -C "$work/fixture"
root="$work/root"
cp -a "$work/fixture"/*/data "$root"
find "$root" -path '*/data/*' -type f | wc -l | xargs echo "files under */data:"

say "init and first backup"
bb init
bb backup --root "$root" --time-zone UTC

say "BanyanDB flushes a new part (part dir, metadata.json last, then a new .snp)"
shard="$root/measure/data/bk_measure/seg-20261122/shard-0"
part="$shard/0000000000000002"
mkdir "$part"
for f in primary.bin timestamps.bin fv.bin default.tf meta.bin; do head -c 40000 /dev/urandom >"$part/$f"; done
printf '{"compressedSizeBytes":200000,"uncompressedSizeBytes":800000,"totalCount":100,"blocksCount":1,"minTimestamp":1795305600000000000,"maxTimestamp":1795391400000000000}' >"$part/metadata.json"
old=$(ls "$shard"/*.snp)
printf '["0000000000000001","0000000000000002"]' >"$shard/$(printf '%016x' $(( 16#$(basename "$old" .snp) + 1 ))).snp"
rm "$old"
echo "added $(du -sb "$part" | cut -f1) bytes in $part"

say "second backup: only the new part is read and stored"
bb backup --root "$root" --time-zone UTC
bb list

say "verify every blob of every backup"
bb verify --read-data

say "restore the latest backup into a new directory"
bb restore latest --target "$work/restored"

say "compare the restored data trees with the source"
for c in measure stream trace property schema-property; do
	diff -r -x lock -x bluge.pid "$root/$c/data" "$work/restored/$c/data"
done
echo "identical: every catalog's data/ tree (lock files are the server's, left out)"
say "done (work dir: $work$([ "${KEEP:-0}" = 1 ] || echo ', removed'))"
