//! The command line as a person meets it: help texts, the demo, the run summary's lines.

use std::process::{Command, Output};

fn fauna_sync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args(args)
        .env_remove("FAUNA_SECRET")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .output()
        .unwrap()
}

/// The help entry of `option` in `help`, its wrapped lines joined by single spaces.
fn help_entry(help: &str, option: &str) -> String {
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(option));
    let first = lines.next().unwrap_or_default().trim().to_string();
    let rest = lines.take_while(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty());
    std::iter::once(first)
        .chain(rest.map(|l| l.trim().to_string()))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn export_and_sync_help_say_that_out_takes_object_store_urls() {
    for command in ["export", "sync"] {
        for flag in ["--help", "-h"] {
            let o = fauna_sync(&[command, flag]);
            assert_eq!(o.status.code(), Some(0));
            assert_eq!(
                help_entry(&String::from_utf8_lossy(&o.stdout), "--out"),
                "--out <DIR|URL> Output root: a directory, or an object store URL: \
                 s3://bucket/prefix (S3 and S3-compatible, AWS_ENDPOINT_URL), gs://bucket/prefix, \
                 az://container/prefix (or abfss://container@account.dfs.core.windows.net/prefix), \
                 file:///dir; credentials from each cloud's usual environment variables \
                 [default: fauna-export]",
                "{command} {flag}"
            );
        }
    }
    let o = fauna_sync(&["verify", "--help"]);
    assert_eq!(
        help_entry(&String::from_utf8_lossy(&o.stdout), "--out"),
        "--out <DIR|URL> The output root to check: a directory, or an s3://, gs://, az://, \
         abfss:// or file:// URL as `export --out` takes"
    );
}
