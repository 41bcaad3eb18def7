package dev.compresso.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.PackedWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PrunerTest {
    @TempDir
    Path dir;

    /** 2 heads of 5, 13 FFN neurons: nothing is a multiple of 4. */
    static final TinyEncoder ENC = new TinyEncoder(10, 2, 13);

    static Pruner.Options opts(Pruner.Method m, double s, Layout l) {
        return Pruner.Options.of(m, s).withLayout(l);
    }

    static long zeros(PackedWeights w) {
        return Masks.zeros(w.toDense());
    }

    static void assertClose(float[] want, float[] got, float tol) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tol * Math.max(1, Math.abs(want[i])), "element " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, 0.3, 0.5, 0.9, 1})
    void magnitudeHitsTheExactCountInEveryLayer(double s) {
        Graph g = ENC.graph(1, null);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.MAGNITUDE, s, Layout.CSR), null);
        assertEquals(6, r.layers().size());
        for (Linear l : r.graph().linears()) {
            long size = (long) l.outFeatures() * l.inFeatures();
            assertEquals(Math.round(s * size), zeros(l.weights()), l.name());
            assertTrue(l.weights() instanceof CsrMatrix);
        }
        // The source graph is untouched.
        for (Linear l : g.linears()) {
            assertEquals(0, zeros(l.weights()));
        }
    }

    @Test
    void globalUsesOneThresholdAndKeepsTheFloor() {
        Graph g = ENC.graph(2, null);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.GLOBAL, 0.6, Layout.DENSE), null);
        long total = 0, zeroed = 0;
        float maxPruned = 0, minKept = Float.MAX_VALUE;
        for (Linear l : g.linears()) {
            float[] before = l.weights().toDense(), after = ((Linear) r.graph().node(l.name())).weights().toDense();
            total += before.length;
            for (int i = 0; i < before.length; i++) {
                if (after[i] == 0f) {
                    zeroed++;
                    maxPruned = Math.max(maxPruned, Math.abs(before[i]));
                } else {
                    assertEquals(before[i], after[i]);
                    minKept = Math.min(minKept, Math.abs(before[i]));
                }
            }
        }
        assertEquals(Math.round(0.6 * total), zeroed);
        assertTrue(maxPruned <= minKept, "one threshold across layers: " + maxPruned + " vs " + minKept);
        // At 99% the floor binds: every layer keeps at least 10% of its weights.
        Pruner.Options floor = new Pruner.Options(Pruner.Method.GLOBAL, 0.99, 0.10, Layout.DENSE, Layout.Values.FP32, 8, 1);
        for (Linear l : Pruner.run(g, floor, null).graph().linears()) {
            long size = (long) l.outFeatures() * l.inFeatures();
            assertTrue(size - zeros(l.weights()) >= Math.ceil(0.10 * size), l.name());
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, 0.4, 0.75, 1})
    void blockPruningZerosWholeBlocks(double s) {
        Graph g = ENC.graph(3, null);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.BLOCK, s, Layout.BSR), null);
        for (Linear l : r.graph().linears()) {
            int n = l.outFeatures(), k = l.inFeatures();
            float[] w = l.weights().toDense();
            int nb = BsrMatrix.blockRows(n), zeroBlocks = 0;
            for (int b = 0; b < nb; b++) {
                for (int c = 0; c < k; c++) {
                    int nz = 0, len = 0;
                    for (int row = 4 * b; row < Math.min(n, 4 * b + 4); row++, len++) {
                        nz += w[row * k + c] != 0f ? 1 : 0;
                    }
                    assertTrue(nz == 0 || nz == len, l.name() + " block " + b + "," + c);
                    zeroBlocks += nz == 0 ? 1 : 0;
                }
            }
            assertEquals(Math.round(s * nb * k), zeroBlocks, l.name());
            assertEquals(Math.round(s * nb * k), (long) nb * k - ((BsrMatrix) l.weights()).blocks(), l.name());
            // an all-zero matrix is every block pattern at once; the widest is reported
            assertEquals(s == 0 ? Pattern.DENSE : s == 1 ? Pattern.BLOCK_16X1 : Pattern.BLOCK_4X1, Pattern.of(l.weights()));
        }
    }

    /** 16x1 blocks: hidden 128 (eight whole block rows), FFN 37 (the last block row is 5 channels). */
    @ParameterizedTest
    @ValueSource(doubles = {0, 0.5, 0.9, 1})
    void block16ZerosWhole16x1BlocksAndInt8StorageShrinks(double s) {
        TinyEncoder enc = new TinyEncoder(128, 4, 37);
        Graph g = enc.graph(11, null);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.BLOCK16, s, Layout.BSR16), null);
        Graph int8 = Pruner.run(g, opts(Pruner.Method.BLOCK16, s, Layout.BSR16).withValues(Layout.Values.INT8), null).graph();
        int sizeChecked = 0;
        for (Linear l : r.graph().linears()) {
            int n = l.outFeatures(), k = l.inFeatures();
            float[] w = l.weights().toDense();
            int nb = (n + 15) / 16, zeroBlocks = 0;
            for (int b = 0; b < nb; b++) {
                for (int c = 0; c < k; c++) {
                    int nz = 0, len = 0;
                    for (int row = 16 * b; row < Math.min(n, 16 * b + 16); row++, len++) {
                        nz += w[row * k + c] != 0f ? 1 : 0;
                    }
                    assertTrue(nz == 0 || nz == len, l.name() + " block " + b + "," + c);
                    zeroBlocks += nz == 0 ? 1 : 0;
                }
            }
            assertEquals(Math.round(s * nb * k), zeroBlocks, l.name());
            assertTrue(l.weights() instanceof dev.compresso.engine.weights.Bsr16Matrix, l.weights().format());
            if (s == 0.5 && n % 16 == 0 && k >= 128) { // per-row scales and pointers amortised, as in real layers
                // int8 values + 16-bit block columns + row scales against dense int8 panels of the same layer
                long dense = Layout.int8Panels(((Linear) g.node(l.name())).weights().toDense(), n, k).byteSize();
                long sparse = ((Linear) int8.node(l.name())).weights().byteSize();
                assertTrue(sparse <= 0.6 * dense, sparse + " vs " + dense);
                sizeChecked++;
            }
        }
        assertEquals(s == 0.5 ? 4 : 0, sizeChecked, "q, k, v and o are 128 x 128");
    }

    @Test
    void twoFourKeepsAtMostTwoPerGroup() {
        Graph g = ENC.graph(4, null);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.NM_2_4, 0.5, Layout.CSR), null);
        for (Linear l : r.graph().linears()) {
            int n = l.outFeatures(), k = l.inFeatures();
            float[] w = l.weights().toDense(), orig = ((Linear) g.node(l.name())).weights().toDense();
            for (int row = 0; row < n; row++) {
                for (int c0 = 0; c0 < k; c0 += 4) {
                    int nz = 0, len = Math.min(4, k - c0);
                    float minKept = Float.MAX_VALUE, maxGone = 0;
                    for (int c = c0; c < c0 + len; c++) {
                        if (w[row * k + c] != 0f) {
                            nz++;
                            minKept = Math.min(minKept, Math.abs(orig[row * k + c]));
                        } else {
                            maxGone = Math.max(maxGone, Math.abs(orig[row * k + c]));
                        }
                    }
                    assertEquals(Math.min(2, len), nz, l.name() + " row " + row + " group " + c0);
                    assertTrue(maxGone <= minKept);
                }
            }
            assertEquals(Pattern.NM_2_4, Pattern.of(l.weights()));
        }
    }

    /** Each layout of the same pruned weights densifies to exactly the masked matrix, and the models agree. */
    @ParameterizedTest
    @ValueSource(strings = {"magnitude", "block", "block16", "2:4", "global"})
    void layoutsAgreeAndDensifyBitForBit(String method) throws Exception {
        Graph g = ENC.graph(5, null);
        Pruner.Method m = Pruner.Method.parse(method);
        Graph dense = Pruner.run(g, opts(m, 0.7, Layout.DENSE), null).graph();
        float[] x = ENC.input(2, 7, 9);
        float[] want = ENC.run(dense, x, 2, 7);
        List<Layout> layouts = new java.util.ArrayList<>(List.of(Layout.CSR, Layout.BSR, Layout.BSR16, Layout.PROBE));
        if (m == Pruner.Method.NM_2_4) {
            layouts.add(Layout.NM24);
        } else {
            // 2:4 storage holds 2:4 weights only and says so
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Pruner.run(g, opts(m, 0.7, Layout.NM24), null));
            assertTrue(e.getMessage().contains("2:4"), e.getMessage());
        }
        for (Layout l : layouts) {
            Pruner.Result r = Pruner.run(g, opts(m, 0.7, l), null);
            var densify = new Graph("d", r.graph().inputs(), r.graph().outputs(), r.graph().nodes(), Map.of()).rewrite();
            for (Linear lin : r.graph().linears()) {
                float[] d = lin.weights().toDense();
                assertArrayEquals(((Linear) dense.node(lin.name())).weights().toDense(), d, lin.name() + " " + l);
                densify.replace(lin, lin.withWeights(Fp32Panels.pack(d, lin.outFeatures(), lin.inFeatures())));
            }
            Graph densified = densify.build();
            // Pruned-then-densified is the masked dense model, bit for bit.
            assertArrayEquals(want, ENC.run(densified, x, 2, 7));
            // The sparse kernels give the same outputs within rounding.
            assertClose(want, ENC.run(r.graph(), x, 2, 7), 1e-4f);
            if (l == Layout.PROBE) {
                for (Pruner.LayerReport lr : r.layers()) {
                    assertTrue(lr.probe().contains("dense") && lr.probe().contains("csr") && lr.probe().contains("bsr")
                            && lr.probe().contains("bsr16"), lr.probe());
                    if (m == Pruner.Method.NM_2_4) { // (sparser layers may happen to be 2:4 too)
                        assertTrue(lr.probe().contains("nm24"), lr.probe());
                    }
                    assertTrue(lr.line().contains(lr.kernel()));
                }
            }
        }
    }

    @Test
    void ffnRemovalOfZeroNeuronsLeavesOutputsUnchanged() throws Exception {
        // Neurons 0, 5, 6, 12 contribute nothing: their columns of the down projection are zero.
        int[] dead = {0, 5, 6, 12};
        Graph g = ENC.graph(6, (name, w, n, k) -> {
            if (name.equals("down")) {
                for (int row = 0; row < n; row++) {
                    for (int j : dead) {
                        w[row * k + j] = 0f;
                    }
                }
            }
        });
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.FFN, dead.length / 13.0, Layout.PROBE), null);
        Linear up = (Linear) r.graph().node("up"), down = (Linear) r.graph().node("down");
        assertEquals(9, up.outFeatures());
        assertEquals(9, down.inFeatures());
        assertEquals(9, up.bias().length);
        assertTrue(up.weights() instanceof Fp32Panels && down.weights() instanceof Fp32Panels);
        assertEquals(2, r.layers().size());
        float[] x = ENC.input(3, 5, 1);
        assertClose(ENC.run(g, x, 3, 5), ENC.run(r.graph(), x, 3, 5), 1e-5f);
    }

    @Test
    void headRemovalOfZeroHeadLeavesOutputsUnchanged() throws Exception {
        // Head 0 (features 0..4) contributes nothing: its columns of the output projection are zero.
        Graph g = new TinyEncoder(15, 3, 7).graph(7, (name, w, n, k) -> {
            if (name.equals("o")) {
                for (int row = 0; row < n; row++) {
                    for (int c = 0; c < 5; c++) {
                        w[row * k + c] = 0f;
                    }
                }
            }
        });
        TinyEncoder enc = new TinyEncoder(15, 3, 7);
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.HEADS, 1 / 3.0, Layout.PROBE), null);
        assertEquals(2, ((Attention) r.graph().node("att")).heads());
        for (String q : List.of("q", "k", "v")) {
            assertEquals(10, ((Linear) r.graph().node(q)).outFeatures());
        }
        assertEquals(10, ((Linear) r.graph().node("o")).inFeatures());
        float[] x = enc.input(2, 6, 3);
        assertClose(enc.run(g, x, 2, 6), enc.run(r.graph(), x, 2, 6), 1e-5f);
        // Removing every head keeps one; removing no unit changes nothing.
        assertEquals(1, ((Attention) Pruner.run(g, opts(Pruner.Method.HEADS, 1, Layout.DENSE), null).graph().node("att")).heads());
        assertArrayEquals(enc.run(g, x, 2, 6), enc.run(Pruner.run(g, opts(Pruner.Method.FFN, 0, Layout.DENSE), null).graph(), x, 2, 6));
    }

    @Test
    void degenerateInputs() throws Exception {
        // All-zero rows, a fully pruned model (every output is the bias path), K not a multiple of 4.
        Graph g = ENC.graph(8, (name, w, n, k) -> java.util.Arrays.fill(w, 0, 2 * k, 0f));
        float[] x = ENC.input(1, 3, 2);
        for (Pruner.Method m : Pruner.Method.values()) {
            for (double s : new double[] {0, 1}) {
                for (Layout l : List.of(Layout.DENSE, Layout.CSR, Layout.BSR)) {
                    Pruner.Result r = Pruner.run(g, opts(m, s, l), null);
                    float[] y = ENC.run(r.graph(), x, 1, 3);
                    for (float v : y) {
                        assertTrue(Float.isFinite(v), m + " " + s + " " + l);
                    }
                }
            }
        }
        Graph none = new Graph("none", g.inputs(), g.outputs(), List.of(), Map.of());
        assertThrows(IllegalArgumentException.class, () -> Pruner.run(none, opts(Pruner.Method.GLOBAL, 0.5, Layout.DENSE), null));
        assertThrows(IllegalArgumentException.class, () -> Pruner.run(none, opts(Pruner.Method.FFN, 0.5, Layout.DENSE), null));
        assertThrows(IllegalArgumentException.class, () -> Pruner.Options.of(Pruner.Method.GLOBAL, 1.5));
        assertThrows(IllegalArgumentException.class, () -> Pruner.Method.parse("random"));
        assertThrows(IllegalArgumentException.class,
                () -> Pruner.run(g, opts(Pruner.Method.BLOCK, 0.5, Layout.BSR).withValues(Layout.Values.INT8), null));
    }

    @Test
    void int8AndFp16ValuesFollowTheMask() throws Exception {
        Graph g = ENC.graph(10, null);
        float[] x = ENC.input(1, 4, 5);
        float[] ref = ENC.run(Pruner.run(g, opts(Pruner.Method.MAGNITUDE, 0.5, Layout.DENSE), null).graph(), x, 1, 4);
        for (Layout.Values v : List.of(Layout.Values.FP16, Layout.Values.INT8)) {
            for (Layout l : List.of(Layout.DENSE, Layout.CSR, Layout.PROBE)) {
                Pruner.Result r = Pruner.run(g, opts(Pruner.Method.MAGNITUDE, 0.5, l).withValues(v), null);
                for (Linear lin : r.graph().linears()) {
                    assertTrue(lin.weights().format().contains(v.name().toLowerCase()), lin.weights().format());
                    assertTrue(zeros(lin.weights()) >= Math.round(0.5 * lin.outFeatures() * lin.inFeatures()));
                }
                assertClose(ref, ENC.run(r.graph(), x, 1, 4), v == Layout.Values.INT8 ? 0.1f : 0.01f);
            }
        }
    }

    @Test
    void sparseModelSavesAndReloadsBitForBit() throws Exception {
        Graph g = ENC.graph(11, null);
        float[] x = ENC.input(2, 3, 4);
        for (Layout l : List.of(Layout.CSR, Layout.BSR)) {
            Graph pruned = Pruner.run(g, opts(Pruner.Method.BLOCK, 0.6, l), null).graph();
            Path p = dir.resolve("pruned-" + l);
            ModelFiles.write(pruned, null, Map.of("pruning", "test"), p);
            try (Model m = Model.load(p)) {
                List<String> formats = new ArrayList<>();
                for (Linear back : m.graph().linears()) {
                    PackedWeights a = ((Linear) pruned.node(back.name())).weights(), b = back.weights();
                    assertEquals(a.format(), b.format());
                    formats.add(b.format());
                    for (int i = 0; i < a.parts().size(); i++) {
                        assertEquals(-1, a.parts().get(i).data().mismatch(b.parts().get(i).data()), back.name());
                    }
                }
                assertTrue(formats.stream().allMatch(f -> f.startsWith(l.name().toLowerCase())), formats.toString());
                assertArrayEquals(ENC.run(pruned, x, 2, 3), ENC.run(m.graph(), x, 2, 3));
            }
        }
    }

    /**
     * With calibration activations the mask methods rank |w_ij|·sqrt(E[x_j²]): an input column of tiny weights
     * that always carries a large activation is kept whole, and without the activations it is the first to go.
     */
    @ParameterizedTest
    @ValueSource(strings = {"magnitude", "block16", "2:4"})
    void activationAwareScoresKeepTheWeightsOfLoudInputs(String method) {
        Graph g0 = ENC.graph(12, null);
        Linear down = (Linear) g0.node("down");
        int n = down.outFeatures(), k = down.inFeatures();
        float[] w = down.weights().toDense();
        for (int r = 0; r < n; r++) {
            w[r * k] *= 1e-3f; // column 0: the smallest weights of the layer
        }
        Graph g = g0.rewrite().replace(down, down.withWeights(Fp32Panels.pack(w, n, k))).build();
        double[] ms = new double[k];
        java.util.Arrays.fill(ms, 1.0);
        ms[0] = 1e16; // ... on by far the loudest input
        Pruner.Method m = Pruner.Method.parse(method);
        float[] plain = ((Linear) Pruner.run(g, opts(m, 0.5, Layout.DENSE), null).graph().node("down")).weights().toDense();
        float[] aware = ((Linear) Pruner.run(g, opts(m, 0.5, Layout.DENSE), Map.of("down", ms), null).graph().node("down"))
                .weights().toDense();
        assertEquals(Masks.zeros(plain), Masks.zeros(aware), "the same sparsity either way");
        for (int r = 0; r < n; r++) {
            assertEquals(0f, plain[r * k], "by magnitude, column 0 goes (row " + r + ")");
            assertEquals(w[r * k], aware[r * k], "by activations, column 0 stays (row " + r + ")");
        }
        for (int i = 0; i < w.length; i++) {
            assertTrue(aware[i] == 0f || aware[i] == w[i], "kept weights are unchanged");
        }
    }

    @Test
    void activationImportanceOverridesWeightNorms() throws Exception {
        Graph g = ENC.graph(12, null);
        // Neurons 1, 2 and 3 never fire on the calibration set; the others do.
        double[] hsq = new double[13];
        java.util.Arrays.fill(hsq, 1.0);
        hsq[1] = hsq[2] = hsq[3] = 0;
        Pruner.Result r = Pruner.run(g, opts(Pruner.Method.FFN, 3 / 13.0, Layout.DENSE), Map.of("down", hsq), null);
        float[] down = ((Linear) g.node("down")).weights().toDense();
        float[] kept = ((Linear) r.graph().node("down")).weights().toDense();
        // Kept columns are the original 0, 4, 5, ... 12.
        int[] cols = {0, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        for (int row = 0; row < 10; row++) {
            for (int c = 0; c < cols.length; c++) {
                assertEquals(down[row * 13 + cols[c]], kept[row * 10 + c]);
            }
        }
        assertTrue(r.layers().get(0).pattern().contains("by activations"), r.layers().get(0).pattern());
        // Heads: the head whose attention output is silent goes.
        TinyEncoder enc = new TinyEncoder(15, 3, 7);
        Graph h = enc.graph(13, null);
        double[] asq = new double[15];
        java.util.Arrays.fill(asq, 1.0);
        for (int i = 10; i < 15; i++) {
            asq[i] = 0;
        }
        Pruner.Result rh = Pruner.run(h, opts(Pruner.Method.HEADS, 1 / 3.0, Layout.DENSE), Map.of("o", asq), null);
        float[] q = ((Linear) h.node("q")).weights().toDense(), q2 = ((Linear) rh.graph().node("q")).weights().toDense();
        assertArrayEquals(java.util.Arrays.copyOf(q, 10 * 15), q2);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 16})
    void globalBlockRanksBlocksAcrossLayers(int br) {
        Graph g = ENC.graph(14, null);
        Pruner.Result r = Pruner.run(g, br == 4 ? opts(Pruner.Method.BLOCK_GLOBAL, 0.5, Layout.BSR)
                : opts(Pruner.Method.BLOCK16_GLOBAL, 0.5, Layout.BSR16), null);
        long blocks = 0, zeroBlocks = 0;
        float maxGone = 0, minKept = Float.MAX_VALUE;
        for (Linear l : g.linears()) {
            int n = l.outFeatures(), k = l.inFeatures();
            float[] before = Masks.blockScores(l.weights().toDense(), n, k, br);
            float[] after = Masks.blockScores(((Linear) r.graph().node(l.name())).weights().toDense(), n, k, br);
            blocks += before.length;
            for (int i = 0; i < before.length; i++) {
                if (after[i] == 0f) {
                    zeroBlocks++;
                    maxGone = Math.max(maxGone, before[i]);
                } else {
                    assertEquals(before[i], after[i]);
                    minKept = Math.min(minKept, before[i]);
                }
            }
            assertEquals(br == 4 ? Pattern.BLOCK_4X1 : Pattern.BLOCK_16X1, Pattern.of(((Linear) r.graph().node(l.name())).weights()));
        }
        assertEquals(Math.round(0.5 * blocks), zeroBlocks);
        assertTrue(maxGone <= minKept);
    }
}
