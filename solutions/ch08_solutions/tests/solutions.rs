//! The answers to chapter 8's exercises, checked: GPT-2's sizes against their published parameter counts, beam
//! search against `transformers`' on the chapter's tiny random GPT-2 folders, speculative decoding against the
//! target model's own greedy continuation and its verification rule against the distribution it must give.

use std::path::{Path, PathBuf};

use ch08_solutions::{Gpt2Size, accept_or_resample, beam_search, speculative_decode};
use common::rng::SplitMix64;
use common::testing::backends;
use gpt::{SamplingConfig, generate};
use gpt2::load_gpt2;
use proptest::prelude::*;
use serde::Deserialize;

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../chapters/ch08_gpt2/fixtures")
        .join(name)
}

#[test]
fn the_four_sizes_have_their_published_parameter_counts() {
    // transformers' `num_parameters()` of each hub folder (the head shares the token embedding).
    let published = [124_439_808, 354_823_168, 774_030_080, 1_557_611_200];
    for (size, expected) in ch08_solutions::GPT2_SIZES.iter().zip(published) {
        assert_eq!(size.num_params().unwrap(), expected, "{}", size.name);
    }
    let medium = Gpt2Size::by_name("openai-community/gpt2-medium").unwrap();
    assert_eq!((medium.n_layer, medium.n_embd, medium.n_head), (24, 1024, 16));
    assert_eq!(medium.float32_bytes().unwrap(), 1_419_292_672);
    assert!(Gpt2Size::by_name("gpt3").is_none());
}

#[derive(Deserialize)]
struct BeamFixture {
    folder: String,
    prompt: Vec<u32>,
    new_tokens: usize,
    searches: Vec<Search>,
}

#[derive(Deserialize)]
struct Search {
    width: usize,
    beams: Vec<ExpectedBeam>,
}

#[derive(Deserialize)]
struct ExpectedBeam {
    tokens: Vec<u32>,
    log_probability: f32,
}

#[test]
fn beam_search_finds_the_beams_transformers_finds_on_every_backend() {
    let fixtures: Vec<BeamFixture> =
        serde_json::from_str(include_str!("../fixtures/beam_search.json")).expect("the fixture is valid JSON");
    for fixture in fixtures {
        for (backend, device) in backends() {
            let (_, model) = load_gpt2(&folder(&fixture.folder), device).unwrap();
            for search in &fixture.searches {
                let beams = beam_search(&model, &fixture.prompt, search.width, fixture.new_tokens).unwrap();
                let name = format!("{}, width {} on {backend}", fixture.folder, search.width);
                assert_eq!(beams.len(), search.width, "{name}");
                for (beam, expected) in beams.iter().zip(&search.beams) {
                    assert_eq!(beam.tokens, expected.tokens, "{name}");
                    let diff = (beam.log_probability - expected.log_probability).abs();
                    assert!(diff < 1e-3, "{name}: log-probability off by {diff}");
                }
            }
            // Width 1 is greedy decoding.
            let greedy = SamplingConfig::new().with_temperature(0.0);
            let expected = generate(&model, &fixture.prompt, fixture.new_tokens, &greedy, |_| false).unwrap();
            let beams = beam_search(&model, &fixture.prompt, 1, fixture.new_tokens).unwrap();
            assert_eq!(beams[0].tokens, expected.tokens, "{} on {backend}", fixture.folder);
        }
    }
}

#[test]
fn beam_search_refuses_what_it_cannot_do() {
    let device = &backends()[0].1;
    let (_, model) = load_gpt2(&folder("tiny_gpt2_b"), device).unwrap();
    let message = |result: Result<_, ch08_solutions::DecodeError>| result.unwrap_err().to_string();
    assert!(message(beam_search(&model, &[1, 2], 3, 23)).contains("exceed the context of 24"));
    assert!(message(beam_search(&model, &[1], 0, 2)).contains("at least 1"));
    assert!(message(beam_search(&model, &[], 2, 2)).contains("prompt is empty"));
    assert!(message(beam_search(&model, &[300], 2, 2)).contains("token id 300"));
}

#[test]
fn greedy_speculative_decoding_gives_the_targets_own_continuation() {
    let device = &backends()[0].1;
    let (_, draft) = load_gpt2(&folder("tiny_gpt2_a"), device).unwrap();
    let (_, target) = load_gpt2(&folder("tiny_gpt2_b"), device).unwrap();
    let greedy = SamplingConfig::new().with_temperature(0.0);
    let prompt = [267, 283, 25];
    let expected = generate(&target, &prompt, 16, &greedy, |_| false).unwrap().tokens;
    for lookahead in [1, 2, 4] {
        let run = speculative_decode(&target, &draft, &prompt, 16, lookahead, &greedy).unwrap();
        assert_eq!(run.tokens, expected, "lookahead {lookahead}");
        assert!(run.accepted <= run.drafted && run.drafted == lookahead * run.target_passes);
    }
    // A draft that is the target itself is always right: each pass of the target makes lookahead + 1 tokens.
    let run = speculative_decode(&target, &target, &prompt, 15, 4, &greedy).unwrap();
    assert_eq!(run.tokens, expected[..15]);
    assert_eq!((run.target_passes, run.accepted, run.drafted), (3, 12, 12));

    let sampled = SamplingConfig::new().with_temperature(0.8).with_seed(7);
    let run = speculative_decode(&target, &draft, &prompt, 16, 3, &sampled).unwrap();
    assert_eq!(run.tokens.len(), 16);
    let message = speculative_decode(&target, &draft, &prompt, 20, 4, &greedy)
        .unwrap_err()
        .to_string();
    assert!(message.contains("exceed the smaller context, 24"), "{message}");
}

#[test]
fn the_verification_rule_draws_from_the_target_distribution() {
    // Tokens drafted from q, then kept or replaced: their frequencies must be p's, not q's.
    let p = [0.5, 0.3, 0.15, 0.05];
    let q = [0.1, 0.2, 0.3, 0.4];
    let mut rng = SplitMix64::new(3);
    let mut counts = [0usize; 4];
    let trials = 200_000;
    for _ in 0..trials {
        let drafted = gpt::generation::draw(&q, &mut rng);
        counts[accept_or_resample(drafted, &p, &q, &mut rng).0] += 1;
    }
    for (i, &count) in counts.iter().enumerate() {
        let frequency = count as f64 / trials as f64;
        // Four standard errors of a binomial proportion.
        let tolerance = 4.0 * (p[i] as f64 * (1.0 - p[i] as f64) / trials as f64).sqrt();
        assert!(
            (frequency - p[i] as f64).abs() < tolerance,
            "token {i}: {frequency} vs {}",
            p[i]
        );
    }
}

proptest! {
    /// A draft the target agrees with (p = q) is always kept; one the target gives no mass to never is.
    #[test]
    fn agreed_drafts_are_kept_and_impossible_ones_replaced(
        weights in proptest::collection::vec(0.01f32..1.0, 2..20),
        seed in 0u64..1000,
    ) {
        let total: f32 = weights.iter().sum();
        let p: Vec<f32> = weights.iter().map(|w| w / total).collect();
        let mut rng = SplitMix64::new(seed);
        let drafted = seed as usize % p.len();
        prop_assert_eq!(accept_or_resample(drafted, &p, &p, &mut rng), (drafted, true));
        let mut target = p.clone();
        target[drafted] = 0.0;
        let rest: f32 = target.iter().sum();
        target.iter_mut().for_each(|x| *x /= rest);
        let (token, kept) = accept_or_resample(drafted, &target, &p, &mut rng);
        prop_assert!(!kept && token != drafted);
    }
}
