package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** embed, inspect and bench on the real all-MiniLM-L6-v2, resolved by name into a temporary cache. */
class CliModelTest {

    @TempDir
    static Path dir;
    private static String oldCache;

    @BeforeAll
    static void cache() {
        oldCache = System.getProperty("compresso.cache");
        System.setProperty("compresso.cache", dir.resolve("cache").toString());
    }

    @AfterAll
    static void restore() {
        if (oldCache == null) {
            System.clearProperty("compresso.cache");
        } else {
            System.setProperty("compresso.cache", oldCache);
        }
    }

    private static double dot(List<?> a, List<?> b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            s += ((Double) a.get(i)) * ((Double) b.get(i));
        }
        return s;
    }

    @Test
    void embedWritesOneUnitVectorPerLine() throws Exception {
        Path input = dir.resolve("in.txt");
        Files.writeString(input, "A cat sits on the mat.\n\nA kitten is sitting on a rug.\nThe stock market fell.\n");
        Path output = dir.resolve("out.jsonl");
        CliTest.Result r = CliTest.run("embed", "--model", "all-minilm-l6-v2", "--input", input.toString(),
                "--output", output.toString(), "--batch", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out());
        List<String> lines = Files.readAllLines(output);
        assertEquals(4, lines.size());
        List<?>[] v = new List<?>[4];
        for (int i = 0; i < 4; i++) {
            v[i] = (List<?>) Json.parse(lines.get(i));
            assertEquals(384, v[i].size());
            assertEquals(1.0, dot(v[i], v[i]), 1e-4);
        }
        assertTrue(dot(v[0], v[2]) > 0.5 && dot(v[0], v[3]) < 0.2, dot(v[0], v[2]) + " " + dot(v[0], v[3]));
        // An output directory that does not exist fails (exit 1, naming it) and writes nothing.
        CliTest.Result bad = CliTest.run("embed", "--model", "all-minilm-l6-v2", "--input", input.toString(),
                "--output", dir.resolve("no/such/out.jsonl").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("out.jsonl"), bad.err());
        // Same vectors on stdout without --output, and with the tokenizer given explicitly.
        CliTest.Result s = CliTest.run("embed", "--model", dir.resolve("cache/all-minilm-l6-v2.onnx").toString(),
                "--input", input.toString(), "--tokenizer",
                dir.resolve("cache/all-minilm-l6-v2-tokenizer.json").toString());
        assertEquals(0, s.code(), s.err());
        List<String> outLines = s.out().lines().toList();
        assertEquals(4, outLines.size());
        for (int i = 0; i < 4; i++) {
            assertTrue(dot(v[i], (List<?>) Json.parse(outLines.get(i))) > 0.99999);
        }
    }

    @Test
    void inspectAndBench() {
        CliTest.Result r = CliTest.run("inspect", "all-minilm-l6-v2", "--json");
        assertEquals(0, r.code(), r.err());
        Map<?, ?> report = (Map<?, ?>) Json.parse(r.out().strip());
        assertEquals("onnx", report.get("format"));
        assertEquals(37L, ((Map<?, ?>) report.get("operators")).get("Linear"));
        assertEquals(37, ((List<?>) report.get("linear")).size());
        assertTrue((Long) report.get("size_bytes") > 80_000_000L);
        CliTest.Result text = CliTest.run("inspect", "all-minilm-l6-v2");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("Linear") && text.out().contains("fp32-panels"), text.out());

        CliTest.Result b = CliTest.run("bench", "--model", "all-minilm-l6-v2", "--seq", "16", "--runs", "3",
                "--threads", "1", "--json");
        assertEquals(0, b.code(), b.err());
        Map<?, ?> j = (Map<?, ?>) Json.parse(b.out().strip());
        assertEquals(List.of("model", "batch", "seq", "threads", "median_ms", "p90_ms", "runs"), List.copyOf(j.keySet()));
        assertEquals(16L, j.get("seq"));
        assertEquals(3L, j.get("runs"));
        assertTrue((Double) j.get("median_ms") > 0 && (Double) j.get("p90_ms") >= (Double) j.get("median_ms"));
    }

    @Test
    void compressoFileCarriesItsTokenizer() throws Exception {
        Path onnx = ModelResolver.resolveModel("all-minilm-l6-v2");
        String tokJson = Files.readString(ModelResolver.tokenizerBeside(onnx));
        Path sub = Files.createDirectories(dir.resolve("alone"));
        Path cmp = sub.resolve("minilm.bin"); // no tokenizer beside it, and no telling extension
        try (dev.compresso.engine.Model m = dev.compresso.engine.Model.load(onnx)) {
            m.save(cmp, tokJson);
        }
        Path input = dir.resolve("one.txt");
        Files.writeString(input, "A cat sits on the mat.\n");
        CliTest.Result a = CliTest.run("embed", "--model", cmp.toString(), "--input", input.toString());
        assertEquals(0, a.code(), a.err());
        CliTest.Result b = CliTest.run("embed", "--model", onnx.toString(), "--input", input.toString());
        assertEquals(0, b.code(), b.err());
        assertTrue(dot((List<?>) Json.parse(a.out().strip()), (List<?>) Json.parse(b.out().strip())) > 0.99999);
        CliTest.Result i = CliTest.run("inspect", cmp.toString(), "--json");
        assertEquals(0, i.code(), i.err());
        assertEquals("compresso", ((Map<?, ?>) Json.parse(i.out().strip())).get("format"));
        // Saved without a tokenizer: embed says where it looked.
        Path bare = sub.resolve("bare.bin");
        try (dev.compresso.engine.Model m = dev.compresso.engine.Model.load(onnx)) {
            m.save(bare, null);
        }
        CliTest.Result c = CliTest.run("embed", "--model", bare.toString(), "--input", input.toString());
        assertEquals(1, c.code());
        assertTrue(c.err().contains("bare.bin") && c.err().contains("tokenizer"), c.err());
    }
}
