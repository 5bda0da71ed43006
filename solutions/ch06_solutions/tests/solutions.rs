//! The answers to chapter 6's exercises, checked by their properties.

use bert::masking::{MaskingConfig, SpecialTokens, corrupt};
use bert::{BertConfig, BertVocab};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use ch06_solutions::{NspHead, nsp_loss, sentence_pairs, span_choice, whole_word_choice, words};
use common::rng::SplitMix64;
use proptest::prelude::*;
use tokens::BpeTokenizer;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\
                    First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n";

fn vocab() -> BertVocab {
    BertVocab::new(BpeTokenizer::train(TEXT, 300).unwrap())
}

#[test]
fn pairs_are_cls_a_sep_b_sep_with_segments_and_half_of_them_next() {
    let special = vocab().special();
    let runs: Vec<Vec<u32>> = (0..400).map(|i| vec![10 + i % 50; 1 + (i as usize % 7)]).collect();
    let pairs = sentence_pairs(&runs, &special, 12, &mut SplitMix64::new(3));
    assert_eq!(pairs.len(), 399);
    for (i, pair) in pairs.iter().enumerate() {
        assert!(
            pair.tokens.len() <= 12 && pair.tokens[0] == special.cls && *pair.tokens.last().unwrap() == special.sep
        );
        let first_sep = pair.tokens.iter().position(|&t| t == special.sep).unwrap();
        assert!(pair.segments[..=first_sep].iter().all(|&s| s == 0));
        assert!(pair.segments[first_sep + 1..].iter().all(|&s| s == 1));
        let b = &pair.tokens[first_sep + 1..pair.tokens.len() - 1];
        if pair.is_next {
            assert!(runs[i + 1].starts_with(b), "pair {i}: B is the next run, perhaps cut");
        }
    }
    let next = pairs.iter().filter(|p| p.is_next).count() as f64;
    assert!(
        (next - 199.5).abs() < 5.0 * (399.0f64 * 0.25).sqrt(),
        "{next} of 399 are next"
    );
}

/// The encoder and the NSP head as one module, so that one optimiser steps both.
#[derive(Module, Debug)]
struct WithNsp {
    bert: bert::Bert,
    head: NspHead,
}

#[test]
fn the_nsp_head_learns_a_batch_through_the_pooler_and_the_segments() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let special = SpecialTokens {
        pad: 0,
        unk: 1,
        cls: 2,
        sep: 3,
        mask: 4,
    };
    let mut model = WithNsp {
        bert: BertConfig::new(40, 16, 1, 2, 16).with_dropout(0.0).init(true, &device),
        head: NspHead::new(16, &device),
    };
    let runs: Vec<Vec<u32>> = (0..8).map(|i| vec![5 + i, 6 + i, 7 + i]).collect();
    let pairs = sentence_pairs(&runs, &special, 16, &mut SplitMix64::new(0));
    let mut optimizer = AdamConfig::new().init();
    let first = nsp_loss(&model.bert, &model.head, &pairs, special.pad, &device)
        .0
        .into_scalar::<f32>();
    for _ in 0..100 {
        let (loss, _) = nsp_loss(&model.bert, &model.head, &pairs, special.pad, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(3e-3, model, grads);
    }
    let model = model.valid();
    let (last, correct) = nsp_loss(&model.bert, &model.head, &pairs, special.pad, &device.inner());
    let last = last.into_scalar::<f32>();
    assert!(last < 0.1 && last < first, "NSP loss {first} -> {last}");
    assert_eq!(correct, pairs.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A chosen token's whole word is chosen, and about 15% of the words are.
    #[test]
    fn whole_word_masking_chooses_whole_words(seed in any::<u64>()) {
        let vocab = vocab();
        let special = vocab.special();
        let text: String = TEXT.repeat(40);
        let tokens = vocab.encode_with_masks(&text);
        let chosen = whole_word_choice(&tokens, &vocab.bpe, &special, 0.15, &mut SplitMix64::new(seed));
        let words = words(&tokens, &vocab.bpe, &special);
        prop_assert!(words.iter().any(|w| w.len() > 1), "some words span several tokens");
        let mut chosen_words = 0;
        for word in &words {
            let inside: Vec<bool> = word.clone().filter(|&i| !special.contains(tokens[i])).map(|i| chosen[i]).collect();
            prop_assert!(inside.iter().all(|&c| c == inside[0]), "word {word:?} partly chosen");
            chosen_words += usize::from(inside.first() == Some(&true));
        }
        let n = words.len() as f64;
        prop_assert!((chosen_words as f64 - 0.15 * n).abs() < 5.0 * (n * 0.15 * 0.85).sqrt());
        let masked = corrupt(&tokens, &chosen, &special, vocab.vocab_size(), &MaskingConfig::new(), &mut SplitMix64::new(seed));
        prop_assert_eq!(masked.targets.iter().filter(|t| t.is_some()).count(), chosen.iter().filter(|&&c| c).count());
    }

    /// Spans reach the budget (overshooting by less than one span), avoid special tokens, and average close to
    /// the geometric mean length.
    #[test]
    fn span_masking_reaches_its_budget_with_contiguous_spans(seed in any::<u64>()) {
        let special = SpecialTokens { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };
        let tokens: Vec<u32> = (0..2000).map(|i| if i % 100 == 0 { special.sep } else { 5 + i % 40 }).collect();
        let chosen = span_choice(&tokens, &special, 0.15, 1.0 / 3.0, 10, &mut SplitMix64::new(seed));
        let count = chosen.iter().filter(|&&c| c).count();
        let candidates = tokens.iter().filter(|&&t| !special.contains(t)).count();
        let target = (0.15 * candidates as f64).round() as usize;
        prop_assert!(count >= target && count < target + 10, "{count} chosen for a budget of {target}");
        prop_assert!(tokens.iter().zip(&chosen).all(|(&t, &c)| !(c && special.contains(t))));
        let runs = chosen.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(chosen[0]);
        let mean = count as f64 / runs as f64;
        // Spans that touch or overlap merge into longer runs, so the mean run is at least the mean span (~2.9
        // with clipping) and not far above it at this density.
        prop_assert!((2.3..4.5).contains(&mean), "mean run length {mean}");
    }
}
