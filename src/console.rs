//! A run of `export` or `sync` on the terminal: progress on stderr while it runs, then the
//! closing summary (or the error and what to do about it), the GitHub step summary, and the
//! exit code. Used by the command line ([`crate::cli`]) and the demo.

use crate::config::Settings;
use crate::error::ErrorKind;
use crate::progress::Progress;
use crate::run::{run_plan, Mode, Plan};
use crate::step_summary::{self, Outcome};
use crate::sync::{ExportError, Summary};

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM (containers, systemd, Kubernetes).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What to do after a failure of this kind.
fn advice(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Transient | ErrorKind::Output => {
            "Committed files stay valid; run the same command again to resume."
        }
        ErrorKind::Config => "Fix the configuration or command line; nothing was exported.",
        ErrorKind::Auth => "Use a valid secret (FAUNA_SECRET); committed files stay valid.",
        ErrorKind::Permission => {
            "Grant the privilege or access named above (to the key's role, or to the user or credentials writing the output), or use another key; committed files stay valid."
        }
        ErrorKind::Data => {
            "Fix the document or the column settings named above (or, when Fauna's response could not be read, the endpoint); committed files stay valid, and a re-run resumes at the failing batch."
        }
        ErrorKind::State => "The output was left untouched.",
        ErrorKind::Locked => "Nothing was changed.",
        ErrorKind::SchemaFrozen => "Nothing of the batch was committed; what was committed before stays valid. Set the contract to evolve (or discard_row/discard_value) to accept the change, or fix the documents, then run again.",
        ErrorKind::Interrupted => "Committed files stay valid; run the same command again to resume.",
    }
}

/// Runs an export or a sync with progress display and a closing summary; returns the exit
/// code.
pub async fn run_with_progress(settings: &Settings, mode: Mode) -> i32 {
    run_plan_with_progress(settings, &Plan::of(mode), mode).await
}

/// Runs `plan` with progress display and the closing summary of `mode`; returns the exit code.
pub async fn run_plan_with_progress(settings: &Settings, plan: &Plan, mode: Mode) -> i32 {
    let progress = Progress::new();
    let result = tokio::select! {
        r = run_plan(settings, &progress, plan) => Some(r),
        _ = interrupted() => None,
    };
    // An interrupted run's future was dropped: wait for the lease deletion its drop started.
    crate::output::released().await;
    progress.finish();
    let command = match mode {
        Mode::Export => "export",
        Mode::Sync { .. } => "sync",
    };
    let out = settings.output.out.to_string();
    match result {
        Some(Ok(summary)) => {
            match mode {
                Mode::Export => print_summary(&summary, settings),
                Mode::Sync { .. } => print_sync_summary(&summary, settings),
            }
            step_summary::append_from_env(command, &out, &Outcome::Done(&summary));
            0
        }
        Some(Err(ExportError::StreamsFailed(summary))) => {
            match mode {
                Mode::Export => print_summary(&summary, settings),
                Mode::Sync { .. } => print_sync_summary(&summary, settings),
            }
            print_failed(&summary);
            step_summary::append_from_env(command, &out, &Outcome::Done(&summary));
            summary
                .failed
                .first()
                .map_or(ErrorKind::Output, |f| f.kind)
                .exit_code()
        }
        Some(Err(e)) => {
            let kind = e.kind();
            eprintln!("error: {e}");
            eprintln!("{}", advice(kind));
            let error = e.to_string();
            step_summary::append_from_env(command, &out, &Outcome::Failed { error, kind });
            kind.exit_code()
        }
        None => {
            eprintln!(
                "interrupted: committed files stay valid; run the same command again to resume."
            );
            step_summary::append_from_env(command, &out, &Outcome::Interrupted);
            ErrorKind::Interrupted.exit_code()
        }
    }
}

/// One line per collection that failed while the others were read, with its reason.
fn print_failure_lines(s: &Summary) {
    for f in &s.failed {
        eprintln!("{}: failed: {}", f.name, f.message);
    }
}

