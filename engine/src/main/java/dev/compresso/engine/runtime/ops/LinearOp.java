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
        if (l.channelInverse() != null && !l.isStatic()) {
            // Channel factors outside static int8: divide the input by them first (x · (1 / f)).
            x = divide(x, l.channelInverse(), m, k, c);
        }
        if (c.observer != null) {
            // The observer sees what the weights multiply: with channel factors, x ⊘ f.
            Tensor seen = l.channelInverse() != null && l.isStatic()
                    ? divide(x, Kernels.channelInverse(1f, l.channelFactors()), m, k, c) : x;
            c.observer.linearInput(l.name(), seen.data(), m, k);
        }
        if (l.isStatic()) {
            if (!(l.weights() instanceof dev.compresso.engine.weights.Int8Panels q)) {
                throw fail("static activation scale needs int8 weights, has " + l.weights().format());
            }
            if (l.channelInverse() != null) {
                // SmoothQuant's factors inside the kernel: channel j is quantized with scale s·f_j.
                Kernels.linearInt8Static(x.data(), m, q, l.staticActivationScale(), l.channelInverse(), l.biasSegment(),
                        l.activation(), y.data(), c.threads);
            } else {
                Kernels.linearInt8Static(x.data(), m, q, l.staticActivationScale(), l.biasSegment(), l.activation(),
                        y.data(), c.threads);
            }
            return y;
        }
        // The kernels apply the activation (exact GELU included) in vector lanes to each finished block of the
        // product, while it is still in cache: a separate scalar pass over the FFN output cost a third of a
        // MiniLM inference.
        Kernels.linear(x.data(), m, l.weights(), l.biasSegment(), l.activation(), y.data(), l.int8Mode(), c.threads);
        return y;
    }

    /** {@code x · inv} per channel (the last dimension), into a new buffer. */
    private static Tensor divide(Tensor x, float[] inv, int m, int k, Ctx c) {
        Tensor xs = c.alloc(DType.FLOAT, x.shape());
        java.lang.foreign.MemorySegment src = x.data(), dst = xs.data();
        for (long r = 0; r < m; r++) {
            for (int j = 0; j < k; j++) {
                long o = r * k + j;
                dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o,
                        src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o) * inv[j]);
            }
        }
        return xs;
    }
}
