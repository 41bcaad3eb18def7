package dev.compresso.distill.train;

import java.util.List;

/**
 * An encoder's weights as dense row-major arrays: what is read from a teacher graph and written back into a
 * student graph. Linear weights are {@code [out, in]}; the QKV projection is Q, K and V stacked
 * ({@code [3H, H]}).
 *
 * @param word     {@code [vocab, H]}
 * @param position {@code [positions, H]}
 * @param type     {@code [types, H]} or {@code null}
 * @param embGamma embedding layer-norm scale
 * @param embBeta  embedding layer-norm shift
 * @param layers   per layer
 */
public record EncoderWeights(float[] word, float[] position, float[] type, float[] embGamma, float[] embBeta,
        List<LayerWeights> layers) {

    /** One layer. */
    public record LayerWeights(float[] qkvW, float[] qkvB, float[] outW, float[] outB, float[] norm1Gamma,
            float[] norm1Beta, float[] ffnInW, float[] ffnInB, float[] ffnOutW, float[] ffnOutB, float[] norm2Gamma,
            float[] norm2Beta) {}

    /** A copy that keeps only the listed layers, in that order. */
    public EncoderWeights select(int[] keep) {
        List<LayerWeights> ls = new java.util.ArrayList<>();
        for (int k : keep) {
            ls.add(layers.get(k));
        }
        return new EncoderWeights(word, position, type, embGamma, embBeta, ls);
    }

    /**
     * @throws IllegalArgumentException naming the array whose length does not fit the shape
     */
    void check(EncoderConfig c) {
        int h = c.hidden(), f = c.ffn();
        len("word embeddings", word, (long) c.vocab() * h);
        len("position embeddings", position, (long) c.maxPositions() * h);
        if (c.typeVocab() > 0) {
            len("token-type embeddings", type, (long) c.typeVocab() * h);
        }
        len("embedding norm gamma", embGamma, h);
        len("embedding norm beta", embBeta, h);
        if (layers.size() != c.layers()) {
            throw new IllegalArgumentException(layers.size() + " layers of weights for " + c.layers() + " layers");
        }
        for (int l = 0; l < layers.size(); l++) {
            LayerWeights w = layers.get(l);
            String p = "layer " + l + " ";
            len(p + "qkv weight", w.qkvW, 3L * h * h);
            len(p + "qkv bias", w.qkvB, 3L * h);
            len(p + "attention output weight", w.outW, (long) h * h);
            len(p + "attention output bias", w.outB, h);
            len(p + "norm1 gamma", w.norm1Gamma, h);
            len(p + "norm1 beta", w.norm1Beta, h);
            len(p + "ffn input weight", w.ffnInW, (long) f * h);
            len(p + "ffn input bias", w.ffnInB, f);
            len(p + "ffn output weight", w.ffnOutW, (long) h * f);
            len(p + "ffn output bias", w.ffnOutB, h);
            len(p + "norm2 gamma", w.norm2Gamma, h);
            len(p + "norm2 beta", w.norm2Beta, h);
        }
    }

    private static void len(String what, float[] a, long n) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException(what + ": " + (a == null ? "missing" : a.length + " values")
                    + ", the shape needs " + n);
        }
    }
}
