package dev.compresso.samples;

import dev.compresso.distill.BertGraph;
import dev.compresso.distill.Classifier;
import dev.compresso.distill.train.Encoder;
import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code distill --labels}: a classifier distilled with Hinton's soft targets. The teacher is the full encoder
 * (frozen) with a softmax head trained on its pooled features; the student keeps the listed layers and the
 * teacher's head, and trains end to end on {@code α·T²·KL + (1−α)·CE}. With {@code --hard-baseline} the same
 * student is also trained on the hard labels alone, so the two can be compared on the same held-out lines.
 */
final class ClassifierRun {
    private ClassifierRun() {}

    /** Labelled lines: texts, class indices. */
    record Labelled(List<String> texts, List<String> labels) {}

    /**
     * Reads {@code text<TAB>label} lines.
     *
     * @throws IOException naming the file and line of a malformed line
     */
    static Labelled read(Path file) throws IOException {
        List<String> texts = new ArrayList<>(), labels = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            int tab = line.lastIndexOf('\t');
            if (tab <= 0 || tab == line.length() - 1 || line.substring(0, tab).isBlank()) {
                throw new IOException(file + ":" + lineNo + ": expected 'text<TAB>label'");
            }
            texts.add(line.substring(0, tab).strip());
            labels.add(line.substring(tab + 1).strip());
        }
        if (texts.isEmpty()) {
            throw new IOException(file + ": no labelled lines ('text<TAB>label' expected)");
        }
        return new Labelled(texts, labels);
    }

    static void run(Path teacherPath, WordPieceTokenizer tok, Path labelsFile, Path corpus, Path evalFile, Path outPath,
            int[] layers, int epochs, int batch, float lr, float temperature, float alpha, boolean hardBaseline,
            int limit, int maxLength, long seed, int threads, PrintStream out) throws Exception {
        Labelled all = read(labelsFile);
        List<String> classes = new ArrayList<>(new TreeSet<>(all.labels()));
        Map<String, Integer> index = new LinkedHashMap<>();
        for (String c : classes) {
            index.put(c, index.size());
        }
        List<int[]> trainIds = new ArrayList<>(), testIds = new ArrayList<>();
        List<Integer> trainLab = new ArrayList<>(), testLab = new ArrayList<>();
        int maxLen = Math.min(maxLength, tok.maxLength());
        for (int i = 0; i < all.texts().size(); i++) {
            boolean held = evalFile == null && i % 10 == 9;
            if (!held && limit > 0 && trainIds.size() >= limit) {
                continue;
            }
            (held ? testIds : trainIds).add(tok.encode(all.texts().get(i), maxLen).ids());
            (held ? testLab : trainLab).add(index.get(all.labels().get(i)));
        }
        if (evalFile != null) {
            Labelled ev = read(evalFile);
            for (int i = 0; i < ev.texts().size(); i++) {
                Integer c = index.get(ev.labels().get(i));
                if (c == null) {
                    throw new IOException(evalFile + ": label '" + ev.labels().get(i) + "' of line " + (i + 1)
                            + " is not among the " + classes.size() + " labels of " + labelsFile);
                }
                testIds.add(tok.encode(ev.texts().get(i), maxLen).ids());
                testLab.add(c);
            }
        }
        // Unlabelled transfer sentences: the corpus, when it is not the labelled file itself.
        List<int[]> transfer = new ArrayList<>();
        if (!Files.isSameFile(corpus, labelsFile)) {
            for (String s : Corpus.readLines(corpus)) {
                transfer.add(tok.encode(s, maxLen).ids());
            }
        }
        int[] trL = trainLab.stream().mapToInt(Integer::intValue).toArray();
        int[] teL = testLab.stream().mapToInt(Integer::intValue).toArray();
        System.err.printf(Locale.ROOT, "distill: classifier over %d labels, %d training lines (+%d unlabelled), %d held out%n",
                classes.size(), trainIds.size(), transfer.size(), testIds.size());
        try (Model teacherModel = Model.load(teacherPath)) {
            BertGraph bg = BertGraph.of(teacherModel.graph());
            var tw = bg.weights();
            Classifier teacher = Classifier.withNewHead(Encoder.frozen(bg.config(), tw), classes.size(), seed, false);
            long t0 = System.nanoTime();
            float[] feats = teacher.features(trainIds, 64, threads);
            teacher.trainHeadOnFeatures(feats, trL, 10, 64, 3e-3f, seed);
            double teacherAcc = teacher.accuracy(testIds, teL, 64, threads);
            System.err.printf(Locale.ROOT, "distill: teacher head trained in %.1f s, held-out accuracy %.4f%n",
                    (System.nanoTime() - t0) / 1e9, teacherAcc);
            List<int[]> studentIds = new ArrayList<>(trainIds);
            studentIds.addAll(transfer);
            int[] studentLab = new int[studentIds.size()];
            System.arraycopy(trL, 0, studentLab, 0, trL.length);
            java.util.Arrays.fill(studentLab, trL.length, studentLab.length, -1);
            float[] teacherLogits = teacher.allLogits(studentIds, 64, threads);
            float[][] head = teacher.head();
            Classifier.TrainOptions o = new Classifier.TrainOptions(epochs, batch, lr, 0.05f, temperature, alpha, seed,
                    threads);
            Double hardAcc = null;
            if (hardBaseline) {
                Classifier hard = new Classifier(Encoder.of(bg.config().withLayers(layers.length), tw.select(layers)),
                        head[0], head[1], true);
                hard.train(trainIds, trL, null, o, System.err::println);
                hardAcc = hard.accuracy(testIds, teL, 64, threads);
                System.err.printf(Locale.ROOT, "distill: hard-label student held-out accuracy %.4f%n", hardAcc);
            }
            Classifier soft = new Classifier(Encoder.of(bg.config().withLayers(layers.length), tw.select(layers)),
                    head[0], head[1], true);
            soft.train(studentIds, studentLab, teacherLogits, o, System.err::println);
            double softAcc = soft.accuracy(testIds, teL, 64, threads);
            var graph = soft.toGraph(bg.student(layers, soft.encoder().weights()));
            Map<String, String> notes = new LinkedHashMap<>();
            notes.put("labels", String.join("\n", classes));
            notes.put("distillation", String.format(Locale.ROOT, "classifier, layers %s, T %.2f, alpha %.2f, %d epochs",
                    java.util.Arrays.toString(layers), temperature, alpha, epochs));
            ModelFiles.write(graph, tok.toJson(), notes, outPath);
            out.printf(Locale.ROOT, "labels %d, training lines %d, unlabelled %d, held-out lines %d%n", classes.size(),
                    trainIds.size(), transfer.size(), testIds.size());
            out.printf(Locale.ROOT, "teacher (all layers + head) accuracy  %.4f%n", teacherAcc);
            if (hardAcc != null) {
                out.printf(Locale.ROOT, "student, hard labels only accuracy     %.4f%n", hardAcc);
            }
            out.printf(Locale.ROOT, "student, soft targets accuracy         %.4f  (T %.2f, alpha %.2f)%n", softAcc,
                    temperature, alpha);
            out.printf(Locale.ROOT, "wrote %s (%d bytes): output 'logits' over the labels listed in its notes%n", outPath,
                    Files.size(outPath));
        }
    }
}
