package dev.compresso.engine.runtime;

import static dev.compresso.engine.runtime.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.MathFunctions;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Set;

/** Reference implementations of the ONNX operators the engine runs unfused. */
final class Ops {
    private Ops() {}

    /** Default-domain ONNX operators this class executes. */
    static final Set<String> SUPPORTED = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater",
            "Sqrt", "Erf", "Tanh", "Exp", "Neg", "Relu", "Sigmoid", "Abs", "Reciprocal", "Not", "MatMul", "Gemm",
            "Softmax", "ReduceMean", "ReduceSum", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten",
            "Concat", "Slice", "Gather", "Shape", "Cast", "Constant", "ConstantOfShape", "Expand", "Where",
            "Identity", "MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear", "QuantizeLinear", "Gelu",
            "Range");

    static final class Fail extends RuntimeException {
        Fail(String msg) {
            super(msg, null, false, false);
        }
    }

    static Fail fail(String msg) {
        return new Fail(msg);
    }

    /** Runs one node; {@code in[i]} is null for an omitted optional input. */
    static Tensor[] run(Node n, Tensor[] in, Ctx c) throws ModelException {
        String op = n.op();
        return switch (op) {
            case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater" -> one(binary(op, in[0], in[1], c));
            case "Sqrt", "Erf", "Tanh", "Exp", "Neg", "Relu", "Sigmoid", "Abs", "Reciprocal", "Gelu" ->
                    one(unary(op, in[0], c));
            case "Not" -> one(not(in[0], c));
            case "Identity" -> one(in[0]);
            case "MatMul" -> one(matmul(in[0], in[1], c));
            case "Gemm" -> one(gemm(n, in, c));
            case "Softmax" -> one(softmax(n, in[0], c));
            case "ReduceMean", "ReduceSum" -> one(reduce(n, in, c));
            case "Transpose" -> one(transpose(n, in[0], c));
            case "Reshape" -> one(reshape(n, in[0], in[1]));
            case "Unsqueeze" -> one(unsqueeze(n, in, c));
            case "Squeeze" -> one(squeeze(n, in, c));
            case "Flatten" -> one(flatten(n, in[0]));
            case "Concat" -> one(concat(n, in, c));
            case "Slice" -> one(slice(n, in, c));
            case "Gather" -> one(gather(n, in[0], in[1], c));
            case "Shape" -> one(shape(n, in[0], c));
            case "Cast" -> one(cast(in[0], dtypeAttr(n, "to"), c));
            case "Constant" -> one(constant(n, c));
            case "ConstantOfShape" -> one(constantOfShape(n, in[0], c));
            case "Expand" -> one(expand(in[0], in[1], c));
            case "Where" -> one(where(in[0], in[1], in[2], c));
            case "Range" -> one(range(in, c));
            case "MatMulInteger" -> one(Quant.matMulInteger(in, c));
            case "DynamicQuantizeLinear" -> Quant.dynamicQuantizeLinear(in[0], c);
            case "DequantizeLinear" -> one(Quant.dequantizeLinear(n, in, c));
            case "QuantizeLinear" -> one(Quant.quantizeLinear(n, in, c));
            default -> throw fail("unsupported operator " + op);
        };
    }

    private static Tensor[] one(Tensor t) {
        return new Tensor[] {t};
    }

    static DType dtypeAttr(Node n, String name) {
        Attribute a = n.attribute(name);
        if (a == null) {
            throw fail("missing attribute '" + name + "'");
        }
        DType t = DType.fromOnnx((int) a.i());
        if (t == null) {
            throw fail("unsupported data type " + a.i() + " in attribute '" + name + "'");
        }
        return t;
    }

    // ---- shapes and broadcasting ----

    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] o = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw fail("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /** Element strides of {@code s} aligned to output rank {@code r}, 0 on broadcast dimensions. */
    static long[] bstrides(long[] s, long[] out) {
        int r = out.length;
        long[] st = new long[r];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            int oi = i + r - s.length;
            st[oi] = s[i] == 1 && out[oi] != 1 ? 0 : acc;
            acc *= s[i];
        }
        return st;
    }

    static long[] strides(long[] s) {
        long[] st = new long[s.length];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s[i];
        }
        return st;
    }

    /** For each output row (all dimensions but the last), the element offset of each input. */
    static long[][] rowOffsets(long[] out, long[]... strides) {
        int r = out.length;
        long rows = 1;
        for (int i = 0; i < r - 1; i++) {
            rows *= out[i];
        }
        long[][] offs = new long[strides.length][Math.toIntExact(rows)];
        long[] idx = new long[Math.max(0, r - 1)];
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < strides.length; k++) {
                long o = 0;
                for (int d = 0; d < r - 1; d++) {
                    o += idx[d] * strides[k][d];
                }
                offs[k][row] = o;
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < out[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return offs;
    }

    // ---- element-wise ----

    /**
     * Float rows whose first operand is contiguous and whose second is contiguous or one value per row (the
     * common cases: residual and embedding adds, scaling): rows go through {@code float[]} buffers, where the
     * loops compile to vector code, instead of an indexed segment access per element.
     */
    private static void floatRows(int code, MemorySegment da, MemorySegment db, MemorySegment dc, long[][] offs,
            int rows, int inner, boolean bScalar) {
        float[] x = new float[inner], y = new float[inner];
        for (int row = 0; row < rows; row++) {
            MemorySegment.copy(da, F, offs[0][row] * 4, x, 0, inner);
            if (bScalar) {
                java.util.Arrays.fill(y, db.getAtIndex(F, offs[1][row]));
            } else {
                MemorySegment.copy(db, F, offs[1][row] * 4, y, 0, inner);
            }
            switch (code) {
                case 0 -> { for (int j = 0; j < inner; j++) x[j] += y[j]; }
                case 1 -> { for (int j = 0; j < inner; j++) x[j] -= y[j]; }
                case 2 -> { for (int j = 0; j < inner; j++) x[j] *= y[j]; }
                case 3 -> { for (int j = 0; j < inner; j++) x[j] /= y[j]; }
                default -> {
                    for (int j = 0; j < inner; j++) {
                        x[j] = y[j] == 2f ? x[j] * x[j] : (float) Math.pow(x[j], y[j]);
                    }
                }
            }
            MemorySegment.copy(x, 0, dc, F, (long) row * inner * 4, inner);
        }
    }

    static Tensor binary(String op, Tensor a, Tensor b, Ctx c) {
        long[] os = broadcast(a.shape(), b.shape());
        boolean cmp = op.equals("Equal") || op.equals("Less") || op.equals("Greater");
        DType t = a.dtype();
        if (t != b.dtype() && !(op.equals("Pow"))) {
            throw fail(op + " of " + a.dtype() + " and " + b.dtype());
        }
        Tensor out = c.alloc(cmp ? DType.BOOL : t, os);
        long n = out.size();
        if (n == 0) {
            return out;
        }
        int r = os.length;
        long inner = r == 0 ? 1 : os[r - 1];
        long[] sa = bstrides(a.shape(), os), sb = bstrides(b.shape(), os);
        long ia = r == 0 ? 0 : sa[r - 1], ib = r == 0 ? 0 : sb[r - 1];
        long[][] offs = rowOffsets(os, sa, sb);
        MemorySegment da = a.data(), db = b.data(), dc = out.data();
        int rows = offs[0].length;
        if (t == DType.FLOAT && !cmp && b.dtype() == DType.FLOAT) {
            int code = switch (op) {
                case "Add" -> 0;
                case "Sub" -> 1;
                case "Mul" -> 2;
                case "Div" -> 3;
                default -> 4;
            };
            if (ia == 1 && (ib == 1 || ib == 0) && inner <= (1 << 20)) {
                floatRows(code, da, db, dc, offs, rows, (int) inner, ib == 0);
                return out;
            }
            for (int row = 0; row < rows; row++) {
                long oa = offs[0][row], ob = offs[1][row], oc = row * inner;
                for (long j = 0; j < inner; j++) {
                    float x = da.getAtIndex(F, oa + j * ia), y = db.getAtIndex(F, ob + j * ib);
                    float v = switch (code) {
                        case 0 -> x + y;
                        case 1 -> x - y;
                        case 2 -> x * y;
                        case 3 -> x / y;
                        default -> y == 2f ? x * x : (float) Math.pow(x, y);
                    };
                    dc.setAtIndex(F, oc + j, v);
                }
            }
            return out;
        }
        DType bt = b.dtype();
        boolean integral = Vals.isInt(t);
        for (int row = 0; row < rows; row++) {
            long oa = offs[0][row], ob = offs[1][row], oc = row * inner;
            for (long j = 0; j < inner; j++) {
                if (integral && Vals.isInt(bt)) {
                    long x = Vals.getLong(t, da, oa + j * ia), y = Vals.getLong(bt, db, ob + j * ib);
                    long v = switch (op) {
                        case "Add" -> x + y;
                        case "Sub" -> x - y;
                        case "Mul" -> x * y;
                        case "Div" -> y == 0 ? 0 : x / y;
                        case "Pow" -> (long) Math.pow(x, y);
                        case "Equal" -> x == y ? 1 : 0;
                        case "Less" -> x < y ? 1 : 0;
                        default -> x > y ? 1 : 0;
                    };
                    Vals.setLong(out.dtype(), dc, oc + j, v);
                } else {
                    double x = Vals.get(t, da, oa + j * ia), y = Vals.get(bt, db, ob + j * ib);
                    double v = switch (op) {
                        case "Add" -> (float) x + (float) y;
                        case "Sub" -> (float) x - (float) y;
                        case "Mul" -> (float) x * (float) y;
                        case "Div" -> (float) x / (float) y;
                        case "Pow" -> Math.pow(x, y);
                        case "Equal" -> x == y ? 1 : 0;
                        case "Less" -> x < y ? 1 : 0;
                        default -> x > y ? 1 : 0;
                    };
                    Vals.set(out.dtype(), dc, oc + j, v);
                }
            }
        }
        return out;
    }

    static Tensor unary(String op, Tensor a, Ctx c) {
        if (a.dtype() != DType.FLOAT) {
            if (op.equals("Neg") || op.equals("Abs") || op.equals("Relu")) {
                Tensor out = c.alloc(a.dtype(), a.shape());
                for (long i = 0, n = a.size(); i < n; i++) {
                    long x = Vals.getLong(a.dtype(), a.data(), i);
                    Vals.setLong(a.dtype(), out.data(), i, op.equals("Neg") ? -x : op.equals("Abs") ? Math.abs(x) : Math.max(0, x));
                }
                return out;
            }
            throw fail(op + " of " + a.dtype() + " is not supported");
        }
        Tensor out = c.alloc(DType.FLOAT, a.shape());
        MemorySegment s = a.data(), d = out.data();
        for (long i = 0, n = a.size(); i < n; i++) {
            float x = s.getAtIndex(F, i);
            float v = switch (op) {
                case "Sqrt" -> (float) Math.sqrt(x);
                case "Erf" -> (float) MathFunctions.erf(x);
                case "Tanh" -> (float) Math.tanh(x);
                case "Exp" -> (float) Math.exp(x);
                case "Neg" -> -x;
                case "Relu" -> Math.max(0f, x);
                case "Sigmoid" -> (float) (1 / (1 + Math.exp(-x)));
                case "Abs" -> Math.abs(x);
                case "Reciprocal" -> 1f / x;
                default -> (float) (0.5 * x * (1.0 + MathFunctions.erf(x * 0.7071067811865476)));
            };
            d.setAtIndex(F, i, v);
        }
        return out;
    }

    static Tensor not(Tensor a, Ctx c) {
        Tensor out = c.alloc(DType.BOOL, a.shape());
        for (long i = 0, n = a.size(); i < n; i++) {
            out.data().set(Vals.B, i, (byte) (a.data().get(Vals.B, i) == 0 ? 1 : 0));
        }
        return out;
    }

    // ---- linear algebra ----

    static Tensor matmul(Tensor a, Tensor b, Ctx c) {
        if (a.dtype() != DType.FLOAT || b.dtype() != DType.FLOAT) {
            throw fail("MatMul of " + a.dtype() + " and " + b.dtype() + " (only float)");
        }
        long[] as = a.shape(), bs = b.shape();
        boolean aVec = as.length == 1, bVec = bs.length == 1;
        if (aVec) {
            as = new long[] {1, as[0]};
        }
        if (bVec) {
            bs = new long[] {bs[0], 1};
        }
        if (as.length < 2 || bs.length < 2) {
            throw fail("MatMul of scalars");
        }
        long m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != k2) {
            throw fail("MatMul shapes " + Arrays.toString(a.shape()) + " x " + Arrays.toString(b.shape()));
        }
        long[] ab = Arrays.copyOf(as, as.length - 2), bb = Arrays.copyOf(bs, bs.length - 2);
        long[] batch = broadcast(ab, bb);
        long[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = m;
        os[batch.length + 1] = n;
        long[] sa = bstrides(ab, batch), sb = bstrides(bb, batch);
        long nb = Tensor.count(batch);
        Tensor out = c.alloc(DType.FLOAT, os);
        int M = (int) m, K = (int) k, N = (int) n;
        long[] idx = new long[batch.length];
        long[] aOff = new long[(int) nb], bOff = new long[(int) nb];
        for (int bi = 0; bi < nb; bi++) {
            long oa = 0, ob = 0;
            for (int d = 0; d < batch.length; d++) {
                oa += idx[d] * sa[d];
                ob += idx[d] * sb[d];
            }
            aOff[bi] = oa * M * K;
            bOff[bi] = ob * K * N;
            for (int d = batch.length - 1; d >= 0; d--) {
                if (++idx[d] < batch[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        MemorySegment A = a.data(), B = b.data(), C = out.data();
        dev.compresso.engine.kernel.KernelPool.run((int) Math.min(c.threads, nb), t -> {
            float[] bufA = new float[M * K], bufB = new float[K * N], bufC = new float[M * N];
            int tt = (int) Math.min(c.threads, nb);
            for (long bi = nb * t / tt; bi < nb * (t + 1) / tt; bi++) {
                MemorySegment.copy(A, F, aOff[(int) bi] * 4, bufA, 0, M * K);
                MemorySegment.copy(B, F, bOff[(int) bi] * 4, bufB, 0, K * N);
                Arrays.fill(bufC, 0f);
                gemmRowMajor(bufA, bufB, bufC, M, K, N);
                MemorySegment.copy(bufC, 0, C, F, bi * M * N * 4, M * N);
            }
        });
        if (aVec || bVec) {
            long[] fs = os;
            if (aVec) {
                fs = remove(fs, fs.length - 2);
            }
            if (bVec) {
                fs = remove(fs, fs.length - 1);
            }
            return Tensor.of(DType.FLOAT, fs, out.data());
        }
        return out;
    }

    private static long[] remove(long[] s, int i) {
        long[] o = new long[s.length - 1];
        System.arraycopy(s, 0, o, 0, i);
        System.arraycopy(s, i + 1, o, i, s.length - i - 1);
        return o;
    }

    /** C += A·B, all row-major; the inner loop is a saxpy C2 vectorizes. */
    static void gemmRowMajor(float[] a, float[] b, float[] c, int m, int k, int n) {
        for (int i = 0; i < m; i++) {
            int co = i * n;
            for (int p = 0; p < k; p++) {
                float av = a[i * k + p];
                int bo = p * n;
                for (int j = 0; j < n; j++) {
                    c[co + j] += av * b[bo + j];
                }
            }
        }
    }

    static Tensor gemm(Node nd, Tensor[] in, Ctx c) {
        Tensor a = in[0], b = in[1], cc = in.length > 2 ? in[2] : null;
        boolean ta = nd.intAttr("transA", 0) != 0, tb = nd.intAttr("transB", 0) != 0;
        float alpha = nd.floatAttr("alpha", 1f), beta = nd.floatAttr("beta", 1f);
        if (a.rank() != 2 || b.rank() != 2) {
            throw fail("Gemm needs 2-D inputs");
        }
        int m = (int) (ta ? a.dim(1) : a.dim(0)), k = (int) (ta ? a.dim(0) : a.dim(1));
        int k2 = (int) (tb ? b.dim(1) : b.dim(0)), n = (int) (tb ? b.dim(0) : b.dim(1));
        if (k != k2) {
            throw fail("Gemm shapes " + Arrays.toString(a.shape()) + " x " + Arrays.toString(b.shape()));
        }
        Tensor out = c.alloc(DType.FLOAT, new long[] {m, n});
        MemorySegment A = a.data(), B = b.data(), C = out.data();
        long[] scs = null;
        if (cc != null) {
            broadcast(cc.shape(), new long[] {m, n});
            scs = bstrides(cc.shape(), new long[] {m, n});
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float x = A.getAtIndex(F, ta ? (long) p * m + i : (long) i * k + p);
                    float y = B.getAtIndex(F, tb ? (long) j * k + p : (long) p * n + j);
                    s += x * y;
                }
                float v = alpha * (float) s;
                if (cc != null) {
                    v += beta * cc.data().getAtIndex(F, i * scs[0] + j * scs[1]);
                }
                C.setAtIndex(F, (long) i * n + j, v);
            }
        }
        return out;
    }

    static int axis(long axis, int rank, String what) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1)) {
            throw fail(what + " axis " + axis + " out of range for rank " + rank);
        }
        return (int) a;
    }

    static Tensor softmax(Node nd, Tensor x, Ctx c) {
        int r = x.rank();
        int ax = axis(nd.intAttr("axis", c.opset >= 13 ? -1 : 1), r, "Softmax");
        long[] s = x.shape();
        long outer = 1, len = 1, inner = 1;
        if (c.opset >= 13) {
            for (int i = 0; i < ax; i++) {
                outer *= s[i];
            }
            len = s[ax];
            for (int i = ax + 1; i < r; i++) {
                inner *= s[i];
            }
        } else {
            // Before opset 13 Softmax flattens to 2-D at `axis`.
            for (int i = 0; i < ax; i++) {
                outer *= s[i];
            }
            for (int i = ax; i < r; i++) {
                len *= s[i];
            }
        }
        Tensor out = c.alloc(DType.FLOAT, s);
        MemorySegment in = x.data(), o = out.data();
        for (long a = 0; a < outer; a++) {
            for (long b = 0; b < inner; b++) {
                long base = a * len * inner + b;
                float max = Float.NEGATIVE_INFINITY;
                for (long i = 0; i < len; i++) {
                    max = Math.max(max, in.getAtIndex(F, base + i * inner));
                }
                double sum = 0;
                for (long i = 0; i < len; i++) {
                    float e = (float) Math.exp(in.getAtIndex(F, base + i * inner) - max);
                    o.setAtIndex(F, base + i * inner, e);
                    sum += e;
                }
                float inv = (float) (1 / sum);
                for (long i = 0; i < len; i++) {
                    o.setAtIndex(F, base + i * inner, o.getAtIndex(F, base + i * inner) * inv);
                }
            }
        }
        return out;
    }

    static Tensor reduce(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        int r = x.rank();
        long[] axes;
        boolean fromInput = (nd.op().equals("ReduceSum") && c.opset >= 13) || c.opset >= 18;
        if (fromInput) {
            axes = in.length > 1 && in[1] != null ? Vals.longs(in[1]) : null;
        } else {
            Attribute a = nd.attribute("axes");
            axes = a == null ? null : a.ints();
        }
        boolean keep = nd.intAttr("keepdims", 1) != 0;
        boolean[] red = new boolean[r];
        if (axes == null || axes.length == 0) {
            if (fromInput && nd.intAttr("noop_with_empty_axes", 0) != 0) {
                return x;
            }
            Arrays.fill(red, true);
        } else {
            for (long a : axes) {
                red[axis(a, r, nd.op())] = true;
            }
        }
        long[] s = x.shape();
        long[] ks = new long[r];
        int nk = 0;
        for (int i = 0; i < r; i++) {
            ks[i] = red[i] ? 1 : s[i];
            if (!red[i] || keep) {
                nk++;
            }
        }
        long[] os = new long[nk];
        for (int i = 0, j = 0; i < r; i++) {
            if (!red[i] || keep) {
                os[j++] = ks[i];
            }
        }
        long cnt = 1;
        for (int i = 0; i < r; i++) {
            if (red[i]) {
                cnt *= s[i];
            }
        }
        boolean mean = nd.op().equals("ReduceMean");
        Tensor out = c.alloc(x.dtype(), os);
        long[] kst = strides(ks);
        long[] idx = new long[r];
        long n = x.size();
        double[] acc = new double[Math.toIntExact(out.size())];
        // Fast path: reducing the last axis only.
        if (r > 0 && red[r - 1] && cnt == s[r - 1] && x.dtype() == DType.FLOAT) {
            long len = s[r - 1];
            for (int o = 0; o < acc.length; o++) {
                float sum = 0;
                for (long j = 0; j < len; j++) {
                    sum += x.data().getAtIndex(F, o * len + j);
                }
                out.data().setAtIndex(F, o, mean ? sum / len : sum);
            }
            return out;
        }
        for (long i = 0; i < n; i++) {
            long o = 0;
            for (int d = 0; d < r; d++) {
                if (!red[d]) {
                    o += idx[d] * kst[d];
                }
            }
            acc[(int) o] += Vals.get(x.dtype(), x.data(), i);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < s[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        for (int o = 0; o < acc.length; o++) {
            Vals.set(x.dtype(), out.data(), o, mean ? acc[o] / cnt : acc[o]);
        }
        return out;
    }

    // ---- data movement ----

    static Tensor transpose(Node nd, Tensor x, Ctx c) {
        int r = x.rank();
        Attribute pa = nd.attribute("perm");
        int[] perm = new int[r];
        if (pa == null) {
            for (int i = 0; i < r; i++) {
                perm[i] = r - 1 - i;
            }
        } else {
            long[] p = pa.ints();
            if (p.length != r) {
                throw fail("Transpose perm " + Arrays.toString(p) + " for rank " + r);
            }
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                perm[i] = axis(p[i], r, "Transpose");
                if (seen[perm[i]]) {
                    throw fail("Transpose perm " + Arrays.toString(p) + " repeats an axis");
                }
                seen[perm[i]] = true;
            }
        }
        long[] s = x.shape(), os = new long[r], st = strides(s), pst = new long[r];
        for (int i = 0; i < r; i++) {
            os[i] = s[perm[i]];
            pst[i] = st[perm[i]];
        }
        return gatherStrided(x, os, pst, 0, c);
    }

    /** Copies {@code x} read at {@code offset + Σ idx[d]·strides[d]} into a new tensor of shape {@code os}. */
    static Tensor gatherStrided(Tensor x, long[] os, long[] st, long offset, Ctx c) {
        Tensor out = c.alloc(x.dtype(), os);
        int r = os.length;
        long n = out.size();
        if (n == 0) {
            return out;
        }
        int eb = x.dtype().bytes();
        MemorySegment src = x.data(), dst = out.data();
        long inner = r == 0 ? 1 : os[r - 1], ist = r == 0 ? 1 : st[r - 1];
        long[] idx = new long[Math.max(r - 1, 0)];
        long rows = n / Math.max(inner, 1);
        for (long row = 0; row < rows; row++) {
            long o = offset;
            for (int d = 0; d < r - 1; d++) {
                o += idx[d] * st[d];
            }
            long dstOff = row * inner;
            if (ist == 1) {
                MemorySegment.copy(src, o * eb, dst, dstOff * eb, inner * eb);
            } else if (eb == 4) {
                for (long j = 0; j < inner; j++) {
                    dst.setAtIndex(Vals.I, dstOff + j, src.getAtIndex(Vals.I, o + j * ist));
                }
            } else {
                for (long j = 0; j < inner; j++) {
                    MemorySegment.copy(src, (o + j * ist) * eb, dst, (dstOff + j) * eb, eb);
                }
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < os[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    static Tensor reshape(Node nd, Tensor x, Tensor shapeT) {
        long[] req = Vals.longs(shapeT);
        boolean allowZero = nd.intAttr("allowzero", 0) != 0;
        long[] s = x.shape();
        long[] os = new long[req.length];
        int minus = -1;
        long known = 1;
        for (int i = 0; i < req.length; i++) {
            long d = req[i];
            if (d == 0 && !allowZero) {
                if (i >= s.length) {
                    throw fail("Reshape: 0 at index " + i + " but input has rank " + s.length);
                }
                d = s[i];
            }
            if (d == -1) {
                if (minus >= 0) {
                    throw fail("Reshape: more than one -1 in " + Arrays.toString(req));
                }
                minus = i;
                continue;
            }
            if (d < 0) {
                throw fail("Reshape: invalid dimension " + d);
            }
            os[i] = d;
            known *= d;
        }
        long n = x.size();
        if (minus >= 0) {
            if (known == 0 || n % known != 0) {
                throw fail("Reshape " + Arrays.toString(s) + " to " + Arrays.toString(req));
            }
            os[minus] = n / known;
        } else if (known != n) {
            throw fail("Reshape " + Arrays.toString(s) + " to " + Arrays.toString(req));
        }
        return Tensor.of(x.dtype(), os, x.data());
    }

    static long[] axesOf(Node nd, Tensor[] in, Ctx c) {
        if (c.opset >= 13) {
            return in.length > 1 && in[1] != null ? Vals.longs(in[1]) : null;
        }
        Attribute a = nd.attribute("axes");
        return a == null ? null : a.ints();
    }

    static Tensor unsqueeze(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        long[] axes = axesOf(nd, in, c);
        if (axes == null) {
            throw fail("Unsqueeze without axes");
        }
        int r = x.rank() + axes.length;
        boolean[] ins = new boolean[r];
        for (long a : axes) {
            int ax = axis(a, r, "Unsqueeze");
            if (ins[ax]) {
                throw fail("Unsqueeze repeats axis " + a);
            }
            ins[ax] = true;
        }
        long[] s = x.shape(), os = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            os[i] = ins[i] ? 1 : s[j++];
        }
        return Tensor.of(x.dtype(), os, x.data());
    }

    static Tensor squeeze(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        long[] axes = axesOf(nd, in, c);
        long[] s = x.shape();
        boolean[] rem = new boolean[s.length];
        if (axes == null) {
            for (int i = 0; i < s.length; i++) {
                rem[i] = s[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = axis(a, s.length, "Squeeze");
                if (s[ax] != 1) {
                    throw fail("Squeeze axis " + a + " has size " + s[ax]);
                }
                rem[ax] = true;
            }
        }
        long[] os = java.util.stream.IntStream.range(0, s.length).filter(i -> !rem[i]).mapToLong(i -> s[i]).toArray();
        return Tensor.of(x.dtype(), os, x.data());
    }

    static Tensor flatten(Node nd, Tensor x) {
        int r = x.rank();
        long a = nd.intAttr("axis", 1);
        int ax = (int) (a < 0 ? a + r : a);
        if (ax < 0 || ax > r) {
            throw fail("Flatten axis " + a + " for rank " + r);
        }
        long outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= x.dim(i);
        }
        return Tensor.of(x.dtype(), new long[] {outer, outer == 0 ? 0 : x.size() / outer}, x.data());
    }

    static Tensor concat(Node nd, Tensor[] in, Ctx c) {
        Tensor first = in[0];
        int r = first.rank();
        int ax = axis(nd.intAttr("axis", 0), r, "Concat");
        long[] os = first.shape();
        long total = 0;
        for (Tensor t : in) {
            if (t.rank() != r || t.dtype() != first.dtype()) {
                throw fail("Concat inputs differ in rank or type");
            }
            for (int d = 0; d < r; d++) {
                if (d != ax && t.dim(d) != os[d]) {
                    throw fail("Concat shapes " + Arrays.toString(first.shape()) + " and " + Arrays.toString(t.shape()));
                }
            }
            total += t.dim(ax);
        }
        os[ax] = total;
        Tensor out = c.alloc(first.dtype(), os);
        long outer = 1;
        for (int d = 0; d < ax; d++) {
            outer *= os[d];
        }
        long innerBytes = (long) first.dtype().bytes();
        for (int d = ax + 1; d < r; d++) {
            innerBytes *= os[d];
        }
        long pos = 0;
        for (Tensor t : in) {
            long chunk = t.dim(ax) * innerBytes;
            for (long o = 0; o < outer; o++) {
                MemorySegment.copy(t.data(), o * chunk, out.data(), o * total * innerBytes + pos, chunk);
            }
            pos += chunk;
        }
        return out;
    }

    static Tensor slice(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        int r = x.rank();
        long[] starts, ends, axes, steps;
        if (c.opset >= 10) {
            starts = Vals.longs(in[1]);
            ends = Vals.longs(in[2]);
            axes = in.length > 3 && in[3] != null ? Vals.longs(in[3]) : null;
            steps = in.length > 4 && in[4] != null ? Vals.longs(in[4]) : null;
        } else {
            starts = nd.attribute("starts").ints();
            ends = nd.attribute("ends").ints();
            axes = nd.attribute("axes") == null ? null : nd.attribute("axes").ints();
            steps = null;
        }
        if (starts.length != ends.length || (axes != null && axes.length != starts.length)
                || (steps != null && steps.length != starts.length)) {
            throw fail("Slice starts/ends/axes/steps lengths differ");
        }
        long[] s = x.shape(), st = strides(s);
        long[] b = new long[r], os = s.clone(), step = new long[r];
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            int ax = axis(axes == null ? i : axes[i], r, "Slice");
            long stp = steps == null ? 1 : steps[i];
            if (stp == 0) {
                throw fail("Slice step 0");
            }
            long dim = s[ax];
            long lo = starts[i], hi = ends[i];
            if (lo < 0) {
                lo += dim;
            }
            if (hi < 0 && hi > Long.MIN_VALUE / 2) {
                hi += dim;
            }
            if (stp > 0) {
                lo = Math.clamp(lo, 0, dim);
                hi = Math.clamp(hi, 0, dim);
                os[ax] = hi > lo ? (hi - lo + stp - 1) / stp : 0;
            } else {
                lo = Math.clamp(lo, -1, dim - 1);
                hi = Math.clamp(hi, -1, dim - 1);
                os[ax] = lo > hi ? (lo - hi - stp - 1) / -stp : 0;
            }
            b[ax] = lo;
            step[ax] = stp;
        }
        long off = 0;
        long[] ost = new long[r];
        for (int d = 0; d < r; d++) {
            off += b[d] * st[d];
            ost[d] = st[d] * step[d];
        }
        return gatherStrided(x, os, ost, os.length > 0 && Tensor.count(os) == 0 ? 0 : off, c);
    }

    static Tensor gather(Node nd, Tensor data, Tensor idx, Ctx c) {
        int r = data.rank();
        int ax = axis(nd.intAttr("axis", 0), r, "Gather");
        long[] s = data.shape(), is = idx.shape();
        long[] os = new long[r - 1 + is.length];
        System.arraycopy(s, 0, os, 0, ax);
        System.arraycopy(is, 0, os, ax, is.length);
        System.arraycopy(s, ax + 1, os, ax + is.length, r - ax - 1);
        Tensor out = c.alloc(data.dtype(), os);
        long outer = 1;
        for (int d = 0; d < ax; d++) {
            outer *= s[d];
        }
        long innerBytes = data.dtype().bytes();
        for (int d = ax + 1; d < r; d++) {
            innerBytes *= s[d];
        }
        long ni = idx.size(), dim = s[ax];
        for (long i = 0; i < ni; i++) {
            long k = Vals.getLong(idx.dtype(), idx.data(), i);
            if (k < 0) {
                k += dim;
            }
            if (k < 0 || k >= dim) {
                throw fail("Gather index " + Vals.getLong(idx.dtype(), idx.data(), i) + " out of range [0, " + dim + ")");
            }
            for (long o = 0; o < outer; o++) {
                MemorySegment.copy(data.data(), (o * dim + k) * innerBytes, out.data(), (o * ni + i) * innerBytes, innerBytes);
            }
        }
        return out;
    }

    static Tensor shape(Node nd, Tensor x, Ctx c) {
        long[] s = x.shape();
        int r = s.length;
        long start = nd.intAttr("start", 0), end = nd.intAttr("end", r);
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        long[] o = Arrays.copyOfRange(s, (int) start, (int) Math.max(start, end));
        Tensor out = c.alloc(DType.INT64, new long[] {o.length});
        MemorySegment.copy(o, 0, out.data(), Vals.L, 0, o.length);
        return out;
    }

    static Tensor cast(Tensor x, DType to, Ctx c) {
        if (x.dtype() == to) {
            return x;
        }
        Tensor out = c.alloc(to, x.shape());
        DType from = x.dtype();
        for (long i = 0, n = x.size(); i < n; i++) {
            if (Vals.isInt(from) && Vals.isInt(to)) {
                Vals.setLong(to, out.data(), i, Vals.getLong(from, x.data(), i));
            } else {
                double v = Vals.get(from, x.data(), i);
                if (to == DType.INT64 || to == DType.INT32 || to == DType.INT8 || to == DType.UINT8) {
                    Vals.setLong(to, out.data(), i, (long) v);
                } else {
                    Vals.set(to, out.data(), i, v);
                }
            }
        }
        return out;
    }

    static Tensor constant(Node nd, Ctx c) {
        Attribute a = nd.attribute("value");
        if (a != null) {
            return a.t();
        }
        if ((a = nd.attribute("value_float")) != null) {
            Tensor t = c.alloc(DType.FLOAT, new long[0]);
            t.data().set(F, 0, a.f());
            return t;
        }
        if ((a = nd.attribute("value_int")) != null) {
            Tensor t = c.alloc(DType.INT64, new long[0]);
            t.data().set(Vals.L, 0, a.i());
            return t;
        }
        if ((a = nd.attribute("value_floats")) != null) {
            float[] v = a.floats();
            Tensor t = c.alloc(DType.FLOAT, new long[] {v.length});
            MemorySegment.copy(v, 0, t.data(), F, 0, v.length);
            return t;
        }
        if ((a = nd.attribute("value_ints")) != null) {
            long[] v = a.ints();
            Tensor t = c.alloc(DType.INT64, new long[] {v.length});
            MemorySegment.copy(v, 0, t.data(), Vals.L, 0, v.length);
            return t;
        }
        throw fail("Constant without a supported value attribute");
    }

    static Tensor constantOfShape(Node nd, Tensor shapeT, Ctx c) {
        long[] s = Vals.longs(shapeT);
        Attribute a = nd.attribute("value");
        DType t = a == null ? DType.FLOAT : a.t().dtype();
        Tensor out = c.allocZeroed(t, s);
        if (a != null) {
            int eb = t.bytes();
            MemorySegment v = a.t().data();
            for (long i = 0, n = out.size(); i < n; i++) {
                MemorySegment.copy(v, 0, out.data(), i * eb, eb);
            }
        }
        return out;
    }

    static Tensor expand(Tensor x, Tensor shapeT, Ctx c) {
        long[] os = broadcast(x.shape(), Vals.longs(shapeT));
        return gatherStrided(x, os, bstrides(x.shape(), os), 0, c);
    }

    static Tensor where(Tensor cond, Tensor x, Tensor y, Ctx c) {
        if (x.dtype() != y.dtype()) {
            throw fail("Where of " + x.dtype() + " and " + y.dtype());
        }
        long[] os = broadcast(broadcast(cond.shape(), x.shape()), y.shape());
        Tensor out = c.alloc(x.dtype(), os);
        long[] sc = bstrides(cond.shape(), os), sx = bstrides(x.shape(), os), sy = bstrides(y.shape(), os);
        int r = os.length, eb = x.dtype().bytes();
        long[] idx = new long[r];
        for (long i = 0, n = out.size(); i < n; i++) {
            long oc = 0, ox = 0, oy = 0;
            for (int d = 0; d < r; d++) {
                oc += idx[d] * sc[d];
                ox += idx[d] * sx[d];
                oy += idx[d] * sy[d];
            }
            boolean take = Vals.getLong(cond.dtype(), cond.data(), oc) != 0;
            MemorySegment.copy(take ? x.data() : y.data(), (take ? ox : oy) * eb, out.data(), i * eb, eb);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < os[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    static Tensor range(Tensor[] in, Ctx c) {
        DType t = in[0].dtype();
        double start = Vals.get(t, in[0].data(), 0), limit = Vals.get(t, in[1].data(), 0), delta = Vals.get(t, in[2].data(), 0);
        if (delta == 0) {
            throw fail("Range delta 0");
        }
        long n = Math.max(0, (long) Math.ceil((limit - start) / delta));
        if (n > (1L << 31)) {
            throw fail("Range of " + n + " elements");
        }
        Tensor out = c.alloc(t, new long[] {n});
        for (long i = 0; i < n; i++) {
            Vals.set(t, out.data(), i, start + i * delta);
        }
        return out;
    }
}
