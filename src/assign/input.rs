//! The JSON input and text output of `rebalance-sim assign`.
//!
//! Input: `{"assignor": "range", "topics": {"t0": 4, "t1": {"partitions": 6,
//! "replica_racks": [["a","b"]]}}, "members": {"c1": {"topics": ["t0"],
//! "owned": [["t0", 0]], "generation": 1, "instance": "i1", "rack": "a"}}}`.

use super::{ASSIGNOR_NAMES, Assignment, AssignorName, GroupSpec, NamedMember, TopicSpec};
use crate::limits;
use serde_json::{Map, Value};
use thiserror::Error;

/// A parsed `assign` request.
#[derive(Debug, Clone)]
pub struct AssignInput {
    /// Which assignor to run.
    pub assignor: AssignorName,
    /// Topics and members.
    pub group: GroupSpec,
}

/// Why an `assign` input was rejected.
#[derive(Debug, Error)]
pub enum AssignInputError {
    /// Not JSON at all.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// JSON, but not a valid request.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the document, e.g. `members.c1.topics[0]`.
        path: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> AssignInputError {
    AssignInputError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

fn expect_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, AssignInputError> {
    v.as_object()
        .ok_or_else(|| invalid(path, format!("expected an object, found {}", kind(v))))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn reject_unknown(
    map: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
) -> Result<(), AssignInputError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            join(path, k),
            format!("unknown field, expected one of: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn as_u32(v: &Value, path: &str) -> Result<u32, AssignInputError> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            invalid(
                path,
                format!("expected a whole number from 0 to {}, found {v}", u32::MAX),
            )
        })
}

fn as_string(v: &Value, path: &str) -> Result<String, AssignInputError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(path, format!("expected a string, found {}", kind(v))))
}

fn as_array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, AssignInputError> {
    v.as_array()
        .ok_or_else(|| invalid(path, format!("expected an array, found {}", kind(v))))
}

/// Parses the JSON text of an `assign` request.
pub fn parse_assign_input(text: &str) -> Result<AssignInput, AssignInputError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| AssignInputError::Json {
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    let root = expect_object(&doc, "input")?;
    reject_unknown(root, "", &["assignor", "topics", "members"])?;

    let name_value = root.get("assignor").ok_or_else(|| {
        invalid(
            "assignor",
            "missing; one of: ".to_string() + &ASSIGNOR_NAMES.join(", "),
        )
    })?;
    let name = as_string(name_value, "assignor")?;
    let assignor = AssignorName::parse(&name).ok_or_else(|| {
        invalid(
            "assignor",
            format!(
                "unknown assignor \"{name}\", expected one of: {}",
                ASSIGNOR_NAMES.join(", ")
            ),
        )
    })?;

    let topics_value = root.get("topics").ok_or_else(|| {
        invalid(
            "topics",
            "missing; an object of topic name to partition count",
        )
    })?;
    let mut topics = Vec::new();
    let mut total = 0u64;
    for (tname, tv) in expect_object(topics_value, "topics")? {
        let topic = parse_topic(tname, tv)?;
        total += u64::from(topic.partitions);
        if total > limits::MAX_TOTAL_PARTITIONS {
            return Err(invalid(
                "topics",
                format!(
                    "more than {} partitions in all, rebalance-sim's limit",
                    limits::MAX_TOTAL_PARTITIONS
                ),
            ));
        }
        topics.push(topic);
    }

    let members_value = root
        .get("members")
        .ok_or_else(|| invalid("members", "missing; an object of member id to subscription"))?;
    let members_map = expect_object(members_value, "members")?;
    if members_map.len() > limits::MAX_CONSUMERS as usize {
        return Err(invalid(
            "members",
            format!(
                "{} members is above rebalance-sim's limit of {}",
                members_map.len(),
                limits::MAX_CONSUMERS
            ),
        ));
    }
    let mut members = Vec::new();
    for (id, mv) in members_map {
        members.push(parse_member(id, mv, &topics)?);
    }

    let group = GroupSpec::from_named(topics, members)
        .map_err(|t| invalid("members", format!("unknown topic \"{t}\"")))?;
    Ok(AssignInput { assignor, group })
}

/// A topic's partition count, within rebalance-sim's limit per topic.
fn partition_count(v: &Value, path: &str) -> Result<u32, AssignInputError> {
    let n = as_u32(v, path)?;
    if n > limits::MAX_PARTITIONS_PER_TOPIC {
        return Err(invalid(
            path,
            format!(
                "{n} partitions is above rebalance-sim's limit of {} per topic",
                limits::MAX_PARTITIONS_PER_TOPIC
            ),
        ));
    }
    Ok(n)
}

