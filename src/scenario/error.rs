//! Errors in scenario files: `file:line:col`, the field, what is allowed,
//! and the offending line with a caret.

use std::fmt;
use std::ops::Range;
use thiserror::Error;
use toml::de::{DeTable, DeValue};

/// A scenario could not be loaded.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read the scenario file: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file (or a `--set` override) is not a valid scenario.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

/// Where and why a scenario is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as given on the command line.
    pub file: String,
    /// 1-based line (0 when the error has no position).
    pub line: usize,
    /// 1-based column in characters (0 when the error has no position).
    pub column: usize,
    /// Dotted path of the field, e.g. `group.session_timeout` or `timeline[2].consumer`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
    /// The source line and the caret underline.
    pub snippet: Option<(String, String)>,
    /// The `--set` argument the error comes from, if any.
    pub from_override: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(arg) = &self.from_override {
            return write!(f, "--set {arg}: {}: {}", self.field, self.message);
        }
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.field, self.message)?;
        }
        if let Some((text, caret)) = &self.snippet {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n {:gutter$} |\n {} | {}\n {:gutter$} | {}",
                "", self.line, text, "", caret
            )?;
        }
        Ok(())
    }
}

/// Builds a diagnostic for the byte range `span` of `text`.
pub(crate) fn diagnostic_at(
    file: &str,
    text: &str,
    span: Option<Range<usize>>,
    field: Option<String>,
    message: impl Into<String>,
) -> Diagnostic {
    let message = message.into();
    let Some(span) = span else {
        return Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            field: field.unwrap_or_default(),
            message,
            snippet: None,
            from_override: None,
        };
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..line_end]
        .trim_end_matches('\r')
        .to_string();
    let width = text[start..span.end.clamp(start, line_end)]
        .chars()
        .count()
        .max(1);
    let caret = format!("{}{}", " ".repeat(column - 1), "^".repeat(width));
    let field = field.unwrap_or_else(|| field_at(text, start).unwrap_or_default());
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        field,
        message,
        snippet: Some((line_text, caret)),
        from_override: None,
    }
}

/// The dotted path of the innermost key whose key or value covers byte
/// `offset`, e.g. `timeline[1].at`.
pub(crate) fn field_at(text: &str, offset: usize) -> Option<String> {
    let root = DeTable::parse(text).ok()?;
    let mut path = String::new();
    find_in_table(root.get_ref(), offset, &mut path).then_some(path)
}

fn find_in_table(table: &DeTable<'_>, offset: usize, path: &mut String) -> bool {
    // Children first: a header table's own span is only its `[header]`.
    for (key, value) in table.iter() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key.get_ref());
        if find_in_value(value.get_ref(), offset, path)
            || key.span().contains(&offset)
            || value.span().contains(&offset)
        {
            return true;
        }
        path.truncate(len);
    }
    false
}

fn find_in_value(value: &DeValue<'_>, offset: usize, path: &mut String) -> bool {
    match value {
        DeValue::Table(t) => find_in_table(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if find_in_value(item.get_ref(), offset, path) || item.span().contains(&offset) {
                    return true;
                }
                path.truncate(len);
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_through_tables_and_arrays() {
        let text = "[group]\nid = \"g\"\n\n[[timeline]]\nat = \"1s\"\n[[timeline]]\nat = \"2s\"\n";
        let at2 = text.rfind("\"2s\"").unwrap();
        assert_eq!(field_at(text, at2).as_deref(), Some("timeline[1].at"));
        let id = text.find("\"g\"").unwrap();
        assert_eq!(field_at(text, id).as_deref(), Some("group.id"));
    }

    #[test]
    fn diagnostic_has_line_column_and_caret() {
        let text = "[group]\nassignor = \"nope\"\n";
        let start = text.find("\"nope\"").unwrap();
        let d = diagnostic_at("x.toml", text, Some(start..start + 6), None, "bad");
        assert_eq!((d.line, d.column), (2, 12));
        assert_eq!(d.field, "group.assignor");
        let shown = d.to_string();
        assert!(
            shown.starts_with("x.toml:2:12: group.assignor: bad"),
            "{shown}"
        );
        assert!(shown.contains("^^^^^^"), "{shown}");
    }
}
