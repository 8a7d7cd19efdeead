//! Fault injection: with probability `rate`, a query request is answered with a rate-limit
//! error, a timeout, a 413 or a dropped connection instead of being evaluated (so nothing is
//! written); optionally only requests asking for pages larger than a size are eligible. A page
//! limit answers every request asking for more items than it with a query time out.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One kind of injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `429 too many requests` "Rate limit for read exceeded" with `x-rate-limited-ops: read`.
    RateLimited,
    /// `503 time out` "Read timed out".
    TimedOut,
    /// The connection is closed without a response.
    Dropped,
    /// `413 request too large` "Request entity is too large" (not in the default kinds).
    TooLarge,
}

impl Fault {
    /// The kinds of the `--faults` default, in its order.
    pub const ALL: [Fault; 3] = [Fault::RateLimited, Fault::TimedOut, Fault::Dropped];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::RateLimited => "429",
            Fault::TimedOut => "503",
            Fault::Dropped => "drop",
            Fault::TooLarge => "413",
        })
    }
}

/// A `--faults` entry that names no fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault '{0}' (expected 429, 503, 413 or drop)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "429" => Ok(Fault::RateLimited),
            "503" => Ok(Fault::TimedOut),
            "drop" => Ok(Fault::Dropped),
            "413" => Ok(Fault::TooLarge),
            other => Err(UnknownFault(other.to_owned())),
        }
    }
}

/// A fault-rate outside `0..=1`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("fault rate must be between 0 and 1, got {0}")]
pub struct InvalidRate(pub f64);

/// How often and which faults to inject.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    rate: f64,
    seed: u64,
    kinds: Vec<Fault>,
    pages_above: Option<u64>,
    max_page_items: Option<u64>,
}

impl FaultConfig {
    /// Faults with probability `rate` (0..=1), drawn from all kinds, seed 0.
    pub fn new(rate: f64) -> Result<Self, InvalidRate> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(InvalidRate(rate));
        }
        Ok(FaultConfig {
            rate,
            seed: 0,
            kinds: Fault::ALL.to_vec(),
            pages_above: None,
            max_page_items: None,
        })
    }

    /// Draw faults only for queries with a `Paginate` asking for more than `size` items
    /// (others are always evaluated).
    pub fn pages_above(mut self, size: u64) -> Self {
        self.pages_above = Some(size);
        self
    }

    /// Answer every query with a `Paginate` asking for more than `items` items with `503 time
    /// out` (as a query too big for its timeout would be), without drawing.
    pub fn max_page_items(mut self, items: u64) -> Self {
        self.max_page_items = Some(items);
        self
    }

    /// The random seed, for reproducible fault sequences.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The kinds to choose among (uniformly); an empty list keeps the current one.
    pub fn kinds(mut self, kinds: &[Fault]) -> Self {
        if !kinds.is_empty() {
            self.kinds = kinds.to_vec();
        }
        self
    }
}

/// Draws faults from a [`FaultConfig`]; shared by all connections.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    rate: f64,
    kinds: Vec<Fault>,
    pages_above: Option<u64>,
    max_page_items: Option<u64>,
    rng: Mutex<StdRng>,
    injected: std::sync::atomic::AtomicU64,
}

