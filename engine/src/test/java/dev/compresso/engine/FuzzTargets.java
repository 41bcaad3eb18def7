package dev.compresso.engine;

import dev.compresso.engine.text.Encoding;
import dev.compresso.engine.text.TokenizerException;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The three file readers as fuzz targets. Each input must end in a successful load or in the reader's
 * documented exception ({@link IOException}, {@link ModelException}, {@link TokenizerException}); anything
 * else (an unchecked exception, an error) is rethrown as a finding.
 */
final class FuzzTargets {
    private FuzzTargets() {}

    /** An input that ended in an undocumented way. */
    static final class Finding extends AssertionError {
        Finding(String target, Throwable cause) {
            super(target + ": " + cause, cause);
        }
    }

    /** ONNX or Compresso model bytes (told apart by content, as {@link Model#load} does). */
    static void model(byte[] data, Path scratch) {
        Path p = write(data, scratch, "fuzz-model");
        try (Model m = Model.load(p)) {
            m.inputNames();
        } catch (IOException | ModelException expected) {
            // documented
        } catch (Throwable t) {
            throw new Finding("Model.load", t);
        } finally {
            delete(p);
        }
    }

    /** {@code tokenizer.json} bytes; a tokenizer that loads must also encode. */
    static void tokenizer(byte[] data, Path scratch) {
        Path p = write(data, scratch, "fuzz-tokenizer.json");
        WordPieceTokenizer t;
        try {
            t = WordPieceTokenizer.fromJson(p);
        } catch (IOException | TokenizerException expected) {
            return;
        } catch (Throwable e) {
            throw new Finding("WordPieceTokenizer.fromJson", e);
        } finally {
            delete(p);
        }
        try {
            Encoding e = t.encode("Hello, world! Ünïcödé 日本語 [CLS] x");
            e.ids();
            t.encodeBatch(java.util.List.of("a", "bb cc", ""));
        } catch (Throwable e) {
            throw new Finding("WordPieceTokenizer.encode after a successful load", e);
        }
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover in the scratch directory
        }
    }

    private static final java.util.concurrent.atomic.AtomicLong COUNTER = new java.util.concurrent.atomic.AtomicLong();

    /** A new file per input: an earlier input's file may still be mapped, and must not change under it. */
    private static Path write(byte[] data, Path scratch, String name) {
        try {
            Path p = scratch.resolve(COUNTER.incrementAndGet() + "-" + name);
            Files.write(p, data);
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the fuzz input", e);
        }
    }
}
