package dev.compresso.prune;

import dev.compresso.distill.BertGraph;
import dev.compresso.distill.DistillOptions;
import dev.compresso.distill.Distiller;
import dev.compresso.distill.train.Encoder;
import dev.compresso.distill.train.EncoderWeights;
import dev.compresso.distill.train.Param;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Graph;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Gradual pruning (Zhu &amp; Gupta): the sparsity rises on a cubic schedule
 * {@code s_t = s_f · (1 − (1 − t / T)³)} over the first {@code rampFraction} of the steps, in {@code events}
 * increments, while the model is fine-tuned against the unpruned original through the {@code distill} trainer
 * (cosine on pooled embeddings plus hidden-state MSE, every layer kept). Each increment runs the one-shot
 * {@link Pruner} pass (the same global threshold, floor, blocks or 2:4 groups) on the current weights; between
 * increments the pruned weights are held at zero after every optimiser step. The end result goes through the
 * one-shot pass once more at the final sparsity, which picks each layer's storage format by the probe.
 */
public final class GradualPruner {
    private GradualPruner() {}

    /**
     * @param rampFraction share of the steps over which the sparsity rises (the rest fine-tunes at the target)
     * @param events       number of pruning increments on the ramp
     */
    public record Schedule(double rampFraction, int events) {
        public Schedule {
            if (!(rampFraction > 0 && rampFraction <= 1) || events < 1) {
                throw new IllegalArgumentException("ramp fraction must be in (0, 1] and events >= 1");
            }
        }

        /** Sparsity at step {@code step} of {@code total} for final sparsity {@code target}. */
        public double at(long step, long total, double target) {
            long ramp = Math.max(1, Math.round(rampFraction * total));
            long every = Math.max(1, ramp / events);
            long t = step >= ramp ? ramp : Math.min(ramp, (step / every) * every);
            double f = 1 - (double) t / ramp;
            return target * (1 - f * f * f);
        }
    }

    /**
     * Prunes {@code teacher} gradually to {@code options.sparsity()}, fine-tuning on {@code corpus}.
     *
     * @param train the trainer's recipe; its {@code layers} are replaced by all of the teacher's layers
     * @throws ModelException when the graph is not a BERT-family encoder
     * @throws IOException    when a checkpoint fails
     */
    public static Pruner.Result run(Graph teacher, List<int[]> corpus, Pruner.Options options, DistillOptions train,
            Schedule schedule, Consumer<String> progress) throws ModelException, IOException {
        return run(teacher, corpus, options, null, train, schedule, progress);
    }

    /**
     * As {@link #run(Graph, List, Pruner.Options, DistillOptions, Schedule, Consumer)}; also takes structured FFN
     * pruning ({@code ffn}), which removes the neurons at once (ranked by {@code activations} when given, see
     * {@link Pruner#run(Graph, Pruner.Options, java.util.Map, Consumer)}) and then fine-tunes the narrower model
     * against the unpruned one for all the steps: a removed neuron has no weights left to hold at zero.
     *
     * @throws ModelException when the graph is not a BERT-family encoder
     * @throws IOException    when a checkpoint fails
     */
    public static Pruner.Result run(Graph teacher, List<int[]> corpus, Pruner.Options options,
            java.util.Map<String, double[]> activations, DistillOptions train, Schedule schedule,
            Consumer<String> progress) throws ModelException, IOException {
        switch (options.method()) {
            case GLOBAL, MAGNITUDE, BLOCK, BLOCK_GLOBAL, BLOCK16, BLOCK16_GLOBAL, NM_2_4, FFN -> { }
            default -> throw new IllegalArgumentException("pruning with fine-tuning takes global, magnitude, block, block-global, "
                    + "block16, block16-global, "
                    + "2:4 or ffn, not " + options.method().cliName());
        }
        BertGraph bg = BertGraph.of(teacher);
        int layers = bg.config().layers();
        int[] all = new int[layers];
        for (int i = 0; i < layers; i++) {
            all[i] = i;
        }
        DistillOptions o = train.withLayers(all);
        if (options.method() == Pruner.Method.FFN) {
            Pruner.Result cut = Pruner.run(teacher, options.withLayout(Layout.DENSE).withValues(Layout.Values.FP32),
                    activations, progress);
            progress.accept("structured pruning: neurons removed, fine-tuning the narrower model");
            Distiller.Result r = Distiller.distill(teacher, cut.graph(), corpus, o, progress, (s, l) -> {}, (s, t, e) -> {});
            // Only the storage of the fine-tuned weights is left to choose: fp32 panels are what training wrote;
            // fp16 or int8 panels take one more pass that removes nothing.
            Graph out = options.values() == Layout.Values.FP32 ? r.student()
                    : Pruner.run(r.student(), options.withSparsity(0), progress).graph();
            List<String> report = new ArrayList<>(cut.report());
            report.add("fine-tuned " + r.steps() + " steps on " + r.sentences() + " sentences");
            return new Pruner.Result(out, cut.layers(), report);
        }
        Hook hook = new Hook(bg, all, options, activations, schedule, progress);
        Distiller.Result r = Distiller.distill(teacher, null, corpus, o, progress, (s, l) -> {}, hook);
        progress.accept("gradual pruning: final pass at " + options.sparsity());
        return Pruner.run(r.student(), options, activations, progress);
    }

