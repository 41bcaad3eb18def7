package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import java.util.List;

/** ONNX {@code Cast} between the engine's data types. */
final class CastOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Cast");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {cast(in[0], dtypeAttr(n, "to"), c)};
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
}
