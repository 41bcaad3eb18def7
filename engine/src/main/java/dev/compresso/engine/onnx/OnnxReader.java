package dev.compresso.engine.onnx;

import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.format.FileBytes;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes an ONNX {@code ModelProto} into the graph IR, without any dependency: a hand-written protobuf
 * wire-format decoder over a memory-mapped file. Initializers stored as {@code raw_data} stay in the mapping
 * (no heap copy); typed fields ({@code float_data}, {@code int64_data}, …) are copied off-heap.
 *
 * <p>Field numbers follow {@code onnx.proto3}.
 */
public final class OnnxReader {
    private final String file;
    private final Map<String, Long> opsets = new LinkedHashMap<>();

    private OnnxReader(String file) {
        this.file = file;
    }

    /** The result of reading: the unfused graph and the operator-set versions by domain. */
    public record Result(Graph graph, Map<String, Long> opsets, long irVersion) {}

    /**
     * Reads an ONNX file.
     *
     * @param path the file
     * @return the graph as stored (no folding or fusion)
     * @throws IOException    when the file cannot be read
     * @throws ModelException when the bytes are not a well-formed ONNX model
     */
    public static Result read(Path path) throws IOException, ModelException {
        // Arena.ofAuto: the mapping (or copy) lives as long as any tensor slice of it is reachable.
        return read(path, java.lang.foreign.Arena.ofAuto());
    }