/// After the summary of a run in which collections failed: which, and what to do
/// (`spec/errors.md`, "One collection's failure").
fn print_failed(s: &Summary) {
    let names: Vec<&str> = s.failed.iter().map(|f| f.name.as_str()).collect();
    eprintln!(
        "error: {} of {} collection(s) failed: {} (reasons above); what the others read is committed",
        s.failed.len(),
        s.failed.len() + s.streams.len(),
        names.join(", ")
    );
    eprintln!("Fix what is named above and run again: each failed collection continues from its own committed state.");
}

fn print_sync_summary(s: &Summary, settings: &Settings) {
    for c in &s.streams {
        let to = c
            .synced_to
            .map(|t| format!(", synced to {}", crate::fauna::Timestamp::from_micros(t)))
            .unwrap_or_default();
        let detected = match c.detected {
            0 => String::new(),
            n => format!(" ({n} detected by reconciliation)"),
        };
        if c.changed + c.deleted == 0 {
            eprintln!("{}: no changes{to} ({:.1} s)", c.name, c.seconds);
        } else {
            eprintln!(
                "{}: {} new or updated, {} deleted{detected}, {} file(s){to} ({:.1} s)",
                c.name, c.changed, c.deleted, c.files, c.seconds
            );
        }
    }
    print_failure_lines(s);
    print_typed_lines(s);
    let changes = s.streams.iter().map(|c| c.changed + c.deleted).sum::<u64>();
    let status = if !s.failed.is_empty() && s.paused {
        "stopped at --max-duration, and some collections failed (above)"
    } else if !s.failed.is_empty() {
        "some collections failed (above)"
    } else if s.paused {
        "stopped at --max-duration, more to do: run again to continue"
    } else if changes == 0 {
        "no changes"
    } else {
        "done"
    };
    eprintln!(
        "synced {} collection(s): {} record(s) in {} file(s), {:.1} s, {} queries ({} read ops), {} retries, {status} -> {}",
        s.streams.len(),
        s.docs,
        s.files,
        s.seconds,
        s.queries,
        s.read_ops,
        s.retries,
        settings.output.out
    );
    if s.queries > 0 {
        eprintln!("{}", paging_line(s));
    }
}

/// The second summary line: what adaptive paging and the in-flight limit did, and the queries
/// answered before the first page of data, e.g. `paging: 1612 documents per page at the end
/// (grew 14 times, shrank 0, 0 too large); queries in flight: 6 of 6 allowed (halved 0 times);
/// 81 queries, 6 of them before the first page` (`spec/paging.md`).
fn paging_line(s: &Summary) -> String {
    let p = &s.paging;
    let l = &s.in_flight;
    format!(
        "paging: {} documents per page at the end (grew {} times, shrank {}, {} too large); queries in flight: {} of {} allowed (halved {} times); {} queries, {} of them before the first page",
        p.size, p.grows, p.shrinks, p.too_large, l.limit, l.max, l.shrinks, s.queries, s.queries_before_data
    )
}

fn print_summary(s: &Summary, settings: &Settings) {
    let mb = s.bytes as f64 / 1e6;
    let rate = if s.seconds > 0.0 {
        s.docs as f64 / s.seconds
    } else {
        0.0
    };
    print_failure_lines(s);
    let complete = if s.already_complete == s.collections && s.docs == 0 && s.collections > 0 {
        " (already complete: nothing left to export)"
    } else {
        ""
    };
    eprintln!(
        "exported {} collection(s): {} docs in {} file(s), {:.1} MB, {:.1} s ({:.0} docs/s), {} retries{}{} -> {}",
        s.collections,
        s.docs,
        s.files,
        mb,
        s.seconds,
        rate,
        s.retries,
        if s.orphans_removed > 0 {
            format!(", {} leftover file(s) of an interrupted run removed", s.orphans_removed)
        } else {
            String::new()
        },
        complete,
        settings.output.out
    );
    if s.docs > 0 {
        eprintln!("{}", paging_line(s));
    }
    print_typed_lines(s);
}

/// Per collection with typed columns: the values that went to variant columns and what the
/// schema contract left out, when there are any.
fn print_typed_lines(s: &Summary) {
    for c in &s.streams {
        if c.variant_values + c.discarded > 0 {
            eprintln!(
                "{}: typed columns: {} value(s) in variant columns, {} left out by the schema contract",
                c.name, c.variant_values, c.discarded
            );
        }
    }
}
