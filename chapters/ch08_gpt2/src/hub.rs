//! GPT-2 by name: `--model gpt2` finds OpenAI's 124M model in the data directory's `models/gpt2/`, or downloads
//! it there from the Hugging Face hub on first use, every file checked against its SHA-256 (of the hub's pinned
//! revision, so that a later upload cannot change what "gpt2" means). The larger sizes come the same way, checked
//! against the hashes the hub lists for them.

use std::path::{Path, PathBuf};

use common::data::{DataFile, data_dir};
use common::hub::{HubModel, download_listed};

use crate::Gpt2Error;

/// The revision of `openai-community/gpt2` whose files the hashes below are of.
pub const GPT2_REVISION: &str = "607a30d783dfa663caf39e06633721c8d4cfcd7e";

/// OpenAI's GPT-2 124M (MIT licence): 12 layers, 768 wide, 12 heads; 548 MB of float32 weights.
pub const GPT2: HubModel = HubModel {
    repo: "openai-community/gpt2",
    files: &[
        DataFile {
            file_name: "models/gpt2/config.json",
            url: "https://huggingface.co/openai-community/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/config.json",
            sha256: "0daed7749b4f02b8f76240d5444551d7b08712dab4d0adb8239c56ba823bb7b4",
            archive_member: None,
        },
        DataFile {
            file_name: "models/gpt2/vocab.json",
            url: "https://huggingface.co/openai-community/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/vocab.json",
            sha256: "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
            archive_member: None,
        },
        DataFile {
            file_name: "models/gpt2/merges.txt",
            url: "https://huggingface.co/openai-community/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/merges.txt",
            sha256: "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
            archive_member: None,
        },
        DataFile {
            file_name: "models/gpt2/model.safetensors",
            url: "https://huggingface.co/openai-community/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/model.safetensors",
            sha256: "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707",
            archive_member: None,
        },
    ],
};

/// The larger sizes OpenAI released (355M, 774M, 1.5B): downloaded from the hub's `main` revision, each file checked
/// against the hub's own listing (their hashes are not pinned here).
pub const LARGER_SIZES: [&str; 3] = ["gpt2-medium", "gpt2-large", "gpt2-xl"];

/// The files a GPT-2 folder needs.
pub const FOLDER_FILES: [&str; 4] = ["config.json", "vocab.json", "merges.txt", "model.safetensors"];

// ANCHOR: locate
/// The folder `--model` names: a directory as it is; otherwise a GPT-2 size by name, from the data directory's
/// `models/`, downloaded there on first use.
pub fn locate(model: &str) -> Result<PathBuf, Gpt2Error> {
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    locate_in(model, &data_dir(), &endpoint)
}

/// [`locate`] with the data directory and the hub's address given, for tests and tools.
pub fn locate_in(model: &str, dir: &Path, endpoint: &str) -> Result<PathBuf, Gpt2Error> {
    let given = Path::new(model);
    if given.is_dir() {
        return Ok(given.to_path_buf());
    }
    let name = model.trim_start_matches("openai-community/");
    if name == "gpt2" {
        return Ok(GPT2.locate_in(None, dir)?);
    }
    if !LARGER_SIZES.contains(&name) {
        return Err(Gpt2Error::UnknownModel(model.into()));
    }
    let folder = dir.join("models").join(name);
    let repo = format!("openai-community/{name}");
    download_listed(endpoint, &repo, "main", &FOLDER_FILES, &folder)?;
    Ok(folder)
}
// ANCHOR_END: locate
