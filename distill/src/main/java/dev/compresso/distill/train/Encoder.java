package dev.compresso.distill.train;

import dev.compresso.engine.kernel.Backward;
import java.util.ArrayList;
import java.util.List;

/**
 * A trainable BERT-family encoder: embeddings (word + position + token type, layer norm), then post-norm
 * transformer layers (fused QKV projection, self-attention, output projection, residual + layer norm, GELU
 * feed-forward, residual + layer norm). The forward pass keeps what the backward pass needs in a {@link Pass};
 * the backward pass takes the loss gradient at any layer's output and accumulates every parameter's gradient.
 * Sequences are packed without padding ({@link TokenBatch}), so no work is spent on padding and no mask is
 * needed.
 */
public final class Encoder {
    final EncoderConfig cfg;
    final Param word;
    final Param position;
    final Param type;
    final Norm embNorm;
    final Layer[] layers;
    private final boolean trainable;
    private final List<Param> params = new ArrayList<>();

    /** One transformer layer's parameters. */
    public static final class Layer {
        final Dense qkv;
        final Dense out;
        final Norm norm1;
        final Dense ffnIn;
        final Dense ffnOut;
        final Norm norm2;

        Layer(Dense qkv, Dense out, Norm norm1, Dense ffnIn, Dense ffnOut, Norm norm2) {
            this.qkv = qkv;
            this.out = out;
            this.norm1 = norm1;
            this.ffnIn = ffnIn;
            this.ffnOut = ffnOut;
            this.norm2 = norm2;
        }

        public Dense qkv() {
            return qkv;
        }

        public Dense attentionOut() {
            return out;
        }

        public Norm norm1() {
            return norm1;
        }

        public Dense ffnIn() {
            return ffnIn;
        }

        public Dense ffnOut() {
            return ffnOut;
        }

        public Norm norm2() {
            return norm2;
        }
    }

    Encoder(EncoderConfig cfg, EncoderWeights w, boolean trainable, boolean trainWord) {
        this.trainable = trainable;
        this.cfg = cfg;
        int h = cfg.hidden();
        // A frozen table adopts the caller's array: a teacher's, or the one a student shares with its teacher.
        word = new Param("embeddings.word", cfg.vocab(), h, w.word(), true, true, trainWord, trainWord);
        position = new Param("embeddings.position", cfg.maxPositions(), h, w.position(), true, false, trainable);
        type = cfg.typeVocab() > 0 ? new Param("embeddings.type", cfg.typeVocab(), h, w.type(), true, false, trainable) : null;
        embNorm = new Norm("embeddings.norm", w.embGamma(), w.embBeta(), cfg.eps(), trainable);
        params.add(word);
        params.add(position);
        if (type != null) {
            params.add(type);
        }
        add(embNorm);
        layers = new Layer[cfg.layers()];
        for (int l = 0; l < cfg.layers(); l++) {
            EncoderWeights.LayerWeights lw = w.layers().get(l);
            String p = "layer." + l + ".";
            Layer layer = new Layer(new Dense(p + "qkv", 3 * h, h, lw.qkvW(), lw.qkvB(), trainable),
                    new Dense(p + "attention_out", h, h, lw.outW(), lw.outB(), trainable),
                    new Norm(p + "norm1", lw.norm1Gamma(), lw.norm1Beta(), cfg.eps(), trainable),
                    new Dense(p + "ffn_in", cfg.ffn(), h, lw.ffnInW(), lw.ffnInB(), trainable),
                    new Dense(p + "ffn_out", h, cfg.ffn(), lw.ffnOutW(), lw.ffnOutB(), trainable),
                    new Norm(p + "norm2", lw.norm2Gamma(), lw.norm2Beta(), cfg.eps(), trainable));
            layers[l] = layer;
            add(layer.qkv);
            add(layer.out);
            add(layer.norm1);
            add(layer.ffnIn);
            add(layer.ffnOut);
            add(layer.norm2);
        }
    }

    /** Builds an encoder from weights, checking every array against the shape. */
    public static Encoder of(EncoderConfig cfg, EncoderWeights w) {
        return of(cfg, w, true);
    }

