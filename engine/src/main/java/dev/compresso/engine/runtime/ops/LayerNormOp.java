package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** The fused {@link LayerNorm}, with the residual add before it when shapes agree. */
final class LayerNormOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("LayerNorm");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        if (!(n instanceof LayerNorm l)) {
            throw fail("unsupported operator " + n.op());
        }
        return new Tensor[] {layerNorm(l, in, c)};
    }

    static Tensor layerNorm(LayerNorm ln, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        if (in.length > 1 && in[1] != null) {
            Tensor r = in[1];
            // Fuse the residual add only when shapes agree; broadcast adds (e.g. position embeddings) go generic.
            if (!Arrays.equals(r.shape(), x.shape())) {
                x = BinaryOp.binary("Add", x, r, c);
                in = new Tensor[] {x};
            }
        }
        int ch = ln.channels();
        if (x.dtype() != DType.FLOAT || x.rank() < 1 || x.dim(x.rank() - 1) != ch) {
            throw fail("input " + x + " does not fit " + ch + " channels");
        }
        Tensor y = c.alloc(DType.FLOAT, x.shape());
        int rows = Math.toIntExact(x.size() / Math.max(ch, 1));
        float[] g = ln.gamma(), b = ln.beta();
        float eps = ln.epsilon();
        MemorySegment xs = x.data(), rs = in.length > 1 && in[1] != null ? in[1].data() : null, ys = y.data();
        int t = Math.min(c.threads, Math.max(1, rows / 16));
        KernelPool.run(t, id -> {
            float[] row = new float[ch], tmp = rs == null ? null : new float[ch];
            for (int r = rows * id / t; r < rows * (id + 1) / t; r++) {
                long off = (long) r * ch * 4;
                MemorySegment.copy(xs, F, off, row, 0, ch);
                if (tmp != null) {
                    MemorySegment.copy(rs, F, off, tmp, 0, ch);
                }
                Kernels.layerNorm(row, tmp, g, b, eps, ch);
                MemorySegment.copy(row, 0, ys, F, off, ch);
            }
        });
        return y;
    }
}
