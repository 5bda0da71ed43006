//! What every chapter shares: choosing the compute device ([`device`]), fetching the data sets ([`data`]) and
//! pretrained models ([`hub`]) and reading their weights ([`weights`]), initialising fresh ones ([`init`]),
//! scoring models ([`metrics`]), the training
//! kit ([`train`]: schedule, optimiser, clipping, history, checkpoints, run directories), the command-line flags
//! ([`cli`]), checking configurations ([`config`]), the figures every chapter draws (loss curves, heatmaps, confusion
//! matrices), rasterising them and checking them against the code that draws them ([`figures`]), printing small
//! tensors for the notebooks ([`display`]), and what the chapters' tests share ([`testing`]).
//!
//! Nothing here is about language models; it is the plumbing that lets each chapter's code run unchanged on the
//! CPU (burn's `flex` backend) or a GPU (burn's `wgpu` backend), and find Tiny Shakespeare and the SMS Spam
//! Collection on disk whether the machine is online or not.

pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod display;
pub mod figures;
pub mod hub;
pub mod init;
pub mod metrics;
pub mod rng;
pub mod testing;
pub mod train;
pub mod weights;

pub use data::{DataError, DataFile, INSTRUCTION_DATA, SMS_SPAM, TINY_SHAKESPEARE};
pub use device::{DeviceChoice, DeviceError, DeviceFailed, SelectedDevice, every_backend, select_device};
pub use display::show;
