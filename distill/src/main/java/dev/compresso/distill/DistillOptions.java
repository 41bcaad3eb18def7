package dev.compresso.distill;

import java.nio.file.Path;

/**
 * Settings of a distillation run. {@link #defaults()} is the recipe {@code ./compresso distill} uses.
 *
 * @param layers          teacher layers the student keeps (increasing), e.g. {@code {0, 2, 4}}
 * @param epochs          passes over the corpus
 * @param maxSteps        stop after this many steps (0: no limit besides the epochs)
 * @param batchSize       sentences per step
 * @param maxLength       longest token sequence (longer sentences are truncated)
 * @param lr              peak learning rate
 * @param warmupFraction  share of the steps spent warming up
 * @param cosineDecay     cosine (true) or linear (false) decay after warm-up
 * @param weightDecay     AdamW's decoupled weight decay
 * @param clipNorm        global gradient-norm clip (0: none)
 * @param dropout         dropout rate in the student (0: none)
 * @param cosineWeight    weight of the pooled-embedding cosine loss
 * @param pooledMseWeight weight of the pooled-embedding MSE loss
 * @param hiddenWeight    weight of the hidden-state MSE over the layer map
 * @param attentionWeight weight of the attention-distribution KL (last student layer vs last teacher layer)
 * @param similarityWeight weight of the in-batch similarity loss: the squared difference between the student's and
 *                        the teacher's cosine-similarity matrices of the batch's pooled embeddings (relational
 *                        distillation; it teaches the neighbourhoods that recall@k measures)
 * @param crops           whether each sentence is also seen as a random contiguous part of itself (a second, shorter
 *                        view in the same step, labelled by the teacher on the fly): short texts such as titles or
 *                        package descriptions then look less foreign to the student
 * @param trainEmbeddings whether the student trains its word-embedding table; when not, the table stays the
 *                        teacher's and the student shares the teacher's copy (no gradient, no optimiser state: four
 *                        tables' worth of memory, 188 MB for a 30,522 x 384 vocabulary, are never allocated)
 * @param seed            seed of the data order and dropout: the same seed and thread count replay a run bit for bit
 * @param threads         worker threads
 * @param checkpoint      checkpoint file written every {@code checkpointEvery} steps and at the end, or {@code null}
 * @param checkpointEvery steps between checkpoints
 * @param resume          checkpoint to continue from, or {@code null}
 */
