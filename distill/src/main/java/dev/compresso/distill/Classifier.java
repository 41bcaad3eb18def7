package dev.compresso.distill;

import dev.compresso.distill.train.AdamW;
import dev.compresso.distill.train.Encoder;
import dev.compresso.distill.train.Losses;
import dev.compresso.distill.train.Param;
import dev.compresso.distill.train.Schedule;
import dev.compresso.distill.train.TokenBatch;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.DType;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Backward;
import dev.compresso.engine.weights.Fp32Panels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * A sentence classifier: an encoder, mean pooling over each sentence's tokens, and a linear head to class logits.
 * Trained with hard labels (cross-entropy) and, when a teacher's logits are given, Hinton's soft targets
 * ({@code α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE}). Sentences without a label (label −1) are a
 * transfer set: they get the soft-target term only.
 */
public final class Classifier {
    private final Encoder encoder;
    private final Param headW;
    private final Param headB;
    private final int classes;
    private final boolean trainEncoder;
    private final Encoder.Pass pass;
    private final Backward.Scratch scratch = new Backward.Scratch();
    private float[] pooled = new float[0];
    private float[] panels = new float[0];
    private int packed = -1;

    /**
     * @param encoder      the encoder (trainable, or frozen for a head-only classifier)
     * @param headWeights  {@code [classes, H]} initial head weights
     * @param headBias     {@code classes} initial biases
     * @param trainEncoder whether the encoder's parameters train too (else only the head)
     */
    public Classifier(Encoder encoder, float[] headWeights, float[] headBias, boolean trainEncoder) {
        this.encoder = encoder;
        this.classes = headBias.length;
        int h = encoder.config().hidden();
        this.headW = new Param("head.weight", classes, h, headWeights, true, false);
        this.headB = new Param("head.bias", 1, classes, headBias, false, false);
        this.trainEncoder = trainEncoder;
        this.pass = encoder.newPass();
    }

