package dev.compresso.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.text.BatchEncoding;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.BufferedWriter;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code ./compresso embed}'s job done with ONNX Runtime's Java API, for a side-by-side peak-RSS figure: the
 * same tokenizer, batches of 32 sentences sorted by length (as {@code SentenceEmbedder} does), mean pooling
 * and L2 normalisation, JSON lines out in input order.
 *
 * <pre>/usr/bin/time -v java --enable-native-access=ALL-UNNAMED -Xmx256m -cp "jmh/target/classes:jmh/target/lib/*" \
 *   dev.compresso.jmh.OrtEmbed MODEL.onnx TOKENIZER.json INPUT OUTPUT THREADS</pre>
 */
public final class OrtEmbed {
    private OrtEmbed() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: OrtEmbed MODEL.onnx TOKENIZER.json INPUT OUTPUT THREADS");
            System.exit(2);
        }
        WordPieceTokenizer tok = WordPieceTokenizer.fromJson(Path.of(args[1]));
        List<String> lines = Files.readAllLines(Path.of(args[2]), StandardCharsets.UTF_8);
        Integer[] order = new Integer[lines.size()];
        int[] lengths = new int[lines.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            lengths[i] = tok.encode(lines.get(i)).ids().length;
        }
        java.util.Arrays.sort(order, Comparator.comparingInt(i -> lengths[i]));
        float[][] out = new float[lines.size()][];
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(Integer.parseInt(args[4]));
            try (OrtSession s = env.createSession(args[0], o)) {
                for (int start = 0; start < order.length; start += 32) {
                    List<String> batch = new ArrayList<>();
                    for (int k = start; k < Math.min(order.length, start + 32); k++) {
                        batch.add(lines.get(order[k]));
                    }
                    BatchEncoding b = tok.encodeBatch(batch);
                    long[] shape = b.shape();
                    try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(b.inputIds()), shape);
                            OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(b.attentionMask()), shape);
                            OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(b.typeIds()), shape);
                            OrtSession.Result r = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
                        float[][][] h = (float[][][]) r.get(0).getValue();
                        for (int j = 0; j < batch.size(); j++) {
                            out[order[start + j]] = pool(h[j], b.attentionMask(), j * b.length());
                        }
                    }
                }
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(Path.of(args[3]), StandardCharsets.UTF_8)) {
            for (float[] v : out) {
                w.write(Json.write(v));
                w.newLine();
            }
        }
    }

    private static float[] pool(float[][] hidden, long[] mask, int offset) {
        float[] v = new float[hidden[0].length];
        int n = 0;
        for (int t = 0; t < hidden.length; t++) {
            if (mask[offset + t] != 0) {
                n++;
                for (int d = 0; d < v.length; d++) {
                    v[d] += hidden[t][d];
                }
            }
        }
        double norm = 0;
        for (int d = 0; d < v.length; d++) {
            v[d] /= Math.max(n, 1);
            norm += v[d] * v[d];
        }
        float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
        for (int d = 0; d < v.length; d++) {
            v[d] *= inv;
        }
        return v;
    }
}
