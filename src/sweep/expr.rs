//! `--fail-if`: a small language over a sweep's results. A condition
//! compares a statistic of a per-seed field with a number; conditions
//! combine with `&&` (binds tighter) and `||`:
//!
//! ```text
//! p99(convergence_ms) > 60000 || max(lost) > 0
//! mean(duplicates) >= 1000 && count(violations) > 0
//! ```
//!
//! Statistics: `p50`, `p90`, `p95`, `p99` (nearest rank), `min`, `max`,
//! `mean`, `sum`, and `count` (seeds where the field is above zero). A
//! field alone means `max(field)`. Fields are the columns of `sweep.csv`.

use thiserror::Error;

/// A `--fail-if` expression that cannot be read, with where and why.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("--fail-if {text:?}: at character {at}: {message}")]
pub struct ExprError {
    /// The whole expression.
    pub text: String,
    /// 1-based character position.
    pub at: usize,
    /// What was expected.
    pub message: String,
}

/// A statistic over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Nearest-rank percentile.
    Percentile(f64),
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Average.
    Mean,
    /// Total.
    Sum,
    /// Seeds where the value is above zero.
    Count,
}

impl Stat {
    fn parse(name: &str) -> Option<Stat> {
        Some(match name {
            "p50" => Stat::Percentile(50.0),
            "p90" => Stat::Percentile(90.0),
            "p95" => Stat::Percentile(95.0),
            "p99" => Stat::Percentile(99.0),
            "min" => Stat::Min,
            "max" => Stat::Max,
            "mean" => Stat::Mean,
            "sum" => Stat::Sum,
            "count" => Stat::Count,
            _ => return None,
        })
    }

    /// The statistic of `values` (NaN for no values).
    pub fn of(self, values: &[f64]) -> f64 {
        if values.is_empty() {
            return f64::NAN;
        }
        match self {
            Stat::Percentile(p) => percentile(values, p),
            Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Stat::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Stat::Sum => values.iter().sum(),
            Stat::Count => values.iter().filter(|&&v| v > 0.0).count() as f64,
        }
    }
}

/// The nearest-rank `p`-th percentile of `values` (not empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// One comparison: `stat(field) op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The statistic.
    pub stat: Stat,
    /// The per-seed field.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The number compared with.
    pub value: f64,
}

/// A parsed `--fail-if`: conditions in disjunctive form (any group of
/// which all hold).
#[derive(Debug, Clone, PartialEq)]
pub struct FailIf {
    /// `a && b || c` is `[[a, b], [c]]`.
    pub any_of: Vec<Vec<Condition>>,
    /// The text as given.
    pub text: String,
}

impl FailIf {
    /// Parses `text`; `fields` are the names allowed.
    pub fn parse(text: &str, fields: &[&str]) -> Result<FailIf, ExprError> {
        let mut p = Parser {
            text,
            chars: text.char_indices().collect(),
            pos: 0,
            fields,
        };
        let mut any_of = vec![vec![p.condition()?]];
        loop {
            p.skip_spaces();
            if p.eat("&&") {
                let c = p.condition()?;
                any_of.last_mut().expect("a group").push(c);
            } else if p.eat("||") {
                any_of.push(vec![p.condition()?]);
            } else if p.at_end() {
                break;
            } else {
                return Err(p.error("expected && or || or the end"));
            }
        }
        Ok(FailIf {
            any_of,
            text: text.to_string(),
        })
    }

    /// True when the expression holds; `values(field)` gives a field's
    /// per-seed values. Each condition that holds is described in `why`.
    pub fn holds(&self, values: &dyn Fn(&str) -> Vec<f64>, why: &mut Vec<String>) -> bool {
        let mut any = false;
        for group in &self.any_of {
            let mut all = true;
            let mut reasons = Vec::new();
            for c in group {
                let v = c.stat.of(&values(&c.field));
                let ok = match c.op {
                    Op::Gt => v > c.value,
                    Op::Ge => v >= c.value,
                    Op::Lt => v < c.value,
                    Op::Le => v <= c.value,
                    Op::Eq => v == c.value,
                    Op::Ne => v != c.value,
                };
                if ok {
                    reasons.push(format!("{} = {v}", c.describe()));
                } else {
                    all = false;
                }
            }
            if all {
                any = true;
                why.extend(reasons);
            }
        }
        any
    }
}

