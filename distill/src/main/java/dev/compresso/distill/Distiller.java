package dev.compresso.distill;

import dev.compresso.distill.train.AdamW;
import dev.compresso.distill.train.Checkpoint;
import dev.compresso.distill.train.Encoder;
import dev.compresso.distill.train.EncoderConfig;
import dev.compresso.distill.train.EncoderWeights;
import dev.compresso.distill.train.Losses;
import dev.compresso.distill.train.Param;
import dev.compresso.distill.train.Schedule;
import dev.compresso.distill.train.TokenBatch;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.kernel.Backward;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Distils a BERT-family teacher into a student that keeps some of its layers (initialised from them): both
 * encode the same unlabelled sentences; the student learns to match the teacher's mean-pooled sentence
 * embedding (cosine and/or MSE), its hidden states over a layer map (student layer {@code j} against the
 * teacher layer just before the next kept one, the last against the teacher's last) and, optionally, its last
 * layer's attention distributions. The student comes back as a graph of the teacher's form.
 */
public final class Distiller {
    private Distiller() {}

    /** One progress report. */
    public record Progress(long step, long totalSteps, int epoch, double loss, double cosineLoss, double hiddenLoss,
            double attentionLoss, float lr, double tokensPerSecond, double etaSeconds) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT,
                    "step %d/%d epoch %d loss %.5f (cos %.5f hidden %.5f att %.5f) lr %.2e tokens/s %.0f ETA %s", step,
                    totalSteps, epoch, loss, cosineLoss, hiddenLoss, attentionLoss, lr, tokensPerSecond,
                    eta(etaSeconds));
        }

        private static String eta(double s) {
            long t = Math.round(s);
            return t >= 3600 ? String.format(java.util.Locale.ROOT, "%dh%02dm", t / 3600, (t / 60) % 60)
                    : String.format(java.util.Locale.ROOT, "%dm%02ds", t / 60, t % 60);
        }
    }

    /** What a run produced. */
    public record Result(Graph student, long steps, long sentences, long tokens, double seconds, double lastLoss,
            List<Progress> progress, double steadyTokensPerSecond) {}

    /** Steps not counted in {@link Result#steadyTokensPerSecond} (JIT warm-up, first allocations). */
    static final int WARM_STEPS = 3;

    /**
     * Runs a distillation.
     *
     * @param teacher  the teacher's fused graph (not modified)
     * @param corpus   token-id sequences ({@code [CLS] … [SEP]}), one per sentence
     * @param options  the recipe
     * @param progress receives a progress line every few seconds (e.g. stderr)
     * @return the student graph and statistics
     * @throws ModelException when the teacher is not a BERT-family encoder
     * @throws IOException    when a checkpoint cannot be written or read, or does not belong to this run
     */
    public static Result distill(Graph teacher, List<int[]> corpus, DistillOptions options, Consumer<String> progress)
            throws ModelException, IOException {
        return distill(teacher, corpus, options, progress, (step, loss) -> {});
    }

    /** Called after every optimiser step (and after its checkpoint, if one is due); may throw to abort the run. */
    @FunctionalInterface
    public interface StepListener {
        void stepDone(long step, double loss);

        /**
         * As {@link #stepDone(long, double)}, with access to the student as it is now (a graph is built only when
         * {@code student.get()} is called, e.g. to save snapshots for a fidelity curve).
         */
        default void stepDone(long step, double loss, java.util.function.Supplier<Graph> student) throws IOException {
            stepDone(step, loss);
        }
    }

    /**
     * As {@link #distill(Graph, List, DistillOptions, Consumer)}, calling {@code listener} after every step.
     *
     * @throws ModelException when the teacher is not a BERT-family encoder
     * @throws IOException    when a checkpoint cannot be written or read, or does not belong to this run
     */
    public static Result distill(Graph teacher, List<int[]> corpus, DistillOptions options, Consumer<String> progress,
            StepListener listener) throws ModelException, IOException {
        return distill(teacher, null, corpus, options, progress, listener, (step, total, student) -> {});
    }

    /**
     * Changes the student after every optimiser step, before the next forward pass: pruning keeps its masks
     * this way (zeroing pruned weights, raising the sparsity on a schedule). A hook that changes a parameter's
     * values calls {@link dev.compresso.distill.train.Param#set}.
     */
    @FunctionalInterface
    public interface StudentHook {
        void afterStep(long step, long totalSteps, Encoder student);
    }

    /**
     * The general form: the student starts from {@code init}'s weights (a graph of the teacher's form with
     * {@code options.layers().length} layers and the same widths except, possibly, a narrower feed-forward width:
     * e.g. a pruned copy of the teacher with every layer kept, or the kept layers with FFN neurons removed) instead of
     * the teacher's kept layers, and {@code hook} runs after every step (also once before the first, as step 0).
     *
     * @throws ModelException when the teacher or {@code init} is not a BERT-family encoder, or their shapes differ
     * @throws IOException    when a checkpoint cannot be written or read, or does not belong to this run
     */
    public static Result distill(Graph teacher, Graph init, List<int[]> corpus, DistillOptions options,
            Consumer<String> progress, StepListener listener, StudentHook hook) throws ModelException, IOException {
        if (corpus.isEmpty()) {
            throw new IllegalArgumentException("the corpus has no sentences");
        }
        BertGraph bg = BertGraph.of(teacher);
        EncoderConfig cfg = bg.config();
        int[] keep = options.layers();
        try {
            BertGraph.checkKeep(keep, cfg.layers());
        } catch (IllegalArgumentException e) {
            throw new ModelException("graph " + teacher.name() + ": " + e.getMessage(), e);
        }
        List<int[]> data = new ArrayList<>(corpus.size());
        long hash = 1;
        for (int[] s : corpus) {
            int[] t = s.length > options.maxLength() ? truncate(s, options.maxLength()) : s;
            if (t.length == 0) {
                throw new IllegalArgumentException("sentence " + data.size() + " has no tokens");
            }
            if (t.length > cfg.maxPositions()) {
                throw new IllegalArgumentException("sentence " + data.size() + " has " + t.length
                        + " tokens, the teacher has " + cfg.maxPositions() + " positions");
            }
            data.add(t);
            hash = hash * 31 + java.util.Arrays.hashCode(t);
        }
        Encoder[] encoders = encoders(bg, cfg, keep, init, options.trainEmbeddings());
        Encoder student = encoders[1];
        // The student graph is rebuilt from the graph whose shapes it has: the teacher's (kept layers), or the
        // initial graph's (which may have a narrower feed-forward width).
        BertGraph shape = init == null ? bg : BertGraph.of(init);
        int[] slots = init == null ? keep : java.util.stream.IntStream.range(0, keep.length).toArray();
        hook.afterStep(0, 0, student);
        Run run = new Run(encoders[0], student, keep, cfg, options, hook);
        encoders = null;
        String fingerprint = options.fingerprint(data.size(), hash)
                + (student.config().ffn() == cfg.ffn() ? "" : ",ffn" + student.config().ffn());
        Result r = run.train(data, fingerprint, progress, listener, () -> shape.student(slots, student.weights()));
        // The teacher, the activations and the optimiser state die here, before the student graph is built.
        run = null;
        return new Result(shape.student(slots, student.release()), r.steps(), r.sentences(), r.tokens(), r.seconds(),
                r.lastLoss(), r.progress(), r.steadyTokensPerSecond());
    }

    /**
     * The frozen teacher and the trainable student. The dense weight arrays they are built from are copied into
     * their parameters and die with this call (a teacher's worth of memory, not held through training).
     */
    private static Encoder[] encoders(BertGraph bg, EncoderConfig cfg, int[] keep, Graph init, boolean trainWord)
            throws ModelException {
        EncoderWeights tw = bg.weights();
        Encoder teacher = Encoder.frozen(cfg, tw);
        if (init != null) {
            BertGraph ib = BertGraph.of(init);
            EncoderConfig ic = ib.config();
            if (!ic.equals(cfg.withLayers(keep.length).withFfn(ic.ffn()))) {
                throw new ModelException("graph " + init.name() + ": shape " + ic + " is not the student's "
                        + cfg.withLayers(keep.length) + " (only the feed-forward width may differ)");
            }
            return new Encoder[] {teacher, Encoder.of(ic, ib.weights(), trainWord)};
        }
        // select() shares the teacher's arrays: a trainable student copies them, a frozen word table is shared.
        return new Encoder[] {teacher, Encoder.of(cfg.withLayers(keep.length), tw.select(keep), trainWord)};
    }

    /**
     * A random contiguous part of a sentence's words, at least one token and at most all but one, framed by the
     * sentence's own first and last tokens ({@code [CLS]}, {@code [SEP]}); {@code null} when the sentence has
     * fewer than two tokens between them. Deterministic in {@code key}.
     */
    static int[] crop(int[] s, long key) {
        int inner = s.length - 2;
        if (inner < 2) {
            return null;
        }
        SplittableRandom r = new SplittableRandom(key);
        int len = 1 + r.nextInt(inner - 1);
        int start = 1 + r.nextInt(inner - len + 1);
        int[] c = new int[len + 2];
        c[0] = s[0];
        System.arraycopy(s, start, c, 1, len);
        c[len + 1] = s[s.length - 1];
        return c;
    }

    private static int[] truncate(int[] s, int max) {
        int[] t = java.util.Arrays.copyOf(s, max);
        t[max - 1] = s[s.length - 1]; // keep the closing [SEP]
        return t;
    }

    /** The training loop's state. */
    private static final class Run {
        final Encoder teacher;
        final Encoder student;
        final int[] keep;
        final EncoderConfig cfg;
        final DistillOptions o;
        final Encoder.Pass tp;
        final Encoder.Pass sp;

        final StudentHook hook;

        Run(Encoder teacher, Encoder student, int[] keep, EncoderConfig cfg, DistillOptions o, StudentHook hook) {
            this.hook = hook;
            this.teacher = teacher;
            this.student = student;
            this.keep = keep;
            this.cfg = cfg;
            this.o = o;
            this.tp = teacher.newPass();
            this.sp = student.newPass();
        }

        Result train(List<int[]> data, String fingerprint, Consumer<String> log, StepListener listener,
                java.util.function.Supplier<Graph> snapshot) throws IOException {
            int n = data.size(), bs = Math.min(o.batchSize(), n);
            long perEpoch = (n + bs - 1) / bs;
            long total = perEpoch * o.epochs();
            if (o.maxSteps() > 0) {
                total = Math.min(total, o.maxSteps());
            }
            Schedule schedule = new Schedule(o.lr(), Math.round(o.warmupFraction() * total), total, o.cosineDecay());
            AdamW opt = new AdamW(0.9f, 0.999f, 1e-6f, o.weightDecay());
            List<Param> params = student.params().stream().filter(Param::trainable).toList();
            long start = 0;
            if (o.resume() != null) {
                Checkpoint.State st = Checkpoint.read(o.resume(), params, opt);
                if (!st.fingerprint().equals(fingerprint)) {
                    throw new IOException(o.resume() + ": checkpoint belongs to another run (" + st.fingerprint()
                            + "), this run is " + fingerprint);
                }
                start = st.step();
                log.accept("resumed from " + o.resume() + " at step " + start + "/" + total);
            }
            List<Progress> curve = new ArrayList<>();
            int h = cfg.hidden(), ks = keep.length, tl = cfg.layers();
            int[] order = null;
            int orderEpoch = -1;
            long t0 = System.nanoTime(), lastLog = t0, tokens = 0, sentences = 0, warmTokens = 0, warmTime = 0;
            double lastLoss = Double.NaN;
            float[] ps = new float[0], pt = new float[0], dps = new float[0];
            float[][] dOut = new float[ks + 1][];
            float[][] dBuf = new float[ks + 1][0];
            float[][] dScores = new float[ks][];
            for (long step = start; step < total; step++) {
                int epoch = (int) (step / perEpoch);
                if (epoch != orderEpoch) {
                    order = permutation(n, o.seed() * 0x9E3779B97F4A7C15L + epoch);
                    orderEpoch = epoch;
                }
                int first = (int) ((step % perEpoch) * bs);
                List<int[]> seqs = new ArrayList<>();
                for (int i = first; i < Math.min(n, first + bs); i++) {
                    seqs.add(data.get(order[i]));
                }
                if (o.crops()) {
                    int count = seqs.size();
                    for (int i = 0; i < count; i++) {
                        int[] c = crop(seqs.get(i), o.seed() * 0xC2B2AE3D27D4EB4FL + step * 0x165667B19E3779F9L + i);
                        if (c != null) {
                            seqs.add(c);
                        }
                    }
                }
                TokenBatch batch = TokenBatch.of(seqs);
                int rows = batch.rows(), b = batch.count();
                teacher.forward(batch, tp, 0f, 0, o.threads());
                student.zeroGrad();
                student.forward(batch, sp, o.dropout(), o.seed() ^ (step * 0xD1B54A32D192ED03L), o.threads());
                // losses
                for (int j = 0; j <= ks; j++) {
                    dOut[j] = null;
                }
                float[] dTop = grad(dOut, dBuf, ks, rows * h);
                if (ps.length < b * h) {
                    ps = new float[b * h];
                    pt = new float[b * h];
                    dps = new float[b * h];
                }
                java.util.Arrays.fill(dps, 0, b * h, 0f);
                Losses.meanPool(sp.output(ks), batch.packing(), h, ps);
                Losses.meanPool(tp.output(tl), batch.packing(), h, pt);
                double cos = 0, hid = 0, att = 0;
                if (o.cosineWeight() > 0) {
                    cos += Losses.cosine(ps, pt, b, h, dps, o.cosineWeight());
                }
                if (o.pooledMseWeight() > 0) {
                    cos += Losses.mse(ps, pt, b * h, dps, o.pooledMseWeight());
                }
                if (o.similarityWeight() > 0) {
                    cos += Losses.similarity(ps, pt, b, h, dps, o.similarityWeight());
                }
                Losses.meanPoolBackward(dps, batch.packing(), h, dTop);
                if (o.hiddenWeight() > 0) {
                    for (int j = 0; j < ks; j++) {
                        int teacherOut = j == ks - 1 ? tl : keep[j + 1];
                        hid += Losses.mse(sp.output(j + 1), tp.output(teacherOut), rows * h, grad(dOut, dBuf, j + 1, rows * h),
                                o.hiddenWeight() / ks);
                    }
                }
                for (int j = 0; j < ks; j++) {
                    dScores[j] = null;
                }
                if (o.attentionWeight() > 0) {
                    int size = (int) batch.packing().probSize(cfg.heads());
                    float[] ds = new float[size];
                    att = Losses.attentionKl(sp.probabilities(ks - 1), tp.probabilities(tl - 1), batch.packing(),
                            cfg.heads(), ds, o.attentionWeight());
                    dScores[ks - 1] = ds;
                }
                student.backward(sp, dOut, dScores, o.threads());
                AdamW.clip(params, o.clipNorm());
                float lr = schedule.at(step);
                opt.step(params, lr);
                hook.afterStep(step + 1, total, student);
                lastLoss = cos + hid + att;
                if (!Double.isFinite(lastLoss)) {
                    throw new IllegalStateException("loss became " + lastLoss + " at step " + step
                            + "; lower the learning rate (now " + o.lr() + ")");
                }
                tokens += rows;
                if (step - start + 1 == WARM_STEPS) {
                    warmTokens = tokens;
                    warmTime = System.nanoTime();
                }
                sentences += b;
                long now = System.nanoTime();
                boolean last = step == total - 1;
                if (now - lastLog > 10_000_000_000L || last || step == start) {
                    double secs = (now - t0) / 1e9;
                    double rate = tokens / Math.max(secs, 1e-9);
                    double eta = (total - step - 1) * (secs / (step - start + 1));
                    Progress p = new Progress(step + 1, total, epoch + 1, lastLoss, cos, hid, att, lr, rate, eta);
                    curve.add(p);
                    log.accept(p.toString());
                    lastLog = now;
                }
                if (o.checkpoint() != null && ((step + 1) % o.checkpointEvery() == 0 || last)) {
                    Checkpoint.write(o.checkpoint(), params, opt, step + 1, fingerprint);
                }
                listener.stepDone(step + 1, lastLoss, snapshot);
            }
            log.accept(String.format(java.util.Locale.ROOT, "memory: teacher %.1f MB, student %.1f MB (weights, gradients, "
                    + "AdamW moments, packed copies), activations %.1f MB (student %.1f, teacher %.1f, loss buffers %.1f)",
                    teacher.stateBytes() / 1e6, student.stateBytes() / 1e6,
                    (sp.bytes() + tp.bytes() + lossBytes(ps, pt, dps, dBuf)) / 1e6, sp.bytes() / 1e6, tp.bytes() / 1e6,
                    lossBytes(ps, pt, dps, dBuf) / 1e6));
            long end = System.nanoTime();
            double steady = warmTime == 0 || end == warmTime ? Double.NaN : (tokens - warmTokens) / ((end - warmTime) / 1e9);
            return new Result(null, total - start, sentences, tokens, (end - t0) / 1e9, lastLoss, curve, steady);
        }

        private static long lossBytes(float[] ps, float[] pt, float[] dps, float[][] dBuf) {
            long n = (long) ps.length + pt.length + dps.length;
            for (float[] d : dBuf) {
                n += d.length;
            }
            return 4 * n;
        }

        /** The gradient buffer of output {@code j}, zeroed once per step when a loss first looks at it. */
        private static float[] grad(float[][] d, float[][] buf, int j, int size) {
            if (d[j] == null) {
                if (buf[j].length < size) {
                    buf[j] = new float[size];
                } else {
                    java.util.Arrays.fill(buf[j], 0, size, 0f);
                }
                d[j] = buf[j];
            }
            return d[j];
        }
    }

    /** A seeded Fisher-Yates permutation of {@code [0, n)}. */
    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
