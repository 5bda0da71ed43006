//! Three training steps of our GPT against PyTorch's, from the same weights on the same batches (a committed
//! fixture, see `fixtures/make_pytorch_fixture.py`): the losses check the forward pass, the weights after three
//! steps check the gradients, the clipping, the schedule and AdamW with its two parameter groups, on flex and on
//! wgpu. (The appendix's tests take the same steps with its kernels plugged in.)

mod pytorch_fixture;

use burn::prelude::*;
use common::testing::backends;
use pytorch_fixture::{assert_matches_pytorch, fixture, run_config, train, trainer};

#[test]
fn three_training_steps_match_pytorch() {
    for (name, device) in backends() {
        let (losses, model) = train(trainer(&device.clone().autodiff()));
        assert_matches_pytorch(name, &losses, &model);
    }
}

#[test]
fn weights_that_do_not_fit_are_an_error_naming_the_parameter() {
    let f = fixture();
    let model = run_config(f).model.init(&Device::flex());
    let mut missing = f.initial.clone();
    missing.remove("final_norm.gamma");
    let error = model.clone().with_named_weights(&missing).unwrap_err().to_string();
    assert!(error.contains("no values for final_norm.gamma"), "{error}");
    let mut short = f.initial.clone();
    short.get_mut("blocks.1.mlp.linear_1.weight").unwrap().pop();
    let error = model.with_named_weights(&short).unwrap_err().to_string();
    assert!(
        error.contains("blocks.1.mlp.linear_1.weight has 1023 values, not 1024"),
        "{error}"
    );
}
