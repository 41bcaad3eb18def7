package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;

import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/** The one list of what the runtime executes: ONNX reference operators and the engine's fused operators. */
public final class Operators {
    private Operators() {}

    /** ONNX operators (default domain) with a reference implementation; load-time constant folding runs these. */
    private static final List<Operator> ONNX = List.of(new BinaryOp(), new UnaryOp(), new MatMulOp(), new GemmOp(),
            new SoftmaxOp(), new ReduceOp(), new TransposeOp(), new ReshapeOps(), new ConcatOp(), new SliceOp(),
            new GatherOp(), new ShapeOp(), new CastOp(), new ConstantOps(), new ExpandOp(), new WhereOp(),
            new RangeOp(), new QuantOps());

    /** Operators of the fused IR (domain {@code dev.compresso}): what import and the compression passes emit. */
    private static final List<Operator> FUSED = List.of(new LinearOp(), new LayerNormOp(), new AttentionOp(),
            new FakeQuantOp());

    private static final Map<String, Operator> ONNX_BY_NAME = index(ONNX);
    private static final Map<String, Operator> BY_NAME = index(ONNX, FUSED);

    /** Runs a node whose op nothing serves: a plan made from a graph that was not validated. */
    private static final Operator UNSUPPORTED = new Operator() {
        @Override
        public List<String> names() {
            return List.of();
        }

        @Override
        public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
            throw fail("unsupported operator " + n.op());
        }
    };

    @SafeVarargs
    private static Map<String, Operator> index(List<Operator>... lists) {
        Map<String, Operator> m = new HashMap<>();
        for (List<Operator> list : lists) {
            for (Operator op : list) {
                for (String name : op.names()) {
                    if (m.put(name, op) != null) {
                        throw new AssertionError("two operators serve " + name);
                    }
                }
            }
        }
        return Map.copyOf(m);
    }

    /**
     * @param n a node
     * @return whether the runtime executes it: a served op name in the default domain ({@code ""} or
     *         {@code ai.onnx}) or {@code dev.compresso}
     */
    public static boolean isSupported(Node n) {
        if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx") && !n.domain().equals("dev.compresso")) {
            return false;
        }
        return BY_NAME.containsKey(n.op());
    }

    /**
     * The operator a plan runs for a node, by op name (the domain was checked by validation).
     *
     * @param n a node
     * @return its operator; for an op nothing serves, one that fails when run
     */
    public static Operator resolve(Node n) {
        return BY_NAME.getOrDefault(n.op(), UNSUPPORTED);
    }

    /**
     * The operator load-time constant folding runs for a node: ONNX reference operators only.
     *
     * @param n a node
     * @return its operator; for any other op, one that fails when run
     */
    public static Operator resolveOnnx(Node n) {
        return ONNX_BY_NAME.getOrDefault(n.op(), UNSUPPORTED);
    }

    /** @return the ONNX operators the runtime executes, sorted */
    public static SortedSet<String> onnxNames() {
        return names(ONNX);
    }

    /** @return the fused engine operators, sorted */
    public static SortedSet<String> fusedNames() {
        return names(FUSED);
    }

    private static SortedSet<String> names(List<Operator> ops) {
        SortedSet<String> s = new TreeSet<>();
        for (Operator op : ops) {
            s.addAll(op.names());
        }
        return Collections.unmodifiableSortedSet(s);
    }
}
