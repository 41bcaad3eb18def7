package dev.compresso.engine.runtime.ops;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code Shape}, with the opset-15 {@code start} and {@code end} attributes. */
final class ShapeOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Shape");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {shape(n, in[0], c)};
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
}
