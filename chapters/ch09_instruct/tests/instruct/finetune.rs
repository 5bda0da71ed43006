//! Fine-tuning on the kit's loop: a tiny model learns a handful of instructions and answers them exactly, stopping
//! at its end-of-text token; a resumed run takes the uninterrupted run's steps; checkpoints are read back with their
//! tokenizer (GPT-2's included, on a tiny folder) and another chapter's is refused; bad input is an error.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::testing::{max_abs_diff, values};
use gpt::{GptConfig, RunConfig, TokenSplits, Tokenizer, TokenizerKind};
use instruct::backbone::{Backbone, BackboneKind, load_backbone};
use instruct::checkpoint;
use instruct::training::{Dataset, FinetuneConfig, InstructTrainer, Setup, tokenize_fitting, trainer};
use instruct::{Example, InstructError, InstructionTokenizer, format_prompt, respond};

/// Four instructions, two with an input.
pub fn handful() -> Vec<Example> {
    let example = |instruction: &str, input: &str, output: &str| Example {
        instruction: instruction.into(),
        input: input.into(),
        output: output.into(),
    };
    vec![
        example("Name the colour of the sky.", "", "Blue."),
        example("Reverse the word.", "stone", "enots"),
        example("Give the antonym of the word.", "hot", "cold"),
        example("Say hello.", "", "Hello there!"),
    ]
}

/// A byte-level BPE of 300 tokens learnt on the prompts and answers of `examples`.
pub fn bpe_for(examples: &[Example]) -> Tokenizer {
    let corpus: String = examples
        .iter()
        .map(|e| format!("{}{}\n", format_prompt(&e.instruction, &e.input), e.output))
        .collect::<String>()
        .repeat(4);
    let (tokenizer, _) = TokenSplits::build(&corpus, TokenizerKind::Bpe(300)).unwrap();
    tokenizer
}

/// A tiny chapter 5 model (2 layers, 32 wide, context 96) with random weights and an end-of-text token.
fn tiny_backbone(tokenizer: Tokenizer, device: &Device) -> Backbone {
    let tokenizer = InstructionTokenizer::Chapter5(tokenizer);
    let config = GptConfig::new(tokenizer.vocab_size())
        .with_block_size(96)
        .with_n_layer(2)
        .with_n_head(2)
        .with_n_embd(32);
    Backbone {
        model: config.init(device),
        config,
        tokenizer,
        tokenizer_files: Vec::new(),
    }
}

fn config(epochs: usize) -> FinetuneConfig {
    let mut config = FinetuneConfig::new(BackboneKind::Scratch, Dataset::Synthetic);
    config.epochs = epochs;
    config.batch_size = 4;
    config.learning_rate = 3e-3;
    config.weight_decay = 0.0;
    config
}

fn autodiff() -> Device {
    Device::default().autodiff()
}

#[test]
fn a_tiny_model_learns_a_handful_of_instructions_and_answers_them_exactly() {
    let examples = handful();
    let device = autodiff();
    device.seed(7);
    let backbone = tiny_backbone(bpe_for(&examples), &device);
    let Setup { mut trainer, dropped } =
        trainer(&config(150), backbone, "tiny", &examples, &examples, &device).unwrap();
    assert_eq!(dropped, [0, 0]);
    trainer.train(150, None, None).unwrap();
    let last = *trainer.evaluations.last().unwrap();
    assert!(last.val_loss < 0.2, "the responses are not learnt: {last}");
    let model = trainer.model.valid();
    let tokenizer = &trainer.task.tokenizer;
    for example in &examples {
        let mut streamed = String::new();
        let answer = respond(&model, tokenizer, example, 50, |piece| streamed.push_str(piece)).unwrap();
        assert_eq!(answer, example.output, "{}", example.instruction);
        // It stopped at its end-of-text token, long before the 50 tokens allowed: nothing was written after it.
        assert_eq!(streamed.trim(), example.output);
    }
}

