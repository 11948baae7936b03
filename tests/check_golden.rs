//! Every recording under `testdata/recordings/` checked against its golden
//! JSON report in `testdata/golden/`.
//!
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test --test
//! check_golden`, then review every changed line against `docs/contract.md`, *Rule codes*.

use std::fs;
use std::path::{Path, PathBuf};

use agent37_stream::check::json::Document;
use agent37_stream::check::{CheckOptions, Report, check_bytes};
use agent37_stream::protocol::rules::{Rule, Severity};

const GROUPS: [&str; 2] = ["valid", "invalid"];
const CHUNK_SIZES: [usize; 5] = [1, 2, 3, 7, 64];

struct Recording {
    group: &'static str,
    /// File name without `.sse`.
    name: String,
    /// Path relative to the crate root, with `/` on every platform.
    path: String,
    bytes: Vec<u8>,
    /// Options from the `<name>.args` sidecar, if any.
    options: CheckOptions,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn recordings(group: &'static str) -> Vec<Recording> {
    let dir = root().join("testdata/recordings").join(group);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|file| file.strip_suffix(".sse").map(str::to_owned))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no recordings in {}", dir.display());
    names
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(format!("{name}.sse"))).expect("read recording");
            let options = sidecar_options(&dir.join(format!("{name}.args")));
            Recording {
                group,
                path: format!("testdata/recordings/{group}/{name}.sse"),
                name,
                bytes,
                options,
            }
        })
        .collect()
}

fn all_recordings() -> Vec<Recording> {
    GROUPS.iter().flat_map(|group| recordings(group)).collect()
}

/// Reads `<name>.args` (see `testdata/recordings/README.md`).
fn sidecar_options(path: &Path) -> CheckOptions {
    let mut options = CheckOptions::default();
    let Ok(text) = fs::read_to_string(path) else {
        return options;
    };
    let mut words = text.split_whitespace();
    while let Some(flag) = words.next() {
        let mut number = || -> usize {
            let value = words
                .next()
                .unwrap_or_else(|| panic!("{flag} needs a value"));
            value
                .parse()
                .unwrap_or_else(|e| panic!("{flag} {value}: {e}"))
        };
        options = match flag {
            "--strict" => options.strict(true),
            "--max-event-bytes" => options.max_event_bytes(number()),
            "--chunk-size" => options.chunk_size(number()),
            other => panic!("{}: unsupported flag {other}", path.display()),
        };
    }
    options
}

fn document(recording: &Recording, report: &Report) -> Document {
    let mut document = Document::default();
    document.push(report.entry(recording.path.clone()));
    document
}

fn golden_path(recording: &Recording) -> PathBuf {
    root()
        .join("testdata/golden")
        .join(recording.group)
        .join(format!("{}.json", recording.name))
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn reports_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for recording in all_recordings() {
        let report = check_bytes(&recording.bytes, &recording.options);
        let document = document(&recording, &report);
        let actual = serde_json::to_string_pretty(&document).expect("serialize") + "\n";
        let path = golden_path(&recording);
        if update {
            fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
            fs::write(&path, &actual).expect("write golden");
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
                path.display()
            )
        });
        // The golden file must also be a valid document of the §6 schema.
        let parsed: Document = serde_json::from_str(&expected)
            .unwrap_or_else(|e| panic!("{}: not a check document: {e}", path.display()));
        if parsed != document || expected != actual {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                recording.path
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn no_golden_file_is_stale() {
    for group in GROUPS {
        let names: Vec<String> = recordings(group).into_iter().map(|r| r.name).collect();
        let dir = root().join("testdata/golden").join(group);
        for entry in fs::read_dir(&dir).expect("golden dir") {
            let file = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let stem = file.strip_suffix(".json").unwrap_or(&file);
            assert!(
                names.iter().any(|n| n == stem),
                "{group}/{file} has no recording"
            );
        }
    }
}

#[test]
fn valid_recordings_have_no_findings() {
    for recording in recordings("valid") {
        let report = check_bytes(&recording.bytes, &recording.options);
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            recording.path,
            report.findings
        );
        assert!(report.events > 0, "{}", recording.path);
    }
}

#[test]
fn each_rule_recording_reports_exactly_its_rule() {
    let mut covered = Vec::new();
    for recording in recordings("invalid") {
        let Ok(rule) = recording.name.parse::<Rule>() else {
            assert!(
                recording.name.starts_with("multi-"),
                "{}: name it after a rule code or `multi-*`",
                recording.path
            );
            continue;
        };
        let report = check_bytes(&recording.bytes, &recording.options);
        let found = codes(&report);
        assert!(!found.is_empty(), "{}: no findings", recording.path);
        assert!(
            found.iter().all(|&code| code == rule.as_str()),
            "{}: {found:?}",
            recording.path
        );
        covered.push(rule);
    }
    // `replay-diverged` concerns two streams, not one recording (see the
    // recordings README); every other rule has its recording.
    let missing: Vec<Rule> = Rule::ALL
        .iter()
        .copied()
        .filter(|rule| *rule != Rule::ReplayDiverged && !covered.contains(rule))
        .collect();
    assert!(missing.is_empty(), "rules without a recording: {missing:?}");
}

#[test]
fn multi_finding_recordings_report_several_rules() {
    for recording in recordings("invalid") {
        if recording.name.starts_with("multi-") {
            let report = check_bytes(&recording.bytes, &recording.options);
            assert!(report.findings.len() >= 2, "{}", recording.path);
        }
    }
}

#[test]
fn findings_do_not_depend_on_chunking() {
    for recording in all_recordings() {
        let whole = check_bytes(&recording.bytes, &recording.options);
        for size in CHUNK_SIZES {
            let chunked = check_bytes(&recording.bytes, &recording.options.chunk_size(size));
            assert_eq!(chunked, whole, "{} at chunk size {size}", recording.path);
        }
    }
}

#[test]
fn event_too_large_needs_its_limit() {
    let recording = recordings("invalid")
        .into_iter()
        .find(|r| r.name == "event-too-large")
        .expect("event-too-large.sse");
    let default = check_bytes(&recording.bytes, &CheckOptions::default());
    assert_eq!(codes(&default), Vec::<&str>::new());
    let limited = check_bytes(&recording.bytes, &recording.options);
    assert_eq!(codes(&limited), ["event-too-large"]);
    // The oversized event keeps its place: the recording still has 4 events.
    assert_eq!((limited.events, default.events), (4, 4));
    assert_eq!(limited.findings[0].event_index, Some(1));
}

#[test]
fn strict_mode_makes_unknown_events_errors() {
    let recording = recordings("invalid")
        .into_iter()
        .find(|r| r.name == "unknown-event")
        .expect("unknown-event.sse");
    let lenient = check_bytes(&recording.bytes, &CheckOptions::default());
    let strict = check_bytes(&recording.bytes, &CheckOptions::default().strict(true));
    assert_eq!((lenient.errors(), lenient.warnings()), (0, 1));
    assert_eq!((strict.errors(), strict.warnings()), (1, 0));
    assert_eq!(strict.findings[0].severity, Severity::Error);
}
