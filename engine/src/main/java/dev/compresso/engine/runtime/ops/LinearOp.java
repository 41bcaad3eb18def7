package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.Kernels;
import java.util.List;

/** The fused {@link Linear}: packed weights, bias and activation in one kernel call. */
final class LinearOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Linear");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        if (!(n instanceof Linear l)) {
            throw fail("unsupported operator " + n.op());
        }
        return new Tensor[] {linear(l, in[0], c)};
    }

    static Tensor linear(Linear l, Tensor x, Ctx c) {
        int k = l.inFeatures(), n = l.outFeatures();
        if (x.dtype() != DType.FLOAT || x.rank() < 1 || x.dim(x.rank() - 1) != k) {
            throw fail("input " + x + " does not fit weights [" + n + ", " + k + "]");
        }
        int m = Math.toIntExact(x.size() / Math.max(k, 1));
        long[] os = x.shape();
        os[os.length - 1] = n;
        Tensor y = c.alloc(DType.FLOAT, os);
        if (c.observer != null) {
            c.observer.linearInput(l.name(), x.data(), m, k);
        }
        if (l.isStatic()) {
            if (!(l.weights() instanceof dev.compresso.engine.weights.Int8Panels q)) {
                throw fail("static activation scale needs int8 weights, has " + l.weights().format());
            }
            Kernels.linearInt8Static(x.data(), m, q, l.staticActivationScale(), l.biasSegment(), l.activation(),
                    y.data(), c.threads);
            return y;
        }
        // The kernels apply the activation (exact GELU included) in vector lanes to each finished block of the
        // product, while it is still in cache: a separate scalar pass over the FFN output cost a third of a
        // MiniLM inference.
        Kernels.linear(x.data(), m, l.weights(), l.biasSegment(), l.activation(), y.data(), l.int8Mode(), c.threads);
        return y;
    }
}
