#!/usr/bin/env bash
# Reproduces every number of README.md's results table on this machine; raw output in ${OUT:-results/}.
# Takes about 35 minutes. Run it on an otherwise idle machine; ratios come from side-by-side runs.
# Usage: jmh/results.sh [part...]   parts: minilm interleaved load gc fp32 compressed sparse demo (default: all)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
. build/find-jdk.sh
compresso_find_jdk
out=${OUT:-results}
mkdir -p "$out"
./mvnw -q -B -pl jmh -am package -DskipTests
cp="jmh/target/classes:jmh/target/lib/*"
java=("$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx6g)
jmh=("${java[@]}" -cp "$cp" org.openjdk.jmh.Main)
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(minilm interleaved load gc fp32 compressed sparse demo)
for p in "${parts[@]}"; do
  echo "== $p" >&2
  case $p in
    minilm)  # end to end, ours vs ONNX Runtime, 2 threads each, batch 1/8/32 x 128 tokens
      "${jmh[@]}" 'MiniLmBenchmark.infer' -p threads=2 -f 1 -wi 4 -i 8 -w 2s -r 2s -rf json -rff "$out/minilm.json" | tee "$out/minilm.txt" ;;
    interleaved) # ours vs ONNX Runtime in alternating rounds in one JVM (the ratios the README quotes)
      for b in 1 8 32; do
        "${java[@]}" -cp "$cp" dev.compresso.jmh.Interleaved ort compresso "$b" 2 20
      done | tee "$out/interleaved.txt" ;;
    load)    # model load until a session is ready
      "${jmh[@]}" 'MiniLmBenchmark.load' -f 3 -wi 5 -i 20 -rf json -rff "$out/load.json" | tee "$out/load.txt" ;;
    gc)      # heap allocated per inference (steady state)
      "${jmh[@]}" 'MiniLmBenchmark.infer' -p batch=1,32 -p engine=compresso,compresso-int8 -p threads=2 -f 1 -wi 3 -i 4 -w 2s -r 2s -prof gc | tee "$out/gc.txt" ;;
    fp32)    # fp32 GEMM vs OpenBLAS in alternating blocks (needs libopenblas)
      "${java[@]}" -cp "$cp" dev.compresso.jmh.SideBySide 2 8 1024x1024x1024 128x1536x384 1x4096x4096 | tee "$out/fp32-2t.txt"
      "${java[@]}" -cp "$cp" dev.compresso.jmh.SideBySide 1 6 1024x1024x1024 128x1536x384 1x4096x4096 | tee "$out/fp32-1t.txt" ;;
    compressed) # int8 (W8A32, W8A8) and fp16 kernels vs our fp32, round-robin in one JVM
      "${java[@]}" -cp "$cp" dev.compresso.jmh.CompressedKernelRatios 4 | tee "$out/compressed.txt" ;;
    sparse)  # CSR / BSR vs dense fp32 over sparsity, one thread and two
      for t in 1 2; do for s in 128x1536x384 1x4096x4096; do
        "${java[@]}" -cp "$cp" dev.compresso.jmh.SparseRatio "$s" "$t" 40 0.5 0.6 0.7 0.8 0.9 0.95 | tee "$out/sparse-$s-$t.txt"
      done; done ;;
    demo)    # sizes, latency and fidelity of every compressed variant, and of ONNX Runtime's int8 model
      ./compresso demo --keep "$out/demo" | tee "$out/demo.txt" ;;
    *) echo "unknown part $p" >&2; exit 2 ;;
  esac
done
