#!/usr/bin/env bash
# Builds custom_ops/arm/kernel_runner.cc with the projection/fo-pooling core
# and the TFLite kernels, for the host (g++) and for aarch64 (Debian's
# g++-aarch64-linux-gnu), statically linked so that qemu-aarch64 runs it with
# no aarch64 sysroot.
#
#   custom_ops/arm/build.sh OUT_DIR
#
# Writes OUT_DIR/kernel_runner-host and OUT_DIR/kernel_runner-aarch64.
# The flags are setup.py's (-std=c++17 -O3): the point is to check the code
# the Python build compiles. Note that -std=c++17 (not gnu++17) also means
# -ffp-contract=off in GCC, which keeps f * c + u in fo-pooling from becoming
# an aarch64 fused multiply-add (docs/android.md).
#
# Environment: CXX (default g++), AARCH64_CXX (default aarch64-linux-gnu-g++).
# Exit status: 0 built; 1 a compiler failed; 2 usage or a compiler is missing.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
OUT_DIR="$1"
ARM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CUSTOM_OPS="$(dirname "$ARM_DIR")"
HOST_CXX="${CXX:-g++}"
AARCH64_CXX="${AARCH64_CXX:-aarch64-linux-gnu-g++}"

for cxx in "$HOST_CXX" "$AARCH64_CXX"; do
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "$0: compiler '$cxx' not found (make aarch64-toolchain installs" \
         "g++-aarch64-linux-gnu and qemu-user)" >&2
    exit 2
  fi
done

# Every core and TFLite-kernel source, as setup.py links into
# _pqrnn_tflite_ops.so (the TF adapters need TensorFlow's headers: not here).
SOURCES=("$ARM_DIR/kernel_runner.cc" "$CUSTOM_OPS"/core/*.cc "$CUSTOM_OPS"/tflite/*.cc)
FLAGS=(-std=c++17 -O3 -Wall -I"$CUSTOM_OPS" -static)

mkdir -p "$OUT_DIR"
# The two builds run side by side (one compiler process each).
"$HOST_CXX" "${FLAGS[@]}" "${SOURCES[@]}" -o "$OUT_DIR/kernel_runner-host" &
host=$!
"$AARCH64_CXX" "${FLAGS[@]}" "${SOURCES[@]}" -o "$OUT_DIR/kernel_runner-aarch64" &
arm=$!
status=0
wait "$host" || { echo "$0: host build failed" >&2; status=1; }
wait "$arm" || { echo "$0: aarch64 build failed" >&2; status=1; }
exit "$status"
