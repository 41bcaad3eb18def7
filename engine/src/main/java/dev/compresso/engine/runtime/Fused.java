package dev.compresso.engine.runtime;

import static dev.compresso.engine.runtime.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.kernel.KernelPool;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Execution of the fused engine operators. */
final class Fused {
    /**
     * Op name of the fused dynamic fake-quantization ONNX Runtime's int8 models imply: per-tensor asymmetric
     * uint8 quantization ({@code DynamicQuantizeLinear}) immediately dequantized, so the following
     * {@link Linear} with int8 weights reproduces {@code MatMulInteger} exactly up to fp32 rounding.
     */
    static final String FAKE_QUANT = "DynamicFakeQuant";

    private Fused() {}

    static Tensor linear(Linear l, Tensor x, Ctx c) {
        int k = l.inFeatures(), n = l.outFeatures();
        if (x.dtype() != DType.FLOAT || x.rank() < 1 || x.dim(x.rank() - 1) != k) {
            throw Ops.fail("input " + x + " does not fit weights [" + n + ", " + k + "]");
        }
        int m = Math.toIntExact(x.size() / Math.max(k, 1));
        long[] os = x.shape();
        os[os.length - 1] = n;
        Tensor y = c.alloc(DType.FLOAT, os);
        if (c.observer != null) {
            c.observer.linearInput(l.name(), x.data(), m, k);
        }
        if (l.isStatic()) {
            if (!(l.weights() instanceof dev.compresso.engine.weights.Int8Panels q)) {
                throw Ops.fail("linear " + l.name() + ": static activation scale set on " + l.weights().format() + " weights");
            }
            Kernels.linearInt8Static(x.data(), m, q, l.staticActivationScale(), l.biasSegment(), l.activation(), y.data(),
                    c.threads);
            return y;
        }
        Kernels.linear(x.data(), m, l.weights(), l.biasSegment(), l.activation(), y.data(), l.int8Mode(), c.threads);
        return y;
    }

    static Tensor layerNorm(LayerNorm ln, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        if (in.length > 1 && in[1] != null) {
            Tensor r = in[1];
            // Fuse the residual add only when shapes agree; broadcast adds (e.g. position embeddings) go generic.
            if (!Arrays.equals(r.shape(), x.shape())) {
                x = Ops.binary("Add", x, r, c);
                in = new Tensor[] {x};
            }
        }
        int ch = ln.channels();
        if (x.dtype() != DType.FLOAT || x.rank() < 1 || x.dim(x.rank() - 1) != ch) {
            throw Ops.fail("input " + x + " does not fit " + ch + " channels");
        }
        Tensor y = c.alloc(DType.FLOAT, x.shape());
        int rows = Math.toIntExact(x.size() / Math.max(ch, 1));
        float[] g = ln.gamma(), b = ln.beta();
        float eps = ln.epsilon();
        MemorySegment xs = x.data(), rs = in.length > 1 && in[1] != null ? in[1].data() : null, ys = y.data();
        int t = Math.min(c.threads, Math.max(1, rows / 16));
        KernelPool.run(t, id -> {
            float[] row = new float[ch], tmp = rs == null ? null : new float[ch];
            for (int r = rows * id / t; r < rows * (id + 1) / t; r++) {
                long off = (long) r * ch * 4;
                MemorySegment.copy(xs, F, off, row, 0, ch);
                if (tmp != null) {
                    MemorySegment.copy(rs, F, off, tmp, 0, ch);
                    for (int i = 0; i < ch; i++) {
                        row[i] += tmp[i];
                    }
                }
                float sum = 0;
                for (int i = 0; i < ch; i++) {
                    sum += row[i];
                }
                float mean = sum / ch;
                float var = 0;
                for (int i = 0; i < ch; i++) {
                    float d = row[i] - mean;
                    row[i] = d;
                    var += d * d;
                }
                float inv = (float) (1.0 / Math.sqrt(var / ch + eps));
                for (int i = 0; i < ch; i++) {
                    row[i] = row[i] * inv * g[i] + b[i];
                }
                MemorySegment.copy(row, 0, ys, F, off, ch);
            }
        });
        return y;
    }

