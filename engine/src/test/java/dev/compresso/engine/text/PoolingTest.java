package dev.compresso.engine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PoolingTest {

    private static final WordPieceTokenizer TOK = MiniLmTokenizer.get();
    private static final int DIM = 5;

    /** A fake model: token vector = a function of the token id and position; padding gets garbage. */
    private static float value(long id, int pos, int d) {
        return (float) Math.sin(id * 0.37 + d * 1.3) + (d == 0 ? pos * 0.01f : 0);
    }

    private static Pooling.Output fakeModel(BatchEncoding b) {
        float[] h = new float[b.batchSize() * b.length() * DIM];
        for (int r = 0; r < b.batchSize(); r++) {
            for (int t = 0; t < b.length(); t++) {
                long id = b.inputIds()[r * b.length() + t];
                boolean pad = b.attentionMask()[r * b.length() + t] == 0;
                for (int d = 0; d < DIM; d++) {
                    h[(r * b.length() + t) * DIM + d] = pad ? 1e6f : value(id, t, d);
                }
            }
        }
        return new Pooling.Output(h, new long[] {b.batchSize(), b.length(), DIM});
    }

    /** The reference: pool one unpadded sentence directly. */
    private static float[] reference(String s) {
        int[] ids = TOK.encode(s).ids();
        double[] acc = new double[DIM];
        for (int t = 0; t < ids.length; t++) {
            for (int d = 0; d < DIM; d++) {
                acc[d] += value(ids[t], t, d) / ids.length;
            }
        }
        double norm = 0;
        for (double x : acc) {
            norm += x * x;
        }
        float[] out = new float[DIM];
        for (int d = 0; d < DIM; d++) {
            out[d] = (float) (acc[d] / Math.sqrt(norm));
        }
        return out;
    }

    @Test
    void poolsOverMaskAndKeepsOrderForAnyBatchSize() {
        Random r = new Random(3);
        List<String> sentences = new ArrayList<>();
        String[] words = {"hello", "world", "café", "我", "tokenizer", "!", "supercalifragilistic"};
        for (int i = 0; i < 23; i++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(12);
            for (int k = 0; k < n; k++) {
                sb.append(words[r.nextInt(words.length)]).append(' ');
            }
            sentences.add(sb.toString());
        }
        for (int batch : new int[] {1, 2, 7, 23, 100}) {
            List<Integer> batchLengths = new ArrayList<>();
            float[][] got = Pooling.embed(sentences, TOK, batch, 128, b -> {
                batchLengths.add(b.length());
                return fakeModel(b);
            });
            assertEquals(sentences.size(), got.length);
            for (int i = 0; i < sentences.size(); i++) {
                float[] want = reference(sentences.get(i));
                for (int d = 0; d < DIM; d++) {
                    assertEquals(want[d], got[i][d], 1e-5, "sentence " + i + " batch " + batch);
                }
            }
            // Sorted by length: batch lengths never decrease.
            for (int i = 1; i < batchLengths.size(); i++) {
                assertTrue(batchLengths.get(i) >= batchLengths.get(i - 1), batchLengths.toString());
            }
            assertEquals((sentences.size() + batch - 1) / batch, batchLengths.size());
        }
        assertEquals(0, Pooling.embed(List.of(), TOK, 4, 128, PoolingTest::fakeModel).length);
    }

    @Test
    void alreadyPooledOutputIsOnlyNormalised() {
        BatchEncoding b = TOK.encodeBatch(List.of("a", "b"), 16);
        float[][] out = Pooling.pool(new Pooling.Output(new float[] {3, 4, 0, 0}, new long[] {2, 2}), b);
        assertArrayEquals(new float[] {0.6f, 0.8f}, out[0], 1e-7f);
        assertArrayEquals(new float[] {0f, 0f}, out[1]);
    }

    @Test
    void mismatchedOutputIsRejected() {
        BatchEncoding b = TOK.encodeBatch(List.of("a", "b"), 16);
        assertThrows(IllegalArgumentException.class,
                () -> Pooling.pool(new Pooling.Output(new float[8], new long[] {2, 4, 1}), b));
        assertThrows(IllegalArgumentException.class,
                () -> Pooling.pool(new Pooling.Output(new float[5], new long[] {2, 3, 1}), b));
        assertThrows(IllegalArgumentException.class,
                () -> Pooling.pool(new Pooling.Output(new float[3], new long[] {1, 3}), b));
    }
}
