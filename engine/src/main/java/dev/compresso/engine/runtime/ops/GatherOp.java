package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** ONNX {@code Gather} on any axis; negative indices count from the end. */
final class GatherOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Gather");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {gather(n, in[0], in[1], c)};
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
}
