package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** ONNX {@code Constant} and {@code ConstantOfShape}. */
final class ConstantOps implements Operator {
    @Override
    public List<String> names() {
        return List.of("Constant", "ConstantOfShape");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {n.op().equals("Constant") ? constant(n, c) : constantOfShape(n, in[0], c)};
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
}
