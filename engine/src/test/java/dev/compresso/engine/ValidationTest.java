package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.format.TensorFile;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.text.TokenizerException;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression tests of the reliability issue's lax-validation and message defects (4, 5, 6). */
class ValidationTest {
    @TempDir
    static Path dir;
    static Model minilm;
    static Path saved;

    @BeforeAll
    static void load() throws Exception {
        minilm = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"));
        saved = dir.resolve("minilm.cmpr");
        minilm.save(saved);
    }

    @AfterAll
    static void close() {
        minilm.close();
    }

    static String tokenizerJson() throws IOException {
        return Files.readString(Oracle.resource("all-minilm-l6-v2-tokenizer.json"));
    }

    // ---------------------------------------------------------------- 4: tokenizer

    @Test
    void emptySingleTemplateFailsAtLoad() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) Json.parse(tokenizerJson());
        @SuppressWarnings("unchecked")
        Map<String, Object> pp = (Map<String, Object>) root.get("post_processor");
        pp.put("single", List.of());
        String json = Json.write(root);
        TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromJson(json, "t.json"));
        assertTrue(e.getMessage().contains("post_processor.single"), e.getMessage());
    }

    @Test
    void tokenizerReadsAreBounded() throws Exception {
        Path big = dir.resolve("big-tokenizer.json");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(WordPieceTokenizer.MAX_FILE_BYTES + 1); // sparse: no disk, no heap
        }
        IOException e = assertThrows(IOException.class, () -> WordPieceTokenizer.fromJson(big));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        if (Files.exists(Path.of("/dev/zero"))) {
            e = assertThrows(IOException.class, () -> WordPieceTokenizer.fromJson(Path.of("/dev/zero")));
            assertTrue(e.getMessage().contains("/dev/zero"), e.getMessage());
        }
        e = assertThrows(IOException.class, () -> WordPieceTokenizer.fromJson(dir));
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
    }

    // ---------------------------------------------------------------- 5: lax validation

    /** Rewrites the graph JSON of the saved model file. */
    static Path forge(String name, UnaryOperator<String> edit) throws Exception {
        TensorFile f = TensorFile.open(saved);
        Map<String, String> meta = new HashMap<>(f.metadata());
        String g = edit.apply(meta.get("graph"));
        assertFalse(g.equals(meta.get("graph")), "the forgery changed nothing");
        meta.put("graph", g);
        Path p = dir.resolve(name);
        TensorFile.write(p, meta, new ArrayList<>(f.entries().values()));
        return p;
    }

    @Test
    void fractionalHeadsAreRejected() throws Exception {
        Path p = forge("heads.cmpr", g -> g.replaceFirst("\"heads\":\\d+", "\"heads\":1.5"));
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("'heads'") && e.getMessage().contains("node '"), e.getMessage());
    }

    @Test
    void negativeEpsilonIsRejected() throws Exception {
        Path p = forge("eps.cmpr", g -> g.replaceFirst("\"epsilon\":", "\"epsilon\":-"));
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("epsilon") && e.getMessage().contains("node '"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new LayerNorm("ln", List.of("x"), "y", new float[1], new float[1], -1e-5f));
    }

    @Test
    void unknownElemTypeIsRejected() throws Exception {
        OnnxWriter w = new OnnxWriter();
        w.input("X", 999, 1, 4);
        w.node("Relu", "relu", new String[] {"X"}, new String[] {"Y"});
        w.output("Y", 1, 1, 4);
        Path p = dir.resolve("elem999.onnx");
        Files.write(p, w.build());
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("elem_type 999") && e.getMessage().contains("'X'"), e.getMessage());
    }

    @Test
    void badInputValuesNameTheInput() throws Exception {
        try (Session s = minilm.newSession()) {
            ModelException e = assertThrows(ModelException.class, () -> s.run(null));
            assertTrue(e.getMessage().contains("null"), e.getMessage());

            Map<String, Tensor> in = Oracle.bertInputs(new int[] {5, 3}, 1);
            long[] mask = in.get("attention_mask").toLongArray();
            mask[1] = 2;
            Map<String, Tensor> badMask = new HashMap<>(in);
            badMask.put("attention_mask", Tensor.ofLongs(new long[] {2, 5}, mask));
            e = assertThrows(ModelException.class, () -> s.run(badMask));
            assertTrue(e.getMessage().contains("'attention_mask'"), e.getMessage());

            long[] ids = in.get("input_ids").toLongArray();
            ids[2] = -7;
            Map<String, Tensor> badIds = new HashMap<>(in);
            badIds.put("input_ids", Tensor.ofLongs(new long[] {2, 5}, ids));
            e = assertThrows(ModelException.class, () -> s.run(badIds));
            assertTrue(e.getMessage().contains("'input_ids'") && e.getMessage().contains("-7"), e.getMessage());

            // The session stays usable.
            assertEquals(2, s.run(in).values().iterator().next().dim(0));
        }
    }

    // ---------------------------------------------------------------- 1: out of memory

    @Test
    void outOfMemoryIsAModelExceptionAndTheSessionStaysUsable() throws Exception {
        OnnxWriter w = new OnnxWriter();
        w.input("X", 1, 1).input("S", 7, 2);
        w.node("Expand", "grow", new String[] {"X", "S"}, new String[] {"Y"});
        w.output("Y", 1, -1, -2);
        Path p = dir.resolve("expand.onnx");
        Files.write(p, w.build());
        try (Model m = Model.load(p); Session s = m.newSession()) {
            Tensor x = Tensor.ofFloats(new long[] {1}, new float[] {3f});
            long n = 1L << 22; // 2^44 floats: 64 TiB
            ModelException e = assertThrows(ModelException.class,
                    () -> s.run(Map.of("X", x, "S", Tensor.ofLongs(new long[] {2}, new long[] {n, n}))));
            assertTrue(e.getMessage().contains("out of memory") && e.getMessage().contains("'grow'")
                    && e.getMessage().contains(Long.toString(n * n * 4)), e.getMessage());
            Tensor y = s.run(Map.of("X", x, "S", Tensor.ofLongs(new long[] {2}, new long[] {2, 3}))).get("Y");
            assertEquals(6, y.size());
            assertEquals(3f, y.toFloatArray()[5]);
        }
    }

    @Test
    void hugeFoldedConstantIsAModelException() throws Exception {
        OnnxWriter w = new OnnxWriter();
        w.input("X", 1, 1);
        w.init(OnnxWriter.longTensor("shape", new long[] {2}, new long[] {1L << 22, 1L << 22}));
        w.node("ConstantOfShape", "huge", new String[] {"shape"}, new String[] {"C"});
        w.node("Add", "add", new String[] {"X", "C"}, new String[] {"Y"});
        w.output("Y", 1, -1, -2);
        Path p = dir.resolve("huge-constant.onnx");
        Files.write(p, w.build());
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("'huge'"), e.getMessage());
    }

    // ---------------------------------------------------------------- 7: reproducible files

    @Test
    void savingTwiceGivesTheSameBytes() throws Exception {
        Path again = dir.resolve("again.cmpr");
        try (Model m = Model.load(saved)) {
            m.save(again);
        }
        assertEquals(-1, Files.mismatch(saved, again), "save -> load -> save changed the bytes");
    }

    // ---------------------------------------------------------------- 6: messages

    @Test
    void directoryAndMissingFilesAreNamed() {
        IOException e = assertThrows(IOException.class, () -> Model.load(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("directory"), e.getMessage());
        Path missing = dir.resolve("nope.onnx");
        e = assertThrows(IOException.class, () -> Model.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("no such"), e.getMessage());
    }

    @Test
    void damagedCompressoHeaderIsNotCalledOnnx() throws Exception {
        byte[] b = Files.readAllBytes(saved);
        b[8 + 5] = 'X'; // inside {"__metadata__"
        Path p = dir.resolve("damaged.cmpr");
        Files.write(p, b);
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("Compresso") && !e.getMessage().contains("ONNX"), e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    }
}
