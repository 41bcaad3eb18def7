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

/** ONNX {@code Gemm}: {@code alpha·op(A)·op(B) + beta·C} on 2-D inputs. */
final class GemmOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Gemm");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {gemm(n, in, c)};
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
}
