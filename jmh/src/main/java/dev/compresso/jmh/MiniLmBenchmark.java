package dev.compresso.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.compresso.engine.Model;
import dev.compresso.engine.Session;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.quant.Quantizer;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * all-MiniLM-L6-v2 end to end, Compresso side by side with ONNX Runtime (fp32, 2 threads each): inference at
 * batch 1, 8 and 32 of 128 tokens ({@code infer}), and model load / session creation ({@code load}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class MiniLmBenchmark {
    static final int THREADS = 2;

    static Path model(String resource) throws Exception {
        Path p = Path.of(System.getProperty("java.io.tmpdir"), "compresso-bench-" + resource);
        if (!Files.exists(p)) {
            try (InputStream in = MiniLmBenchmark.class.getClassLoader().getResourceAsStream(resource)) {
                Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return p;
    }

    /** Token ids [CLS] w… [SEP] with a fixed pseudo-random body, all 128 positions real tokens. */
    static long[][] inputs(int batch, int seq) {
        long[] ids = new long[batch * seq], mask = new long[batch * seq], types = new long[batch * seq];
        java.util.Random r = new java.util.Random(7);
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < seq; s++) {
                ids[b * seq + s] = s == 0 ? 101 : s == seq - 1 ? 102 : 1000 + r.nextInt(28000);
                mask[b * seq + s] = 1;
            }
        }
        return new long[][] {ids, mask, types};
    }

    @State(Scope.Benchmark)
    public static class Infer {
        @Param({"1", "8", "32"})
        public int batch;
        @Param({"128"})
        public int seq;
        /** Intra-op threads of both engines (the comparison is at 2). */
        @Param({"2"})
        public int threads;
        /**
         * {@code compresso}: our engine on the fp32 ONNX file; {@code compresso-q}: our engine on ONNX Runtime's
         * int8 ONNX file; {@code compresso-int8} / {@code compresso-fp16}: our engine on a Compresso file made in
         * set-up by the int8 (kernel's mode, per-channel) or fp16 pass; {@code ort} / {@code ort-q}: ONNX Runtime
         * on the fp32 / int8 ONNX file.
         */
        @Param({"compresso", "ort", "compresso-int8", "compresso-q", "ort-q", "compresso-fp16"})
        public String engine;

        Model model;
        Session session;
        Map<String, Tensor> in;
        OrtEnvironment env;
        OrtSession ort;
        Map<String, OnnxTensor> ortIn;

        @Setup(Level.Trial)
        public void setup() throws Exception {
            Path p = model(engine.endsWith("-q") ? "all-minilm-l6-v2-q.onnx" : "all-minilm-l6-v2.onnx");
            long[][] x = inputs(batch, seq);
            long[] shape = {batch, seq};
            if (engine.startsWith("compresso")) {
                int at = engine.indexOf('@');
                model = at >= 0 ? Model.load(Path.of(engine.substring(at + 1))) : switch (engine) {
                    case "compresso-int8" -> compressed(p, Quantizer.Mode.INT8);
                    case "compresso-fp16" -> compressed(p, Quantizer.Mode.FP16);
                    default -> Model.load(p);
                };
                session = model.newSession(new SessionOptions().threads(threads));
                in = new HashMap<>();
                in.put("input_ids", Tensor.ofLongs(shape, x[0]));
                in.put("attention_mask", Tensor.ofLongs(shape, x[1]));
                in.put("token_type_ids", Tensor.ofLongs(shape, x[2]));
            } else {
                env = OrtEnvironment.getEnvironment();
                try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                    o.setIntraOpNumThreads(threads);
                    ort = env.createSession(p.toString(), o);
                }
                ortIn = new HashMap<>();
                ortIn.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(x[0]), shape));
                ortIn.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(x[1]), shape));
                ortIn.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(x[2]), shape));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            if (session != null) {
                session.close();
                model.close();
            }
            if (ort != null) {
                for (OnnxTensor t : ortIn.values()) {
                    t.close();
                }
                ort.close();
            }
        }
    }

    static Path compressedPath(Quantizer.Mode mode) {
        return Path.of(System.getProperty("java.io.tmpdir"), "compresso-bench-minilm-" + mode.name().toLowerCase() + ".compresso");
    }

    /** Runs the quantization pass on the fp32 model, writes a Compresso file and maps it. */
    static Model compressed(Path onnx, Quantizer.Mode mode) throws Exception {
        Path file = compressedPath(mode);
        try (Model fp32 = Model.load(onnx)) {
            Quantizer.Result r = Quantizer.run(fp32.graph(), Quantizer.Options.of(mode), null, java.util.List.of(), line -> {});
            ModelFiles.write(r.graph(), null, Map.of(), file);
        }
        return Model.load(file);
    }

    @Benchmark
    public float infer(Infer s) throws Exception {
        if (s.session != null) {
            Map<String, Tensor> out = s.session.run(s.in);
            return out.values().iterator().next().data().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
        }
        try (OrtSession.Result r = s.ort.run(s.ortIn)) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer().get(0);
        }
    }

    @State(Scope.Benchmark)
    public static class Load {
        /**
         * {@code compresso} / {@code ort}: the fp32 ONNX file; {@code compresso-int8}: a Compresso int8 file made
         * once in set-up (memory-mapped on load, no conversion).
         */
        @Param({"compresso", "ort", "compresso-int8"})
        public String engine;
        Path path;
        OrtEnvironment env;

        @Setup(Level.Trial)
        public void setup() throws Exception {
            path = model("all-minilm-l6-v2.onnx");
            if (engine.equals("compresso-int8")) {
                compressed(path, Quantizer.Mode.INT8).close();
                path = compressedPath(Quantizer.Mode.INT8);
            }
            env = OrtEnvironment.getEnvironment();
        }
    }

    /** Model load until ready to run: {@code Model.load} + {@code newSession} vs ORT {@code createSession}. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    public Object load(Load s) throws Exception {
        if (s.engine.startsWith("compresso")) {
            Model m = Model.load(s.path);
            Session session = m.newSession(new SessionOptions().threads(THREADS));
            session.close();
            m.close();
            return session;
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(THREADS);
            OrtSession session = s.env.createSession(s.path.toString(), o);
            session.close();
            return session;
        }
    }
}
