package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.weights.Fp32Panels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code prune} on a small saved model, and its usage errors; {@code inspect} shows pattern and kernel. */
class PruneCliTest {
    @TempDir
    Path dir;

    private int run(StringBuilder outText, StringBuilder errText, String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        outText.append(out.toString(StandardCharsets.UTF_8));
        errText.append(err.toString(StandardCharsets.UTF_8));
        return code;
    }

    private Path model() throws Exception {
        Random r = new Random(3);
        float[] a = new float[24 * 16], b = new float[16 * 24];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
            b[i] = (float) r.nextGaussian();
        }
        ValueInfo x = new ValueInfo("x", DType.FLOAT, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(16, null)));
        ValueInfo y = new ValueInfo("y", DType.FLOAT, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(16, null)));
        Graph g = new Graph("ffn", List.of(x), List.of(y), List.of(
                new Linear("up", "x", "h", Fp32Panels.pack(a, 24, 16), new float[24], Activation.GELU),
                new Linear("down", "h", "y", Fp32Panels.pack(b, 16, 24), null, Activation.NONE)), Map.of());
        Path p = dir.resolve("ffn.cmpr");
        ModelFiles.write(g, null, Map.of(), p);
        return p;
    }

    @Test
    void prunesAndReports() throws Exception {
        Path in = model();
        for (String method : List.of("global", "magnitude", "block", "2:4", "ffn")) {
            Path outFile = dir.resolve("out-" + method.replace(':', '-'));
            StringBuilder o = new StringBuilder(), e = new StringBuilder();
            assertEquals(0, run(o, e, "prune", "--model", in.toString(), "--sparsity", "50%", "--out", outFile.toString(),
                    "--method", method, "--probe-rows", "4", "--threads", "1"), e.toString());
            // global: one threshold, so 50% overall rather than per layer
            assertTrue(o.toString().contains(method.equals("global") ? "50.00% of all linear weights" : "sparsity  50.00%"), o.toString());
            assertTrue(o.toString().contains("wrote " + outFile), o.toString());
            try (Model m = Model.load(outFile)) {
                Map<String, Object> rep = InspectCommand.report(outFile.toString(), outFile, m);
                Map<?, ?> up = (Map<?, ?>) ((List<?>) rep.get("linear")).get(0);
                if (method.equals("ffn")) {
                    assertEquals(12, up.get("out"));
                    assertEquals("dense", up.get("pattern"));
                } else if (!method.equals("global")) {
                    assertEquals(0.5, (Double) up.get("sparsity"), 1e-9);
                    assertEquals(switch (method) {
                        case "block" -> "block4x1";
                        case "2:4" -> "2:4";
                        default -> "unstructured";
                    }, up.get("pattern"));
                }
                assertTrue(List.of("dense", "csr", "bsr4x1", "bsr16x1", "2:4").contains(up.get("kernel")), String.valueOf(up.get("kernel")));
            }
        }
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        Path in = model();
        String out = dir.resolve("o").toString();
        StringBuilder o = new StringBuilder(), e = new StringBuilder();
        assertEquals(2, run(o, e, "prune", "--model", in.toString(), "--sparsity", "0.5", "--out", out, "--steps", "10"));
        assertTrue(e.toString().contains("--steps needs --finetune"), e.toString());
        for (String[] bad : List.of(new String[] {"--sparsity", "1.5"}, new String[] {"--sparsity", "half"},
                new String[] {"--sparsity", "0.5", "--method", "random"}, new String[] {"--sparsity", "0.5", "--layout", "coo"},
                new String[] {"--sparsity", "0.5", "--layout", "bsr", "--values", "int8"})) {
            e.setLength(0);
            List<String> argv = new java.util.ArrayList<>(List.of("prune", "--model", in.toString(), "--out", out));
            argv.addAll(List.of(bad));
            assertEquals(2, run(o, e, argv.toArray(String[]::new)), String.join(" ", bad));
        }
        e.setLength(0);
        assertEquals(1, run(o, e, "prune", "--model", dir.resolve("missing.onnx").toString(), "--sparsity", "0.5", "--out", out));
        assertTrue(e.toString().contains("missing.onnx"), e.toString());
    }
}
