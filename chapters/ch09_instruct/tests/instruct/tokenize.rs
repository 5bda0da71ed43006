//! Examples to ids: chapter 5's tokenizers get an end-of-text id past their vocabulary, and the model a row for it
//! that leaves every other logit as it was; GPT-2's tokenizer keeps its own.

use std::path::Path;

use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use gpt::{GptConfig, Tokenizer};
use gpt2::Gpt2Tokenizer;
use instruct::{Example, InstructionTokenizer, format_prompt, with_end_of_text};
use tokens::BpeTokenizer;

fn example() -> Example {
    Example {
        instruction: "Rewrite the sentence in passive voice.".into(),
        input: "The cat chased the mouse.".into(),
        output: "The mouse was chased by the cat.".into(),
    }
}

#[test]
fn a_chapter_5_tokenizer_gets_an_end_of_text_id_past_its_vocabulary() {
    let corpus = format!(
        "{} {}",
        format_prompt(&example().instruction, &example().input),
        example().output
    )
    .repeat(3);
    let bpe = BpeTokenizer::train(&corpus, 300).unwrap();
    let v = bpe.vocab_size();
    let tokenizer = InstructionTokenizer::Chapter5(Tokenizer::Bpe(bpe.clone()));
    assert_eq!((tokenizer.end_of_text(), tokenizer.vocab_size()), (v as u32, v + 1));
    let ids = tokenizer.tokenize(&example()).unwrap();
    assert_eq!(
        ids.prompt,
        bpe.encode(&format_prompt(&example().instruction, &example().input))
    );
    assert_eq!(ids.response, bpe.encode(&example().output));
    // Decoding stops at the end-of-text token.
    let written = [ids.response.clone(), vec![v as u32], bpe.encode(" and more")].concat();
    assert_eq!(tokenizer.decode(&written), example().output);
}

#[test]
fn gpt2s_tokenizer_keeps_its_own_end_of_text() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ch08_gpt2/fixtures/tiny_gpt2_a");
    let gpt2 = Gpt2Tokenizer::from_folder(&folder).unwrap();
    let tokenizer = InstructionTokenizer::Gpt2(Box::new(gpt2.clone()));
    assert_eq!((tokenizer.end_of_text(), tokenizer.vocab_size()), (299, 300));
    let ids = tokenizer.tokenize(&example()).unwrap();
    assert_eq!(ids.response, gpt2.encode(&example().output));
    assert_eq!(
        tokenizer.decode(&[ids.response.clone(), vec![299, 5, 6]].concat()),
        example().output
    );
}

/// The new row is the mean of E's rows: the logits of tokens 0..V do not move, and the new token's logit is the
/// mean of theirs (the head is E, tied), on both backends.
#[test]
fn the_end_of_text_row_leaves_the_other_logits_as_they_were() {
    for (name, device) in backends() {
        let model = GptConfig::new(11)
            .with_block_size(6)
            .with_n_layer(1)
            .with_n_head(2)
            .with_n_embd(8)
            .init(device);
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 4, 10, 2], [1, 4]), device);
        let before = values(model.forward(tokens.clone()));
        let extended = with_end_of_text(model);
        assert_eq!(extended.vocab_size(), 12, "{name}");
        let after = values(extended.forward(tokens));
        for position in 0..4 {
            let old = &before[position * 11..(position + 1) * 11];
            let new = &after[position * 12..(position + 1) * 12];
            assert!(max_abs_diff(old, &new[..11]) < 1e-6, "{name}: position {position}");
            let mean = old.iter().sum::<f32>() / 11.0;
            assert!(
                (new[11] - mean).abs() < 1e-5,
                "{name}: the new logit {} is not the mean {mean}",
                new[11]
            );
        }
    }
}
