package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Shapes.bstrides;
import static dev.compresso.engine.runtime.ops.Shapes.broadcast;
import static dev.compresso.engine.runtime.ops.Shapes.rowOffsets;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Element-wise binary operators with numpy broadcasting; comparisons yield BOOL. */
final class BinaryOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {binary(n.op(), in[0], in[1], c)};
    }

    /**
     * Float rows whose first operand is contiguous and whose second is contiguous or one value per row (the
     * common cases: residual and embedding adds, scaling): rows go through {@code float[]} buffers, where the
     * loops compile to vector code, instead of an indexed segment access per element.
     */
    private static void floatRows(int code, MemorySegment da, MemorySegment db, MemorySegment dc, long[][] offs,
            int rows, int inner, boolean bScalar) {
        float[] x = new float[inner], y = new float[inner];
        for (int row = 0; row < rows; row++) {
            MemorySegment.copy(da, F, offs[0][row] * 4, x, 0, inner);
            if (bScalar) {
                java.util.Arrays.fill(y, db.getAtIndex(F, offs[1][row]));
            } else {
                MemorySegment.copy(db, F, offs[1][row] * 4, y, 0, inner);
            }
            switch (code) {
                case 0 -> { for (int j = 0; j < inner; j++) x[j] += y[j]; }
                case 1 -> { for (int j = 0; j < inner; j++) x[j] -= y[j]; }
                case 2 -> { for (int j = 0; j < inner; j++) x[j] *= y[j]; }
                case 3 -> { for (int j = 0; j < inner; j++) x[j] /= y[j]; }
                default -> {
                    for (int j = 0; j < inner; j++) {
                        x[j] = y[j] == 2f ? x[j] * x[j] : (float) Math.pow(x[j], y[j]);
                    }
                }
            }
            MemorySegment.copy(x, 0, dc, F, (long) row * inner * 4, inner);
        }
    }

    static Tensor binary(String op, Tensor a, Tensor b, Ctx c) {
        long[] os = broadcast(a.shape(), b.shape());
        boolean cmp = op.equals("Equal") || op.equals("Less") || op.equals("Greater");
        DType t = a.dtype();
        if (t != b.dtype() && !(op.equals("Pow"))) {
            throw fail(op + " of " + a.dtype() + " and " + b.dtype());
        }
        Tensor out = c.alloc(cmp ? DType.BOOL : t, os);
        long n = out.size();
        if (n == 0) {
            return out;
        }
        int r = os.length;
        long inner = r == 0 ? 1 : os[r - 1];
        long[] sa = bstrides(a.shape(), os), sb = bstrides(b.shape(), os);
        long ia = r == 0 ? 0 : sa[r - 1], ib = r == 0 ? 0 : sb[r - 1];
        long[][] offs = rowOffsets(os, sa, sb);
        MemorySegment da = a.data(), db = b.data(), dc = out.data();
        int rows = offs[0].length;
        if (t == DType.FLOAT && !cmp && b.dtype() == DType.FLOAT) {
            int code = switch (op) {
                case "Add" -> 0;
                case "Sub" -> 1;
                case "Mul" -> 2;
                case "Div" -> 3;
                default -> 4;
            };
            if (ia == 1 && (ib == 1 || ib == 0) && inner <= (1 << 20)) {
                floatRows(code, da, db, dc, offs, rows, (int) inner, ib == 0);
                return out;
            }
            for (int row = 0; row < rows; row++) {
                long oa = offs[0][row], ob = offs[1][row], oc = row * inner;
                for (long j = 0; j < inner; j++) {
                    float x = da.getAtIndex(F, oa + j * ia), y = db.getAtIndex(F, ob + j * ib);
                    float v = switch (code) {
                        case 0 -> x + y;
                        case 1 -> x - y;
                        case 2 -> x * y;
                        case 3 -> x / y;
                        default -> y == 2f ? x * x : (float) Math.pow(x, y);
                    };
                    dc.setAtIndex(F, oc + j, v);
                }
            }
            return out;
        }
        DType bt = b.dtype();
        boolean integral = Vals.isInt(t);
        for (int row = 0; row < rows; row++) {
            long oa = offs[0][row], ob = offs[1][row], oc = row * inner;
            for (long j = 0; j < inner; j++) {
                if (integral && Vals.isInt(bt)) {
                    long x = Vals.getLong(t, da, oa + j * ia), y = Vals.getLong(bt, db, ob + j * ib);
                    long v = switch (op) {
                        case "Add" -> x + y;
                        case "Sub" -> x - y;
                        case "Mul" -> x * y;
                        case "Div" -> y == 0 ? 0 : x / y;
                        case "Pow" -> (long) Math.pow(x, y);
                        case "Equal" -> x == y ? 1 : 0;
                        case "Less" -> x < y ? 1 : 0;
                        default -> x > y ? 1 : 0;
                    };
                    Vals.setLong(out.dtype(), dc, oc + j, v);
                } else {
                    double x = Vals.get(t, da, oa + j * ia), y = Vals.get(bt, db, ob + j * ib);
                    double v = switch (op) {
                        case "Add" -> (float) x + (float) y;
                        case "Sub" -> (float) x - (float) y;
                        case "Mul" -> (float) x * (float) y;
                        case "Div" -> (float) x / (float) y;
                        case "Pow" -> Math.pow(x, y);
                        case "Equal" -> x == y ? 1 : 0;
                        case "Less" -> x < y ? 1 : 0;
                        default -> x > y ? 1 : 0;
                    };
                    Vals.set(out.dtype(), dc, oc + j, v);
                }
            }
        }
        return out;
    }
}