    static Tensor attention(Attention a, Tensor[] in, Ctx c) {
        Tensor q = in[0], k = in[1], v = in[2], mask = in.length > 3 ? in[3] : null;
        if (q.rank() != 3 || !Arrays.equals(q.shape(), k.shape()) || !Arrays.equals(q.shape(), v.shape())) {
            throw Ops.fail("q, k, v must be [B, S, H*D] of one shape: " + q + ", " + k + ", " + v);
        }
        int bsz = (int) q.dim(0), s = (int) q.dim(1), hd = (int) q.dim(2), h = a.heads();
        if (hd % h != 0) {
            throw Ops.fail("hidden size " + hd + " is not a multiple of " + h + " heads");
        }
        int d = hd / h;
        long[] msk = null;
        long[] mshape = {bsz, h, s, s};
        if (mask != null) {
            if (mask.dtype() != DType.FLOAT || mask.rank() > 4) {
                throw Ops.fail("attention mask must be float of rank <= 4: " + mask);
            }
            Ops.broadcast(mask.shape(), mshape);
            msk = Ops.bstrides(mask.shape(), mshape);
        }
        Tensor out = c.alloc(DType.FLOAT, q.shape());
        float scale = a.scale();
        MemorySegment Q = q.data(), K = k.data(), V = v.data(), O = out.data(), M = mask == null ? null : mask.data();
        long[] ms = msk;
        int tasks = bsz * h;
        int t = Math.min(c.threads, tasks);
        KernelPool.run(t, id -> {
            float[] kt = new float[d * s], vv = new float[s * d], qr = new float[d], sc = new float[s], o = new float[d];
            for (int task = tasks * id / t; task < tasks * (id + 1) / t; task++) {
                int b = task / h, head = task % h;
                long base = (long) b * s * hd + (long) head * d;
                // K transposed to [D][S] and V as [S][D]: inner loops become saxpy that C2 vectorizes.
                for (int j = 0; j < s; j++) {
                    long off = (base + (long) j * hd) * 4;
                    for (int e = 0; e < d; e++) {
                        kt[e * s + j] = K.getAtIndex(F, off / 4 + e);
                    }
                    MemorySegment.copy(V, F, off, vv, j * d, d);
                }
                for (int i = 0; i < s; i++) {
                    MemorySegment.copy(Q, F, (base + (long) i * hd) * 4, qr, 0, d);
                    Arrays.fill(sc, 0f);
                    for (int e = 0; e < d; e++) {
                        float qv = qr[e];
                        int ko = e * s;
                        for (int j = 0; j < s; j++) {
                            sc[j] += qv * kt[ko + j];
                        }
                    }
                    float max = Float.NEGATIVE_INFINITY;
                    long mo = ms == null ? 0 : b * ms[0] + head * ms[1] + i * ms[2];
                    for (int j = 0; j < s; j++) {
                        float val = sc[j] * scale;
                        if (ms != null) {
                            val += M.getAtIndex(F, mo + j * ms[3]);
                        }
                        sc[j] = val;
                        max = Math.max(max, val);
                    }
                    float sum = 0;
                    for (int j = 0; j < s; j++) {
                        float e = (float) Math.exp(sc[j] - max);
                        sc[j] = e;
                        sum += e;
                    }
                    float inv = 1f / sum;
                    Arrays.fill(o, 0f);
                    for (int j = 0; j < s; j++) {
                        float p = sc[j] * inv;
                        int vo = j * d;
                        for (int e = 0; e < d; e++) {
                            o[e] += p * vv[vo + e];
                        }
                    }
                    MemorySegment.copy(o, 0, O, F, (base + (long) i * hd) * 4, d);
                }
            }
        });
        return out;
    }

    static Tensor fakeQuant(Tensor x, Ctx c) {
        if (x.dtype() != DType.FLOAT) {
            throw Ops.fail(FAKE_QUANT + " of " + x.dtype());
        }
        long n = x.size();
        float[] p = Quant.dynamicParams(x.data(), n);
        float scale = p[0], zp = p[1];
        Tensor y = c.alloc(DType.FLOAT, x.shape());
        MemorySegment s = x.data(), d = y.data();
        for (long i = 0; i < n; i++) {
            float q = scale == 0f ? zp : Math.clamp((float) Math.rint(s.getAtIndex(F, i) / scale) + zp, 0f, 255f);
            d.setAtIndex(F, i, (q - zp) * scale);
        }
        return y;
    }
}
