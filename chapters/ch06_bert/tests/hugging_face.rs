//! Our BERT against Hugging Face's, from the folders `save_pretrained` writes (see `fixtures/make_hf_fixture.py`):
//! a tiny random `BertForMaskedLM` (hidden states and MLM logits, then three training steps against PyTorch's), and
//! the real all-MiniLM-L6-v2 (its tokenizer's ids, sentence-transformers' embeddings and similarity ranking), on
//! flex and on wgpu. Then folders that do not fit: each is an error naming the tensor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bert::inference::{cosine_similarities, embed, encode_batch};
use bert::masking::{Masked, MaskedBatch};
use bert::pretrained::{load_bert, load_masked_lm};
use bert::training::{MaskedLanguageModeling, RunConfig, TrainingConfig, trainer_from};
use bert::{BertError, BertVocab};
use burn::prelude::*;
use common::hub::ALL_MINILM_L6_V2;
use common::hub::load_tokenizer;
use common::testing::{backends, max_abs_diff, values};
use serde::Deserialize;
use tokens::BpeTokenizer;

fn tiny_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny_bert_mlm")
}

#[derive(Deserialize)]
struct TinyFixture {
    input_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<i64>>,
    hidden: Vec<f32>,
    logits: Vec<f32>,
    training: TrainingFixture,
}

#[derive(Deserialize)]
struct TrainingFixture {
    steps: Vec<StepFixture>,
    #[serde(rename = "final")]
    trained: HashMap<String, Vec<f32>>,
    lr: f64,
    min_lr: f64,
    warmup: usize,
    grad_clip: f64,
    weight_decay: f64,
}

#[derive(Deserialize)]
struct StepFixture {
    inputs: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
    labels: Vec<Vec<i64>>,
    loss: f32,
}

fn tiny_fixture() -> TinyFixture {
    serde_json::from_str(include_str!("../fixtures/tiny_bert_mlm.json")).expect("the fixture is valid JSON")
}

fn int_tensor(rows: &[Vec<i64>], device: &Device) -> Tensor<2, Int> {
    let flat: Vec<i64> = rows.concat();
    Tensor::<1, Int>::from_ints(flat.as_slice(), device).reshape([rows.len(), rows[0].len()])
}

#[test]
fn tiny_bert_hidden_states_and_mlm_logits_equal_transformers_on_every_backend() {
    let fixture = tiny_fixture();
    for (name, device) in backends() {
        let (config, model) = load_masked_lm(&tiny_folder(), device).unwrap();
        let tokens = int_tensor(&fixture.input_ids, device);
        let padding = int_tensor(&fixture.attention_mask, device).equal_elem(1);
        let hidden = model.bert.forward(tokens.clone(), None, Some(padding.clone()));
        let logits = model.forward(tokens, Some(padding));
        assert_eq!(logits.dims()[2], config.vocab_size);
        // Padding positions too: HF computes them with the same mask, so they agree as well.
        let (hidden_diff, logits_diff) = (
            max_abs_diff(&values(hidden), &fixture.hidden),
            max_abs_diff(&values(logits), &fixture.logits),
        );
        assert!(hidden_diff < 1e-4, "{name}: hidden states differ by {hidden_diff}");
        assert!(logits_diff < 1e-4, "{name}: logits differ by {logits_diff}");
    }
}

