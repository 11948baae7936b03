//! `serve` is listed in `--help` whether or not the binary was built with
//! the `serve` feature; without it, running it says how to get it.
//!
//! `cargo test --all-features` runs the first half; `.ci/run` also runs
//! this file with the default features, for the second.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .args(args)
        .output()
        .expect("run agent37-stream")
}

#[test]
fn help_lists_serve() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.lines()
            .any(|line| line.trim_start().starts_with("serve ")),
        "{help}"
    );
}

#[cfg(feature = "serve")]
#[test]
fn serve_runs_in_a_build_with_the_feature() {
    let output = run(&["serve", "--help"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--recordings"));
}

#[cfg(not(feature = "serve"))]
#[test]
fn serve_without_the_feature_says_how_to_get_it() {
    for args in [
        &["serve"][..],
        &["serve", "--recordings", "dir"],
        &["serve", "--help"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--features serve"), "{stderr}");
        assert!(!stderr.contains("unrecognized subcommand"), "{stderr}");
    }
}
