package dev.compresso.engine.format;

import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.json.JsonException;
import dev.compresso.engine.weights.Panels;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes Compresso model files: a {@link Graph} (with its packed weights), an optional tokenizer and
 * free-form notes, in the {@link TensorFile} container. See {@code docs/model-file.md}. What each node type
 * stores (its keys and tensors) is its entry in {@link NodeCodecs}; this class walks the graph and the
 * container.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /**
     * What a model file holds.
     *
     * @param graph     the graph; its weights and constants are read-only slices of the mapped file
     * @param tokenizer the Hugging Face {@code tokenizer.json} text, or {@code null}
     * @param notes     the string metadata (e.g. the quantization report), read-only
     */
    public record Contents(Graph graph, String tokenizer, Map<String, String> notes) {}

    /**
     * Whether the file is a Compresso model file (by content, not extension). Never throws.
     *
     * @param path a file
     * @return true if its header starts like one
     */
    public static boolean isCompresso(Path path) {
        return TensorFile.looksLikeOne(path);
    }

    /**
     * Writes {@code graph} (and a tokenizer) atomically.
     *
     * @param graph     the graph
     * @param tokenizer {@code tokenizer.json} text, or {@code null}
     * @param notes     extra string metadata (e.g. {@code quantization}: a per-layer report), or an empty map
     * @param path      the target file (replaced atomically)
     * @throws IOException              if writing fails (the target is untouched)
     * @throws IllegalArgumentException if the graph holds something the format cannot store
     */
    public static void write(Graph graph, String tokenizer, Map<String, String> notes, Path path) throws IOException {
        List<TensorFile.Entry> tensors = new ArrayList<>();
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("name", graph.name());
        g.put("opset", graph.opset());
        g.put("inputs", valueInfos(graph.inputs()));
        g.put("outputs", valueInfos(graph.outputs()));
        List<Object> consts = new ArrayList<>();
        // Sorted: the graph keeps constants in a hash map, and the same model must give the same bytes.
        for (Map.Entry<String, Tensor> c : new java.util.TreeMap<>(graph.constants()).entrySet()) {
            String tname = "const/" + c.getKey();
            tensors.add(tensorEntry(tname, c.getValue()));
            Map<String, Object> cj = new LinkedHashMap<>();
            cj.put("name", c.getKey());
            cj.put("tensor", tname);
            cj.put("dtype", c.getValue().dtype().name());
            consts.add(cj);
        }
        g.put("constants", consts);
        List<Object> nodes = new ArrayList<>();
        for (Node n : graph.nodes()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("op", n.op());
            j.put("name", n.name());
            j.put("inputs", n.inputs());
            j.put("outputs", n.outputs());
            NodeCodecs.write(n, "node/" + n.name(), j, tensors);
            nodes.add(j);
        }
        g.put("nodes", nodes);
        Map<String, String> meta = new LinkedHashMap<>(new java.util.TreeMap<>(notes));
        meta.put("graph", Json.write(g));
        if (tokenizer != null) {
            meta.put("tokenizer", tokenizer);
        }
        TensorFile.write(path, meta, tensors);
    }

    /**
     * Reads a model file: maps it, validates the container and rebuilds the graph from the mapped bytes. The
     * checksum is not verified here (see {@link #verify(Path)}), so loading costs a header parse.
     *
     * @param path the file
     * @return graph, tokenizer and notes
     * @throws IOException    if the file cannot be read
     * @throws ModelException if the file is corrupted, truncated, of another version or inconsistent; the
     *                        message names the file and the tensor or node
     */
    public static Contents read(Path path) throws IOException, ModelException {
        return read(path, java.lang.foreign.Arena.ofAuto());
    }

    /**
     * Reads a model file mapped into {@code arena} (see {@link #read(Path)}): the graph's weights and constants
     * are slices of the mapping, valid until the arena is closed.
     *
     * @param path  the file
     * @param arena owns the mapping
     * @return graph, tokenizer and notes
     * @throws IOException    if the file cannot be read
     * @throws ModelException as {@link #read(Path)}
     */
    public static Contents read(Path path, java.lang.foreign.Arena arena) throws IOException, ModelException {
        TensorFile f = TensorFile.open(path, arena);
        String gtext = f.metadata().get("graph");
        if (gtext == null) {
            throw new ModelException(path + ": no graph in the model file metadata");
        }
        Map<String, Object> g;
        try {
            g = asMap(path, "graph", Json.parse(gtext));
        } catch (JsonException e) {
            throw new ModelException(path + ": corrupted graph metadata: " + e.getMessage(), e);
        }
        try {
            Map<String, Tensor> constants = new LinkedHashMap<>();
            for (Object o : list(path, g, "constants")) {
                Map<String, Object> c = asMap(path, "constant", o);
                constants.put(str(path, c, "name"), tensor(f, str(path, c, "tensor"), str(path, c, "dtype")));
            }
            List<Node> nodes = new ArrayList<>();
            for (Object o : list(path, g, "nodes")) {
                nodes.add(node(f, asMap(path, "node", o)));
            }
            Graph graph = new Graph(str(path, g, "name"), valueInfos(path, list(path, g, "inputs")),
                    valueInfos(path, list(path, g, "outputs")), nodes, constants, num(path, g, "opset").longValue());
            Map<String, String> notes = new LinkedHashMap<>(f.metadata());
            notes.remove("graph");
            String tok = notes.remove("tokenizer");
            return new Contents(graph, tok, java.util.Collections.unmodifiableMap(notes));
        } catch (ClassCastException | IllegalArgumentException e) {
            throw new ModelException(path + ": inconsistent graph metadata: " + e.getMessage(), e);
        }
    }

    /**
     * Verifies the CRC32C of a model file's data section (reads every byte; about a millisecond per 10 MB once
     * the file is cached).
     *
     * @param path the file
     * @throws IOException    if the file cannot be read
     * @throws ModelException on a structural error or a checksum mismatch (naming the file)
     */
    public static void verify(Path path) throws IOException, ModelException {
        TensorFile.open(path).verify();
    }

    // ---------------------------------------------------------------- writing helpers

    private static List<Object> valueInfos(List<ValueInfo> vs) {
        List<Object> out = new ArrayList<>();
        for (ValueInfo v : vs) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("name", v.name());
            j.put("dtype", v.dtype() == null ? null : v.dtype().name());
            List<Object> dims = new ArrayList<>();
            for (ValueInfo.Dim d : v.shape()) {
                Map<String, Object> dj = new LinkedHashMap<>();
                dj.put("size", d.size());
                dj.put("symbol", d.symbol());
                dims.add(dj);
            }
            j.put("shape", dims);
            out.add(j);
        }
        return out;
    }

    private static String stDtype(DType t) {
        return switch (t) {
            case FLOAT -> "F32";
            case FLOAT16 -> "F16";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case BOOL -> "BOOL";
        };
    }

    static TensorFile.Entry tensorEntry(String name, Tensor t) {
        return new TensorFile.Entry(name, stDtype(t.dtype()), t.shape(), t.data());
    }

    static TensorFile.Entry floats(String name, float[] v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new TensorFile.Entry(name, "F32", new long[] {v.length}, s.asSlice(0, v.length * 4L));
    }

    // ---------------------------------------------------------------- reading helpers

    private static Node node(TensorFile f, Map<String, Object> j) throws ModelException {
        Path p = f.path();
        String op = str(p, j, "op"), name = str(p, j, "name");
        List<String> ins = strings(p, j, "inputs"), outs = strings(p, j, "outputs");
        String where = p + ": node '" + name + "' (" + op + ")";
        try {
            return NodeCodecs.read(op, f, j, name, ins, outs);
        } catch (ModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelException(where + ": " + e.getMessage(), e);
        }
    }

    static Attribute attribute(TensorFile f, String name, Map<String, Object> a) throws ModelException {
        Path p = f.path();
        Attribute.Type type = Attribute.Type.valueOf(str(p, a, "type"));
        Object v = a.get("value");
        return switch (type) {
            case FLOAT -> Attribute.of(name, ((Number) v).floatValue());
            case INT -> Attribute.of(name, ((Number) v).longValue());
            case STRING -> Attribute.of(name, (String) v);
            case TENSOR -> Attribute.of(name, tensor(f, str(p, a, "tensor"), str(p, a, "dtype")));
            case FLOATS -> {
                List<?> l = (List<?>) v;
                float[] out = new float[l.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = ((Number) l.get(i)).floatValue();
                }
                yield Attribute.of(name, out);
            }
            case INTS -> {
                List<?> l = (List<?>) v;
                long[] out = new long[l.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = ((Number) l.get(i)).longValue();
                }
                yield Attribute.of(name, out);
            }
            case STRINGS -> {
                List<String> out = new ArrayList<>();
                for (Object o : (List<?>) v) {
                    out.add((String) o);
                }
                yield new Attribute(name, Attribute.Type.STRINGS, List.copyOf(out));
            }
        };
    }

    private static Tensor tensor(TensorFile f, String tname, String dtype) throws ModelException {
        TensorFile.Entry e = f.get(tname);
        DType t = DType.valueOf(dtype);
        if (!stDtype(t).equals(e.dtype())) {
            throw new ModelException(f.path() + ": tensor '" + tname + "' has dtype " + e.dtype() + ", graph says " + dtype);
        }
        return Tensor.of(t, e.shape(), e.data());
    }

    static float[] floatArray(TensorFile f, String tname) throws ModelException {
        TensorFile.Entry e = f.get(tname);
        if (!e.dtype().equals("F32")) {
            throw new ModelException(f.path() + ": tensor '" + tname + "' has dtype " + e.dtype() + ", expected F32");
        }
        return e.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    private static List<ValueInfo> valueInfos(Path p, List<Object> vs) throws ModelException {
        List<ValueInfo> out = new ArrayList<>();
        for (Object o : vs) {
            Map<String, Object> j = asMap(p, "value info", o);
            List<ValueInfo.Dim> dims = new ArrayList<>();
            for (Object d : list(p, j, "shape")) {
                Map<String, Object> dj = asMap(p, "dim", d);
                dims.add(new ValueInfo.Dim(num(p, dj, "size").longValue(), (String) dj.get("symbol")));
            }
            Object dt = j.get("dtype");
            out.add(new ValueInfo(str(p, j, "name"), dt == null ? null : DType.valueOf((String) dt), dims));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Path p, String what, Object o) throws ModelException {
        if (!(o instanceof Map<?, ?> m)) {
            throw new ModelException(p + ": corrupted graph metadata: " + what + " is not an object");
        }
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Path p, Map<String, Object> j, String key) throws ModelException {
        if (!(j.get(key) instanceof List<?> l)) {
            throw new ModelException(p + ": corrupted graph metadata: '" + key + "' is not a list in " + j.get("name"));
        }
        return (List<Object>) l;
    }

    private static List<String> strings(Path p, Map<String, Object> j, String key) throws ModelException {
        List<String> out = new ArrayList<>();
        for (Object o : list(p, j, key)) {
            if (!(o instanceof String s)) {
                throw new ModelException(p + ": corrupted graph metadata: '" + key + "' of " + j.get("name") + " holds a non-string");
            }
            out.add(s);
        }
        return out;
    }

    static String str(Path p, Map<String, Object> j, String key) throws ModelException {
        if (!(j.get(key) instanceof String s)) {
            throw new ModelException(p + ": corrupted graph metadata: '" + key + "' missing in " + j.get("name"));
        }
        return s;
    }

    /** A whole number in {@code [min, max]} (a forged {@code 1.5} or {@code -3} names the node and key). */
    static int whole(Path p, Map<String, Object> j, String key, int min, int max) throws ModelException {
        Number n = num(p, j, key);
        double d = n.doubleValue();
        if (!(n instanceof Long || n instanceof Integer) && d != Math.rint(d) || d < min || d > max) {
            throw new ModelException(p + ": node '" + j.get("name") + "': '" + key + "' must be a whole number in ["
                    + min + ", " + max + "], not " + n);
        }
        return n.intValue();
    }

    static Number num(Path p, Map<String, Object> j, String key) throws ModelException {
        if (!(j.get(key) instanceof Number n)) {
            throw new ModelException(p + ": corrupted graph metadata: '" + key + "' missing in " + j.get("name"));
        }
        return n;
    }
}
