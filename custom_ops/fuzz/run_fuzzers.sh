#!/usr/bin/env bash
# Builds the libFuzzer targets in custom_ops/fuzz/ with ASan + UBSan and runs
# each for a bounded time, in parallel. Exits non-zero on any finding.
#
#   custom_ops/fuzz/run_fuzzers.sh [seconds_per_fuzzer]   (default 60)
#
# Environment:
#   CXX                   clang++ to use (default: clang++, clang++-19..14)
#   PQRNN_FUZZ_BUILD_DIR  build/work directory (default: a new temp dir, kept
#                         when something is found). Its corpus/<name>/
#                         accumulates new inputs across runs; the committed
#                         seeds in custom_ops/fuzz/corpus/ are only read.
#   PQRNN_FUZZERS         space-separated subset (default: all targets)
#   PQRNN_FUZZ_RSS_MB     per-process RSS limit (default 2048)
#   PQRNN_FUZZ_JOBS       1 runs the targets one after another (default:
#                         all at once)
#
# Exit status: 0 clean; 1 a finding (crash, sanitizer report, failed
# invariant, timeout, leak or OOM; the reproducer's path is printed);
# 2 build or setup failure (including a failed apt-get install); 3 no clang,
# and not root (or no apt-get), so none could be installed.
set -uo pipefail

SECONDS_PER_FUZZER="${1:-60}"
if ! [[ "$SECONDS_PER_FUZZER" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_FUZZER" -lt 1 ]; then
  echo "usage: $0 [seconds_per_fuzzer >= 1]" >&2
  exit 2
fi

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CUSTOM_OPS="$(dirname "$FUZZ_DIR")"
FUZZERS="${PQRNN_FUZZERS:-projection flexbuffers tflite_invoke}"
RSS_MB="${PQRNN_FUZZ_RSS_MB:-2048}"
# Every target links the whole core and every TFLite kernel, as the ARM kernel
# runner does (custom_ops/arm/build.sh).
SOURCES=("$CUSTOM_OPS"/core/*.cc "$CUSTOM_OPS"/tflite/*.cc)

log() { echo "[run_fuzzers] $*"; }

find_clang() {
  local c
  for c in ${CXX:-} clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null 2>&1 && "$c" --version 2>/dev/null | grep -qi clang; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

CLANGXX="$(find_clang)"
if [ -z "$CLANGXX" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "clang++ not found; running as root, so installing it:"
    log "  apt-get update && apt-get install -y clang"
    start=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || { log "apt-get update failed"; exit 2; }
    # With its recommends, clang brings the libFuzzer/sanitizer runtimes
    # (libclang-rt-<N>-dev on Debian 12).
    apt-get install -y -q clang || { log "apt-get install clang failed"; exit 2; }
    log "installed clang in $(( $(date +%s) - start ))s"
    CLANGXX="$(find_clang)" || { log "clang++ still not found after installing"; exit 2; }
  else
    if [ "$(id -u)" = 0 ]; then why="apt-get is not available"; else why="this is not root"; fi
    echo "[run_fuzzers] clang++ (with libFuzzer) is required but not found, and" \
         "$why, so it cannot be installed here. Install it, e.g." \
         "'sudo apt-get install clang', or set CXX=/path/to/clang++." >&2
    exit 3
  fi
fi
log "compiler: $CLANGXX ($("$CLANGXX" --version | head -1))"

if [ -n "${PQRNN_FUZZ_BUILD_DIR:-}" ]; then
  BUILD="$PQRNN_FUZZ_BUILD_DIR"
  mkdir -p "$BUILD"
else
  BUILD="$(mktemp -d "${TMPDIR:-/tmp}/pqrnn_fuzz.XXXXXX")"
fi
BUILD="$(cd "$BUILD" && pwd)"
log "build dir: $BUILD"

CXXFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -std=c++17 -Wall -Wextra -I "$CUSTOM_OPS")
declare -A BUILD_PIDS
for name in $FUZZERS; do
  src="$FUZZ_DIR/${name}_fuzzer.cc"
  [ -f "$src" ] || { log "no such fuzzer: $src"; exit 2; }
  log "building ${name}_fuzzer"
  "$CLANGXX" "${CXXFLAGS[@]}" "$src" "${SOURCES[@]}" -o "$BUILD/${name}_fuzzer" \
    > "$BUILD/${name}_build.log" 2>&1 &
  BUILD_PIDS[$name]=$!
done
for name in $FUZZERS; do
  if ! wait "${BUILD_PIDS[$name]}"; then
    cat "$BUILD/${name}_build.log" >&2
    log "build of ${name}_fuzzer failed (is the libFuzzer runtime, libclang-rt-*-dev, installed?)"
    exit 2
  fi
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
  local name="$1" corpus="$BUILD/corpus/$1" artifacts="$BUILD/artifacts/$1"
  mkdir -p "$corpus" "$artifacts"
  local args=(-max_total_time="$SECONDS_PER_FUZZER" -max_len=4096 -timeout=25
              -rss_limit_mb="$RSS_MB" -print_final_stats=1
              -artifact_prefix="$artifacts/")
  [ -f "$FUZZ_DIR/$name.dict" ] && args+=(-dict="$FUZZ_DIR/$name.dict")
  local seeds=()
  [ -d "$FUZZ_DIR/corpus/$name" ] && seeds=("$FUZZ_DIR/corpus/$name")
  # New inputs go to the first (writable) corpus directory only.
  "$BUILD/${name}_fuzzer" "${args[@]}" "$corpus" "${seeds[@]}" > "$BUILD/$name.log" 2>&1
}

log "running: $FUZZERS, ${SECONDS_PER_FUZZER}s each"
declare -A PIDS STATUS
for name in $FUZZERS; do
  if [ "${PQRNN_FUZZ_JOBS:-0}" = 1 ]; then
    run_one "$name"; STATUS[$name]=$?
  else
    run_one "$name" & PIDS[$name]=$!
  fi
done
for name in "${!PIDS[@]}"; do
  wait "${PIDS[$name]}"; STATUS[$name]=$?
done

failed=0
for name in $FUZZERS; do
  log_file="$BUILD/$name.log"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log_file" | tail -1)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log_file" | tail -1)"
  if [ "${STATUS[$name]}" = 0 ]; then
    log "${name}_fuzzer: OK, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-}"
  else
    failed=1
    log "${name}_fuzzer: FINDING (exit ${STATUS[$name]}); end of $log_file:"
    grep -v -E '^#[0-9]+' "$log_file" | tail -n 80
    for artifact in "$BUILD/artifacts/$name"/*; do
      [ -e "$artifact" ] || continue
      log "reproduce: $BUILD/${name}_fuzzer $artifact"
      log "  (rebuild: $CLANGXX ${CXXFLAGS[*]} $FUZZ_DIR/${name}_fuzzer.cc ${SOURCES[*]} -o ${name}_fuzzer)"
    done
  fi
done
if [ "$failed" = 0 ] && [ -z "${PQRNN_FUZZ_BUILD_DIR:-}" ]; then
  rm -rf "$BUILD"
elif [ "$failed" != 0 ]; then
  log "kept $BUILD"
fi
exit "$failed"
