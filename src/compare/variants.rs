//! `--vary KEY=V1,V2`: the values a field takes across variants, and every
//! combination of several `--vary`s, each a name and its overrides.

use thiserror::Error;

/// A `--vary` argument that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VaryError {
    /// Two `--vary`s of one key: the later would override the earlier.
    #[error("--vary {0}: the key is varied twice; give all its values in one --vary")]
    SameKey(String),
    /// No `=`, an empty key, or no values.
    #[error(
        "--vary {0:?}: expected KEY=V1,V2,... (a field path and the values it takes), e.g. --vary group.assignor=range,cooperative-sticky"
    )]
    Malformed(String),
    /// A value is given twice.
    #[error("--vary {arg:?}: the value {value:?} is given twice")]
    Repeated {
        /// The argument.
        arg: String,
        /// The value.
        value: String,
    },
    /// A quote or bracket is left open.
    #[error("--vary {0:?}: a quote or bracket is left open")]
    Unbalanced(String),
}

/// Splits `KEY=V1,V2` into the key and its values. Commas inside quotes
/// or brackets belong to a value (`group.assignors=["range"],["sticky"]`).
pub fn parse_vary(arg: &str) -> Result<(String, Vec<String>), VaryError> {
    let malformed = || VaryError::Malformed(arg.to_string());
    let (key, values) = arg.split_once('=').ok_or_else(malformed)?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(malformed());
    }
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut current = String::new();
    for c in values.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if quote.is_some() || depth != 0 {
        return Err(VaryError::Unbalanced(arg.to_string()));
    }
    out.push(current.trim().to_string());
    if out.iter().any(String::is_empty) {
        return Err(malformed());
    }
    for (i, v) in out.iter().enumerate() {
        if out[..i].contains(v) {
            return Err(VaryError::Repeated {
                arg: arg.to_string(),
                value: v.clone(),
            });
        }
    }
    Ok((key.to_string(), out))
}

/// Every combination of the `--vary` values, the first `--vary` varying
/// slowest: each a name (`assignor=range protocol=consumer`, by the last
/// part of each key) and its `key=value` overrides. No `--vary`: one
/// combination, unnamed and without overrides.
pub fn vary_combinations(
    varies: &[(String, Vec<String>)],
) -> Result<Vec<(String, Vec<String>)>, VaryError> {
    for (i, (key, _)) in varies.iter().enumerate() {
        if varies[..i].iter().any(|(k, _)| k == key) {
            return Err(VaryError::SameKey(key.clone()));
        }
    }
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let mut combos: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    for (key, values) in varies {
        // The last part of the key names it, unless another key ends alike.
        let shared = varies.iter().filter(|(k, _)| last(k) == last(key)).count() > 1;
        let short = if shared { key.clone() } else { last(key) };
        let mut next = Vec::new();
        for (name, overrides) in &combos {
            for v in values {
                let label = format!("{short}={}", v.trim_matches('"'));
                let name = if name.is_empty() {
                    label
                } else {
                    format!("{name} {label}")
                };
                let mut o = overrides.clone();
                o.push(format!("{key}={v}"));
                next.push((name, o));
            }
        }
        combos = next;
    }
    Ok(combos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_on_commas_outside_quotes_and_brackets() {
        type Want = Result<(&'static str, &'static [&'static str]), ()>;
        let cases: &[(&str, Want)] = &[
            (
                "group.assignor=range,sticky",
                Ok(("group.assignor", &["range", "sticky"])),
            ),
            (
                "group.assignors=[\"range\",\"sticky\"],[\"cooperative-sticky\"]",
                Ok((
                    "group.assignors",
                    &["[\"range\",\"sticky\"]", "[\"cooperative-sticky\"]"],
                )),
            ),
            (
                "consumers.count = 3, 6 ",
                Ok(("consumers.count", &["3", "6"])),
            ),
            ("k=\"a,b\",c", Ok(("k", &["\"a,b\"", "c"]))),
            ("novalue", Err(())),
            ("=a,b", Err(())),
            ("a..b=1", Err(())),
            ("k=a,,b", Err(())),
            ("k=[a,b", Err(())),
            ("k=a,a", Err(())),
        ];
        for (arg, want) in cases {
            let got = parse_vary(arg);
            match want {
                Ok((k, vs)) => {
                    let (key, values) = got.unwrap_or_else(|e| panic!("{arg}: {e}"));
                    assert_eq!(key, *k, "{arg}");
                    assert_eq!(values, *vs, "{arg}");
                }
                Err(()) => assert!(got.is_err(), "{arg} must be refused"),
            }
        }
    }

    #[test]
    fn combinations_vary_the_first_key_slowest() {
        let varies = vec![
            (
                "group.protocol".to_string(),
                vec!["classic".into(), "consumer".into()],
            ),
            ("consumers.count".to_string(), vec!["3".into(), "6".into()]),
        ];
        let c = vary_combinations(&varies).unwrap();
        let names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "protocol=classic count=3",
                "protocol=classic count=6",
                "protocol=consumer count=3",
                "protocol=consumer count=6"
            ]
        );
        assert_eq!(c[3].1, ["group.protocol=consumer", "consumers.count=6"]);
        assert_eq!(vary_combinations(&[]).unwrap(), [(String::new(), vec![])]);
        let twice = vec![
            ("group.assignor".to_string(), vec!["range".into()]),
            ("group.assignor".to_string(), vec!["sticky".into()]),
        ];
        assert!(matches!(
            vary_combinations(&twice),
            Err(VaryError::SameKey(_))
        ));
        let alike = vec![
            ("chaos.crash.every".to_string(), vec!["30s".into()]),
            ("chaos.join.every".to_string(), vec!["60s".into()]),
        ];
        assert_eq!(
            vary_combinations(&alike).unwrap()[0].0,
            "chaos.crash.every=30s chaos.join.every=60s",
            "keys ending alike are named in full"
        );
    }
}
