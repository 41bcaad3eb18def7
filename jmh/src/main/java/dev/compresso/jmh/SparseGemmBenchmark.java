package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Sparse × dense ({@link CsrMatrix}, {@link BsrMatrix}) against the dense fp32 kernel ({@link Fp32Panels}) of
 * the same shape, all through {@link Kernels#linear}. Shapes are {@code MxNxK}: {@code C[M,N] = A[M,K] · Wᵀ}.
 *
 * <p>{@code pattern=random} drops single weights (unstructured: the fair case for CSR); {@code pattern=block}
 * drops whole {@value BsrMatrix#BLOCK_ROWS}×1 blocks (structured, as block pruning produces: the fair case for
 * BSR). Compare {@code sparse} with {@code dense} of the same shape and thread count in one run.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class SparseGemmBenchmark {

    /** Inputs shared by both states. */
    abstract static class Shape {
        int m, n, k, threads;
        MemorySegment a, c, bias;

        void init(String shape, int threadParam) {
            String[] p = shape.split("x");
            m = Integer.parseInt(p[0]);
            n = Integer.parseInt(p[1]);
            k = Integer.parseInt(p[2]);
            threads = threadParam <= 0 ? KernelPool.cores() : threadParam;
            Random r = new Random(42);
            a = Panels.allocate((long) m * k * 4);
            for (long i = 0; i < (long) m * k; i++) {
                a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, r.nextFloat() - 0.5f);
            }
            bias = Panels.allocate((long) n * 4);
            c = Panels.allocate((long) m * n * 4);
        }
    }

    /** A sparse weight matrix. */
    @State(Scope.Benchmark)
    public static class Sparse extends Shape {
        @Param({"128x1536x384", "1x4096x4096", "1x1536x384", "128x384x384"})
        public String shape;

        @Param({"0.5", "0.7", "0.8", "0.9", "0.95"})
        public double sparsity;

        /** Worker threads; 0 means all cores. */
        @Param({"1", "0"})
        public int threadCount;

        @Param({"csr", "bsr"})
        public String format;

        @Param({"random", "block"})
        public String pattern;

        PackedWeights w;

        @Setup(Level.Trial)
        public void setUp() {
            init(shape, threadCount);
            float[] dense = weights(n, k, sparsity, pattern.equals("block"), new Random(7));
            w = switch (format) {
                case "csr" -> CsrMatrix.fromDense(dense, n, k, CsrMatrix.ValueType.FP32);
                case "bsr" -> BsrMatrix.fromDense(dense, n, k);
                default -> throw new IllegalArgumentException("format " + format);
            };
        }
    }

    /** The dense fp32 reference of the same shape. */
    @State(Scope.Benchmark)
    public static class Dense extends Shape {
        @Param({"128x1536x384", "1x4096x4096", "1x1536x384", "128x384x384"})
        public String shape;

        /** Worker threads; 0 means all cores. */
        @Param({"1", "0"})
        public int threadCount;

        Fp32Panels w;

        @Setup(Level.Trial)
        public void setUp() {
            init(shape, threadCount);
            w = Fp32Panels.pack(weights(n, k, 0, false, new Random(7)), n, k);
        }
    }

    /**
     * Random weights with the given fraction of zeros: single elements when {@code !blocks}, else whole
     * {@link BsrMatrix#BLOCK_ROWS}×1 blocks (rows {@code 4b..4b+3} of one column).
     */
    static float[] weights(int n, int k, double sparsity, boolean blocks, Random r) {
        float[] w = new float[n * k];
        int br = blocks ? BsrMatrix.BLOCK_ROWS : 1;
        for (int b = 0; b < n; b += br) {
            for (int col = 0; col < k; col++) {
                if (r.nextDouble() < sparsity) {
                    continue;
                }
                for (int j = b; j < Math.min(n, b + br); j++) {
                    float v = r.nextFloat() - 0.5f;
                    w[j * k + col] = v == 0f ? 0.5f : v;
                }
            }
        }
        return w;
    }

    @Benchmark
    public MemorySegment sparse(Sparse s) {
        Kernels.linear(s.a, s.m, s.w, s.bias, Activation.NONE, s.c, Int8Mode.AUTO, s.threads);
        return s.c;
    }

    @Benchmark
    public MemorySegment dense(Dense s) {
        Kernels.linear(s.a, s.m, s.w, s.bias, Activation.NONE, s.c, Int8Mode.AUTO, s.threads);
        return s.c;
    }
}
