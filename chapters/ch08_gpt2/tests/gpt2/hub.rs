//! GPT-2 by name: a cached folder is checked file by file against the pinned revision's SHA-256, a larger size is
//! downloaded and checked against the hub's listing (a loopback server stands in for the hub), and a name that is
//! neither says what to pass.

use std::fs;

use common::hub::git_blob_id;
use common::testing::serve_on_loopback;
use gpt2::hub::{FOLDER_FILES, GPT2, GPT2_REVISION, locate_in};

/// Nothing listens on port 9: a download from there fails at once.
const NO_HUB: &str = "http://127.0.0.1:9";

#[test]
fn gpt2_by_name_is_the_cached_folder_checked_file_by_file() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("models/gpt2");
    fs::create_dir_all(&folder).unwrap();
    for file in GPT2.files {
        let name = file.file_name.rsplit('/').next().unwrap();
        fs::write(folder.join(name), "not GPT-2's file").unwrap();
    }
    let message = locate_in("openai-community/gpt2", data.path(), NO_HUB)
        .unwrap_err()
        .to_string();
    assert!(message.contains("config.json is corrupt"), "{message}");
    assert!(message.contains("Delete it and run again"), "{message}");
    assert!(
        message.contains(GPT2_REVISION),
        "the URL names the pinned revision: {message}"
    );
}

#[test]
fn a_larger_size_is_downloaded_checked_against_the_hubs_listing() {
    let file_bytes = |name: &str| format!("the {name} of gpt2-medium").into_bytes();
    let listing: Vec<serde_json::Value> = FOLDER_FILES
        .iter()
        .map(|name| serde_json::json!({"type": "file", "path": name, "oid": git_blob_id(&file_bytes(name))}))
        .collect();
    let mut routes = vec![(
        "/api/models/openai-community/gpt2-medium/tree/main".to_string(),
        serde_json::to_vec(&listing).unwrap(),
    )];
    for name in FOLDER_FILES {
        routes.push((
            format!("/openai-community/gpt2-medium/resolve/main/{name}"),
            file_bytes(name),
        ));
    }
    let hub = serve_on_loopback(routes, 5);
    let data = tempfile::tempdir().unwrap();
    let folder = locate_in("gpt2-medium", data.path(), &hub).unwrap();
    assert_eq!(folder, data.path().join("models/gpt2-medium"));
    for name in FOLDER_FILES {
        assert_eq!(fs::read(folder.join(name)).unwrap(), file_bytes(name), "{name}");
    }
    // Now cached: found without the hub.
    assert_eq!(locate_in("gpt2-medium", data.path(), NO_HUB).unwrap(), folder);
    assert_eq!(
        locate_in(&folder.display().to_string(), data.path(), NO_HUB).unwrap(),
        folder
    );
}

#[test]
fn without_the_hub_the_error_says_where_the_files_go_and_other_names_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let message = locate_in("gpt2-large", data.path(), NO_HUB).unwrap_err().to_string();
    let folder = data.path().join("models/gpt2-large");
    assert!(
        message.contains(&format!("save it as {}", folder.join("config.json").display())),
        "{message}"
    );
    assert!(message.contains("openai-community/gpt2-large"), "{message}");
    let message = locate_in("gpt3", data.path(), NO_HUB).unwrap_err().to_string();
    assert!(message.contains("not a GPT-2 size (gpt2, gpt2-medium"), "{message}");
}
