package dev.compresso.engine.text;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Session;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.ValueInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Sentence embeddings in one call: sentences → WordPiece ids (batched, padded to each batch's longest) →
 * the model → mean of the token embeddings over the attention mask → L2-normalised vectors, as
 * sentence-transformers computes them for all-MiniLM-L6-v2.
 *
 * <p>Sentences are sorted by token count before batching, so a batch pads little; results come back in the
 * caller's order. The model's inputs are fed by name — {@code input_ids}, {@code attention_mask},
 * {@code token_type_ids}, whichever it declares — as INT64 (or INT32 if the model declares that). The output
 * used is {@code last_hidden_state} or {@code token_embeddings} if present, else the first; a rank-2 output
 * (a model that pools by itself) is only normalised.
 *
 * <p>An embedder holds one {@link Session}, which may be run from several threads at once, so an embedder may
 * be shared between threads too. Close it when done.
 *
 * <pre>{@code
 * try (Model model = Model.load(onnx);
 *      SentenceEmbedder e = new SentenceEmbedder(model, WordPieceTokenizer.fromJson(tokenizerJson))) {
 *     float[][] vectors = e.embed(List.of("A cat.", "A kitten."));
 * }
 * }</pre>
 */
public final class SentenceEmbedder implements AutoCloseable {

    /** Sentences per model run unless told otherwise. */
    public static final int DEFAULT_BATCH_SIZE = 32;

    private static final List<String> KNOWN_INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");

    private final Model model;
    private final WordPieceTokenizer tokenizer;
    private final Session session;
    private final Map<String, DType> inputs = new LinkedHashMap<>();
    private final String output;
    private final int batchSize;
    private final int maxLength;

    /**
     * An embedder with default session options and batch size.
     *
     * @param model     a BERT-style encoder
     * @param tokenizer its tokenizer
     * @throws ModelException       if the model's inputs are not token ids / mask / type ids
     * @throws NullPointerException if an argument is null
     */
    public SentenceEmbedder(Model model, WordPieceTokenizer tokenizer) throws ModelException {
        this(model, tokenizer, new SessionOptions(), DEFAULT_BATCH_SIZE);
    }

    /**
     * An embedder.
     *
     * @param model     a BERT-style encoder
     * @param tokenizer its tokenizer
     * @param options   session options (threads)
     * @param batchSize sentences per model run, at least 1
     * @throws ModelException           if the model's inputs are not token ids / mask / type ids, or it has no
     *                                  output
     * @throws IllegalArgumentException if {@code batchSize < 1}
     * @throws NullPointerException     if an argument is null
     */
    public SentenceEmbedder(Model model, WordPieceTokenizer tokenizer, SessionOptions options, int batchSize)
            throws ModelException {
        this.model = Objects.requireNonNull(model, "model");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(options, "options");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, not " + batchSize);
        }
        this.batchSize = batchSize;
        this.maxLength = tokenizer.maxLength();
        Map<String, DType> declared = new HashMap<>();
        for (ValueInfo v : model.graph().inputs()) {
            declared.put(v.name(), v.dtype());
        }
        for (String name : model.inputNames()) {
            if (!KNOWN_INPUTS.contains(name)) {
                throw new ModelException(where() + "input '" + name + "' is not one of " + KNOWN_INPUTS
                        + "; not a BERT-style encoder");
            }
            DType t = declared.getOrDefault(name, DType.INT64);
            if (t != DType.INT64 && t != DType.INT32) {
                throw new ModelException(where() + "input '" + name + "' is " + t + ", expected INT64 or INT32");
            }
            inputs.put(name, t);
        }
        if (!inputs.containsKey("input_ids")) {
            throw new ModelException(where() + "has no input 'input_ids'");
        }
        List<String> outs = model.outputNames();
        if (outs.isEmpty()) {
            throw new ModelException(where() + "has no outputs");
        }
        output = outs.contains("last_hidden_state") ? "last_hidden_state"
                : outs.contains("token_embeddings") ? "token_embeddings" : outs.get(0);
        this.session = model.newSession(options);
    }

    private String where() {
        return (model.source() == null ? "model" : model.source().toString()) + ": ";
    }

    /**
     * Embeds sentences.
     *
     * @param sentences the sentences (any number; empty strings allowed)
     * @return one unit-length vector per sentence, in the given order
     * @throws ModelException        if the model fails or its output does not have the expected shape
     * @throws IllegalStateException if the embedder is closed
     * @throws NullPointerException  if {@code sentences} or an element is null
     */
    public float[][] embed(List<String> sentences) throws ModelException {
        Objects.requireNonNull(sentences, "sentences");
        return Pooling.embed(sentences, tokenizer, batchSize, maxLength, this::run);
    }

    /**
     * Embeds one sentence.
     *
     * @param sentence the sentence
     * @return its unit-length vector
     * @throws ModelException        if the model fails
     * @throws IllegalStateException if the embedder is closed
     * @throws NullPointerException  if {@code sentence} is null
     */
    public float[] embed(String sentence) throws ModelException {
        return embed(List.of(sentence))[0];
    }

    /** The tokenizer in use. */
    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    private Pooling.Output run(BatchEncoding b) throws ModelException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        List<Tensor> toClose = new ArrayList<>();
        try {
            for (Map.Entry<String, DType> e : inputs.entrySet()) {
                long[] data = switch (e.getKey()) {
                    case "input_ids" -> b.inputIds();
                    case "attention_mask" -> b.attentionMask();
                    default -> b.typeIds();
                };
                Tensor t = e.getValue() == DType.INT32 ? Tensor.ofInts(b.shape(), toInts(data))
                        : Tensor.ofLongs(b.shape(), data);
                toClose.add(t);
                in.put(e.getKey(), t);
            }
            Map<String, Tensor> out = session.run(in);
            try {
                Tensor t = out.get(output);
                if (t == null) {
                    throw new ModelException(where() + "output '" + output + "' missing from the run's results");
                }
                if (t.dtype() != DType.FLOAT) {
                    throw new ModelException(where() + "output '" + output + "' is " + t.dtype() + ", expected FLOAT");
                }
                // Shape checked here so a mismatch names the model and output, not a bare index error.
                return checked(new Pooling.Output(t.toFloatArray(), t.shape()), b);
            } finally {
                for (Tensor t : out.values()) {
                    t.close();
                }
            }
        } finally {
            for (Tensor t : toClose) {
                t.close();
            }
        }
    }

    private Pooling.Output checked(Pooling.Output o, BatchEncoding b) throws ModelException {
        long[] s = o.shape();
        boolean ok = (s.length == 3 && s[0] == b.batchSize() && s[1] == b.length())
                || (s.length == 2 && s[0] == b.batchSize());
        if (!ok) {
            throw new ModelException(where() + "output '" + output + "' has shape " + java.util.Arrays.toString(s)
                    + ", expected [" + b.batchSize() + ", " + b.length() + ", hidden]");
        }
        return o;
    }

    private static int[] toInts(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (int) a[i];
        }
        return r;
    }

    /** Closes the session (the model stays open; it belongs to the caller). */
    @Override
    public void close() {
        session.close();
    }
}
