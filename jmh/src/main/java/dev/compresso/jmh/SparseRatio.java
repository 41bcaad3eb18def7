package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Sparse-over-dense speed ratios on a shared, noisy machine: dense fp32, CSR and BSR of one shape are run
 * interleaved in one JVM, and the minimum time per call of each is kept (the minimum is what contention
 * disturbs least; {@link SparseGemmBenchmark} gives JMH averages).
 *
 * <p>Usage: {@code SparseRatio MxNxK threads(0=all) rounds sparsity...}; prints one line per sparsity and pattern
 * ({@code random}: single zeros, {@code block}: 4x1 blocks, {@code blk16}: 16x1 blocks) with {@code dense}, {@code csr},
 * {@code bsr} (4x1), {@code bsr16} (16x1) in µs and the ratios to dense, then one
 * line for 2:4 weights (50%) with {@code dense}, {@code nm24} (fp32 values) and {@code csr} of the same weights.
 * On 16x1 blocks {@code bsr16} is timed on both paths of its kernel, forced ({@code tiles}: lanes on channels,
 * {@code rows}: rows as lanes for whole 64-row blocks) and as dispatched ({@code default}), with fp32 and int8
 * values; these print a second line with the ratios. {@code -Dratio.patterns=blk16} picks patterns;
 * {@code -Dratio.stat=median} reports the median of the rounds instead of the minimum.
 */
public final class SparseRatio {
    private SparseRatio() {}

