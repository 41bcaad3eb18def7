package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inspect report on a small hand-built graph (no file import needed). */
class InspectTest {

    @Test
    void reportsOperatorsLayersAndTensors(@TempDir Path dir) throws Exception {
        float[] w = new float[6 * 5];
        for (int i = 0; i < w.length; i++) {
            w[i] = i % 3 == 0 ? 0 : i; // 10 of 30 zero
        }
        Linear dense = new Linear("l0", "x", "y", Fp32Panels.pack(w, 6, 5), new float[6], Activation.GELU);
        byte[] q = new byte[5 * 6];
        q[0] = 1;
        float[] scales = {1, 1, 1, 1, 1};
        Linear int8 = new Linear("l1", "y", "z", Int8Panels.pack(q, scales, 5, 6), null, Activation.NONE,
                Int8Mode.W8A8, 0.5f);
        Linear sparse = new Linear("l2", "z", "u", CsrMatrix.fromDense(w, 6, 5, CsrMatrix.ValueType.FP32), null,
                Activation.NONE);
        Node add = new Node("Add", "", "add0", List.of("u", "c"), List.of("out"), Map.of());
        Node add2 = new Node("Add", "", "add1", List.of("out", "c"), List.of("out2"), Map.of());
        Map<String, Tensor> consts = new LinkedHashMap<>();
        consts.put("c", Tensor.ofFloats(new long[] {2, 3}, new float[] {0, 1, 0, 0, 2, 3}));
        consts.put("ids", Tensor.ofLongs(new long[] {2}, new long[] {7, 8}));
        ValueInfo in = new ValueInfo("x", DType.FLOAT, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(5, null)));
        ValueInfo out = new ValueInfo("out2", DType.FLOAT, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(6, null)));
        Graph g = new Graph("tiny", List.of(in), List.of(out), List.of(dense, int8, sparse, add, add2), consts);
        Path file = dir.resolve("tiny.onnx");
        Files.write(file, new byte[123]);

        Map<String, Object> r = InspectCommand.report("tiny.onnx", file, Model.of(g));
        assertEquals("onnx", r.get("format"));
        assertEquals(123L, r.get("size_bytes"));
        assertEquals(5, r.get("nodes"));
        assertEquals(List.of("Linear", "Add"), List.copyOf(((Map<?, ?>) r.get("operators")).keySet()));
        assertEquals(3, ((Map<?, ?>) r.get("operators")).get("Linear"));
        List<?> lin = (List<?>) r.get("linear");
        Map<?, ?> l0 = (Map<?, ?>) lin.get(0);
        assertEquals("fp32-panels", l0.get("format"));
        assertEquals(6, l0.get("out"));
        assertEquals(5, l0.get("in"));
        assertEquals(0.3333, (Double) l0.get("sparsity"), 1e-4);
        assertNull(l0.get("int8_mode"));
        Map<?, ?> l1 = (Map<?, ?>) lin.get(1);
        assertTrue(String.valueOf(l1.get("int8_mode")).startsWith("static(scale=0.5"), String.valueOf(l1));
        assertEquals(29.0 / 30, (Double) l1.get("sparsity"), 1e-4);
        Map<?, ?> l2 = (Map<?, ?>) lin.get(2);
        assertTrue(((String) l2.get("format")).startsWith("csr"), String.valueOf(l2));
        assertEquals(0.3333, (Double) l2.get("sparsity"), 1e-4);
        List<?> tensors = (List<?>) r.get("tensors");
        Map<?, ?> c = (Map<?, ?>) tensors.get(0);
        assertEquals("c", c.get("name"));
        assertEquals(24L, c.get("bytes"));
        assertEquals(0.5, (Double) c.get("sparsity"), 1e-9);
        assertNull(((Map<?, ?>) tensors.get(1)).get("sparsity"));

        // The JSON form parses back; the text form names every layer.
        Map<?, ?> parsed = (Map<?, ?>) Json.parse(Json.write(r));
        assertEquals(3, ((List<?>) parsed.get("linear")).size());
        assertEquals(List.of("batch", 5L), ((Map<?, ?>) ((List<?>) parsed.get("inputs")).get(0)).get("shape"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        InspectCommand.printText(r, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        for (String s : List.of("l0", "l1", "l2", "Linear", "Add", "fp32-panels", "33.33%", "static(scale=0.5")) {
            assertTrue(text.contains(s), s + " missing from:\n" + text);
        }
    }
}
