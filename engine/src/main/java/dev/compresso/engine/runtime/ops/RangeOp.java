package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.util.List;

/** ONNX {@code Range}. */
final class RangeOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Range");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {range(in, c)};
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