    /** A head with small random weights (seeded) and zero biases. */
    public static Classifier withNewHead(Encoder encoder, int classes, long seed, boolean trainEncoder) {
        int h = encoder.config().hidden();
        float[] w = new float[classes * h];
        SplittableRandom r = new SplittableRandom(seed);
        double s = 1 / Math.sqrt(h);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * s);
        }
        return new Classifier(encoder, w, new float[classes], trainEncoder);
    }

    public int classes() {
        return classes;
    }

    public Encoder encoder() {
        return encoder;
    }

    /** Copies of the head's weights {@code [classes, H]} and biases. */
    public float[][] head() {
        return new float[][] {headW.values().clone(), headB.values().clone()};
    }

    List<Param> params() {
        List<Param> p = new ArrayList<>();
        if (trainEncoder) {
            p.addAll(encoder.params());
        }
        p.add(headW);
        p.add(headB);
        return p;
    }

    /** Logits {@code [sentences, classes]} of a batch. */
    public float[] logits(TokenBatch batch, int threads) {
        encoder.forward(batch, pass, 0f, 0, threads);
        int h = encoder.config().hidden(), n = batch.count();
        if (pooled.length < n * h) {
            pooled = new float[n * h];
        }
        Losses.meanPool(pass.output(encoder.config().layers()), batch.packing(), h, pooled);
        if (packed != headW.version()) {
            panels = new float[Backward.panelSize(classes, h)];
            Backward.packPanels(headW.values(), classes, h, panels, 1);
            packed = headW.version();
        }
        float[] out = new float[n * classes];
        Backward.linearForward(pooled, n, panels, headB.values(), classes, h, out, scratch, threads);
        return out;
    }

    /** Settings of {@link #train}. */
    public record TrainOptions(int epochs, int batchSize, float lr, float warmupFraction, float temperature, float alpha,
            long seed, int threads) {
        public TrainOptions {
            if (epochs < 1 || batchSize < 1 || !(lr > 0) || !(warmupFraction >= 0 && warmupFraction < 1)
                    || !(temperature > 0) || !(alpha >= 0 && alpha <= 1) || threads < 1) {
                throw new IllegalArgumentException("invalid classifier training settings: epochs " + epochs + ", batch "
                        + batchSize + ", lr " + lr + ", T " + temperature + ", alpha " + alpha);
            }
        }
    }

    /**
     * Trains on {@code ids} with {@code labels} (−1: unlabelled) and, when {@code teacherLogits} is given
     * ({@code [sentences, classes]}), soft targets with weight {@code alpha}.
     */
    public void train(List<int[]> ids, int[] labels, float[] teacherLogits, TrainOptions o, Consumer<String> log) {
        int n = ids.size(), bs = Math.min(o.batchSize(), n);
        long perEpoch = (n + bs - 1) / bs, total = perEpoch * o.epochs();
        Schedule schedule = new Schedule(o.lr(), Math.round(o.warmupFraction() * total), total, false);
        AdamW opt = new AdamW(0.9f, 0.999f, 1e-6f, 0.01f);
        List<Param> params = params();
        int h = encoder.config().hidden(), layers = encoder.config().layers();
        long t0 = System.nanoTime(), last = t0;
        int[] order = null;
        for (long step = 0; step < total; step++) {
            int epoch = (int) (step / perEpoch);
            if (step % perEpoch == 0) {
                order = Distiller.permutation(n, o.seed() * 0x9E3779B97F4A7C15L + epoch);
            }
            int first = (int) ((step % perEpoch) * bs), count = Math.min(bs, n - first);
            List<int[]> seqs = new ArrayList<>(count);
            int[] lab = new int[count];
            float[] tl = teacherLogits == null ? null : new float[count * classes];
            int labelled = 0;
            for (int i = 0; i < count; i++) {
                int s = order[first + i];
                seqs.add(ids.get(s));
                lab[i] = labels[s];
                labelled += lab[i] >= 0 ? 1 : 0;
                if (tl != null) {
                    System.arraycopy(teacherLogits, s * classes, tl, i * classes, classes);
                }
            }
            TokenBatch batch = TokenBatch.of(seqs);
            for (Param p : params) {
                p.zeroGrad();
            }
            float[] z = logits(batch, o.threads());
            float[] dz = new float[count * classes];
            double loss = 0;
            if (tl != null && o.alpha() > 0) {
                loss += Losses.softTargets(z, tl, count, classes, o.temperature(), dz, o.alpha());
            }
            float hardWeight = tl == null ? 1f : 1f - o.alpha();
            if (hardWeight > 0 && labelled > 0) {
                // Cross-entropy over the labelled rows only, averaged over them.
                float[] zl = new float[labelled * classes], dzl = new float[labelled * classes];
                int[] ll = new int[labelled];
                for (int i = 0, j = 0; i < count; i++) {
                    if (lab[i] >= 0) {
                        System.arraycopy(z, i * classes, zl, j * classes, classes);
                        ll[j++] = lab[i];
                    }
                }
                loss += Losses.crossEntropy(zl, ll, labelled, classes, dzl, hardWeight * labelled / (float) count);
                for (int i = 0, j = 0; i < count; i++) {
                    if (lab[i] >= 0) {
                        for (int c = 0; c < classes; c++) {
                            dz[i * classes + c] += dzl[j * classes + c];
                        }
                        j++;
                    }
                }
            }
            // head backward: dW = dzᵀ · pooled, db = Σ dz, dPooled = dz · W
            float[] wt = new float[Backward.panelSize(h, classes)];
            Backward.packPanelsTransposed(headW.values(), classes, h, wt, 1);
            float[] dPooled = new float[count * h];
            Backward.linearBackward(pooled, dz, count, classes, h, wt, dPooled, headW.gradient(), headB.gradient(),
                    scratch, o.threads());
            if (trainEncoder) {
                float[][] dOut = new float[layers + 1][];
                dOut[layers] = new float[batch.rows() * h];
                Losses.meanPoolBackward(dPooled, batch.packing(), h, dOut[layers]);
                encoder.backward(pass, dOut, null, o.threads());
            }
            AdamW.clip(params, 1.0);
            opt.step(params, schedule.at(step));
            long now = System.nanoTime();
            if (now - last > 10_000_000_000L || step == total - 1) {
                log.accept(String.format(java.util.Locale.ROOT, "classifier step %d/%d epoch %d loss %.4f (%.1f s)",
                        step + 1, total, epoch + 1, loss, (now - t0) / 1e9));
                last = now;
            }
        }
    }

    /**
     * Trains only the head, on fixed pooled features {@code [n, H]} (e.g. a frozen teacher's, computed once):
     * softmax regression with AdamW, {@code epochs} passes in seeded order.
     */
    public void trainHeadOnFeatures(float[] features, int[] labels, int epochs, int batchSize, float lr, long seed) {
        int h = encoder.config().hidden(), n = labels.length;
        if (features.length != n * h) {
            throw new IllegalArgumentException(features.length + " feature values for " + n + " sentences of width " + h);
        }
        AdamW opt = new AdamW(0.9f, 0.999f, 1e-6f, 0.01f);
        List<Param> head = List.of(headW, headB);
        float[] w = headW.values(), b = headB.values();
        for (int e = 0; e < epochs; e++) {
            int[] order = Distiller.permutation(n, seed + e);
            for (int first = 0; first < n; first += batchSize) {
                int count = Math.min(batchSize, n - first);
                headW.zeroGrad();
                headB.zeroGrad();
                float[] z = new float[count * classes], dz = new float[count * classes];
                int[] lab = new int[count];
                for (int i = 0; i < count; i++) {
                    int s = order[first + i];
                    lab[i] = labels[s];
                    for (int c = 0; c < classes; c++) {
                        float acc = b[c];
                        for (int j = 0; j < h; j++) {
                            acc += features[s * h + j] * w[c * h + j];
                        }
                        z[i * classes + c] = acc;
                    }
                }
                Losses.crossEntropy(z, lab, count, classes, dz, 1f);
                float[] gw = headW.gradient(), gb = headB.gradient();
                for (int i = 0; i < count; i++) {
                    int s = order[first + i];
                    for (int c = 0; c < classes; c++) {
                        float g = dz[i * classes + c];
                        gb[c] += g;
                        for (int j = 0; j < h; j++) {
                            gw[c * h + j] += g * features[s * h + j];
                        }
                    }
                }
                opt.step(head, lr);
            }
        }
    }

    /** Mean-pooled encoder outputs {@code [sentences, H]}. */
    public float[] features(List<int[]> ids, int batchSize, int threads) {
        int h = encoder.config().hidden();
        float[] out = new float[ids.size() * h];
        for (int first = 0; first < ids.size(); first += batchSize) {
            List<int[]> seqs = ids.subList(first, Math.min(ids.size(), first + batchSize));
            logits(TokenBatch.of(seqs), threads);
            System.arraycopy(pooled, 0, out, first * h, seqs.size() * h);
        }
        return out;
    }

    /** Share of sentences whose highest logit is their label. */
    public double accuracy(List<int[]> ids, int[] labels, int batchSize, int threads) {
        int right = 0;
        for (int first = 0; first < ids.size(); first += batchSize) {
            List<int[]> seqs = ids.subList(first, Math.min(ids.size(), first + batchSize));
            float[] z = logits(TokenBatch.of(seqs), threads);
            for (int i = 0; i < seqs.size(); i++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (z[i * classes + c] > z[i * classes + best]) {
                        best = c;
                    }
                }
                right += best == labels[first + i] ? 1 : 0;
            }
        }
        return (double) right / ids.size();
    }

    /** All logits of a list of sentences ({@code [sentences, classes]}). */
    public float[] allLogits(List<int[]> ids, int batchSize, int threads) {
        float[] out = new float[ids.size() * classes];
        for (int first = 0; first < ids.size(); first += batchSize) {
            List<int[]> seqs = ids.subList(first, Math.min(ids.size(), first + batchSize));
            float[] z = logits(TokenBatch.of(seqs), threads);
            System.arraycopy(z, 0, out, first * classes, z.length);
        }
        return out;
    }

    /**
     * The classifier as an engine graph: {@code encoderGraph} (a {@link BertGraph#student} or the teacher) plus
     * masked mean pooling of its first output over {@code attention_mask} and the head, as a new output
     * {@code logits} {@code [batch, classes]}.
     *
     * @throws IllegalArgumentException when the graph has no {@code attention_mask} input
     */
    public Graph toGraph(Graph encoderGraph) {
        String hidden = encoderGraph.outputs().get(0).name();
        String mask = null;
        for (ValueInfo v : encoderGraph.inputs()) {
            if (v.name().equals("attention_mask")) {
                mask = v.name();
            }
        }
        if (mask == null) {
            throw new IllegalArgumentException("graph " + encoderGraph.name() + " has no attention_mask input to pool with");
        }
        boolean axesAsInput = encoderGraph.opset() >= 13;
        Rewriter nodes = encoderGraph.rewrite();
        String p = "/classifier/";
        nodes.putConstant(p + "axes_2", Tensor.ofLongs(new long[] {1}, new long[] {2}));
        nodes.putConstant(p + "axes_1", Tensor.ofLongs(new long[] {1}, new long[] {1}));
        nodes.append(new Node("Cast", "", p + "Cast", List.of(mask), List.of(p + "mask_f"),
                Map.of("to", Attribute.of("to", (long) DType.FLOAT.onnxCode()))));
        nodes.append(axesNode("Unsqueeze", p + "Unsqueeze", p + "mask_f", p + "axes_2", new long[] {2}, p + "mask3", -1,
                axesAsInput));
        nodes.append(new Node("Mul", "", p + "Mul", List.of(hidden, p + "mask3"), List.of(p + "masked"), Map.of()));
        nodes.append(axesNode("ReduceSum", p + "SumHidden", p + "masked", p + "axes_1", new long[] {1}, p + "sum", 0,
                axesAsInput));
        nodes.append(axesNode("ReduceSum", p + "SumMask", p + "mask3", p + "axes_1", new long[] {1}, p + "count", 0,
                axesAsInput));
        nodes.append(new Node("Div", "", p + "Div", List.of(p + "sum", p + "count"), List.of(p + "pooled"), Map.of()));
        int h = encoder.config().hidden();
        nodes.append(new Linear(p + "head", p + "pooled", "logits", Fp32Panels.pack(headW.values().clone(), classes, h),
                headB.values().clone(), Activation.NONE));
        List<ValueInfo> outs = new ArrayList<>(encoderGraph.outputs());
        outs.add(new ValueInfo("logits", DType.FLOAT, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(classes, null))));
        return nodes.outputs(outs).build();
    }

    private static Node axesNode(String op, String name, String in, String axesConst, long[] axes, String out,
            long keepdims, boolean axesAsInput) {
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        if (keepdims >= 0) {
            attrs.put("keepdims", Attribute.of("keepdims", keepdims));
        }
        if (axesAsInput) {
            return new Node(op, "", name, List.of(in, axesConst), List.of(out), attrs);
        }
        attrs.put("axes", Attribute.of("axes", axes));
        return new Node(op, "", name, List.of(in), List.of(out), attrs);
    }
}
