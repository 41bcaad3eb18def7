package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Shapes.axis;
import static dev.compresso.engine.runtime.ops.Shapes.strides;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import java.util.Arrays;
import java.util.List;

/** ONNX {@code ReduceMean} and {@code ReduceSum} (axes from the attribute or, by opset, the input). */
final class ReduceOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("ReduceMean", "ReduceSum");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {reduce(n, in, c)};
    }

    static Tensor reduce(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        int r = x.rank();
        long[] axes;
        boolean fromInput = (nd.op().equals("ReduceSum") && c.opset >= 13) || c.opset >= 18;
        if (fromInput) {
            axes = in.length > 1 && in[1] != null ? Vals.longs(in[1]) : null;
        } else {
            Attribute a = nd.attribute("axes");
            axes = a == null ? null : a.ints();
        }
        boolean keep = nd.intAttr("keepdims", 1) != 0;
        boolean[] red = new boolean[r];
        if (axes == null || axes.length == 0) {
            if (fromInput && nd.intAttr("noop_with_empty_axes", 0) != 0) {
                return x;
            }
            Arrays.fill(red, true);
        } else {
            for (long a : axes) {
                red[axis(a, r, nd.op())] = true;
            }
        }
        long[] s = x.shape();
        long[] ks = new long[r];
        int nk = 0;
        for (int i = 0; i < r; i++) {
            ks[i] = red[i] ? 1 : s[i];
            if (!red[i] || keep) {
                nk++;
            }
        }
        long[] os = new long[nk];
        for (int i = 0, j = 0; i < r; i++) {
            if (!red[i] || keep) {
                os[j++] = ks[i];
            }
        }
        long cnt = 1;
        for (int i = 0; i < r; i++) {
            if (red[i]) {
                cnt *= s[i];
            }
        }
        boolean mean = nd.op().equals("ReduceMean");
        Tensor out = c.alloc(x.dtype(), os);
        long[] kst = strides(ks);
        long[] idx = new long[r];
        long n = x.size();
        double[] acc = new double[Math.toIntExact(out.size())];
        // Fast path: reducing the last axis only.
        if (r > 0 && red[r - 1] && cnt == s[r - 1] && x.dtype() == DType.FLOAT) {
            long len = s[r - 1];
            for (int o = 0; o < acc.length; o++) {
                float sum = 0;
                for (long j = 0; j < len; j++) {
                    sum += x.data().getAtIndex(F, o * len + j);
                }
                out.data().setAtIndex(F, o, mean ? sum / len : sum);
            }
            return out;
        }
        for (long i = 0; i < n; i++) {
            long o = 0;
            for (int d = 0; d < r; d++) {
                if (!red[d]) {
                    o += idx[d] * kst[d];
                }
            }
            acc[(int) o] += Vals.get(x.dtype(), x.data(), i);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < s[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        for (int o = 0; o < acc.length; o++) {
            Vals.set(x.dtype(), out.data(), o, mean ? acc[o] / cnt : acc[o]);
        }
        return out;
    }
}
