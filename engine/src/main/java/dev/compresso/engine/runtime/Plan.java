package dev.compresso.engine.runtime;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.runtime.ops.Ctx;
import dev.compresso.engine.runtime.ops.Operator;
import dev.compresso.engine.runtime.ops.Operators;
import dev.compresso.engine.runtime.ops.Vals;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Executes a graph node by node. Intermediate tensors come from a pool of off-heap buffers: a buffer returns
 * to the pool after its last reader has run, so the same buffers serve every layer and every run (no per-run
 * allocation once warm), and a buffer made for a larger shape serves smaller ones. The pool's size is bounded
 * by the largest run it has served ({@link Pool}).
 *
 * <p>Thread-safe: concurrent runs each take their own pool (so memory grows with the number of runs in
 * progress at once, not with the number of calls). The graph is immutable, so a plan's nodes and constants
 * never change under it. {@link #close()} frees the buffers at once; the caller makes sure no run is in
 * progress then ({@link dev.compresso.engine.Session} does). A plan dropped without closing is freed by the
 * garbage collector.
 */
public final class Plan {
    private final Graph graph;
    private final String where;
    private final int threads;
    private final ActivationObserver observer;
    private final Node[] nodes;
    /** Per node: its operator, resolved once here. */
    private final Operator[] ops;
    /** Nanoseconds per operator type summed over runs, or null when not profiling. */
    private final Map<String, Long> profile;
    /** Per value name: number of reads (node inputs). */
    private final Map<String, Integer> uses = new HashMap<>();
    private final Set<String> outputs = new HashSet<>();
    /** Graph inputs used as indices into a constant table (token ids): node that reads each, and its rows. */
    private final Map<String, Node> lookups = new HashMap<>();
    /** Pools of runs not in progress; a run takes one (or makes one) and gives it back. */
    private final ConcurrentLinkedDeque<Pool> idle = new ConcurrentLinkedDeque<>();
    /** The arenas of every buffer of every pool, closed by {@link #close()} or by the cleaner. */
    private final Set<Arena> arenas = ConcurrentHashMap.newKeySet();
    private final Cleaner.Cleanable cleanable;
    /** What a run computes for all outputs, and for requested subsets of them. */
    private final Selection all;
    private final Map<Set<String>, Selection> selections = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private static final Cleaner CLEANER = Cleaner.create();

    /** The nodes to run for some outputs, how often each value is read, and those outputs. */
    private record Selection(Node[] nodes, Operator[] ops, Map<String, Integer> uses, Set<String> outputs) {}

    /** Closes a plan's buffer arenas; holds no reference to the plan. */
    private record Release(Set<Arena> arenas) implements Runnable {
        @Override
        public void run() {
            for (Arena a : arenas) {
                if (arenas.remove(a)) {
                    a.close();
                }
            }
        }
    }

    /**
     * @param graph    the graph (validated)
     * @param where    file or graph name for messages
     * @param threads  worker threads
     * @param observer linear-input observer, or null
     */
    public Plan(Graph graph, String where, int threads, ActivationObserver observer) {
        this(graph, where, threads, observer, false);
    }

    /**
     * @param graph    the graph (validated)
     * @param where    file or graph name for messages
     * @param threads  worker threads
     * @param observer linear-input observer, or null
     * @param profile  whether to sum wall time per operator type ({@link #profile()})
     */
    public Plan(Graph graph, String where, int threads, ActivationObserver observer, boolean profile) {
        this.graph = graph;
        this.where = where;
        this.threads = threads;
        this.observer = observer;
        this.profile = profile ? new ConcurrentHashMap<>() : null;
        this.nodes = graph.nodes().toArray(new Node[0]);
        this.ops = new Operator[nodes.length];
        for (int i = 0; i < nodes.length; i++) {
            ops[i] = Operators.resolve(nodes[i]);
        }
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
        Set<String> inputNames = new HashSet<>();
        for (ValueInfo v : graph.inputs()) {
            inputNames.add(v.name());
        }
        for (Node n : nodes) {
            if (n.op().equals("Gather") && n.inputs().size() == 2 && inputNames.contains(n.inputs().get(1))
                    && graph.constants().containsKey(n.inputs().get(0)) && n.intAttr("axis", 0) == 0
                    && graph.constants().get(n.inputs().get(0)).rank() >= 1) {
                lookups.putIfAbsent(n.inputs().get(1), n);
            }
        }
        this.all = new Selection(nodes, ops, uses, outputs);
        this.cleanable = CLEANER.register(this, new Release(arenas));
    }

    /** The nodes that compute {@code wanted} (graph outputs), in order, and their reads. */
    private Selection select(Set<String> wanted) {
        Set<String> live = new HashSet<>(wanted);
        List<Node> kept = new ArrayList<>();
        List<Operator> keptOps = new ArrayList<>();
        for (int i = nodes.length - 1; i >= 0; i--) {
            Node n = nodes[i];
            if (n.outputs().stream().anyMatch(live::contains)) {
                kept.add(n);
                keptOps.add(ops[i]);
                live.addAll(n.inputs());
            }
        }
        java.util.Collections.reverse(kept);
        java.util.Collections.reverse(keptOps);
        Map<String, Integer> reads = new HashMap<>();
        for (Node n : kept) {
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    reads.merge(in, 1, Integer::sum);
                }
            }
        }
        return new Selection(kept.toArray(new Node[0]), keptOps.toArray(new Operator[0]), reads, Set.copyOf(wanted));
    }

    /** Name of the input that BERT-style models read as a 0/1 attention mask. */
    static final String MASK = "attention_mask";

    /**
     * Rejects values the graph would silently misread: a negative id used to index a constant table (ONNX
     * Gather would count it from the end) and a mask value other than 0 or 1 (a 2 turns the additive mask
     * into +10000 and the output into NaN).
     */
    private void checkValues(String name, Tensor t) throws ModelException {
        boolean mask = name.equals(MASK);
        Node lookup = lookups.get(name);
        if (!mask && lookup == null || t.dtype() != DType.INT64 && t.dtype() != DType.INT32) {
            return;
        }
        long n = t.size();
        long rows = lookup == null ? 0 : graph.constants().get(lookup.inputs().get(0)).dim(0);
        for (long i = 0; i < n; i++) {
            long v = t.dtype() == DType.INT64 ? t.data().getAtIndex(Vals.L, i) : t.data().getAtIndex(Vals.I, i);
            if (mask && v != 0 && v != 1) {
                throw new ModelException(where + ": input '" + name + "' holds " + v + " at flat index " + i
                        + "; an attention mask holds only 0 and 1");
            }
            if (lookup != null && (v < 0 || v >= rows)) {
                throw new ModelException(where + ": input '" + name + "' holds " + v + " at flat index " + i
                        + "; node '" + lookup.name() + "' (Gather) needs ids in [0, " + rows + ")");
            }
        }
    }

    /**
     * @return nanoseconds of wall time per operator type (a fused linear layer by its shape) summed over every
     *         run so far, a snapshot; empty unless the plan was made to profile
     */
    public Map<String, Long> profile() {
        return profile == null ? Map.of() : Map.copyOf(profile);
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
            if (!Operators.isSupported(n)) {
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
        return run(inputs, null);
    }

    /**
     * Runs the nodes that compute some of the graph outputs.
     *
     * @param inputs graph inputs by name
     * @param wanted names of graph outputs to compute, or null for all
     * @return those outputs by name, in graph order (fresh tensors owned by the caller)
     * @throws ModelException on a name that is not a graph output, missing or mismatched inputs or a failing
     *                        node (naming it)
     * @throws IllegalStateException after {@link #close()}
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> wanted) throws ModelException {
        if (closed) {
            throw new IllegalStateException(where + ": the session is closed");
        }
        Selection sel = all;
        if (wanted != null && !wanted.equals(outputs)) {
            for (String w : wanted) {
                if (!outputs.contains(w)) {
                    throw new ModelException(where + ": '" + w + "' is not a graph output; outputs are " + outputs);
                }
            }
            sel = selections.get(wanted);
            if (sel == null) {
                sel = select(wanted);
                if (selections.size() < 64) {
                    selections.put(sel.outputs(), sel);
                }
            }
        }
        if (inputs == null) {
            throw new ModelException(where + ": the map of inputs is null");
        }
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
            checkValues(v.name(), t);
            vals.put(v.name(), t);
        }
        Pool pool = idle.poll();
        if (pool == null) {
            pool = new Pool(arenas);
        }
        try {
            return run(vals, pool, sel);
        } finally {
            idle.push(pool);
            java.lang.ref.Reference.reachabilityFence(this); // the cleaner must not free buffers of a run
        }
    }

    /**
     * Frees every activation buffer now. No run may be in progress; later runs throw
     * {@link IllegalStateException}. Idempotent.
     */
    public void close() {
        closed = true;
        idle.clear();
        cleanable.clean();
    }

    private Map<String, Tensor> run(Map<String, Tensor> vals, Pool pool, Selection sel) throws ModelException {
        Node[] nodes = sel.nodes();
        Map<String, Integer> uses = sel.uses();
        Operator[] ops = sel.ops();
        Set<String> outputs = sel.outputs();
        Ctx c = new Ctx(pool::allocate, threads, observer, where, graph.opset());
        Map<String, Integer> left = new HashMap<>(uses);
        try {
            for (int ni = 0; ni < nodes.length; ni++) {
                Node n = nodes[ni];
                List<String> ins = n.inputs();
                Tensor[] in = new Tensor[ins.size()];
                for (int i = 0; i < in.length; i++) {
                    String name = ins.get(i);
                    if (!name.isEmpty()) {
                        in[i] = vals.get(name);
                    }
                }
                Tensor[] out;
                long t0 = profile != null ? System.nanoTime() : 0;
                try {
                    out = ops[ni].forward(n, in, c);
                } catch (Operator.Fail | IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
                    throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") failed: " + e.getMessage(), e);
                } catch (Exhausted e) {
                    throw new ModelException(where + ": out of memory: node '" + n.name() + "' (" + n.op()
                            + ") needed " + e.bytes + " bytes for its output " + n.outputs() + " (this run already held "
                            + e.held + " bytes): " + e.getMessage()
                            + "; run smaller batches or raise -XX:MaxDirectMemorySize", e);
                } catch (OutOfMemoryError e) {
                    // A failed request (scratch arrays of a huge shape): nothing was allocated, the JVM is fine.
                    throw new ModelException(where + ": out of memory: node '" + n.name() + "' (" + n.op()
                            + ") with output " + n.outputs() + ": " + e.getMessage() + "; run smaller batches", e);
                }
                if (profile != null) {
                    String key = n instanceof Linear l ? "Linear " + l.outFeatures() + "x" + l.inFeatures() : n.op();
                    profile.merge(key, System.nanoTime() - t0, Long::sum);
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
                if (!outputs.contains(o.name())) {
                    continue;
                }
                Tensor t = vals.get(o.name());
                // On the Java heap (a long[], so 8-byte aligned), not off-heap: a fresh native segment of this
                // size is a new mapping from malloc, page-faulted in and zeroed on every run (0.06-0.6 ms for
                // MiniLM's 196 KB output at batch 1, 2% of the inference in a JFR profile).
                long bytes = t.data().byteSize();
                if (bytes > (long) Integer.MAX_VALUE * 8) {
                    throw new ModelException(where + ": output '" + o.name() + "' of " + bytes + " bytes is too large");
                }
                long[] heap;
                try {
                    heap = new long[(int) ((bytes + 7) / 8)];
                } catch (OutOfMemoryError e) {
                    throw new ModelException(where + ": out of memory: output '" + o.name() + "' needed " + bytes
                            + " bytes of Java heap; run smaller batches or raise -Xmx", e);
                }
                Tensor copy = Tensor.of(t.dtype(), t.shape(), MemorySegment.ofArray(heap));
                MemorySegment.copy(t.data(), 0, copy.data(), 0, bytes);
                result.put(o.name(), copy);
            }
            return result;
        } finally {
            pool.reset();
        }
    }

    /** @return bytes of activation buffers held by the pools of runs not in progress (diagnostics) */
    public long heldBytes() {
        long sum = 0;
        for (Pool p : idle) {
            sum += p.held();
        }
        return sum;
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
            return Operators.resolveOnnx(n).forward(n, in, new Ctx(null, 1, null, where, opset));
        } catch (Operator.Fail | IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
            throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") failed: " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            // A forged constant of a huge shape: the request failed, nothing was allocated.
            throw new ModelException(where + ": node '" + n.name() + "' (" + n.op() + ") folds to a constant too large"
                    + " for memory: " + e.getMessage(), e);
        }
    }

    /**
     * @param n a node
     * @return whether the runtime can execute it
     */
    public static boolean isSupported(Node n) {
        return Operators.isSupported(n);
    }

    /**
     * Reusable off-heap buffers of one run at a time. A request takes the smallest free buffer that is large
     * enough (best fit; a buffer made for a larger shape serves smaller ones), so a session does not keep a
     * buffer set per input shape. At the end of a run the pool trims itself to a budget that follows the
     * largest run it has served: at most {@link #KEEP} times that run's peak of live bytes, buffers untouched
     * by the last run going first. Each buffer has its own shared arena (kernels on the worker threads touch
     * it), closed when the buffer is trimmed or the plan closed, so memory goes back to the system at once.
     */
    static final class Pool {
        /** Held bytes between runs, in multiples of the largest peak of live bytes of one run. */
        static final int KEEP = 2;

        /** One buffer, with the run that used it last. */
        private static final class Buffer {
            final MemorySegment seg;
            final Arena arena;
            long lastRun;
            /** Bytes requested by the tensor it holds now. */
            long want;

            Buffer(MemorySegment seg, Arena arena) {
                this.seg = seg;
                this.arena = arena;
            }
        }

        /** The plan's registry of buffer arenas. */
        private final Set<Arena> arenas;

        Pool(Set<Arena> arenas) {
            this.arenas = arenas;
        }

        private final TreeMap<Long, ArrayDeque<Buffer>> free = new TreeMap<>();
        private final Map<Long, Buffer> inUse = new HashMap<>();
        private final Map<Long, Integer> refs = new HashMap<>();
        /** Bytes of every buffer the pool holds, free or in use. */
        private long held;
        /** Requested bytes live now, its peak in this run, and the largest peak of any run. */
        private long live, peak, maxPeak;
        private long run = 1;

        /**
         * A buffer of at least {@code bytes}; contents are undefined when reused (every op writes all of it).
         *
         * @throws Exhausted when direct memory cannot hold a new buffer even after the free ones are dropped
         */
        MemorySegment allocate(long bytes) {
            long size = Math.max(bytes, 64);
            Map.Entry<Long, ArrayDeque<Buffer>> e = free.ceilingEntry(size);
            Buffer b;
            if (e != null) {
                b = e.getValue().poll();
                if (e.getValue().isEmpty()) {
                    free.remove(e.getKey());
                }
            } else {
                b = reserve(size);
                held += size;
            }
            b.lastRun = run;
            b.want = size;
            long a = b.seg.address();
            inUse.put(a, b);
            refs.put(a, 0);
            live += size;
            peak = Math.max(peak, live);
            return b.seg;
        }

        private Buffer reserve(long size) {
            try {
                return newBuffer(size);
            } catch (OutOfMemoryError first) {
                // Free buffers may hold what is needed, in other sizes: free them.
                dropFree();
                try {
                    return newBuffer(size);
                } catch (OutOfMemoryError second) {
                    throw new Exhausted(size, held, second.getMessage());
                }
            }
        }

        private Buffer newBuffer(long size) {
            Arena a = Arena.ofShared();
            try {
                Buffer b = new Buffer(a.allocate(size, 64), a);
                arenas.add(a);
                return b;
            } catch (OutOfMemoryError | RuntimeException e) {
                a.close();
                throw e;
            }
        }

        private void dispose(Buffer b) {
            held -= b.seg.byteSize();
            if (arenas.remove(b.arena)) {
                b.arena.close();
            }
        }

        private void dropFree() {
            for (ArrayDeque<Buffer> q : free.values()) {
                for (Buffer b : q) {
                    dispose(b);
                }
            }
            free.clear();
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
                giveBack(inUse.remove(a));
            } else {
                refs.put(a, r - 1);
            }
        }

        private void giveBack(Buffer b) {
            live -= b.want;
            free.computeIfAbsent(b.seg.byteSize(), k -> new ArrayDeque<>()).add(b);
        }

        /** Returns every buffer to the free lists and trims the pool to its budget (end of a run). */
        void reset() {
            for (Buffer b : inUse.values()) {
                giveBack(b);
            }
            inUse.clear();
            refs.clear();
            maxPeak = Math.max(maxPeak, peak);
            long budget = KEEP * maxPeak;
            if (held > budget) {
                trim(budget, true);
                trim(budget, false);
            }
            live = 0;
            peak = 0;
            run++;
        }

        /** Drops free buffers, smallest first, until {@code held <= budget}; only stale ones when asked. */
        private void trim(long budget, boolean staleOnly) {
            var it = free.entrySet().iterator();
            while (held > budget && it.hasNext()) {
                ArrayDeque<Buffer> q = it.next().getValue();
                q.removeIf(b -> {
                    if (held > budget && (!staleOnly || b.lastRun != run)) {
                        dispose(b);
                        return true;
                    }
                    return false;
                });
                if (q.isEmpty()) {
                    it.remove();
                }
            }
        }

        /** @return bytes of the buffers this pool holds */
        long held() {
            return held;
        }
    }

    /** Direct memory ran out while a node allocated its output. */
    static final class Exhausted extends RuntimeException {
        final long bytes;
        final long held;

        Exhausted(long bytes, long held, String why) {
            super(why, null, false, false);
            this.bytes = bytes;
            this.held = held;
        }
    }
}
