//! Assignors by the name members advertise.

use super::{Assignor, RangeAssignor, RoundRobinAssignor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The built-in assignors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssignorName {
    /// Client-side `range`.
    #[serde(rename = "range")]
    Range,
    /// Client-side `roundrobin`.
    #[serde(rename = "roundrobin")]
    RoundRobin,
}

/// Every built-in assignor name, as accepted on input.
pub const ASSIGNOR_NAMES: &[&str] = &["range", "roundrobin"];

impl AssignorName {
    /// The name as written in scenario files and `assign` input.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignorName::Range => "range",
            AssignorName::RoundRobin => "roundrobin",
        }
    }

    /// Parses a name; `None` if unknown.
    pub fn parse(s: &str) -> Option<AssignorName> {
        match s {
            "range" => Some(AssignorName::Range),
            "roundrobin" => Some(AssignorName::RoundRobin),
            _ => None,
        }
    }

    /// The assignor itself.
    pub fn build(self) -> Box<dyn Assignor> {
        match self {
            AssignorName::Range => Box::new(RangeAssignor),
            AssignorName::RoundRobin => Box::new(RoundRobinAssignor),
        }
    }
}

impl fmt::Display for AssignorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in assignor called `name`.
pub fn assignor_by_name(name: &str) -> Option<Box<dyn Assignor>> {
    AssignorName::parse(name).map(AssignorName::build)
}
