package dev.compresso.engine.text;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the embedder refuses before running anything: models that are not BERT-style encoders. */
class SentenceEmbedderContractTest {

    private static final WordPieceTokenizer TOK = MiniLmTokenizer.get();

    private static ValueInfo v(String name, DType t) {
        return new ValueInfo(name, t, List.of(new ValueInfo.Dim(-1, "batch"), new ValueInfo.Dim(-1, "sequence")));
    }

    /** A graph that passes the runtime's validation: each output is an Identity of the first input. */
    private static Model model(List<ValueInfo> inputs, List<ValueInfo> outputs) throws ModelException {
        List<Node> nodes = outputs.stream().map(o -> new Node("Identity", "", "id_" + o.name(),
                List.of(inputs.get(0).name()), List.of(o.name()), Map.of())).toList();
        return Model.of(new Graph("g", inputs, outputs, nodes, Map.of()));
    }

    @Test
    void rejectsModelsThatAreNotTextEncoders() throws Exception {
        List<ValueInfo> out = List.of(v("last_hidden_state", DType.FLOAT));
        ModelException e = assertThrows(ModelException.class,
                () -> new SentenceEmbedder(model(List.of(v("pixel_values", DType.FLOAT)), out), TOK));
        assertTrue(e.getMessage().contains("pixel_values"), e.getMessage());
        e = assertThrows(ModelException.class,
                () -> new SentenceEmbedder(model(List.of(v("attention_mask", DType.INT64)), out), TOK));
        assertTrue(e.getMessage().contains("input_ids"), e.getMessage());
        e = assertThrows(ModelException.class,
                () -> new SentenceEmbedder(model(List.of(v("input_ids", DType.FLOAT)), out), TOK));
        assertTrue(e.getMessage().contains("input_ids") && e.getMessage().contains("FLOAT"), e.getMessage());
        e = assertThrows(ModelException.class,
                () -> new SentenceEmbedder(model(List.of(v("input_ids", DType.INT64)), List.of()), TOK));
        assertTrue(e.getMessage().contains("no outputs"), e.getMessage());
        Model ok = model(List.of(v("input_ids", DType.INT64)), out);
        assertThrows(IllegalArgumentException.class, () -> new SentenceEmbedder(ok, TOK, new SessionOptions(), 0));
        assertThrows(NullPointerException.class, () -> new SentenceEmbedder(ok, null));
        try (SentenceEmbedder fine = new SentenceEmbedder(ok, TOK)) {
            assertTrue(fine.tokenizer() == TOK);
        }
    }
}
