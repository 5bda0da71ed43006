//! The book pulls its code from the crates with `{{#include path:anchor}}`; these tests check that every include
//! resolves, so the book can never show code that does not exist or does not compile.

use std::fs;
use std::path::Path;

use workspace_tests::{files_with_extension, repo_root};

/// Every `{{#include PATH}}` or `{{#include PATH:ANCHOR}}` in a chapter, as (path, anchor).
fn includes(markdown: &str) -> Vec<(String, Option<String>)> {
    markdown
        .split("{{#include ")
        .skip(1)
        .map(|rest| {
            let target = rest.split("}}").next().expect("an include is closed by }}").trim();
            match target.split_once(':') {
                // `path:anchor`; `path:10` and `path:3:10` are line ranges, which carry no anchor.
                Some((path, anchor)) if !anchor.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                    (path.to_string(), Some(anchor.to_string()))
                }
                Some((path, _)) => (path.to_string(), None),
                None => (target.to_string(), None),
            }
        })
        .collect()
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let src = repo_root().join("book/src");
    let mut checked = 0;
    for chapter in files_with_extension(&src, "md") {
        let markdown = fs::read_to_string(&chapter).unwrap();
        for (path, anchor) in includes(&markdown) {
            let file = src.join(&path);
            let code = fs::read_to_string(&file)
                .unwrap_or_else(|err| panic!("{}: includes {path}, which cannot be read: {err}", chapter.display()));
            if let Some(anchor) = anchor {
                let start = format!("ANCHOR: {anchor}");
                let end = format!("ANCHOR_END: {anchor}");
                let (Some(from), Some(to)) = (code.find(&start), code.find(&end)) else {
                    panic!("{}: {path} has no anchor {anchor:?}", chapter.display());
                };
                assert!(from < to, "{path}: anchor {anchor:?} ends before it starts");
                let body = code[from..to].lines().skip(1).filter(|l| !l.trim().is_empty()).count();
                assert!(body > 0, "{path}: anchor {anchor:?} is empty");
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "the book includes no code at all");
}

#[test]
fn every_chapter_is_in_the_summary_and_every_figure_exists() {
    let src = repo_root().join("book/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    for chapter in files_with_extension(&src, "md") {
        let name = chapter.file_name().unwrap().to_str().unwrap();
        if name != "SUMMARY.md" {
            assert!(
                summary.contains(&format!("({name})")),
                "{name} is not listed in SUMMARY.md"
            );
        }
        let markdown = fs::read_to_string(&chapter).unwrap();
        for image in markdown.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if image.starts_with("figures/") {
                assert!(
                    Path::new(&src.join(image)).is_file(),
                    "{name} shows {image}, which does not exist"
                );
            }
        }
    }
}

#[test]
fn include_parsing_tells_anchors_from_line_ranges() {
    let parsed = includes("a {{#include ../x.rs:model}} b {{#include ../y.rs:3:10}} {{#include z.rs}}");
    assert_eq!(
        parsed,
        [
            ("../x.rs".to_string(), Some("model".to_string())),
            ("../y.rs".to_string(), None),
            ("z.rs".to_string(), None),
        ]
    );
}

/// GitHub and the book show a notebook's figures only from its committed outputs (refreshed by the command in
/// `tests/notebooks.rs`).
#[test]
fn every_committed_notebook_shows_its_figures() {
    let notebooks = files_with_extension(&repo_root().join("notebooks"), "ipynb");
    assert!(!notebooks.is_empty(), "no notebooks found");
    for notebook in notebooks {
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&notebook).unwrap()).unwrap();
        let figures = json["cells"]
            .as_array()
            .expect("a notebook has cells")
            .iter()
            .flat_map(|cell| cell["outputs"].as_array().cloned().unwrap_or_default())
            .filter(|output| {
                output["data"].get("image/svg+xml").is_some()
                    || output["data"]["text/html"].to_string().contains("<svg")
            })
            .count();
        assert!(
            figures > 0,
            "{} is committed without its figures: run LLM_NOTEBOOKS_SAVE=1 cargo test --workspace --all-features \
             --test notebooks",
            notebook.display()
        );
    }
}