    public static void main(String[] args) {
        String[] p = args[0].split("x");
        int m = Integer.parseInt(p[0]), n = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]);
        int threads = Integer.parseInt(args[1]) <= 0 ? KernelPool.cores() : Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Random r = new Random(42);
        MemorySegment a = Panels.allocate((long) m * k * 4), c = Panels.allocate((long) m * n * 4);
        for (long i = 0; i < (long) m * k; i++) {
            a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, r.nextFloat() - 0.5f);
        }
        MemorySegment bias = Panels.allocate((long) n * 4);
        Fp32Panels dense = Fp32Panels.pack(SparseGemmBenchmark.weights(n, k, 0, false, new Random(7)), n, k);
        List<String> patterns = List.of(System.getProperty("ratio.patterns", "random,block,blk16").split(","));
        for (int s = 3; s < args.length; s++) {
            double sparsity = Double.parseDouble(args[s]);
            for (String pattern : patterns) {
                float[] w = pattern.equals("blk16") ? weights16(n, k, sparsity, new Random(7))
                        : SparseGemmBenchmark.weights(n, k, sparsity, pattern.equals("block"), new Random(7));
                List<PackedWeights> ws = new ArrayList<>(List.of(dense,
                        CsrMatrix.fromDense(w, n, k, CsrMatrix.ValueType.FP32), BsrMatrix.fromDense(w, n, k),
                        Bsr16Matrix.fromDense(w, n, k, CsrMatrix.ValueType.FP32)));
                if (!pattern.equals("blk16")) {
                    double[] best = best(ws, a, m, bias, c, threads, rounds);
                    System.out.printf("%dx%dx%d threads=%d sparsity=%.2f %-6s dense %9.1f us  csr %9.1f us  bsr %9.1f us"
                                    + "  bsr16 %9.1f us  dense/csr %5.2f  dense/bsr %5.2f  dense/bsr16 %5.2f%n", m, n, k,
                            threads, sparsity, pattern, best[0], best[1], best[2], best[3], best[0] / best[1],
                            best[0] / best[2], best[0] / best[3]);
                    continue;
                }
                // 16x1 blocks: both paths of the kernel (channel-lane tiles, rows as lanes), fp32 and int8 values.
                Bsr16Matrix i8 = Bsr16Matrix.fromDense(w, n, k, CsrMatrix.ValueType.INT8);
                ws.add(ws.get(3));
                ws.add(ws.get(3));
                ws.add(i8);
                ws.add(i8);
                ws.add(i8);
                int[] rows = {0, 0, 0, TILES, ROWS, 0, TILES, ROWS, 0};
                double[] t = best(ws, rows, a, m, bias, c, threads, rounds);
                System.out.printf("%dx%dx%d threads=%d sparsity=%.2f %-6s dense %9.1f us  csr %9.1f us  bsr %9.1f us"
                                + "  bsr16 tiles %9.1f us  rows %9.1f us  default %9.1f us  int8 tiles %9.1f us  rows %9.1f us"
                                + "  default %9.1f us%n", m, n, k, threads, sparsity, pattern, t[0], t[1], t[2], t[3], t[4],
                        t[5], t[6], t[7], t[8]);
                System.out.printf("%dx%dx%d threads=%d sparsity=%.2f %-6s dense/csr %5.2f  dense/bsr %5.2f"
                                + "  dense/bsr16 tiles %5.2f  rows %5.2f  default %5.2f  int8 tiles %5.2f  rows %5.2f"
                                + "  default %5.2f%n", m, n, k, threads, sparsity, pattern, t[0] / t[1], t[0] / t[2],
                        t[0] / t[3], t[0] / t[4], t[0] / t[5], t[0] / t[6], t[0] / t[7], t[0] / t[8]);
            }
        }
        float[] w24 = weights24(n, k, new Random(7));
        List<PackedWeights> ws = List.of(dense, Nm24Matrix.fromDense(w24, n, k, CsrMatrix.ValueType.FP32),
                CsrMatrix.fromDense(w24, n, k, CsrMatrix.ValueType.FP32));
        double[] best = best(ws, a, m, bias, c, threads, rounds);
        System.out.printf("%dx%dx%d threads=%d sparsity=2:4  dense %9.1f us  nm24 %9.1f us  csr %9.1f us"
                        + "  dense/nm24 %5.2f  dense/csr %5.2f%n", m, n, k, threads, best[0], best[1], best[2],
                best[0] / best[1], best[0] / best[2]);
    }

    /** Random weights whose zeros come in whole 16x1 blocks (16 consecutive channels at one input). */
    static float[] weights16(int n, int k, double sparsity, Random r) {
        float[] w = new float[n * k];
        for (int b = 0; b < n; b += Bsr16Matrix.BLOCK_ROWS) {
            for (int col = 0; col < k; col++) {
                if (r.nextDouble() < sparsity) {
                    continue;
                }
                for (int j = b; j < Math.min(n, b + Bsr16Matrix.BLOCK_ROWS); j++) {
                    float v = r.nextFloat() - 0.5f;
                    w[j * k + col] = v == 0f ? 0.5f : v;
                }
            }
        }
        return w;
    }

    /** Random weights with exactly two non-zeros in every group of four consecutive inputs. */
    static float[] weights24(int n, int k, Random r) {
        float[] w = new float[n * k];
        for (int j = 0; j < n; j++) {
            for (int g = 0; g < k; g += 4) {
                int a = r.nextInt(4), b = (a + 1 + r.nextInt(3)) % 4;
                for (int pos : new int[] {a, b}) {
                    if (g + pos < k) {
                        float v = r.nextFloat() - 0.5f;
                        w[j * k + g + pos] = v == 0f ? 0.5f : v;
                    }
                }
            }
        }
        return w;
    }

    /** Row thresholds of the 16x1 kernel that force its channel-lane tiles, or its rows-as-lanes path. */
    private static final int TILES = Integer.MAX_VALUE, ROWS = 1;
    /** {@code Bsr16Vector.rowsMin}, a tuning switch read once; set around calls to compare both paths in one JVM. */
    private static final java.lang.reflect.Field BSR16_ROWS = bsr16Field("rowsMin");
    /** {@code Bsr16Vector.rowsMaxSparsity}: 1 while a variant forces the rows path. */
    private static final java.lang.reflect.Field BSR16_MAX = bsr16Field("rowsMaxSparsity");

    private static java.lang.reflect.Field bsr16Field(String name) {
        try {
            java.lang.reflect.Field f = Class.forName("dev.compresso.engine.kernel.Bsr16Vector").getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // an engine without the switch: every variant runs the default path
        }
    }

    /** The minimum time per call of each of {@code ws}, run interleaved; the first third of the rounds is warm-up. */
    static double[] best(List<PackedWeights> ws, MemorySegment a, int m, MemorySegment bias, MemorySegment c,
            int threads, int rounds) {
        return best(ws, new int[ws.size()], a, m, bias, c, threads, rounds);
    }

    /**
     * As above, with {@code bsr16Rows[v]} (when not 0) as the 16x1 kernel's row threshold during the calls of
     * {@code ws[v]}. With {@code -Dratio.stat=median}: the median over the measured rounds of each round's best of
     * three calls, instead of the minimum.
     */
    static double[] best(List<PackedWeights> ws, int[] bsr16Rows, MemorySegment a, int m, MemorySegment bias,
            MemorySegment c, int threads, int rounds) {
        int warm = rounds / 3;
        double[][] t = new double[ws.size()][rounds - warm];
        for (double[] tv : t) {
            java.util.Arrays.fill(tv, Double.MAX_VALUE);
        }
        try {
            int dflt = BSR16_ROWS == null ? 0 : BSR16_ROWS.getInt(null);
            double dfltMax = BSR16_MAX == null ? 0 : BSR16_MAX.getDouble(null);
            for (int round = 0; round < rounds; round++) {
                for (int v = 0; v < ws.size(); v++) {
                    if (BSR16_ROWS != null) {
                        BSR16_ROWS.setInt(null, bsr16Rows[v] != 0 ? bsr16Rows[v] : dflt);
                    }
                    if (BSR16_MAX != null) {
                        BSR16_MAX.setDouble(null, bsr16Rows[v] == ROWS ? 1.0 : dfltMax);
                    }
                    for (int rep = 0; rep < 3; rep++) {
                        long t0 = System.nanoTime();
                        Kernels.linear(a, m, ws.get(v), bias, Activation.NONE, c, Int8Mode.AUTO, threads);
                        double us = (System.nanoTime() - t0) / 1e3;
                        if (round >= warm) {
                            t[v][round - warm] = Math.min(t[v][round - warm], us);
                        }
                    }
                }
            }
            if (BSR16_ROWS != null) {
                BSR16_ROWS.setInt(null, dflt);
            }
            if (BSR16_MAX != null) {
                BSR16_MAX.setDouble(null, dfltMax);
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        boolean median = System.getProperty("ratio.stat", "min").equals("median");
        double[] best = new double[ws.size()];
        for (int v = 0; v < ws.size(); v++) {
            double[] tv = t[v].clone();
            java.util.Arrays.sort(tv);
            best[v] = median ? tv[tv.length / 2] : tv[0];
        }
        return best;
    }
}
