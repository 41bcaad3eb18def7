package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Shapes.gatherStrided;
import static dev.compresso.engine.runtime.ops.Shapes.strides;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code Slice} (inputs from opset 10, attributes before), negative steps included. */
final class SliceOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Slice");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {slice(n, in, c)};
    }

    static Tensor slice(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        int r = x.rank();
        long[] starts, ends, axes, steps;
        if (c.opset >= 10) {
            starts = Vals.longs(in[1]);
            ends = Vals.longs(in[2]);
            axes = in.length > 3 && in[3] != null ? Vals.longs(in[3]) : null;
            steps = in.length > 4 && in[4] != null ? Vals.longs(in[4]) : null;
        } else {
            starts = nd.attribute("starts").ints();
            ends = nd.attribute("ends").ints();
            axes = nd.attribute("axes") == null ? null : nd.attribute("axes").ints();
            steps = null;
        }
        if (starts.length != ends.length || (axes != null && axes.length != starts.length)
                || (steps != null && steps.length != starts.length)) {
            throw fail("Slice starts/ends/axes/steps lengths differ");
        }
        long[] s = x.shape(), st = strides(s);
        long[] b = new long[r], os = s.clone(), step = new long[r];
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            int ax = axis(axes == null ? i : axes[i], r, "Slice");
            long stp = steps == null ? 1 : steps[i];
            if (stp == 0) {
                throw fail("Slice step 0");
            }
            long dim = s[ax];
            long lo = starts[i], hi = ends[i];
            if (lo < 0) {
                lo += dim;
            }
            if (hi < 0 && hi > Long.MIN_VALUE / 2) {
                hi += dim;
            }
            if (stp > 0) {
                lo = Math.clamp(lo, 0, dim);
                hi = Math.clamp(hi, 0, dim);
                os[ax] = hi > lo ? (hi - lo + stp - 1) / stp : 0;
            } else {
                lo = Math.clamp(lo, -1, dim - 1);
                hi = Math.clamp(hi, -1, dim - 1);
                os[ax] = lo > hi ? (lo - hi - stp - 1) / -stp : 0;
            }
            b[ax] = lo;
            step[ax] = stp;
        }
        long off = 0;
        long[] ost = new long[r];
        for (int d = 0; d < r; d++) {
            off += b[d] * st[d];
            ost[d] = st[d] * step[d];
        }
        return gatherStrided(x, os, ost, os.length > 0 && Tensor.count(os) == 0 ? 0 : off, c);
    }
}
