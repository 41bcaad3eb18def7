package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.weights.Fp16Panels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Save → load of all-MiniLM-L6-v2 as a Compresso model file: identical outputs, bit for bit. */
class ModelSaveTest {
    @TempDir
    Path dir;

    private static void assertSameOutputs(Model a, Model b) throws Exception {
        Map<String, Tensor> in = Oracle.bertInputs(MiniLmOrtTest.lengths(3), 7);
        try (Session sa = a.newSession(); Session sb = b.newSession()) {
            Map<String, Tensor> oa = sa.run(in), ob = sb.run(in);
            assertEquals(oa.keySet(), ob.keySet());
            for (String k : oa.keySet()) {
                float[] x = oa.get(k).toFloatArray(), y = ob.get(k).toFloatArray();
                assertArrayEquals(oa.get(k).shape(), ob.get(k).shape());
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), k + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void saveLoadIsBitExactAndDetectedByContent() throws Exception {
        Path onnx = Oracle.resource("all-minilm-l6-v2.onnx");
        assertFalse(ModelFiles.isCompresso(onnx));
        try (Model loaded = Model.load(onnx)) {
            // an fp16 layer too, so a non-fp32 packed type goes through the file
            boolean fused = !loaded.graph().linears().isEmpty();
            Model m = loaded;
            if (fused) {
                Linear l = loaded.graph().linears().get(0);
                m = Model.of(loaded.graph().rewrite()
                        .replace(l, l.withWeights(Fp16Panels.pack(l.weights().toDense(), l.outFeatures(), l.inFeatures())))
                        .build());
            }
            Path p = dir.resolve("minilm.onnx"); // a misleading extension: detection is by content
            m.save(p, "{\"tok\":1}");
            assertTrue(ModelFiles.isCompresso(p));
            ModelFiles.verify(p);
            long t0 = System.nanoTime();
            try (Model back = Model.load(p)) {
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("Compresso file " + Files.size(p) + " bytes, Model.load " + ms + " ms");
                assertEquals("{\"tok\":1}", back.tokenizerJson());
                assertEquals(m.graph().nodes().size(), back.graph().nodes().size());
                if (fused) {
                    assertTrue(back.graph().linears().get(0).weights() instanceof Fp16Panels);
                }
                assertSameOutputs(m, back);
                // and again: save of a loaded (mapped) model over itself is atomic and still exact
                back.save(p);
                try (Model again = Model.load(p)) {
                    assertSameOutputs(m, again);
                }
            }
        }
    }

    @Test
    void damagedGraphMetadataIsAModelException() throws Exception {
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            Path p = dir.resolve("m");
            m.save(p);
            byte[] all = Files.readAllBytes(p);
            String s = new String(all, java.nio.charset.StandardCharsets.ISO_8859_1);
            int i = s.indexOf("\\\"tensor\\\":\\\"const/");
            assertTrue(i > 0);
            all[i + 15] = 'k'; // a constant now points at a tensor that does not exist
            Path q = dir.resolve("bad");
            Files.write(q, all);
            ModelException e = assertThrows(ModelException.class, () -> Model.load(q));
            assertTrue(e.getMessage().contains(q.toString()) && e.getMessage().contains("is missing"), e.getMessage());
            // truncated: last byte missing
            Path t = dir.resolve("trunc");
            Files.write(t, java.util.Arrays.copyOf(Files.readAllBytes(p), all.length - 1));
            e = assertThrows(ModelException.class, () -> Model.load(t));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }
}
