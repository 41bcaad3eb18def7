package dev.compresso.engine.runtime.ops;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.util.List;

/**
 * One operator, or one family of operators that share their code, of the runtime. Implementations are
 * stateless and listed once, in {@link Operators}; the plan resolves each node's operator when it is built.
 */
public interface Operator {
    /** @return the op names (ONNX default domain, or the engine's fused ops) this operator serves */
    List<String> names();

    /**
     * Computes a node's outputs.
     *
     * @param n  the node (attributes; the fused ops' weights)
     * @param in its inputs, null for an omitted optional input
     * @param c  the run's context: output buffers, threads, opset
     * @return its outputs, in the node's output order
     * @throws Fail on inputs the operator cannot take (the plan names the node)
     */
    Tensor[] forward(Node n, Tensor[] in, Ctx c);

    /**
     * Output shapes from input shapes, without computing (for planning memory ahead of a run).
     *
     * @param n  the node
     * @param in input shapes, null for an omitted optional input
     * @return output shapes
     * @throws UnsupportedOperationException until the operator implements it
     */
    default long[][] inferShapes(Node n, long[][] in) {
        throw new UnsupportedOperationException("shape inference of " + n.op() + " is not implemented");
    }

    /**
     * Gradients of the inputs from the gradients of the outputs (for training through this operator).
     *
     * @param n       the node
     * @param in      the forward inputs
     * @param gradOut gradients of the outputs
     * @param c       the run's context
     * @return gradients of the inputs, null where none flows
     * @throws UnsupportedOperationException until the operator implements it
     */
    default Tensor[] backward(Node n, Tensor[] in, Tensor[] gradOut, Ctx c) {
        throw new UnsupportedOperationException("backward of " + n.op() + " is not implemented");
    }

    /** An operator rejected its inputs or attributes; the message says why (no stack trace: it is an input error). */
    final class Fail extends RuntimeException {
        Fail(String msg) {
            super(msg, null, false, false);
        }
    }

    /**
     * @param msg what is wrong
     * @return the exception to throw
     */
    static Fail fail(String msg) {
        return new Fail(msg);
    }
}
