#!/usr/bin/env bash
# The native data plane under ThreadSanitizer (issue 11): builds a TSAN variant of the addon in a
# copy of the repository under a temporary directory (never in ./build, which other processes
# load), compiles the TypeScript there, and runs test files (default: the concurrency stress
# test) with a copy of node that loads libtsan first (patchelf --add-needed), since node is not
# itself built with TSAN. Exits non-zero on any ThreadSanitizer report. Needs root (the tests make
# network namespaces), gcc's libtsan and patchelf.
# Not LD_PRELOAD: it reaches every program a lab test runs (tshark, python3, ip, ...), and those
# fail under libtsan (tool checks said "not installed"); the patched node reaches only the node
# processes the tests start, as they start node by process.execPath.
#   scripts/tsan.sh [dist/test/dataplane/X.test.js ...]
#   GREDGE_TSAN_DIR=/tmp/dir  reuse (or create) that copy: sources are copied again and the TSAN
#                             build is updated incrementally (GREDGE_TSAN_REBUILD=1: from scratch)
# Suppressions (scripts/tsan.supp) cover Node/V8 internals only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
libtsan=$(gcc -print-file-name=libtsan.so)
if [ ! -e "$libtsan" ]; then
  echo "tsan: libtsan.so not found (gcc's runtime: apt-get install libgcc-12-dev)" >&2
  exit 2
fi
command -v patchelf >/dev/null || {
  echo "tsan: patchelf not found (apt-get install patchelf)" >&2
  exit 2
}
dir=${GREDGE_TSAN_DIR:-$(mktemp -d /tmp/gredge-tsan.XXXXXX)}
mkdir -p "$dir"
node_tsan="$dir/node-tsan"
cp "$(command -v node)" "$node_tsan"
patchelf --add-needed "$libtsan" "$node_tsan"
echo "tsan: copying the repository to $dir"
(cd "$root" && tar --exclude=./node_modules --exclude=./dist --exclude=./build --exclude=./.git -cf - .) |
  tar -C "$dir" -xf -
ln -sfn "$root/node_modules" "$dir/node_modules"
# A kept copy is built again incrementally (tar keeps modification times, make skips what did
# not change); a new one, or GREDGE_TSAN_REBUILD=1, from scratch.
step=build
if [ ! -e "$dir/build/Release/gredge_native.node" ] || [ "${GREDGE_TSAN_REBUILD:-0}" = 1 ]; then step=rebuild; fi
echo "tsan: node-gyp $step with -fsanitize=thread"
# -Wno-tsan: GCC warns that TSAN does not model atomic_thread_fence (epoch.h uses two), and
# the addon builds with -Werror. TSAN then checks the release/acquire pairs, not the fences.
(cd "$dir" && CXXFLAGS="-fsanitize=thread -g -O1 -Wno-tsan" LDFLAGS="-fsanitize=thread" npx node-gyp $step >"$dir/build.log" 2>&1) || {
  tail -30 "$dir/build.log" >&2
  exit 1
}
echo "tsan: compiling TypeScript in $dir"
(cd "$dir" && npx tsc -p tsconfig.json) || echo "tsan: tsc reported errors (emitted anyway); see above"
logs="$dir/tsan-logs"
rm -rf "$logs"
mkdir -p "$logs"
[ $# -gt 0 ] || set -- dist/test/dataplane/stress-race.test.js
status=0
for f in "$@"; do
  echo "tsan: $f"
  # Node children (ip netns exec $node_tsan ...) inherit TSAN_OPTIONS: each writes its reports
  # to $logs/tsan.PID. exitcode=66 makes a reporting child fail the test too.
  # GREDGE_SLOW_FACTOR: start-up deadlines of the lab's daemons stretched for TSAN's slowness.
  (cd "$dir" && GREDGE_TEST_STRICT=1 TAP_TIMEOUT=900 GREDGE_SLOW_FACTOR=6 \
    TSAN_OPTIONS="log_path=$logs/tsan exitcode=66 second_deadlock_stack=1 suppressions=$root/scripts/tsan.supp" \
    "$node_tsan" "$f") || status=1
done
reports=$(cat "$logs"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
if [ "$reports" != 0 ]; then
  echo "tsan: $reports report(s):" >&2
  cat "$logs"/tsan.* >&2
  exit 1
fi
[ "$status" = 0 ] || { echo "tsan: a test failed (no TSAN report)" >&2; exit 1; }
echo "tsan: no reports"
