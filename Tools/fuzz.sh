#!/usr/bin/env bash
# libFuzzer targets for fute-db's input readers and the HNSW index (issue 6).
#
#   Tools/fuzz.sh                      build every target, run each for a share of 48 s (CI smoke run)
#   Tools/fuzz.sh --seconds 600        run each target 600 s (a longer run)
#   Tools/fuzz.sh --seconds 60 hnsw    one target (jsonl npy vecs safetensors vocab dataset hnsw)
#   FUTE_FUZZ_HNSW_DISTINCT=1 Tools/fuzz.sh hnsw   (skip tied vectors: see Tests/Fuzz/FuzzHNSW.swift)
#   FUTE_FUZZ_HNSW_LOW_EF=1 Tools/fuzz.sh hnsw     (efConstruction down to M: finds a known weak spot)
#   Tools/fuzz.sh --build-only
#
# Targets live in Tests/Fuzz/Fuzz<Name>.swift. Each is compiled with `swiftc -sanitize=fuzzer,address`
# together with the library sources it exercises (Swift's libFuzzer support is Linux-only).
# Seeds: Tests/Fuzz/corpus/<target>/ (checked in); the growing corpus and crash artifacts go to
# .build/fuzz/. Exit status non-zero when any target finds a crash, a leak or a broken post-condition.
set -euo pipefail
cd "$(dirname "$0")/.."
total_seconds=48
per_target=""
build_only=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) per_target="$2"; shift 2 ;;
    --seconds=*) per_target="${1#*=}"; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(jsonl npy vecs safetensors vocab dataset hnsw)
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")
[[ -z "$per_target" ]] && per_target=$(( total_seconds / ${#targets[@]} ))

out=.build/fuzz
mkdir -p "$out/modules" "$out/artifacts"
flags=(-parse-as-library -sanitize=fuzzer,address -O -g -swift-version 6 -package-name fute_db -I "$out/modules")

# build_module NAME C-MODULE-DIR... -- SOURCES...  → a static library + module for the next step.
build_module() {
  local name=$1; shift
  local includes=()
  while [[ $1 != -- ]]; do includes+=(-I "$1"); shift; done; shift
  local stamp="$out/modules/$name.stamp"
  if [[ -f "$out/modules/lib$name.a" && -f "$stamp" ]] && [[ -z $(find "$@" -newer "$stamp" 2>/dev/null) ]]; then return; fi
  echo "fuzz: building module $name"
  swiftc "${flags[@]}" "${includes[@]}" -module-name "$name" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
    -emit-library -static -o "$out/modules/lib$name.a" "$@"
  touch "$stamp"
}

# The AVX2+FMA kernels and the CPU check (C and assembly) that Kernels and Index call.
cfk=Sources/CFuteKernels
if [[ ! -f "$out/modules/libCFuteKernels.a" ]] || [[ -n $(find "$cfk" -newer "$out/modules/libCFuteKernels.a" 2>/dev/null) ]]; then
  echo "fuzz: building CFuteKernels"
  clang -O2 -I "$cfk/include" -c "$cfk/dispatch.c" -o "$out/modules/cfk-dispatch.o"
  clang -c "$cfk/kernels_avx2_x86_64_linux.S" -o "$out/modules/cfk-avx2.o"
  rm -f "$out/modules/libCFuteKernels.a"
  ar rcs "$out/modules/libCFuteKernels.a" "$out/modules/cfk-dispatch.o" "$out/modules/cfk-avx2.o"
fi
build_module Kernels Sources/COpenBLAS "$cfk/include" -- Sources/Kernels/*.swift
index_includes=(Sources/COpenBLAS "$cfk/include")
index_libs=(-lIndex -lKernels -lCFuteKernels)
if grep -q '^import Storage' Sources/Index/*.swift; then
  build_module Storage Sources/CLMDB -- Sources/Storage/*.swift
  index_includes+=(Sources/CLMDB); index_libs+=(-lStorage -llmdb)
fi
build_module Index "${index_includes[@]}" -- Sources/Index/*.swift
# The file and dataset readers, and the encoder (safetensors, tokenizer): they need only Kernels.
build_module Readers -- Sources/Readers/Files/*.swift Sources/Readers/Tasks/*.swift
build_module Encoder Sources/COpenBLAS "$cfk/include" -- Sources/Encoder/*.swift

build_target() {
  local target=$1 module source
  case "$target" in
    jsonl) source=FuzzJSONL ;; npy) source=FuzzNPY ;; vecs) source=FuzzVecs ;;
    safetensors) source=FuzzSafeTensors ;; vocab) source=FuzzVocab ;; dataset) source=FuzzTaskDataset ;;
    hnsw) source=FuzzHNSW ;;
    *) echo "fuzz: error: unknown target '$target'; targets: ${all[*]}" >&2; exit 64 ;;
  esac
  local bin="$out/fuzz-$target"
  if [[ -x "$bin" && -z $(find Tests/Fuzz/$source.swift Tests/Fuzz/FuzzSupport.swift "$out/modules" -newer "$bin" 2>/dev/null) ]]; then return; fi
  echo "fuzz: building $target"
  if [[ $target == hnsw ]]; then
    swiftc "${flags[@]}" -I Sources/COpenBLAS -I Sources/CLMDB -I "$cfk/include" -L "$out/modules" "${index_libs[@]}" -lopenblas \
      Tests/Fuzz/FuzzSupport.swift "Tests/Fuzz/$source.swift" -o "$bin"
  else
    swiftc "${flags[@]}" -I Sources/COpenBLAS -I "$cfk/include" -L "$out/modules" -lEncoder -lReaders -lKernels -lCFuteKernels -lopenblas \
      Tests/Fuzz/FuzzSupport.swift "Tests/Fuzz/$source.swift" -o "$bin"
  fi
}

for t in "${targets[@]}"; do build_target "$t"; done
[[ $build_only -eq 1 ]] && exit 0

status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"; mkdir -p "$corpus"
  seeds=()
  [[ -d Tests/Fuzz/corpus/$t ]] && seeds=(Tests/Fuzz/corpus/$t)
  log="$out/$t.log"
  echo "fuzz: running $t for ${per_target}s"
  extra=()
  asan=${ASAN_OPTIONS:-}
  # Foundation's Data(contentsOf:) leaks one buffer per empty file (swift-corelibs, not fute-db):
  # leak detection stays on for the in-memory targets only.
  case "$t" in safetensors|vocab|dataset) extra=(-detect_leaks=0); asan="detect_leaks=0${asan:+:$asan}" ;; esac
  if ASAN_OPTIONS="$asan" SWIFT_BACKTRACE=enable=no "$out/fuzz-$t" "${extra[@]}" -max_total_time="$per_target" -max_len=4096 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/$t-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    echo "fuzz: $t ok: $runs runs, 0 findings"
  else
    status=1
    echo "fuzz: $t FOUND A PROBLEM (log $log, artifacts $out/artifacts/$t-*):" >&2
    grep -E 'fuzz finding|Fatal error|ERROR: AddressSanitizer|SUMMARY|Test unit written' "$log" | head -8 >&2
  fi
done
exit $status
