package dev.compresso.engine.format;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.PackedWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sparse weights read from a file are checked before any kernel indexes with them: a forged index (column out
 * of range or repeated, row pointers that go backwards or past the stored count, a bad int8 row scale) is
 * refused with a {@link ModelException} naming the file and the weights.
 */
class ForgedSparseTest {
    @TempDir
    Path dir;

    static final int N = 6, K = 9;

    static float[] weights() {
        float[] w = new float[N * K];
        for (int i = 0; i < w.length; i++) {
            w[i] = i % 3 == 0 ? 0f : (i % 7) - 3f + 0.5f;
        }
        return w;
    }

    /** Writes {@code w} with one part edited by {@code forge}, reads it back as {@code format}. */
    private void refused(PackedWeights w, String partName, Consumer<MemorySegment> forge, String expect) throws Exception {
        List<TensorFile.Entry> es = new ArrayList<>();
        for (TensorFile.Entry e : PackedCodec.entries("layer.w", w)) {
            MemorySegment copy = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, e.data().byteSize()), 64)
                    .asSlice(0, e.data().byteSize());
            copy.copyFrom(e.data());
            if (e.name().equals("layer.w." + partName)) {
                forge.accept(copy);
            }
            es.add(new TensorFile.Entry(e.name(), e.dtype(), e.shape(), copy));
        }
        Path p = dir.resolve("forged" + System.nanoTime());
        TensorFile.write(p, Map.of(), es);
        TensorFile f = TensorFile.open(p);
        ModelException e = assertThrows(ModelException.class, () -> PackedCodec.read(f, "layer.w", w.format(), N, K));
        assertTrue(e.getMessage().contains("layer.w") && e.getMessage().contains(p.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expect), e.getMessage());
    }

    static Consumer<MemorySegment> setInt(long index, int value) {
        return s -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index, value);
    }

    @Test
    void forgedCsrIsRefused() throws Exception {
        for (CsrMatrix.ValueType vt : CsrMatrix.ValueType.values()) {
            CsrMatrix c = CsrMatrix.fromDense(weights(), N, K, vt);
            refused(c, "col_idx", setInt(3, K), "column index");
            refused(c, "col_idx", setInt(1, -1), "column index");
            refused(c, "col_idx", setInt(1, c.col(0)), "column index"); // repeated column in row 0
            refused(c, "row_ptr", setInt(2, c.rowStart(1) - 1), "out of order"); // goes backwards
            refused(c, "row_ptr", setInt(3, c.nnz() + 5), "out of order"); // past nnz
            refused(c, "row_ptr", setInt(0, 1), "start at 0");
            refused(c, "row_ptr", setInt(N, c.nnz() - 1), "colIdx has"); // nnz disagrees with the index size
        }
        CsrMatrix q = CsrMatrix.fromDense(weights(), N, K, CsrMatrix.ValueType.INT8);
        refused(q, "row_scales", s -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2, Float.NaN), "row_scales");
        refused(q, "row_scales", s -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0, -1f), "row_scales");
    }

    @Test
    void forgedBsrIsRefused() throws Exception {
        BsrMatrix b = BsrMatrix.fromDense(weights(), N, K);
        refused(b, "block_col", setInt(0, K + 3), "out of range");
        refused(b, "block_col", setInt(1, b.col(0)), "not increasing");
        refused(b, "block_ptr", setInt(1, b.blocks() + 1), "out of order");
        refused(b, "block_ptr", setInt(0, 2), "start at 0");
        refused(b, "block_ptr", setInt(BsrMatrix.blockRows(N), b.blocks() - 1), "blockCol has");
        // Padding rows of the last block row (N = 6: rows 6 and 7) must hold zero.
        int lastRow = BsrMatrix.blockRows(N) - 1;
        refused(b, "values", s -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED,
                (long) b.blockStart(lastRow) * BsrMatrix.BLOCK_ROWS + 3, 1f), "padding");
    }

    @Test
    void forgedNm24IsRefused() throws Exception {
        for (CsrMatrix.ValueType vt : CsrMatrix.ValueType.values()) {
            Nm24Matrix w = Nm24Matrix.fromDense(weights(), N, K, vt);
            // K = 9: three groups; word of channel 0 holds nibbles of groups 0..2, the rest must be 0.
            refused(w, "indices", s -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0,
                    s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0) & ~15 | 0b0101), "does not name two increasing");
            refused(w, "indices", s -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 1,
                    s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 1) & ~(15 << 4) | 0b0011 << 4), "does not name two increasing");
            refused(w, "indices", s -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 2,
                    s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 2) | 4 << 12), "past the last group");
            refused(w, "indices", s -> s.fill((byte) 0), "does not name two increasing");
            // Channel 7 is padding (N = 6): its slots must stay zero.
            refused(w, "values", s -> s.set(ValueLayout.JAVA_BYTE, (long) 7 * vt.bytes() + vt.bytes() - 1, (byte) 0x3c),
                    "padding slot");
        }
        Nm24Matrix q = Nm24Matrix.fromDense(weights(), N, K, CsrMatrix.ValueType.INT8);
        refused(q, "row_scales", s -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1, Float.POSITIVE_INFINITY), "row_scales");
    }

    @Test
    void nm24RoundTripsThroughAFile() throws Exception {
        Nm24Matrix w = Nm24Matrix.fromDense(weights(), N, K, CsrMatrix.ValueType.FP16);
        Path p = dir.resolve("nm24");
        TensorFile.write(p, Map.of(), PackedCodec.entries("layer.w", w));
        PackedWeights back = PackedCodec.read(TensorFile.open(p), "layer.w", w.format(), N, K);
        org.junit.jupiter.api.Assertions.assertArrayEquals(w.toDense(), back.toDense());
    }

    @Test
    void forgedBsr16IsRefused() throws Exception {
        for (CsrMatrix.ValueType vt : CsrMatrix.ValueType.values()) {
            Bsr16Matrix b = Bsr16Matrix.fromDense(weights(), N, K, vt);
            Consumer<MemorySegment> col0 = s -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) K);
            refused(b, "block_col", col0, "out of range");
            refused(b, "block_col", s -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 1, (short) b.col(0)), "not increasing");
            refused(b, "block_col", s -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) -1), "out of range");
            // N = 6 is one block row: its end pointer is the block count, checked against the column bytes.
            refused(b, "block_ptr", setInt(1, b.blocks() + 1), "blockCol has");
            refused(b, "block_ptr", setInt(0, 2), "start at 0");
            refused(b, "block_ptr", setInt(1, b.blocks() - 1), "blockCol has");
            // N = 6: rows 6..15 of every block are padding and must hold zero.
            refused(b, "values", s -> s.set(ValueLayout.JAVA_BYTE, 15L * vt.bytes() + vt.bytes() - 1, (byte) 0x3c), "padding");
        }
        Bsr16Matrix q = Bsr16Matrix.fromDense(weights(), N, K, CsrMatrix.ValueType.INT8);
        refused(q, "row_scales", s -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 3, Float.NaN), "row_scales");
    }
}
