//! Which output directories a run may replace, and deleting only what
//! rebalance-sim wrote.
//!
//! Every output directory holds a marker file, [`MARKER`]. An existing
//! `--out` is replaced only if it is a real directory (not a link) that is
//! empty, or holds the marker and nothing but the files a run writes.
//! Anything else is refused; `--force` overrides only a directory holding
//! other files. The current directory and its ancestors, the home directory
//! and its ancestors, the root, and non-directories are always refused.

use super::files::ReportError;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// The marker file written into every output directory.
pub const MARKER: &str = ".rebalance-sim-output";

/// The marker's content, for whoever finds the file.
pub(super) const MARKER_TEXT: &str =
    "written by rebalance-sim; this directory is replaced by the next run with the same --out\n";

/// The files a run writes next to the marker.
pub const OUTPUT_FILES: [&str; 12] = [
    "timeseries.csv",
    "events.csv",
    "consumers.csv",
    "partitions.csv",
    "summary.json",
    "chart.png",
    "chart.svg",
    "ownership.png",
    "ownership.svg",
    "health.png",
    "health.svg",
    "report.html",
];

/// The files a sweep (or a merge of shards) writes.
pub const SWEEP_FILES: [&str; 2] = ["sweep.csv", "sweep.json"];

/// The files a comparison writes.
pub const COMPARE_FILES: [&str; 9] = [
    "compare.csv",
    "compare.json",
    "compare.md",
    "runs.csv",
    "compare.png",
    "compare.svg",
    "compare-metrics.png",
    "compare-metrics.svg",
    "compare.html",
];

/// The directory of a sweep's kept seeds (`--keep`): one run's outputs
/// per seed, in `seeds/<seed>/`.
pub const SEEDS_DIR: &str = "seeds";

/// True when `path` is a `seeds/` directory of a sweep: a real directory
/// of marked run directories named by their seed, holding nothing else.
fn is_kept_seeds(path: &Path) -> bool {
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    for entry in entries {
        let Ok(entry) = entry else {
            return false;
        };
        let name = entry.file_name();
        let numbered = name
            .to_str()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !numbered || !real_dir || !is_marked(&entry.path()) {
            return false;
        }
        if foreign_entries(&entry.path()).map_or(true, |f| !f.is_empty()) {
            return false;
        }
    }
    true
}

/// Why an output path is refused. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The path is the current directory (`.`, `./`, `sub/..`).
    #[error("it is the current directory; give --out a directory of its own, e.g. --out results")]
    CurrentDir,
    /// The path contains the current directory (`..`).
    #[error(
        "it contains the current directory; give --out a directory of its own, e.g. --out results"
    )]
    AncestorOfCurrentDir,
    /// The path is the home directory or contains it.
    #[error("it is your home directory or contains it; give --out a directory of its own")]
    Home,
    /// The filesystem root.
    #[error("it is the filesystem root; give --out a directory of its own")]
    Root,
    /// The path ends in `..`, so it names no directory of its own.
    #[error("it ends in `..`; name the directory itself")]
    NoName,
    /// The path is a symbolic link; links are never written through or
    /// replaced, whatever they point to.
    #[error("it is a symbolic link; give the real path of a directory, or a new one")]
    Symlink,
    /// The path exists and is not a directory.
    #[error("it exists and is not a directory; choose another --out")]
    NotADirectory,
    /// A parent of the path exists and is not a directory.
    #[error("{} exists and is not a directory; choose another --out", .0.display())]
    ParentNotADirectory(PathBuf),
    /// The directory holds entries rebalance-sim did not write (sorted).
    #[error(
        "it holds files rebalance-sim did not write ({}); choose another --out, move them away, \
         or pass --force to delete everything in it and write the outputs there",
        list(.0)
    )]
    ForeignFiles(Vec<String>),
}

impl Refusal {
    /// Whether `--force` overrides this refusal.
    pub fn forceable(&self) -> bool {
        matches!(self, Refusal::ForeignFiles(_))
    }
}

/// The first few names, and how many more.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// A checked output path, split for staging siblings next to it.
#[derive(Debug)]
pub(super) struct Target {
    /// The path without trailing slashes or inner `.`.
    pub dir: PathBuf,
    /// Its parent (`.` for a bare name).
    pub parent: PathBuf,
    /// Its last component.
    pub name: OsString,
}

