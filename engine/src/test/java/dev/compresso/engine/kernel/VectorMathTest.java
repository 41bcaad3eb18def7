package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** {@link VectorMath} against {@link Math}: exp over its whole range and the special values, tanh, lane sums. */
class VectorMathTest {
    private static float exp1(float x) {
        return VectorMath.exp(FloatVector.broadcast(Fp32Vector.S, x)).lane(0);
    }

    @Test
    void expWithinTwoUlpAcrossTheRange() {
        Random r = new Random(3);
        for (int i = 0; i < 200_000; i++) {
            float x = -87.3f + r.nextFloat() * (88.7f + 87.3f);
            double e = Math.exp(x);
            float got = exp1(x);
            // Above 127·ln2 the exponent is capped at 127 and the reduced argument leaves the polynomial's interval.
            assertEquals(e, got, (x > 88f ? 8 : 3) * Math.ulp((float) e), "exp(" + x + ")");
        }
        for (float x : new float[] {0f, -0f, 1f, -1f, 1e-8f, -1e-8f, 0.34657359f, -0.34657359f, 88f, -87f}) {
            assertEquals(Math.exp(x), exp1(x), 3 * Math.ulp((float) Math.exp(x)), "exp(" + x + ")");
        }
        assertEquals(0f, exp1(-100f));
        assertEquals(0f, exp1(Float.NEGATIVE_INFINITY));
        assertEquals(0f, exp1(-Float.MAX_VALUE));
        assertEquals(Float.POSITIVE_INFINITY, exp1(100f));
        assertEquals(Float.POSITIVE_INFINITY, exp1(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(exp1(Float.NaN)));
        assertTrue(exp1(88.7f) > 3.3e38f && exp1(88.7f) < Float.POSITIVE_INFINITY);
    }

    /** The softmax form: the same bits as {@link VectorMath#exp} for every {@code x ≤ 0}, 0 far below, NaN for NaN. */
    @Test
    void expNonPositiveEqualsExpBelowZero() {
        Random r = new Random(5);
        for (int i = 0; i < 200_000; i++) {
            float x = i % 4 == 0 ? -r.nextFloat() : -r.nextFloat() * 100f;
            float got = VectorMath.expNonPositive(FloatVector.broadcast(Fp32Vector.S, x)).lane(0);
            assertEquals(Float.floatToRawIntBits(exp1(x)), Float.floatToRawIntBits(got), "exp(" + x + ")");
        }
        for (float x : new float[] {0f, -0f, -87.33654f, -87.3366f, -1e-30f, -Float.MIN_VALUE}) {
            assertEquals(exp1(x), VectorMath.expNonPositive(FloatVector.broadcast(Fp32Vector.S, x)).lane(0), "exp(" + x + ")");
        }
        assertEquals(0f, VectorMath.expNonPositive(FloatVector.broadcast(Fp32Vector.S, Float.NEGATIVE_INFINITY)).lane(0));
        assertEquals(0f, VectorMath.expNonPositive(FloatVector.broadcast(Fp32Vector.S, -Float.MAX_VALUE)).lane(0));
        assertTrue(Float.isNaN(VectorMath.expNonPositive(FloatVector.broadcast(Fp32Vector.S, Float.NaN)).lane(0)));
    }

    @Test
    void tanhAndLaneSum() {
        Random r = new Random(4);
        for (int i = 0; i < 100_000; i++) {
            float u = (float) r.nextGaussian() * 6f;
            float got = VectorMath.tanh(FloatVector.broadcast(Fp32Vector.S, u)).lane(0);
            assertEquals(Math.tanh(u), got, 2e-7, "tanh(" + u + ")");
        }
        assertEquals(1f, VectorMath.tanh(FloatVector.broadcast(Fp32Vector.S, 1000f)).lane(0));
        assertEquals(-1f, VectorMath.tanh(FloatVector.broadcast(Fp32Vector.S, Float.NEGATIVE_INFINITY)).lane(0));
        assertTrue(Float.isNaN(VectorMath.tanh(FloatVector.broadcast(Fp32Vector.S, Float.NaN)).lane(0)));
        float[] lanes = new float[Fp32Vector.S.length()];
        double want = 0;
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = i + 0.25f;
            want += lanes[i];
        }
        assertEquals(want, VectorMath.sum(FloatVector.fromArray(Fp32Vector.S, lanes, 0)), 1e-4);
    }
}
