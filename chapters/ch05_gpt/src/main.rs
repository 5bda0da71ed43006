//! The book's main job: pretrain a toy GPT on Tiny Shakespeare, then sample from it, with chapter 5's code.
//!
//! `cargo run --release -p gpt -- train` trains nanoGPT's "baby" configuration and prints a sample;
//! `... -- sample --checkpoint runs/gpt --prompt "ROMEO:"` samples from a saved run; `... -- bench` measures
//! throughput. `--help` on each lists the options. The appendix's binary (`cargo run --release -p cpu_speed --
//! train`) runs the same commands with its CPU kernels.

/// mimalloc keeps the memory of freed tensors for the next ones; glibc's allocator returns large blocks to the
/// kernel and then pays a page fault per page to get them back, about 15% of a CPU training step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    gpt::cli::main()
}
