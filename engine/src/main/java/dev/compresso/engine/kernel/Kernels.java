package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Panels;
import dev.compresso.engine.weights.PackedWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The validating entry point of the compute kernels: checks shapes and sizes, splits the work over the
 * {@link KernelPool}, and calls the provider picked at start-up (Vector API when {@code jdk.incubator.vector}
 * is readable and compiled by C2, the scalar reference otherwise).
 *
 * <p>The system property {@code compresso.kernels} forces a provider: {@code scalar} or {@code panama}.
 */
public final class Kernels {

    private static final System.Logger LOG = System.getLogger("dev.compresso.engine.kernel");
    static final KernelProvider PROVIDER = lookup();

    private Kernels() {}

    /** Name of the active kernel provider: {@code "panama"} or {@code "scalar"}. */
    public static String provider() {
        return PROVIDER.name();
    }

    private static KernelProvider lookup() {
        String forced = System.getProperty("compresso.kernels", "").trim();
        if (forced.equals("scalar")) {
            return ScalarKernels.INSTANCE;
        }
        if (!forced.isEmpty() && !forced.equals("panama")) {
            throw new IllegalArgumentException("compresso.kernels must be 'scalar' or 'panama', not '" + forced + "'");
        }
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (!vectorModule) {
            if (forced.equals("panama")) {
                throw new IllegalStateException("compresso.kernels=panama needs --add-modules jdk.incubator.vector");
            }
            LOG.log(System.Logger.Level.WARNING,
                    "jdk.incubator.vector is not available: Compresso runs its scalar kernels, many times slower. "
                            + "Start the JVM with --add-modules jdk.incubator.vector.");
            return ScalarKernels.INSTANCE;
        }
        try {
            Class<?> c = Class.forName("dev.compresso.engine.kernel.PanamaKernels");
            return (KernelProvider) c.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            if (forced.equals("panama")) {
                throw new IllegalStateException("Vector API kernels failed to load", e);
            }
            LOG.log(System.Logger.Level.WARNING, "Vector API kernels failed to load, using scalar kernels: " + e);
            return ScalarKernels.INSTANCE;
        }
    }

    /**
     * {@code C = act(A · Wᵀ + bias)} on all cores. Same as {@link #linear(MemorySegment, int, PackedWeights,
     * MemorySegment, Activation, MemorySegment, Int8Mode, int)} with {@link Int8Mode#AUTO}.
     */
    public static void linear(MemorySegment a, int m, PackedWeights w, MemorySegment bias, Activation act,
            MemorySegment c) {
        linear(a, m, w, bias, act, c, Int8Mode.AUTO, KernelPool.cores());
    }

    /**
     * {@code C = act(A · Wᵀ + bias)}.
     *
     * @param a       (input) row-major {@code [m, K]} fp32
     * @param m       rows of {@code A} and {@code C}; 0 is allowed
     * @param w       (input) packed weights {@code [N, K]}
     * @param bias    (optional) {@code N} fp32, or {@code null}
     * @param act     epilogue activation
     * @param c       (output) row-major {@code [m, N]} fp32
     * @param mode    activation mode for int8 weights (ignored otherwise)
     * @param threads maximum worker threads, at least 1
     * @throws IllegalArgumentException naming both shapes when a segment is too small or a size is negative
     */
    public static void linear(MemorySegment a, int m, PackedWeights w, MemorySegment bias, Activation act,
            MemorySegment c, Int8Mode mode, int threads) {
        int n = w.outFeatures(), k = w.inFeatures();
        checkArgs(a, m, n, k, bias, c, threads);
        if (m == 0 || n == 0) {
            return;
        }
        KernelProvider p = PROVIDER;
        switch (w) {
            case Fp32Panels f -> split(m, n, k, true, threads, (m0, m1, n0, n1) -> p.fp32(a, f, bias, act, c, m0, m1, n0, n1));
            case Fp16Panels f -> split(m, n, k, true, threads, (m0, m1, n0, n1) -> p.fp16(a, f, bias, act, c, m0, m1, n0, n1));
            case Int8Panels q -> {
                if (resolve(mode, m, n, k) == Int8Mode.W8A32) {
                    split(m, n, k, true, threads, (m0, m1, n0, n1) -> p.int8W8A32(a, q, bias, act, c, m0, m1, n0, n1));
                } else {
                    MemorySegment aq = Panels.allocate((long) m * k);
                    MemorySegment as = Panels.allocate((long) m * 4);
                    p.quantizeRows(a, k, aq, as, 0, m);
                    split(m, n, k, true, threads, (m0, m1, n0, n1) -> p.int8W8A8(aq, as, q, bias, act, c, m0, m1, n0, n1));
                }
            }
            case CsrMatrix s -> splitSparse(m, n, 1, j -> s.rowStart(j) + (long) j, threads,
                    (m0, m1, n0, n1) -> p.csr(a, s, bias, act, c, m0, m1, n0, n1));
            case BsrMatrix s -> splitSparse(m, n, BsrMatrix.BLOCK_ROWS,
                    b -> ((long) s.blockStart(b) + b) * BsrMatrix.BLOCK_ROWS, threads,
                    (m0, m1, n0, n1) -> p.bsr(a, s, bias, act, c, m0, m1, n0, n1));
            case Bsr16Matrix s -> splitSparse(m, n, Bsr16Matrix.BLOCK_ROWS,
                    b -> ((long) s.blockStart(b) + b) * Bsr16Matrix.BLOCK_ROWS, threads,
                    (m0, m1, n0, n1) -> p.bsr16(a, s, bias, act, c, m0, m1, n0, n1));
            // Every panel costs the same: split by panels of 16 channels.
            case Nm24Matrix s -> splitSparse(m, n, Nm24Matrix.PANEL,
                    u -> (long) u * Nm24Matrix.PANEL * 2 * Nm24Matrix.groups(k), threads,
                    (m0, m1, n0, n1) -> p.nm24(a, s, bias, act, c, m0, m1, n0, n1));
        }
    }

