package dev.compresso.quant;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The search behind {@code quantize --mode auto}: which layers to keep wide (fp16/fp32) so that the quantized
 * model still meets a fidelity target on the calibration sentences.
 *
 * <p>When every layer quantized already meets the target, that is the plan (no sensitivity pass). Otherwise the
 * sensitivity of a layer = the mean-cosine drop when that layer alone is quantized. Layers are ranked by
 * sensitivity and the smallest prefix of that ranking whose removal from quantization meets the target is
 * found by binary search (fidelity is close to monotone in the prefix length, and each evaluation is a full
 * pass over the calibration set, so a logarithmic number of them keeps the search inside its time budget).
 */
public final class AutoPlanner {

    /** Mean cosine of the model with every layer in {@code wide} kept unquantized and all others quantized. */
    @FunctionalInterface
    public interface Evaluator {
        /**
         * @param wide layers kept wide
         * @return mean cosine to the reference on the calibration set
         * @throws Exception if running the model fails
         */
        double meanCosine(Set<String> wide) throws Exception;
    }

    /**
     * The outcome.
     *
     * @param sensitivity cosine drop per layer when quantized alone (in layer order)
     * @param wide        layers kept wide, most sensitive first
     * @param meanCosine  measured mean cosine of the chosen plan
     * @param targetMet   whether {@code meanCosine ≥ target}
     * @param timedOut    whether the time budget cut the search short
     */
    public record Plan(Map<String, Double> sensitivity, List<String> wide, double meanCosine, boolean targetMet,
            boolean timedOut) {}

    private AutoPlanner() {}

    /**
     * Searches for the smallest set of wide layers meeting {@code target}.
     *
     * @param layers         candidate layers, in graph order
     * @param eval           runs the calibration set for a choice of wide layers
     * @param target         required mean cosine, in (0, 1]
     * @param budgetMillis   time budget for the whole search; when exceeded the best plan found so far that meets
     *                       the target is returned, or everything wide if none does
     * @param log            receives one line per measurement (for the per-layer report)
     * @return the plan
     * @throws Exception                if an evaluation fails
     * @throws IllegalArgumentException if the target is not in (0, 1]
     */
    public static Plan search(List<String> layers, Evaluator eval, double target, long budgetMillis,
            java.util.function.Consumer<String> log) throws Exception {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("target cosine must be in (0, 1], got " + target);
        }
        long deadline = System.currentTimeMillis() + budgetMillis;
        Set<String> all = new LinkedHashSet<>(layers);
        // 0. Everything quantized may already do: then no layer needs to stay wide and no sensitivity is needed.
        double loCos = eval.meanCosine(Set.of());
        log.accept(String.format(java.util.Locale.ROOT, "all layers quantized: mean cosine %.6f (target %.6f)", loCos, target));
        if (loCos >= target) {
            Map<String, Double> none = new LinkedHashMap<>();
            for (String l : layers) {
                none.put(l, Double.NaN);
            }
            return new Plan(none, List.of(), loCos, true, false);
        }
        // 1. Sensitivity: quantize one layer at a time (all others wide).
        Map<String, Double> sens = new LinkedHashMap<>();
        boolean timedOut = false;
        for (String l : layers) {
            if (System.currentTimeMillis() > deadline) {
                timedOut = true;
                sens.put(l, Double.POSITIVE_INFINITY); // unmeasured: treat as most sensitive
                continue;
            }
            Set<String> wide = new LinkedHashSet<>(all);
            wide.remove(l);
            double drop = 1.0 - eval.meanCosine(wide);
            sens.put(l, drop);
            log.accept(String.format(java.util.Locale.ROOT, "sensitivity %-40s cosine drop %.6f", l, drop));
        }
        List<String> ranked = new ArrayList<>(layers);
        ranked.sort(Comparator.comparingDouble((String l) -> sens.get(l)).reversed());
        // 2. Binary search on the prefix length p: keep ranked[0, p) wide.
        int lo = 0, hi = layers.size();
        double hiCos = 1.0; // everything wide = the reference itself
        while (hi - lo > 1) {
            if (System.currentTimeMillis() > deadline) {
                timedOut = true;
                break;
            }
            int mid = (lo + hi) >>> 1;
            double c = eval.meanCosine(new LinkedHashSet<>(ranked.subList(0, mid)));
            log.accept(String.format(java.util.Locale.ROOT, "keeping %d most sensitive layer(s) wide: mean cosine %.6f", mid, c));
            if (c >= target) {
                hi = mid;
                hiCos = c;
            } else {
                lo = mid;
            }
        }
        List<String> wide = List.copyOf(ranked.subList(0, hi));
        if (hi == layers.size() && hiCos == 1.0) {
            hiCos = eval.meanCosine(new LinkedHashSet<>(wide));
        }
        return new Plan(sens, wide, hiCos, hiCos >= target, timedOut);
    }
}