impl Target {
    /// The hidden sibling `.NAME.KIND-PID` used while replacing the directory.
    pub fn sibling(&self, kind: &str) -> PathBuf {
        let mut name = self.sibling_prefix(kind);
        name.push(std::process::id().to_string());
        self.parent.join(name)
    }

    /// `.NAME.KIND-`: the prefix of this target's siblings from any run.
    fn sibling_prefix(&self, kind: &str) -> OsString {
        let mut s = OsString::from(".");
        s.push(&self.name);
        s.push(format!(".{kind}-"));
        s
    }

    /// Whether `file_name` is a sibling `.NAME.KIND-<digits>` of any run.
    fn is_sibling(&self, file_name: &OsString, kind: &str) -> bool {
        let prefix = self.sibling_prefix(kind);
        file_name
            .as_encoded_bytes()
            .strip_prefix(prefix.as_encoded_bytes())
            .is_some_and(|pid| !pid.is_empty() && pid.iter().all(u8::is_ascii_digit))
    }
}

/// Checks, before a run, that its outputs may be written to `dir`. `dir`
/// may be new, an empty directory, or a directory holding [`MARKER`] and
/// nothing but [`OUTPUT_FILES`] (written by an earlier run). Refused with
/// [`ReportError::Refused`]: the current directory, the home directory or
/// a parent of either, the root, a path ending in `..`, a non-directory (at
/// `dir` or a parent), a symbolic link, and a directory holding other
/// files — the only refusal `force` overrides (they are then deleted).
/// [`super::write_outputs`] checks again before it replaces anything.
pub fn check_output_dir(dir: &Path, force: bool) -> Result<(), ReportError> {
    check(dir, force).map(drop)
}

/// [`check_output_dir`], returning the split path.
pub(super) fn check(dir: &Path, force: bool) -> Result<Target, ReportError> {
    let refused = |reason| ReportError::Refused {
        path: dir.to_path_buf(),
        reason,
    };
    // Collecting the components drops trailing slashes, so a link named
    // `link/` is seen as the link itself.
    let path: PathBuf = dir.components().collect();
    check_special(&path).map_err(refused)?;
    let Some(Component::Normal(name)) = path.components().next_back() else {
        return Err(refused(Refusal::NoName));
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    check_parent(&parent).map_err(refused)?;
    let target = Target {
        name: name.to_os_string(),
        dir: path,
        parent,
    };
    match check_existing(&target.dir) {
        Ok(()) => Ok(target),
        Err(Inspect::Refused(reason)) if force && reason.forceable() => Ok(target),
        Err(Inspect::Refused(reason)) => Err(refused(reason)),
        Err(Inspect::Io(source)) => Err(ReportError::Inspect {
            path: target.dir,
            source,
        }),
    }
}

/// Refuses the root, the current directory and its ancestors, and the home
/// directory and its ancestors, comparing canonical paths (so `.`, `a/..`
/// and absolute spellings are all caught). A path that does not resolve
/// does not exist yet, and so is none of these.
fn check_special(path: &Path) -> Result<(), Refusal> {
    let Ok(real) = fs::canonicalize(path) else {
        return Ok(());
    };
    if real.parent().is_none() {
        return Err(Refusal::Root);
    }
    if let Some(cwd) = std::env::current_dir()
        .ok()
        .and_then(|d| fs::canonicalize(d).ok())
    {
        if cwd == real {
            return Err(Refusal::CurrentDir);
        }
        if cwd.starts_with(&real) {
            return Err(Refusal::AncestorOfCurrentDir);
        }
    }
    let homes = ["HOME", "USERPROFILE"]
        .into_iter()
        .filter_map(std::env::var_os)
        .filter(|h| !h.is_empty())
        .filter_map(|h| fs::canonicalize(h).ok());
    for home in homes {
        if home.starts_with(&real) {
            return Err(Refusal::Home);
        }
    }
    Ok(())
}

/// Refuses a parent path whose nearest existing ancestor is not a
/// directory: creating the output directory there would fail after the run.
fn check_parent(parent: &Path) -> Result<(), Refusal> {
    for ancestor in parent.ancestors() {
        if let Ok(meta) = fs::metadata(ancestor) {
            if meta.is_dir() {
                return Ok(());
            }
            return Err(Refusal::ParentNotADirectory(ancestor.to_path_buf()));
        }
    }
    Ok(())
}

/// What inspecting an existing path found wrong.
pub(super) enum Inspect {
    Refused(Refusal),
    Io(io::Error),
}

/// Checks what is at `dir` now: nothing, an empty directory, or a marked
/// output directory are fine.
pub(super) fn check_existing(dir: &Path) -> Result<(), Inspect> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Inspect::Io(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Inspect::Refused(Refusal::Symlink));
    }
    if !meta.is_dir() {
        return Err(Inspect::Refused(Refusal::NotADirectory));
    }
    let foreign = foreign_entries(dir).map_err(Inspect::Io)?;
    if foreign.is_empty() {
        return Ok(());
    }
    Err(Inspect::Refused(Refusal::ForeignFiles(
        foreign
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect(),
    )))
}

