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
}