fn parse_topic(name: &str, v: &Value) -> Result<TopicSpec, AssignInputError> {
    let path = format!("topics.{name}");
    if v.is_number() {
        return Ok(TopicSpec::new(name, partition_count(v, &path)?));
    }
    let obj = v.as_object().ok_or_else(|| {
        invalid(
            &path,
            format!(
                "expected a partition count or {{\"partitions\": N, \"replica_racks\": [[...]]}}, found {}",
                kind(v)
            ),
        )
    })?;
    reject_unknown(obj, &path, &["partitions", "replica_racks"])?;
    let partitions = partition_count(
        obj.get("partitions")
            .ok_or_else(|| invalid(join(&path, "partitions"), "missing"))?,
        &join(&path, "partitions"),
    )?;
    let mut replica_racks = Vec::new();
    if let Some(rv) = obj.get("replica_racks") {
        let rpath = join(&path, "replica_racks");
        for (i, entry) in as_array(rv, &rpath)?.iter().enumerate() {
            let epath = format!("{rpath}[{i}]");
            let entry = as_array(entry, &epath)?;
            if entry.len() > limits::MAX_REPLICAS as usize {
                return Err(invalid(
                    &epath,
                    format!(
                        "{} replica racks is above rebalance-sim's limit of {} per partition",
                        entry.len(),
                        limits::MAX_REPLICAS
                    ),
                ));
            }
            let racks = entry
                .iter()
                .enumerate()
                .map(|(j, r)| as_string(r, &format!("{epath}[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            replica_racks.push(racks);
        }
    }
    Ok(TopicSpec {
        name: name.to_string(),
        partitions,
        replica_racks,
    })
}

fn parse_member(
    id: &str,
    v: &Value,
    topics: &[TopicSpec],
) -> Result<NamedMember, AssignInputError> {
    let path = format!("members.{id}");
    let obj = expect_object(v, &path)?;
    reject_unknown(
        obj,
        &path,
        &["topics", "owned", "generation", "instance", "rack"],
    )?;
    let known = |t: &str| topics.iter().find(|s| s.name == t);
    let tpath = join(&path, "topics");
    let subs = as_array(
        obj.get("topics")
            .ok_or_else(|| invalid(&tpath, "missing; the list of subscribed topics"))?,
        &tpath,
    )?;
    let mut member = NamedMember {
        id: id.to_string(),
        ..Default::default()
    };
    for (i, t) in subs.iter().enumerate() {
        let p = format!("{tpath}[{i}]");
        let name = as_string(t, &p)?;
        if known(&name).is_none() {
            return Err(unknown_topic(&p, &name, topics));
        }
        member.topics.push(name);
    }
    if let Some(ov) = obj.get("owned") {
        let opath = join(&path, "owned");
        for (i, pair) in as_array(ov, &opath)?.iter().enumerate() {
            let p = format!("{opath}[{i}]");
            let items = as_array(pair, &p)?;
            if items.len() != 2 {
                return Err(invalid(&p, "expected [\"topic\", partition]"));
            }
            let tname = as_string(&items[0], &format!("{p}[0]"))?;
            let partition = as_u32(&items[1], &format!("{p}[1]"))?;
            let topic = known(&tname).ok_or_else(|| unknown_topic(&p, &tname, topics))?;
            if partition >= topic.partitions {
                return Err(invalid(
                    &p,
                    format!(
                        "topic \"{tname}\" has {} partitions, so {partition} does not exist",
                        topic.partitions
                    ),
                ));
            }
            member.owned.push((tname, partition));
        }
    }
    if let Some(g) = obj.get("generation") {
        let gpath = join(&path, "generation");
        let n = g
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| invalid(&gpath, format!("expected a 32-bit integer, found {g}")))?;
        member.generation = Some(n);
    }
    if let Some(i) = obj.get("instance") {
        member.instance_id = Some(as_string(i, &join(&path, "instance"))?);
    }
    if let Some(r) = obj.get("rack") {
        member.rack = Some(as_string(r, &join(&path, "rack"))?);
    }
    Ok(member)
}

fn unknown_topic(path: &str, name: &str, topics: &[TopicSpec]) -> AssignInputError {
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    invalid(
        path,
        format!(
            "unknown topic \"{name}\"; the topics are: {}",
            names.join(", ")
        ),
    )
}

/// Formats an assignment as `member: t0-0 t0-3`, one line per member sorted
/// by member id, partitions by topic name then number. A member without a
/// list prints with none; lists beyond the members are not printed.
pub fn format_assignment(group: &GroupSpec, assignment: &Assignment) -> String {
    let mut order: Vec<usize> = (0..group.members.len()).collect();
    order.sort_by(|&a, &b| group.members[a].id.cmp(&group.members[b].id));
    let mut out = String::new();
    for m in order {
        out.push_str(&group.members[m].id);
        out.push(':');
        for &tp in assignment.per_member.get(m).into_iter().flatten() {
            out.push(' ');
            match group.topics.get(tp.topic as usize) {
                Some(t) => out.push_str(&t.name),
                None => out.push_str(&format!("<topic id {}>", tp.topic)),
            }
            out.push('-');
            out.push_str(&tp.partition.to_string());
        }
        out.push('\n');
    }
    out
}
