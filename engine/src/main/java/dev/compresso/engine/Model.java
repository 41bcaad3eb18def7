package dev.compresso.engine;

import dev.compresso.engine.format.FileBytes;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.onnx.OnnxImporter;
import dev.compresso.engine.runtime.Plan;
import dev.compresso.engine.format.TensorFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * A loaded model: the fused, weight-packed {@link Graph} and where it came from.
 *
 * <p>Threads: a model is thread-safe (its graph is immutable); sessions may be created from several threads,
 * and a {@link Session} may be run from several threads at once. Output {@link Tensor}s belong to the caller.
 *
 * <p>Memory: a model loaded from a file owns the file's mapping (or its copy, with
 * {@code -Dcompresso.load=copy}); {@link #close()} unmaps it at once, without waiting for a garbage
 * collection. <b>Closing a model closes its open sessions</b> (waiting for runs in progress), so no session
 * ever reads released memory: their later runs throw {@link IllegalStateException}, as does any access to the
 * model's constants and weights (e.g. through a graph a pass derived from {@link #graph()}: keep the model open
 * while a derived graph or model is in use, or save that one and load it). A model never closed keeps its
 * file mapped until the JVM exits.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("all-minilm-l6-v2.onnx"));
 *      Session s = model.newSession()) {
 *     Map<String, Tensor> out = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types));
 * }
 * }</pre>
 */
public final class Model implements AutoCloseable {
    private final Graph graph;
    private final Path source;
    private final String tokenizer;
    private final Map<String, String> metadata;
    /** Owns the source file's mapping (or copy), or null when the memory is not the model's own. */
    private final Arena arena;
    /** Open sessions, weakly: a session dropped without close() is freed by the collector. */
    private final Set<Session> sessions = Collections.newSetFromMap(new WeakHashMap<>());
    private volatile boolean closed;
    /** Identity, size and time of the mapped source file at load, or null (copied, or no file). */
    private final BasicFileAttributes mapped;

    private Model(Graph graph, Path source, String tokenizer, Map<String, String> metadata, Arena arena) {
        this.graph = graph;
        this.source = source;
        this.tokenizer = tokenizer;
        this.metadata = metadata;
        this.arena = arena;
        this.mapped = source == null || FileBytes.copy() ? null : attributes(source);
    }

