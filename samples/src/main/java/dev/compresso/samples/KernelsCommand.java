package dev.compresso.samples;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * {@code kernels}: micro-benchmark of every kernel family through the public {@link Kernels#linear} facade
 * (so each family is measured as the engine calls it) next to OpenBLAS, over the shapes of a MiniLM layer,
 * a 1024³ GEMM and a large GEMV, on one thread and on all. Each case is warmed up, then timed call by call;
 * the median is reported. {@code gflops} counts the dense-equivalent work {@code 2·m·n·k} for every kernel,
 * sparse ones included, so rows compare directly.
 */
final class KernelsCommand implements Command {

    static final List<String> SHAPES = List.of("1x384x384", "1x1536x384", "128x384x384", "128x1536x384",
            "1024x1024x1024", "1x4096x4096");
    static final double[] SPARSITIES = {0.5, 0.7, 0.8, 0.9, 0.95};
    static final List<String> KERNELS = List.of("fp32", "int8", "int8-w8a32", "int8-w8a8", "fp16", "csr", "openblas");

    @Override
    public String name() {
        return "kernels";
    }

    @Override
    public String usage() {
        return "kernels [--quick] [--json] [--threads T] [--kernels fp32,int8,...] [--shapes MxNxK,...] [--activation none|relu|gelu|gelu_tanh]";
    }

    /** One measured case. */
    record Row(String kernel, int m, int n, int k, double sparsity, int threads, double ms) {
        double gflops() {
            return 2.0 * m * n * k / (ms * 1e6);
        }
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        boolean quick = args.flag("quick");
        boolean json = args.flag("json");
        int all = args.getInt("threads", KernelPool.cores());
        if (all < 1) {
            throw new UsageException("--threads must be at least 1, got " + all);
        }
        List<String> kernels = list(args.get("kernels"), KERNELS, "kernel");
        String actName = args.get("activation", "none");
        Activation act;
        try {
            act = Activation.valueOf(actName.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--activation takes none, relu, gelu or gelu_tanh, not '" + actName + "'");
        }
        // --quick leaves out 1024³: with kernels still on their scalar path one call takes a second.
        List<String> shapes = args.get("shapes") != null ? List.of(args.get("shapes").split(","))
                : quick ? SHAPES.stream().filter(s -> !s.equals("1024x1024x1024")).toList() : SHAPES;
        List<int[]> dims = new ArrayList<>();
        for (String s : shapes) {
            dims.add(parseShape(s));
        }
        args.finish();

        // Per case: warm up for at least warmNs (and 2 calls), then time calls until measureNs is spent
        // (at least 3 calls, at most maxReps); a case whose single call is slower than slowNs is timed once.
        long warmNs = quick ? 40_000_000L : 150_000_000L;
        long measureNs = quick ? 80_000_000L : 400_000_000L;
        long slowNs = quick ? 150_000_000L : 1_000_000_000L;
        int maxReps = quick ? 30 : 200;
        Timer timer = new Timer(warmNs, measureNs, slowNs, maxReps);

        System.err.println("compresso kernels: provider " + Kernels.provider() + ", " + KernelPool.cores()
                + " cores, Java " + Runtime.version() + (quick ? ", quick" : ""));
        Optional<OpenBlas> blas = kernels.contains("openblas") ? OpenBlas.load() : Optional.empty();
        if (kernels.contains("openblas") && blas.isEmpty()) {
            System.err.println("compresso kernels: OpenBLAS not found (libopenblas.so.0, libopenblas.so, libcblas.so.3);"
                    + " skipping the openblas rows. Install it with: apt-get install -y libopenblas-dev");
        }
        List<Integer> threadCounts = new ArrayList<>(new LinkedHashSet<>(List.of(1, all)));
        warmUp(kernels, threadCounts, act, quick ? 80_000_000L : 250_000_000L);
        if (!json) {
            out.printf(Locale.ROOT, "%-12s %6s %6s %6s %8s %7s %10s %10s%n",
                    "kernel", "m", "n", "k", "sparsity", "threads", "gflops", "ms");
        }
        for (int[] d : dims) {
            int m = d[0], n = d[1], k = d[2];
            Case c = new Case(m, n, k, act);
            for (int t : threadCounts) {
                for (String kernel : kernels) {
                    if (kernel.equals("openblas")) {
                        continue; // last, see below
                    }
                    if (kernel.equals("csr")) {
                        for (double s : quick ? new double[] {0.5, 0.9} : SPARSITIES) {
                            PackedWeights w = c.csr(s);
                            emit(out, json, new Row("csr", m, n, k, s, t, timer.time(() -> c.run(w, Int8Mode.AUTO, t))));
                        }
                        continue;
                    }
                    PackedWeights w = switch (kernel) {
                        case "fp32" -> c.fp32();
                        case "fp16" -> c.fp16();
                        default -> c.int8();
                    };
                    Int8Mode mode = switch (kernel) {
                        case "int8-w8a32" -> Int8Mode.W8A32;
                        case "int8-w8a8" -> Int8Mode.W8A8;
                        default -> Int8Mode.AUTO;
                    };
                    emit(out, json, new Row(kernel, m, n, k, 0, t, timer.time(() -> c.run(w, mode, t))));
                }
                if (blas.isPresent()) {
                    // OpenBLAS last in each group: its worker threads keep spinning for a while after a call
                    // and would slow down whatever runs next; the pause lets them go to sleep.
                    OpenBlas b = blas.get();
                    b.setThreads(t);
                    MemorySegment dense = c.dense();
                    emit(out, json, new Row("openblas", m, n, k, 0, t, timer.time(() -> b.linear(c.a, m, dense, n, k, c.c))));
                    Thread.sleep(200);
                }
            }
        }
    }

    /**
     * Gets every kernel family JIT-compiled (GEMM and GEMV paths, one thread and several) before the first
     * timed case: Vector API code runs orders of magnitude slower until C2 has compiled it, and the per-case
     * warm-up of a small shape is too short for that.
     */
    private static void warmUp(List<String> kernels, List<Integer> threadCounts, Activation act, long nsPerCase) {
        // GEMM and GEMV shapes alternate inside one loop so both branches of every kernel are in the
        // profile C2 compiles from; a branch it never saw becomes a deoptimization trap later.
        Case gemm = new Case(12, 64, 384, act), gemv = new Case(1, 64, 384, act);
        for (String kernel : kernels) {
            if (kernel.equals("openblas")) {
                continue;
            }
            PackedWeights w1 = weights(gemm, kernel), w2 = weights(gemv, kernel);
            Int8Mode mode = kernel.equals("int8-w8a8") ? Int8Mode.W8A8
                    : kernel.equals("int8-w8a32") ? Int8Mode.W8A32 : Int8Mode.AUTO;
            for (int t : threadCounts) {
                new Timer(nsPerCase, 0, Long.MAX_VALUE, 1).time(() -> {
                    gemm.run(w1, mode, t);
                    gemv.run(w2, mode, t);
                });
            }
        }
    }

    private static PackedWeights weights(Case c, String kernel) {
        return switch (kernel) {
            case "fp32" -> c.fp32();
            case "fp16" -> c.fp16();
            case "csr" -> c.csr(0.9);
            default -> c.int8();
        };
    }

    private static List<String> list(String value, List<String> known, String what) throws UsageException {
        if (value == null) {
            return known;
        }
        List<String> l = List.of(value.split(","));
        for (String s : l) {
            if (!known.contains(s)) {
                throw new UsageException("unknown " + what + " '" + s + "' (known: " + String.join(", ", known) + ")");
            }
        }
        return l;
    }

    static int[] parseShape(String s) throws UsageException {
        String[] p = s.trim().split("x");
        try {
            if (p.length == 3) {
                int[] d = {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
                if (d[0] >= 1 && d[1] >= 1 && d[2] >= 1 && (long) d[1] * d[2] <= 1L << 28 && (long) d[0] * d[2] <= 1L << 28
                        && (long) d[0] * d[1] <= 1L << 28) {
                    return d;
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("shape '" + s + "' is not MxNxK with positive sizes (each product at most 2^28)");
    }

    private static void emit(PrintStream out, boolean json, Row r) {
        if (json) {
            out.printf(Locale.ROOT,
                    "{\"kernel\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"sparsity\":%s,\"threads\":%d,\"gflops\":%.3f,\"ms\":%.5f}%n",
                    r.kernel(), r.m(), r.n(), r.k(), trim(r.sparsity()), r.threads(), r.gflops(), r.ms());
        } else {
            out.printf(Locale.ROOT, "%-12s %6d %6d %6d %8s %7d %10.2f %10.4f%n",
                    r.kernel(), r.m(), r.n(), r.k(), trim(r.sparsity()), r.threads(), r.gflops(), r.ms());
        }
        out.flush();
    }

    private static String trim(double v) {
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.2f", v);
    }

    /**
     * Warm-up then median of individually timed calls. The warm-up runs in rounds of {@code warmNs} until
     * the fastest call of two rounds in a row is no longer clearly faster than before (C2 has finished
     * compiling — and recompiling after a deoptimization a new shape can cause; on a busy machine that takes
     * seconds), at most about 12 rounds' worth of time.
     */
    record Timer(long warmNs, long measureNs, long slowNs, int maxReps) {
        double time(Runnable call) {
            long first = timed(call);
            if (first >= slowNs) {
                // One call is long enough to time by itself. The first may include compilation (or run
                // deoptimized code), so trust it only when a second and third call agree with it.
                long second = timed(call), third = timed(call);
                long lo = Math.min(second, third), hi = Math.max(second, third);
                if (lo >= slowNs / 2 && hi <= 1.2 * lo) {
                    return lo / 1e6;
                }
            }
            long best = Long.MAX_VALUE;
            int flat = 0;
            long warmStart = System.nanoTime();
            long maxWarm = Math.max(12 * warmNs, 3_000_000_000L);
            // Stop after two rounds in a row without a 5% gain during which the JIT compiled nothing, or
            // after maxWarm. On a busy machine C2 can take seconds; until it is done Vector API code runs
            // a hundred times slower, so a merely flat time is not enough.
            for (int round = 0; round < 200 && System.nanoTime() - warmStart < maxWarm; round++) {
                long roundBest = Long.MAX_VALUE;
                long compiling = compileMillis();
                long start = System.nanoTime();
                for (int i = 0; i < 3 || System.nanoTime() - start < warmNs; i++) {
                    roundBest = Math.min(roundBest, timed(call));
                }
                boolean improved = roundBest < 0.95 * best || compileMillis() != compiling;
                best = Math.min(best, roundBest);
                flat = improved ? 0 : flat + 1;
                if (flat >= 2) {
                    break;
                }
            }
            long[] times = new long[maxReps];
            int reps = 0;
            long start = System.nanoTime();
            while (reps < maxReps && (reps < 3 || System.nanoTime() - start < measureNs)) {
                times[reps++] = timed(call);
            }
            long[] sorted = Arrays.copyOf(times, reps);
            Arrays.sort(sorted);
            double median = reps % 2 == 1 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2.0;
            return median / 1e6;
        }

        private static long compileMillis() {
            var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
            return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
        }

        private static long timed(Runnable call) {
            long s = System.nanoTime();
            call.run();
            return System.nanoTime() - s;
        }
    }

    /** Random inputs of one shape and the weight formats built from them (built lazily, one at a time). */
    static final class Case {
        final int m, n, k;
        final Activation act;
        final float[] w;
        final MemorySegment a, c;
        private PackedWeights last;
        private String lastKey;

        Case(int m, int n, int k, Activation act) {
            this.act = act;
            this.m = m;
            this.n = n;
            this.k = k;
            SplittableRandom r = new SplittableRandom(42L * m + 31L * n + k);
            w = new float[n * k];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextDouble() - 0.5);
            }
            a = Panels.allocate((long) m * k * 4);
            for (long i = 0; i < (long) m * k; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
            }
            c = Panels.allocate((long) m * n * 4);
        }

        void run(PackedWeights weights, Int8Mode mode, int threads) {
            Kernels.linear(a, m, weights, null, act, c, mode, threads);
        }

        private PackedWeights cached(String key, Supplier<PackedWeights> make) {
            if (!key.equals(lastKey)) {
                last = null; // let the previous format go before building the next
                last = make.get();
                lastKey = key;
            }
            return last;
        }

        PackedWeights fp32() {
            return cached("fp32", () -> Fp32Panels.pack(w, n, k));
        }

        PackedWeights fp16() {
            return cached("fp16", () -> Fp16Panels.pack(w, n, k));
        }

        /** Per-channel symmetric int8, {@code scale = max|w| / 127}. */
        PackedWeights int8() {
            return cached("int8", () -> {
                byte[] q = new byte[w.length];
                float[] scale = new float[n];
                for (int r = 0; r < n; r++) {
                    float max = 0f;
                    for (int i = r * k; i < (r + 1) * k; i++) {
                        max = Math.max(max, Math.abs(w[i]));
                    }
                    scale[r] = max / 127f;
                    float inv = max == 0f ? 0f : 127f / max;
                    for (int i = r * k; i < (r + 1) * k; i++) {
                        q[i] = (byte) Math.max(-127, Math.min(127, Math.round(w[i] * inv)));
                    }
                }
                return Int8Panels.pack(q, scale, n, k);
            });
        }

        /** fp32 CSR with a random fraction {@code sparsity} of the weights set to zero. */
        PackedWeights csr(double sparsity) {
            return cached("csr" + sparsity, () -> {
                SplittableRandom r = new SplittableRandom(7);
                float[] s = w.clone();
                for (int i = 0; i < s.length; i++) {
                    if (r.nextDouble() < sparsity) {
                        s[i] = 0f;
                    }
                }
                return CsrMatrix.fromDense(s, n, k, CsrMatrix.ValueType.FP32);
            });
        }

        /** Row-major dense {@code W} for OpenBLAS. */
        MemorySegment dense() {
            MemorySegment d = Panels.allocate((long) w.length * 4);
            MemorySegment.copy(w, 0, d, ValueLayout.JAVA_FLOAT, 0, w.length);
            return d;
        }
    }
}
