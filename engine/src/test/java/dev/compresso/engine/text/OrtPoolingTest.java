package dev.compresso.engine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Tokenizer + pooling with the real MiniLM (run by ONNX Runtime): padding must not change embeddings. */
@Tag("perf-heavy")
class OrtPoolingTest {

    @Test
    void paddingAndBatchingDoNotChangeEmbeddings() throws Exception {
        WordPieceTokenizer tok = MiniLmTokenizer.get();
        List<String> s = List.of("A cat sits on the mat.", "A kitten is sitting on a rug.",
                "The stock market fell sharply today.", "", "Café déjà vu, 我爱北京!");
        try (OrtReference ort = new OrtReference("all-minilm-l6-v2.onnx")) {
            float[][] one = ort.embed(s, tok, 1);
            float[][] all = ort.embed(s, tok, 5);
            // Fixed 128 padding: the masked mean must ignore every padding position.
            float[][] fixed = Pooling.pool(ort.run(tok.encodeBatch(s)), tok.encodeBatch(s));
            for (int i = 0; i < s.size(); i++) {
                assertEquals(1.0, OrtReference.cosine(one[i], one[i]), 1e-6);
                assertTrue(OrtReference.cosine(one[i], all[i]) > 0.99999, "sentence " + i);
                assertTrue(OrtReference.cosine(one[i], fixed[i]) > 0.99999, "sentence " + i);
            }
            double catKitten = OrtReference.cosine(one[0], one[1]);
            double catStocks = OrtReference.cosine(one[0], one[2]);
            assertTrue(catKitten > 0.5 && catStocks < 0.2, catKitten + " " + catStocks);
        }
    }
}
