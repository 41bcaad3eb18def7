package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AutoPlannerTest {
    /** A synthetic model: each quantized layer costs a fixed amount of cosine, additively. */
    static AutoPlanner.Evaluator additive(Map<String, Double> cost) {
        return wide -> {
            double c = 1;
            for (var e : cost.entrySet()) {
                if (!wide.contains(e.getKey())) c -= e.getValue();
            }
            return c;
        };
    }

    @Test
    void keepsTheFewestMostSensitiveLayers() throws Exception {
        Map<String, Double> cost = Map.of("a", 0.001, "b", 0.010, "c", 0.0005, "d", 0.004, "e", 0.0001);
        List<String> log = new ArrayList<>();
        AutoPlanner.Plan p = AutoPlanner.search(List.of("a", "b", "c", "d", "e"), additive(cost), 0.9975, 60_000, log::add);
        assertEquals(List.of("b", "d"), p.wide()); // remaining cost 0.0016 ≤ 0.0025; keeping only b leaves 0.0056
        assertTrue(p.targetMet());
        assertEquals(1 - 0.0016, p.meanCosine(), 1e-12);
        assertEquals(0.010, p.sensitivity().get("b"), 1e-12);
        assertFalse(log.isEmpty());
    }

    @Test
    void nothingWideWhenAllQuantizedMeetsTarget() throws Exception {
        AutoPlanner.Plan p = AutoPlanner.search(List.of("a", "b"), additive(Map.of("a", 0.0001, "b", 0.0001)), 0.99, 60_000, s -> {});
        assertEquals(List.of(), p.wide());
        assertTrue(p.targetMet());
    }

    @Test
    void unreachableTargetKeepsEverythingWide() throws Exception {
        AutoPlanner.Evaluator broken = wide -> wide.size() == 2 ? 0.999 : 0.5;
        AutoPlanner.Plan p = AutoPlanner.search(List.of("a", "b"), broken, 0.9999, 60_000, s -> {});
        assertEquals(Set.of("a", "b"), Set.copyOf(p.wide()));
        assertFalse(p.targetMet());
    }

    @Test
    void badTarget() {
        assertThrows(IllegalArgumentException.class, () -> AutoPlanner.search(List.of("a"), w -> 1, 1.5, 1000, s -> {}));
    }
}
