package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.bstrides;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** ONNX {@code Where} with broadcasting. */
final class WhereOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Where");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {where(in[0], in[1], in[2], c)};
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
}
