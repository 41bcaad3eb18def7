package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument handling of quantize / eval / demo (no model runs: every case fails before loading). */
class QuantCliTest {
    @TempDir
    Path dir;

    private int run(StringBuilder errOut, String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        errOut.append(err.toString(StandardCharsets.UTF_8));
        return code;
    }

    @Test
    void usageErrorsExitTwo() {
        StringBuilder e = new StringBuilder();
        assertEquals(2, run(e, "quantize", "--model", "x", "--mode", "int4", "--out", "y"));
        assertTrue(e.toString().contains("unknown mode"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "quantize", "--model", "x", "--mode", "int8-static", "--out", "y"));
        assertTrue(e.toString().contains("--calib"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "quantize", "--model", "x", "--mode", "int8", "--out", "y", "--estimator", "magic"));
        e.setLength(0);
        assertEquals(2, run(e, "quantize", "--model", "x", "--mode", "auto", "--out", "y", "--target-cosine", "2"));
        e.setLength(0);
        assertEquals(2, run(e, "eval", "--model", "x"));
        e.setLength(0);
        assertEquals(2, run(e, "demo", "--sentences", "2"));
    }

    @Test
    void missingFilesExitOneNamingTheFile() throws Exception {
        StringBuilder e = new StringBuilder();
        Path missing = dir.resolve("nope.onnx");
        assertEquals(1, run(e, "quantize", "--model", missing.toString(), "--mode", "fp16", "--out", dir.resolve("o").toString()));
        assertTrue(e.toString().contains("nope.onnx"), e.toString());
        e.setLength(0);
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        assertEquals(1, run(e, "demo", "--corpus", empty.toString()));
        assertTrue(e.toString().contains("empty.txt"), e.toString());
    }
}