#[test]
fn three_training_steps_from_the_same_weights_equal_pytorch() {
    let fixture = tiny_fixture().training;
    let device = Device::flex().autodiff();
    let (model_config, model) = load_masked_lm(&tiny_folder(), &device).unwrap();
    let config = RunConfig {
        model: model_config,
        training: TrainingConfig {
            bpe_vocab_size: 256, // unused: the batches come from the fixture
            batch_size: 3,
            max_iters: fixture.steps.len(),
            learning_rate: fixture.lr,
            min_lr: fixture.min_lr,
            warmup_iters: fixture.warmup,
            weight_decay: fixture.weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            grad_clip: fixture.grad_clip,
            eval_interval: 1,
            seed: 0,
            masking: bert::masking::MaskingConfig::new(),
        },
    };
    let vocab = BertVocab::new(BpeTokenizer::from_merges(Vec::new()).unwrap());
    let mut trainer = trainer_from(MaskedLanguageModeling::on_given_batches(config, vocab), model, &device);
    for (i, step) in fixture.steps.iter().enumerate() {
        let sequences: Vec<Masked> = (0..step.inputs.len())
            .map(|b| {
                let n = step.attention_mask[b].iter().sum::<u32>() as usize;
                Masked {
                    inputs: step.inputs[b][..n].to_vec(),
                    targets: step.labels[b][..n]
                        .iter()
                        .map(|&l| (l >= 0).then_some(l as u32))
                        .collect(),
                }
            })
            .collect();
        let loss = trainer
            .train_step_on(MaskedBatch::new(&sequences, 0, &device))
            .into_scalar::<f32>();
        assert!(
            (loss - step.loss).abs() < 1e-4,
            "step {i}: loss {loss}, PyTorch {}",
            step.loss
        );
    }
    let model = trainer.model.valid();
    let ours: [(&str, Vec<f32>); 4] = [
        (
            "bert.embeddings.word_embeddings.weight",
            values(model.bert.embeddings.input.token.weight.val()),
        ),
        (
            "bert.encoder.layer.0.attention.self.query.weight",
            values(model.bert.layers[0].self_attention.w_q.weight.val().transpose()),
        ),
        (
            "bert.encoder.layer.1.output.LayerNorm.weight",
            values(model.bert.layers[1].around_feed_forward.norm.gamma.val()),
        ),
        ("cls.predictions.bias", values(model.mlm.bias.val())),
    ];
    for (name, values) in ours {
        let diff = max_abs_diff(&values, &fixture.trained[name]);
        assert!(diff < 1e-5, "{name} after three steps differs from PyTorch's by {diff}");
    }
}

#[derive(Deserialize)]
struct MiniLmFixture {
    sentences: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
    cosine: Vec<Vec<f32>>,
}

fn minilm() -> (PathBuf, MiniLmFixture) {
    let folder = ALL_MINILM_L6_V2.locate(None).unwrap_or_else(|e| {
        panic!("all-MiniLM-L6-v2 is not in the cache: {e} (`bash .ci/run` seeds it from ../shared/models)")
    });
    let fixture = serde_json::from_str(include_str!("../fixtures/minilm.json")).expect("the fixture is valid JSON");
    (folder, fixture)
}

#[test]
fn minilm_tokenizer_gives_the_python_tokenizers_ids() {
    let (folder, fixture) = minilm();
    let tokenizer = load_tokenizer(&folder).unwrap();
    for (sentence, expected) in fixture.sentences.iter().zip(&fixture.input_ids) {
        let ids = tokenizer.encode(sentence.as_str(), true).unwrap().get_ids().to_vec();
        assert_eq!(&ids, expected, "{sentence}");
    }
}

#[test]
fn minilm_sentence_embeddings_and_their_ranking_equal_sentence_transformers_on_every_backend() {
    let (folder, fixture) = minilm();
    let tokenizer = load_tokenizer(&folder).unwrap();
    let sentences: Vec<&str> = fixture.sentences.iter().map(String::as_str).collect();
    for (name, device) in backends() {
        let (config, model) = load_bert(&folder, device).unwrap();
        assert!(model.pooler.is_some(), "the folder has a pooler");
        let (tokens, padding) = encode_batch(
            &tokenizer,
            &sentences,
            config.pad_token_id,
            config.max_position_embeddings,
            device,
        )
        .unwrap();
        let embeddings = embed(&model, tokens, padding);
        // sentence-transformers' last module divides by the norm.
        let norms = embeddings.clone().powi_scalar(2).sum_dim(1).sqrt();
        let normalised = values(embeddings.clone() / norms);
        let diff = max_abs_diff(&normalised, &fixture.embeddings.concat());
        assert!(diff < 1e-4, "{name}: embeddings differ by {diff}");
        let cosine = values(cosine_similarities(embeddings));
        let n = sentences.len();
        for i in 0..n {
            let rank = |row: &[f32]| {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
                order
            };
            assert_eq!(
                rank(&cosine[i * n..(i + 1) * n]),
                rank(&fixture.cosine[i]),
                "{name}: sentence {i}"
            );
        }
    }
}

