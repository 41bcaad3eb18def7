package dev.compresso.prune;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * How a pruned layer is stored and run. {@link #PROBE} times every candidate format on the layer's own
 * weights and keeps the fastest; the others force one format (for tests and experiments).
 */
public enum Layout {
    /**
     * Time dense, CSR, 16x1 BSR, (fp32 values) 4x1 BSR and (2:4 weights) the 2:4 layout on the layer's weights
     * (best of interleaved runs); keep the fastest, or the smallest of those within {@value #TIE} of it.
     */
    PROBE,
    /** Dense panels. */
    DENSE,
    /** Compressed sparse rows. */
    CSR,
    /** 4x1 block-sparse rows (fp32 values only). */
    BSR,
    /** 16x1 block-sparse rows with 16-bit block columns (fp32, fp16 or int8 values; at most 65,536 inputs). */
    BSR16,
    /** 2:4 semi-structured: two values and their 2-bit positions per group of four along K (2:4 weights only). */
    NM24;

    /**
     * @param s {@code probe}, {@code dense}, {@code csr}, {@code bsr}, {@code bsr16} or {@code 2:4}
     * @return the layout
     * @throws IllegalArgumentException for anything else
     */
    public static Layout parse(String s) {
        return switch (s) {
            case "probe" -> PROBE;
            case "dense" -> DENSE;
            case "csr" -> CSR;
            case "bsr" -> BSR;
            case "bsr16" -> BSR16;
            case "2:4", "nm24" -> NM24;
            default -> throw new IllegalArgumentException("unknown layout '" + s + "': use probe, dense, csr, bsr, bsr16 or 2:4");
        };
    }

    /** Relative time difference the probe treats as a tie (then the smaller format is kept). */
    static final double TIE = 0.03;

    /** Element type of the stored values. */
    public enum Values {
        FP32, FP16, INT8;

        /**
         * @param s {@code fp32}, {@code fp16} or {@code int8}
         * @return the value type
         * @throws IllegalArgumentException for anything else
         */
        public static Values parse(String s) {
            return switch (s) {
                case "fp32" -> FP32;
                case "fp16" -> FP16;
                case "int8" -> INT8;
                default -> throw new IllegalArgumentException("unknown value type '" + s + "': use fp32, fp16 or int8");
            };
        }
    }

    /**
     * The chosen weights and, when probed, what each candidate took.
     *
     * @param weights the packed weights
     * @param probe   {@code "dense 0.41 ms, csr 0.30 ms, bsr 0.22 ms"}, or empty when the layout was forced
     */
    public record Choice(PackedWeights weights, String probe) {}

    /**
     * Packs pruned dense weights in this layout (for {@link #PROBE}: in the fastest measured format).
     *
     * @param w       row-major {@code W[n][k]} with pruned weights exactly zero
     * @param n       output features
     * @param k       input features
     * @param values  stored element type
     * @param act     the layer's fused activation (timed with it)
     * @param rows    rows of activations the probe multiplies (a representative batch x sequence)
     * @param threads kernel threads of the probe
     * @return the weights and the probe's timings
     * @throws IllegalArgumentException for BSR with non-fp32 values
     */
    public Choice pack(float[] w, int n, int k, Values values, Activation act, int rows, int threads) {
        if (this != PROBE) {
            return new Choice(packAs(this, w, n, k, values), "");
        }
        List<Layout> cands = candidates(w, n, k, values);
        PackedWeights[] packed = new PackedWeights[cands.size()];
        for (int i = 0; i < packed.length; i++) {
            packed[i] = packAs(cands.get(i), w, n, k, values);
        }
        double[] ms = time(packed, act, Math.max(1, rows), Math.max(1, threads));
        int fastest = 0;
        for (int i = 1; i < packed.length; i++) {
            if (ms[i] < ms[fastest]) {
                fastest = i;
            }
        }
        // Within the probe's noise margin of the fastest, the smallest format wins: a measured tie is no reason
        // to store more bytes.
        int best = fastest;
        for (int i = 0; i < packed.length; i++) {
            if (ms[i] <= ms[fastest] * (1 + TIE) && packed[i].byteSize() < packed[best].byteSize()) {
                best = i;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < packed.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(cands.get(i).name().toLowerCase(Locale.ROOT))
                    .append(String.format(Locale.ROOT, " %.3f ms", ms[i]));
        }
        return new Choice(packed[best], sb.toString());
    }

    /** The formats that can hold these weights exactly, in the probe's order. */
    static List<Layout> candidates(float[] w, int n, int k, Values values) {
        List<Layout> c = new ArrayList<>(List.of(DENSE, CSR));
        if (values == Values.FP32) {
            c.add(BSR);
        }
        if (k <= Bsr16Matrix.MAX_IN_FEATURES) {
            c.add(BSR16);
        }
        if (k >= 4 && Pattern.isNm(w, n, k, 2, 4)) {
            c.add(NM24);
        }
        return c;
    }

    /**
     * Runs every candidate kernel (with and without GELU) for a while on a synthetic half-sparse layer, so the
     * first probed layers are not timed in the interpreter or before C2 has compiled the kernels.
     */
    static void warmUp(Values values, int rows, int threads) {
        int n = 384, k = 384;
        float[] w = new float[n * k];
        Random r = new Random(7);
        for (int i = 0; i < w.length; i++) {
            // two non-zeros in every group of four: every candidate format, 2:4 included, can hold it
            w[i] = (i & 3) < 2 ? (float) r.nextGaussian() : 0f;
        }
        List<PackedWeights> ws = new ArrayList<>();
        for (Layout l : candidates(w, n, k, values)) {
            ws.add(packAs(l, w, n, k, values));
        }
        long end = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < end) {
            time(ws.toArray(PackedWeights[]::new), Activation.NONE, Math.max(1, rows), Math.max(1, threads));
            time(ws.toArray(PackedWeights[]::new), Activation.GELU, Math.max(1, rows), Math.max(1, threads));
        }
    }

    /**
     * Best time of each candidate over interleaved runs: drift on a shared machine hits all candidates alike,
     * and other processes only ever add time, so the minimum is the least noisy estimate.
     */
    static double[] time(PackedWeights[] ws, Activation act, int m, int threads) {
        int k = ws[0].inFeatures(), n = ws[0].outFeatures();
        MemorySegment a = Panels.allocate((long) m * k * 4 + 4);
        MemorySegment c = Panels.allocate((long) m * n * 4 + 4);
        Random r = new Random(1);
        for (long i = 0; i < (long) m * k; i++) {
            a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
        }
        // Enough repetitions for a stable median, bounded for big layers (about 2·m·n·k flops each).
        double flops = 2.0 * m * n * k;
        int reps = (int) Math.max(5, Math.min(15, 2e9 / Math.max(1, flops)));
        for (PackedWeights w : ws) {
            for (int i = 0; i < 3; i++) {
                Kernels.linear(a, m, w, null, act, c, Int8Mode.AUTO, threads);
            }
        }
        double[][] t = new double[ws.length][reps];
        for (int rep = 0; rep < reps; rep++) {
            for (int i = 0; i < ws.length; i++) {
                long t0 = System.nanoTime();
                Kernels.linear(a, m, ws[i], null, act, c, Int8Mode.AUTO, threads);
                t[i][rep] = (System.nanoTime() - t0) / 1e6;
            }
        }
        double[] best = new double[ws.length];
        for (int i = 0; i < ws.length; i++) {
            Arrays.sort(t[i]);
            best[i] = t[i][0];
        }
        return best;
    }

    static PackedWeights packAs(Layout l, float[] w, int n, int k, Values values) {
        return switch (l) {
            case DENSE -> switch (values) {
                case FP32 -> Fp32Panels.pack(w, n, k);
                case FP16 -> Fp16Panels.pack(w, n, k);
                case INT8 -> int8Panels(w, n, k);
            };
            case CSR -> CsrMatrix.fromDense(w, n, k, valueType(values));
            case BSR -> {
                if (values != Values.FP32) {
                    throw new IllegalArgumentException("the bsr layout stores fp32 values only, not " + values);
                }
                yield BsrMatrix.fromDense(w, n, k);
            }
            case BSR16 -> Bsr16Matrix.fromDense(w, n, k, valueType(values));
            case NM24 -> {
                if (k < 4 || !Pattern.isNm(w, n, k, 2, 4)) {
                    throw new IllegalArgumentException("the 2:4 layout holds 2:4 weights only (at most two non-zeros in "
                            + "every four along K); prune with --method 2:4 first");
                }
                yield Nm24Matrix.fromDense(w, n, k, valueType(values));
            }
            case PROBE -> throw new IllegalArgumentException("probe is not a format");
        };
    }

    private static CsrMatrix.ValueType valueType(Values values) {
        return switch (values) {
            case FP32 -> CsrMatrix.ValueType.FP32;
            case FP16 -> CsrMatrix.ValueType.FP16;
            case INT8 -> CsrMatrix.ValueType.INT8;
        };
    }

    /** Symmetric per-output-channel int8, the same rounding as int8 CSR. */
    static Int8Panels int8Panels(float[] w, int n, int k) {
        byte[] q = new byte[w.length];
        float[] s = new float[n];
        for (int r = 0; r < n; r++) {
            float max = 0f;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, Math.abs(w[r * k + c]));
            }
            float scale = max == 0f ? 1f : max / 127f;
            s[r] = max == 0f ? 0f : scale;
            for (int c = 0; c < k; c++) {
                q[r * k + c] = (byte) Math.max(-127, Math.min(127, Math.round(w[r * k + c] / scale)));
            }
        }
        return Int8Panels.pack(q, s, n, k);
    }
}
