package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit codes and messages of embed, inspect and bench; model-name and tokenizer resolution. */
class CliTest {

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void assertOneLineError(Result r, String... mustContain) {
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String s : mustContain) {
            assertTrue(r.err().contains(s), "'" + s + "' not in: " + r.err());
        }
    }

    private static void assertUsage(Result r, String command) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("usage: compresso " + command), r.err());
    }

    @Test
    void commandsAreRegistered() {
        Result r = run("--help");
        assertEquals(0, r.code());
        for (String c : List.of("embed --model MODEL", "inspect MODEL", "bench --model MODEL")) {
            assertTrue(r.out().contains(c), r.out());
        }
        assertEquals(0, run("embed", "--help").code());
    }

    @Test
    void usageErrorsExitTwo() {
        assertUsage(run("embed", "--input", "x"), "embed");
        assertUsage(run("embed", "--model", "m"), "embed");
        assertUsage(run("embed", "--model", "m", "--input", "x", "--batch", "many"), "embed");
        assertUsage(run("embed", "--model", "m", "--input", "x", "--batch", "0"), "embed");
        assertUsage(run("embed", "--model", "m", "--input", "x", "--colour", "red"), "embed");
        assertUsage(run("embed", "--model", "m", "--input", "x", "stray"), "embed");
        assertUsage(run("embed", "--model"), "embed");
        assertUsage(run("inspect"), "inspect");
        assertUsage(run("inspect", "a", "b"), "inspect");
        assertUsage(run("inspect", "a", "--depth", "3"), "inspect");
        assertUsage(run("bench"), "bench");
        assertUsage(run("bench", "--model", "m", "--seq", "1"), "bench");
        assertUsage(run("bench", "--model", "m", "--runs", "0"), "bench");
        assertUsage(run("bench", "--model", "m", "--threads", "x"), "bench");
    }

    @Test
    void missingFilesExitOneNamingThem() throws IOException {
        Path input = dir.resolve("sentences.txt");
        Files.writeString(input, "hello\n");
        String missingModel = dir.resolve("nope.onnx").toString();
        assertOneLineError(run("embed", "--model", missingModel, "--input", input.toString()), "nope.onnx");
        String missingInput = dir.resolve("absent.txt").toString();
        assertOneLineError(run("embed", "--model", missingModel, "--input", missingInput), "absent.txt");
        assertOneLineError(run("inspect", missingModel), "nope.onnx");
        assertOneLineError(run("bench", "--model", missingModel), "nope.onnx");
        assertOneLineError(run("inspect", "all-minilm-l6-v3"), "all-minilm-l6-v3", "all-minilm-l6-v2");
        // A model file without any tokenizer beside it: the message says so and names the model.
        Path model = dir.resolve("model.onnx");
        Files.write(model, new byte[] {8, 7});
        assertOneLineError(run("embed", "--model", model.toString(), "--input", input.toString()), "model.onnx",
                "tokenizer");
        assertOneLineError(run("embed", "--model", model.toString(), "--input", input.toString(), "--tokenizer",
                dir.resolve("tok.json").toString()), "tok.json");
        // A tokenizer that is not JSON: the file and position are named.
        Path badTok = dir.resolve("model-tokenizer.json");
        Files.writeString(badTok, "{\n  oops");
        assertOneLineError(run("embed", "--model", model.toString(), "--input", input.toString()),
                "model-tokenizer.json", "line 2");
        // Invalid UTF-8 input names the input file.
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertOneLineError(run("embed", "--model", model.toString(), "--input", latin1.toString()), "latin1.txt",
                "UTF-8");
    }

    @Test
    void stackTraceOnlyWithVerbose() {
        String missing = dir.resolve("nope.onnx").toString();
        Result quiet = run("inspect", missing);
        assertFalse(quiet.err().contains("\tat "), quiet.err());
        Result verbose = run("inspect", missing, "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat "), verbose.err());
    }

    @Test
    void tokenizerBesideTheModel() throws IOException {
        Path model = dir.resolve("encoder.onnx");
        Files.write(model, new byte[] {8});
        assertNull(ModelResolver.tokenizerBeside(model));
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        assertEquals(dir.resolve("tokenizer.json"), ModelResolver.tokenizerBeside(model));
        // The model-specific name wins, since several models may share a directory (as in the cache).
        Files.writeString(dir.resolve("encoder-tokenizer.json"), "{}");
        assertEquals(dir.resolve("encoder-tokenizer.json"), ModelResolver.tokenizerBeside(model));
    }

    @Test
    void builtInNamesExtractToTheCacheOnce() throws Exception {
        Path cache = dir.resolve("cache");
        String old = System.getProperty("compresso.cache");
        System.setProperty("compresso.cache", cache.toString());
        try {
            Path model = ModelResolver.resolveModel("all-minilm-l6-v2-q");
            assertEquals(cache.resolve("all-minilm-l6-v2-q.onnx"), model);
            assertTrue(Files.size(model) > 20_000_000);
            Path tok = ModelResolver.tokenizerBeside(model);
            assertEquals(cache.resolve("all-minilm-l6-v2-q-tokenizer.json"), tok);
            assertEquals(101, WordPieceTokenizer.fromJson(tok).tokenId("[CLS]"));
            // Reused when the size matches (the file is not rewritten)...
            FileTime stamp = FileTime.fromMillis(1_000_000_000_000L);
            Files.setLastModifiedTime(model, stamp);
            ModelResolver.resolveModel("all-minilm-l6-v2-q");
            assertEquals(stamp, Files.getLastModifiedTime(model));
            // ...and replaced when it does not (a truncated copy from an old crash, say).
            Files.write(model, new byte[] {1, 2, 3});
            ModelResolver.resolveModel("all-minilm-l6-v2-q");
            assertTrue(Files.size(model) > 20_000_000);
            try (Stream<Path> files = Files.list(cache)) {
                assertEquals(2, files.count(), "no temporary files left behind");
            }
            // A path that exists wins over a name.
            assertEquals(dir.resolve("x"), ModelResolver.resolveModel(Files.writeString(dir.resolve("x"), "")
                    .toString()));
        } finally {
            if (old == null) {
                System.clearProperty("compresso.cache");
            } else {
                System.setProperty("compresso.cache", old);
            }
        }
    }

    /** A minimal file with the Compresso model-file header (docs/model-file.md), optionally with a tokenizer. */
    private Path compressoFile(String name, String metadataExtra) throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"compresso-model\",\"format_version\":\"1\"" + metadataExtra
                + "}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    @Test
    void compressoFilesCarryTheirTokenizer() throws Exception {
        String tokJson = "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"hi\":1}}}";
        String escaped = tokJson.replace("\"", "\\\"");
        Path with = compressoFile("with.bin", ",\"tokenizer\":\"" + escaped + "\"");
        Path without = compressoFile("without.bin", "");
        Path onnx = dir.resolve("m.onnx");
        Files.write(onnx, new byte[] {8, 7, 18, 4});
        assertTrue(ModelResolver.isCompresso(with));
        assertFalse(ModelResolver.isCompresso(onnx));
        assertEquals(tokJson, ModelResolver.embeddedTokenizer(with));
        assertNull(ModelResolver.embeddedTokenizer(without));
        assertNull(ModelResolver.embeddedTokenizer(onnx));
        WordPieceTokenizer t = ModelResolver.tokenizerFor(with, null);
        assertEquals(1, t.encode("hi").ids()[0]);
        assertThrows(NoSuchFileException.class, () -> ModelResolver.tokenizerFor(without, null));
        // A forged header length is not mistaken for a Compresso file.
        ByteBuffer forged = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
        Path f = dir.resolve("forged.bin");
        Files.write(f, forged.array());
        assertFalse(ModelResolver.isCompresso(f));
    }

    @Test
    void inputLines() throws IOException {
        assertEquals(List.of("a", "", "b"), EmbedCommand.readLines(
                new ByteArrayInputStream("\uFEFFa\n\nb\n".getBytes(StandardCharsets.UTF_8)), "x"));
        assertEquals(List.of("a", "b"), EmbedCommand.readLines(
                new ByteArrayInputStream("a\r\nb".getBytes(StandardCharsets.UTF_8)), "x"));
        assertEquals(List.of(), EmbedCommand.readLines(new ByteArrayInputStream(new byte[0]), "x"));
        IOException e = assertThrows(IOException.class, () -> EmbedCommand.readLines(
                new ByteArrayInputStream(new byte[] {'a', '\n', (byte) 0xFF}), "input.txt"));
        assertTrue(e.getMessage().contains("input.txt") && e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void atomicWriteKeepsTheOldFileOnFailure() throws Exception {
        Path target = dir.resolve("out.jsonl");
        Files.writeString(target, "old\n");
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, os -> {
            os.write("partial".getBytes(StandardCharsets.UTF_8));
            throw new IllegalStateException("boom");
        }));
        assertEquals("old\n", Files.readString(target));
        AtomicFiles.write(target, os -> os.write("new\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("new\n", Files.readString(target));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
        assertNotNull(assertThrows(NoSuchFileException.class,
                () -> AtomicFiles.write(dir.resolve("no/such/dir/x"), os -> { })));
    }

    @Test
    void percentiles() {
        double[] v = {5, 1, 4, 2, 3};
        assertEquals(3, BenchCommand.median(v));
        assertEquals(2.5, BenchCommand.median(new double[] {1, 2, 3, 4}));
        assertEquals(5, BenchCommand.percentile(v, 0.9));
        double[] ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(9, BenchCommand.percentile(ten, 0.9));
        assertEquals(7, BenchCommand.percentile(new double[] {7}, 0.9));
    }
}
