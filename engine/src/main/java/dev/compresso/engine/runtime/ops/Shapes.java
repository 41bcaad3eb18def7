package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;

import dev.compresso.engine.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Shape helpers the operators share: broadcasting, strides, axes, and the strided copy. */
final class Shapes {
    private Shapes() {}

    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] o = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw fail("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /** Element strides of {@code s} aligned to output rank {@code r}, 0 on broadcast dimensions. */
    static long[] bstrides(long[] s, long[] out) {
        int r = out.length;
        long[] st = new long[r];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            int oi = i + r - s.length;
            st[oi] = s[i] == 1 && out[oi] != 1 ? 0 : acc;
            acc *= s[i];
        }
        return st;
    }

    static long[] strides(long[] s) {
        long[] st = new long[s.length];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s[i];
        }
        return st;
    }

    /** For each output row (all dimensions but the last), the element offset of each input. */
    static long[][] rowOffsets(long[] out, long[]... strides) {
        int r = out.length;
        long rows = 1;
        for (int i = 0; i < r - 1; i++) {
            rows *= out[i];
        }
        long[][] offs = new long[strides.length][Math.toIntExact(rows)];
        long[] idx = new long[Math.max(0, r - 1)];
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < strides.length; k++) {
                long o = 0;
                for (int d = 0; d < r - 1; d++) {
                    o += idx[d] * strides[k][d];
                }
                offs[k][row] = o;
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < out[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return offs;
    }

    static int axis(long axis, int rank, String what) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1)) {
            throw fail(what + " axis " + axis + " out of range for rank " + rank);
        }
        return (int) a;
    }

    /** Copies {@code x} read at {@code offset + Σ idx[d]·strides[d]} into a new tensor of shape {@code os}. */
    static Tensor gatherStrided(Tensor x, long[] os, long[] st, long offset, Ctx c) {
        Tensor out = c.alloc(x.dtype(), os);
        int r = os.length;
        long n = out.size();
        if (n == 0) {
            return out;
        }
        int eb = x.dtype().bytes();
        MemorySegment src = x.data(), dst = out.data();
        long inner = r == 0 ? 1 : os[r - 1], ist = r == 0 ? 1 : st[r - 1];
        long[] idx = new long[Math.max(r - 1, 0)];
        long rows = n / Math.max(inner, 1);
        for (long row = 0; row < rows; row++) {
            long o = offset;
            for (int d = 0; d < r - 1; d++) {
                o += idx[d] * st[d];
            }
            long dstOff = row * inner;
            if (ist == 1) {
                MemorySegment.copy(src, o * eb, dst, dstOff * eb, inner * eb);
            } else if (eb == 4) {
                for (long j = 0; j < inner; j++) {
                    dst.setAtIndex(Vals.I, dstOff + j, src.getAtIndex(Vals.I, o + j * ist));
                }
            } else {
                for (long j = 0; j < inner; j++) {
                    MemorySegment.copy(src, (o + j * ist) * eb, dst, (dstOff + j) * eb, eb);
                }
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < os[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }
}