/// The entries of `dir` that rebalance-sim did not write, sorted: without
/// the marker, every entry; with it, everything but the marker and the
/// output files (as regular files).
fn foreign_entries(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut ours = Vec::new();
    let mut others = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let known = name == MARKER
            || OUTPUT_FILES
                .iter()
                .chain(&SWEEP_FILES)
                .chain(&COMPARE_FILES)
                .any(|f| name == *f);
        let kept_seeds = || -> io::Result<bool> {
            Ok(name == SEEDS_DIR && entry.file_type()?.is_dir() && is_kept_seeds(&entry.path()))
        };
        let file = entry.file_type()?.is_file();
        if (file && (known || is_our_junit(&entry.path()))) || kept_seeds()? {
            ours.push(name);
        } else {
            others.push(name);
        }
    }
    if !ours.iter().any(|n| n == MARKER) {
        others.append(&mut ours);
    }
    others.sort();
    Ok(others)
}

/// Whether `path` is a JUnit file `sweep --junit` wrote (its second line
/// is the mark): one written into the output directory is ours to replace.
fn is_our_junit(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    let read = fs::File::open(path).and_then(|f| f.take(256).read_to_end(&mut head));
    read.is_ok() && String::from_utf8_lossy(&head).lines().nth(1) == Some(crate::sweep::JUNIT_MARK)
}

/// Whether `dir` is a real directory holding the marker.
fn is_marked(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Deletes a directory rebalance-sim wrote: its output files, the marker
/// last, then the directory with `remove_dir`, which fails rather than
/// delete anything else. Deletes nothing if it holds foreign entries.
pub(super) fn remove_output_dir(dir: &Path) -> io::Result<()> {
    if !foreign_entries(dir)?.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::DirectoryNotEmpty,
            "it holds files rebalance-sim did not write",
        ));
    }
    let seeds = dir.join(SEEDS_DIR);
    if fs::symlink_metadata(&seeds).is_ok_and(|m| m.is_dir()) {
        for entry in fs::read_dir(&seeds)? {
            remove_output_dir(&entry?.path())?;
        }
        fs::remove_dir(&seeds)?;
    }
    for name in OUTPUT_FILES
        .iter()
        .chain(&SWEEP_FILES)
        .chain(&COMPARE_FILES)
        .chain([&MARKER])
    {
        match fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) && is_our_junit(&path) {
            fs::remove_file(path)?;
        }
    }
    fs::remove_dir(dir)
}