/// Six steps straight, and three (stopped mid-epoch) then three more from the checkpoint: the same weights, losses
/// and evaluations.
#[test]
fn a_resumed_run_takes_the_uninterrupted_runs_steps() {
    let examples = handful();
    let dir = tempfile::tempdir().unwrap();
    let run = |device: &Device| {
        device.seed(3);
        let mut backbone = tiny_backbone(bpe_for(&examples), device);
        backbone.tokenizer_files = match &backbone.tokenizer {
            InstructionTokenizer::Chapter5(t) => vec![("tokenizer.json", t.to_json().into_bytes())],
            InstructionTokenizer::Gpt2(_) => unreachable!(),
        };
        // 4 examples in batches of 2: 2 steps an epoch, 3 epochs.
        let mut config = config(3);
        config.batch_size = 2;
        trainer(&config, backbone, "tiny", &examples, &examples, device)
            .unwrap()
            .trainer
    };
    let device = autodiff();
    let mut straight = run(&device);
    assert_eq!(straight.plan.max_steps, 6);
    straight.train(6, None, None).unwrap();

    let mut first = run(&device);
    first.train(3, None, None).unwrap();
    first.save(dir.path()).unwrap();
    let mut resumed = checkpoint::resume(dir.path(), &examples, &examples, &device)
        .unwrap()
        .trainer;
    assert_eq!(resumed.step, 3);
    resumed.train(6, None, None).unwrap();
    assert_eq!(resumed.step, 6);
    let weights = |t: &InstructTrainer| values(t.model.embedding.token.weight.val());
    assert!(max_abs_diff(&weights(&straight), &weights(&resumed)) < 1e-6);
    let losses = |t: &InstructTrainer| t.history.iter().map(|p| p.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&straight), losses(&resumed));
    let scores = |t: &InstructTrainer| t.evaluations.iter().map(|e| (e.step, e.val_loss)).collect::<Vec<_>>();
    assert_eq!(scores(&straight).len(), 4, "before the first step and after each epoch");
    for ((step, a), (other, b)) in scores(&straight).into_iter().zip(scores(&resumed)) {
        assert_eq!(step, other);
        assert!((a - b).abs() < 1e-6, "step {step}: {a} vs {b}");
    }
}

/// A chapter 5 run saved in `root` (its `checkpoint/`), as `gpt train` leaves it: 2 steps of the tiny preset on a
/// text whose BPE covers `examples`.
pub fn chapter5_run(root: &Path, examples: &[Example]) -> PathBuf {
    let text: String = examples
        .iter()
        .map(|e| format!("{}{}\n", format_prompt(&e.instruction, &e.input), e.output))
        .collect::<String>()
        .repeat(20);
    let (tokenizer, data) = TokenSplits::build(&text, TokenizerKind::Bpe(300)).unwrap();
    let mut config = RunConfig::tiny(tokenizer.vocab_size());
    config.model.block_size = 96;
    config.tokenizer = TokenizerKind::Bpe(300);
    let mut trainer = gpt::trainer(config, data, tokenizer, &autodiff()).unwrap();
    trainer.train(2, None, None).unwrap();
    trainer.save(&root.join("checkpoint")).unwrap();
    root.to_path_buf()
}

#[test]
fn chapter_5s_run_is_a_backbone_and_its_checkpoint_is_not_an_instructed_model() {
    let dir = tempfile::tempdir().unwrap();
    let examples = handful();
    let run = chapter5_run(dir.path(), &examples);
    let device = Device::default();
    let backbone = load_backbone(BackboneKind::Gpt, run.to_str().unwrap(), &device).unwrap();
    assert_eq!(backbone.config.vocab_size, backbone.tokenizer.vocab_size());
    assert_eq!(
        backbone.tokenizer.end_of_text() as usize,
        backbone.config.vocab_size - 1
    );
    let Err(error) = checkpoint::load(&run, &device) else {
        panic!("a chapter 5 run was read as an instruction-tuned model");
    };
    let message = error.to_string();
    assert!(matches!(error, InstructError::NotInstructed { .. }), "{message}");
    assert!(message.contains("chapter 5's GPT"), "{message}");
    let Err(error) = load_backbone(BackboneKind::Gpt, dir.path().join("nowhere").to_str().unwrap(), &device) else {
        panic!("a missing run was read as a backbone");
    };
    assert!(matches!(error, InstructError::WrongBackbone { .. }), "{error}");
}

