package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The training kernels: forward passes that keep what the backward pass needs, and the backward passes, each
 * beside its forward twin. Arrays are row-major fp32 on the heap; a matrix of {@code rows} rows and
 * {@code cols} columns is {@code rows · cols} floats.
 *
 * <p>The three GEMMs of a linear layer run on the forward fp32 kernel ({@link Kernels#linear}, Vector API when
 * available) over panels packed here: {@code Y = X · Wᵀ} with {@code W} packed, {@code dX = dY · W} with
 * {@code Wᵀ} packed, {@code dW = dYᵀ · X} with {@code Xᵀ} packed. Packing costs one pass over the operand; the
 * GEMM costs {@code m} (or {@code n}) times more. Element-wise kernels are plain loops that C2 vectorizes
 * (axpy shapes), split over the {@link KernelPool}. Every reduction is split the same way for a given thread
 * count, so a run is reproducible bit for bit at that count. The {@code *Reference} methods are the naive
 * definitions the tests compare with.
 */
public final class Backward {

    private Backward() {}

    // ---------------------------------------------------------------- packing

    /** Floats needed to hold {@code [n, k]} weights in the panel layout. */
    public static int panelSize(int n, int k) {
        long s = Panels.elementCount(n, k);
        if (s > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("panels of [" + n + ", " + k + "] exceed an array");
        }
        return (int) s;
    }

    /**
     * Packs row-major {@code w [n, k]} into the {@linkplain Panels panel layout} of {@code W} (outFeatures n).
     *
     * @throws IllegalArgumentException when an array is too small
     */
    public static void packPanels(float[] w, int n, int k, float[] dst, int threads) {
        check(w, (long) n * k, "w");
        check(dst, Panels.elementCount(n, k), "panels");
        int panels = Panels.panelCount(n);
        run(threads, panels, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int base = p * Panels.NR;
                int lanes = Math.min(Panels.NR, n - base);
                int out = p * k * Panels.NR;
                for (int kk = 0; kk < k; kk++, out += Panels.NR) {
                    for (int l = 0; l < lanes; l++) {
                        dst[out + l] = w[(base + l) * k + kk];
                    }
                    for (int l = lanes; l < Panels.NR; l++) {
                        dst[out + l] = 0f;
                    }
                }
            }
        });
    }

    /**
     * Packs the transpose of row-major {@code x [rows, cols]}: the panels of {@code W = xᵀ} with
     * {@code outFeatures = cols} and {@code inFeatures = rows}.
     */
    public static void packPanelsTransposed(float[] x, int rows, int cols, float[] dst, int threads) {
        check(x, (long) rows * cols, "x");
        check(dst, Panels.elementCount(cols, rows), "panels");
        int panels = Panels.panelCount(cols);
        run(threads, panels, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int base = p * Panels.NR;
                int lanes = Math.min(Panels.NR, cols - base);
                int out = p * rows * Panels.NR;
                for (int r = 0; r < rows; r++, out += Panels.NR) {
                    System.arraycopy(x, r * cols + base, dst, out, lanes);
                    for (int l = lanes; l < Panels.NR; l++) {
                        dst[out + l] = 0f;
                    }
                }
            }
        });
    }

    /** {@code dst [cols, rows] = srcᵀ} for row-major {@code src [rows, cols]}, in 32x32 tiles. */
    public static void transpose(float[] src, int rows, int cols, float[] dst, int threads) {
        check(src, (long) rows * cols, "src");
        check(dst, (long) rows * cols, "dst");
        final int t = 32;
        int tilesR = (rows + t - 1) / t;
        run(threads, tilesR, (b0, b1) -> {
            for (int rb = b0 * t; rb < Math.min(rows, b1 * t); rb += t) {
                int re = Math.min(rows, rb + t);
                for (int cb = 0; cb < cols; cb += t) {
                    int ce = Math.min(cols, cb + t);
                    for (int r = rb; r < re; r++) {
                        for (int c = cb; c < ce; c++) {
                            dst[c * rows + r] = src[r * cols + c];
                        }
                    }
                }
            }
        });
    }

    /**
     * {@code c [m, n] = a [m, k] · Wᵀ} with {@code W [n, k]} given as panels ({@link #packPanels}), on the
     * forward fp32 kernel. The operands are staged through off-heap scratch: the Vector API kernels run tens of
     * times slower over heap segments than over native ones (measured 515 vs 13 ms at 1000x1536x384), and the
     * copies cost one pass over each operand.
     */
    public static void matmulPanels(float[] a, int m, float[] panels, int n, int k, float[] c, Scratch scratch,
            int threads) {
        check(a, (long) m * k, "a");
        check(c, (long) m * n, "c");
        long pBytes = Panels.elementCount(n, k) * 4;
        check(panels, pBytes / 4, "panels");
        MemorySegment na = scratch.nativeA((long) m * k * 4), nw = scratch.nativeW(pBytes),
                nc = scratch.nativeC((long) m * n * 4);
        MemorySegment.copy(a, 0, na, ValueLayout.JAVA_FLOAT, 0, m * k);
        MemorySegment.copy(panels, 0, nw, ValueLayout.JAVA_FLOAT, 0, (int) (pBytes / 4));
        Kernels.linear(na, m, new Fp32Panels(n, k, nw), null, Activation.NONE, nc, Int8Mode.AUTO, threads);
        MemorySegment.copy(nc, ValueLayout.JAVA_FLOAT, 0, c, 0, m * n);
    }

    // ---------------------------------------------------------------- linear

    /**
     * Forward of {@code y = x · Wᵀ + bias}: {@code x [m, k]}, {@code wPanels} the packed {@code W [n, k]},
     * {@code bias} {@code n} floats or {@code null}, {@code y [m, n]}.
     */
    public static void linearForward(float[] x, int m, float[] wPanels, float[] bias, int n, int k, float[] y,
            Scratch scratch, int threads) {
        matmulPanels(x, m, wPanels, n, k, y, scratch, threads);
        if (bias != null) {
            check(bias, n, "bias");
            run(threads, m, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int o = r * n;
                    for (int j = 0; j < n; j++) {
                        y[o + j] += bias[j];
                    }
                }
            });
        }
    }

    /** Scratch arrays of {@link #linearBackward}, grown on demand and reused across calls. */
    public static final class Scratch {
        float[] dyT = new float[0];
        float[] xT = new float[0];
        float[] dw = new float[0];
        float[] partial = new float[0];
        private MemorySegment na = MemorySegment.NULL, nw = MemorySegment.NULL, nc = MemorySegment.NULL;

        /** Bytes this scratch holds now, on the heap and off it (memory accounting). */
        public long bytes() {
            return 4L * (dyT.length + xT.length + dw.length + partial.length) + na.byteSize() + nw.byteSize()
                    + nc.byteSize();
        }

        private static MemorySegment grow(MemorySegment s, long bytes) {
            if (s.byteSize() >= bytes) {
                return s;
            }
            // Grown by half again so a slowly growing batch does not reallocate every step; the old block is
            // freed by the garbage collector (automatic arena).
            long size = Math.max(bytes, s.byteSize() + s.byteSize() / 2);
            return Arena.ofAuto().allocate(Math.max(size, 64), Panels.ALIGN);
        }

        MemorySegment nativeA(long bytes) {
            na = grow(na, bytes);
            return na.asSlice(0, bytes);
        }

        MemorySegment nativeW(long bytes) {
            nw = grow(nw, bytes);
            return nw.asSlice(0, bytes);
        }

        MemorySegment nativeC(long bytes) {
            nc = grow(nc, bytes);
            return nc.asSlice(0, bytes);
        }

        float[] dyT(int size) {
            return dyT.length >= size ? dyT : (dyT = new float[size]);
        }

        float[] xT(int size) {
            return xT.length >= size ? xT : (xT = new float[size]);
        }

        float[] dw(int size) {
            return dw.length >= size ? dw : (dw = new float[size]);
        }

        float[] partial(int size) {
            return partial.length >= size ? partial : (partial = new float[size]);
        }
    }

    /**
     * Backward of {@code y = x · Wᵀ + b}: {@code dx = dy · W} (when {@code dx != null}; overwritten),
     * {@code dw += dyᵀ · x}, {@code db += Σ_rows dy} (when {@code db != null}).
     *
     * @param wtPanels the packed {@code Wᵀ} ({@link #packPanelsTransposed} of {@code W [n, k]}), or {@code null}
     *                 when {@code dx} is not wanted
     */
    public static void linearBackward(float[] x, float[] dy, int m, int n, int k, float[] wtPanels, float[] dx,
            float[] dw, float[] db, Scratch scratch, int threads) {
        check(x, (long) m * k, "x");
        check(dy, (long) m * n, "dy");
        check(dw, (long) n * k, "dw");
        if (dx != null) {
            matmulPanels(dy, m, wtPanels, k, n, dx, scratch, threads);
        }
        if (m == 0) {
            return;
        }
        float[] dyT = scratch.dyT(m * n);
        transpose(dy, m, n, dyT, threads);
        float[] xT = scratch.xT(panelSize(k, m));
        packPanelsTransposed(x, m, k, xT, threads);
        float[] g = scratch.dw(n * k);
        matmulPanels(dyT, n, xT, k, m, g, scratch, threads);
        run(threads, n, (r0, r1) -> {
            for (int i = r0 * k; i < r1 * k; i++) {
                dw[i] += g[i];
            }
        });
        if (db != null) {
            check(db, n, "db");
            // Row sums of dyᵀ: one row per output channel, each summed by one thread in a fixed order.
            run(threads, n, (r0, r1) -> {
                for (int j = r0; j < r1; j++) {
                    float s = 0f;
                    int o = j * m;
                    for (int r = 0; r < m; r++) {
                        s += dyT[o + r];
                    }
                    db[j] += s;
                }
            });
        }
    }

    /** The naive definition of {@link #linearBackward} over dense {@code w [n, k]}, in double sums. */
    public static void linearBackwardReference(float[] x, float[] dy, int m, int n, int k, float[] w, float[] dx,
            float[] dw, float[] db) {
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < k; c++) {
                double s = 0;
                for (int j = 0; j < n; j++) {
                    s += (double) dy[r * n + j] * w[j * k + c];
                }
                dx[r * k + c] = (float) s;
            }
        }
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < k; c++) {
                double s = 0;
                for (int r = 0; r < m; r++) {
                    s += (double) dy[r * n + j] * x[r * k + c];
                }
                dw[j * k + c] += (float) s;
            }
            if (db != null) {
                double s = 0;
                for (int r = 0; r < m; r++) {
                    s += dy[r * n + j];
                }
                db[j] += (float) s;
            }
        }
    }

    // ---------------------------------------------------------------- layer norm

    /**
     * Forward of layer normalization over rows of {@code n} channels, {@code s = x (+ residual)},
     * {@code y = (s − mean) · rstd · γ + β}, keeping {@code xhat = (s − mean) · rstd} and {@code rstd} per row.
     *
     * @param residual (optional) added to {@code x} first, or {@code null}
     * @param xhat     (output) {@code [m, n]}, or {@code null} in inference
     * @param rstd     (output) {@code m} floats, or {@code null} in inference
     */
    public static void layerNormForward(float[] x, float[] residual, int m, int n, float[] gamma, float[] beta,
            float eps, float[] y, float[] xhat, float[] rstd, int threads) {
        check(x, (long) m * n, "x");
        check(y, (long) m * n, "y");
        check(gamma, n, "gamma");
        check(beta, n, "beta");
        if (residual != null) {
            check(residual, (long) m * n, "residual");
        }
        run(threads, m, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * n;
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    float v = residual == null ? x[o + j] : x[o + j] + residual[o + j];
                    y[o + j] = v;
                    sum += v;
                }
                float mean = (float) (sum / n);
                double var = 0;
                for (int j = 0; j < n; j++) {
                    float d = y[o + j] - mean;
                    var += d * d;
                }
                float rs = (float) (1.0 / Math.sqrt(var / n + eps));
                if (rstd != null) {
                    rstd[r] = rs;
                }
                for (int j = 0; j < n; j++) {
                    float h = (y[o + j] - mean) * rs;
                    if (xhat != null) {
                        xhat[o + j] = h;
                    }
                    y[o + j] = h * gamma[j] + beta[j];
                }
            }
        });
    }

    /**
     * Backward of {@link #layerNormForward}: {@code dx} (overwritten) is the gradient of {@code s}, hence of both
     * {@code x} and the residual; {@code dgamma += Σ dy·xhat}, {@code dbeta += Σ dy}.
     */
    public static void layerNormBackward(float[] dy, float[] xhat, float[] rstd, int m, int n, float[] gamma,
            float[] dx, float[] dgamma, float[] dbeta, Scratch scratch, int threads) {
        check(dy, (long) m * n, "dy");
        check(xhat, (long) m * n, "xhat");
        check(dx, (long) m * n, "dx");
        check(rstd, m, "rstd");
        int t = Math.max(1, Math.min(threads, m));
        float[] part = scratch.partial(2 * n * t);
        java.util.Arrays.fill(part, 0, 2 * n * t, 0f);
        KernelPool.run(t, id -> {
            int r0 = (int) ((long) m * id / t), r1 = (int) ((long) m * (id + 1) / t);
            int pg = id * 2 * n, pb = pg + n;
            for (int r = r0; r < r1; r++) {
                int o = r * n;
                float a = 0f, b = 0f;
                for (int j = 0; j < n; j++) {
                    float g = dy[o + j] * gamma[j];
                    a += g;
                    b += g * xhat[o + j];
                    part[pg + j] += dy[o + j] * xhat[o + j];
                    part[pb + j] += dy[o + j];
                }
                float ma = a / n, mb = b / n, rs = rstd[r];
                for (int j = 0; j < n; j++) {
                    dx[o + j] = rs * (dy[o + j] * gamma[j] - ma - xhat[o + j] * mb);
                }
            }
        });
        for (int id = 0; id < t; id++) {
            int pg = id * 2 * n, pb = pg + n;
            for (int j = 0; j < n; j++) {
                dgamma[j] += part[pg + j];
                dbeta[j] += part[pb + j];
            }
        }
    }

    // ---------------------------------------------------------------- GELU

    /** Exact GELU {@code y = x · Φ(x)} of {@code len} elements ({@code y} may be {@code x}). */
    public static void gelu(float[] x, float[] y, int len, int threads) {
        check(x, len, "x");
        check(y, len, "y");
        KernelProvider p = Kernels.PROVIDER;
        run(threads, len, (i0, i1) -> p.gelu(x, y, i0, i1));
    }

    /** Backward of {@link #gelu}: {@code dx = dy · (Φ(x) + x · φ(x))} ({@code dx} may be {@code dy}). */
    public static void geluBackward(float[] x, float[] dy, float[] dx, int len, int threads) {
        check(x, len, "x");
        check(dy, len, "dy");
        check(dx, len, "dx");
        KernelProvider p = Kernels.PROVIDER;
        run(threads, len, (i0, i1) -> p.geluBackward(x, dy, dx, i0, i1));
    }

    // ---------------------------------------------------------------- attention

    /**
     * Sequences packed without padding: sequence {@code b} owns rows {@code [offset[b], offset[b] + length[b])}
     * of every activation, and its attention probabilities start at {@code probOffset(b)} (heads · length² floats).
     *
     * @param offsets first row of each sequence
     * @param lengths rows of each sequence (at least 1)
     */
    public record Packing(int[] offsets, int[] lengths) {
        public Packing {
            if (offsets.length != lengths.length) {
                throw new IllegalArgumentException(offsets.length + " offsets for " + lengths.length + " lengths");
            }
            int expect = 0;
            for (int b = 0; b < offsets.length; b++) {
                if (lengths[b] < 1 || offsets[b] != expect) {
                    throw new IllegalArgumentException("sequence " + b + ": offset " + offsets[b] + ", length "
                            + lengths[b] + " (sequences must be contiguous and non-empty)");
                }
                expect += lengths[b];
            }
        }

        /** Total rows. */
        public int rows() {
            int n = offsets.length;
            return n == 0 ? 0 : offsets[n - 1] + lengths[n - 1];
        }

        /** Sequences. */
        public int count() {
            return offsets.length;
        }

        /** Floats of attention probabilities for {@code heads} heads. */
        public long probSize(int heads) {
            long s = 0;
            for (int l : lengths) {
                s += (long) heads * l * l;
            }
            return s;
        }

        /** Start of sequence {@code b}'s probabilities. */
        public long probOffset(int b, int heads) {
            long s = 0;
            for (int i = 0; i < b; i++) {
                s += (long) heads * lengths[i] * lengths[i];
            }
            return s;
        }

        /** Longest sequence. */
        public int maxLength() {
            int mx = 0;
            for (int l : lengths) {
                mx = Math.max(mx, l);
            }
            return mx;
        }
    }

    /**
     * Multi-head self-attention over packed sequences, keeping the probabilities: {@code qkv [rows, 3·H]} holds
     * Q, K and V side by side (head {@code h} at columns {@code h·d} of each), {@code ctx [rows, H]} gets
     * {@code softmax(scale · Q_h · K_hᵀ) · V_h} per sequence and head, {@code probs} the softmax rows
     * ({@link Packing#probSize}). Every token attends to every token of its own sequence.
     */
    public static void attentionForward(float[] qkv, Packing pk, int hidden, int heads, float scale, float[] ctx,
            float[] probs, int threads) {
        int d = checkAttention(qkv, pk, hidden, heads, ctx, probs);
        long[] pOff = probOffsets(pk, heads);
        int tasks = pk.count() * heads;
        int maxL = pk.maxLength();
        KernelProvider kp = Kernels.PROVIDER;
        run(threads, tasks, (t0, t1) -> {
            int maxP = padded(maxL);
            float[] q = new float[maxL * d], kT = new float[d * maxP], v = new float[maxL * d], o = new float[maxL * d];
            float[] sc = new float[maxL * maxP], row = new float[maxL];
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads, len = pk.lengths[b], row0 = pk.offsets[b], lp = padded(len);
                gatherHead(qkv, row0, len, 3 * hidden, h * d, d, q, v, kT, lp, hidden);
                for (int i = 0; i < len * d; i++) {
                    q[i] *= scale;
                }
                int p0 = (int) (pOff[b] + (long) h * len * len);
                // Scores over keys padded with zero columns to a multiple of 16, so the product runs in whole
                // vectors; softmax then reads only the real keys.
                kp.gemmNN(len, lp, d, q, 0, d, kT, 0, lp, sc, 0, lp, false);
                for (int i = 0; i < len; i++) {
                    System.arraycopy(sc, i * lp, row, 0, len);
                    kp.softmax(row, null, len);
                    System.arraycopy(row, 0, probs, p0 + i * len, len);
                }
                kp.gemmNN(len, d, len, probs, p0, len, v, 0, d, o, 0, d, false);
                for (int i = 0; i < len; i++) {
                    System.arraycopy(o, i * d, ctx, (row0 + i) * hidden + h * d, d);
                }
            }
        });
    }

    /**
     * Backward of {@link #attentionForward}: from {@code dctx [rows, H]} and the kept probabilities, writes
     * {@code dqkv [rows, 3·H]} (overwritten). When {@code dScores} is given (an extra gradient of the loss with
     * respect to the scaled scores, laid out like {@code probs}, e.g. from an attention-distribution loss) it is
     * added to the score gradient.
     */
    public static void attentionBackward(float[] qkv, Packing pk, int hidden, int heads, float scale, float[] probs,
            float[] dctx, float[] dScores, float[] dqkv, int threads) {
        int d = checkAttention(qkv, pk, hidden, heads, dctx, probs);
        check(dqkv, (long) pk.rows() * 3 * hidden, "dqkv");
        long[] pOff = probOffsets(pk, heads);
        int tasks = pk.count() * heads;
        int maxL = pk.maxLength();
        KernelProvider kp = Kernels.PROVIDER;
        run(threads, tasks, (t0, t1) -> {
            int maxP = padded(maxL);
            float[] q = new float[maxL * d], kT = new float[d * maxP], v = new float[maxL * d];
            float[] k = new float[maxL * d], vT = new float[d * maxP];
            float[] dO = new float[maxL * d], dQ = new float[maxL * d], dK = new float[maxL * d],
                    dV = new float[maxL * d];
            float[] dS = new float[maxL * maxL], t2 = new float[maxL * maxL], dP = new float[maxL * maxP];
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads, len = pk.lengths[b], row0 = pk.offsets[b], lp = padded(len);
                gatherHead(qkv, row0, len, 3 * hidden, h * d, d, q, v, kT, lp, hidden);
                for (int t = 0; t < d; t++) {
                    java.util.Arrays.fill(vT, t * lp + len, (t + 1) * lp, 0f);
                }
                for (int j = 0; j < len; j++) {
                    for (int t = 0; t < d; t++) {
                        k[j * d + t] = kT[t * lp + j];
                        vT[t * lp + j] = v[j * d + t];
                    }
                    System.arraycopy(dctx, (row0 + j) * hidden + h * d, dO, j * d, d);
                }
                int p0 = (int) (pOff[b] + (long) h * len * len);
                // dP = dO · Vᵀ (keys padded to whole vectors), then the softmax backward
                // dS = P ⊙ (dP − Σ_j P·dP) (+ the extra score gradient), times the score scale.
                kp.gemmNN(len, lp, d, dO, 0, d, vT, 0, lp, dP, 0, lp, false);
                for (int i = 0; i < len; i++) {
                    int pr = p0 + i * len, sr = i * len, dr = i * lp;
                    float dot = 0f;
                    for (int j = 0; j < len; j++) {
                        dot += probs[pr + j] * dP[dr + j];
                    }
                    for (int j = 0; j < len; j++) {
                        float g = probs[pr + j] * (dP[dr + j] - dot);
                        if (dScores != null) {
                            g += dScores[pr + j];
                        }
                        dS[sr + j] = g * scale;
                    }
                }
                // dV = Pᵀ · dO
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < len; j++) {
                        t2[j * len + i] = probs[p0 + i * len + j];
                    }
                }
                kp.gemmNN(len, d, len, t2, 0, len, dO, 0, d, dV, 0, d, false);
                // dQ = dS · K; dK = dSᵀ · Q
                kp.gemmNN(len, d, len, dS, 0, len, k, 0, d, dQ, 0, d, false);
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < len; j++) {
                        t2[j * len + i] = dS[i * len + j];
                    }
                }
                kp.gemmNN(len, d, len, t2, 0, len, q, 0, d, dK, 0, d, false);
                int stride = 3 * hidden;
                for (int j = 0; j < len; j++) {
                    int base = (row0 + j) * stride + h * d;
                    System.arraycopy(dQ, j * d, dqkv, base, d);
                    System.arraycopy(dK, j * d, dqkv, base + hidden, d);
                    System.arraycopy(dV, j * d, dqkv, base + 2 * hidden, d);
                }
            }
        });
    }

    /** Keys padded to a multiple of 16 (a whole AVX-512 vector, two AVX2 or four NEON vectors). */
    private static int padded(int len) {
        return (len + 15) & ~15;
    }

    /** Q and V rows of one head, and Kᵀ with row stride {@code ldk} whose columns past {@code len} are zero. */
    private static void gatherHead(float[] qkv, int row0, int len, int stride, int col, int d, float[] q, float[] v,
            float[] kT, int ldk, int hidden) {
        for (int t = 0; t < d; t++) {
            java.util.Arrays.fill(kT, t * ldk + len, (t + 1) * ldk, 0f);
        }
        for (int j = 0; j < len; j++) {
            int base = (row0 + j) * stride + col;
            System.arraycopy(qkv, base, q, j * d, d);
            System.arraycopy(qkv, base + 2 * hidden, v, j * d, d);
            for (int t = 0; t < d; t++) {
                kT[t * ldk + j] = qkv[base + hidden + t];
            }
        }
    }

    private static int checkAttention(float[] qkv, Packing pk, int hidden, int heads, float[] ctx, float[] probs) {
        if (heads < 1 || hidden % heads != 0) {
            throw new IllegalArgumentException("attention: hidden " + hidden + " is not a multiple of " + heads + " heads");
        }
        check(qkv, (long) pk.rows() * 3 * hidden, "qkv");
        check(ctx, (long) pk.rows() * hidden, "ctx");
        check(probs, pk.probSize(heads), "probs");
        return hidden / heads;
    }

    private static long[] probOffsets(Packing pk, int heads) {
        long[] o = new long[pk.count()];
        long s = 0;
        for (int b = 0; b < o.length; b++) {
            o[b] = s;
            s += (long) heads * pk.lengths[b] * pk.lengths[b];
        }
        return o;
    }

    // ---------------------------------------------------------------- plumbing

    /** A range body: items {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** Splits {@code [0, items)} into {@code threads} contiguous ranges (fixed for a given count) and runs them. */
    public static void run(int threads, int items, Range body) {
        int t = Math.max(1, Math.min(threads, items));
        if (items <= 0) {
            return;
        }
        if (t == 1) {
            body.run(0, items);
            return;
        }
        KernelPool.run(t, id -> body.run((int) ((long) items * id / t), (int) ((long) items * (id + 1) / t)));
    }

    private static void check(float[] a, long need, String what) {
        if (a == null || a.length < need) {
            throw new IllegalArgumentException(what + " has " + (a == null ? "no array" : a.length + " floats")
                    + ", needs " + need);
        }
    }
}
