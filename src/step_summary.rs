//! The run's outcome as Markdown for GitHub Actions' job summary: when `GITHUB_STEP_SUMMARY`
//! names a file, `export` and `sync` append a table per run to it (Actions shows that file on
//! the run's page). Writing it is best effort: a failure is a warning, never the run's.

use std::io::Write;

use crate::error::ErrorKind;
use crate::sync::Summary;

/// The environment variable Actions sets to the summary file's path.
pub const ENV: &str = "GITHUB_STEP_SUMMARY";

/// How the run ended.
pub enum Outcome<'a> {
    /// It finished (or stopped at `--max-duration`, `summary.paused`).
    Done(&'a Summary),
    /// It failed with this error.
    Failed {
        /// The error's message (never holds the secret).
        error: String,
        /// Its kind (exit code).
        kind: ErrorKind,
    },
    /// SIGINT / SIGTERM.
    Interrupted,
}

/// The Markdown of one run of `command` (`export`, `sync`) into `out`.
pub fn markdown(command: &str, out: &str, outcome: &Outcome<'_>) -> String {
    let mut md = format!("### fauna-sync {command} → `{}`\n\n", code(out));
    match outcome {
        Outcome::Done(s) => {
            md.push_str("| collection | new or updated | deleted | detected | files | seconds | synced to |\n");
            md.push_str("|---|---:|---:|---:|---:|---:|---|\n");
            for c in &s.streams {
                let to = c
                    .synced_to
                    .map(|t| crate::fauna::Timestamp::from_micros(t).to_string())
                    .unwrap_or_default();
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {:.1} | {} |\n",
                    cell(&c.name),
                    c.changed,
                    c.deleted,
                    c.detected,
                    c.files,
                    c.seconds,
                    to
                ));
            }
            for f in &s.failed {
                md.push_str(&format!("| {} | **failed** | | | | | |\n", cell(&f.name)));
            }
            let changes: u64 = s.streams.iter().map(|c| c.changed + c.deleted).sum();
            let failed = s.failed.first().map(|f| {
                format!(
                    "{} collection(s) failed (exit {})",
                    s.failed.len(),
                    f.kind.exit_code()
                )
            });
            let status = if let Some(failed) = &failed {
                failed
            } else if s.paused {
                "more to do (stopped at --max-duration; the next run continues)"
            } else if changes == 0 {
                "no changes"
            } else {
                "done"
            };
            md.push_str(&format!(
                "\n**{status}**: {} record(s) in {} file(s), {:.1} s, {} Fauna queries ({} read ops), {} retries.\n\n",
                s.docs, s.files, s.seconds, s.queries, s.read_ops, s.retries
            ));
            if !s.failed.is_empty() {
                let reasons: Vec<String> = s
                    .failed
                    .iter()
                    .map(|f| format!("{}: {}", f.name, f.message))
                    .collect();
                md.push_str(&format!(
                    "```text\n{}\n```\n\n",
                    reasons.join("\n").replace("```", "'''")
                ));
            }
        }
        Outcome::Failed { error, kind } => {
            md.push_str(&format!(
                "**failed** (exit {}). Committed files stay valid; run again once the cause is fixed.\n\n```text\n{}\n```\n\n",
                kind.exit_code(),
                error.replace("```", "'''")
            ));
        }
        Outcome::Interrupted => {
            md.push_str("**interrupted**: committed files stay valid; the next run resumes.\n\n");
        }
    }
    md
}

/// Appends the run's Markdown to the file `GITHUB_STEP_SUMMARY` names, if it is set.
pub fn append_from_env(command: &str, out: &str, outcome: &Outcome<'_>) {
    append_markdown_from_env(&markdown(command, out, outcome));
}

/// Appends `md` to the file `GITHUB_STEP_SUMMARY` names, if it is set (`load` has its own
/// tables).
pub fn append_markdown_from_env(md: &str) {
    let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(md.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = %std::path::Path::new(&path).display(), error = %e, "Could not write the job summary ({ENV}).");
    }
}

/// A table cell's text: pipes escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Text inside a code span: backticks replaced.
fn code(s: &str) -> String {
    s.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::StreamSummary;

    #[test]
    fn a_sync_becomes_a_table_and_a_status_line() {
        let s = Summary {
            docs: 7,
            files: 2,
            seconds: 1.25,
            queries: 21,
            read_ops: 64,
            streams: vec![
                StreamSummary {
                    name: "players".into(),
                    changed: 5,
                    files: 1,
                    seconds: 0.5,
                    synced_to: Some(1_658_188_683_585_000),
                    ..StreamSummary::default()
                },
                StreamSummary {
                    name: "a|b".into(),
                    deleted: 2,
                    detected: 1,
                    files: 1,
                    seconds: 0.25,
                    ..StreamSummary::default()
                },
            ],
            ..Summary::default()
        };
        assert_eq!(
            markdown("sync", "s3://b/p", &Outcome::Done(&s)),
            "### fauna-sync sync → `s3://b/p`\n\n\
             | collection | new or updated | deleted | detected | files | seconds | synced to |\n\
             |---|---:|---:|---:|---:|---:|---|\n\
             | players | 5 | 0 | 0 | 1 | 0.5 | 2022-07-18T23:58:03.585Z |\n\
             | a\\|b | 0 | 2 | 1 | 1 | 0.2 |  |\n\
             \n**done**: 7 record(s) in 2 file(s), 1.2 s, 21 Fauna queries (64 read ops), 0 retries.\n\n"
        );
    }

    #[test]
    fn failures_and_interruptions_say_what_to_do() {
        let md = markdown(
            "sync",
            "out",
            &Outcome::Failed {
                error: "collection 'x' does not exist".into(),
                kind: ErrorKind::Config,
            },
        );
        assert!(md.contains("**failed** (exit 2)"), "{md}");
        assert!(
            md.contains("```text\ncollection 'x' does not exist\n```"),
            "{md}"
        );
        assert!(markdown("export", "out", &Outcome::Interrupted).contains("**interrupted**"));
    }

    #[test]
    fn collections_that_failed_while_the_others_ran_are_marked_with_their_reasons() {
        let s = Summary {
            docs: 2,
            files: 1,
            streams: vec![StreamSummary {
                name: "orders".into(),
                changed: 2,
                files: 1,
                ..StreamSummary::default()
            }],
            failed: vec![crate::sync::StreamFailure {
                name: "users".into(),
                kind: ErrorKind::State,
                message: "collection 'users' was last synced 60 minutes ago".into(),
            }],
            ..Summary::default()
        };
        assert_eq!(
            markdown("sync", "out", &Outcome::Done(&s)),
            "### fauna-sync sync → `out`\n\n\
             | collection | new or updated | deleted | detected | files | seconds | synced to |\n\
             |---|---:|---:|---:|---:|---:|---|\n\
             | orders | 2 | 0 | 0 | 1 | 0.0 |  |\n\
             | users | **failed** | | | | | |\n\
             \n**1 collection(s) failed (exit 1)**: 2 record(s) in 1 file(s), 0.0 s, 0 Fauna queries (0 read ops), 0 retries.\n\n\
             ```text\nusers: collection 'users' was last synced 60 minutes ago\n```\n\n"
        );
    }
}
