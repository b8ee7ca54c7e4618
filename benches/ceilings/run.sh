#!/usr/bin/env bash
# Runs the ceiling experiments of BENCHMARKS.md ("How far the targets are").
#
# Each patch here takes one cost out of the server: the decision (canned-decision), sled's
# sync (sled-without-flush), sled itself (append-log), or the store altogether
# (free-store). The script builds HEAD unpatched and with each patch in turn, in a scratch
# worktree (the working tree is not touched), and runs the workload the patch bears on
# beside its baseline. The patches are experiments, never to be merged.
#
# Usage: bash benches/ceilings/run.sh [seconds per measurement, default 5]
set -euo pipefail
seconds=${1:-5}
root=$(git rev-parse --show-toplevel)
scratch=$(mktemp -d)
git -C "$root" worktree add --quiet --detach "$scratch/tree" HEAD
trap 'git -C "$root" worktree remove --force "$scratch/tree"; rm -rf "$scratch"' EXIT
export CARGO_TARGET_DIR="$root/target/ceilings"

measure() { # patch, then the bench's arguments
    local patch=$1
    shift
    git -C "$scratch/tree" checkout --quiet -- .
    if [ "$patch" != unpatched ]; then
        git -C "$scratch/tree" apply "$root/benches/ceilings/$patch.patch"
    fi
    (cd "$scratch/tree" && cargo build --release --quiet --bin predial)
    echo "== $patch: predial bench $*"
    "$CARGO_TARGET_DIR/release/predial" bench "$@" --compare-baseline --duration "$seconds" 2>/dev/null
}

candial=(--workload candial --streams 4 --window 32 --consumers 100000)
record=(--workload record --concurrency 64)
measure unpatched "${candial[@]}"
measure canned-decision "${candial[@]}"
measure unpatched "${record[@]}"
measure sled-without-flush "${record[@]}"
measure append-log "${record[@]}"
measure free-store "${record[@]}"
