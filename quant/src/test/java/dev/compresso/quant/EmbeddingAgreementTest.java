package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class EmbeddingAgreementTest {

    static float[][] random(int n, int d, long seed) {
        Random r = new Random(seed);
        float[][] e = new float[n][d];
        for (float[] row : e) for (int j = 0; j < d; j++) row[j] = (float) r.nextGaussian();
        return e;
    }

    @Test
    void identicalEmbeddingsAgreePerfectly() {
        float[][] e = random(30, 8, 1);
        EmbeddingAgreement a = EmbeddingAgreement.of(e, e);
        assertEquals(1.0, a.cosineMean(), 1e-12);
        assertEquals(1.0, a.cosineMin(), 1e-12);
        assertEquals(1.0, a.recallAt10(), 0);
    }

    @Test
    void unrelatedEmbeddingsDisagree() {
        EmbeddingAgreement a = EmbeddingAgreement.of(random(200, 16, 1), random(200, 16, 2));
        assertTrue(Math.abs(a.cosineMean()) < 0.1);
        assertTrue(a.recallAt10() < 0.2, "recall " + a.recallAt10()); // chance is 10/199
    }

    @Test
    void oneFlippedEmbeddingShowsInMinNotMuchInMean() {
        float[][] e = random(20, 4, 3);
        float[][] c = new float[20][];
        for (int i = 0; i < 20; i++) c[i] = e[i].clone();
        for (int j = 0; j < 4; j++) c[5][j] = -c[5][j];
        EmbeddingAgreement a = EmbeddingAgreement.of(e, c);
        assertEquals(-1.0, a.cosineMin(), 1e-9);
        assertEquals((19 - 1) / 20.0, a.cosineMean(), 1e-9);
        assertTrue(a.recallAt10() < 1.0);
    }

    @Test
    void smallSetsAndErrors() {
        assertEquals(1.0, EmbeddingAgreement.of(random(1, 3, 1), random(1, 3, 1)).recallAt10());
        assertThrows(IllegalArgumentException.class, () -> EmbeddingAgreement.of(new float[0][], new float[0][]));
        assertThrows(IllegalArgumentException.class, () -> EmbeddingAgreement.of(random(2, 3, 1), random(3, 3, 1)));
        float[][] bad = random(2, 3, 1);
        bad[1][2] = Float.NaN;
        assertThrows(QuantizationException.class, () -> EmbeddingAgreement.of(random(2, 3, 1), bad));
    }
}
