package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code embed}: one sentence per input line → one JSON array of floats per output line, same order. Empty
 * lines are sentences too (so line numbers match). {@code --output} is written atomically.
 */
final class EmbedCommand implements Command {

    @Override
    public String name() {
        return "embed";
    }

    @Override
    public String usage() {
        return "embed --model MODEL --input FILE|- [--output FILE] [--tokenizer T] [--batch B] [--threads T]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String modelSpec = args.require("model");
        String input = args.require("input");
        String output = args.get("output");
        String tokenizerOpt = args.get("tokenizer");
        int batch = args.getInt("batch", SentenceEmbedder.DEFAULT_BATCH_SIZE);
        int threads = args.getInt("threads", 0);
        args.finish();
        if (batch < 1) {
            throw new UsageException("--batch must be at least 1");
        }
        if (threads < 0) {
            throw new UsageException("--threads must be at least 1");
        }

        List<String> lines = input.equals("-") ? readLines(System.in, "standard input") : readLines(Path.of(input));
        Path modelPath = ModelResolver.resolveModel(modelSpec);
        // Find the tokenizer before the (slow) model load, so a missing one fails fast.
        WordPieceTokenizer early = ModelResolver.tokenizerFor(modelPath, tokenizerOpt);
        SessionOptions options = new SessionOptions();
        if (threads > 0) {
            options.threads(threads);
        }
        if (output != null) {
            Path parent = Path.of(output).toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new NoSuchFileException(output, null, "the output's directory does not exist");
            }
        }
        try (Model model = Model.load(modelPath)) {
            // A loaded Compresso model hands over the tokenizer it carries (the same the header held).
            WordPieceTokenizer tokenizer = tokenizerOpt == null && model.tokenizerJson() != null
                    ? ModelResolver.tokenizerFor(model, modelPath, null) : early;
            try (SentenceEmbedder embedder = new SentenceEmbedder(model, tokenizer, options, batch)) {
                if (output == null) {
                    embedInChunks(embedder, lines, out);
                    out.flush();
                } else {
                    AtomicFiles.write(Path.of(output), os -> {
                        PrintStream ps = new PrintStream(new BufferedOutputStream(os, 1 << 16), false,
                                StandardCharsets.UTF_8);
                        embedInChunks(embedder, lines, ps);
                        ps.flush();
                        if (ps.checkError()) {
                            throw new IOException(output + ": write failed");
                        }
                    });
                }
            }
        }
    }

    /** Lines per embed call: large inputs stream out without holding every vector in memory. */
    static final int CHUNK = 4096;

    private static void embedInChunks(SentenceEmbedder embedder, List<String> lines, PrintStream out)
            throws Exception {
        for (int start = 0; start < lines.size(); start += CHUNK) {
            float[][] vectors = embedder.embed(lines.subList(start, Math.min(lines.size(), start + CHUNK)));
            for (float[] v : vectors) {
                out.println(Json.write(v));
            }
        }
    }

    static List<String> readLines(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such input file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return readLines(in, file.toString());
        }
    }

    /** Strict UTF-8 lines (a leading byte-order mark dropped); a final newline does not add a line. */
    static List<String> readLines(InputStream in, String what) throws IOException {
        byte[] bytes = in.readAllBytes();
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer src = ByteBuffer.wrap(bytes);
        CharBuffer dst = CharBuffer.allocate(bytes.length + 1);
        CoderResult res = decoder.decode(src, dst, true);
        if (res.isError()) {
            int line = 1;
            for (int k = 0; k < src.position(); k++) {
                line += bytes[k] == '\n' ? 1 : 0;
            }
            throw new IOException(what + ": not UTF-8 text (line " + line + ")");
        }
        decoder.flush(dst);
        String text = dst.flip().toString();
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        List<String> lines = new ArrayList<>(text.lines().toList());
        return lines;
    }
}
