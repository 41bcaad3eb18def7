package dev.compresso.samples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code corpus}: writes a text corpus extracted at run time from this machine — English prose from
 * {@code /usr/share/doc} (one sentence per line), or the one-line package descriptions of the APT lists
 * ({@code text<TAB>section} with {@code --format labelled}), the labelled set of the classification task. Nothing is
 * baked into the code; the output is written atomically.
 */
final class CorpusCommand implements Command {

    @Override
    public String name() {
        return "corpus";
    }

    @Override
    public String usage() {
        return "corpus --source docs|packages --out FILE [--count N] [--skip N] [--per-file K] [--format text|labelled|ids] [--model MODEL]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String source = args.require("source");
        Path outPath = Path.of(args.require("out"));
        int count = args.getInt("count", 60_000);
        int skip = args.getInt("skip", 0);
        int perFile = args.getInt("per-file", 40);
        String format = args.get("format", "text");
        String model = args.get("model", "all-minilm-l6-v2");
        args.finish();
        if (!format.equals("text") && !format.equals("labelled") && !format.equals("ids")) {
            throw new UsageException("--format must be text, labelled or ids");
        }
        boolean labels = format.equals("labelled");
        if (count < 1 || skip < 0 || perFile < 1) {
            throw new UsageException("--count and --per-file must be >= 1, --skip >= 0");
        }
        List<String> lines;
        switch (source) {
            case "docs" -> {
                if (labels) {
                    throw new UsageException("--format labelled needs --source packages");
                }
                List<String> all = Corpus.fromSystemDocs(Corpus.SYSTEM_DIRS, skip + count, perFile);
                lines = all.subList(Math.min(skip, all.size()), all.size());
            }
            case "packages" -> {
                List<String> all = packages(labels);
                lines = all.subList(Math.min(skip, all.size()), Math.min(all.size(), skip + count));
            }
            default -> throw new UsageException("--source must be docs or packages, not '" + source + "'");
        }
        if (lines.isEmpty()) {
            throw new IOException("no lines left after --skip " + skip + " for source " + source);
        }
        if (format.equals("ids")) {
            // Token ids of each line under MODEL's tokenizer, space-separated: input for benchmarks in other
            // frameworks that should see exactly the sequences Compresso trains on.
            var tok = ModelResolver.tokenizerFor(ModelResolver.resolveModel(model), null);
            List<String> ids = new ArrayList<>(lines.size());
            for (String l : lines) {
                StringBuilder sb = new StringBuilder();
                for (int id : tok.encode(l, Math.min(128, tok.maxLength())).ids()) {
                    sb.append(sb.isEmpty() ? "" : " ").append(id);
                }
                ids.add(sb.toString());
            }
            lines = ids;
        }
        byte[] bytes = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(outPath, o -> o.write(bytes));
        out.println("wrote " + outPath + " (" + lines.size() + " lines from " + source + ")");
    }

    /** Descriptions of the APT package lists, in a stable order, deduplicated; with the section when asked. */
    static List<String> packages(boolean labels) throws IOException {
        Path lists = Path.of("/var/lib/apt/lists");
        List<Path> files;
        try (Stream<Path> s = Files.list(lists)) {
            files = s.filter(p -> p.getFileName().toString().contains("_Packages")).sorted().toList();
        } catch (IOException e) {
            throw new IOException(lists + ": cannot list the APT package lists (" + e.getMessage() + "); run apt-get update");
        }
        if (files.isEmpty()) {
            throw new IOException(lists + ": no *_Packages lists; run apt-get update first");
        }
        Map<String, String> seen = new LinkedHashMap<>();
        for (Path f : files) {
            Process p = new ProcessBuilder("/usr/lib/apt/apt-helper", "cat-file", f.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String desc = null, section = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.isEmpty()) {
                        add(seen, desc, section);
                        desc = null;
                        section = null;
                    } else if (line.startsWith("Description: ")) {
                        desc = line.substring(13).strip();
                    } else if (line.startsWith("Section: ")) {
                        String sec = line.substring(9).strip();
                        section = sec.substring(sec.lastIndexOf('/') + 1);
                    }
                }
                add(seen, desc, section);
            }
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IOException(f + ": apt-helper cat-file failed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted reading " + f, e);
            }
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : seen.entrySet()) {
            out.add(labels ? e.getKey() + "\t" + e.getValue() : e.getKey());
        }
        return out;
    }

    private static void add(Map<String, String> seen, String desc, String section) {
        if (desc != null && section != null && !desc.isEmpty() && !desc.contains("\t")) {
            seen.putIfAbsent(desc, section);
        }
    }
}
