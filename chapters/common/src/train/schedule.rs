//! The learning rate over a run: a linear warm-up, then a half cosine down to a floor.

use serde::{Deserialize, Serialize};

// ANCHOR: schedule
/// nanoGPT's `get_lr`, the one schedule every chapter trains with. At step t (counted from 0), with warm-up
/// length w, end of the decay D, peak η_max and floor η_min:
///
/// ```text
/// η_t = η_max · (t + 1)/(w + 1)                               for t < w
///       η_min + ½(η_max - η_min)(1 + cos(π(t - w)/(D - w)))   for w ≤ t ≤ D
///       η_min                                                 for t > D
/// ```
///
/// The first step already moves (η_0 = η_max / (w + 1), not 0) and the peak is reached at t = w.
/// Why warm up at all: Adam divides each step by its running estimate of the gradient's size, which after a
/// handful of steps rests on a handful of samples; large early steps taken on it can throw a freshly initialised
/// network somewhere it never recovers from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WarmupCosine {
    /// η_max, reached at the end of the warm-up.
    pub peak: f64,
    /// η_min, where the cosine ends.
    pub floor: f64,
    /// w.
    pub warmup_steps: usize,
    /// D: the step at which the rate reaches the floor (usually the last step of the run).
    pub decay_end: usize,
}

impl WarmupCosine {
    /// The fine-tuning chapters' schedule for a run of `total_steps`: a warm-up over its first tenth to `peak`,
    /// then the half cosine down to a tenth of it at the last step.
    pub fn fine_tuning(peak: f64, total_steps: usize) -> Self {
        WarmupCosine {
            peak,
            floor: peak / 10.0,
            warmup_steps: total_steps / 10,
            decay_end: total_steps,
        }
    }

    /// η_t for `step` = t.
    pub fn at(&self, step: usize) -> f64 {
        let (peak, floor, warmup) = (self.peak, self.floor, self.warmup_steps);
        if step < warmup {
            return peak * (step + 1) as f64 / (warmup + 1) as f64;
        }
        if step > self.decay_end {
            return floor;
        }
        let progress = (step - warmup) as f64 / (self.decay_end - warmup).max(1) as f64;
        floor + 0.5 * (peak - floor) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
// ANCHOR_END: schedule

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Case {
        learning_rate: f64,
        min_lr: f64,
        warmup_iters: usize,
        lr_decay_iters: usize,
        steps: Vec<(usize, f64)>,
    }

    /// `fixtures/nanogpt_get_lr.py` evaluated nanoGPT's own function at these steps.
    #[test]
    fn the_schedule_is_nanogpts_get_lr() {
        let cases: Vec<Case> = serde_json::from_str(include_str!("../../fixtures/nanogpt_get_lr.json")).unwrap();
        for case in cases {
            let schedule = WarmupCosine {
                peak: case.learning_rate,
                floor: case.min_lr,
                warmup_steps: case.warmup_iters,
                decay_end: case.lr_decay_iters,
            };
            for (step, expected) in case.steps {
                let got = schedule.at(step);
                assert!(
                    (got - expected).abs() <= 1e-15 * expected.abs().max(1e-12),
                    "{schedule:?} at step {step}: {got}, nanoGPT {expected}"
                );
            }
        }
    }

    proptest! {
        /// The rate rises during the warm-up, peaks at its end, falls to the floor and stays there.
        #[test]
        fn the_rate_rises_then_falls_and_stays_between_floor_and_peak(
            warmup_steps in 0usize..50,
            decay in 1usize..200,
            peak in 1e-5f64..1.0,
            floor_fraction in 0.0f64..1.0,
        ) {
            let schedule = WarmupCosine { peak, floor: peak * floor_fraction, warmup_steps, decay_end: warmup_steps + decay };
            let rates: Vec<f64> = (0..warmup_steps + decay + 10).map(|t| schedule.at(t)).collect();
            prop_assert!(rates.iter().all(|&r| r > 0.0 && r <= peak * (1.0 + 1e-12)));
            prop_assert!(rates[..warmup_steps.max(1)].windows(2).all(|w| w[0] < w[1] || warmup_steps < 2));
            prop_assert!(rates[warmup_steps..].windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)));
            prop_assert!((schedule.at(warmup_steps) - peak).abs() <= 1e-12 * peak);
            prop_assert!((schedule.at(warmup_steps + decay + 5) - schedule.floor).abs() <= 1e-12 * peak);
        }
    }
}
