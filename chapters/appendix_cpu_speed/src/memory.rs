//! The allocator's setting for a training process.
//!
//! The binaries allocate with mimalloc, which gives freed memory back to the kernel ("purges" it) 10 ms after it is
//! freed. A training step frees and allocates tensors of the same sizes at every step, so each page given back is
//! faulted in and zeroed again by the kernel when the next step takes it: in a profile of a MiniLM fine-tuning
//! step, the kernel's `clear_page_erms` at 8% of the time and 395,000 page faults in 40 steps. Kept, the pages
//! are reused as they are: 1,000 faults.

use std::ffi::{c_int, c_long};

unsafe extern "C" {
    /// mimalloc's `void mi_option_set(mi_option_t option, long value)` (`mimalloc.h`).
    fn mi_option_set(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in `mimalloc.h`'s `mi_option_t`: milliseconds before freed memory is given back, -1
/// for never (what the environment variable `MIMALLOC_PURGE_DELAY` sets).
const PURGE_DELAY: c_int = 15;

/// Tells mimalloc never to give freed memory back to the kernel: the process keeps its peak memory until it ends,
/// and no page is faulted in twice. Call it first thing in `main`, in a binary whose global allocator is mimalloc.
pub fn keep_freed_memory() {
    // SAFETY: mimalloc is linked in (the crate depends on it); setting an option before the threads start is what
    // mimalloc documents as safe (the function is not thread safe).
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}
