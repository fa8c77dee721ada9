//! `run --out` never destroys or half-writes a user's files: it replaces
//! only directories it wrote (marked with `.rebalance-sim-output`), refuses
//! everything else with exit code 2 before the run, and cleans up after
//! itself.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MARKER: &str = ".rebalance-sim-output";

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/consumer-crash.toml")
}

/// Runs consumer-crash, cut to just after its crash at 60 s, in `cwd` with
/// `--out out` and `extra`.
fn run_in(cwd: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
        .arg("run")
        .arg(scenario())
        .args(["--quiet", "--set", "scenario.duration=65s", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every entry under `dir`: relative path → content (files), "/"
/// (directories) or "-> target" (links).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let meta = fs::symlink_metadata(&path).expect("meta");
            if meta.is_dir() {
                into.insert(rel, b"/".to_vec());
                walk(root, &path, into);
            } else if meta.file_type().is_symlink() {
                let to = fs::read_link(&path).expect("link");
                into.insert(rel, format!("-> {}", to.display()).into_bytes());
            } else {
                into.insert(rel, fs::read(&path).expect("readable"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// A directory of the user's own: two files and a subdirectory.
fn user_files(dir: &Path) {
    fs::create_dir_all(dir.join("data")).expect("mkdir");
    fs::write(dir.join("notes.txt"), "my notes\n").expect("write");
    fs::write(dir.join("data/measurements.csv"), "a,b\n1,2\n").expect("write");
}

/// Asserts exit code 2, every word of `expect` in the message, no panic.
fn assert_refused(o: &Output, expect: &[&str]) {
    let msg = text(o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(msg.contains("refusing to write the outputs to"), "{msg}");
    for e in expect {
        assert!(msg.contains(e), "expected {e:?} in:\n{msg}");
    }
    assert!(!msg.contains("panicked"), "{msg}");
}

/// Asserts `dir` holds exactly the outputs of a run and the marker: a run
/// that wrote anything else would refuse its own directory next time.
fn assert_outputs(dir: &Path) {
    let mut names = names_starting(dir, "");
    names.sort();
    // Exactly the marker and the files the library declares it writes.
    let mut expected: Vec<&str> = rebalance_sim::report::OUTPUT_FILES.to_vec();
    expected.push(MARKER);
    expected.sort();
    assert!(expected.len() >= 10, "all outputs: {expected:?}");
    assert_eq!(names, expected, "{}", dir.display());
    let marker = fs::read_to_string(dir.join(MARKER)).expect("the marker");
    assert!(
        marker.starts_with("written by rebalance-sim;") && marker.contains("--out"),
        "{marker}"
    );
}

/// Names in `dir` that start with `prefix`.
fn names_starting(dir: &Path, prefix: &str) -> Vec<String> {
    fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn seed_of(dir: &Path) -> u64 {
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("json");
    summary["seed"].as_u64().expect("seed")
}

#[test]
fn the_current_directory_is_refused_in_every_spelling_and_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cwd = tmp.path().join("work");
    user_files(&cwd);
    let before = snapshot(tmp.path());
    for out in [
        ".",
        "./",
        "data/..",
        "data/../",
        cwd.to_str().expect("utf-8"),
    ] {
        for extra in [&[][..], &["--force"]] {
            let o = run_in(&cwd, Path::new(out), extra);
            assert_refused(&o, &["it is the current directory", "--out results"]);
            assert_eq!(snapshot(tmp.path()), before, "--out {out} {extra:?}");
        }
    }
}

#[test]
fn ancestors_of_the_current_directory_are_refused_and_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    user_files(tmp.path());
    let cwd = tmp.path().join("a/b");
    fs::create_dir_all(&cwd).expect("mkdir");
    let before = snapshot(tmp.path());
    for out in ["..", "../", "../..", tmp.path().to_str().expect("utf-8")] {
        for extra in [&[][..], &["--force"]] {
            let o = run_in(&cwd, Path::new(out), extra);
            assert_refused(&o, &["it contains the current directory"]);
            assert_eq!(snapshot(tmp.path()), before, "--out {out} {extra:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn the_root_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = run_in(tmp.path(), Path::new("/"), &[]);
    assert_refused(&o, &["it is the filesystem root"]);
}

#[test]
fn the_home_directory_is_refused_even_empty_and_forced() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let cwd = tmp.path().join("elsewhere");
    fs::create_dir(&home).expect("mkdir");
    fs::create_dir(&cwd).expect("mkdir");
    for extra in [&[][..], &["--force"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
            .arg("run")
            .arg(scenario())
            .args(["--quiet", "--set", "scenario.duration=65s", "--out"])
            .arg(&home)
            .args(extra)
            .current_dir(&cwd)
            .env("HOME", &home)
            .output()
            .expect("runs");
        assert_refused(&o, &["it is your home directory"]);
        assert!(snapshot(&home).is_empty(), "nothing written into $HOME");
        assert!(names_starting(tmp.path(), ".home.").is_empty());
    }
}

#[test]
fn an_existing_file_is_refused_and_kept_with_nothing_left_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("results"), "precious\n").expect("write");
    let before = snapshot(tmp.path());
    for out in ["results", "results/", "results/run1"] {
        for extra in [&[][..], &["--force"]] {
            let o = run_in(tmp.path(), Path::new(out), extra);
            assert_refused(&o, &["is not a directory", "choose another --out"]);
            assert_eq!(snapshot(tmp.path()), before, "--out {out} {extra:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_refused_and_what_they_point_to_is_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cwd = tmp.path().join("work");
    fs::create_dir(&cwd).expect("mkdir");
    user_files(&tmp.path().join("mine"));
    fs::write(tmp.path().join("file"), "precious\n").expect("write");
    std::os::unix::fs::symlink(tmp.path().join("mine"), cwd.join("to-dir")).expect("link");
    std::os::unix::fs::symlink(tmp.path().join("file"), cwd.join("to-file")).expect("link");
    let before = snapshot(tmp.path());
    for out in ["to-dir", "to-dir/", "to-file"] {
        for extra in [&[][..], &["--force"]] {
            let o = run_in(&cwd, Path::new(out), extra);
            assert_refused(&o, &["it is a symbolic link"]);
            assert_eq!(snapshot(tmp.path()), before, "--out {out} {extra:?}");
        }
    }
}

#[test]
fn a_directory_of_foreign_files_is_refused_naming_them_and_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    user_files(&tmp.path().join("results"));
    let before = snapshot(tmp.path());
    let o = run_in(tmp.path(), Path::new("results"), &[]);
    assert_refused(
        &o,
        &[
            "did not write (data, notes.txt)",
            "choose another --out",
            "--force to delete everything in it",
        ],
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn force_replaces_a_directory_of_foreign_files_deleting_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("results");
    user_files(&out);
    let o = run_in(tmp.path(), Path::new("results/"), &["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_outputs(&out);
    assert!(!out.join("notes.txt").exists() && !out.join("data").exists());
    assert_eq!(names_starting(tmp.path(), "."), Vec::<String>::new());
}

#[test]
fn a_second_run_replaces_the_first_and_a_new_or_empty_directory_is_used() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("results");
    fs::create_dir(&out).expect("an empty directory holds nothing to lose");
    let o = run_in(tmp.path(), &out, &["--seed", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_outputs(&out);
    assert_eq!(seed_of(&out), 1);
    let o = run_in(tmp.path(), &out, &["--seed", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_outputs(&out);
    assert_eq!(seed_of(&out), 2, "the outputs are those of the second run");
    assert_eq!(names_starting(tmp.path(), "."), Vec::<String>::new());
    // A new directory, parents included.
    let deep = tmp.path().join("x/y/z");
    let o = run_in(tmp.path(), &deep, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_outputs(&deep);
}

#[test]
fn files_added_to_an_output_directory_are_never_deleted_without_force() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("results");
    let o = run_in(tmp.path(), &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    fs::write(out.join("analysis.txt"), "my conclusions\n").expect("write");
    let before = snapshot(tmp.path());
    let o = run_in(tmp.path(), &out, &["--seed", "9"]);
    assert_refused(&o, &["did not write (analysis.txt)"]);
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn a_marked_leftover_of_an_interrupted_run_is_cleaned_up_and_a_foreign_one_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A crash after writing some outputs, and one between the renames.
    for stale in [".results.tmp-123", ".results.old-456"] {
        let dir = tmp.path().join(stale);
        fs::create_dir(&dir).expect("mkdir");
        fs::write(dir.join(MARKER), "written by rebalance-sim; …\n").expect("marker");
        fs::write(dir.join("timeseries.csv"), "time_s\n0").expect("partial");
    }
    // Not ours: no marker.
    user_files(&tmp.path().join(".results.tmp-124"));
    // Another target's leftover.
    let other = tmp.path().join(".results2.tmp-125");
    fs::create_dir(&other).expect("mkdir");
    fs::write(other.join(MARKER), "written by rebalance-sim\n").expect("marker");
    let kept = snapshot(&tmp.path().join(".results.tmp-124"));

    let o = run_in(tmp.path(), Path::new("results"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_outputs(&tmp.path().join("results"));
    let mut left = names_starting(tmp.path(), ".");
    left.sort();
    assert_eq!(left, [".results.tmp-124", ".results2.tmp-125"]);
    assert_eq!(snapshot(&tmp.path().join(".results.tmp-124")), kept);
}

/// `sweep --junit` into its own `--out` runs again: the JUnit file it
/// wrote there is its own to replace (a review found the second run
/// refused); a user's file beside it still stops the run.
#[test]
fn a_junit_file_written_into_the_sweep_directory_is_replaced_on_the_next_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Two seeds of consumer-crash cut short, into `out`, with `extra`.
    let sweep = |out: &Path, extra: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
            .arg("sweep")
            .arg(scenario())
            .args([
                "--seeds",
                "1..2",
                "--quiet",
                "--set",
                "scenario.duration=65s",
            ])
            .arg("--out")
            .arg(out)
            .args(extra)
            .current_dir(tmp.path())
            .output()
            .expect("the binary runs")
    };
    let out = tmp.path().join("sweep");
    let junit = out.join("junit.xml");
    let with_junit = [std::ffi::OsStr::new("--junit"), junit.as_os_str()];
    for _ in 0..2 {
        let o = sweep(&out, &with_junit);
        assert!(o.status.success(), "{}", text(&o));
        assert!(junit.is_file());
    }
    fs::write(out.join("notes.txt"), "mine\n").expect("write");
    let before = snapshot(tmp.path());
    let o = sweep(&out, &with_junit);
    assert_refused(&o, &["did not write (notes.txt)"]);
    assert_eq!(snapshot(tmp.path()), before);
    // A file that only looks like one elsewhere is not taken for ours.
    let plain = tmp.path().join("plain");
    fs::create_dir(&plain).expect("mkdir");
    fs::write(plain.join("junit.xml"), "<?xml?>\n").expect("write");
    let o = sweep(&plain, &[]);
    assert_refused(&o, &["did not write (junit.xml)"]);
}
