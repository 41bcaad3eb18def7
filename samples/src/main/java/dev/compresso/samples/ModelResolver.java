package dev.compresso.samples;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import dev.compresso.engine.Model;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.json.JsonException;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Turns the MODEL argument of the command line into a file, and finds the tokenizer that goes with it.
 *
 * <p>MODEL is an existing file (ONNX or Compresso model file; {@code Model.load} tells them apart by
 * content) or one of the names {@code all-minilm-l6-v2} / {@code all-minilm-l6-v2-q}, whose ONNX file and
 * {@code tokenizer.json} ship as classpath resources of the langchain4j model jars. A named model is copied
 * once into the cache directory ({@code $XDG_CACHE_HOME/compresso} or {@code ~/.cache/compresso}; the system
 * property {@code compresso.cache} overrides both), through a temporary file and an atomic rename so a
 * concurrent or interrupted run never leaves a half-written model behind; later runs reuse the copy when its
 * size matches the resource.
 */
final class ModelResolver {

    /** Built-in model names → classpath resource base names (resource = base + ".onnx", base + "-tokenizer.json"). */
    static final Map<String, String> NAMES = Map.of(
            "all-minilm-l6-v2", "all-minilm-l6-v2",
            "all-minilm-l6-v2-q", "all-minilm-l6-v2-q");

    private ModelResolver() {}

    /**
     * The model file for a MODEL argument.
     *
     * @param spec a path or a built-in model name
     * @return an existing regular file
     * @throws NoSuchFileException if {@code spec} is neither an existing file nor a known name
     * @throws IOException         if extracting a built-in model fails
     */
    static Path resolveModel(String spec) throws IOException {
        Path p = Path.of(spec);
        if (Files.isRegularFile(p)) {
            return p;
        }
        if (Files.exists(p)) {
            throw new IOException(spec + ": not a regular file");
        }
        String base = NAMES.get(spec);
        if (base == null) {
            throw new NoSuchFileException(spec, null, "no such model file (nor a built-in model name: "
                    + String.join(", ", NAMES.keySet().stream().sorted().toList()) + ")");
        }
        Path model = extract(base + ".onnx");
        extract(base + "-tokenizer.json");
        return model;
    }

