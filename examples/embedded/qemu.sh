#!/usr/bin/env bash
# Optional: run the release firmware on an emulated STM32F405 (QEMU's
# netduinoplus2 board, a Cortex-M4F with 1 MiB of flash and 128 KiB of RAM at
# the addresses memory.x gives) for a few seconds, then read the firmware's
# RUNS and FAILURE counters out of the emulated RAM. Fails if no demo run
# completed or one failed. Needs qemu-system-arm (Debian: qemu-system-arm)
# and an image built by build.sh; build.sh does not call it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TARGET=thumbv7em-none-eabihf
HOST=$(rustc -vV | sed -n 's/^host: //p')
IMAGE=${CARGO_TARGET_DIR:-target}/$TARGET/release/firmware
SECONDS_TO_RUN=${1:-3}
NM="$(rustc --print sysroot)/lib/rustlib/$HOST/bin/llvm-nm"

address() { "$NM" "$IMAGE" | awk -v s="$1" '$3 == s { print "0x" $1 }'; }
runs_at=$(address RUNS)
failure_at=$(address FAILURE)
dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT

{
    sleep "$SECONDS_TO_RUN"
    echo "pmemsave $runs_at 4 \"$dump/runs\""
    echo "pmemsave $failure_at 4 \"$dump/failure\""
    sleep 1
    echo quit
} | timeout $((SECONDS_TO_RUN + 30)) qemu-system-arm -machine netduinoplus2 -nographic \
    -monitor stdio -serial null -kernel "$IMAGE" >/dev/null

word() { od -An -tu4 "$1" | tr -d ' '; }
runs=$(word "$dump/runs")
failure=$(word "$dump/failure")
echo "after ${SECONDS_TO_RUN}s on an emulated Cortex-M4F: $runs demo runs, FAILURE = $failure"
[ "$failure" = 0 ] && [ "$runs" -gt 0 ]
