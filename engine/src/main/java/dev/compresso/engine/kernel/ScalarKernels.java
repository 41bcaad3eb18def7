package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;

/**
 * The scalar reference of every kernel: plain loops, fp32 accumulation in k order (int32 for W8A8). Tests
 * compare the vector kernels with it, and it runs when {@code jdk.incubator.vector} is not available.
 */
final class ScalarKernels implements KernelProvider {

    static final ScalarKernels INSTANCE = new ScalarKernels();

    @Override
    public String name() {
        return "scalar";
    }

    private static float epilogue(float acc, MemorySegment bias, int n, Activation act) {
        if (bias != null) {
            acc += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, n);
        }
        return act.apply(acc);
    }

    @Override
    public void fp32(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float acc = 0f;
                long base = Panels.index(j, 0, k);
                for (int kk = 0; kk < k; kk++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk)
                            * d.getAtIndex(JAVA_FLOAT_UNALIGNED, base + (long) kk * Panels.NR);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void fp16(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float acc = 0f;
                long base = Panels.index(j, 0, k);
                for (int kk = 0; kk < k; kk++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk)
                            * Float.float16ToFloat(d.getAtIndex(JAVA_SHORT_UNALIGNED, base + (long) kk * Panels.NR));
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void int8W8A32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float acc = 0f;
                long base = Panels.index(j, 0, k);
                for (int kk = 0; kk < k; kk++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk)
                            * d.get(JAVA_BYTE, base + (long) kk * Panels.NR);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc * w.scale(j), bias, j, act));
            }
        }
    }

    @Override
    public void int8W8A8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias,
            Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        for (int i = m0; i < m1; i++) {
            float as = aScale.getAtIndex(JAVA_FLOAT_UNALIGNED, i);
            for (int j = n0; j < n1; j++) {
                int acc = 0;
                long base = Panels.index(j, 0, k);
                for (int kk = 0; kk < k; kk++) {
                    acc += aq.get(JAVA_BYTE, (long) i * k + kk) * d.get(JAVA_BYTE, base + (long) kk * Panels.NR);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc * (as * w.scale(j)), bias, j, act));
            }
        }
    }

    @Override
    public void quantizeRows(MemorySegment a, int k, MemorySegment aq, MemorySegment aScale, int m0, int m1) {
        for (int i = m0; i < m1; i++) {
            float max = 0f;
            for (int kk = 0; kk < k; kk++) {
                max = Math.max(max, Math.abs(a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk)));
            }
            float scale = max / 127f;
            aScale.setAtIndex(JAVA_FLOAT_UNALIGNED, i, scale);
            float inv = max == 0f ? 0f : 127f / max;
            for (int kk = 0; kk < k; kk++) {
                int q = Math.round(a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk) * inv);
                aq.set(JAVA_BYTE, (long) i * k + kk, (byte) Math.max(-127, Math.min(127, q)));
            }
        }
    }

    @Override
    public void quantizeRowsStatic(MemorySegment a, int k, float scale, MemorySegment aq, int m0, int m1) {
        float inv = 1f / scale;
        for (int i = m0; i < m1; i++) {
            for (int kk = 0; kk < k; kk++) {
                int q = Math.round(a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk) * inv);
                aq.set(JAVA_BYTE, (long) i * k + kk, (byte) Math.max(-127, Math.min(127, q)));
            }
        }
    }

    @Override
    public void quantizeRowsStaticChannels(MemorySegment a, int k, float[] inv, MemorySegment aq, int m0, int m1) {
        for (int i = m0; i < m1; i++) {
            for (int kk = 0; kk < k; kk++) {
                int q = Math.round(a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + kk) * inv[kk]);
                aq.set(JAVA_BYTE, (long) i * k + kk, (byte) Math.max(-127, Math.min(127, q)));
            }
        }
    }

    @Override
    public void csr(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float acc = 0f;
                for (int p = w.rowStart(j), e = w.rowStart(j + 1); p < e; p++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + w.col(p)) * w.value(j, p);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void bsr(MemorySegment a, BsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                int b = j / BsrMatrix.BLOCK_ROWS, r = j % BsrMatrix.BLOCK_ROWS;
                float acc = 0f;
                for (int p = w.blockStart(b), e = w.blockStart(b + 1); p < e; p++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + w.col(p)) * w.value(p, r);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void bsr16(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                int b = j / Bsr16Matrix.BLOCK_ROWS, r = j % Bsr16Matrix.BLOCK_ROWS;
                float acc = 0f;
                for (int p = w.blockStart(b), e = w.blockStart(b + 1); p < e; p++) {
                    acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + w.col(p)) * w.value(b, p, r);
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void nm24(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures(), g = Nm24Matrix.groups(k);
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float acc = 0f;
                for (int grp = 0; grp < g; grp++) {
                    for (int s = 0; s < 2; s++) {
                        int col = 4 * grp + w.position(j, grp, s);
                        if (col < k) {
                            acc += a.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * k + col) * w.value(j, grp, s);
                        }
                    }
                }
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, epilogue(acc, bias, j, act));
            }
        }
    }

    @Override
    public void softmax(float[] x, float[] add, int n) {
        if (add != null) {
            for (int j = 0; j < n; j++) {
                x[j] += add[j];
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, x[j]);
        }
        float sum = 0;
        for (int j = 0; j < n; j++) {
            float e = (float) Math.exp(x[j] - max);
            x[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) {
            x[j] *= inv;
        }
    }

    @Override
    public void attentionHead(float[] q, int qOff, int qStride, float[] k, int kOff, float[] v, int vOff, int s,
            int d, float[] add, int addStride, float[] out, int oOff, int oStride) {
        float[] p = new float[s];
        for (int i = 0; i < s; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < s; j++) {
                float acc = 0f;
                for (int e = 0; e < d; e++) {
                    acc += q[qOff + i * qStride + e] * k[kOff + (int) Panels.index(j, e, d)];
                }
                p[j] = acc + (add == null ? 0f : add[i * addStride + j]);
                max = Math.max(max, p[j]);
            }
            float sum = 0f;
            for (int j = 0; j < s; j++) {
                p[j] = (float) Math.exp(p[j] - max);
                sum += p[j];
            }
            float inv = 1f / sum;
            for (int e = 0; e < d; e++) {
                float acc = 0f;
                for (int j = 0; j < s; j++) {
                    acc += p[j] * v[vOff + (int) Panels.index(e, j, s)];
                }
                out[oOff + i * oStride + e] = acc * inv;
            }
        }
    }

    @Override
    public void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n) {
        if (residual != null) {
            for (int i = 0; i < n; i++) {
                x[i] += residual[i];
            }
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[i];
        }
        float mean = sum / n;
        float var = 0;
        for (int i = 0; i < n; i++) {
            float d = x[i] - mean;
            x[i] = d;
            var += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(var / n + eps));
        for (int i = 0; i < n; i++) {
            x[i] = x[i] * inv * gamma[i] + beta[i];
        }
    }

    @Override
    public void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c,
            int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int co = cOff + i * ldc;
            if (!accumulate) {
                java.util.Arrays.fill(c, co, co + n, 0f);
            }
            for (int p = 0; p < k; p++) {
                float av = a[aOff + i * lda + p];
                int bo = bOff + p * ldb;
                for (int j = 0; j < n; j++) {
                    c[co + j] += av * b[bo + j];
                }
            }
        }
    }

    @Override
    public void gelu(float[] x, float[] y, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] = Activation.GELU.apply(x[i]);
        }
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int from, int to) {
        for (int i = from; i < to; i++) {
            double v = x[i];
            double cdf = 0.5 * (1.0 + MathFunctions.erf(v * 0.7071067811865476));
            double pdf = 0.3989422804014327 * Math.exp(-0.5 * v * v);
            dx[i] = (float) (dy[i] * (cdf + v * pdf));
        }
    }
}
