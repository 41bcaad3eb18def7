package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.axis;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Node;
import java.util.Arrays;
import java.util.List;

/** Operators that only relabel the shape and share the input's data: Reshape, Unsqueeze, Squeeze, Flatten and Identity. */
final class ReshapeOps implements Operator {
    @Override
    public List<String> names() {
        return List.of("Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {switch (n.op()) {
            case "Reshape" -> reshape(n, in[0], in[1]);
            case "Unsqueeze" -> unsqueeze(n, in, c);
            case "Squeeze" -> squeeze(n, in, c);
            case "Flatten" -> flatten(n, in[0]);
            default -> in[0];
        }};
    }

    static Tensor reshape(Node nd, Tensor x, Tensor shapeT) {
        long[] req = Vals.longs(shapeT);
        boolean allowZero = nd.intAttr("allowzero", 0) != 0;
        long[] s = x.shape();
        long[] os = new long[req.length];
        int minus = -1;
        long known = 1;
        for (int i = 0; i < req.length; i++) {
            long d = req[i];
            if (d == 0 && !allowZero) {
                if (i >= s.length) {
                    throw fail("Reshape: 0 at index " + i + " but input has rank " + s.length);
                }
                d = s[i];
            }
            if (d == -1) {
                if (minus >= 0) {
                    throw fail("Reshape: more than one -1 in " + Arrays.toString(req));
                }
                minus = i;
                continue;
            }
            if (d < 0) {
                throw fail("Reshape: invalid dimension " + d);
            }
            os[i] = d;
            known *= d;
        }
        long n = x.size();
        if (minus >= 0) {
            if (known == 0 || n % known != 0) {
                throw fail("Reshape " + Arrays.toString(s) + " to " + Arrays.toString(req));
            }
            os[minus] = n / known;
        } else if (known != n) {
            throw fail("Reshape " + Arrays.toString(s) + " to " + Arrays.toString(req));
        }
        return Tensor.of(x.dtype(), os, x.data());
    }

    static long[] axesOf(Node nd, Tensor[] in, Ctx c) {
        if (c.opset >= 13) {
            return in.length > 1 && in[1] != null ? Vals.longs(in[1]) : null;
        }
        Attribute a = nd.attribute("axes");
        return a == null ? null : a.ints();
    }

    static Tensor unsqueeze(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        long[] axes = axesOf(nd, in, c);
        if (axes == null) {
            throw fail("Unsqueeze without axes");
        }
        int r = x.rank() + axes.length;
        boolean[] ins = new boolean[r];
        for (long a : axes) {
            int ax = axis(a, r, "Unsqueeze");
            if (ins[ax]) {
                throw fail("Unsqueeze repeats axis " + a);
            }
            ins[ax] = true;
        }
        long[] s = x.shape(), os = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            os[i] = ins[i] ? 1 : s[j++];
        }
        return Tensor.of(x.dtype(), os, x.data());
    }

    static Tensor squeeze(Node nd, Tensor[] in, Ctx c) {
        Tensor x = in[0];
        long[] axes = axesOf(nd, in, c);
        long[] s = x.shape();
        boolean[] rem = new boolean[s.length];
        if (axes == null) {
            for (int i = 0; i < s.length; i++) {
                rem[i] = s[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = axis(a, s.length, "Squeeze");
                if (s[ax] != 1) {
                    throw fail("Squeeze axis " + a + " has size " + s[ax]);
                }
                rem[ax] = true;
            }
        }
        long[] os = java.util.stream.IntStream.range(0, s.length).filter(i -> !rem[i]).mapToLong(i -> s[i]).toArray();
        return Tensor.of(x.dtype(), os, x.data());
    }

    static Tensor flatten(Node nd, Tensor x) {
        int r = x.rank();
        long a = nd.intAttr("axis", 1);
        int ax = (int) (a < 0 ? a + r : a);
        if (ax < 0 || ax > r) {
            throw fail("Flatten axis " + a + " for rank " + r);
        }
        long outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= x.dim(i);
        }
        return Tensor.of(x.dtype(), new long[] {outer, outer == 0 ? 0 : x.size() / outer}, x.data());
    }
}
