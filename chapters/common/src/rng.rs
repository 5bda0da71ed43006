//! A small seeded random number generator for data: shuffling examples, drawing batches. Models draw their
//! initial weights from burn's generator (`device.seed(..)`); data sets use this one, so a data set is the same
//! whichever device trains on it.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state, one addition and three xor-shift-multiplies per
/// number; statistically sound for shuffling and sampling, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The whole state: `SplitMix64::new(rng.state())` continues the sequence where `rng` stands (how a resumed
    /// training run draws the same batches as an uninterrupted one).
    pub fn state(&self) -> u64 {
        self.state
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        scramble(self.state)
    }

    /// The `index`-th number (from 0) of the sequence seeded with `seed`, without the ones before it: the state
    /// after `index + 1` steps is `seed + (index + 1)·γ`, and a number is its state scrambled. Any thread can
    /// start anywhere in the sequence (the appendix draws dropout masks in parallel this way).
    pub fn at(seed: u64, index: u64) -> u64 {
        scramble(seed.wrapping_add(index.wrapping_add(1).wrapping_mul(GAMMA)))
    }

    /// A number in `0..n` (`n > 0`), by Lemire's multiply-shift: unbiased enough for `n` far below 2⁶⁴.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fisher-Yates: every permutation of `items` equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// γ, SplitMix64's increment: 2⁶⁴ divided by the golden ratio, odd.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The state's bits mixed into a number (two xor-shift-multiplies and an xor-shift).
fn scramble(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // The first outputs for seed 1234567, from the reference C implementation (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn at_is_the_sequences_number_at_that_index() {
        let mut rng = SplitMix64::new(99);
        for index in 0..1000 {
            assert_eq!(SplitMix64::at(99, index), rng.next_u64());
        }
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut rng = SplitMix64::new(0);
        let mut counts = [0usize; 10];
        for _ in 0..100_000 {
            counts[rng.below(10)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
    }
}