/// Removes marked `.NAME.tmp-PID` and `.NAME.old-PID` siblings left by an
/// interrupted run with the same target; unmarked ones are not ours and
/// stay. Best effort: what cannot be removed is left for the user. (A run
/// into the same --out at the same time would lose its staging directory
/// and fail; no user file is at risk.)
pub(super) fn remove_stale_siblings(target: &Target) {
    let Ok(entries) = fs::read_dir(&target.parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if (target.is_sibling(&name, "tmp") || target.is_sibling(&name, "old"))
            && is_marked(&entry.path())
        {
            let _ = remove_output_dir(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(dir: &Path, force: bool) -> Option<Refusal> {
        match check(dir, force) {
            Err(ReportError::Refused { reason, .. }) => Some(reason),
            Err(e) => panic!("{}: unexpected error {e}", dir.display()),
            Ok(_) => None,
        }
    }

    fn marked_dir(path: &Path) {
        fs::create_dir(path).expect("mkdir");
        fs::write(path.join(MARKER), MARKER_TEXT).expect("marker");
        fs::write(path.join("summary.json"), "{}").expect("summary");
    }

    #[test]
    fn new_empty_and_marked_directories_are_accepted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(refusal(&tmp.path().join("new/deeper"), false), None);
        fs::create_dir(tmp.path().join("empty")).expect("mkdir");
        assert_eq!(refusal(&tmp.path().join("empty"), false), None);
        marked_dir(&tmp.path().join("marked"));
        assert_eq!(refusal(&tmp.path().join("marked/"), false), None);
    }

    #[test]
    fn foreign_files_are_refused_unless_forced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("mine");
        fs::create_dir(&dir).expect("mkdir");
        for f in ["b.txt", "a.txt", "summary.json", "d", "e"] {
            fs::write(dir.join(f), "x").expect("write");
        }
        let Some(Refusal::ForeignFiles(names)) = refusal(&dir, false) else {
            panic!("foreign files must be refused");
        };
        // Without the marker, even an output file's name is not ours.
        assert_eq!(names, ["a.txt", "b.txt", "d", "e", "summary.json"]);
        let msg = Refusal::ForeignFiles(names).to_string();
        assert!(msg.contains("a.txt, b.txt, d and 2 more"), "{msg}");
        assert!(msg.contains("--force"), "{msg}");
        assert_eq!(refusal(&dir, true), None);
    }

    #[test]
    fn a_marked_directory_with_added_files_is_foreign() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out");
        marked_dir(&dir);
        fs::create_dir(dir.join("chart.png")).expect("a directory with an output's name");
        fs::write(dir.join("notes.txt"), "mine").expect("write");
        assert_eq!(
            refusal(&dir, false),
            Some(Refusal::ForeignFiles(vec![
                "chart.png".into(),
                "notes.txt".into()
            ]))
        );
        let err = remove_output_dir(&dir).expect_err("foreign entries");
        assert_eq!(err.kind(), io::ErrorKind::DirectoryNotEmpty);
        assert!(dir.join(MARKER).is_file() && dir.join("summary.json").is_file());
        assert!(dir.join("notes.txt").is_file(), "nothing deleted");
    }

    #[test]
    fn files_dotdot_endings_and_the_root_are_refused_even_forced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("f");
        fs::write(&file, "x").expect("write");
        for force in [false, true] {
            assert_eq!(refusal(&file, force), Some(Refusal::NotADirectory));
            assert_eq!(
                refusal(&file.join("sub/out"), force),
                Some(Refusal::ParentNotADirectory(file.clone()))
            );
            assert_eq!(
                refusal(&tmp.path().join("missing/.."), force),
                Some(Refusal::NoName)
            );
            assert_eq!(refusal(Path::new("/"), force), Some(Refusal::Root));
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_whatever_they_point_to() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let marked = tmp.path().join("marked");
        marked_dir(&marked);
        fs::write(tmp.path().join("f"), "x").expect("write");
        for (link, to) in [("to-dir", "marked"), ("to-file", "f"), ("dangling", "nope")] {
            let link = tmp.path().join(link);
            std::os::unix::fs::symlink(tmp.path().join(to), &link).expect("symlink");
            for force in [false, true] {
                assert_eq!(refusal(&link, force), Some(Refusal::Symlink));
            }
        }
        let mut with_slash = tmp.path().join("to-dir").into_os_string();
        with_slash.push("/");
        assert_eq!(
            refusal(Path::new(&with_slash), true),
            Some(Refusal::Symlink)
        );
    }

    #[test]
    fn remove_output_dir_deletes_only_what_a_run_writes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out");
        marked_dir(&dir);
        remove_output_dir(&dir).expect("removed");
        assert!(!dir.exists());
    }

    #[test]
    fn stale_siblings_are_recognised_by_prefix_and_digits() {
        let target = Target {
            dir: "out".into(),
            parent: ".".into(),
            name: "out".into(),
        };
        assert!(target.is_sibling(&".out.tmp-123".into(), "tmp"));
        assert!(target.is_sibling(&".out.old-7".into(), "old"));
        for other in [
            ".out.tmp-",
            ".out.tmp-1x",
            ".out.tmp-1.tmp-2",
            ".outx.tmp-1",
        ] {
            assert!(!target.is_sibling(&other.into(), "tmp"), "{other}");
        }
        let pid = std::process::id().to_string();
        assert_eq!(
            target.sibling("tmp"),
            Path::new(".").join(format!(".out.tmp-{pid}"))
        );
    }
}
