package dev.compresso.samples;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.prune.Pattern;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code inspect MODEL [--json]}: file size and format, inputs and outputs, operator counts, every fused
 * linear layer (packed format, shape, bytes, sparsity, int8 activation mode) and every constant tensor
 * (dtype, shape, bytes, sparsity).
 */
final class InspectCommand implements Command {

    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String usage() {
        return "inspect MODEL [--json]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        boolean json = args.flag("json");
        List<String> pos = args.positional();
        args.finish();
        if (pos.size() != 1) {
            throw new UsageException(pos.isEmpty() ? "missing MODEL" : "one MODEL only, got " + pos.size());
        }
        String spec = pos.get(0);
        Path path = ModelResolver.resolveModel(spec);
        Map<String, Object> report;
        try (Model model = Model.load(path)) {
            report = report(spec, path, model);
        }
        if (json) {
            out.println(Json.write(report));
        } else {
            printText(report, out);
        }
    }

    static Map<String, Object> report(String spec, Path path, Model model) throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", spec);
        r.put("file", path.toString());
        r.put("format", ModelResolver.isCompresso(path) ? "compresso" : "onnx");
        r.put("size_bytes", Files.size(path));
        r.put("inputs", values(model.graph().inputs()));
        r.put("outputs", values(model.graph().outputs()));

