package dev.compresso.engine.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twins of the training primitives in {@link ScalarKernels}: the small row-major products of
 * attention's forward and backward passes, and GELU with its derivative.
 */
final class TrainingVector {
    private static final VectorSpecies<Float> S = Fp32Vector.S;
    private static final int L = S.length();

    private TrainingVector() {}

    /**
     * See {@link KernelProvider#gemmNN}. Four vectors of C's row stay in registers while {@code p} runs, so each
     * FMA costs one load of B and no load or store of C; columns past the last full vector run scalar.
     */
    static void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c,
            int cOff, int ldc, boolean accumulate) {
        int full = S.loopBound(n);
        for (int i = 0; i < m; i++) {
            int ao = aOff + i * lda, co = cOff + i * ldc;
            int j = 0;
            for (; j + 4 * L <= full; j += 4 * L) {
                FloatVector c0, c1, c2, c3;
                if (accumulate) {
                    c0 = FloatVector.fromArray(S, c, co + j);
                    c1 = FloatVector.fromArray(S, c, co + j + L);
                    c2 = FloatVector.fromArray(S, c, co + j + 2 * L);
                    c3 = FloatVector.fromArray(S, c, co + j + 3 * L);
                } else {
                    c0 = FloatVector.zero(S);
                    c1 = c0;
                    c2 = c0;
                    c3 = c0;
                }
                for (int p = 0; p < k; p++) {
                    FloatVector av = FloatVector.broadcast(S, a[ao + p]);
                    int bo = bOff + p * ldb + j;
                    c0 = FloatVector.fromArray(S, b, bo).fma(av, c0);
                    c1 = FloatVector.fromArray(S, b, bo + L).fma(av, c1);
                    c2 = FloatVector.fromArray(S, b, bo + 2 * L).fma(av, c2);
                    c3 = FloatVector.fromArray(S, b, bo + 3 * L).fma(av, c3);
                }
                c0.intoArray(c, co + j);
                c1.intoArray(c, co + j + L);
                c2.intoArray(c, co + j + 2 * L);
                c3.intoArray(c, co + j + 3 * L);
            }
            for (; j < full; j += L) {
                FloatVector c0 = accumulate ? FloatVector.fromArray(S, c, co + j) : FloatVector.zero(S);
                for (int p = 0; p < k; p++) {
                    c0 = FloatVector.fromArray(S, b, bOff + p * ldb + j).fma(FloatVector.broadcast(S, a[ao + p]), c0);
                }
                c0.intoArray(c, co + j);
            }
            for (; j < n; j++) {
                float s = accumulate ? c[co + j] : 0f;
                for (int p = 0; p < k; p++) {
                    s = Math.fma(a[ao + p], b[bOff + p * ldb + j], s);
                }
                c[co + j] = s;
            }
        }
    }

    /** See {@link KernelProvider#gelu}: {@link Fp32Vector#gelu} in lanes, the same formula per tail element. */
    static void gelu(float[] x, float[] y, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            Fp32Vector.gelu(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        }
        for (; i < to; i++) {
            y[i] = Fp32Vector.gelu(FloatVector.broadcast(S, x[i])).lane(0);
        }
    }

    /** See {@link KernelProvider#geluBackward}. */
    static void geluBackward(float[] x, float[] dy, float[] dx, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            derivative(v).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i);
        }
        for (; i < to; i++) {
            dx[i] = derivative(FloatVector.broadcast(S, x[i])).lane(0) * dy[i];
        }
    }

    /**
     * {@code Φ(x) + x·φ(x)}: {@code Φ} from the same erfc fit as {@link Fp32Vector#gelu} ({@code Φ(x) = 1 − erfc(x/√2)/2}
     * for {@code x ≥ 0}, {@code erfc(|x|/√2)/2} below), {@code φ(x) = exp(−x²/2)/√(2π)}.
     */
    private static FloatVector derivative(FloatVector x) {
        FloatVector halfErfc = Fp32Vector.erfcAbs(x).mul(0.5f);
        FloatVector cdf = halfErfc.neg().add(1f).blend(halfErfc, x.lt(0f));
        FloatVector pdf = VectorMath.exp(x.mul(x).mul(-0.5f)).mul(0.39894228f);
        FloatVector d = x.fma(pdf, cdf);
        // Far out the derivative is exactly 1 (x > 10) or 0 (x < −10); this also keeps ±∞ from giving NaN.
        return d.blend(1f, x.compare(VectorOperators.GT, 10f)).blend(0f, x.lt(-10f));
    }
}
