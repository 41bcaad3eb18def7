package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir
    Path dir;

    @Test
    void splitsProseAndDropsNoise() {
        List<String> s = Corpus.sentences("This program is free software and you can redistribute it.\n"
                + "It comes with\nabsolutely no warranty of any kind whatsoever. Set x = 1; y = 2;\n\n"
                + "See http://example.com for more details about this thing.");
        assertEquals(List.of("This program is free software and you can redistribute it.",
                "It comes with absolutely no warranty of any kind whatsoever."), s);
    }

    @Test
    void systemDocsAreDedupedAndSplitDisjointly() throws IOException {
        Path a = dir.resolve("README.txt");
        Files.writeString(a, "The quick brown fox jumps over the lazy dog today. The quick brown fox jumps over the lazy dog today. "
                + "Another sentence appears here with enough words in it.");
        List<String> all = Corpus.fromSystemDocs(List.of(dir), 100);
        assertEquals(2, all.size());
        List<List<String>> parts = Corpus.split(all);
        HashSet<String> calib = new HashSet<>(parts.get(0));
        for (String e : parts.get(1)) {
            assertFalse(calib.contains(e));
        }
    }

    @Test
    void noSentencesIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> Corpus.fromSystemDocs(List.of(dir.resolve("none")), 10));
        assertTrue(e.getMessage().contains("--corpus"));
    }

    @Test
    void realSystemDocsWhenPresent() throws IOException {
        if (Files.isDirectory(Path.of("/usr/share/common-licenses"))) {
            List<String> s = Corpus.fromSystemDocs(Corpus.SYSTEM_DIRS, 300);
            assertTrue(s.size() > 50, "found " + s.size());
            assertEquals(s.size(), new HashSet<>(s).size());
        }
    }
}
