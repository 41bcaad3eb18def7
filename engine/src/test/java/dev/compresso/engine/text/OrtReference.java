package dev.compresso.engine.text;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime as the reference model runner for embedding tests: our tokenizer's ids in, ORT's token
 * embeddings out, pooled by {@link Pooling}.
 */
final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtReference(String resource) throws OrtException {
        byte[] model;
        try (InputStream in = OrtReference.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + resource + " missing");
            }
            model = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(1);
        session = env.createSession(model, opts);
    }

    List<String> inputNames() {
        return List.copyOf(session.getInputNames());
    }

    /** Runs one padded batch; returns the first output. */
    Pooling.Output run(BatchEncoding b) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (String name : session.getInputNames()) {
                long[] data = switch (name) {
                    case "input_ids" -> b.inputIds();
                    case "attention_mask" -> b.attentionMask();
                    case "token_type_ids" -> b.typeIds();
                    default -> throw new IllegalStateException("unexpected model input " + name);
                };
                inputs.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), b.shape()));
            }
            try (OrtSession.Result r = session.run(inputs)) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                FloatBuffer fb = out.getFloatBuffer();
                float[] data = new float[fb.remaining()];
                fb.get(data);
                return new Pooling.Output(data, out.getInfo().getShape());
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    float[][] embed(List<String> sentences, WordPieceTokenizer tok, int batchSize) throws OrtException {
        return Pooling.embed(sentences, tok, batchSize, tok.maxLength(), this::run);
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
