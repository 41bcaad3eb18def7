package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.bstrides;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code MatMul} in float, numpy batch broadcasting, batches split across threads. */
final class MatMulOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("MatMul");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {matmul(in[0], in[1], c)};
    }

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
}