    /**
     * The tokenizer file for a model when none was given: beside the model, {@code <stem>-tokenizer.json}
     * first (several models may share a directory, as in the cache), then {@code tokenizer.json}.
     *
     * @param model the model file
     * @return the tokenizer file, or null if there is none
     */
    static Path tokenizerBeside(Path model) {
        Path dir = model.toAbsolutePath().getParent();
        String name = model.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        for (Path candidate : List.of(dir.resolve(stem + "-tokenizer.json"), dir.resolve("tokenizer.json"))) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** The cache directory (not created). */
    static Path cacheDir() {
        String prop = System.getProperty("compresso.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "compresso");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "compresso");
    }

    /** Copies a classpath resource into the cache unless a copy of the same size is already there. */
    static Path extract(String resource) throws IOException {
        URL url = ModelResolver.class.getClassLoader().getResource(resource);
        if (url == null) {
            throw new NoSuchFileException(resource, null,
                    "classpath resource missing (the langchain4j model jar is not on the class path)");
        }
        Path dir = cacheDir();
        Files.createDirectories(dir);
        Path target = dir.resolve(resource);
        URLConnection conn = url.openConnection();
        conn.setUseCaches(false); // a cached JarFile would stay open and keep the jar locked
        long size = conn.getContentLengthLong();
        if (size >= 0 && Files.isRegularFile(target) && Files.size(target) == size) {
            conn.getInputStream().close();
            return target;
        }
        Path tmp = Files.createTempFile(dir, resource + ".", ".part");
        try {
            try (InputStream in = conn.getInputStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            if (size >= 0 && Files.size(tmp) != size) {
                throw new IOException(target + ": extracted " + Files.size(tmp) + " bytes of " + size);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    /** How every Compresso model file's JSON header begins (docs/model-file.md). */
    private static final String COMPRESSO_HEADER_START = "{\"__metadata__\":{\"format\":\"compresso-model\"";

    /** Largest header the model file format allows. */
    private static final long MAX_HEADER = 64L << 20;

    /**
     * Whether a file is a Compresso model file, by content: the safetensors header length, then a header
     * that begins with the Compresso metadata.
     *
     * @throws IOException if the file cannot be read
     */
    static boolean isCompresso(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < 8 + COMPRESSO_HEADER_START.length()) {
                return false;
            }
            ByteBuffer buf = ByteBuffer.allocate(8 + COMPRESSO_HEADER_START.length());
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // read fully
            }
            buf.flip();
            long n = buf.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n < COMPRESSO_HEADER_START.length() || n > MAX_HEADER || n > ch.size() - 8) {
                return false;
            }
            byte[] start = new byte[COMPRESSO_HEADER_START.length()];
            buf.get(start);
            return new String(start, StandardCharsets.UTF_8).equals(COMPRESSO_HEADER_START);
        }
    }

    /**
     * The tokenizer JSON a Compresso model file carries in {@code __metadata__.tokenizer}.
     *
     * @return the JSON text, or null if the file is not a Compresso file or carries no tokenizer
     * @throws IOException if the file cannot be read or its header is malformed
     */
    static String embeddedTokenizer(Path file) throws IOException {
        if (!isCompresso(file)) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len) >= 0) {
                // read fully
            }
            int n = (int) len.flip().getLong(); // bounded by isCompresso
            ByteBuffer header = ByteBuffer.allocate(n);
            while (header.hasRemaining() && ch.read(header) >= 0) {
                // read fully
            }
            Object root = Json.parse(new String(header.array(), 0, header.position(), StandardCharsets.UTF_8));
            if (root instanceof Map<?, ?> m && m.get("__metadata__") instanceof Map<?, ?> meta) {
                Object t = meta.get("tokenizer");
                if (t != null && !(t instanceof String)) {
                    throw new IOException(file + ": __metadata__.tokenizer is not a string");
                }
                return (String) t;
            }
            throw new IOException(file + ": model file header has no __metadata__ object");
        } catch (JsonException e) {
            throw new IOException(file + ": model file header: " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer for a model: the {@code --tokenizer} file if given, else the one a Compresso model file
     * carries, else a tokenizer file beside the model ({@link #tokenizerBeside}).
     *
     * @param model  the model file
     * @param option the {@code --tokenizer} value, or null
     * @return the tokenizer
     * @throws IOException if there is none, or it cannot be read (the message names the file)
     */
    static WordPieceTokenizer tokenizerFor(Path model, String option) throws IOException {
        if (option != null) {
            Path t = Path.of(option);
            if (!Files.isRegularFile(t)) {
                throw new NoSuchFileException(option, null, "no such tokenizer file");
            }
            return WordPieceTokenizer.fromJson(t);
        }
        String embedded = embeddedTokenizer(model);
        if (embedded != null) {
            return WordPieceTokenizer.fromJson(embedded, model + " (embedded tokenizer)");
        }
        Path beside = tokenizerBeside(model);
        if (beside == null) {
            String name = model.getFileName().toString();
            int dot = name.lastIndexOf('.');
            String stem = dot > 0 ? name.substring(0, dot) : name;
            throw new NoSuchFileException(model.toString(), null, "no tokenizer: the model carries none and there is no "
                    + stem + "-tokenizer.json or tokenizer.json beside it; pass --tokenizer FILE");
        }
        return WordPieceTokenizer.fromJson(beside);
    }

    /**
     * As {@link #tokenizerFor(Path, String)} for a loaded model: prefers the tokenizer the model itself
     * carries ({@link Model#tokenizerJson()}) over a file beside it.
     *
     * @param model  the loaded model
     * @param file   the file it was loaded from
     * @param option the {@code --tokenizer} value, or null
     * @return the tokenizer
     * @throws IOException if there is none, or it cannot be read (the message names the file)
     */
    static WordPieceTokenizer tokenizerFor(Model model, Path file, String option) throws IOException {
        if (option == null && model.tokenizerJson() != null) {
            return WordPieceTokenizer.fromJson(model.tokenizerJson(), file + " (embedded tokenizer)");
        }
        return tokenizerFor(file, option);
    }
}
