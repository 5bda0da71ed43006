use burn::prelude::*;
use ch04_solutions::{beam_search, sequence_log_prob};
use transformer::data::Example;
use transformer::decoding::greedy_decode;
use transformer::training::{TrainingConfig, train};
use transformer::{NormPosition, Transformer, TransformerConfig};

fn untrained(seed: u64, device: &Device) -> Transformer {
    device.seed(seed);
    TransformerConfig::tiny(NormPosition::Pre).init(device)
}

#[test]
fn a_beam_of_one_is_greedy_decoding() {
    let device = &Device::flex();
    for seed in 0..5 {
        let model = untrained(seed, device);
        let example = Example::new(12_345 * seed as u32 + 7);
        let greedy = greedy_decode(&model, &[&example.src], 7, device).remove(0);
        let (beam, _) = beam_search(&model, &example.src, 1, 7, device);
        assert_eq!(beam, greedy, "seed {seed}");
    }
}

#[test]
fn the_score_is_the_answers_log_probability() {
    let device = &Device::flex();
    let model = untrained(3, device);
    let example = Example::new(90_210);
    let (answer, score) = beam_search(&model, &example.src, 4, 7, device);
    let recomputed = sequence_log_prob(&model, &example.src, &answer, device);
    approx::assert_abs_diff_eq!(score, recomputed, epsilon = 1e-4);
    // Here the beam's answer is also at least as likely as greedy decoding's (usual, though pruning can lose it).
    let greedy = greedy_decode(&model, &[&example.src], 7, device).remove(0);
    assert!(sequence_log_prob(&model, &example.src, &greedy, device) <= score + 1e-4);
}

#[test]
fn a_trained_model_answers_correctly_with_a_beam() {
    let device = &Device::flex().autodiff();
    let examples: Vec<Example> = [5, 42, 300, 1_234, 99_999, 500_017].map(Example::new).to_vec();
    let config = TrainingConfig::new()
        .with_steps(300)
        .with_batch_size(6)
        .with_learning_rate(3e-3)
        .with_warmup_steps(20)
        .with_label_smoothing(0.0)
        .with_weight_decay(0.0)
        .with_eval_every(100);
    let (model, _) = train(
        &TransformerConfig::tiny(NormPosition::Pre),
        &config,
        &examples,
        &examples,
        device,
        None,
        false,
    )
    .unwrap();
    let inner = device.clone().inner();
    for example in &examples {
        assert_eq!(
            beam_search(&model, &example.src, 3, 7, &inner).0,
            example.tgt,
            "{}",
            example.number
        );
    }
}