        List<Node> nodes = model.graph().nodes();
        Map<String, Integer> ops = new LinkedHashMap<>();
        for (Node n : nodes) {
            ops.merge(n.op(), 1, Integer::sum);
        }
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(ops.entrySet());
        sorted.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Object> opCounts = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : sorted) {
            opCounts.put(e.getKey(), e.getValue());
        }
        r.put("nodes", nodes.size());
        r.put("operators", opCounts);

        List<Object> linears = new ArrayList<>();
        long weightBytes = 0;
        for (Node n : nodes) {
            if (n instanceof Linear l) {
                PackedWeights w = l.weights();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", l.name());
                m.put("format", w.format());
                m.put("out", w.outFeatures());
                m.put("in", w.inFeatures());
                m.put("bytes", w.byteSize());
                m.put("sparsity", round(sparsity(w)));
                m.put("pattern", Pattern.of(w).label());
                m.put("kernel", kernel(w));
                m.put("int8_mode", w.format().contains("int8")
                        ? (l.isStatic() ? "static(scale=" + l.staticActivationScale() + ")" : String.valueOf(l.int8Mode()))
                        : null);
                m.put("activation", String.valueOf(l.activation()));
                m.put("bias", l.bias() != null);
                linears.add(m);
                weightBytes += w.byteSize();
            }
        }
        r.put("linear", linears);

        List<Object> tensors = new ArrayList<>();
        List<Map.Entry<String, Tensor>> consts = new ArrayList<>(model.graph().constants().entrySet());
        consts.sort(Comparator.comparing(Map.Entry::getKey));
        for (Map.Entry<String, Tensor> e : consts) {
            Tensor t = e.getValue();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.getKey());
            m.put("dtype", String.valueOf(t.dtype()));
            m.put("shape", t.shape());
            long bytes = t.data().byteSize();
            m.put("bytes", bytes);
            m.put("sparsity", t.dtype() == DType.FLOAT ? round(sparsity(t)) : null);
            tensors.add(m);
            weightBytes += bytes;
        }
        r.put("tensors", tensors);
        r.put("weight_bytes", weightBytes);
        return r;
    }

    private static List<Object> values(List<ValueInfo> vs) {
        List<Object> out = new ArrayList<>();
        for (ValueInfo v : vs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", v.name());
            m.put("dtype", String.valueOf(v.dtype()));
            List<Object> dims = new ArrayList<>();
            for (ValueInfo.Dim d : v.shape()) {
                dims.add(d.symbol() != null && !d.symbol().isEmpty() ? d.symbol() : (Object) d.size());
            }
            m.put("shape", dims);
            out.add(m);
        }
        return out;
    }

    /** Fraction of exactly-zero weights. */
    static double sparsity(PackedWeights w) {
        return Pattern.sparsity(w);
    }

    /** The kernel family that runs these weights. */
    static String kernel(PackedWeights w) {
        return switch (w) {
            case CsrMatrix c -> "csr";
            case BsrMatrix b -> "bsr4x1";
            case dev.compresso.engine.weights.Bsr16Matrix b -> "bsr16x1";
            case dev.compresso.engine.weights.Nm24Matrix nm -> "2:4";
            default -> "dense";
        };
    }

    private static double sparsity(Tensor t) {
        long n = t.size();
        if (n == 0) {
            return 0;
        }
        long zeros = 0;
        var seg = t.data();
        for (long i = 0; i < n; i++) {
            zeros += seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) == 0f ? 1 : 0;
        }
        return (double) zeros / n;
    }

    private static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }

    @SuppressWarnings("unchecked")
    static void printText(Map<String, Object> r, PrintStream out) {
        out.printf("model    %s (%s, %s)%n", r.get("file"), r.get("format"), bytes((Long) r.get("size_bytes")));
        for (String io : List.of("inputs", "outputs")) {
            for (Object o : (List<Object>) r.get(io)) {
                Map<String, Object> m = (Map<String, Object>) o;
                out.printf("%-8s %s %s %s%n", io.equals("inputs") ? "input" : "output", m.get("name"), m.get("dtype"),
                        m.get("shape"));
            }
        }
        out.printf("%noperators (%d nodes)%n", (Integer) r.get("nodes"));
        for (Map.Entry<String, Object> e : ((Map<String, Object>) r.get("operators")).entrySet()) {
            out.printf("  %-24s %6d%n", e.getKey(), (Integer) e.getValue());
        }
        List<Object> lin = (List<Object>) r.get("linear");
        out.printf("%nlinear layers (%d)%n", lin.size());
        int w = 4;
        for (Object o : lin) {
            w = Math.max(w, String.valueOf(((Map<String, Object>) o).get("name")).length());
        }
        String nameCol = "  %-" + w + "s";
        if (!lin.isEmpty()) {
            out.printf(nameCol + " %-14s %11s %10s %8s  %-12s %-7s %s%n", "name", "format", "out x in", "bytes", "sparsity",
                    "pattern", "kernel", "int8 mode");
        }
        for (Object o : lin) {
            Map<String, Object> m = (Map<String, Object>) o;
            out.printf(nameCol + " %-14s %11s %10s %7.2f%%  %-12s %-7s %s%n", m.get("name"), m.get("format"),
                    m.get("out") + "x" + m.get("in"), bytes((Long) m.get("bytes")), 100 * (Double) m.get("sparsity"),
                    m.get("pattern"), m.get("kernel"), m.get("int8_mode") == null ? "-" : m.get("int8_mode"));
        }
        List<Object> ts = (List<Object>) r.get("tensors");
        out.printf("%ntensors (%d)%n", ts.size());
        int tw = 4;
        for (Object o : ts) {
            tw = Math.max(tw, String.valueOf(((Map<String, Object>) o).get("name")).length());
        }
        for (Object o : ts) {
            Map<String, Object> m = (Map<String, Object>) o;
            Object sp = m.get("sparsity");
            out.printf("  %-" + tw + "s %-7s %-16s %10s %s%n", m.get("name"), m.get("dtype"),
                    java.util.Arrays.toString((long[]) m.get("shape")), bytes((Long) m.get("bytes")),
                    sp == null ? "" : String.format("%6.2f%%", 100 * (Double) sp));
        }
        out.printf("%nweights  %s in %d linear layers and %d tensors%n", bytes((Long) r.get("weight_bytes")), lin.size(),
                ts.size());
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024 * 1024) {
            return String.format("%.1f KiB", b / 1024.0);
        }
        return String.format("%.1f MiB", b / (1024.0 * 1024));
    }
}
