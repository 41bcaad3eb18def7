package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Side-by-side ratios of the compressed-weight kernels to the fp32 kernel on a shared, noisy machine: every
 * variant of a shape runs round-robin in one JVM and the best time of each is kept, so load from other
 * processes hits all variants alike (JMH averages, run one variant after another, do not survive that).
 *
 * <p>Run: {@code java --add-modules=jdk.incubator.vector -cp "jmh/target/classes:jmh/target/lib/*"
 * dev.compresso.jmh.CompressedKernelRatios [seconds-per-shape [variants]]}, variants a comma list of
 * {@code fp32,w8a32,w8a8,fp16} (all by default; fp32 is always measured as the baseline). Variants share one JVM,
 * so kernels that share code (the fp16 and W8A32 paths share their micro-kernel) also share JIT profiles.
 */
public final class CompressedKernelRatios {
    private static final String[] SHAPES = {"1x384x384", "1x1536x384", "128x384x384", "128x1536x384", "1024x1024x1024",
        "1x4096x4096"};
    private static final String[] VARIANTS = {"fp32", "w8a32", "w8a8", "fp16"};

    private static final boolean[] enabled = new boolean[VARIANTS.length];

    private CompressedKernelRatios() {}

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 4;
        String only = args.length > 1 ? "fp32," + args[1] : String.join(",", VARIANTS);
        for (int v = 0; v < VARIANTS.length; v++) {
            enabled[v] = java.util.Arrays.asList(only.split(",")).contains(VARIANTS[v]);
        }
        System.out.println("provider=" + Kernels.provider() + " cores=" + KernelPool.cores());
        System.out.printf("%-15s %-7s %10s %10s %10s %10s   %s%n", "shape", "threads", "fp32 us", "w8a32 us", "w8a8 us",
                "fp16 us", "fp32/w8a32  fp32/w8a8  fp32/fp16");
        for (String shape : SHAPES) {
            for (int threads : new int[] {1, KernelPool.cores()}) {
                double[] best = run(shape, threads, seconds);
                System.out.printf("%-15s %-7d %10.1f %10.1f %10.1f %10.1f   %9.2f  %9.2f  %9.2f%n", shape, threads,
                        best[0], best[1], best[2], best[3], best[0] / best[1], best[0] / best[2], best[0] / best[3]);
            }
        }
    }

    private static double[] run(String shape, int threads, double seconds) {
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), n = Integer.parseInt(s[1]), k = Integer.parseInt(s[2]);
        Random r = new Random(1);
        float[] wd = new float[n * k];
        for (int i = 0; i < wd.length; i++) wd[i] = (float) r.nextGaussian() * 0.05f;
        byte[] q = new byte[n * k];
        r.nextBytes(q);
        float[] sc = new float[n];
        java.util.Arrays.fill(sc, 0.01f);
        PackedWeights[] w = {Fp32Panels.pack(wd, n, k), Int8Panels.pack(q, sc, n, k), Int8Panels.pack(q, sc, n, k),
            Fp16Panels.pack(wd, n, k)};
        Int8Mode[] modes = {Int8Mode.AUTO, Int8Mode.W8A32, Int8Mode.W8A8, Int8Mode.AUTO};
        MemorySegment a = Panels.allocate((long) m * k * 4), bias = Panels.allocate(n * 4L);
        MemorySegment c = Panels.allocate((long) m * n * 4);
        for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
        double[] best = new double[VARIANTS.length];
        java.util.Arrays.fill(best, Double.NaN);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int round = 0; round < 5 || System.nanoTime() < end; round++) {
            for (int v = 0; v < VARIANTS.length; v++) {
                if (!enabled[v]) {
                    continue;
                }
                long t0 = System.nanoTime();
                Kernels.linear(a, m, w[v], bias, Activation.NONE, c, modes[v], threads);
                double us = (System.nanoTime() - t0) / 1e3;
                best[v] = Double.isNaN(best[v]) ? us : Math.min(best[v], us);
            }
        }
        return best;
    }
}