public record DistillOptions(int[] layers, int epochs, long maxSteps, int batchSize, int maxLength, float lr,
        float warmupFraction, boolean cosineDecay, float weightDecay, float clipNorm, float dropout, float cosineWeight,
        float pooledMseWeight, float hiddenWeight, float attentionWeight, float similarityWeight, boolean crops, boolean trainEmbeddings, long seed, int threads, Path checkpoint,
        int checkpointEvery, Path resume) {

    public DistillOptions {
        layers = layers.clone();
        if (epochs < 1 || maxSteps < 0 || batchSize < 1 || maxLength < 2 || !(lr > 0) || !(warmupFraction >= 0
                && warmupFraction < 1) || !(weightDecay >= 0) || !(clipNorm >= 0) || !(dropout >= 0 && dropout < 1)
                || !(cosineWeight >= 0) || !(pooledMseWeight >= 0) || !(hiddenWeight >= 0) || !(attentionWeight >= 0) || !(similarityWeight >= 0)
                || threads < 1 || checkpointEvery < 1) {
            throw new IllegalArgumentException("invalid distillation settings: " + describe(layers, epochs, maxSteps,
                    batchSize, maxLength, lr, warmupFraction, weightDecay, clipNorm, dropout, threads));
        }
        if (cosineWeight + pooledMseWeight + hiddenWeight + attentionWeight + similarityWeight == 0) {
            throw new IllegalArgumentException("every loss weight is 0: nothing to train");
        }
    }

    private static String describe(int[] layers, int epochs, long maxSteps, int batch, int maxLength, float lr,
            float warm, float decay, float clip, float dropout, int threads) {
        return "layers " + java.util.Arrays.toString(layers) + ", epochs " + epochs + ", steps " + maxSteps + ", batch "
                + batch + ", max length " + maxLength + ", lr " + lr + ", warm-up " + warm + ", decay " + decay
                + ", clip " + clip + ", dropout " + dropout + ", threads " + threads;
    }

    /**
     * The default recipe for a 3-layer student of a 6-layer embedding model (measured best of those tried, see
     * docs/distillation.md): layers 0, 2, 4; one epoch of batches of 32; AdamW at lr 1e-3, 5% warm-up, linear
     * decay; pooled cosine + hidden-state MSE; crop views on.
     */
    public static DistillOptions defaults() {
        return new DistillOptions(new int[] {0, 2, 4}, 1, 0, 32, 128, 1e-3f, 0.05f, false, 0.01f, 1.0f, 0f, 1f, 0f, 1f, 0f, 0f, true, false,
                42, dev.compresso.engine.kernel.KernelPool.cores(), null, 200, null);
    }

    @Override
    public int[] layers() {
        return layers.clone();
    }

    /** A copy with other fields; {@code with} helpers keep call sites short. */
    public DistillOptions withLayers(int[] l) {
        return new DistillOptions(l, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay, weightDecay,
                clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, seed, threads, checkpoint,
                checkpointEvery, resume);
    }

    public DistillOptions withSteps(int ep, long steps) {
        return new DistillOptions(layers, ep, steps, batchSize, maxLength, lr, warmupFraction, cosineDecay, weightDecay,
                clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, seed, threads, checkpoint,
                checkpointEvery, resume);
    }

    public DistillOptions withBatch(int batch, int maxLen) {
        return new DistillOptions(layers, epochs, maxSteps, batch, maxLen, lr, warmupFraction, cosineDecay, weightDecay,
                clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, seed, threads, checkpoint,
                checkpointEvery, resume);
    }

    public DistillOptions withOptimizer(float rate, float warm, boolean cosine, float decay, float clip) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, rate, warm, cosine, decay, clip, dropout,
                cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, seed, threads, checkpoint, checkpointEvery,
                resume);
    }

    public DistillOptions withLosses(float cos, float pooledMse, float hidden, float attention) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, dropout, cos, pooledMse, hidden, attention, similarityWeight, crops, trainEmbeddings, seed, threads, checkpoint, checkpointEvery,
                resume);
    }

    public DistillOptions withSimilarity(float weight) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, weight, crops, trainEmbeddings, seed,
                threads, checkpoint, checkpointEvery, resume);
    }

    public DistillOptions withCrops(boolean c) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight,
                similarityWeight, c, trainEmbeddings, seed, threads, checkpoint, checkpointEvery, resume);
    }

    public DistillOptions withTrainEmbeddings(boolean train) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight,
                similarityWeight, crops, train, seed, threads, checkpoint, checkpointEvery, resume);
    }

    public DistillOptions withRun(long s, int t, float drop) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, drop, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, s, t, checkpoint,
                checkpointEvery, resume);
    }

    public DistillOptions withCheckpoint(Path file, int every, Path resumeFrom) {
        return new DistillOptions(layers, epochs, maxSteps, batchSize, maxLength, lr, warmupFraction, cosineDecay,
                weightDecay, clipNorm, dropout, cosineWeight, pooledMseWeight, hiddenWeight, attentionWeight, similarityWeight, crops, trainEmbeddings, seed, threads,
                file, every, resumeFrom);
    }

    /**
     * What must not change between a run and its resumption (data order, shapes, recipe); the thread count is
     * included because the bit-exact replay holds at one thread count.
     */
    String fingerprint(int corpusSize, long corpusHash) {
        return "layers=" + java.util.Arrays.toString(layers) + " epochs=" + epochs + " maxSteps=" + maxSteps + " batch="
                + batchSize + " maxLength=" + maxLength + " lr=" + lr + " warmup=" + warmupFraction + " cosine="
                + cosineDecay + " decay=" + weightDecay + " clip=" + clipNorm + " dropout=" + dropout + " losses="
                + cosineWeight + "/" + pooledMseWeight + "/" + hiddenWeight + "/" + attentionWeight
                + (similarityWeight == 0 ? "" : "/similarity " + similarityWeight) + (crops ? " crops" : "") + (trainEmbeddings ? " word-table" : "") + " seed=" + seed
                + " threads=" + threads + " corpus=" + corpusSize + ":" + Long.toHexString(corpusHash);
    }
}