impl Condition {
    fn describe(&self) -> String {
        let stat = match self.stat {
            Stat::Percentile(p) => format!("p{p}"),
            Stat::Min => "min".into(),
            Stat::Max => "max".into(),
            Stat::Mean => "mean".into(),
            Stat::Sum => "sum".into(),
            Stat::Count => "count".into(),
        };
        format!("{stat}({})", self.field)
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    fields: &'a [&'a str],
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError {
            text: self.text.to_string(),
            at: self.pos + 1,
            message: message.into(),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let next: String = self.chars[self.pos..]
            .iter()
            .take(n)
            .map(|&(_, c)| c)
            .collect();
        if next == s {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            w.push(c);
            self.pos += 1;
        }
        w
    }

    fn field(&mut self) -> Result<String, ExprError> {
        self.skip_spaces();
        let start = self.pos;
        let f = self.word();
        if !self.fields.contains(&f.as_str()) {
            self.pos = start;
            return Err(self.error(format!(
                "{} is not a field; the fields are: {}",
                if f.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("{f:?}")
                },
                self.fields.join(", ")
            )));
        }
        Ok(f)
    }

    fn condition(&mut self) -> Result<Condition, ExprError> {
        self.skip_spaces();
        let start = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(self.error(match self.peek() {
                None => "expected a condition such as max(lost) > 0, found the end".to_string(),
                Some('(') => "expected a condition such as max(lost) > 0, found \"(\": \
                              conditions are not grouped (&& binds tighter than ||)"
                    .to_string(),
                Some(c) => format!("expected a condition such as max(lost) > 0, found {c:?}"),
            }));
        }
        self.skip_spaces();
        let (stat, field) = if self.eat("(") {
            let Some(stat) = Stat::parse(&name) else {
                self.pos = start;
                return Err(self.error(format!(
                    "{name:?} is not a statistic; use p50, p90, p95, p99, min, max, mean, sum or count"
                )));
            };
            let field = self.field()?;
            self.skip_spaces();
            if !self.eat(")") {
                return Err(self.error("expected )"));
            }
            (stat, field)
        } else {
            self.pos = start;
            (Stat::Max, self.field()?)
        };
        self.skip_spaces();
        let op = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .into_iter()
        .find(|(s, _)| self.eat(s))
        .map(|(_, op)| op)
        .ok_or_else(|| self.error("expected a comparison: > >= < <= == !="))?;
        self.skip_spaces();
        let from = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
        {
            self.pos += 1;
        }
        let number: String = self.chars[from..self.pos].iter().map(|&(_, c)| c).collect();
        let value: f64 = number.parse().map_err(|_| {
            self.pos = from;
            self.error("expected a number")
        })?;
        Ok(Condition {
            stat,
            field,
            op,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["convergence_ms", "lost", "duplicates"];

    fn values(field: &str) -> Vec<f64> {
        match field {
            "convergence_ms" => (1..=100).map(|i| f64::from(i) * 1000.0).collect(),
            "lost" => vec![0.0; 100],
            _ => (0..100).map(f64::from).collect(),
        }
    }

    /// (expression, holds) as a table.
    #[test]
    fn expressions_evaluate_as_written() {
        for (text, expected) in [
            ("p99(convergence_ms) > 60000", true),
            ("p50(convergence_ms) == 50000", true),
            ("max(lost) > 0", false),
            ("lost > 0 || p90(convergence_ms) >= 90000", true),
            ("lost > 0 || mean(duplicates) < 10", false),
            (
                "count(duplicates) == 99 && min(convergence_ms) <= 1000",
                true,
            ),
            ("count(duplicates) == 99 && lost != 0", false),
            ("sum(duplicates)>4949", true),
        ] {
            let e = FailIf::parse(text, FIELDS).unwrap();
            let mut why = Vec::new();
            assert_eq!(e.holds(&values, &mut why), expected, "{text}");
            assert_eq!(why.is_empty(), !expected, "{text}: {why:?}");
        }
    }

    #[test]
    fn bad_expressions_say_where_and_what() {
        for (text, at, says) in [
            ("p98(lost) > 0", 1, "not a statistic"),
            ("p99(lots) > 0", 5, "not a field"),
            ("p99(lost > 0", 10, "expected )"),
            ("p99(lost) 0", 11, "expected a comparison"),
            ("p99(lost) > x", 13, "expected a number"),
            ("lost > 0 and lost > 1", 10, "expected && or ||"),
            ("max(lost) > 0 &&", 17, "found the end"),
            ("(max(lost) > 0)", 1, "conditions are not grouped"),
            ("max(lost) > 0 || > 1", 18, "found '>'"),
        ] {
            let e = FailIf::parse(text, FIELDS).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 5.0);
        assert_eq!(percentile(&v, 99.0), 10.0);
        assert_eq!(percentile(&[3.0], 90.0), 3.0);
    }
}