impl FaultInjector {
    pub(crate) fn new(config: &FaultConfig) -> Self {
        FaultInjector {
            rate: config.rate,
            kinds: config.kinds.clone(),
            pages_above: config.pages_above,
            max_page_items: config.max_page_items,
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            injected: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Faults drawn so far.
    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The fault for the query request `body` (the query JSON), if any: the page limit first,
    /// then a draw if the query is eligible.
    pub(crate) fn draw_for(&self, body: &[u8]) -> Option<Fault> {
        if self.max_page_items.is_none() && self.pages_above.is_none() {
            return self.draw();
        }
        let size = largest_page(body);
        if let (Some(max), Some(size)) = (self.max_page_items, size) {
            if size > max {
                self.injected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Some(Fault::TimedOut);
            }
        }
        match self.pages_above {
            Some(above) if size.is_none_or(|s| s <= above) => None,
            _ => self.draw(),
        }
    }

    /// The fault for the next query request, if any.
    pub(crate) fn draw(&self) -> Option<Fault> {
        if self.rate <= 0.0 || self.kinds.is_empty() {
            return None;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.rate < 1.0 && rng.random::<f64>() >= self.rate {
            return None;
        }
        let i = rng.random_range(0..self.kinds.len());
        let fault = self.kinds.get(i).copied();
        if fault.is_some() {
            self.injected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        fault
    }
}

/// The largest `size` of any `Paginate` form in the query JSON `body` (`None`: no sized
/// `Paginate`, or not JSON). Literal objects travel wrapped in `{"object": …}`, so a document's
/// own `paginate` field is never taken for the form.
fn largest_page(body: &[u8]) -> Option<u64> {
    fn walk(v: &fauna_wire::Value, max: &mut Option<u64>) {
        match v {
            fauna_wire::Value::Array(items) => items.iter().for_each(|i| walk(i, max)),
            fauna_wire::Value::Object(o) => {
                if let (1, Some(fauna_wire::Value::Object(fields))) = (o.len(), o.get("object")) {
                    // A literal object: its values are expressions, its keys are not forms.
                    fields.values().for_each(|i| walk(i, max));
                    return;
                }
                if o.contains_key("paginate") {
                    if let Some(size) = o
                        .get("size")
                        .and_then(fauna_wire::Value::as_i64)
                        .and_then(|s| u64::try_from(s).ok())
                    {
                        *max = Some(max.map_or(size, |m| m.max(size)));
                    }
                }
                o.values().for_each(|i| walk(i, max));
            }
            _ => {}
        }
    }
    let query = fauna_wire::decode_json(body).ok()?;
    let mut max = None;
    walk(&query, &mut max);
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_largest_page_size_of_a_query() {
        let q = br#"{"at":1,"expr":{"map":{"lambda":"x","expr":{"paginate":{"documents":{"collection":"c"}},"size":4000}},"collection":{"paginate":{"events":{"var":"r"}},"size":1}}}"#;
        assert_eq!(largest_page(q), Some(4000));
        assert_eq!(largest_page(br#"{"paginate":{"collections":null}}"#), None);
        assert_eq!(largest_page(br#"{"object":{"paginate":1,"size":9}}"#), None);
        assert_eq!(
            largest_page(br#"{"object":{"p":{"paginate":{"var":"s"},"size":9}}}"#),
            Some(9)
        );
        assert_eq!(largest_page(b"not json"), None);
    }

    #[test]
    fn page_limits_and_page_restricted_faults() {
        let page =
            |n: u64| format!(r#"{{"paginate":{{"documents":{{"collection":"c"}}}},"size":{n}}}"#);
        let limit = FaultInjector::new(&FaultConfig::new(0.0).unwrap().max_page_items(100));
        assert_eq!(limit.draw_for(page(100).as_bytes()), None);
        assert_eq!(limit.draw_for(page(101).as_bytes()), Some(Fault::TimedOut));
        assert_eq!(limit.draw_for(b"{\"now\":null}"), None);
        assert_eq!(limit.injected(), 1);
        let big = FaultInjector::new(
            &FaultConfig::new(1.0)
                .unwrap()
                .kinds(&[Fault::TooLarge])
                .pages_above(500),
        );
        assert_eq!(big.draw_for(page(500).as_bytes()), None);
        assert_eq!(big.draw_for(b"{\"now\":null}"), None);
        assert_eq!(big.draw_for(page(501).as_bytes()), Some(Fault::TooLarge));
    }

    #[test]
    fn parses_kinds() {
        assert_eq!("429".parse(), Ok(Fault::RateLimited));
        assert_eq!(" 503".parse(), Ok(Fault::TimedOut));
        assert_eq!("drop".parse(), Ok(Fault::Dropped));
        assert_eq!("413".parse(), Ok(Fault::TooLarge));
        assert_eq!("500".parse::<Fault>(), Err(UnknownFault("500".into())));
    }

    #[test]
    fn rejects_rates_outside_zero_one() {
        assert_eq!(FaultConfig::new(1.5), Err(InvalidRate(1.5)));
        assert!(FaultConfig::new(-0.1).is_err());
        assert!(FaultConfig::new(f64::NAN).is_err());
        assert!(FaultConfig::new(0.0).is_ok());
    }

    #[test]
    fn rate_one_always_faults_and_zero_never() {
        let always = FaultInjector::new(&FaultConfig::new(1.0).unwrap().kinds(&[Fault::TimedOut]));
        assert!((0..100).all(|_| always.draw() == Some(Fault::TimedOut)));
        let never = FaultInjector::new(&FaultConfig::new(0.0).unwrap());
        assert!((0..100).all(|_| never.draw().is_none()));
    }

    #[test]
    fn same_seed_same_sequence() {
        let cfg = FaultConfig::new(0.5).unwrap().seed(42);
        let a = FaultInjector::new(&cfg);
        let b = FaultInjector::new(&cfg);
        let seq_a: Vec<_> = (0..200).map(|_| a.draw()).collect();
        let seq_b: Vec<_> = (0..200).map(|_| b.draw()).collect();
        assert_eq!(seq_a, seq_b);
        let faults = seq_a.iter().filter(|f| f.is_some()).count();
        assert!(
            (60..=140).contains(&faults),
            "{faults} faults in 200 draws at rate 0.5"
        );
        for kind in Fault::ALL {
            assert!(seq_a.contains(&Some(kind)), "{kind} never drawn");
        }
    }
}
