//! mdBook runs this preprocessor (see `book/book.toml`) first as `book-mathml supports <renderer>`, then with
//! `[context, book]` as JSON on stdin, expecting the book back on stdout with every chapter's formulas as MathML.

use std::io::Read;
use std::process::ExitCode;

use book_mathml::Formulas;
use serde_json::Value;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("supports") {
        return ExitCode::SUCCESS; // MathML is HTML: every renderer mdBook has takes it
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("book-mathml: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read mdBook's input: {e}"))?;
    let [_context, mut book]: [Value; 2] = serde_json::from_str(&input)
        .map_err(|e| format!("mdBook's input is not the [context, book] JSON a preprocessor receives: {e}"))?;
    render_chapters(&Formulas::default(), &mut book)?;
    serde_json::to_writer(std::io::stdout().lock(), &book).map_err(|e| format!("cannot write the book: {e}"))
}

/// Renders the formulas of every chapter found anywhere in the book's JSON (chapters nest in `sub_items`).
fn render_chapters(formulas: &Formulas, value: &mut Value) -> Result<(), String> {
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(chapter)) = object.get_mut("Chapter") {
                let name = chapter
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("a chapter")
                    .to_string();
                if let Some(Value::String(content)) = chapter.get_mut("content") {
                    *content = formulas.render(content).map_err(|e| format!("{name}, {e}"))?;
                }
            }
            object
                .values_mut()
                .try_for_each(|child| render_chapters(formulas, child))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|child| render_chapters(formulas, child)),
        _ => Ok(()),
    }
}