    /** Raises the sparsity on the schedule and keeps pruned weights at zero. */
    private static final class Hook implements Distiller.StudentHook {
        private final BertGraph bg;
        private final int[] keep;
        private final Pruner.Options options;
        /** The unpruned model's input mean squares (activation-aware scores), or null: weight magnitudes. */
        private final java.util.Map<String, double[]> activations;
        private final Schedule schedule;
        private final Consumer<String> progress;
        private double current = -1;
        private final List<boolean[]> masks = new ArrayList<>();

        Hook(BertGraph bg, int[] keep, Pruner.Options options, java.util.Map<String, double[]> activations, Schedule schedule,
                Consumer<String> progress) {
            this.bg = bg;
            this.keep = keep;
            this.options = options;
            this.activations = activations;
            this.schedule = schedule;
            this.progress = progress;
        }

        private static List<Param> prunable(Encoder e) {
            List<Param> ps = new ArrayList<>();
            for (int l = 0; l < e.config().layers(); l++) {
                Encoder.Layer ly = e.layer(l);
                ps.add(ly.qkv().weight());
                ps.add(ly.attentionOut().weight());
                ps.add(ly.ffnIn().weight());
                ps.add(ly.ffnOut().weight());
            }
            return ps;
        }

        @Override
        public void afterStep(long step, long total, Encoder student) {
            double s = total == 0 ? 0 : schedule.at(step, total, options.sparsity());
            List<Param> ps = prunable(student);
            if (total > 0 && s > current + 1e-12) {
                // One-shot pass on the current weights, dense layout: the masks of this increment.
                Graph g = bg.student(keep, student.weights());
                Pruner.Result pr = Pruner.run(g, new Pruner.Options(options.method(), s, options.floor(), Layout.DENSE,
                        Layout.Values.FP32, options.probeRows(), options.probeThreads()), activations, null);
                EncoderWeights w;
                try {
                    w = BertGraph.of(pr.graph()).weights();
                } catch (ModelException e) {
                    throw new IllegalStateException("pruned graph lost its encoder form: " + e.getMessage(), e);
                }
                masks.clear();
                for (int l = 0; l < keep.length; l++) {
                    EncoderWeights.LayerWeights lw = w.layers().get(l);
                    for (float[] v : List.of(lw.qkvW(), lw.outW(), lw.ffnInW(), lw.ffnOutW())) {
                        boolean[] m = new boolean[v.length];
                        for (int i = 0; i < v.length; i++) {
                            m[i] = v[i] == 0f;
                        }
                        masks.add(m);
                    }
                }
                current = s;
                progress.accept(String.format(java.util.Locale.ROOT, "gradual pruning: step %d/%d, sparsity %.3f", step,
                        total, s));
            }
            if (masks.isEmpty()) {
                return;
            }
            for (int i = 0; i < ps.size(); i++) {
                ps.get(i).zeroWhere(masks.get(i));
            }
        }
    }
}
