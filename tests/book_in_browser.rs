//! The built book as a reader sees it: every page loaded in headless Chromium (Debian's `chromium`, which
//! `.ci/run` installs), its text and the comments of its code checked for formulas left as TeX, and its sidebar for
//! chapter numbers shown twice. Reads `book/build`, so `mdbook build book` comes first; built only with
//! `--features browser`.

use std::path::Path;
use std::process::Command;

use workspace_tests::{files_with_extension, repo_root};

/// The page's DOM after its scripts ran (mdBook's builds the sidebar).
fn rendered_dom(page: &Path) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let output = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|err| panic!("cannot run {chromium} (apt install chromium, or set CHROMIUM): {err}"));
    assert!(output.status.success(), "{chromium} failed on {}", page.display());
    String::from_utf8(output.stdout).expect("a DOM is UTF-8")
}

/// The text a reader sees outside code: the HTML without its `pre`, `code`, `script` and `style` elements, without
/// tags, with the entities it uses decoded.
fn prose_text(html: &str) -> String {
    let mut text = html.to_string();
    for element in ["script", "style", "pre", "code"] {
        let (open, close) = (format!("<{element}"), format!("</{element}>"));
        while let Some(start) = text.find(&open) {
            let end = text[start..]
                .find(&close)
                .map_or(text.len(), |end| start + end + close.len());
            text.replace_range(start..end, " ");
        }
    }
    without_tags(&text)
}

/// The comments of the page's code blocks (what follows `//` on each line of a `pre` element), as a reader sees
/// them: a formula in a doc comment is shown as written, so it must be written in plain notation, not TeX. Their
/// code spans are left out: a regular expression's `` `\s+` `` between backticks is code, not a formula.
fn code_comments(html: &str) -> Vec<String> {
    html.split("<pre")
        .skip(1)
        .filter_map(|block| {
            block
                .split_once('>')
                .map(|(_, rest)| rest.split("</pre>").next().unwrap_or(""))
        })
        .flat_map(|block| {
            without_tags(block)
                .lines()
                .filter_map(|line| line.split_once("//").map(|(_, comment)| without_code_spans(comment)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `comment` without the text between its backticks.
fn without_code_spans(comment: &str) -> String {
    comment.split('`').step_by(2).collect()
}

/// `html` without its tags, with the entities mdBook writes decoded.
fn without_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&nbsp;", " "),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(out, |text, (entity, character)| text.replace(entity, character))
}

/// What in `text` is TeX a browser showed as is: a `$`, or a backslash command such as `\frac`.
fn raw_tex(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, c) in text.char_indices() {
        let next_is_letter = text[at + c.len_utf8()..].starts_with(|n: char| n.is_ascii_alphabetic());
        if c == '$' || (c == '\\' && next_is_letter) {
            let from = text[..at].char_indices().rev().nth(30).map_or(0, |(i, _)| i);
            let to = text[at..].char_indices().nth(30).map_or(text.len(), |(i, _)| at + i);
            found.push(text[from..to].split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    found
}

#[test]
fn every_formula_renders_and_every_chapter_number_shows_once() {
    let build = repo_root().join("book/build");
    let pages = files_with_extension(&build, "html");
    assert!(
        pages.len() > 3,
        "no built book in {}: run `mdbook build book` first",
        build.display()
    );
    let (mut formulas, mut code_comment_lines) = (0, 0);
    for page in &pages {
        let name = page.file_name().unwrap().to_string_lossy();
        let dom = rendered_dom(page);
        formulas += dom.matches("<math").count();
        let text = prose_text(&dom);
        let raw = raw_tex(&text);
        assert!(raw.is_empty(), "{name} shows TeX as text: {raw:#?}");
        let comments = code_comments(&dom);
        let tex: Vec<String> = comments.iter().flat_map(|comment| raw_tex(comment)).collect();
        assert!(tex.is_empty(), "{name} shows TeX in the comments of its code: {tex:#?}");
        code_comment_lines += comments.len();
        for n in 1..=20 {
            assert!(
                !text.contains(&format!("{n}. {n}. ")),
                "{name} numbers chapter {n} twice in its sidebar"
            );
        }
    }
    assert!(formulas > 100, "the book shows only {formulas} formulas as MathML");
    assert!(
        code_comment_lines > 1000,
        "only {code_comment_lines} comment lines found in the book's code"
    );
}

#[test]
fn code_comments_are_the_text_after_the_slashes_of_code_blocks() {
    let html = "<p>// not code</p><pre><code class=\"language-rust\"><span class=\"hljs-comment\">/// $\\sqrt{d}$</span>\nlet x = 1; <span>// x &lt; 2, `\\s+`</span>\nlet y = \"\\n\";</code></pre>";
    assert_eq!(code_comments(html), ["/ $\\sqrt{d}$", " x < 2, "]);
    assert_eq!(
        raw_tex(&code_comments(html)[0]).len(),
        3,
        "a dollar, a command, a dollar"
    );
}

#[test]
fn prose_text_leaves_out_code_and_finds_raw_tex() {
    let html = "<p>a <code>$x$</code> b</p><pre><code>\\frac</code></pre><script>var d = '$';</script><p>c &amp; \\alpha $y$</p>";
    assert_eq!(
        prose_text(html).split_whitespace().collect::<Vec<_>>(),
        ["a", "b", "c", "&", "\\alpha", "$y$"]
    );
    assert_eq!(raw_tex("q = \\frac and $y$").len(), 3);
    assert!(raw_tex("<math><mi>x</mi></math> costs 5 \\ 2").is_empty());
}
