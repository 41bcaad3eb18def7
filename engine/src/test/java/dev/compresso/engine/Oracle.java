package dev.compresso.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helpers: model resources and ONNX Runtime as the correctness oracle. */
final class Oracle {
    private static final Map<String, Path> EXTRACTED = new HashMap<>();

    private Oracle() {}

    /** A classpath resource extracted once to a temp file. */
    static synchronized Path resource(String name) throws IOException {
        Path p = EXTRACTED.get(name);
        if (p == null) {
            try (InputStream in = Oracle.class.getClassLoader().getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("resource " + name + " not on the test classpath");
                }
                p = Files.createTempFile("compresso-", "-" + name);
                p.toFile().deleteOnExit();
                Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            }
            EXTRACTED.put(name, p);
        }
        return p;
    }

    /** Runs ORT on int64 / float inputs and returns every float output as [shape, data]. */
    static Map<String, Object[]> ort(Path model, Map<String, Tensor> inputs) throws Exception {
        return ort(model, inputs, Boolean.getBoolean("oracle.noopt"));
    }

    static float meanDiff(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return (float) (s / Math.max(1, a.length));
    }

    /** Runs ORT with all graph optimizations or none ({@code noOpt}). */
    static Map<String, Object[]> ort(Path model, Map<String, Tensor> inputs, boolean noOpt) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(2);
            if (noOpt) {
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            }
            try (OrtSession s = env.createSession(model.toString(), o)) {
                Map<String, OnnxTensor> in = new LinkedHashMap<>();
                try {
                    for (var e : inputs.entrySet()) {
                        Tensor t = e.getValue();
                        in.put(e.getKey(), switch (t.dtype()) {
                            case INT64 -> OnnxTensor.createTensor(env, LongBuffer.wrap(t.toLongArray()), t.shape());
                            case FLOAT -> OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), t.shape());
                            default -> throw new IllegalArgumentException(t.toString());
                        });
                    }
                    Map<String, Object[]> out = new LinkedHashMap<>();
                    try (OrtSession.Result r = s.run(in)) {
                        for (var e : r) {
                            OnnxTensor t = (OnnxTensor) e.getValue();
                            FloatBuffer fb = t.getFloatBuffer();
                            float[] d;
                            if (fb != null) {
                                d = new float[fb.remaining()];
                                fb.get(d);
                            } else {
                                java.nio.ByteBuffer bb = t.getByteBuffer(); // bool / uint8 outputs
                                d = new float[bb.remaining()];
                                for (int i = 0; i < d.length; i++) {
                                    d[i] = bb.get(i) & 0xFF;
                                }
                            }
                            out.put(e.getKey(), new Object[] {t.getInfo().getShape(), d});
                        }
                    }
                    return out;
                } finally {
                    for (OnnxTensor t : in.values()) {
                        t.close();
                    }
                }
            }
        }
    }

    /** BERT-style inputs: batch of given lengths, padded to the longest, deterministic token ids. */
    static Map<String, Tensor> bertInputs(int[] lengths, long seed) {
        int b = lengths.length, s = 0;
        for (int l : lengths) {
            s = Math.max(s, l);
        }
        long[] ids = new long[b * s], mask = new long[b * s], types = new long[b * s];
        java.util.Random rnd = new java.util.Random(seed);
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < lengths[i]; j++) {
                long id = j == 0 ? 101 : j == lengths[i] - 1 ? 102 : 1000 + rnd.nextInt(29000);
                ids[i * s + j] = id;
                mask[i * s + j] = 1;
                types[i * s + j] = (i + j) % 7 == 0 ? 1 : 0;
            }
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("input_ids", Tensor.ofLongs(new long[] {b, s}, ids));
        m.put("attention_mask", Tensor.ofLongs(new long[] {b, s}, mask));
        m.put("token_type_ids", Tensor.ofLongs(new long[] {b, s}, types));
        return m;
    }

    static float maxDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (!(d <= m)) {
                m = Float.isNaN(d) ? Float.POSITIVE_INFINITY : d;
            }
        }
        return m;
    }
}
