package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.compresso.engine.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzing of the ONNX reader, the Compresso file reader and the tokenizer reader, in every build: first the
 * committed regression corpus ({@code src/test/resources/fuzz/<target>/}: real, truncated and forged files and
 * past findings), then a deterministic mutation run from small seeds (bit flips, interesting bytes, truncation,
 * splices), time-bounded to {@code compresso.fuzz.seconds} per target (2 s by default; longer sessions:
 * {@code -Dcompresso.fuzz.seconds=600 -Dcompresso.fuzz.seed=N}, see docs/security.md). A finding is saved to
 * {@code target/fuzz-findings/} for adding to the corpus.
 */
class ReaderFuzzTest {
    static final long SECONDS = Long.getLong("compresso.fuzz.seconds", 2);
    static final long SEED = Long.getLong("compresso.fuzz.seed", 20261203);

    @TempDir
    static Path scratch;

    static byte[] onnxSeed;
    static byte[] compressoSeed;
    static byte[] tokenizerSeed;

    @BeforeAll
    static void seeds() throws Exception {
        onnxSeed = new OnnxImportTest().tiny().build();
        Path onnx = scratch.resolve("seed.onnx");
        Files.write(onnx, onnxSeed);
        Path cmpr = scratch.resolve("seed.cmpr");
        try (Model m = Model.load(onnx)) {
            m.save(cmpr, smallTokenizer());
        }
        compressoSeed = Files.readAllBytes(cmpr);
        tokenizerSeed = smallTokenizer().getBytes(StandardCharsets.UTF_8);
    }

    /** The MiniLM tokenizer.json with its vocabulary cut to the first 400 entries (specials included). */
    @SuppressWarnings("unchecked")
    static String smallTokenizer() throws IOException {
        Map<String, Object> root = (Map<String, Object>) Json.parse(Files.readString(Oracle.resource("all-minilm-l6-v2-tokenizer.json")));
        Map<String, Object> model = (Map<String, Object>) root.get("model");
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (var e : ((Map<String, Object>) model.get("vocab")).entrySet()) {
            if (((Number) e.getValue()).longValue() < 400) {
                vocab.put(e.getKey(), e.getValue());
            }
        }
        model.put("vocab", vocab);
        return Json.write(root);
    }