#[test]
fn padding_a_sentence_changes_none_of_its_real_positions() {
    let (folder, fixture) = minilm();
    let device = Device::flex();
    let tokenizer = load_tokenizer(&folder).unwrap();
    let (_, model) = load_bert(&folder, &device).unwrap();
    let short = fixture.sentences[0].as_str();
    let (alone, alone_padding) = encode_batch(&tokenizer, &[short], 0, 512, &device).unwrap();
    let (batch, batch_padding) = encode_batch(
        &tokenizer,
        &[short, "a much longer sentence, so that the first one is padded"],
        0,
        512,
        &device,
    )
    .unwrap();
    let t = alone.dims()[1];
    assert!(batch.dims()[1] > t);
    let alone = model.forward(alone, None, Some(alone_padding));
    let padded = model.forward(batch, None, Some(batch_padding)).slice([0..1, 0..t]);
    let diff = max_abs_diff(&values(alone), &values(padded));
    assert!(diff < 1e-5, "padding changed real positions by {diff}");
}

/// A copy of the tiny folder whose weights are `edit`ed, written with the `safetensors` crate.
fn edited_folder(edit: impl FnOnce(&mut Vec<(String, Vec<usize>, Vec<u8>)>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(tiny_folder().join(file), dir.path().join(file)).unwrap();
    }
    let bytes = std::fs::read(tiny_folder().join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .collect();
    edit(&mut owned);
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(name, shape, data)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data).unwrap();
            (name.clone(), view)
        })
        .collect();
    std::fs::write(
        dir.path().join("model.safetensors"),
        safetensors::serialize(views, None).unwrap(),
    )
    .unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    match load_masked_lm(dir, &Device::flex()) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn legacy_gamma_beta_names_load_the_same_model() {
    let renamed = edited_folder(|tensors| {
        for (name, _, _) in tensors.iter_mut() {
            if name.contains("LayerNorm") {
                *name = name
                    .replace("LayerNorm.weight", "LayerNorm.gamma")
                    .replace("LayerNorm.bias", "LayerNorm.beta");
            }
        }
    });
    let device = Device::flex();
    let tokens = Tensor::<1, Int>::from_ints([2, 7, 9, 4, 3], &device).reshape([1, 5]);
    let (_, original) = load_masked_lm(&tiny_folder(), &device).unwrap();
    let (_, legacy) = load_masked_lm(renamed.path(), &device).unwrap();
    assert_eq!(
        values(original.forward(tokens.clone(), None)),
        values(legacy.forward(tokens, None))
    );
}

#[test]
fn a_folder_that_does_not_fit_names_the_tensor() {
    let missing = edited_folder(|tensors| {
        tensors.retain(|(name, _, _)| name != "bert.encoder.layer.1.attention.self.key.weight")
    });
    let message = load_error(missing.path());
    assert!(
        message.contains("has no tensor bert.encoder.layer.1.attention.self.key.weight (expected shape [32, 32])"),
        "{message}"
    );

    let transposed = edited_folder(|tensors| {
        let (_, shape, _) = tensors
            .iter_mut()
            .find(|(name, _, _)| name == "bert.encoder.layer.0.intermediate.dense.weight")
            .unwrap();
        shape.reverse();
    });
    let message = load_error(transposed.path());
    assert!(
        message.contains(
            "bert.encoder.layer.0.intermediate.dense.weight has shape [32, 37], but config.json implies [37, 32]"
        ),
        "{message}"
    );

    let no_head = edited_folder(|tensors| tensors.retain(|(name, _, _)| !name.starts_with("cls.")));
    assert!(load_error(no_head.path()).contains("has no masked-LM head"));

    let config = tiny_folder().join("config.json");
    let activation = edited_folder(|_| {});
    let text = std::fs::read_to_string(config)
        .unwrap()
        .replace("\"gelu\"", "\"swish\"");
    std::fs::write(activation.path().join("config.json"), text).unwrap();
    let message = load_error(activation.path());
    assert!(message.contains("hidden_act = \"swish\""), "{message}");
}

#[test]
fn an_encoder_only_folder_is_refused_for_fill_in_with_the_fix() {
    let (folder, _) = minilm();
    let err = load_masked_lm(&folder, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, BertError::NoMlmHead { .. }), "{err}");
    assert!(err.to_string().contains("use it with `embed`"), "{err}");
}
