//! `--set key=value`: overrides spliced into the scenario text, so that
//! every error still points at the right place — in the file, or at the
//! `--set` argument that introduced the bad value.

use super::error::{Diagnostic, diagnostic_at};
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// One replaced or inserted stretch of the edited text.
#[derive(Debug, Clone)]
struct Edit {
    /// Byte range in the edited text.
    new: Range<usize>,
    /// Length it had in the original text.
    old_len: usize,
    /// Index of the override responsible.
    source: usize,
}

/// The text after overrides, and how to map positions back.
#[derive(Debug, Clone)]
pub(crate) struct Overridden {
    /// The edited TOML text.
    pub text: String,
    edits: Vec<Edit>,
    args: Vec<String>,
}

/// Where an offset of the edited text came from.
pub(crate) enum Origin {
    /// Original file text at this byte offset.
    File(usize),
    /// The value of this `--set` argument.
    Override(String),
}

impl Overridden {
    /// Maps a byte offset of the edited text back to its origin.
    pub fn origin(&self, offset: usize) -> Origin {
        let mut shift: isize = 0;
        for e in &self.edits {
            if e.new.contains(&offset) {
                return Origin::Override(self.args[e.source].clone());
            }
            if offset >= e.new.end {
                shift += e.new.len() as isize - e.old_len as isize;
            }
        }
        Origin::File((offset as isize - shift).max(0) as usize)
    }
}

/// Applies `args` (each `dotted.key=value`) to `text`.
pub(crate) fn apply(
    text: &str,
    file: &str,
    args: &[String],
) -> Result<Overridden, Box<Diagnostic>> {
    let mut out = Overridden {
        text: text.to_string(),
        edits: Vec::new(),
        args: args.to_vec(),
    };
    for (i, arg) in args.iter().enumerate() {
        let fail = |message: String| {
            Box::new(Diagnostic {
                from_override: Some(arg.clone()),
                ..diagnostic_at(
                    file,
                    "",
                    None,
                    Some(arg.split('=').next().unwrap_or("").to_string()),
                    message,
                )
            })
        };
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| fail("expected key=value, e.g. group.assignor=roundrobin".into()))?;
        let path: Vec<&str> = key.trim().split('.').collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(fail(format!("\"{key}\" is not a dotted field path")));
        }
        let literal = value_literal(value.trim());
        let (at, remove, insert) = locate(&out.text, &path, &literal).map_err(&fail)?;
        splice(&mut out, at, remove, &insert, i);
    }
    Ok(out)
}

/// TOML text for a `--set` value: a TOML scalar as is, anything else quoted.
fn value_literal(raw: &str) -> String {
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"));
    match parsed.ok().and_then(|t| t.get("v").cloned()) {
        Some(v) if !v.is_table() => raw.to_string(),
        _ => toml::Value::String(raw.to_string()).to_string(),
    }
}

fn splice(out: &mut Overridden, at: usize, remove: usize, insert: &str, source: usize) {
    out.text.replace_range(at..at + remove, insert);
    let delta = insert.len() as isize - remove as isize;
    let shift = |e: &mut Edit| {
        e.new = (e.new.start as isize + delta) as usize..(e.new.end as isize + delta) as usize;
    };
    // The same key set twice: the newer value replaces the older edit.
    let same = out
        .edits
        .iter()
        .position(|e| remove > 0 && e.new.start == at && e.new.len() == remove);
    if let Some(i) = same {
        for (j, e) in out.edits.iter_mut().enumerate() {
            if j != i && e.new.start > at {
                shift(e);
            }
        }
        out.edits[i].new = at..at + insert.len();
        out.edits[i].source = source;
    } else {
        // Text inserted where an earlier insertion starts goes before it:
        // that one moves too.
        for e in &mut out.edits {
            if e.new.start > at || (remove == 0 && e.new.start == at) {
                shift(e);
            }
        }
        out.edits.push(Edit {
            new: at..at + insert.len(),
            old_len: remove,
            source,
        });
    }
    out.edits.sort_by_key(|e| e.new.start);
}

