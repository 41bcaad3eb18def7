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

/** {@code distill} and {@code corpus} argument and data errors: each fails before any training. */
class DistillCliTest {
    @TempDir
    Path dir;

    private int run(StringBuilder errOut, String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        errOut.append(err.toString(StandardCharsets.UTF_8));
        return code;
    }

    @Test
    void usageErrorsExitTwo() {
        StringBuilder e = new StringBuilder();
        String out = dir.resolve("s.compresso").toString();
        assertEquals(2, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", "c", "--out", out, "--loss", "magic"));
        assertTrue(e.toString().contains("--loss"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", "c", "--out", out, "--layers", "a,b"));
        assertTrue(e.toString().contains("--layers"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", "c", "--out", out, "--batch", "0"));
        e.setLength(0);
        assertEquals(2, run(e, "distill", "--corpus", "c", "--out", out));
        assertTrue(e.toString().contains("--teacher"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "corpus", "--source", "web", "--out", out));
        e.setLength(0);
        assertEquals(2, run(e, "corpus", "--source", "docs", "--format", "labelled", "--out", out));
    }

    @Test
    void badDataNamesTheFileAndLine() throws Exception {
        StringBuilder e = new StringBuilder();
        String out = dir.resolve("s.compresso").toString();
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        assertEquals(1, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", empty.toString(), "--out", out));
        assertTrue(e.toString().contains("empty.txt: no sentences"), e.toString());
        e.setLength(0);
        Path longer = dir.resolve("long.txt");
        Files.writeString(longer, "A short line.\n\n" + "word ".repeat(40) + "\n");
        assertEquals(1, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", longer.toString(), "--out", out,
                "--max-length", "16", "--no-truncate"));
        assertTrue(e.toString().contains("long.txt:3: sentence of"), e.toString());
        e.setLength(0);
        assertEquals(2, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", longer.toString(), "--out", out,
                "--max-length", "5000"));
        assertTrue(e.toString().contains("exceeds the tokenizer's limit of 128 tokens"), e.toString());
        e.setLength(0);
        Path noLabel = dir.resolve("labels.tsv");
        Files.writeString(noLabel, "good line\tlibs\nline without a label\n");
        assertEquals(1, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", noLabel.toString(), "--out", out,
                "--labels", noLabel.toString()));
        assertTrue(e.toString().contains("labels.tsv:2: expected 'text<TAB>label'"), e.toString());
        e.setLength(0);
        Path good = dir.resolve("good.tsv"), eval = dir.resolve("eval.tsv");
        Files.writeString(good, "a library\tlibs\na game\tgames\n");
        Files.writeString(eval, "a tool\tutils\n");
        assertEquals(1, run(e, "distill", "--teacher", "all-minilm-l6-v2", "--corpus", good.toString(), "--out", out,
                "--labels", good.toString(), "--eval", eval.toString()));
        assertTrue(e.toString().contains("label 'utils' of line 1 is not among the 2 labels"), e.toString());
        assertTrue(!Files.exists(dir.resolve("s.compresso")), "no output written on failure");
    }
}
