use approx::assert_abs_diff_eq;
use burn::prelude::*;
use ch01_solutions::{StreamingDecoder, compression_curve, shift_matrix};
use proptest::prelude::*;
use tokens::{BpeTokenizer, sinusoidal_positional_encoding};

fn text() -> String {
    let lines = [
        "Now is the winter of our discontent made glorious summer by this sun of York.",
        "And all the clouds that lour'd upon our house in the deep bosom of the ocean buried.",
        "Now are our brows bound with victorious wreaths; our bruised arms hung up for monuments.",
    ];
    (0..20).map(|i| lines[i % 3]).collect::<Vec<_>>().join("\n")
}

#[test]
fn compression_grows_with_the_vocabulary() {
    let text = text();
    let (train, held_out) = text.split_at(text.len() * 3 / 4);
    let curve = compression_curve(train, held_out, &[256, 300, 400, 500]).unwrap();
    // 256 tokens are the bytes themselves: exactly one byte per token.
    assert_eq!(curve[0].0, 256);
    assert_abs_diff_eq!(curve[0].1, 1.0);
    assert!(curve.windows(2).all(|w| w[1].1 >= w[0].1), "{curve:?}");
    assert!(curve[3].1 > 3.0, "{curve:?}");
}

#[test]
fn a_prefix_of_the_merges_is_the_smaller_tokenizer() {
    let text = text();
    let big = BpeTokenizer::train(&text, 400).unwrap();
    let small = BpeTokenizer::train(&text, 300).unwrap();
    assert_eq!(small.merges(), &big.merges()[..44]);
}

#[test]
fn the_shift_matrix_is_a_rotation() {
    let device = Device::flex();
    let m = shift_matrix(7, 16, &device);
    let identity = m.clone().matmul(m.transpose());
    identity.to_data().assert_approx_eq::<f32>(
        &Tensor::<2>::eye(16, &device).to_data(),
        burn::tensor::Tolerance::absolute(1e-5),
    );
}

proptest! {
    #[test]
    fn the_shift_matrix_moves_every_position_k_steps(k in 0i64..50) {
        let device = Device::flex();
        let pe = sinusoidal_positional_encoding(120, 16, &device);
        let shifted = pe.clone().slice([0..60, 0..16]).matmul(shift_matrix(k, 16, &device));
        let expected = pe.slice([k as usize..k as usize + 60, 0..16]);
        let (got, want) = (shifted.to_data().try_to_vec::<f32>().unwrap(), expected.to_data().try_to_vec::<f32>().unwrap());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() < 1e-4);
        }
    }

    /// Token by token, the streaming decoder prints exactly the text, and never a replacement character.
    #[test]
    fn streaming_decoding_never_splits_a_character(text in "[a-zé€👋 ]{0,40}") {
        let bpe = BpeTokenizer::train("é€👋 ab", 262).unwrap();
        let mut decoder = StreamingDecoder::default();
        let mut printed = String::new();
        for id in bpe.encode(&text) {
            let chunk = decoder.push(&bpe, id).unwrap();
            prop_assert!(!chunk.contains(char::REPLACEMENT_CHARACTER), "{chunk:?}");
            printed += &chunk;
        }
        prop_assert_eq!(decoder.finish(), "");
        prop_assert_eq!(printed, text);
    }
}

#[test]
fn an_unfinished_character_is_flushed_as_a_replacement() {
    let bpe = BpeTokenizer::train("x", 256).unwrap();
    let mut decoder = StreamingDecoder::default();
    // The first two of '👋''s four bytes.
    assert_eq!(decoder.push(&bpe, 0xF0).unwrap(), "");
    assert_eq!(decoder.push(&bpe, 0x9F).unwrap(), "");
    assert_eq!(decoder.finish(), "\u{FFFD}");
}
