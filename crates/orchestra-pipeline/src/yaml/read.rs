//! Reading bytes into a [`Node`] tree, with every failure turned into one clear diagnostic.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DuplicateKeyPolicy, Error as YamlError};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Source;
use crate::yaml::Node;

/// The largest pipeline file we read: four mebibytes. A generated pipeline of 5,000 steps takes
/// well under one; anything larger is almost certainly not a pipeline, and refusing it up front
/// keeps every later stage fast.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// How deeply YAML collections may nest. A pipeline needs about ten levels (a step inside a
/// `for_each` inside a `while`, with a JSON Schema in it); 64 leaves room and stops a hostile
/// file from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Turns the bytes of a file into [`Source`] text, refusing files that are too large, binary or
/// not UTF-8 with a diagnostic that says where the problem is.
pub(crate) fn decode(name: &str, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
    if bytes.len() > MAX_FILE_BYTES {
        let message = format!(
            "the file is {}, more than the {} a pipeline file may be",
            human_size(bytes.len()),
            human_size(MAX_FILE_BYTES)
        );
        let source = Source::new(name, String::new());
        let span = source.span(0, 0);
        let diagnostic = Diagnostic::error(Code::FileTooLarge, "", message).at(span);
        return Err(Box::new((source, diagnostic)));
    }
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let source = Source::new(name, String::new());
        let span = source.span(0, 0);
        let diagnostic = Diagnostic::error(
            Code::NotText,
            "",
            "the file is UTF-16 text; pipelines are UTF-8",
        )
        .at(span)
        .with_help("save the file as UTF-8");
        return Err(Box::new((source, diagnostic)));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let source = Source::new(name, String::from_utf8_lossy(&bytes[..at]).into_owned());
        let span = source.span(at, 0);
        let diagnostic = Diagnostic::error(
            Code::NotText,
            "",
            "the file is binary (it contains a NUL byte), not a YAML pipeline",
        )
        .at(span);
        return Err(Box::new((source, diagnostic)));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let bytes = error.into_bytes();
            let byte = bytes[at];
            // Keep the valid text before the bad byte so that the caret lands on its line.
            let valid = String::from_utf8_lossy(&bytes[..at]).into_owned();
            let source = Source::new(name, valid);
            let span = source.span(at, 0);
            let diagnostic = Diagnostic::error(
                Code::NotText,
                "",
                format!("the file is not UTF-8 text: byte 0x{byte:02X} cannot start a character"),
            )
            .at(span)
            .with_help("save the file as UTF-8");
            Err(Box::new((source, diagnostic)))
        }
    }
}

/// Parses YAML text into a tree, with the parser's budgets on so that alias bombs, deep nesting
/// and huge documents are refused quickly.
pub(crate) fn parse(source: &Source) -> Result<Node, Box<Diagnostic>> {
    // The parser and our tree builder recurse once per level of nesting. The budget stops at
    // MAX_DEPTH levels, but in an unoptimised build that many frames can exceed the 2 MiB stack
    // of a test or worker thread, so parsing runs on a thread whose stack is sized for it.
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml-parse".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(source))
            .map(std::thread::ScopedJoinHandle::join)
    });
    match parsed {
        Ok(Ok(result)) => result,
        // The thread could not start (the system is out of threads or memory) or it panicked;
        // either way the user gets a sentence, not a crash.
        Ok(Err(_)) | Err(_) => Err(Box::new(
            Diagnostic::error(
                Code::YamlSyntax,
                "",
                "the YAML could not be read (the parser stopped unexpectedly)",
            )
            .at(source.span(0, 0)),
        )),
    }
}

fn parse_here(source: &Source) -> Result<Node, Box<Diagnostic>> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
        },
        duplicate_keys: DuplicateKeyPolicy::Error,
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Node>(source.text(), options)
        .map_err(|error| Box::new(translate(source, &error)))
}

