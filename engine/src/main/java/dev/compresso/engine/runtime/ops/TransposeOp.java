package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Shapes.gatherStrided;
import static dev.compresso.engine.runtime.ops.Shapes.strides;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code Transpose}: a strided copy. */
final class TransposeOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Transpose");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {transpose(n, in[0], c)};
    }

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
}