    /**
     * {@code C = act(A · Wᵀ + bias)} for int8 weights with a static (calibrated) activation scale: each
     * activation is quantized as {@code clamp(round(a / actScale), -127, 127)} (computed as
     * {@code a · (1 / actScale)}), then the W8A8 kernel accumulates exactly in int32 and scales by
     * {@code actScale · wScale[col]}.
     *
     * @param a        (input) row-major {@code [m, K]} fp32
     * @param m        rows of {@code A} and {@code C}; 0 is allowed
     * @param w        (input) int8 weights {@code [N, K]}
     * @param actScale activation scale, positive and finite
     * @param bias     (optional) {@code N} fp32, or {@code null}
     * @param act      epilogue activation
     * @param c        (output) row-major {@code [m, N]} fp32
     * @param threads  maximum worker threads, at least 1
     * @throws IllegalArgumentException naming both shapes when a segment is too small or a size is negative,
     *                                  or when {@code actScale} is not positive and finite
     */
    public static void linearInt8Static(MemorySegment a, int m, Int8Panels w, float actScale, MemorySegment bias,
            Activation act, MemorySegment c, int threads) {
        checkStatic(a, m, w, actScale, bias, c, threads);
        staticW8a8(a, m, w, actScale, null, bias, act, c, threads);
    }

    private static void checkStatic(MemorySegment a, int m, Int8Panels w, float actScale, MemorySegment bias,
            MemorySegment c, int threads) {
        int n = w.outFeatures(), k = w.inFeatures();
        checkArgs(a, m, n, k, bias, c, threads);
        if (!(actScale > 0f) || Float.isInfinite(actScale)) {
            throw new IllegalArgumentException("activation scale must be positive and finite, got " + actScale
                    + " for weights [" + n + ", " + k + "]");
        }
    }

    /**
     * Static W8A8 with one activation scale per input channel: channel {@code j} of {@code A} is quantized with
     * scale {@code actScale · factors[j]} ({@code q = clamp(round(a · inv[j]), ±127)}, {@code inv} from
     * {@link #channelInverse}), and {@code w} must hold the weights with column {@code j} multiplied by
     * {@code factors[j]} (SmoothQuant's migration, folded into the weights), so that {@code C = A·Wᵀ}: the
     * integer sums are scaled by {@code actScale} and the weight's per-channel scales as in
     * {@link #linearInt8Static(MemorySegment, int, Int8Panels, float, MemorySegment, Activation, MemorySegment, int)}.
     *
     * @param inv inverse per-channel activation scales ({@code K} values, positive and finite)
     * @throws IllegalArgumentException as the per-tensor form, or when {@code inv} has the wrong length or a
     *                                  non-positive or non-finite value
     */
    public static void linearInt8Static(MemorySegment a, int m, Int8Panels w, float actScale, float[] inv,
            MemorySegment bias, Activation act, MemorySegment c, int threads) {
        checkStatic(a, m, w, actScale, bias, c, threads);
        int n = w.outFeatures(), k = w.inFeatures();
        if (inv.length != k) {
            throw new IllegalArgumentException(inv.length + " channel scales for weights [" + n + ", " + k + "]");
        }
        for (int j = 0; j < k; j++) {
            if (!(inv[j] > 0f) || Float.isInfinite(inv[j])) {
                throw new IllegalArgumentException("inverse channel scale " + j + " is " + inv[j] + " for weights ["
                        + n + ", " + k + "]");
            }
        }
        staticW8a8(a, m, w, actScale, inv, bias, act, c, threads);
    }

