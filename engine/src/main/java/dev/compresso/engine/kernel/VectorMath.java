package dev.compresso.engine.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Transcendentals and reductions in vector lanes built only from IEEE-exact lane operations (add, mul, fma,
 * min/max, compare, integer shifts), so every JIT tier computes the same bits.
 *
 * <p>Why not {@code lanewise(EXP)}, {@code lanewise(TANH)} or {@code reduceLanes(ADD)}: the interpreter and C1
 * run the Vector API's Java fallback (per-lane {@code Math.exp}, a sequential sum) while C2 substitutes the
 * platform's vector math library and a tree reduction. The results differ in the last bits, so the same model
 * on the same input gave different outputs before and after warm-up (seen on all-MiniLM-L6-v2: 17 000 of
 * 146 000 outputs changed, by up to 1e-5, between the second and third run of one session).
 */
final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2^23: adding it rounds a float of magnitude below 2^22 to an integer (round to nearest even). */
    private static final float ROUND = 12582912f;
    private static final float LO = -87.33654f; // ln(2^-126): below it the result is 0 (subnormals dropped)
    private static final float HI = 88.72283f;  // ln(MAX_VALUE): above it +inf

    /** Bits of {@link #ROUND}: {@code ROUND + n} for an integer {@code |n| < 2^22} has the bits {@code ROUND_BITS + n}. */
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

    /**
     * {@code e^x} within 3 ulp on {@code [ln 2^-126, 88]} (8 ulp up to {@code ln MAX_VALUE}, where the exponent is capped) (Cephes' expf
     * polynomial on {@code |r| ≤ ln2/2} after {@code x = n·ln2 + r}); 0 below, +∞ above, NaN for NaN.
     *
     * <p>Range limits are applied with compare and blend, not {@code max}/{@code min}: C2 expands a lanewise
     * {@code max}/{@code min} into a multi-instruction sequence to get {@code Math.max}'s NaN and signed-zero
     * rules, and the three of them plus the {@code F2I} conversion made this function twice as slow (0.81
     * against 0.43 ns per element for the softmax form, 16 lanes). {@code 2^n} is read off the bits of the
     * rounding sum instead of converting {@code n}.
     */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> low = x.lt(LO), high = x.compare(VectorOperators.GT, HI);
        FloatVector xc = x.blend(LO, low).blend(HI, high); // NaN stays NaN
        FloatVector t = xc.fma(LOG2E, ROUND);
        // Above 127·ln2 (up to HI) n rounds to 128: cap it so 2^n stays finite.
        t = t.blend(ROUND + 127f, t.compare(VectorOperators.GT, ROUND + 127f));
        return reduced(xc, t).blend(0f, low).blend(Float.POSITIVE_INFINITY, high);
    }

    /**
     * {@code e^x} for {@code x ≤ 0} (the shifted scores of a softmax): {@link #exp} without the upper range
     * limit, the same bits for every {@code x ≤ 0}; NaN for NaN. Not for positive arguments.
     */
    static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> low = x.lt(LO);
        FloatVector xc = x.blend(LO, low);
        return reduced(xc, xc.fma(LOG2E, ROUND)).blend(0f, low);
    }

    /** {@code 2^n · e^r} with {@code t = ROUND + n}, {@code r = xc - n·ln2}, {@code xc} inside the range. */
    private static FloatVector reduced(FloatVector xc, FloatVector t) {
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(xc.broadcast(-LN2_HI), xc);
        r = n.fma(xc.broadcast(-LN2_LO), r);
        FloatVector p = r.mul(1.9875691500e-4f).add(1.3981999507e-3f);
        p = p.fma(r, r.broadcast(8.3334519073e-3f));
        p = p.fma(r, r.broadcast(4.1665795894e-2f));
        p = p.fma(r, r.broadcast(1.6666665459e-1f));
        p = p.fma(r, r.broadcast(5.0000001201e-1f));
        p = p.mul(r.mul(r)).add(r).add(1f);
        IntVector e = t.reinterpretAsInts().add(127 - ROUND_BITS).lanewise(VectorOperators.LSHL, 23);
        return p.mul(e.reinterpretAsFloats());
    }

    /** {@code tanh(u) = sign(u)·(1 − 2 / (e^{2|u|} + 1))}; absolute error about 1e-7. */
    static FloatVector tanh(FloatVector u) {
        FloatVector a = u.abs();
        FloatVector t = a.broadcast(1f).sub(a.broadcast(2f).div(exp(a.add(a)).add(1f)));
        return t.blend(t.neg(), u.lt(0f)).blend(u, u.test(VectorOperators.IS_NAN));
    }

    private static final VectorSpecies<Float> S = Fp32Vector.S;
    private static final int L = S.length();
    // One constant shuffle per step: a shuffle loaded from an array is not a compile-time constant, and C2
    // then left the rearrange (and the vectors feeding it) out of line, boxed: 10% of a MiniLM inference.
    private static final VectorShuffle<Float> ROT8 = rotation(8), ROT4 = rotation(4), ROT2 = rotation(2),
            ROT1 = rotation(1);

    private static VectorShuffle<Float> rotation(int by) {
        return VectorShuffle.fromOp(S, i -> (i + by) % L);
    }

    /** Sum of the lanes in a fixed order (halves added pairwise), the same in every JIT tier. */
    static float sum(FloatVector v) {
        if (v.species() != S) {
            return sumAnySpecies(v);
        }
        if (L >= 16) {
            v = v.add(v.rearrange(ROT8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(ROT4));
        }
        v = v.add(v.rearrange(ROT2));
        v = v.add(v.rearrange(ROT1));
        return v.lane(0);
    }

    private static float sumAnySpecies(FloatVector v) {
        VectorSpecies<Float> s = v.species();
        for (int half = s.length() / 2; half >= 1; half /= 2) {
            final int h = half;
            v = v.add(v.rearrange(VectorShuffle.fromOp(s, i -> (i + h) % s.length())));
        }
        return v.lane(0);
    }
}
