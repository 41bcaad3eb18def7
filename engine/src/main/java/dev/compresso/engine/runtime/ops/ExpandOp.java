package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Shapes.bstrides;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;
import static dev.compresso.engine.runtime.ops.Shapes.gatherStrided;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.util.List;

/** ONNX {@code Expand}: broadcast to a shape, as a strided copy. */
final class ExpandOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Expand");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {expand(in[0], in[1], c)};
    }

    static Tensor expand(Tensor x, Tensor shapeT, Ctx c) {
        long[] os = broadcast(x.shape(), Vals.longs(shapeT));
        return gatherStrided(x, os, bstrides(x.shape(), os), 0, c);
    }
}
