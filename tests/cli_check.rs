//! `agent37-stream check` as scripts use it (`docs/contract.md`, *Command line*): exit status,
//! the JSON document, the human format.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .arg("check")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run agent37-stream")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

/// The `.sse` files of a recordings group, as paths relative to the crate root.
fn recordings(group: &str) -> Vec<String> {
    let dir = root().join("testdata/recordings").join(group);
    let mut files: Vec<String> = fs::read_dir(&dir)
        .expect("recordings dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sse"))
        .map(|name| format!("testdata/recordings/{group}/{name}"))
        .collect();
    files.sort();
    files
}

/// The flags of a recording's `.args` sidecar (see the recordings README).
fn sidecar_args(recording: &str) -> Vec<String> {
    let path = root().join(recording.replace(".sse", ".args"));
    fs::read_to_string(path)
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let output = check(&all);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (status(&output), value)
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts the exact shape of §6's document and returns its diagnostics.
fn assert_schema(document: &Value) -> Vec<Value> {
    assert_eq!(keys(document), ["files", "summary"]);
    let summary = &document["summary"];
    assert_eq!(keys(summary), ["errors", "files", "warnings"]);
    let files = document["files"].as_array().expect("files array");
    assert_eq!(summary["files"].as_u64(), Some(files.len() as u64));
    let mut all = Vec::new();
    for file in files {
        assert_eq!(keys(file), ["diagnostics", "events", "path"]);
        assert!(file["path"].is_string() && file["events"].is_u64());
        for d in file["diagnostics"].as_array().expect("diagnostics array") {
            assert_eq!(
                keys(d),
                [
                    "code",
                    "column",
                    "event_index",
                    "line",
                    "message",
                    "severity"
                ]
            );
            assert!(d["code"].is_string() && d["message"].is_string());
            assert!(matches!(d["severity"].as_str(), Some("error" | "warning")));
            assert!(d["line"].as_u64().is_some_and(|n| n >= 1));
            assert!(d["column"].as_u64().is_some_and(|n| n >= 1));
            assert!(d["event_index"].is_null() || d["event_index"].is_u64());
            all.push(d.clone());
        }
    }
    let count = |severity: &str| all.iter().filter(|d| d["severity"] == severity).count() as u64;
    assert_eq!(summary["errors"].as_u64(), Some(count("error")));
    assert_eq!(summary["warnings"].as_u64(), Some(count("warning")));
    all
}

#[test]
fn valid_directory_passes() {
    let output = check(&["testdata/recordings/valid"]);
    assert_eq!(status(&output), 0, "{}", stdout(&output));
    let text = stdout(&output);
    let n = recordings("valid").len();
    assert_eq!(text, format!("checked {n} files: 0 errors, 0 warnings\n"));
    let output = check(&["--deny-warnings", "--strict", "testdata/recordings/valid"]);
    assert_eq!(status(&output), 0);
}

#[test]
fn each_invalid_recording_fails_and_names_its_code() {
    for recording in recordings("invalid") {
        let extra = sidecar_args(&recording);
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        args.extend(["--deny-warnings", recording.as_str()]);
        let output = check(&args);
        let text = stdout(&output);
        assert_eq!(status(&output), 1, "{recording}:\n{text}");
        let stem = Path::new(&recording)
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem");
        if !stem.starts_with("multi-") {
            assert!(
                text.contains(&format!("[{stem}]: ")),
                "{recording}:\n{text}"
            );
        }
        // Every diagnostic points at the file, a line and a column.
        assert!(text.contains(&format!(" --> {recording}:")), "{text}");
    }
}

#[test]
fn without_deny_warnings_only_errors_fail() {
    for recording in recordings("invalid") {
        let extra = sidecar_args(&recording);
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        args.push(recording.as_str());
        let (code, document) = json(&args);
        let errors = document["summary"]["errors"].as_u64().expect("errors");
        assert_eq!(code, if errors > 0 { 1 } else { 0 }, "{recording}");
    }
}

#[test]
fn deny_warnings_fails_a_warnings_only_file() {
    let file = "testdata/recordings/invalid/unclosed-tool-call.sse";
    let (code, document) = json(&[file]);
    assert_eq!(code, 0);
    assert_eq!(document["summary"]["errors"], 0);
    assert_eq!(document["summary"]["warnings"], 1);
    assert_eq!(status(&check(&["--deny-warnings", file])), 1);
}

#[test]
fn strict_turns_unknown_events_into_errors() {
    let file = "testdata/recordings/invalid/unknown-event.sse";
    let (code, document) = json(&[file]);
    assert_eq!(code, 0);
    assert_eq!(
        document["files"][0]["diagnostics"][0]["severity"],
        "warning"
    );
    let (code, document) = json(&["--strict", file]);
    assert_eq!(code, 1);
    assert_eq!(document["files"][0]["diagnostics"][0]["severity"], "error");
}

#[test]
fn json_output_matches_the_schema_and_the_recordings() {
    let (code, document) = json(&["testdata/recordings"]);
    assert_eq!(code, 1);
    let diagnostics = assert_schema(&document);
    assert!(!diagnostics.is_empty());
    // Directories are searched recursively, files listed in sorted order.
    let paths: Vec<&str> = document["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    let mut expected = recordings("invalid");
    expected.extend(recordings("valid"));
    assert_eq!(paths, expected);
    let missing_created = &document["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "testdata/recordings/invalid/missing-created.sse")
        .expect("missing-created entry")["diagnostics"][0];
    assert_eq!(missing_created["code"], "missing-created");
    assert_eq!(missing_created["severity"], "error");
    assert_eq!(
        (&missing_created["line"], &missing_created["column"]),
        (&Value::from(1), &Value::from(1))
    );
    assert_eq!(missing_created["event_index"], 0);
}

#[test]
fn chunk_size_does_not_change_the_output() {
    let (_, whole) = json(&["testdata/recordings"]);
    for size in ["1", "7", "64"] {
        let (_, chunked) = json(&["--chunk-size", size, "testdata/recordings"]);
        assert_eq!(chunked, whole, "--chunk-size {size}");
    }
}

#[test]
fn max_event_bytes_reports_oversized_events() {
    let file = "testdata/recordings/invalid/event-too-large.sse";
    assert_eq!(status(&check(&[file])), 0);
    let (code, document) = json(&["--max-event-bytes", "1024", file]);
    assert_eq!(code, 1);
    let diagnostics = assert_schema(&document);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["code"], "event-too-large");
}

#[test]
fn human_format_quotes_the_offending_line_with_a_caret() {
    let output = check(&["testdata/recordings/invalid/missing-created.sse"]);
    let text = stdout(&output);
    let expected_start = "error[missing-created]: ";
    assert!(text.starts_with(expected_start), "{text}");
    assert!(
        text.contains(
            " --> testdata/recordings/invalid/missing-created.sse:1:1\n  |\n\
             1 | event: response.reasoning.delta\n  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("checked 1 file: 1 error, 0 warnings\n"),
        "{text}"
    );
}

#[test]
fn missing_path_is_an_io_error() {
    let output = check(&[
        "testdata/recordings/valid/simple-answer.sse",
        "no/such/file.sse",
    ]);
    assert_eq!(status(&output), 2);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no/such/file.sse"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(status(&check(&[])), 2);
    assert_eq!(status(&check(&["--format", "xml", "x.sse"])), 2);
    assert_eq!(status(&check(&["--chunk-size", "0", "x.sse"])), 2);
}

fn check_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .arg("check")
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run agent37-stream");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Written from a thread: check reads while it writes its output.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write stdin");
    output
}

#[test]
fn dash_reads_the_recording_from_standard_input() {
    let path = "testdata/recordings/invalid/missing-created.sse";
    let bytes = fs::read(root().join(path)).expect("recording");
    let from_stdin = check_stdin(&["--format", "json", "-"], &bytes);
    let (code, from_file) = json(&[path]);
    assert_eq!(status(&from_stdin), code);
    let mut from_stdin: Value = serde_json::from_slice(&from_stdin.stdout).expect("JSON");
    assert_eq!(from_stdin["files"][0]["path"], "<stdin>");
    from_stdin["files"][0]["path"] = Value::from(path);
    assert_eq!(from_stdin, from_file);

    let human = check_stdin(&["-"], &bytes);
    assert!(
        stdout(&human).contains(" --> <stdin>:1:1\n"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn a_directory_without_recordings_exits_2_and_says_so() {
    let dir = std::env::temp_dir().join(format!("agent37-no-recordings-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    fs::write(dir.join("notes.txt"), "not a recording").expect("write");
    let output = check(&[dir.to_str().expect("UTF-8 path")]);
    fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(status(&output), 2);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no recordings (`*.sse` files)"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_check_quietly() {
    use std::io::{BufRead, BufReader};
    // Far more output than a pipe buffers, so check is still writing when
    // the reader goes away.
    let mut args = vec!["check".to_owned()];
    args.extend(std::iter::repeat_n(
        "testdata/recordings/invalid".to_owned(),
        40,
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .args(&args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run agent37-stream");
    let mut first = String::new();
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    reader.read_line(&mut first).expect("first line");
    assert!(first.starts_with("error["), "{first}");
    drop(reader);
    let output = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // The findings checked so far fail the check; the closed pipe is no trouble.
    assert_eq!(status(&output), 1);
}

#[test]
fn color_is_asked_for_or_refused_and_off_in_a_pipe_by_default() {
    let path = "testdata/recordings/invalid/missing-created.sse";
    let always = stdout(&check(&["--color", "always", path]));
    assert!(
        always.starts_with("\x1b[1;31merror[missing-created]\x1b[0m\x1b[1m: "),
        "{always:?}"
    );
    assert!(always.contains("\x1b[1;31m^^^^"), "{always:?}");
    let never = stdout(&check(&["--color", "never", path]));
    let auto = stdout(&check(&[path]));
    assert!(!never.contains('\x1b') && !auto.contains('\x1b'));
    assert_eq!(never, auto);
    // NO_COLOR turns `auto` off; an explicit `always` wins over it.
    let forced = Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .args(["check", "--color", "always", path])
        .env("NO_COLOR", "1")
        .current_dir(root())
        .output()
        .expect("run");
    assert_eq!(stdout(&forced), always);
    let warning = stdout(&check(&[
        "--color",
        "always",
        "testdata/recordings/invalid/unknown-event.sse",
    ]));
    assert!(warning.starts_with("\x1b[1;33mwarning["), "{warning:?}");
    assert_eq!(status(&check(&["--color", "sometimes", path])), 2);
}

/// A turn whose one delta is a single `data` line of `len` bytes.
fn turn_with_a_long_line(len: usize) -> Vec<u8> {
    let text = "x".repeat(len);
    format!(
        concat!(
            "event: response.created\n",
            "data: {{\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}}\n\n",
            "event: response.output_text.delta\ndata: {{\"text\":\"{text}\"}}\n\n",
            "event: response.completed\ndata: {{\"output_text\":\"{text}\",\"usage\":null}}\n\n",
        ),
        text = text
    )
    .into_bytes()
}

#[test]
fn raising_max_event_bytes_raises_the_line_limit() {
    let turn = turn_with_a_long_line(20 << 20);
    let default = check_stdin(&["--format", "json", "-"], &turn);
    assert_eq!(status(&default), 1);
    assert!(stdout(&default).contains("event-too-large"));
    let raised = check_stdin(&["--max-event-bytes", "33554432", "-"], &turn);
    assert_eq!(
        stdout(&raised),
        "checked 1 file: 0 errors, 0 warnings\n",
        "{}",
        String::from_utf8_lossy(&raised.stderr)
    );
    assert_eq!(status(&raised), 0);
}
