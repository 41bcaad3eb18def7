package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.MathFunctions;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Element-wise unary operators (float, and the integer cases of Neg, Abs and Relu) and boolean Not. */
final class UnaryOp implements Operator {
    @Override
    public List<String> names() {
        return List.of("Sqrt", "Erf", "Tanh", "Exp", "Neg", "Relu", "Sigmoid", "Abs", "Reciprocal", "Gelu", "Not");
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {n.op().equals("Not") ? not(in[0], c) : unary(n.op(), in[0], c)};
    }

    static Tensor unary(String op, Tensor a, Ctx c) {
        if (a.dtype() != DType.FLOAT) {
            if (op.equals("Neg") || op.equals("Abs") || op.equals("Relu")) {
                Tensor out = c.alloc(a.dtype(), a.shape());
                for (long i = 0, n = a.size(); i < n; i++) {
                    long x = Vals.getLong(a.dtype(), a.data(), i);
                    Vals.setLong(a.dtype(), out.data(), i, op.equals("Neg") ? -x : op.equals("Abs") ? Math.abs(x) : Math.max(0, x));
                }
                return out;
            }
            throw fail(op + " of " + a.dtype() + " is not supported");
        }
        Tensor out = c.alloc(DType.FLOAT, a.shape());
        MemorySegment s = a.data(), d = out.data();
        for (long i = 0, n = a.size(); i < n; i++) {
            float x = s.getAtIndex(F, i);
            float v = switch (op) {
                case "Sqrt" -> (float) Math.sqrt(x);
                case "Erf" -> (float) MathFunctions.erf(x);
                case "Tanh" -> (float) Math.tanh(x);
                case "Exp" -> (float) Math.exp(x);
                case "Neg" -> -x;
                case "Relu" -> Math.max(0f, x);
                case "Sigmoid" -> (float) (1 / (1 + Math.exp(-x)));
                case "Abs" -> Math.abs(x);
                case "Reciprocal" -> 1f / x;
                default -> (float) (0.5 * x * (1.0 + MathFunctions.erf(x * 0.7071067811865476)));
            };
            d.setAtIndex(F, i, v);
        }
        return out;
    }

    static Tensor not(Tensor a, Ctx c) {
        Tensor out = c.alloc(DType.BOOL, a.shape());
        for (long i = 0, n = a.size(); i < n; i++) {
            out.data().set(Vals.B, i, (byte) (a.data().get(Vals.B, i) == 0 ? 1 : 0));
        }
        return out;
    }
}