    private static BasicFileAttributes attributes(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return a.fileKey() == null ? null : a; // no inode numbers here: nothing to compare against
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The mapped-file contract ({@link FileBytes}): fails when the file this model is mapped from was truncated
     * or rewritten in place since it was loaded, instead of letting a run read a truncated mapping (SIGBUS).
     * A file replaced by rename or deleted is fine: the mapping keeps the old bytes. One stat per call.
     */
    void checkSource() throws ModelException {
        if (mapped == null) {
            return;
        }
        BasicFileAttributes now = attributes(source);
        if (now == null || !mapped.fileKey().equals(now.fileKey())) {
            return;
        }
        if (now.size() < mapped.size()) {
            throw new ModelException(source + ": the model file was truncated (" + mapped.size() + " -> " + now.size()
                    + " bytes) while it was mapped; replace model files by rename, or load with -Dcompresso.load=copy");
        }
        if (now.size() != mapped.size() || !now.lastModifiedTime().equals(mapped.lastModifiedTime())) {
            throw new ModelException(source + ": the model file was rewritten in place while it was mapped; reload it"
                    + " (replace model files by rename, or load with -Dcompresso.load=copy)");
        }
    }

    /**
     * Loads a model file, telling formats apart by content: ONNX (protobuf) is imported, shape sub-graphs are
     * folded and hot patterns fused onto packed kernels.
     *
     * @param path the model file
     * @return the model
     * @throws IOException    when the file cannot be read
     * @throws ModelException when the file is malformed or uses an unsupported operator or attribute (the
     *                        message names the file and the node)
     */
    public static Model load(Path path) throws IOException, ModelException {
        checkReadable(path, "model file");
        Arena arena = Arena.ofShared();
        try {
            if (ModelFiles.isCompresso(path) || TensorFile.looksDamaged(path)) {
                // A Compresso model file: memory-mapped, already fused and packed.
                ModelFiles.Contents c = ModelFiles.read(path, arena);
                Plan.validate(c.graph(), path.toString());
                return new Model(c.graph(), path, c.tokenizer(), c.notes(), arena);
            }
            Graph g = OnnxImporter.load(path, true, arena);
            Plan.validate(g, path.toString());
            return new Model(g, path, null, Map.of(), arena);
        } catch (IOException | ModelException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Fails with a message naming the file when it is missing, a directory, not a regular file or unreadable
     * (mapping a directory would report only "No such device").
     *
     * @param path the file
     * @param what what the file should be, for the message ("model file")
     * @throws IOException naming the file and what is wrong with it
     */
    static void checkReadable(Path path, String what) throws IOException {
        if (Files.isDirectory(path)) {
            throw new FileSystemException(path.toString(), null, "is a directory, not a " + what);
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such " + what);
        }
        if (!Files.isRegularFile(path)) {
            throw new FileSystemException(path.toString(), null, "not a regular file (a device or pipe?), not a " + what);
        }
        if (!Files.isReadable(path)) {
            throw new AccessDeniedException(path.toString(), null, what + " is not readable (permissions)");
        }
    }

    /**
     * Wraps a graph (e.g. built or edited by a pass). The graph is used as is: no fusion.
     *
     * @param graph the graph
     * @return the model
     * @throws ModelException when the graph uses an operator the runtime cannot execute
     */
    public static Model of(Graph graph) throws ModelException {
        Plan.validate(graph, "graph " + graph.name());
        return new Model(graph, null, null, Map.of(), null);
    }

    /**
     * The fused, weight-packed graph. It is immutable: a pass builds a new graph from it
     * ({@link Graph#rewrite()}) and wraps that with {@link #of(Graph)}; sessions of this model never see a
     * change.
     *
     * @return the graph
     * @throws IllegalStateException after {@link #close()}
     */
    public Graph graph() {
        checkOpen();
        return graph;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("model " + where() + " is closed");
        }
    }

    String where() {
        return source == null ? "graph " + graph.name() : source.toString();
    }

    /**
     * A session with default options (all cores, no observer).
     *
     * @return a new session
     * @throws IllegalStateException after {@link #close()}
     */
    public Session newSession() {
        return newSession(new SessionOptions());
    }

    /**
     * A session with options.
     *
     * @param options threads and observer
     * @return a new session
     * @throws NullPointerException  when {@code options} is null
     * @throws IllegalStateException after {@link #close()}
     */
    public Session newSession(SessionOptions options) {
        synchronized (this) {
            checkOpen();
            Session s = new Session(this, graph, options);
            sessions.add(s);
            return s;
        }
    }

    /** Called by a session's close(). */
    synchronized void closed(Session s) {
        sessions.remove(s);
    }

    /** @return graph input names, in order */
    public List<String> inputNames() {
        return graph.inputs().stream().map(ValueInfo::name).toList();
    }

    /** @return graph output names, in order */
    public List<String> outputNames() {
        return graph.outputs().stream().map(ValueInfo::name).toList();
    }

    /**
     * The graph inputs: name, element type and shape (symbolic dimensions by name), as ONNX Runtime's
     * {@code getInputInfo()}.
     *
     * @return one entry per input, in order
     */
    public List<ValueInfo> inputs() {
        return graph.inputs();
    }

    /**
     * The graph outputs: name, element type and shape (symbolic dimensions by name).
     *
     * @return one entry per output, in order
     */
    public List<ValueInfo> outputs() {
        return graph.outputs();
    }

    /**
     * The string metadata of the Compresso model file this model was loaded from, as written (e.g. the
     * quantization report; the graph and tokenizer are read through {@link #graph()} and
     * {@link #tokenizerJson()}).
     *
     * @return key/value pairs, unmodifiable; empty for ONNX files and built graphs
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The tokenizer stored in the Compresso model file this model was loaded from.
     *
     * @return the {@code tokenizer.json} text, or {@code null} (ONNX models, graphs without one)
     */
    public String tokenizerJson() {
        return tokenizer;
    }

    /**
     * Saves the graph as a Compresso model file (with the tokenizer this model was loaded with, if any),
     * atomically: the target holds the old file or the complete new one, never a torn one.
     *
     * @param path the target file
     * @throws IOException           if writing fails
     * @throws IllegalStateException after {@link #close()}
     */
    public void save(Path path) throws IOException {
        save(path, tokenizer);
    }

    /**
     * Saves the graph and a tokenizer as a Compresso model file, atomically.
     *
     * @param path          the target file
     * @param tokenizerJson {@code tokenizer.json} text to embed, or {@code null}
     * @throws IOException           if writing fails
     * @throws IllegalStateException after {@link #close()}
     */
    public void save(Path path, String tokenizerJson) throws IOException {
        ModelFiles.write(graph(), tokenizerJson, java.util.Map.of(), path);
    }

    /** @return the file the model was loaded from, or {@code null} */
    public Path source() {
        return source;
    }

    /**
     * Closes the model: closes its open sessions (each waits for its runs in progress), then unmaps the model
     * file (or frees its copy) at once. Afterwards {@link #newSession}, {@link #graph()} and {@link #save}
     * throw {@link IllegalStateException}, and so does reading a constant or weight that lived in the file.
     * Idempotent.
     */
    @Override
    public void close() {
        List<Session> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = new ArrayList<>(sessions);
            sessions.clear();
        }
        for (Session s : open) {
            s.close();
        }
        if (arena != null) {
            arena.close();
        }
    }
}