/// The stack of the parsing thread: ample for `MAX_DEPTH` levels even in a debug build. Only the
/// pages actually used are ever committed.
const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Turns a parser error into a diagnostic whose message is a sentence without positions (those
/// are in the span) and without the parser's advice to programmers.
fn translate(source: &Source, error: &YamlError) -> Diagnostic {
    let outer = error.without_snippet();
    // An error found while expanding an alias is placed where the alias is used (the outer
    // location); its message is the inner error's.
    let error = match outer {
        YamlError::AliasError { error: inner, .. } => inner.without_snippet(),
        other => other,
    };
    let span = outer
        .location()
        .filter(|location| location.line() > 0)
        .map_or_else(
            || source.span(source.text().len(), 0),
            |location| {
                let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
                match location.span().byte_offset() {
                    Some(offset) => source.span(to_usize(offset), 0),
                    None => source.span_at(to_usize(location.line()), to_usize(location.column())),
                }
            },
        );
    let (code, message, help) = match error {
        YamlError::Budget { breach, .. } => (Code::YamlLimit, budget_message(breach), None),
        YamlError::DuplicateMappingKey { key, .. } => (
            Code::DuplicateKey,
            match key {
                Some(key) => format!("the key `{key}` appears twice in this map"),
                None => "a key appears twice in this map".to_owned(),
            },
            Some("remove one of the two entries".to_owned()),
        ),
        YamlError::MultipleDocuments { .. } => return multiple_documents(source, span.line),
        other => (Code::YamlSyntax, parser_message(other), None),
    };
    let help = help.or_else(|| tab_help(source, span.line));
    Diagnostic::error(code, "", message)
        .at(span)
        .with_optional_help(help)
}

/// The file holds a second document: point at the `---` that starts it.
fn multiple_documents(source: &Source, reported_line: usize) -> Diagnostic {
    let line = (1..=reported_line)
        .rev()
        .find(|&line| source.line_text(line).starts_with("---"))
        .unwrap_or(reported_line);
    let start = source.span_at(line, 1);
    Diagnostic::error(
        Code::YamlSyntax,
        "",
        "the file holds more than one YAML document; a pipeline file holds exactly one",
    )
    .at(source.span(start.offset, 3))
    .with_help("remove the `---` line and what follows, or move it into a file of its own")
}

fn budget_message(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { .. } => {
            format!("the YAML nests deeper than {MAX_DEPTH} levels, far more than a pipeline needs")
        }
        BudgetBreach::Aliases { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. }
        | BudgetBreach::Nodes { .. }
        | BudgetBreach::Events { .. } => "the YAML expands to too many values (aliases that \
            repeat other aliases can make a small file enormous); write the values out instead"
            .to_owned(),
        _ => "the YAML document is too large or too complex to be a pipeline".to_owned(),
    }
}

fn parser_message(error: &YamlError) -> String {
    let options = serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let rendered = error.render_with_options(options);
    // The plain rendering may start with "error: line L column C: " and end with " at line L
    // column C"; the diagnostic carries the position itself, so both are dropped.
    let mut message = rendered.trim();
    message = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = message.strip_prefix("line ")
        && let Some(colon) = rest.find(": ")
        && rest[..colon].contains(" column ")
    {
        message = &rest[colon + 2..];
    }
    if let Some(at) = message.rfind(" at line ") {
        message = &message[..at];
    }
    let mut sentence = message.trim_end_matches('.').to_owned();
    if let Some(first) = sentence.get(..1) {
        sentence.replace_range(..1, &first.to_lowercase());
    }
    sentence
}

/// YAML forbids tabs for indentation; when the reported line, or the next one (the parser may
/// stop at the end of the line before), starts with one, say so plainly.
fn tab_help(source: &Source, line: usize) -> Option<String> {
    let starts_with_tab = |line: usize| {
        source
            .line_text(line)
            .trim_start_matches(' ')
            .starts_with('\t')
    };
    if starts_with_tab(line) {
        Some("YAML indents with spaces; replace the tab at the start of this line".to_owned())
    } else if starts_with_tab(line + 1) {
        Some(format!(
            "YAML indents with spaces; replace the tab at the start of line {}",
            line + 1
        ))
    } else {
        None
    }
}

fn human_size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB {
        format!(
            "{:.1} MiB",
            f64::from(u32::try_from(bytes / 1024).unwrap_or(u32::MAX)) / 1024.0
        )
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}
