package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code Concat}. */
final class ConcatOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Concat");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {concat(n, in, c)};
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
}
