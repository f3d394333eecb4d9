#!/usr/bin/env bash
# The embedded example: host tests, the Cortex-M4F firmware image, its size.
#
# CI calls it from the repository root (`bash examples/embedded/build.sh`);
# it works from anywhere, on a machine with nothing but rustup and cargo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TARGET=thumbv7em-none-eabihf
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGET_DIR=${CARGO_TARGET_DIR:-target}
IMAGE=$TARGET_DIR/$TARGET/release/firmware

echo "== toolchain: the $TARGET target and llvm-size (rustup's llvm-tools)"
rustup target add "$TARGET"
rustup component add llvm-tools 2>/dev/null || rustup component add llvm-tools-preview
LLVM_SIZE="$(rustc --print sysroot)/lib/rustlib/$HOST/bin/llvm-size"

echo "== host tests (the same demo, on $HOST)"
cargo test --target "$HOST"

echo "== no allocator: wscore without features, no crate built with alloc or std"
if cargo tree -e features --target "$TARGET" -i wscore | grep -F 'wscore feature'; then
    echo "error: wscore is built with features for $TARGET" >&2
    exit 1
fi
if cargo tree -e features --target "$TARGET" | grep -E 'feature "(alloc|std)"'; then
    echo "error: a dependency is built with alloc or std for $TARGET" >&2
    exit 1
fi

text_size() {
    "$LLVM_SIZE" -A "$IMAGE" | awk '$1 == ".text" { print $2 }'
}

echo "== firmware for $TARGET"
# First the same image without the demo, then the real one (which stays in
# target/): the difference is what wscore, the driver and the demo cost.
cargo build --release --target "$TARGET" --features size-baseline
baseline=$(text_size)
cargo build --release --target "$TARGET"
text=$(text_size)
"$LLVM_SIZE" -A "$IMAGE" | awk 'NR <= 2 || $1 ~ /^\.(vector_table|text|rodata|data|bss)$/'
echo "firmware .text: $text bytes ($IMAGE)"
echo "without the demo: $baseline bytes; wscore + driver + demo: $((text - baseline)) bytes"
