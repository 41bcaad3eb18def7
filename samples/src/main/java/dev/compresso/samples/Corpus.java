package dev.compresso.samples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Sentences for calibration and evaluation. A corpus is always an input: a file with one sentence per line,
 * or — when none is given — English prose extracted at run time from the system's documentation
 * ({@code /usr/share/doc}, {@code /usr/share/common-licenses}), never text baked into the code.
 */
final class Corpus {
    /** Where the default sentences come from, in this order. */
    static final List<Path> SYSTEM_DIRS = List.of(Path.of("/usr/share/doc"), Path.of("/usr/share/common-licenses"));

    private static final Pattern SPLIT = Pattern.compile("(?<=[.!?])\\s+(?=[A-Z])");
    private static final Pattern WS = Pattern.compile("\\s+");
    private static final long MAX_FILE = 2L << 20;
    /** At most this many sentences per file, so that one long licence does not make up the whole corpus. */
    static final int PER_FILE = 6;

    private Corpus() {}

    /**
     * Non-blank lines of a file, trimmed.
     *
     * @throws IOException if the file cannot be read, or has no non-blank line (naming the file)
     */
    static List<String> readLines(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!l.isBlank()) {
                out.add(l.strip());
            }
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": no sentences (one per line expected)");
        }
        return out;
    }

    /**
     * A training corpus as token ids, one sentence per non-blank line: each line is encoded with {@code tok}
     * ({@code [CLS] … [SEP]}) and cut to {@code maxLength} tokens, or refused when {@code noTruncate}.
     *
     * @throws IOException if the file cannot be read, has no sentence, or (with {@code noTruncate}) a line is
     *                     longer than {@code maxLength} tokens (naming the file and line)
     */
    static List<int[]> tokenize(Path file, dev.compresso.engine.text.WordPieceTokenizer tok, int maxLength,
            boolean noTruncate) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<int[]> ids = new ArrayList<>(lines.size());
        int lineNo = 0;
        for (String s : lines) {
            lineNo++;
            if (s.isBlank()) {
                continue;
            }
            dev.compresso.engine.text.Encoding e = tok.encode(s.strip(), noTruncate ? tok.maxLength() + 1 : maxLength);
            if (e.length() > maxLength) {
                throw new IOException(file + ":" + lineNo + ": sentence of " + e.length()
                        + " tokens is longer than --max-length " + maxLength + " (drop --no-truncate to cut it)");
            }
            ids.add(e.ids());
        }
        if (ids.isEmpty()) {
            throw new IOException(file + ": no sentences (one per line expected)");
        }
        return ids;
    }

    /**
     * Up to {@code n} distinct prose sentences from text files under {@code dirs} (plain or gzip), files
     * visited in sorted path order so the result is the same on every run of the same machine.
     *
     * @throws IOException if no sentence at all is found (naming the directories)
     */
    static List<String> fromSystemDocs(List<Path> dirs, int n) throws IOException {
        return fromSystemDocs(dirs, n, PER_FILE);
    }

    /** As {@link #fromSystemDocs(List, int)} with at most {@code perFile} sentences from one file. */
    static List<String> fromSystemDocs(List<Path> dirs, int n, int perFile) throws IOException {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) {
                continue;
            }
            List<Path> files;
            try (Stream<Path> s = Files.walk(d)) {
                files = s.filter(Files::isRegularFile).filter(Corpus::textLike).sorted().toList();
            } catch (IOException | java.io.UncheckedIOException e) {
                continue; // unreadable subtree: skip, other files still count
            }
            for (Path f : files) {
                if (out.size() >= n) {
                    break;
                }
                try {
                    int taken = 0;
                    for (String s : sentences(read(f))) {
                        if (out.add(s) && ++taken >= perFile) {
                            break;
                        }
                        if (out.size() >= n) {
                            break;
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // binary or unreadable file: not prose
                }
            }
        }
        if (out.isEmpty()) {
            throw new IOException("no English sentences found under " + dirs + "; pass --corpus FILE (one sentence per line)");
        }
        return new ArrayList<>(out);
    }

    private static boolean textLike(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".gz")) {
            name = name.substring(0, name.length() - 3);
        }
        return !name.contains(".") || name.endsWith(".txt") || name.endsWith(".md") || name.endsWith(".rst")
                || name.startsWith("readme") || name.startsWith("changelog") || name.startsWith("news");
    }

    private static String read(Path f) throws IOException {
        if (Files.size(f) > MAX_FILE) {
            return "";
        }
        try (InputStream raw = Files.newInputStream(f);
                InputStream in = f.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)))) {
            StringBuilder sb = new StringBuilder();
            char[] buf = new char[8192];
            for (int k; (k = r.read(buf)) >= 0 && sb.length() < MAX_FILE; ) {
                sb.append(buf, 0, k);
            }
            return sb.toString();
        }
    }

    /** Splits text into sentences and keeps those that read as prose: 6–40 words, mostly letters. */
    static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        // Paragraph breaks end sentences too; inside a paragraph, line breaks are just spaces.
        for (String para : text.split("\\n\\s*\\n")) {
            for (String s : SPLIT.split(WS.matcher(para).replaceAll(" ").strip())) {
                s = s.strip();
                if (isProse(s)) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    static boolean isProse(String s) {
        if (s.isEmpty() || !Character.isUpperCase(s.charAt(0)) || !(s.endsWith(".") || s.endsWith("?") || s.endsWith("!"))) {
            return false;
        }
        String[] words = s.split(" ");
        if (words.length < 6 || words.length > 40 || s.contains("http") || s.contains("@") || s.contains("--")
                || s.matches(".*[*#/_=<>{}\\[\\]|].*")) { // changelog bullets, paths, markup, code
            return false;
        }
        int letters = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isLetter(c) || c == ' ') {
                letters++;
            }
        }
        return letters >= 0.9 * s.length();
    }

    /**
     * Splits sentences into two disjoint sets, alternating, so both sample the same sources: calibration
     * gets the even positions, evaluation the odd ones.
     */
    static List<List<String>> split(List<String> all) {
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            (i % 2 == 0 ? a : b).add(all.get(i));
        }
        return List.of(a, b);
    }
}
