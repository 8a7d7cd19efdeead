//! Progress on a terminal: a bar per collection with docs, docs/s and, once Fauna has counted
//! the collection, the total and an ETA. Plain log lines when stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{
    HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle,
    TermLike,
};

use crate::sync::Observer;

/// No rate is shown before a bar has run this long: the first pages arrive together (one per
/// range), and a rate over them was in the millions.
pub const RATE_AFTER: Duration = Duration::from_secs(1);

/// Documents per second read by this run, or none yet: `read` documents since the bar's first
/// page (whose own documents are not counted: the bar starts when it arrives) in `elapsed`.
pub fn rate(read: u64, elapsed: Duration) -> Option<f64> {
    (elapsed >= RATE_AFTER && read > 0).then(|| read as f64 / elapsed.as_secs_f64())
}

/// The time left for `remaining` documents at `rate` docs/s, or none.
pub fn eta(remaining: u64, rate: Option<f64>) -> Option<Duration> {
    let rate = rate.filter(|r| *r > 0.0)?;
    (remaining > 0).then(|| Duration::from_secs_f64(remaining as f64 / rate))
}

/// What a bar shows besides indicatif's own state: what its position holds besides this
/// run's reading, and when it stopped.
#[derive(Debug, Default)]
struct Offset {
    /// The first page's documents plus those an earlier run committed.
    docs: AtomicU64,
    /// Whether the first page was counted.
    first_page: AtomicBool,
    /// The bar's time when its collection was done (indicatif's clock of a finished bar runs
    /// on, and every frame draws every bar).
    stopped: Mutex<Option<Duration>>,
}

impl Offset {
    fn elapsed(&self, state: &ProgressState) -> Duration {
        let stopped = *self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        stopped.unwrap_or_else(|| state.elapsed())
    }

    fn rate(&self, state: &ProgressState) -> Option<f64> {
        let read = state
            .pos()
            .saturating_sub(self.docs.load(Ordering::Relaxed));
        rate(read, self.elapsed(state))
    }

    /// Stops the bar's clock (once) and the bar, at the count read.
    fn stop(&self, bar: &ProgressBar) {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| bar.elapsed());
        // `abandon`, not `finish`: that would move the bar to the expected total.
        bar.abandon();
    }
}

/// A template key written by `f` from the bar's state and offset.
fn key(
    offset: &Arc<Offset>,
    f: fn(&Offset, &ProgressState, &mut dyn std::fmt::Write),
) -> impl Fn(&ProgressState, &mut dyn std::fmt::Write) + Clone + Send + Sync + 'static {
    let offset = Arc::clone(offset);
    move |s: &ProgressState, w: &mut dyn std::fmt::Write| f(&offset, s, w)
}

/// The bar's style: `template` with its `{rate}`, `{eta}` and `{took}` keys.
fn style(template: &str, offset: &Arc<Offset>) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "rate",
            key(offset, |o, s, w| {
                if let Some(r) = o.rate(s) {
                    let _ = write!(w, "{r:.0} docs/s");
                }
            }),
        )
        .with_key(
            "eta",
            key(offset, |o, s, w| {
                let remaining = s.len().unwrap_or(0).saturating_sub(s.pos());
                if let Some(t) = eta(remaining, o.rate(s)) {
                    let _ = write!(w, "ETA {:#}", HumanDuration(t));
                }
            }),
        )
        .with_key(
            "took",
            key(offset, |o, s, w| {
                let _ = write!(w, "{:#}", HumanDuration(o.elapsed(s)));
            }),
        )
}

const SPINNER: &str = "{spinner} {prefix:>12} {human_pos} docs  {rate}  {took}";
const BAR: &str = "{spinner} {prefix:>12} [{wide_bar}] {human_pos}/{human_len} docs  {rate}  {eta}";

/// Progress bars on a terminal, plain log lines otherwise.
pub struct Progress {
    bars: Option<(MultiProgress, Box<dyn TermLike>)>,
    per_stream: Mutex<Vec<(String, ProgressBar, Arc<Offset>)>>,
}

impl Progress {
    /// Bars on stderr when it is a terminal.
    pub fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bars: None,
                per_stream: Mutex::new(Vec::new()),
            };
        }
        let term = console::Term::buffered_stderr();
        Self::drawing_to(ProgressDrawTarget::term(term.clone(), 20), Box::new(term))
    }

    /// Bars drawn on `target`, whose terminal is `term`.
    pub fn drawing_to(target: ProgressDrawTarget, term: Box<dyn TermLike>) -> Self {
        Progress {
            bars: Some((MultiProgress::with_draw_target(target), term)),
            per_stream: Mutex::new(Vec::new()),
        }
    }

    /// The bar of `stream` (made at its first use) and its offset, and whether it is new.
    fn bar(&self, stream: &str) -> Option<(ProgressBar, Arc<Offset>)> {
        let (multi, _) = self.bars.as_ref()?;
        let mut bars = self.per_stream.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b, o)) = bars.iter().find(|(s, _, _)| s == stream) {
            return Some((b.clone(), Arc::clone(o)));
        }
        let offset = Arc::new(Offset::default());
        let b = multi.add(ProgressBar::new_spinner());
        b.set_style(style(SPINNER, &offset));
        b.set_prefix(stream.to_string());
        b.enable_steady_tick(Duration::from_millis(200));
        bars.push((stream.to_string(), b.clone(), Arc::clone(&offset)));
        Some((b, offset))
    }

    /// Draws each bar's last frame and ends it, so that what is printed next starts on a line
    /// of its own.
    pub fn finish(&self) {
        let Some((_, term)) = self.bars.as_ref() else {
            return;
        };
        let bars = self.per_stream.lock().unwrap_or_else(|p| p.into_inner());
        for (_, b, offset) in bars.iter() {
            offset.stop(b);
        }
        // The frame's lines are padded to the terminal's width and its last one is not ended:
        // a summary printed next ran into it wherever the width was not the real one.
        // "\r\n" ends it without an empty line where the padding already wrapped.
        if !bars.is_empty() {
            let _ = term.write_str("\r\n");
            let _ = term.flush();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for Progress {
    fn page_read(&self, collection: &str, docs: u64) {
        if let Some((b, offset)) = self.bar(collection) {
            if !offset.first_page.swap(true, Ordering::Relaxed) {
                offset.docs.fetch_add(docs, Ordering::Relaxed);
            }
            b.inc(docs);
        }
    }

    fn wants_total(&self) -> bool {
        self.bars.is_some()
    }

    fn total_known(&self, collection: &str, total: u64, done: u64) {
        if let Some((b, offset)) = self.bar(collection) {
            b.set_style(style(BAR, &offset));
            b.set_length(total);
            offset.docs.fetch_add(done, Ordering::Relaxed);
            b.inc(done);
        }
    }

    fn collection_done(&self, collection: &str) {
        let bars = self.per_stream.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b, offset)) = bars.iter().find(|(s, _, _)| s == collection) {
            offset.stop(b);
        }
    }

    fn batch_committed(&self, collection: &str, rows: u64, bytes: u64) {
        if self.bars.is_none() {
            tracing::info!(collection, rows, bytes, "Batch committed.");
        }
    }
}

#[cfg(test)]
mod tests;