    @TestFactory
    Stream<DynamicTest> regressionCorpus() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String target : List.of("onnx", "compresso", "tokenizer")) {
            Path dir = corpusDir().resolve(target);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.sorted().toList()) {
                    tests.add(DynamicTest.dynamicTest(target + "/" + f.getFileName(), () -> {
                        byte[] data = Files.readAllBytes(f);
                        // A hang is a finding too.
                        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                            if (target.equals("tokenizer")) {
                                FuzzTargets.tokenizer(data, scratch);
                            } else {
                                FuzzTargets.model(data, scratch);
                            }
                        }, "input " + f + " did not finish in 30 s");
                    }));
                }
            }
        }
        if (tests.isEmpty()) {
            throw new IllegalStateException("no fuzz regression corpus under " + corpusDir());
        }
        return tests.stream();
    }

    static Path corpusDir() {
        try {
            return Path.of(ReaderFuzzTest.class.getClassLoader().getResource("fuzz").toURI());
        } catch (Exception e) {
            throw new IllegalStateException("fuzz corpus missing from the test classpath", e);
        }
    }

    @TestFactory
    Stream<DynamicTest> mutations() {
        // A hang is a finding too: each run must end within its time budget plus a minute.
        Duration limit = Duration.ofSeconds(SECONDS + 60);
        return Stream.of(
                DynamicTest.dynamicTest("onnx", () -> assertTimeoutPreemptively(limit,
                        () -> mutate("onnx", onnxSeed, FuzzTargets::model))),
                DynamicTest.dynamicTest("compresso", () -> assertTimeoutPreemptively(limit,
                        () -> mutate("compresso", compressoSeed, FuzzTargets::model))),
                DynamicTest.dynamicTest("tokenizer", () -> assertTimeoutPreemptively(limit,
                        () -> mutate("tokenizer", tokenizerSeed, FuzzTargets::tokenizer))));
    }

    static void mutate(String target, byte[] seed, BiConsumer<byte[], Path> run) throws IOException {
        SplittableRandom rnd = new SplittableRandom(SEED ^ target.hashCode());
        long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
        int n = 0;
        while (n < 20 || System.nanoTime() < deadline) {
            byte[] input = mutant(seed, rnd);
            try {
                run.accept(input, scratch);
            } catch (FuzzTargets.Finding f) {
                Path dir = Path.of("target", "fuzz-findings", target);
                Files.createDirectories(dir);
                Path saved = dir.resolve("finding-" + Long.toHexString(java.util.Arrays.hashCode(input)));
                Files.write(saved, input);
                throw new AssertionError(f.getMessage() + " (input saved to " + saved.toAbsolutePath() + ")", f);
            }
            n++;
        }
        System.out.printf("fuzz %s: %d inputs%n", target, n);
    }

    /** One to four mutations of the seed. */
    static byte[] mutant(byte[] seed, SplittableRandom rnd) {
        byte[] b = seed.clone();
        int rounds = 1 + rnd.nextInt(4);
        for (int r = 0; r < rounds && b.length > 0; r++) {
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(8)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = INTERESTING[rnd.nextInt(INTERESTING.length)];
                case 2 -> b = java.util.Arrays.copyOf(b, at); // truncation
                case 3 -> { // an interesting 8-byte little-endian value (lengths, dims, offsets)
                    long v = LONGS[rnd.nextInt(LONGS.length)];
                    for (int i = 0; i < 8 && at + i < b.length; i++) {
                        b[at + i] = (byte) (v >>> (8 * i));
                    }
                }
                case 4 -> { // duplicate a chunk
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
                case 5 -> { // delete a chunk
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 6 -> b[at] = (byte) DIGITS.charAt(rnd.nextInt(DIGITS.length())); // JSON numbers, protobuf varints
                default -> b[at] = (byte) rnd.nextInt(256);
            }
        }
        return b;
    }

    /**
     * Writes the seed part of the regression corpus into the source tree (run once by hand with
     * {@code -Dcompresso.fuzz.regen=true}; findings are added to it as files).
     */
    @Test
    @EnabledIfSystemProperty(named = "compresso.fuzz.regen", matches = "true")
    void regenerateSeeds() throws Exception {
        Path root = Path.of("src", "test", "resources", "fuzz");
        Path onnx = root.resolve("onnx"), cmpr = root.resolve("compresso"), tok = root.resolve("tokenizer");
        Files.write(onnx.resolve("tiny.onnx"), onnxSeed);
        Files.write(onnx.resolve("tiny-half.onnx"), java.util.Arrays.copyOf(onnxSeed, onnxSeed.length / 2));
        Files.write(onnx.resolve("empty.onnx"), new byte[0]);
        OnnxWriter w = new OnnxWriter();
        w.input("X", 999, 1, 4);
        w.node("Relu", "relu", new String[] {"X"}, new String[] {"Y"});
        w.output("Y", 1, 1, 4);
        Files.write(onnx.resolve("elem-type-999.onnx"), w.build());
        byte[] minilm = Files.readAllBytes(Oracle.resource("all-minilm-l6-v2.onnx"));
        Files.write(onnx.resolve("minilm-first-4k.onnx"), java.util.Arrays.copyOf(minilm, 4096));

        Files.write(cmpr.resolve("tiny.cmpr"), compressoSeed);
        Files.write(cmpr.resolve("tiny-header-only.cmpr"), java.util.Arrays.copyOf(compressoSeed, 200));
        Files.write(cmpr.resolve("tiny-data-cut.cmpr"), java.util.Arrays.copyOf(compressoSeed, compressoSeed.length - 100));
        byte[] huge = compressoSeed.clone();
        huge[7] = 0x7F; // header length 2^62-ish
        Files.write(cmpr.resolve("forged-header-length.cmpr"), huge);
        byte[] damaged = compressoSeed.clone();
        damaged[12] = 'X';
        Files.write(cmpr.resolve("damaged-prefix.cmpr"), damaged);
        String text = new String(compressoSeed, StandardCharsets.ISO_8859_1);
        Files.write(cmpr.resolve("forged-data-bytes.cmpr"), text.replaceFirst("\"data_bytes\":\"(\\d)", "\"data_bytes\":\"9$1")
                .getBytes(StandardCharsets.ISO_8859_1));

        Files.write(tok.resolve("small.json"), tokenizerSeed);
        Files.write(tok.resolve("small-half.json"), java.util.Arrays.copyOf(tokenizerSeed, tokenizerSeed.length / 2));
        Files.write(tok.resolve("empty.json"), new byte[0]);
        Files.write(tok.resolve("not-utf8.json"), new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'});
        Files.writeString(tok.resolve("deep.json"), "[".repeat(100_000));
        Files.writeString(tok.resolve("huge-number.json"), "{\"model\":{\"vocab\":{\"a\":1e999999}}}");
        @SuppressWarnings("unchecked")
        Map<String, Object> r = (Map<String, Object>) Json.parse(new String(tokenizerSeed, StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        Map<String, Object> pp = (Map<String, Object>) r.get("post_processor");
        pp.put("single", List.of());
        Files.writeString(tok.resolve("single-empty.json"), Json.write(r));
    }

    static final byte[] INTERESTING = {0, 1, -1, 0x7F, (byte) 0x80, '"', '{', '}', '[', ']', ',', ':', '-', '.', 'e'};
    static final long[] LONGS = {0, -1, 1, 64, Integer.MAX_VALUE, 0xFFFFFFFFL, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40};
    static final String DIGITS = "0123456789-.eE+";
}