#[test]
fn gpt2_from_a_tiny_folder_fine_tunes_saves_and_answers_from_its_checkpoint() {
    // Chapter 8's tiny_gpt2_a with a context of 256 positions (`fixtures/make_tiny_gpt2.py`).
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny_gpt2_long");
    let dir = tempfile::tempdir().unwrap();
    let device = autodiff();
    let backbone = load_backbone(BackboneKind::Gpt2, folder.to_str().unwrap(), &device).unwrap();
    assert_eq!(backbone.tokenizer.end_of_text(), 299);
    let names: Vec<&str> = backbone.tokenizer_files.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["vocab.json", "merges.txt"]);
    let mut config = config(1);
    config.backbone = BackboneKind::Gpt2;
    let examples = handful();
    let mut trainer = trainer(
        &config,
        backbone,
        folder.to_str().unwrap(),
        &examples,
        &examples,
        &device,
    )
    .unwrap()
    .trainer;
    trainer.train(1, Some(dir.path()), None).unwrap();
    let instructed = checkpoint::load(dir.path(), &Device::default()).unwrap();
    assert_eq!(instructed.state.config.backbone, BackboneKind::Gpt2);
    assert_eq!(instructed.tokenizer.end_of_text(), 299);
    assert!(instructed.evaluations.iter().all(|e| e.val_loss.is_finite()));
    // The model read back answers as the one trained: its weights and its tokenizer came back whole.
    for example in &examples {
        let answer =
            |model: &gpt::Gpt, tokenizer: &InstructionTokenizer| respond(model, tokenizer, example, 8, |_| {}).unwrap();
        let trained = answer(&trainer.model.valid(), &trainer.task.tokenizer);
        assert_eq!(answer(&instructed.model, &instructed.tokenizer), trained);
    }
}

#[test]
fn bad_input_is_an_error_that_names_the_problem() {
    let examples = handful();
    let device = autodiff();
    let backbone = tiny_backbone(bpe_for(&examples), &device);
    let empty = Example {
        instruction: "  ".into(),
        input: String::new(),
        output: String::new(),
    };
    let error = respond(&backbone.model, &backbone.tokenizer, &empty, 5, |_| {}).unwrap_err();
    assert!(matches!(error, InstructError::EmptyInstruction), "{error}");

    // An example past the context is left out of training and counted; when none fits, the error says so.
    let mut long = examples.clone();
    long[1].output = "a very long answer ".repeat(40);
    let (fitting, dropped) = tokenize_fitting(&backbone.tokenizer, &long, backbone.config.block_size).unwrap();
    assert_eq!((fitting.len(), dropped), (3, 1));
    let mut config = config(1);
    let error = trainer(&config, backbone, "tiny", &long[1..2], &examples, &device)
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            InstructError::NothingFits {
                split: "training",
                total: 1,
                context: 96
            }
        ),
        "{error}"
    );

    config.learning_rate = -1.0;
    let backbone = tiny_backbone(bpe_for(&examples), &device);
    let error = trainer(&config, backbone, "tiny", &examples, &examples, &device)
        .err()
        .unwrap();
    assert!(error.to_string().contains("learning_rate"), "{error}");
}

/// A character split across two tokens shows as U+FFFD until the second arrives: the stream holds it back, then
/// shows it whole, and goes on after it; a U+FFFD still there when the text is finished is shown.
#[test]
fn a_character_split_across_tokens_is_streamed_whole() {
    let mut stream = instruct::respond::TextStream::default();
    let pieces: Vec<String> = [("ab", false), ("ab\u{FFFD}", false), ("abé", false), ("abé😀c", false)]
        .iter()
        .map(|(text, finished)| stream.next_piece(text, *finished))
        .collect();
    assert_eq!(pieces, ["ab", "", "é", "😀c"]);
    assert_eq!(stream.next_piece("abé😀c\u{FFFD}", false), "");
    assert_eq!(stream.next_piece("abé😀c\u{FFFD}", true), "\u{FFFD}");
}
