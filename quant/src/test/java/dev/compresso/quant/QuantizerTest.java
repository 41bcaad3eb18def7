package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The passes on the real all-MiniLM-L6-v2. */
class QuantizerTest {
    static Path onnx;
    static WordPieceTokenizer tok;
    static final List<String> CALIB = List.of(
            "The licence grants permission to copy and distribute the software.",
            "A small cat sat quietly on the warm windowsill.",
            "Compilers translate source code into machine instructions.",
            "The weather tomorrow will be cold with some rain in the north.",
            "She played the piano every evening after dinner.",
            "Databases store records in tables with indexed columns.");
    static final List<String> EVAL = List.of(
            "Warranty is disclaimed to the extent permitted by law.",
            "A kitten was sleeping next to the window.",
            "The program converts text files into a binary format.",
            "Heavy rain is expected over the weekend.",
            "He practised the violin in the morning.",
            "Tables in a relational database hold rows of data.");
    @TempDir
    Path dir;

    @BeforeAll
    static void extract() throws Exception {
        Path d = Files.createTempDirectory("quant-test");
        onnx = d.resolve("all-minilm-l6-v2.onnx");
        Path t = d.resolve("tokenizer.json");
        try (InputStream in = QuantizerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx");
             InputStream ti = QuantizerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(ti, t, StandardCopyOption.REPLACE_EXISTING);
        }
        tok = WordPieceTokenizer.fromJson(t);
    }

    static double cosine(Graph a, Graph b) throws Exception {
        return EmbeddingAgreement.of(Fidelity.embed(Model.of(a), tok, EVAL), Fidelity.embed(Model.of(b), tok, EVAL)).cosineMean();
    }

    @Test
    void fp16AndInt8PassesChangeEveryLayerAndKeepFidelity() throws Exception {
        try (Model m = Model.load(onnx)) {
            Graph src = m.graph();
            List<String> lines = new ArrayList<>();
            Graph h = Quantizer.run(src, Quantizer.Options.of(Quantizer.Mode.FP16), tok, List.of(), lines::add).graph();
            assertTrue(h.linears().stream().allMatch(l -> l.weights() instanceof Fp16Panels));
            assertTrue(src.linears().stream().allMatch(l -> l.weights() instanceof Fp32Panels), "source untouched");
            assertEquals(src.linears().size() + 2, lines.size()); // every linear + 2 embedding tables
            assertTrue(Embeddings.gathers(h).isEmpty());
            double ch = cosine(src, h);
            assertTrue(ch > 0.9999, "fp16 cosine " + ch);

            Graph q = Quantizer.run(src, Quantizer.Options.of(Quantizer.Mode.INT8), tok, List.of(), s -> {}).graph();
            assertTrue(q.linears().stream().allMatch(l -> l.weights() instanceof Int8Panels));
            double cq = cosine(src, q);
            assertTrue(cq > 0.98, "int8 cosine " + cq);

            // through the file and back: identical graph decisions
            Path p = dir.resolve("q");
            ModelFiles.write(q, tok.toJson(), java.util.Map.of(), p);
            Graph back = ModelFiles.read(p).graph();
            assertEquals(q.nodes().size(), back.nodes().size());
            for (int i = 0; i < q.nodes().size(); i++) {
                assertEquals(q.nodes().get(i).op(), back.nodes().get(i).op());
                if (q.nodes().get(i) instanceof Linear l) {
                    Linear lb = (Linear) back.nodes().get(i);
                    assertEquals(l.int8Mode(), lb.int8Mode());
                    assertEquals(-1, ((Int8Panels) l.weights()).data().mismatch(((Int8Panels) lb.weights()).data()));
                }
            }
        }
    }

    @Test
    void staticAutoAndSmoothQuantRunOnCalibration() throws Exception {
        try (Model m = Model.load(onnx)) {
            Graph src = m.graph();
            Quantizer.Options st = new Quantizer.Options(Quantizer.Mode.INT8_STATIC, Granularity.PER_CHANNEL, Double.NaN,
                    RangeEstimator.MSE, 0.995, 60_000, dev.compresso.engine.kernel.Int8Mode.AUTO);
            Graph s = Quantizer.run(src, st, tok, CALIB, x -> {}).graph();
            assertTrue(s.linears().stream().allMatch(Linear::isStatic));
            assertTrue(cosine(src, s) > 0.95, "static cosine");

            Quantizer.Options sq = new Quantizer.Options(Quantizer.Mode.INT8, Granularity.PER_CHANNEL, 0.5, null, 0.995, 60_000,
                    dev.compresso.engine.kernel.Int8Mode.AUTO);
            List<String> lines = new ArrayList<>();
            Graph smooth = Quantizer.run(src, sq, tok, CALIB, lines::add).graph();
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("smoothquant")));
            assertTrue(cosine(src, smooth) > 0.98, "smoothquant cosine");

            Quantizer.Options au = new Quantizer.Options(Quantizer.Mode.AUTO, Granularity.PER_CHANNEL, Double.NaN, null, 0.9999,
                    60_000, dev.compresso.engine.kernel.Int8Mode.AUTO);
            lines.clear();
            Quantizer.Result r = Quantizer.run(src, au, tok, CALIB, lines::add);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("decision")));
            assertTrue(r.calibrationCosine() >= 0.9999 || lines.stream().anyMatch(l -> l.contains("NOT met")));
            assertThrows(IllegalArgumentException.class, () -> Quantizer.run(src, au, tok, List.of(), x -> {}));
        }
    }

    @Test
    void nanWeightIsRefusedNamingTheLayer() throws Exception {
        try (Model m = Model.load(onnx)) {
            Linear l = m.graph().linears().get(3);
            float[] w = l.weights().toDense();
            w[17] = Float.NaN;
            Graph g = m.graph().rewrite().replace(l, l.withWeights(Fp32Panels.pack(w, l.outFeatures(), l.inFeatures()))).build();
            QuantizationException e = assertThrows(QuantizationException.class,
                    () -> Quantizer.run(g, Quantizer.Options.of(Quantizer.Mode.INT8), tok, List.of(), x -> {}));
            assertTrue(e.getMessage().contains(l.name()), e.getMessage());
            Node n = g.node(l.name());
            assertTrue(n instanceof Linear);
        }
    }
}
