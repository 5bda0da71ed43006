//! Chapter 5's command line (`train`, `sample`, `bench`) with this appendix's kernels plugged into the training
//! loop: `cargo run --release -p cpu_speed -- train` trains nanoGPT's "baby" configuration as `gpt train` does,
//! faster on a CPU; `bench` times chapter 5's code and the kernels side by side.

use cpu_speed::gpt::fast;
use gpt::cli::{PlugIn, main_with};

/// mimalloc keeps the memory of freed tensors for the next ones; glibc's allocator returns large blocks to the
/// kernel and then pays a page fault per page to get them back, about 15% of a CPU training step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    cpu_speed::memory::keep_freed_memory();
    main_with(PlugIn {
        name: "the appendix's kernels",
        apply: |trainer| {
            let trainer = fast(trainer);
            let how = match trainer.task.shards {
                1 => "one thread".to_string(),
                n => format!(
                    "each batch of {} split over {n} threads (data parallelism; RAYON_NUM_THREADS sets how many)",
                    trainer.task.chapter.config.training.batch_size
                ),
            };
            (trainer, how)
        },
    })
}
