package dev.compresso.engine.text;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The all-MiniLM-L6-v2 {@code tokenizer.json}, a test-scope classpath resource (langchain4j's model jar). */
final class MiniLmTokenizer {
    private MiniLmTokenizer() {}

    static final String RESOURCE = "all-minilm-l6-v2-tokenizer.json";

    static String json() {
        try (InputStream in = MiniLmTokenizer.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + RESOURCE + " missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static WordPieceTokenizer instance;

    static synchronized WordPieceTokenizer get() {
        if (instance == null) {
            instance = WordPieceTokenizer.fromJson(json(), RESOURCE);
        }
        return instance;
    }
}