    /**
     * Reads an ONNX file mapped into {@code arena}: initializers are slices of the mapping, valid until the
     * arena is closed.
     *
     * @param path  the file
     * @param arena owns the mapping
     * @return the graph as stored (no folding or fusion)
     * @throws IOException    when the file cannot be read
     * @throws ModelException when the bytes are not a well-formed ONNX model
     */
    public static Result read(Path path, java.lang.foreign.Arena arena) throws IOException, ModelException {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            seg = FileBytes.of(ch, ch.size(), path, arena);
        }
        return read(seg, path.toString());
    }

    /**
     * Reads an ONNX model from bytes.
     *
     * @param seg  the serialized {@code ModelProto}
     * @param file a name for messages
     * @return the graph as stored
     * @throws ModelException when the bytes are not a well-formed ONNX model
     */
    public static Result read(MemorySegment seg, String file) throws ModelException {
        OnnxReader r = new OnnxReader(file);
        try {
            return r.model(new ProtoReader(seg, 0, seg.byteSize(), file));
        } catch (IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
            throw new ModelException(file + ": malformed ONNX model: " + e.getMessage(), e);
        }
    }

    private Result model(ProtoReader p) throws ModelException {
        Graph g = null;
        long ir = -1;
        while (p.next()) {
            switch (p.field()) {
                case 1 -> ir = p.varint();
                case 7 -> g = graph(p.message());
                case 8 -> opset(p.message());
                default -> p.skip();
            }
        }
        if (g == null) {
            throw new ModelException(file + ": not an ONNX model (no graph found)");
        }
        if (!opsets.containsKey("") && !opsets.containsKey("ai.onnx")) {
            throw new ModelException(file + ": not an ONNX model (no default opset_import)");
        }
        long opset = opsets.getOrDefault("", opsets.getOrDefault("ai.onnx", 0L));
        g = new Graph(g.name(), g.inputs(), g.outputs(), g.nodes(), g.constants(), opset);
        return new Result(g, Map.copyOf(opsets), ir);
    }

    private void opset(ProtoReader p) throws ModelException {
        String domain = "";
        long version = 0;
        while (p.next()) {
            switch (p.field()) {
                case 1 -> domain = p.string();
                case 2 -> version = p.varint();
                default -> p.skip();
            }
        }
        opsets.put(domain, version);
    }

    private Graph graph(ProtoReader p) throws ModelException {
        List<Node> nodes = new ArrayList<>();
        Map<String, Tensor> inits = new LinkedHashMap<>();
        List<ValueInfo> inputs = new ArrayList<>();
        List<ValueInfo> outputs = new ArrayList<>();
        String name = "";
        while (p.next()) {
            switch (p.field()) {
                case 1 -> nodes.add(node(p.message(), nodes.size()));
                case 2 -> name = p.string();
                case 5 -> {
                    var t = tensor(p.message(), "initializer");
                    inits.put(t.name, t.tensor);
                }
                case 11 -> inputs.add(valueInfo(p.message()));
                case 12 -> outputs.add(valueInfo(p.message()));
                case 15 -> throw new ModelException(file + ": sparse initializers are not supported");
                default -> p.skip();
            }
        }
        // Before IR version 4 initializers are also listed as inputs; they are not real inputs.
        List<ValueInfo> realInputs = new ArrayList<>();
        for (ValueInfo v : inputs) {
            if (!inits.containsKey(v.name())) {
                realInputs.add(v);
            }
        }
        Set<String> names = new HashSet<>();
        for (Node n : nodes) {
            if (!names.add(n.name())) {
                throw new ModelException(file + ": duplicate node name " + n.name());
            }
        }
        return new Graph(name, realInputs, outputs, nodes, inits);
    }

    private Node node(ProtoReader p, int index) throws ModelException {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "", op = "", domain = "";
        List<ProtoReader> attrs = new ArrayList<>();
        while (p.next()) {
            switch (p.field()) {
                case 1 -> in.add(p.string());
                case 2 -> out.add(p.string());
                case 3 -> name = p.string();
                case 4 -> op = p.string();
                case 5 -> attrs.add(p.message());
                case 7 -> domain = p.string();
                default -> p.skip();
            }
        }
        if (op.isEmpty()) {
            throw new ModelException(file + ": node #" + index + " (" + name + ") has no op_type");
        }
        if (name.isEmpty()) {
            name = op + "_" + index;
        }
        if (domain.equals("ai.onnx")) {
            domain = "";
        }
        Map<String, Attribute> am = new LinkedHashMap<>();
        for (ProtoReader a : attrs) {
            Attribute at = attribute(a, op, name);
            if (at != null) {
                am.put(at.name(), at);
            }
        }
        return new Node(op, domain, name, in, out, am);
    }

    private Attribute attribute(ProtoReader p, String op, String node) throws ModelException {
        String name = "";
        int type = 0;
        Float f = null;
        Long i = null;
        String s = null;
        Tensor t = null;
        boolean graph = false;
        ProtoReader.FloatList floats = new ProtoReader.FloatList();
        ProtoReader.LongList ints = new ProtoReader.LongList();
        List<String> strings = new ArrayList<>();
        while (p.next()) {
            switch (p.field()) {
                case 1 -> name = p.string();
                case 2 -> f = p.float32();
                case 3 -> i = p.varint();
                case 4 -> s = p.string();
                case 5 -> t = tensor(p.message(), "attribute of node " + node).tensor;
                case 6, 11 -> {
                    graph = true;
                    p.skip();
                }
                case 7 -> p.floats(floats);
                case 8 -> p.varints(ints);
                case 9 -> strings.add(p.string());
                case 20 -> type = (int) p.varint();
                default -> p.skip();
            }
        }
        String where = "attribute '" + name + "' of node " + node + " (" + op + ")";
        if (graph) {
            throw new ModelException(file + ": " + where + ": graph attributes (control flow) are not supported");
        }
        // Old exporters omit `type`; infer it from the field that is set.
        if (type == 0) {
            type = f != null ? 1 : i != null ? 2 : s != null ? 3 : t != null ? 4 : floats.n > 0 ? 6 : ints.n > 0 ? 7
                    : !strings.isEmpty() ? 8 : 0;
        }
        return switch (type) {
            case 1 -> Attribute.of(name, f == null ? 0f : f);
            case 2 -> Attribute.of(name, i == null ? 0L : i);
            case 3 -> Attribute.of(name, s == null ? "" : s);
            case 4 -> {
                if (t == null) {
                    throw new ModelException(file + ": " + where + " has no tensor");
                }
                yield Attribute.of(name, t);
            }
            case 6 -> Attribute.of(name, floats.toArray());
            case 7 -> Attribute.of(name, ints.toArray());
            case 8 -> new Attribute(name, Attribute.Type.STRINGS, List.copyOf(strings));
            case 0 -> Attribute.of(name, new long[0]); // an empty list: type unknowable, harmless as INTS
            default -> throw new ModelException(file + ": " + where + " has unsupported attribute type " + type);
        };
    }

    private record Named(String name, Tensor tensor) {}

    private Named tensor(ProtoReader p, String context) throws ModelException {
        ProtoReader.LongList dims = new ProtoReader.LongList();
        int dataType = 0;
        String name = "";
        MemorySegment raw = null;
        ProtoReader.FloatList floatData = new ProtoReader.FloatList();
        ProtoReader.LongList intData = new ProtoReader.LongList();
        boolean external = false;
        while (p.next()) {
            switch (p.field()) {
                case 1 -> p.varints(dims);
                case 2 -> dataType = (int) p.varint();
                case 3 -> throw p.error("segmented tensors are not supported");
                case 4 -> p.floats(floatData);
                case 5, 7, 11 -> p.varints(intData);
                case 8 -> name = p.string();
                case 9 -> raw = p.bytes();
                case 10 -> p.doubles(floatData);
                case 13 -> {
                    external = true;
                    p.skip();
                }
                case 14 -> external |= p.varint() == 1;
                default -> p.skip();
            }
        }
        String where = "tensor '" + name + "' (" + context + ")";
        if (external) {
            throw new ModelException(file + ": " + where + " uses external data, which is not supported");
        }
        DType dt = DType.fromOnnx(dataType);
        if (dt == null) {
            throw new ModelException(file + ": " + where + " has unsupported data type " + dataType);
        }
        long[] shape = dims.toArray();
        long count;
        try {
            count = Tensor.count(shape);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new ModelException(file + ": " + where + " has invalid dims " + java.util.Arrays.toString(shape));
        }
        if (raw != null) {
            if (count > raw.byteSize() || raw.byteSize() != count * dt.bytes()) {
                throw new ModelException(file + ": " + where + ": raw_data has " + raw.byteSize() + " bytes, dims "
                        + java.util.Arrays.toString(shape) + " of " + dt + " need " + count * dt.bytes());
            }
            return new Named(name, Tensor.of(dt, shape, raw));
        }
        int have = dt == DType.FLOAT ? floatData.n : intData.n;
        if (count != have) {
            throw new ModelException(file + ": " + where + " has " + have + " values, dims "
                    + java.util.Arrays.toString(shape) + " need " + count);
        }
        Tensor t = Tensor.allocate(dt, shape);
        MemorySegment d = t.data();
        for (int k = 0; k < have; k++) {
            switch (dt) {
                case FLOAT -> d.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k, floatData.a[k]);
                case INT64 -> d.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, k, intData.a[k]);
                case INT32 -> d.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, k, (int) intData.a[k]);
                case FLOAT16 -> d.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, k, (short) intData.a[k]);
                case INT8, UINT8, BOOL -> d.set(ValueLayout.JAVA_BYTE, k, (byte) intData.a[k]);
            }
        }
        return new Named(name, t);
    }

    private ValueInfo valueInfo(ProtoReader p) throws ModelException {
        String name = "";
        DType dt = null;
        List<ValueInfo.Dim> dims = new ArrayList<>();
        while (p.next()) {
            switch (p.field()) {
                case 1 -> name = p.string();
                case 2 -> {
                    ProtoReader type = p.message();
                    while (type.next()) {
                        if (type.field() == 1) {
                            ProtoReader tt = type.message();
                            while (tt.next()) {
                                switch (tt.field()) {
                                    case 1 -> {
                                        long code = tt.varint();
                                        // ONNX TensorProto.DataType codes run 0..23 today; leave room for new ones.
                                        if (code < 0 || code > 64) {
                                            throw new ModelException(file + ": value '" + name + "' has elem_type "
                                                    + code + ", which is not an ONNX data type");
                                        }
                                        dt = DType.fromOnnx((int) code);
                                    }
                                    case 2 -> {
                                        ProtoReader shape = tt.message();
                                        while (shape.next()) {
                                            if (shape.field() == 1) {
                                                dims.add(dim(shape.message()));
                                            } else {
                                                shape.skip();
                                            }
                                        }
                                    }
                                    default -> tt.skip();
                                }
                            }
                        } else {
                            type.skip();
                        }
                    }
                }
                default -> p.skip();
            }
        }
        return new ValueInfo(name, dt, dims);
    }

    private static ValueInfo.Dim dim(ProtoReader p) throws ModelException {
        long v = -1;
        String param = null;
        while (p.next()) {
            switch (p.field()) {
                case 1 -> v = p.varint();
                case 2 -> param = p.string();
                default -> p.skip();
            }
        }
        return new ValueInfo.Dim(v, param);
    }

    static ByteOrder order() {
        return ByteOrder.LITTLE_ENDIAN;
    }
}
