package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** ONNX {@code Softmax} (before opset 13: over the input flattened to 2-D at the axis). */
final class SoftmaxOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Softmax");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {softmax(n, in[0], c)};
    }

    static Tensor softmax(Node nd, Tensor x, Ctx c) {
        int r = x.rank();
        int ax = axis(nd.intAttr("axis", c.opset >= 13 ? -1 : 1), r, "Softmax");
        long[] s = x.shape();
        long outer = 1, len = 1, inner = 1;
        if (c.opset >= 13) {
            for (int i = 0; i < ax; i++) {
                outer *= s[i];
            }
            len = s[ax];
            for (int i = ax + 1; i < r; i++) {
                inner *= s[i];
            }
        } else {
            // Before opset 13 Softmax flattens to 2-D at `axis`.
            for (int i = 0; i < ax; i++) {
                outer *= s[i];
            }
            for (int i = ax; i < r; i++) {
                len *= s[i];
            }
        }
        Tensor out = c.alloc(DType.FLOAT, s);
        MemorySegment in = x.data(), o = out.data();
        for (long a = 0; a < outer; a++) {
            for (long b = 0; b < inner; b++) {
                long base = a * len * inner + b;
                float max = Float.NEGATIVE_INFINITY;
                for (long i = 0; i < len; i++) {
                    max = Math.max(max, in.getAtIndex(F, base + i * inner));
                }
                double sum = 0;
                for (long i = 0; i < len; i++) {
                    float e = (float) Math.exp(in.getAtIndex(F, base + i * inner) - max);
                    o.setAtIndex(F, base + i * inner, e);
                    sum += e;
                }
                float inv = (float) (1 / sum);
                for (long i = 0; i < len; i++) {
                    o.setAtIndex(F, base + i * inner, o.getAtIndex(F, base + i * inner) * inv);
                }
            }
        }
        return out;
    }
}