    /** Quantizes {@code A} with the static scale (per tensor, or per channel with {@code inv}), then W8A8. */
    private static void staticW8a8(MemorySegment a, int m, Int8Panels w, float actScale, float[] inv,
            MemorySegment bias, Activation act, MemorySegment c, int threads) {
        int n = w.outFeatures(), k = w.inFeatures();
        if (m == 0 || n == 0) {
            return;
        }
        KernelProvider p = PROVIDER;
        MemorySegment aq = Panels.allocate((long) m * k);
        MemorySegment as = Panels.allocate((long) m * 4);
        for (int i = 0; i < m; i++) {
            as.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, actScale);
        }
        if (inv == null) {
            p.quantizeRowsStatic(a, k, actScale, aq, 0, m);
        } else {
            p.quantizeRowsStaticChannels(a, k, inv, aq, 0, m);
        }
        split(m, n, k, true, threads, (m0, m1, n0, n1) -> p.int8W8A8(aq, as, w, bias, act, c, m0, m1, n0, n1));
    }

    /**
     * The inverse per-channel activation scales of static W8A8 with channel factors: {@code 1f / (actScale ·
     * factors[j])} in float, the one definition the runtime and quantization-aware training share.
     */
    public static float[] channelInverse(float actScale, float[] factors) {
        float[] inv = new float[factors.length];
        for (int j = 0; j < factors.length; j++) {
            inv[j] = 1f / (actScale * factors[j]);
        }
        return inv;
    }

    /**
     * The int8 mode {@link Int8Mode#AUTO} resolves to for a shape: always {@link Int8Mode#W8A32}, as measured.
     * Without an int8 dot-product instruction in the Vector API, W8A8 spends five integer operations per 32
     * products where W8A32 spends two FMAs and amortizes the weight widening over the rows (or, for one row,
     * streams the same 1-byte weights); on AVX-512 (Xeon, JDK 25, one thread) W8A32 was faster at every shape
     * measured: 1x384x384 6.2 vs 11.3 us, 1x1536x384 24 vs 38 us, 128x384x384 293 vs 594 us, 128x1536x384 1.27
     * vs 2.27 ms, 1024^3 16.5 vs 32 ms, 1x4096x4096 0.78 vs 1.45 ms. W8A8 remains available explicitly (and
     * backs {@link #linearInt8Static}).
     *
     * @param mode requested mode; anything but {@code AUTO} is returned unchanged
     * @param m    rows of the activations
     * @param n    output channels
     * @param k    input features
     * @return the mode the kernels will run
     */
    public static Int8Mode resolve(Int8Mode mode, int m, int n, int k) {
        if (mode != Int8Mode.AUTO) {
            return mode;
        }
        return Int8Mode.W8A32;
    }

    static void checkArgs(MemorySegment a, int m, int n, int k, MemorySegment bias, MemorySegment c, int threads) {
        if (m < 0) {
            throw new IllegalArgumentException("negative row count m=" + m);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (a.byteSize() < (long) m * k * 4) {
            throw new IllegalArgumentException("activations [" + m + ", " + k + "] need " + (long) m * k * 4
                    + " bytes, segment has " + a.byteSize() + "; weights are [" + n + ", " + k + "]");
        }
        if (c.byteSize() < (long) m * n * 4) {
            throw new IllegalArgumentException("output [" + m + ", " + n + "] needs " + (long) m * n * 4
                    + " bytes, segment has " + c.byteSize() + "; weights are [" + n + ", " + k + "]");
        }
        if (bias != null && bias.byteSize() < (long) n * 4) {
            throw new IllegalArgumentException("bias [" + bias.byteSize() / 4 + "] does not fit weights [" + n + ", " + k + "]");
        }
    }

    /** A block of the output: rows {@code [m0, m1)}, channels {@code [n0, n1)}. */
    @FunctionalInterface
    interface Block {
        void run(int m0, int m1, int n0, int n1);
    }

    /**
     * Below this many multiply-adds a call runs on the calling thread: waking a worker costs tens of
     * microseconds on a busy machine, as much as a 1×1536×384 GEMV takes (about 50 µs on one core; measured
     * 0.050 ms on one thread against 0.064 ms on two).
     */
    static final long PARALLEL_MIN_WORK = 1L << 20;

    /**
     * Rows per dynamically claimed block when a call is split over rows: a multiple of every register-tile
     * height (4, 6, 8, 12, 16) and of the fp32 row block, small enough that 1024 rows make 11 blocks.
     */
    static final int ROW_CHUNK = 96;
    /**
     * Benchmark switch {@code -Dcompresso.split.rows=false}: no dynamic row blocks (static channel ranges
     * instead). At 1024³ on 2 threads both measured 0.69–0.76× OpenBLAS on a loaded machine: no winner yet.
     */
    private static final boolean ROW_BLOCKS = !"false".equals(System.getProperty("compresso.split.rows"));
    /**
     * Channel ranges per thread in the channel split (benchmark switch {@code compresso.split.channelTasks}).
     * 1 measured best: MiniLM batch 1 x 128 on 2 threads, median 11.3–11.9 ms against 11.9–12.2 (2) and 13.0–13.3
     * (3), as each extra range packs A again.
     */
    private static final int CHANNEL_TASKS = Math.max(1, Integer.getInteger("compresso.split.channelTasks", 1));
    /** Fewest rows for the row-block split (benchmark switch {@code compresso.split.rowMin}). */
    private static final int ROW_SPLIT_MIN = Integer.getInteger("compresso.split.rowMin", 4 * ROW_CHUNK);

    /**
     * Splits {@code [0, m) × [0, n)} over at most {@code threads} threads.
     *
     * <ul>
     *   <li>Many rows ({@code m ≥ 4 · ROW_CHUNK}): blocks of {@link #ROW_CHUNK} rows × all channels, claimed
     *       one at a time from a shared counter. Each thread packs only its own rows of A, the weights are
     *       shared through the last-level cache, and a thread that the OS delays simply claims fewer blocks
     *       (a static halving makes every call wait for the slower half).
     *   <li>Otherwise, enough channels: one contiguous range of channels (whole panels when {@code panels})
     *       per thread. GEMV and small-M GEMM are bound by weight traffic, so each thread streams a disjoint
     *       slice of the weights; every thread reads all of A, which is small in those cases.
     *   <li>Otherwise (few channels): one contiguous range of rows per thread.
     * </ul>
     */
    static void split(int m, int n, int k, boolean panels, int threads, Block body) {
        int unit = panels ? Panels.NR : 1;
        int units = (n + unit - 1) / unit;
        int t = Math.min(threads, KernelPool.cores());
        if (t <= 1 || (long) m * n * Math.max(k, 1) < PARALLEL_MIN_WORK) {
            body.run(0, m, 0, n);
        } else if (ROW_BLOCKS && m >= ROW_SPLIT_MIN) {
            // About ROW_CHUNK rows a block, but a block count that is a multiple of the threads, so the last
            // round does not leave a thread idle (1024 rows: 12 blocks of 88, not 11 of 96 split 6 : 5).
            int rounds = (m + t * ROW_CHUNK - 1) / (t * ROW_CHUNK);
            int rowsPer = ((m + t * rounds - 1) / (t * rounds) + 7) / 8 * 8;
            int chunks = (m + rowsPer - 1) / rowsPer;
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            KernelPool.run(t, id -> {
                for (int ch; (ch = next.getAndIncrement()) < chunks; ) {
                    body.run(ch * rowsPer, Math.min(m, (ch + 1) * rowsPer), 0, n);
                }
            });
        } else if (units >= t) {
            // Channel ranges, CHANNEL_TASKS per thread, claimed dynamically: a thread that starts late or runs
            // slower takes fewer (each range packs A again, so not too many).
            final int tt = Math.min(units, t * CHANNEL_TASKS);
            KernelPool.run(tt, id -> {
                int u0 = (int) ((long) units * id / tt), u1 = (int) ((long) units * (id + 1) / tt);
                body.run(0, m, Math.min(n, u0 * unit), Math.min(n, u1 * unit));
            });
        } else {
            final int tt = Math.min(t, m);
            KernelPool.run(tt, id -> body.run((int) ((long) m * id / tt), (int) ((long) m * (id + 1) / tt), 0, n));
        }
    }

    /**
     * Splits the work of a sparse kernel: over output channels in ranges of about equal cost (not equal
     * counts, since non-zeros per channel vary), or over rows when there are fewer channels than threads.
     *
     * @param unit channels per indivisible unit (a block row); range starts are multiples of it
     * @param cost {@code cost.applyAsLong(u)} is the cost of units {@code [0, u)}, non-decreasing in {@code u}
     *             (e.g. non-zeros before unit {@code u} plus {@code u})
     */
    static void splitSparse(int m, int n, int unit, java.util.function.IntToLongFunction cost, int threads,
            Block body) {
        int units = (n + unit - 1) / unit;
        long total = cost.applyAsLong(units);
        int t = Math.min(threads, KernelPool.cores());
        // Below ~64k multiply-adds the fork/join costs more than it saves.
        if (t <= 1 || total * m < 65536) {
            body.run(0, m, 0, n);
        } else if (units >= t) {
            int[] bounds = new int[t + 1];
            bounds[t] = units;
            for (int i = 1; i < t; i++) {
                long target = total * i / t;
                int lo = bounds[i - 1], hi = units; // first u with cost(u) >= target
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (cost.applyAsLong(mid) < target) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                bounds[i] = lo;
            }
            KernelPool.run(t, id -> body.run(0, m, Math.min(n, bounds[id] * unit), Math.min(n, bounds[id + 1] * unit)));
        } else {
            final int tt = Math.min(t, m);
            KernelPool.run(tt, id -> body.run((int) ((long) m * id / tt), (int) ((long) m * (id + 1) / tt), 0, n));
        }
    }

    /**
     * Softmax of {@code x[0..n)} in place, {@code exp(x - max) / sum}, after adding {@code add[0..n)} (an attention
     * mask row) when {@code add} is not {@code null}. Vector lanes with the Panama provider.
     *
     * @throws IllegalArgumentException if {@code n} is negative or larger than an array
     */
    public static void softmax(float[] x, float[] add, int n) {
        if (n < 0 || n > x.length || (add != null && n > add.length)) {
            throw new IllegalArgumentException("softmax of " + n + " elements over arrays of " + x.length
                    + (add == null ? "" : " and " + add.length));
        }
        PROVIDER.softmax(x, add, n);
    }

    /**
     * One attention head, {@code O = softmax(Q · Kᵀ + add) · V}, with {@code s} queries and keys of width
     * {@code d} (see {@link KernelProvider#attentionHead} for the layouts): K and {@code Vᵀ} in panel layout
     * ({@link Panels#index}; fold the softmax scale into K), Q and O as rows at a stride, the mask as one row
     * per query at {@code addStride} (0: one row for all) or {@code null}.
     *
     * @throws IllegalArgumentException naming the sizes when an array is too small for the shapes or strides
     */
    public static void attentionHead(float[] q, int qOff, int qStride, float[] k, int kOff, float[] v, int vOff,
            int s, int d, float[] add, int addStride, float[] out, int oOff, int oStride) {
        if (s < 0 || d < 0 || qOff < 0 || kOff < 0 || vOff < 0 || oOff < 0 || addStride < 0 || qStride < d
                || oStride < d) {
            throw new IllegalArgumentException("attention head of " + s + " x " + d + ": offsets " + qOff + ", " + kOff
                    + ", " + vOff + ", " + oOff + ", strides q " + qStride + ", o " + oStride + ", mask " + addStride);
        }
        if (s > 0 && (q.length < qOff + (long) (s - 1) * qStride + d || out.length < oOff + (long) (s - 1) * oStride + d
                || k.length < kOff + Panels.elementCount(s, d) || v.length < vOff + Panels.elementCount(d, s)
                || (add != null && add.length < (long) (s - 1) * addStride + s))) {
            throw new IllegalArgumentException("attention head of " + s + " x " + d + " does not fit arrays q " + q.length
                    + ", k " + k.length + ", v " + v.length + ", out " + out.length
                    + (add == null ? "" : ", mask " + add.length));
        }
        PROVIDER.attentionHead(q, qOff, qStride, k, kOff, v, vOff, s, d, add, addStride, out, oOff, oStride);
    }

    /**
     * Layer normalization of {@code x[0..n)} in place, {@code (x - mean) / sqrt(var + eps) * gamma + beta}, after
     * adding {@code residual[0..n)} when it is not {@code null}. Vector lanes with the Panama provider.
     *
     * @throws IllegalArgumentException if {@code n} is not positive or larger than an array
     */
    public static void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n) {
        if (n <= 0 || n > x.length || n > gamma.length || n > beta.length || (residual != null && n > residual.length)) {
            throw new IllegalArgumentException("layer norm of " + n + " channels over arrays of " + x.length + ", "
                    + gamma.length + ", " + beta.length + (residual == null ? "" : ", " + residual.length));
        }
        PROVIDER.layerNorm(x, residual, gamma, beta, eps, n);
    }

    /** Reads element {@code i} of an fp32 segment (a convenience for callers and tests). */
    public static float getFloat(MemorySegment s, long i) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
    }
}