    /**
     * As {@link #of(EncoderConfig, EncoderWeights)}; with {@code trainWordEmbeddings} false the word-embedding
     * table is frozen and <em>shared</em>: the encoder reads {@code w.word()} itself (no copy, gradient or optimiser
     * state), so a student and its teacher hold one table between them. The caller must not change that array.
     */
    public static Encoder of(EncoderConfig cfg, EncoderWeights w, boolean trainWordEmbeddings) {
        w.check(cfg);
        return new Encoder(cfg, w, true, trainWordEmbeddings);
    }

    /**
     * A frozen encoder (a teacher): forward only, no gradient or optimiser state allocated. It adopts the arrays of
     * {@code w} rather than copying them, and keeps its linear layers only in the packed form the forward GEMM
     * reads (so {@link #weights()} is not available); the caller must not change those arrays afterwards.
     */
    public static Encoder frozen(EncoderConfig cfg, EncoderWeights w) {
        w.check(cfg);
        return new Encoder(cfg, w, false, false);
    }

    private void add(Dense d) {
        params.add(d.w);
        params.add(d.b);
    }

    private void add(Norm n) {
        params.add(n.gamma);
        params.add(n.beta);
    }

    public EncoderConfig config() {
        return cfg;
    }

    /**
     * Turns on quantization-aware training: every linear layer's forward pass from now on sees int8
     * fake-quantized weights and inputs (see {@link FakeQuant}), each input with a learned static scale.
     * The scales join {@link #params()} (after the weights), so the optimiser trains them and checkpoints keep
     * them.
     *
     * @param scales initial activation scales per layer: {@code [layer][0..3]} for the attention input
     *               (q, k and v share it), the attention output projection, the feed-forward input and the
     *               feed-forward output
     * @throws IllegalArgumentException when the shape is wrong or a scale is not positive and finite
     * @throws IllegalStateException    when already on, or on a frozen encoder
     */
    public void quantize(float[][] scales) {
        quantize(scales, false);
    }

    /**
     * As {@link #quantize(float[][])}; with {@code tables} the word and position embedding tables are also
     * fake-quantized to int8 per row (the {@code quant} module's int8 embedding lookups), gradients passing
     * straight through to the fp32 rows.
     */
    public void quantize(float[][] scales, boolean tables) {
        quantize(scales, null, tables);
    }

