package dev.compresso.distill.train;

/**
 * Learning rate per step: linear warm-up over {@code warmup} steps to {@code peak}, then linear or cosine decay
 * to 0 at {@code total} steps.
 *
 * @param peak   peak learning rate
 * @param warmup warm-up steps
 * @param total  total steps
 * @param cosine cosine (true) or linear (false) decay
 */
public record Schedule(float peak, long warmup, long total, boolean cosine) {
    public Schedule {
        if (!(peak > 0) || !Float.isFinite(peak) || warmup < 0 || total < 1 || warmup > total) {
            throw new IllegalArgumentException("schedule needs lr > 0 and 0 <= warmup <= total >= 1; got lr " + peak
                    + ", warmup " + warmup + ", total " + total);
        }
    }

    /** Learning rate for step {@code s} (0-based). */
    public float at(long s) {
        if (s < warmup) {
            return peak * (s + 1) / (float) warmup;
        }
        if (total == warmup) {
            return peak;
        }
        double progress = Math.min(1.0, (double) (s - warmup) / (total - warmup));
        double f = cosine ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
        return (float) (peak * f);
    }
}
