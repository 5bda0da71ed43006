//! The worked example's measures: the held-out part and the lines to continue, and bits per character, which for a
//! character model is its per-token loss in bits and for a BPE model divides the same likelihood by characters.

use burn::prelude::*;
use gpt::{RunConfig, TokenSplits, TokenizerKind};
use gpt2::compare::{continuation_tasks, evaluate_held_out, validation_start};

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\
First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n\
First Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n";

#[test]
fn the_validation_text_follows_the_training_tokens_and_lines_are_cut_after_three_words() {
    let text = TEXT.repeat(4);
    let (chars, _) = TokenSplits::build(&text, TokenizerKind::Char).unwrap();
    assert_eq!(validation_start(&text, &chars).unwrap(), text.len() * 9 / 10);
    let (bpe, splits) = TokenSplits::build(&text, TokenizerKind::Bpe(400)).unwrap();
    let start = validation_start(&text, &bpe).unwrap();
    assert_eq!(bpe.decode(&splits.train).unwrap(), text[..start]);
    let tasks = continuation_tasks(TEXT, 10);
    assert_eq!(tasks.len(), 3, "the three lines of six words or more: {tasks:?}");
    let (prompt, rest) = &tasks[0];
    assert!(prompt.ends_with("First Citizen:\nBefore we proceed"), "{prompt:?}");
    assert_eq!(rest, " any further, hear me speak.");
    assert_eq!(continuation_tasks(TEXT, 2).len(), 2);
}

#[test]
fn bits_per_character_are_a_character_models_loss_in_bits_and_scores_are_bounded() {
    let device = Device::flex();
    device.seed(0);
    let text = TEXT.repeat(8);
    for kind in [TokenizerKind::Char, TokenizerKind::Bpe(400)] {
        let (tokenizer, _) = TokenSplits::build(&text, kind).unwrap();
        let model = RunConfig::tiny(tokenizer.vocab_size()).model.init(&device);
        let scores = evaluate_held_out(&model, &tokenizer, &text, 3).unwrap();
        let bits_per_token = scores.perplexity.ln() / std::f64::consts::LN_2;
        let chars = text.chars().count() as f64;
        let expected = bits_per_token * scores.tokens_scored as f64 / (chars - 1.0);
        let first_token_chars = tokenizer
            .decode(&tokenizer.encode(&text).unwrap()[..1])
            .unwrap()
            .chars()
            .count();
        let exact = bits_per_token * scores.tokens_scored as f64 / (chars - first_token_chars as f64);
        assert!((scores.bits_per_char - exact).abs() < 1e-9, "{kind:?}: {scores:?}");
        if kind == TokenizerKind::Char {
            assert_eq!(scores.tokens_scored as f64, chars - 1.0);
            assert!((scores.bits_per_char - expected).abs() < 1e-9);
            assert!(
                (scores.bits_per_char - bits_per_token).abs() < 1e-9,
                "one token, one character"
            );
        } else {
            assert!(
                scores.tokens_scored < text.len() / 2,
                "BPE tokens carry several characters"
            );
        }
        assert_eq!(scores.lines, 3);
        for rouge in [scores.rouge1, scores.rouge2, scores.rouge_l] {
            assert!((0.0..=1.0).contains(&rouge), "{scores:?}");
        }
    }
}
