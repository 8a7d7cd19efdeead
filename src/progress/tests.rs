use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressDrawTarget, TermLike};

use super::{eta, rate, Progress};
use crate::sync::Observer;

#[test]
fn no_rate_before_a_second_then_the_documents_over_the_time() {
    // The first frames: pages of 4 ranges arrived within a millisecond.
    assert_eq!(rate(4_000, Duration::from_millis(1)), None);
    assert_eq!(rate(4_000, Duration::from_millis(999)), None);
    assert_eq!(rate(0, Duration::from_secs(5)), None);
    assert_eq!(rate(3_000, Duration::from_secs(2)), Some(1_500.0));
    assert_eq!(rate(1_000, Duration::from_secs(1)), Some(1_000.0));
}

#[test]
fn the_eta_needs_a_rate_and_documents_left() {
    assert_eq!(eta(3_000, Some(1_500.0)), Some(Duration::from_secs(2)));
    assert_eq!(eta(3_000, None), None);
    assert_eq!(eta(3_000, Some(0.0)), None);
    assert_eq!(eta(0, Some(1_500.0)), None);
}

/// A terminal that records what is written to it.
#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Mutex<String>>);

impl Recorder {
    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
    fn push(&self, s: &str) -> io::Result<()> {
        self.0.lock().unwrap().push_str(s);
        Ok(())
    }
}

impl TermLike for Recorder {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.push(&format!("<up {n}>"))
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.push(&format!("<down {n}>"))
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.push(&format!("<right {n}>"))
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.push(&format!("<left {n}>"))
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.push(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.push(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.push("<clear>")
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

fn progress(term: &Recorder) -> Progress {
    Progress::drawing_to(
        ProgressDrawTarget::term_like(Box::new(term.clone())),
        Box::new(term.clone()),
    )
}

#[test]
fn the_last_frame_is_ended_so_the_summary_starts_on_a_line_of_its_own() {
    let term = Recorder::default();
    let p = progress(&term);
    p.page_read("players", 1_000);
    p.total_known("players", 3_000, 500);
    p.page_read("players", 1_000);
    p.page_read("items", 7);
    p.finish();
    let text = term.text();
    // The last frame (drawn after moving up to the first bar): each bar at the count read, not
    // at the expected total, its lines padded to the width (the terminal wraps after each),
    // and the last one ended.
    let last = text.rsplit("<up 1>").next().unwrap();
    assert!(last.ends_with(" \r\n"), "{last:?}");
    assert!(!last.trim_end().contains('\n'), "{last:?}");
    assert!(last.contains(" 2,500/3,000 docs "), "{last:?}");
    assert!(last.contains(" items 7 docs "), "{last:?}");
}

#[test]
fn nothing_is_written_when_no_bar_was_drawn() {
    let term = Recorder::default();
    progress(&term).finish();
    assert_eq!(term.text(), "");
}

#[test]
fn a_collections_bar_stops_when_the_run_is_done_with_it() {
    let term = Recorder::default();
    let p = progress(&term);
    p.page_read("players", 1_000);
    p.page_read("items", 7);
    p.collection_done("players");
    let bars = p.per_stream.lock().unwrap();
    // Stopped: the bar and its clock (its rate stays that of its own reading).
    let stopped: Vec<(&str, bool, bool)> = bars
        .iter()
        .map(|(s, b, o)| {
            (
                s.as_str(),
                b.is_finished(),
                o.stopped.lock().unwrap().is_some(),
            )
        })
        .collect();
    assert_eq!(stopped, [("players", true, true), ("items", false, false)]);
}
