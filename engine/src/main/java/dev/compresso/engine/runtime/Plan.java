package dev.compresso.engine.runtime;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Executes a graph node by node. Intermediate tensors come from a per-session pool of off-heap buffers keyed
 * by byte size: a buffer returns to the pool after its last reader has run, so the same buffers serve every
 * layer and every run (no per-run allocation once warm).
 */
public final class Plan {
    private final Graph graph;
    private final String where;
    private final int threads;
    private final ActivationObserver observer;
    private final Node[] nodes;
    /** Per value name: number of reads (node inputs). */
    private final Map<String, Integer> uses = new HashMap<>();
    private final Set<String> outputs = new HashSet<>();
    private final Pool pool = new Pool();

    /**
     * @param graph    the graph (validated)
     * @param where    file or graph name for messages
     * @param threads  worker threads
     * @param observer linear-input observer, or null
     */
    public Plan(Graph graph, String where, int threads, ActivationObserver observer) {
        this.graph = graph;
        this.where = where;
        this.threads = threads;
        this.observer = observer;
        this.nodes = graph.nodes().toArray(new Node[0]);
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    uses.merge(in, 1, Integer::sum);
                }
            }
        }
        for (ValueInfo o : graph.outputs()) {
            outputs.add(o.name());
        }
    }

    /** With {@code -Dcompresso.profile=true}, wall time per operator type is summed here (diagnostics). */
    static final boolean PROFILE = Boolean.getBoolean("compresso.profile");
    /** Nanoseconds per operator type, when profiling. */
    public static final Map<String, Long> PROFILE_NANOS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Operators the runtime executes besides the reference ONNX ones. */
    static final Set<String> FUSED = Set.of(Linear.OP, LayerNorm.OP, Attention.OP, Fused.FAKE_QUANT);

    static boolean supported(Node n) {
        if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx") && !n.domain().equals("dev.compresso")) {
            return false;
        }
        return Ops.SUPPORTED.contains(n.op()) || FUSED.contains(n.op());
    }

    /**
     * Checks that every operator is supported and every input is defined before use.
     *
     * @param g     the graph
     * @param where file or graph name for messages
     * @throws ModelException naming the first unsupported operator or undefined tensor
     */
    public static void validate(Graph g, String where) throws ModelException {
        Set<String> defined = new HashSet<>(g.constants().keySet());
        for (ValueInfo v : g.inputs()) {
            defined.add(v.name());
        }
        for (Node n : g.nodes()) {
            if (!supported(n)) {
                throw new ModelException(where + ": unsupported operator " + (n.domain().isEmpty() ? "" : n.domain() + ".")
                        + n.op() + " at node '" + n.name() + "'");
            }
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") reads tensor '" + in
                            + "' that no earlier node, input or constant defines");
                }
            }
            defined.addAll(n.outputs());
        }
        for (ValueInfo o : g.outputs()) {
            if (!defined.contains(o.name())) {
                throw new ModelException(where + ": graph output '" + o.name() + "' is never computed");
            }
        }
    }

    /**
     * Runs the graph.
     *
     * @param inputs graph inputs by name
     * @return graph outputs by name (fresh tensors owned by the caller)
     * @throws ModelException on missing or mismatched inputs or a failing node (naming it)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws ModelException {
        Map<String, Tensor> vals = new HashMap<>(graph.constants());
        for (ValueInfo v : graph.inputs()) {
            Tensor t = inputs.get(v.name());
            if (t == null) {
                throw new ModelException(where + ": missing input '" + v.name() + "'");
            }
            if (v.dtype() != null && t.dtype() != v.dtype()) {
                throw new ModelException(where + ": input '" + v.name() + "' must be " + v.dtype() + ", got " + t.dtype());
            }
            if (!v.shape().isEmpty() && v.shape().size() != t.rank()) {
                throw new ModelException(where + ": input '" + v.name() + "' must have rank " + v.shape().size()
                        + ", got shape " + java.util.Arrays.toString(t.shape()));
            }
            for (int d = 0; d < v.shape().size() && d < t.rank(); d++) {
                long fixed = v.shape().get(d).size();
                if (fixed >= 0 && fixed != t.dim(d)) {
                    throw new ModelException(where + ": input '" + v.name() + "' dimension " + d + " must be " + fixed
                            + ", got " + t.dim(d));
                }
            }
            vals.put(v.name(), t);
        }
        Ctx c = new Ctx(pool, threads, observer, where, graph.opset());
        Map<String, Integer> left = new HashMap<>(uses);
        try {
            for (Node n : nodes) {
                List<String> ins = n.inputs();
                Tensor[] in = new Tensor[ins.size()];
                for (int i = 0; i < in.length; i++) {
                    String name = ins.get(i);
                    if (!name.isEmpty()) {
                        in[i] = vals.get(name);
                    }
                }
                Tensor[] out;
                long t0 = PROFILE ? System.nanoTime() : 0;
                try {
                    out = switch (n) {
                        case Linear l -> new Tensor[] {Fused.linear(l, in[0], c)};
                        case LayerNorm l -> new Tensor[] {Fused.layerNorm(l, in, c)};
                        case Attention a -> new Tensor[] {Fused.attention(a, in, c)};
                        default -> n.op().equals(Fused.FAKE_QUANT) ? new Tensor[] {Fused.fakeQuant(in[0], c)}
                                : Ops.run(n, in, c);
                    };
                } catch (Ops.Fail | IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
                    throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") failed: " + e.getMessage(), e);
                }
                if (PROFILE) {
                    String key = n instanceof Linear l ? "Linear " + l.outFeatures() + "x" + l.inFeatures() : n.op();
                    PROFILE_NANOS.merge(key, System.nanoTime() - t0, Long::sum);
                }
                for (int i = 0; i < n.outputs().size() && i < out.length; i++) {
                    String name = n.outputs().get(i);
                    if (!name.isEmpty()) {
                        vals.put(name, out[i]);
                        pool.retain(out[i], left.getOrDefault(name, 0) + (outputs.contains(name) ? 1 : 0));
                    }
                }
                for (String name : ins) {
                    if (!name.isEmpty()) {
                        int l = left.merge(name, -1, Integer::sum);
                        pool.release(vals.get(name));
                        if (l == 0 && !outputs.contains(name)) {
                            vals.remove(name);
                        }
                    }
                }
            }
            Map<String, Tensor> result = new LinkedHashMap<>();
            for (ValueInfo o : graph.outputs()) {
                Tensor t = vals.get(o.name());
                // On the Java heap (a long[], so 8-byte aligned), not off-heap: a fresh native segment of this
                // size is a new mapping from malloc, page-faulted in and zeroed on every run (0.06-0.6 ms for
                // MiniLM's 196 KB output at batch 1, 2% of the inference in a JFR profile).
                long bytes = t.data().byteSize();
                if (bytes > (long) Integer.MAX_VALUE * 8) {
                    throw new ModelException(where + ": output '" + o.name() + "' of " + bytes + " bytes is too large");
                }
                Tensor copy = Tensor.of(t.dtype(), t.shape(), MemorySegment.ofArray(new long[(int) ((bytes + 7) / 8)]));
                MemorySegment.copy(t.data(), 0, copy.data(), 0, bytes);
                result.put(o.name(), copy);
            }
            return result;
        } finally {
            pool.reset();
        }
    }

    /**
     * Evaluates one node whose inputs are all constants (load-time constant folding).
     *
     * @param n      the node
     * @param in     its inputs (null for omitted optional inputs)
     * @param opset  default-domain opset
     * @param where  file name for messages
     * @return its outputs
     * @throws ModelException when the node fails, naming it
     */
    public static Tensor[] fold(Node n, Tensor[] in, long opset, String where) throws ModelException {
        try {
            return Ops.run(n, in, new Ctx(null, 1, null, where, opset));
        } catch (Ops.Fail | IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
            throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") failed: " + e.getMessage(), e);
        }
    }

    /**
     * @param n a node
     * @return whether the runtime can execute it
     */
    public static boolean isSupported(Node n) {
        return supported(n);
    }

    /** Reusable off-heap buffers by exact byte size, with reference counts of the ones in use. */
    static final class Pool {
        private final Arena arena = Arena.ofAuto();
        private final Map<Long, ArrayDeque<MemorySegment>> free = new HashMap<>();
        private final Map<Long, MemorySegment> inUse = new HashMap<>();
        private final Map<Long, Integer> refs = new HashMap<>();

        /** A buffer of at least {@code bytes}; contents are undefined when reused (every op writes all of it). */
        MemorySegment allocate(long bytes) {
            long size = Math.max(bytes, 64);
            ArrayDeque<MemorySegment> q = free.get(size);
            MemorySegment s = q == null ? null : q.poll();
            if (s == null) {
                s = arena.allocate(size, 64);
            }
            inUse.put(s.address(), s);
            refs.put(s.address(), 0);
            return s;
        }

        void retain(Tensor t, int n) {
            if (t != null && refs.containsKey(t.data().address())) {
                refs.merge(t.data().address(), n, Integer::sum);
            }
        }

        void release(Tensor t) {
            if (t == null) {
                return;
            }
            long a = t.data().address();
            Integer r = refs.get(a);
            if (r == null) {
                return;
            }
            if (r <= 1) {
                refs.remove(a);
                MemorySegment s = inUse.remove(a);
                free.computeIfAbsent(s.byteSize(), k -> new ArrayDeque<>()).add(s);
            } else {
                refs.put(a, r - 1);
            }
        }

        /** Returns every buffer to the free lists (end of a run). */
        void reset() {
            for (MemorySegment s : inUse.values()) {
                free.computeIfAbsent(s.byteSize(), k -> new ArrayDeque<>()).add(s);
            }
            inUse.clear();
            refs.clear();
        }
    }
}