    /**
     * As {@link #quantize(float[][], boolean)}, with input-channel factors per layer input ({@code [layer][0..3]}
     * as the scales, each {@code null} or one factor per input channel): SmoothQuant's migration, kept fixed.
     */
    public void quantize(float[][] scales, float[][][] factors, boolean tables) {
        if (!trainable) {
            throw new IllegalStateException("a frozen encoder cannot be trained quantization-aware");
        }
        if (scales.length != layers.length) {
            throw new IllegalArgumentException(scales.length + " layers of activation scales for " + layers.length
                    + " layers");
        }
        for (int l = 0; l < layers.length; l++) {
            if (scales[l].length != 4) {
                throw new IllegalArgumentException("layer " + l + ": " + scales[l].length + " activation scales, need 4");
            }
        }
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Dense[] ds = {L.qkv, L.out, L.ffnIn, L.ffnOut};
            for (int i = 0; i < 4; i++) {
                params.add(ds[i].quantize(scales[l][i], factors == null ? null : factors[l][i]));
            }
        }
        if (tables) {
            wordQ.values = new float[word.value.length];
            positionQ.values = new float[position.value.length];
        }
    }

    /** Fake-quantized copies of the word and position tables under QAT, refreshed when the tables change. */
    private final QuantizedTable wordQ = new QuantizedTable();
    private final QuantizedTable positionQ = new QuantizedTable();

    private static final class QuantizedTable {
        float[] values;
        int version = -1;

        float[] of(Param p, int threads) {
            if (values == null) {
                return p.value;
            }
            if (version != p.version()) {
                FakeQuant.weights(p.value, p.rows(), p.cols(), values, threads);
                version = p.version();
            }
            return values;
        }
    }

    /** The learned activation scales ({@code [layer][4]}, as {@link #quantize}), or null when QAT is off. */
    public float[][] activationScales() {
        if (layers.length == 0 || Float.isNaN(layers[0].qkv.activationScale())) {
            return null;
        }
        float[][] s = new float[layers.length][];
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            s[l] = new float[] {L.qkv.activationScale(), L.out.activationScale(), L.ffnIn.activationScale(),
                    L.ffnOut.activationScale()};
        }
        return s;
    }

    /** Every trainable parameter, in a stable order (checkpoints rely on it). */
    public List<Param> params() {
        return List.copyOf(params);
    }

    public Layer layer(int l) {
        return layers[l];
    }

    /** The current weights as dense arrays (copies). */
    public EncoderWeights weights() {
        if (!trainable) {
            throw new IllegalStateException("a frozen encoder keeps its linear layers packed; it has no dense weights");
        }
        if (released) {
            throw new IllegalStateException("the encoder was released at the end of training");
        }
        return weights(float[]::clone);
    }

    private EncoderWeights weights(java.util.function.UnaryOperator<float[]> c) {
        List<EncoderWeights.LayerWeights> ls = new ArrayList<>();
        for (Layer l : layers) {
            ls.add(new EncoderWeights.LayerWeights(c.apply(l.qkv.w.value), c.apply(l.qkv.b.value), c.apply(l.out.w.value),
                    c.apply(l.out.b.value), c.apply(l.norm1.gamma.value), c.apply(l.norm1.beta.value),
                    c.apply(l.ffnIn.w.value), c.apply(l.ffnIn.b.value), c.apply(l.ffnOut.w.value), c.apply(l.ffnOut.b.value),
                    c.apply(l.norm2.gamma.value), c.apply(l.norm2.beta.value)));
        }
        return new EncoderWeights(c.apply(word.value), c.apply(position.value), type == null ? null : c.apply(type.value),
                c.apply(embNorm.gamma.value), c.apply(embNorm.beta.value), ls);
    }

    private boolean released;

    /**
     * Bytes of this encoder's own state: the values it owns (a frozen word table shared with another encoder is
     * counted by the frozen one, not here), gradients, optimiser moments and packed copies.
     */
    public long stateBytes() {
        long n = 0;
        for (Param p : params) {
            boolean owned = p.trainable() || !trainable;
            n += 4L * ((owned && p.value != null ? p.value.length : 0) + (p.grad == null ? 0 : p.grad.length)
                    + (p.m == null ? 0 : p.m.length) + (p.v == null ? 0 : p.v.length));
        }
        for (Layer l : layers) {
            for (Dense d : List.of(l.qkv, l.out, l.ffnIn, l.ffnOut)) {
                n += d.packedBytes();
            }
        }
        return n;
    }

    /**
     * Ends training: drops every gradient, optimiser moment and packed copy, and hands over the weight arrays
     * themselves (no copy), so writing the student out needs no second copy of it in memory. The encoder cannot
     * run or train afterwards.
     *
     * @throws IllegalStateException on a frozen or already released encoder
     */
    public EncoderWeights release() {
        if (!trainable || released) {
            throw new IllegalStateException(released ? "the encoder was already released" : "a frozen encoder has no "
                    + "training state to release");
        }
        released = true;
        for (Param p : params) {
            p.dropTrainingState();
        }
        for (Layer l : layers) {
            for (Dense d : List.of(l.qkv, l.out, l.ffnIn, l.ffnOut)) {
                d.dropPacked();
            }
        }
        return weights(a -> a);
    }

    /** Clears every gradient. */
    public void zeroGrad() {
        for (Param p : params) {
            p.zeroGrad();
        }
    }

    // ------------------------------------------------------------------------------------------- forward

    /**
     * Activations of one forward pass, kept for the backward pass; reused across batches (buffers grow to the
     * largest batch and stay).
     */
    public static final class Pass {
        TokenBatch batch;
        int rows;
        boolean training;
        float dropout;
        long dropoutKey;
        float[] emb = new float[0];
        float[] embHat = new float[0];
        float[] embRstd = new float[0];
        float[][] out;
        LayerActs[] acts;
        final Backward.Scratch scratch = new Backward.Scratch();
        // backward scratch
        float[] dh = new float[0], dh1 = new float[0], ds = new float[0], dctx = new float[0], dg = new float[0],
                dqkv = new float[0], tmp = new float[0];

        /** Output of layer {@code l} ({@code 0}: the embeddings; {@code l}: after layer {@code l - 1}). */
        public float[] output(int l) {
            return out[l];
        }

        /** Whether the layers share one set of activation buffers (a frozen encoder's pass: no backward). */
        boolean sharedActs;

        /**
         * Attention probabilities of layer {@code l} ({@link Backward.Packing#probSize} layout).
         *
         * @throws IllegalStateException for a layer other than the last of a frozen encoder's pass, whose layers
         *                               share their buffers (only the last layer's values are left)
         */
        public float[] probabilities(int l) {
            if (sharedActs && l != acts.length - 1) {
                throw new IllegalStateException("a frozen encoder's pass keeps the attention of its last layer only, not "
                        + "of layer " + l);
            }
            return acts[l].probs;
        }

        public TokenBatch batch() {
            return batch;
        }

        /** Bytes of activations and scratch this pass holds now (its buffers only grow: the largest batch's). */
        public long bytes() {
            long n = (long) emb.length + embHat.length + embRstd.length + dh.length + dh1.length + ds.length + dctx.length
                    + dg.length + dqkv.length + tmp.length;
            for (float[] o : out) {
                n += o.length;
            }
            java.util.Set<LayerActs> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (LayerActs a : acts) {
                if (seen.add(a)) {
                    n += (long) a.qkv.length + a.probs.length + a.ctx.length + a.a.length + a.hat1.length + a.rstd1.length
                            + a.n1.length + a.f.length + a.g.length + a.o2.length + a.hat2.length + a.rstd2.length;
                }
            }
            return 4 * n + scratch.bytes();
        }

        public int rows() {
            return rows;
        }
    }

    static final class LayerActs {
        float[] qkv = new float[0], probs = new float[0], ctx = new float[0], a = new float[0], hat1 = new float[0],
                rstd1 = new float[0], n1 = new float[0], f = new float[0], g = new float[0], o2 = new float[0], hat2 = new float[0],
                rstd2 = new float[0];
    }

    /** A new, empty pass for this encoder. */
    public Pass newPass() {
        Pass p = new Pass();
        p.out = new float[cfg.layers() + 1][0];
        p.acts = new LayerActs[cfg.layers()];
        // Without a backward pass, a layer's intermediate values are dead once its output is written: the layers of
        // a frozen encoder (a teacher) reuse one set of buffers, a sixth of the activation memory for six layers.
        LayerActs shared = trainable ? null : new LayerActs();
        p.sharedActs = !trainable;
        for (int l = 0; l < cfg.layers(); l++) {
            p.acts[l] = trainable ? new LayerActs() : shared;
        }
        return p;
    }

    private static float[] grow(float[] a, long n) {
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("batch too large: " + n + " floats in one activation");
        }
        return a.length >= n ? a : new float[(int) n];
    }

    /**
     * Runs the encoder. With {@code dropout > 0} (training only) dropout with that rate is applied to the
     * embeddings and to the attention and feed-forward outputs before each residual add; the mask is a hash of
     * {@code dropoutKey}, the layer and the element, so the same key replays the same mask.
     *
     * @throws IllegalArgumentException when a token id, type id or sequence length is out of the model's range
     */
    public void forward(TokenBatch batch, Pass p, float dropout, long dropoutKey, int threads) {
        if (released) {
            throw new IllegalStateException("the encoder was released at the end of training");
        }
        checkBatch(batch);
        int r = batch.rows(), h = cfg.hidden(), f = cfg.ffn();
        p.batch = batch;
        p.rows = r;
        p.dropout = dropout;
        p.dropoutKey = dropoutKey;
        Backward.Packing pk = batch.packing();
        p.emb = grow(p.emb, (long) r * h);
        if (trainable) {
            p.embHat = grow(p.embHat, (long) r * h);
            p.embRstd = grow(p.embRstd, r);
        }
        for (int i = 0; i <= cfg.layers(); i++) {
            p.out[i] = grow(p.out[i], (long) r * h);
        }
        float[] e = p.emb;
        float[] wt = wordQ.of(word, threads), pt = positionQ.of(position, threads);
        for (int b = 0; b < pk.count(); b++) {
            for (int i = 0; i < pk.lengths()[b]; i++) {
                int row = pk.offsets()[b] + i, o = row * h;
                int wo = batch.ids()[row] * h, po = i * h;
                for (int j = 0; j < h; j++) {
                    e[o + j] = wt[wo + j] + pt[po + j];
                }
                if (type != null) {
                    int to = batch.types()[row] * h;
                    for (int j = 0; j < h; j++) {
                        e[o + j] += type.value[to + j];
                    }
                }
            }
        }
        dropout(e, r * h, dropout, dropoutKey, -1, 0);
        Backward.layerNormForward(e, null, r, h, embNorm.gamma.value, embNorm.beta.value, cfg.eps(), p.out[0],
                trainable ? p.embHat : null, trainable ? p.embRstd : null, threads);
        int heads = cfg.heads();
        float scale = (float) (1.0 / Math.sqrt(h / heads));
        for (int l = 0; l < cfg.layers(); l++) {
            Layer L = layers[l];
            LayerActs a = p.acts[l];
            float[] in = p.out[l];
            a.qkv = grow(a.qkv, (long) r * 3 * h);
            a.probs = grow(a.probs, pk.probSize(heads));
            a.ctx = grow(a.ctx, (long) r * h);
            a.a = grow(a.a, (long) r * h);
            a.f = grow(a.f, (long) r * f);
            a.g = grow(a.g, (long) r * f);
            a.o2 = grow(a.o2, (long) r * h);
            if (trainable) { // the layer norms' saved statistics serve the backward pass only
                a.hat1 = grow(a.hat1, (long) r * h);
                a.rstd1 = grow(a.rstd1, r);
                a.hat2 = grow(a.hat2, (long) r * h);
                a.rstd2 = grow(a.rstd2, r);
            }
            L.qkv.forward(in, r, a.qkv, p.scratch, threads);
            Backward.attentionForward(a.qkv, pk, h, heads, scale, a.ctx, a.probs, threads);
            L.out.forward(a.ctx, r, a.a, p.scratch, threads);
            dropout(a.a, r * h, dropout, dropoutKey, l, 1);
            a.n1 = grow(a.n1, (long) r * h);
            float[] n1 = a.n1;
            Backward.layerNormForward(a.a, in, r, h, L.norm1.gamma.value, L.norm1.beta.value, cfg.eps(), n1,
                    trainable ? a.hat1 : null, trainable ? a.rstd1 : null, threads);
            L.ffnIn.forward(n1, r, a.f, p.scratch, threads);
            Backward.gelu(a.f, a.g, r * f, threads);
            L.ffnOut.forward(a.g, r, a.o2, p.scratch, threads);
            dropout(a.o2, r * h, dropout, dropoutKey, l, 2);
            Backward.layerNormForward(a.o2, n1, r, h, L.norm2.gamma.value, L.norm2.beta.value, cfg.eps(), p.out[l + 1],
                    trainable ? a.hat2 : null, trainable ? a.rstd2 : null, threads);
        }
    }

    private void checkBatch(TokenBatch batch) {
        Backward.Packing pk = batch.packing();
        for (int b = 0; b < pk.count(); b++) {
            if (pk.lengths()[b] > cfg.maxPositions()) {
                throw new IllegalArgumentException("sequence " + b + " has " + pk.lengths()[b]
                        + " tokens, the model has " + cfg.maxPositions() + " positions");
            }
        }
        for (int i = 0; i < batch.rows(); i++) {
            int id = batch.ids()[i], t = batch.types()[i];
            if (id < 0 || id >= cfg.vocab()) {
                throw new IllegalArgumentException("token id " + id + " at row " + i + " is outside the vocabulary of "
                        + cfg.vocab());
            }
            if (t < 0 || t >= Math.max(1, cfg.typeVocab())) {
                throw new IllegalArgumentException("token type " + t + " at row " + i + " is outside [0, "
                        + Math.max(1, cfg.typeVocab()) + ")");
            }
        }
    }

    // ------------------------------------------------------------------------------------------- dropout

    private static void dropout(float[] x, int n, float rate, long key, int layer, int site) {
        if (rate <= 0f) {
            return;
        }
        float keep = 1f / (1f - rate);
        long k = mix(key ^ mix(((long) layer << 8) ^ site));
        long threshold = (long) (rate * 4294967296.0);
        for (int i = 0; i < n; i++) {
            x[i] = (mix(k + i) & 0xffffffffL) < threshold ? 0f : x[i] * keep;
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    // ------------------------------------------------------------------------------------------- backward

    /**
     * Accumulates parameter gradients from loss gradients at layer outputs. {@code dOut[l]} is the gradient
     * with respect to {@link Pass#output(int) output l} ({@code [rows, H]}), or {@code null} where the loss does
     * not look; {@code dScores[l]} (optional, may be {@code null} or hold {@code null}s) is an extra gradient with
     * respect to layer {@code l}'s scaled attention scores, laid out like its probabilities.
     */
    public void backward(Pass p, float[][] dOut, float[][] dScores, int threads) {
        if (!trainable) {
            throw new IllegalStateException("a frozen encoder has no gradients");
        }
        int r = p.rows, h = cfg.hidden(), f = cfg.ffn(), heads = cfg.heads();
        float scale = (float) (1.0 / Math.sqrt(h / heads));
        Backward.Packing pk = p.batch.packing();
        p.dh = grow(p.dh, (long) r * h);
        p.dh1 = grow(p.dh1, (long) r * h);
        p.ds = grow(p.ds, (long) r * h);
        p.dctx = grow(p.dctx, (long) r * h);
        p.tmp = grow(p.tmp, (long) r * h);
        p.dg = grow(p.dg, (long) r * f);
        p.dqkv = grow(p.dqkv, (long) r * 3 * h);
        float[] dh = p.dh;
        int L = cfg.layers();
        if (dOut[L] != null) {
            System.arraycopy(dOut[L], 0, dh, 0, r * h);
        } else {
            java.util.Arrays.fill(dh, 0, r * h, 0f);
        }
        for (int l = L - 1; l >= 0; l--) {
            Layer ly = layers[l];
            LayerActs a = p.acts[l];
            float[] n1 = a.n1;
            // norm2: s2 = o2 + n1
            Backward.layerNormBackward(dh, a.hat2, a.rstd2, r, h, ly.norm2.gamma.value, p.ds, ly.norm2.gamma.grad,
                    ly.norm2.beta.grad, p.scratch, threads);
            // residual into n1; dropout mask on o2
            System.arraycopy(p.ds, 0, p.dh1, 0, r * h);
            dropoutBackward(p.ds, r * h, p.dropout, p.dropoutKey, l, 2);
            ly.ffnOut.backward(a.g, p.ds, r, p.dg, p.scratch, threads);
            Backward.geluBackward(a.f, p.dg, p.dg, r * f, threads);
            ly.ffnIn.backward(n1, p.dg, r, p.tmp, p.scratch, threads);
            add(p.dh1, p.tmp, r * h);
            // norm1: s1 = a + in
            Backward.layerNormBackward(p.dh1, a.hat1, a.rstd1, r, h, ly.norm1.gamma.value, p.ds, ly.norm1.gamma.grad,
                    ly.norm1.beta.grad, p.scratch, threads);
            System.arraycopy(p.ds, 0, dh, 0, r * h); // residual into the layer input
            dropoutBackward(p.ds, r * h, p.dropout, p.dropoutKey, l, 1);
            ly.out.backward(a.ctx, p.ds, r, p.dctx, p.scratch, threads);
            Backward.attentionBackward(a.qkv, pk, h, heads, scale, a.probs, p.dctx,
                    dScores == null ? null : dScores[l], p.dqkv, threads);
            ly.qkv.backward(p.out[l], p.dqkv, r, p.tmp, p.scratch, threads);
            add(dh, p.tmp, r * h);
            if (dOut[l] != null) {
                add(dh, dOut[l], r * h);
            }
        }
        // embeddings
        Backward.layerNormBackward(dh, p.embHat, p.embRstd, r, h, embNorm.gamma.value, p.ds, embNorm.gamma.grad,
                embNorm.beta.grad, p.scratch, threads);
        dropoutBackward(p.ds, r * h, p.dropout, p.dropoutKey, -1, 0);
        TokenBatch batch = p.batch;
        for (int b = 0; b < pk.count(); b++) {
            for (int i = 0; i < pk.lengths()[b]; i++) {
                int row = pk.offsets()[b] + i, o = row * h;
                int id = batch.ids()[row];
                int wo = id * h, po = i * h;
                if (word.trainable()) {
                    word.touch(id);
                    for (int j = 0; j < h; j++) {
                        word.grad[wo + j] += p.ds[o + j];
                    }
                }
                for (int j = 0; j < h; j++) {
                    position.grad[po + j] += p.ds[o + j];
                }
                if (type != null) {
                    int to = batch.types()[row] * h;
                    for (int j = 0; j < h; j++) {
                        type.grad[to + j] += p.ds[o + j];
                    }
                }
            }
        }
    }

    private static void dropoutBackward(float[] g, int n, float rate, long key, int layer, int site) {
        dropout(g, n, rate, key, layer, site);
    }

    private static void add(float[] acc, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += x[i];
        }
    }
}