/// Finds where to write `path = literal`: (offset, bytes to remove, text to insert).
fn locate(text: &str, path: &[&str], literal: &str) -> Result<(usize, usize, String), String> {
    let root = DeTable::parse(text).map_err(|e| e.message().to_string())?;
    let (last, parents) = path.split_last().expect("path is not empty");
    let mut table: &DeTable<'_> = root.get_ref();
    let mut table_span: Option<Range<usize>> = None;
    let mut walked = String::new();
    let mut i = 0;
    while i < parents.len() {
        let seg = parents[i];
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
        let entry = table
            .iter()
            .find(|(k, _)| k.get_ref() == seg)
            .map(|(_, v)| v);
        let Some(entry) = entry else {
            if table_span.is_none() && parents.len() == 1 {
                // A top-level table the file leaves out: append it.
                let sep = if text.ends_with('\n') || text.is_empty() {
                    ""
                } else {
                    "\n"
                };
                return Ok((text.len(), 0, format!("{sep}[{seg}]\n{last} = {literal}\n")));
            }
            return Err(format!(
                "the file has no table `{walked}` to set `{last}` in; write it in the file"
            ));
        };
        match entry.get_ref() {
            DeValue::Table(t) => {
                table = t;
                table_span = Some(entry.span());
                i += 1;
            }
            DeValue::Array(items) => {
                // A list of values, its entry named last: replace that one
                // (`group.assignors.0=range`).
                if i + 1 == parents.len() {
                    if let Ok(index) = last.parse::<usize>() {
                        let item = items.get(index).ok_or_else(|| {
                            format!(
                                "`{walked}` has {} entries, so there is no entry {index}",
                                items.len()
                            )
                        })?;
                        return match item.get_ref() {
                            DeValue::Table(_) | DeValue::Array(_) => Err(format!(
                                "`{walked}.{index}` is not a single value; --set changes scalar fields only"
                            )),
                            _ => Ok((item.span().start, item.span().len(), literal.to_string())),
                        };
                    }
                }
                let index = parents.get(i + 1).and_then(|s| s.parse::<usize>().ok());
                let Some(index) = index else {
                    return Err(format!(
                        "`{walked}` is a list with {} entries: name one by number, e.g. {walked}.0 (a value) or {walked}.0.{last} (a field of a table entry)",
                        items.len()
                    ));
                };
                let item = items.get(index).ok_or_else(|| {
                    format!(
                        "`{walked}` has {} entries, so there is no entry {index}",
                        items.len()
                    )
                })?;
                let DeValue::Table(t) = item.get_ref() else {
                    return Err(format!("`{walked}.{index}` is not a table"));
                };
                walked.push_str(&format!(".{index}"));
                table = t;
                table_span = Some(item.span());
                i += 2;
            }
            _ => return Err(format!("`{walked}` is not a table")),
        }
    }
    if let Some((_, v)) = table.iter().find(|(k, _)| k.get_ref() == last) {
        return match v.get_ref() {
            DeValue::Table(_) | DeValue::Array(_) => Err(format!(
                "`{}` is not a single value; --set changes scalar fields only",
                path.join(".")
            )),
            _ => Ok((v.span().start, v.span().len(), literal.to_string())),
        };
    }
    insert_key(text, table_span, last, literal)
        .ok_or_else(|| format!("cannot add `{}` here; write it in the file", path.join(".")))
}

