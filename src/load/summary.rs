//! What a load did: a line per stream on stderr, and the same as Markdown for GitHub Actions'
//! job summary (`GITHUB_STEP_SUMMARY`).

use super::loader::Report;
use crate::error::ErrorKind;

/// Prints the per-stream lines and the closing line to stderr.
pub fn print(report: &Report, out: &str, into: &str) {
    for s in &report.streams {
        let c = s.counts;
        match &s.failed {
            Some((_, why)) => eprintln!(
                "{} -> {}: failed after {} file(s): {why}",
                s.stream, s.table, s.files
            ),
            None => eprintln!(
                "{} -> {}: {} file(s), {} record(s): {} inserted, {} updated, {} deleted, {} skipped as stale ({:.1} s)",
                s.stream, s.table, s.files, s.records, c.inserted, c.updated, c.deleted, c.stale, s.seconds
            ),
        }
    }
    for line in &report.foreign_keys {
        eprintln!("{line}");
    }
    let files: u64 = report.streams.iter().map(|s| s.files).sum();
    let status = if report.failure().is_some() {
        "some streams failed (above)"
    } else if files == 0 {
        "nothing new"
    } else {
        "done"
    };
    eprintln!(
        "loaded {files} file(s) of {} listed ({} loaded before), {:.1} s, {status}: {out} -> {into}",
        report.listed, report.already, report.seconds
    );
}

/// The load as Markdown.
pub fn markdown(report: &Report, out: &str, into: &str) -> String {
    let mut md = format!("### fauna-sync load `{}` → `{}`\n\n", code(out), code(into));
    md.push_str(
        "| stream | table | files | inserted | updated | deleted | skipped as stale | seconds |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for s in &report.streams {
        let c = s.counts;
        match &s.failed {
            Some(_) => md.push_str(&format!(
                "| {} | {} | **failed** after {} | | | | | {:.1} |\n",
                cell(&s.stream),
                cell(&s.table),
                s.files,
                s.seconds
            )),
            None => md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
                cell(&s.stream),
                cell(&s.table),
                s.files,
                c.inserted,
                c.updated,
                c.deleted,
                c.stale,
                s.seconds
            )),
        }
    }
    let files: u64 = report.streams.iter().map(|s| s.files).sum();
    let status = match report.failure() {
        Some(kind) => format!("some streams failed (exit {})", kind.exit_code()),
        None if files == 0 => "nothing new".into(),
        None => "done".into(),
    };
    md.push_str(&format!(
        "\n**{status}**: {files} file(s) of {} listed ({} loaded before), {:.1} s.\n\n",
        report.listed, report.already, report.seconds
    ));
    let failures: Vec<String> = report
        .streams
        .iter()
        .filter_map(|s| {
            s.failed
                .as_ref()
                .map(|(_, why)| format!("{}: {why}", s.stream))
        })
        .collect();
    if !failures.is_empty() {
        md.push_str(&format!(
            "```text\n{}\n```\n\n",
            failures.join("\n").replace("```", "'''")
        ));
    }
    md
}

/// A failed load as Markdown.
pub fn failed_markdown(out: &str, error: &str, kind: ErrorKind) -> String {
    format!(
        "### fauna-sync load `{}`\n\n**failed** (exit {}). Every file loaded before stays loaded; run again once the cause is fixed.\n\n```text\n{}\n```\n\n",
        code(out),
        kind.exit_code(),
        error.replace("```", "'''")
    )
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn code(s: &str) -> String {
    s.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::bookkeeping::Counts;
    use crate::load::StreamReport;

    #[test]
    fn a_load_becomes_a_table_per_stream() {
        let report = Report {
            streams: vec![
                StreamReport {
                    stream: "items".into(),
                    table: "public.items".into(),
                    files: 2,
                    records: 7,
                    counts: Counts {
                        inserted: 4,
                        updated: 1,
                        deleted: 1,
                        stale: 1,
                    },
                    seconds: 0.25,
                    failed: None,
                },
                StreamReport {
                    stream: "a|b".into(),
                    table: "public.a|b".into(),
                    files: 0,
                    failed: Some((ErrorKind::State, "table public.a|b: changed".into())),
                    ..StreamReport::default()
                },
            ],
            listed: 5,
            already: 1,
            foreign_keys: vec![],
            seconds: 1.0,
        };
        assert_eq!(
            markdown(&report, "out", "postgres://u@h:5432/d schema public"),
            "### fauna-sync load `out` → `postgres://u@h:5432/d schema public`\n\n\
             | stream | table | files | inserted | updated | deleted | skipped as stale | seconds |\n\
             |---|---|---:|---:|---:|---:|---:|---:|\n\
             | items | public.items | 2 | 4 | 1 | 1 | 1 | 0.2 |\n\
             | a\\|b | public.a\\|b | **failed** after 0 | | | | | 0.0 |\n\
             \n**some streams failed (exit 1)**: 2 file(s) of 5 listed (1 loaded before), 1.0 s.\n\n\
             ```text\na|b: table public.a|b: changed\n```\n\n"
        );
    }
}
