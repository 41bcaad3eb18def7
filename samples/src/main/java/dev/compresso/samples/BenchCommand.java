package dev.compresso.samples;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Session;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.json.Json;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * {@code bench}: latency of one model run on synthetic token ids ({@code [CLS]}, random word ids,
 * {@code [SEP]}; mask all ones; type ids zero) after warm-up runs, as median and 90th percentile.
 */
final class BenchCommand implements Command {

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String usage() {
        return "bench --model MODEL [--batch B] [--seq S] [--threads T] [--runs R] [--warmup W] [--json] [--profile]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String modelSpec = args.require("model");
        int batch = args.getInt("batch", 1);
        int seq = args.getInt("seq", 128);
        int threads = args.getInt("threads", Runtime.getRuntime().availableProcessors());
        int runs = args.getInt("runs", 20);
        int warmup = args.getInt("warmup", Math.max(1, Math.min(5, runs / 4)));
        boolean json = args.flag("json");
        boolean profile = args.flag("profile");
        args.finish();
        if (batch < 1 || seq < 2 || threads < 1 || runs < 1 || warmup < 0) {
            throw new UsageException("need --batch >= 1, --seq >= 2, --threads >= 1, --runs >= 1, --warmup >= 0");
        }
        if ((long) batch * seq > 1L << 24) {
            throw new UsageException("--batch x --seq is too large: " + (long) batch * seq + " tokens");
        }
        Path modelPath = ModelResolver.resolveModel(modelSpec);
        double[] ms = new double[runs];
        Map<String, Long> before = Map.of(), after = Map.of();
        try (Model model = Model.load(modelPath);
             Session session = model.newSession(new SessionOptions().threads(threads).profile(profile))) {
            Map<String, Tensor> inputs = syntheticInputs(model, batch, seq);
            try {
                for (int i = 0; i < warmup; i++) {
                    closeAll(session.run(inputs));
                }
                before = session.profile();
                for (int i = 0; i < runs; i++) {
                    long t0 = System.nanoTime();
                    Map<String, Tensor> r = session.run(inputs);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                    closeAll(r);
                }
                after = session.profile();
            } finally {
                closeAll(inputs);
            }
        }
        if (profile) {
            // Diagnostics: wall time per operator type over the timed runs (the warm-up runs subtracted).
            Map<String, Long> timed = new HashMap<>();
            for (Map.Entry<String, Long> e : after.entrySet()) {
                timed.put(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L));
            }
            long total = timed.values().stream().mapToLong(Long::longValue).sum();
            timed.entrySet().stream()
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> System.err.printf("profile %-22s %8.3f ms/run %5.1f%%%n", e.getKey(),
                            e.getValue() / 1e6 / runs, 100.0 * e.getValue() / Math.max(1, total)));
        }
        double median = median(ms);
        double p90 = percentile(ms, 0.9);
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", modelSpec);
            o.put("batch", batch);
            o.put("seq", seq);
            o.put("threads", threads);
            o.put("median_ms", round(median));
            o.put("p90_ms", round(p90));
            o.put("runs", runs);
            out.println(Json.write(o));
        } else {
            out.printf("%s: batch %d x %d tokens, %d thread%s: median %.3f ms, p90 %.3f ms, min %.3f ms (%d runs after %d warm-up)%n",
                    modelSpec, batch, seq, threads, threads == 1 ? "" : "s", median, p90, percentile(ms, 0.0), runs, warmup);
        }
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** Inputs for a BERT-style model, by the names (and integer types) it declares. */
    static Map<String, Tensor> syntheticInputs(Model model, int batch, int seq) throws ModelException {
        Map<String, DType> declared = new HashMap<>();
        for (ValueInfo v : model.graph().inputs()) {
            declared.put(v.name(), v.dtype());
        }
        long[] shape = {batch, seq};
        long[] ids = new long[batch * seq];
        Random r = new Random(42);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                // [CLS] word ids [SEP]: ids 1996..29611 are ordinary word pieces in BERT's uncased vocabulary.
                ids[b * seq + t] = t == 0 ? 101 : t == seq - 1 ? 102 : 1996 + r.nextInt(27_616);
            }
        }
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String name : model.inputNames()) {
            long[] data = switch (name) {
                case "input_ids" -> ids;
                case "attention_mask" -> ones;
                case "token_type_ids" -> new long[ids.length];
                default -> {
                    closeAll(in);
                    throw new ModelException((model.source() == null ? "model" : model.source().toString())
                            + ": input '" + name + "' is not input_ids, attention_mask or token_type_ids");
                }
            };
            if (declared.get(name) == DType.INT32) {
                int[] d = new int[data.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = (int) data[i];
                }
                in.put(name, Tensor.ofInts(shape, d));
            } else {
                in.put(name, Tensor.ofLongs(shape, data));
            }
        }
        return in;
    }

    private static void closeAll(Map<String, Tensor> tensors) {
        for (Tensor t : tensors.values()) {
            t.close();
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** Nearest-rank percentile. */
    static double percentile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(q * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }
}
