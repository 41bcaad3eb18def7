package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** ONNX quantization operators, faithful to ONNX Runtime's arithmetic (asymmetric uint8, round half to even). */
final class QuantOps implements Operator {
    @Override
    public List<String> names() {
        return List.of("MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear", "QuantizeLinear");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return switch (n.op()) {
            case "MatMulInteger" -> new Tensor[] {matMulInteger(in, c)};
            case "DynamicQuantizeLinear" -> dynamicQuantizeLinear(in[0], c);
            case "DequantizeLinear" -> new Tensor[] {dequantizeLinear(n, in, c)};
            default -> new Tensor[] {quantizeLinear(n, in, c)};
        };
    }

    /** {@code A·B} in int32 with zero points; A is {@code [..., M, K]}, B is {@code [K, N]}. */
    static Tensor matMulInteger(Tensor[] in, Ctx c) {
        Tensor a = in[0], b = in[1];
        Tensor za = in.length > 2 ? in[2] : null, zb = in.length > 3 ? in[3] : null;
        if (b.rank() != 2 || a.rank() < 2) {
            throw fail("MatMulInteger supports A of rank >= 2 and 2-D B, got " + Arrays.toString(a.shape())
                    + " x " + Arrays.toString(b.shape()));
        }
        int k = (int) a.dim(a.rank() - 1), n = (int) b.dim(1), m = (int) (a.size() / Math.max(k, 1));
        if (b.dim(0) != k) {
            throw fail("MatMulInteger shapes " + Arrays.toString(a.shape()) + " x " + Arrays.toString(b.shape()));
        }
        if (za != null && za.size() != 1) {
            throw fail("MatMulInteger: per-row a_zero_point is not supported");
        }
        int zA = za == null ? 0 : (int) Vals.getLong(za.dtype(), za.data(), 0);
        int[] bi = new int[k * n];
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                int zbv = zb == null ? 0 : (int) Vals.getLong(zb.dtype(), zb.data(), zb.size() == 1 ? 0 : j);
                bi[p * n + j] = (int) Vals.getLong(b.dtype(), b.data(), (long) p * n + j) - zbv;
            }
        }
        long[] os = a.shape();
        os[os.length - 1] = n;
        Tensor out = c.alloc(DType.INT32, os);
        DType at = a.dtype();
        MemorySegment A = a.data(), C = out.data();
        dev.compresso.engine.kernel.KernelPool.run(Math.min(c.threads, Math.max(m, 1)), t -> {
            int tt = Math.min(c.threads, Math.max(m, 1));
            int[] row = new int[n];
            int[] ar = new int[k];
            for (int i = m * t / tt; i < m * (t + 1) / tt; i++) {
                for (int p = 0; p < k; p++) {
                    ar[p] = (int) Vals.getLong(at, A, (long) i * k + p) - zA;
                }
                Arrays.fill(row, 0);
                for (int p = 0; p < k; p++) {
                    int av = ar[p];
                    if (av == 0) {
                        continue;
                    }
                    int bo = p * n;
                    for (int j = 0; j < n; j++) {
                        row[j] += av * bi[bo + j];
                    }
                }
                MemorySegment.copy(row, 0, C, Vals.I, (long) i * n * 4, n);
            }
        });
        return out;
    }

    /** Per-tensor scale and zero point as ONNX {@code DynamicQuantizeLinear} defines them. */
    static float[] dynamicParams(MemorySegment x, long n) {
        float min = 0f, max = 0f;
        for (long i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float scale = (max - min) / 255f;
        float zp = scale == 0f ? 0f : (float) Math.rint(Math.clamp(0f - min / scale, 0f, 255f));
        return new float[] {scale, zp};
    }

    static Tensor[] dynamicQuantizeLinear(Tensor x, Ctx c) {
        if (x.dtype() != DType.FLOAT) {
            throw fail("DynamicQuantizeLinear of " + x.dtype());
        }
        long n = x.size();
        float[] p = dynamicParams(x.data(), n);
        float scale = p[0], zp = p[1];
        Tensor y = c.alloc(DType.UINT8, x.shape());
        Tensor ys = c.alloc(DType.FLOAT, new long[0]);
        Tensor yz = c.alloc(DType.UINT8, new long[0]);
        ys.data().set(F, 0, scale);
        yz.data().set(Vals.B, 0, (byte) (int) zp);
        MemorySegment s = x.data(), d = y.data();
        for (long i = 0; i < n; i++) {
            float q = scale == 0f ? zp : Math.clamp((float) Math.rint(s.getAtIndex(F, i) / scale) + zp, 0f, 255f);
            d.set(Vals.B, i, (byte) (int) q);
        }
        return new Tensor[] {y, ys, yz};
    }

    static Tensor dequantizeLinear(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0], scale = in[1], zp = in.length > 2 ? in[2] : null;
        Tensor out = c.alloc(DType.FLOAT, x.shape());
        long per = scale.size();
        int r = x.rank();
        long inner = 1, dim = 1;
        if (per > 1) {
            int ax = axis(nd.intAttr("axis", 1), r, "DequantizeLinear");
            dim = x.dim(ax);
            for (int d = ax + 1; d < r; d++) {
                inner *= x.dim(d);
            }
            if (dim != per) {
                throw fail("DequantizeLinear: " + per + " scales for axis of size " + dim);
            }
        }
        for (long i = 0, n = x.size(); i < n; i++) {
            long ch = per > 1 ? (i / inner) % dim : 0;
            float s = scale.data().getAtIndex(F, ch);
            long z = zp == null ? 0 : Vals.getLong(zp.dtype(), zp.data(), ch);
            out.data().setAtIndex(F, i, (Vals.getLong(x.dtype(), x.data(), i) - z) * s);
        }
        return out;
    }

    static Tensor quantizeLinear(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0], scale = in[1], zp = in.length > 2 ? in[2] : null;
        DType t = zp == null ? DType.UINT8 : zp.dtype();
        int lo = t == DType.INT8 ? -128 : 0, hi = t == DType.INT8 ? 127 : 255;
        if (scale.size() != 1) {
            throw fail("QuantizeLinear: per-axis scales are not supported");
        }
        float s = scale.data().getAtIndex(F, 0);
        long z = zp == null ? 0 : Vals.getLong(t, zp.data(), 0);
        Tensor out = c.alloc(t, x.shape());
        for (long i = 0, n = x.size(); i < n; i++) {
            float q = Math.clamp((float) Math.rint(x.data().getAtIndex(F, i) / s) + z, lo, hi);
            out.data().set(Vals.B, i, (byte) (int) q);
        }
        return out;
    }
}
