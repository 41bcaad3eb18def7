package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * GELU (exact or tanh) over a finished block of C, in vector lanes ({@link Fp32Vector#gelu}), run by the Panama
 * provider right after a dense kernel filled the block, while it is still in L1/L2.
 *
 * <p>Why not in the micro-kernel's store: inlined into the GEMM's tile update, the GELU body pushed C2 past
 * its inlining budget there and the {@code blend}/{@code EXP} calls stayed out of line, unintrinsified, boxing
 * every vector: all-MiniLM-L6-v2 (batch 1 × 128, one thread) went from 44 to 64 ms. In a method of its own
 * the loop compiles to straight vector code.
 */
final class ActivationVector {
    private static final VectorSpecies<Float> S = Fp32Vector.S;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private ActivationVector() {}

    /** True for the activations this class applies; RELU and NONE stay in the kernels' epilogue. */
    static boolean separate(Activation act) {
        return act == Activation.GELU || act == Activation.GELU_TANH;
    }

    /** Applies {@code act} in place to rows {@code m0..m1}, columns {@code n0..n1} of row-major C with {@code n} columns. */
    static void apply(Activation act, MemorySegment c, int n, int m0, int m1, int n0, int n1) {
        if (!Fp32Vector.vectorAccessible(c)) {
            for (int r = m0; r < m1; r++) {
                for (int j = n0; j < n1; j++) {
                    long o = ((long) r * n + j) * 4;
                    c.set(JAVA_FLOAT_UNALIGNED, o, act.apply(c.get(JAVA_FLOAT_UNALIGNED, o)));
                }
            }
            return;
        }
        for (int r = m0; r < m1; r++) {
            row(act, c, ((long) r * n + n0) * 4, n1 - n0);
        }
    }

    private static void row(Activation act, MemorySegment c, long off, int count) {
        // The tail takes a masked vector, not the scalar formula, so a column gets the same bits wherever the
        // work split puts it.
        for (int j = 0; j < count; j += L) {
            long o = off + j * 4L;
            if (j + L <= count) {
                activate(act, FloatVector.fromMemorySegment(S, c, o, LE)).intoMemorySegment(c, o, LE);
            } else {
                VectorMask<Float> m = S.indexInRange(j, count);
                activate(act, FloatVector.fromMemorySegment(S, c, o, LE, m)).intoMemorySegment(c, o, LE, m);
            }
        }
    }

    private static FloatVector activate(Activation act, FloatVector v) {
        return act == Activation.GELU ? Fp32Vector.gelu(v) : Fp32Vector.geluTanh(v);
    }

    /** See {@link KernelProvider#softmax}: max, then exp and sum, then scale, each pass in vector lanes. */
    static void softmax(float[] x, float[] add, int n) {
        int bound = S.loopBound(n);
        if (add != null) {
            int j = 0;
            for (; j < bound; j += L) {
                FloatVector.fromArray(S, x, j).add(FloatVector.fromArray(S, add, j)).intoArray(x, j);
            }
            for (; j < n; j++) {
                x[j] += add[j];
            }
        }
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j < bound; j += L) {
            vmax = vmax.max(FloatVector.fromArray(S, x, j));
        }
        float max = vmax.reduceLanes(jdk.incubator.vector.VectorOperators.MAX);
        for (; j < n; j++) {
            max = Math.max(max, x[j]);
        }
        FloatVector vsum = FloatVector.zero(S);
        j = 0;
        for (; j < bound; j += L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, x, j).sub(max));
            e.intoArray(x, j);
            vsum = vsum.add(e);
        }
        float sum = VectorMath.sum(vsum);
        for (; j < n; j++) {
            float e = expLane(x[j] - max);
            x[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        j = 0;
        for (; j < bound; j += L) {
            FloatVector.fromArray(S, x, j).mul(inv).intoArray(x, j);
        }
        for (; j < n; j++) {
            x[j] *= inv;
        }
    }

    /** One element through the vector exp, so a tail lane gets the same bits as a full-vector lane. */
    private static float expLane(float v) {
        return VectorMath.exp(FloatVector.broadcast(S, v)).lane(0);
    }

    /** See {@link KernelProvider#layerNorm}: sums in vector lanes (fixed-order lane sums), then one scaling pass. */
    static void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n) {
        int bound = S.loopBound(n);
        FloatVector vs = FloatVector.zero(S);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector v = FloatVector.fromArray(S, x, j);
            if (residual != null) {
                v = v.add(FloatVector.fromArray(S, residual, j));
                v.intoArray(x, j);
            }
            vs = vs.add(v);
        }
        float sum = VectorMath.sum(vs);
        for (; j < n; j++) {
            if (residual != null) {
                x[j] += residual[j];
            }
            sum += x[j];
        }
        float mean = sum / n;
        FloatVector vv = FloatVector.zero(S);
        j = 0;
        for (; j < bound; j += L) {
            FloatVector d = FloatVector.fromArray(S, x, j).sub(mean);
            vv = d.fma(d, vv);
        }
        float var = VectorMath.sum(vv);
        for (; j < n; j++) {
            float d = x[j] - mean;
            var += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(var / n + eps));
        j = 0;
        for (; j < bound; j += L) {
            FloatVector d = FloatVector.fromArray(S, x, j).sub(mean).mul(inv);
            d.fma(FloatVector.fromArray(S, gamma, j), FloatVector.fromArray(S, beta, j)).intoArray(x, j);
        }
        for (; j < n; j++) {
            x[j] = Math.fma((x[j] - mean) * inv, gamma[j], beta[j]);
        }
    }
}