/// Inserts a new `key = literal` into the table whose span is `span`
/// (`None`: the root table).
fn insert_key(
    text: &str,
    span: Option<Range<usize>>,
    key: &str,
    literal: &str,
) -> Option<(usize, usize, String)> {
    match span {
        None => Some((0, 0, format!("{key} = {literal}\n"))),
        Some(span) => {
            let head = &text[span.clone()];
            if head.starts_with('[') {
                let line_end = text[span.end..]
                    .find('\n')
                    .map_or(text.len(), |i| span.end + i);
                if line_end == text.len() {
                    Some((line_end, 0, format!("\n{key} = {literal}")))
                } else {
                    Some((line_end + 1, 0, format!("{key} = {literal}\n")))
                }
            } else if head.starts_with('{') {
                let inner = head[1..head.len() - 1].trim();
                let sep = if inner.is_empty() { " " } else { ", " };
                Some((span.end - 1, 0, format!("{sep}{key} = {literal} ")))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        apply(text, "f.toml", &args)
            .map(|o| o.text)
            .unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn an_entry_of_a_list_of_values_is_set_by_its_number() {
        let out = set(
            "[group]\nassignors = [\"range\", \"sticky\"]\n",
            &["group.assignors.1=roundrobin"],
        );
        assert_eq!(out, "[group]\nassignors = [\"range\", \"roundrobin\"]\n");
    }

    #[test]
    fn replaces_existing_values_in_place() {
        let text = "[group]\nassignor = \"range\"\nsession_timeout = \"45s\"\n";
        let out = set(
            text,
            &["group.assignor=roundrobin", "group.session_timeout=10s"],
        );
        assert_eq!(
            out,
            "[group]\nassignor = \"roundrobin\"\nsession_timeout = \"10s\"\n"
        );
    }

    #[test]
    fn inserts_missing_keys_and_tables() {
        let text = "[group]\nid = \"g\"\n\n[[topics]]\nname = \"t\"\npartitions = 3\n";
        let out = set(
            text,
            &[
                "group.max_poll_records=10",
                "topics.0.produce_rate=5",
                "cluster.brokers=4",
            ],
        );
        assert!(
            out.contains("[group]\nmax_poll_records = 10\nid = \"g\""),
            "{out}"
        );
        assert!(out.contains("[[topics]]\nproduce_rate = 5\nname"), "{out}");
        assert!(out.ends_with("[cluster]\nbrokers = 4\n"), "{out}");
    }

    #[test]
    fn maps_positions_back_to_file_or_override() {
        let text = "[group]\nid = \"g\"\nassignor = \"range\"\n";
        let args = vec!["group.commit=sync".to_string()];
        let o = apply(text, "f.toml", &args).unwrap();
        let in_edit = o.text.find("\"sync\"").unwrap();
        assert!(matches!(o.origin(in_edit), Origin::Override(a) if a == "group.commit=sync"));
        let after = o.text.find("\"range\"").unwrap();
        assert!(matches!(o.origin(after), Origin::File(x) if x == text.find("\"range\"").unwrap()));
    }

    #[test]
    fn keys_inserted_at_one_place_each_map_to_their_own_override() {
        // Both keys are new in [group], so both are inserted at its start.
        let text = "[group]\nid = \"g\"\nassignor = \"range\"\n";
        let args = vec![
            "group.protocol=consumer".to_string(),
            "group.remote_assignor=uniform".to_string(),
        ];
        let o = apply(text, "f.toml", &args).unwrap();
        for (value, arg) in [("\"consumer\"", &args[0]), ("\"uniform\"", &args[1])] {
            let at = o.text.find(value).unwrap();
            assert!(
                matches!(o.origin(at), Origin::Override(a) if &a == arg),
                "{value}"
            );
        }
        let range = o.text.find("\"range\"").unwrap();
        assert!(matches!(o.origin(range), Origin::File(x) if x == text.find("\"range\"").unwrap()));
    }

    #[test]
    fn rejects_malformed_and_non_scalar() {
        let text = "[group]\nid = \"g\"\n[[topics]]\nname = \"t\"\n";
        for bad in [
            "nokey",
            "group.=x",
            "topics=3",
            "nope.deep.key=1",
            "topics.name=x",
        ] {
            assert!(apply(text, "f.toml", &[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
