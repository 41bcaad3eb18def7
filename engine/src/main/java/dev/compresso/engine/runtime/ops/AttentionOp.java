package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Shapes.bstrides;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** The fused multi-head {@link Attention} over {@code [B, S, H*D]} q, k, v and an optional additive mask. */
final class AttentionOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Attention");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        if (!(n instanceof Attention a)) {
            throw fail("unsupported operator " + n.op());
        }
        return new Tensor[] {attention(a, in, c)};
    }

    static Tensor attention(Attention a, Tensor[] in, Ctx c) {
        Tensor q = in[0], k = in[1], v = in[2], mask = in.length > 3 ? in[3] : null;
        if (q.rank() != 3 || !Arrays.equals(q.shape(), k.shape()) || !Arrays.equals(q.shape(), v.shape())) {
            throw fail("q, k, v must be [B, S, H*D] of one shape: " + q + ", " + k + ", " + v);
        }
        int bsz = (int) q.dim(0), s = (int) q.dim(1), hd = (int) q.dim(2), h = a.heads();
        if (hd % h != 0) {
            throw fail("hidden size " + hd + " is not a multiple of " + h + " heads");
        }
        int d = hd / h;
        long[] msk = null;
        long[] mshape = {bsz, h, s, s};
        if (mask != null) {
            if (mask.dtype() != DType.FLOAT || mask.rank() > 4) {
                throw fail("attention mask must be float of rank <= 4: " + mask);
            }
            broadcast(mask.shape(), mshape);
            msk = bstrides(mask.shape(), mshape);
        }
        Tensor out = c.alloc(DType.FLOAT, q.shape());
        float scale = a.scale();
        MemorySegment Q = q.data(), K = k.data(), V = v.data(), O = out.data(), M = mask == null ? null : mask.data();
        long[] ms = msk;
        if (bsz > 1 && bsz >= c.threads) {
            // One task per sequence, claimed dynamically by at most c.threads threads: each reads its rows of
            // Q, K, V and writes its rows of the output front to back, whole rows at a time. Gathering one
            // head's strided columns per task instead ran at cache-miss speed once the batch's Q, K, V (1.5 MB
            // each at batch 8) left the L2.
            int t = Math.min(c.threads, bsz);
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            KernelPool.run(t, id -> {
                BatchScratch bs = BatchScratch.get(s, d, h);
                for (int b; (b = next.getAndIncrement()) < bsz; ) {
                    sequence(Q, K, V, M, ms, O, b, s, hd, h, d, scale, bs);
                }
            });
        } else {
            int tasks = bsz * h;
            int t = Math.min(c.threads, tasks);
            KernelPool.run(t, id -> {
                HeadScratch hs = HeadScratch.get(s, d);
                for (int task = tasks * id / t; task < tasks * (id + 1) / t; task++) {
                    headGemm(Q, K, V, M, ms, O, task / h, task % h, s, hd, d, scale, hs);
                }
            });
        }
        return out;
    }

    /**
     * Per-thread attention buffers of one head: Q_h and O_h rows, K_h and V_hᵀ in panel layouts, a gathered row
     * and the mask values.
     */
    private static final class HeadScratch {
        private static final ThreadLocal<HeadScratch> CACHE = new ThreadLocal<>();
        final int s, d;
        final float[] row, mrow, kArr, vArr, qArr, oArr;
        /** Mask values of one head when the mask varies by query row too ({@code [.., S, S]}), made on first use. */
        float[] fullMask;

        static HeadScratch get(int s, int d) {
            HeadScratch h = CACHE.get();
            if (h == null || h.s != s || h.d != d) {
                h = new HeadScratch(s, d);
                CACHE.set(h);
            }
            return h;
        }

        private HeadScratch(int s, int d) {
            this.s = s;
            this.d = d;
            row = new float[Math.max(s, d)];
            kArr = new float[Math.toIntExact(Panels.elementCount(s, d))];
            vArr = new float[Math.toIntExact(Panels.elementCount(d, s))];
            qArr = new float[Math.multiplyExact(s, d)];
            oArr = new float[Math.multiplyExact(s, d)];
            mrow = new float[s];
        }
    }

    /**
     * Per-thread buffers of the per-sequence path: every head's Q_h rows, packed K_h and V_hᵀ of one sequence,
     * its output rows, and the {@link HeadScratch} that holds the mask values.
     */
    private static final class BatchScratch {
        private static final ThreadLocal<BatchScratch> CACHE = new ThreadLocal<>();
        final int s, d, h;
        final int kLen, vLen;
        final float[] row, qAll, kAll, vAll, oAll;
        final HeadScratch head;

        static BatchScratch get(int s, int d, int h) {
            BatchScratch b = CACHE.get();
            if (b == null || b.s != s || b.d != d || b.h != h) {
                b = new BatchScratch(s, d, h);
                CACHE.set(b);
            }
            return b;
        }

        private BatchScratch(int s, int d, int h) {
            this.s = s;
            this.d = d;
            this.h = h;
            kLen = Math.toIntExact(Panels.elementCount(s, d));
            vLen = Math.toIntExact(Panels.elementCount(d, s));
            int hd = Math.multiplyExact(h, d);
            row = new float[hd];
            qAll = new float[Math.multiplyExact(s, hd)];
            kAll = new float[Math.multiplyExact(h, kLen)];
            vAll = new float[Math.multiplyExact(h, vLen)];
            oAll = new float[Math.multiplyExact(s, hd)];
            head = HeadScratch.get(s, d);
        }
    }

    /**
     * One (batch, head) pair: Q_h rows gathered, K_h (times the softmax scale) and V_hᵀ into panel layouts,
     * then {@link Kernels#attentionHead}, and O_h scattered back into the output rows.
     */
    private static void headGemm(MemorySegment Q, MemorySegment K, MemorySegment V, MemorySegment M, long[] ms,
            MemorySegment O, int b, int head, int s, int hd, int d, float scale, HeadScratch hs) {
        long base = (long) b * s * hd + (long) head * d;
        float[] row = hs.row, kArr = hs.kArr, vArr = hs.vArr;
        int nr = Panels.NR;
        // K_h (times the softmax scale) and V_hᵀ into panel layouts built in float[] (bounds checks hoisted).
        for (int j = 0; j < s; j++) {
            long off = (base + (long) j * hd) * 4;
            MemorySegment.copy(Q, F, off, hs.qArr, j * d, d);
            MemorySegment.copy(K, F, off, row, 0, d);
            int kb = (j / nr) * d * nr + j % nr;
            for (int e = 0; e < d; e++) {
                kArr[kb + e * nr] = row[e] * scale;
            }
            MemorySegment.copy(V, F, off, row, 0, d);
            for (int g = 0; g * nr < d; g++) {
                System.arraycopy(row, g * nr, vArr, (g * s + j) * nr, Math.min(nr, d - g * nr));
            }
        }
        float[] add = mask(hs, M, ms, b, head, s);
        Kernels.attentionHead(hs.qArr, 0, d, kArr, 0, vArr, 0, s, d, add, maskStride(ms, s), hs.oArr, 0, d);
        for (int i = 0; i < s; i++) {
            MemorySegment.copy(hs.oArr, i * d, O, F, (base + (long) i * hd) * 4, d);
        }
    }

    /** Mask values of (b, head) into the scratch: one row when the mask has no query axis, else S rows. */
    private static float[] mask(HeadScratch hs, MemorySegment M, long[] ms, int b, int head, int s) {
        if (ms == null) {
            return null;
        }
        long mo = b * ms[0] + head * ms[1];
        if (ms[2] == 0) {
            for (int j = 0; j < s; j++) {
                hs.mrow[j] = M.getAtIndex(F, mo + j * ms[3]);
            }
            return hs.mrow;
        }
        if (hs.fullMask == null) {
            hs.fullMask = new float[Math.multiplyExact(s, s)];
        }
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < s; j++) {
                hs.fullMask[i * s + j] = M.getAtIndex(F, mo + i * ms[2] + j * ms[3]);
            }
        }
        return hs.fullMask;
    }

    private static int maskStride(long[] ms, int s) {
        return ms != null && ms[2] != 0 ? s : 0;
    }

    /**
     * All heads of sequence {@code b}: its Q, K and V rows are read once each, whole, and scattered into every
     * head's layouts; the heads' outputs are gathered into whole rows and written once.
     */
    private static void sequence(MemorySegment Q, MemorySegment K, MemorySegment V, MemorySegment M, long[] ms,
            MemorySegment O, int b, int s, int hd, int h, int d, float scale, BatchScratch bs) {
        long base = (long) b * s * hd;
        float[] row = bs.row, qAll = bs.qAll, kAll = bs.kAll, vAll = bs.vAll, oAll = bs.oAll;
        int nr = Panels.NR, kLen = bs.kLen, vLen = bs.vLen;
        MemorySegment.copy(Q, F, base * 4, qAll, 0, s * hd);
        for (int j = 0; j < s; j++) {
            long off = (base + (long) j * hd) * 4;
            MemorySegment.copy(K, F, off, row, 0, hd);
            int kb = (j / nr) * d * nr + j % nr;
            for (int head = 0; head < h; head++) {
                int ko = head * kLen + kb, ro = head * d;
                for (int e = 0; e < d; e++) {
                    kAll[ko + e * nr] = row[ro + e] * scale;
                }
            }
            MemorySegment.copy(V, F, off, row, 0, hd);
            for (int head = 0; head < h; head++) {
                for (int g = 0; g * nr < d; g++) {
                    System.arraycopy(row, head * d + g * nr, vAll, head * vLen + (g * s + j) * nr, Math.min(nr, d - g * nr));
                }
            }
        }
        HeadScratch hs = bs.head;
        for (int head = 0; head < h; head++) {
            float[] add = mask(hs, M, ms, b, head, s);
            Kernels.attentionHead(qAll, head * d, hd, kAll, head * kLen, vAll, head * vLen, s, d, add, maskStride(ms, s),
                    oAll, head * d, hd);
        }
        MemorySegment.copy(oAll, 0, O, F, base * 4, s * hd);
    }
}
