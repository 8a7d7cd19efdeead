//! Fault injection: with probability `rate`, a query request is answered with a rate-limit
//! error, a timeout, or a dropped connection instead of being evaluated (so nothing is written).

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
}

impl Fault {
    /// Every kind, in the order of the `--faults` default.
    pub const ALL: [Fault; 3] = [Fault::RateLimited, Fault::TimedOut, Fault::Dropped];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::RateLimited => "429",
            Fault::TimedOut => "503",
            Fault::Dropped => "drop",
        })
    }
}

/// A `--faults` entry that names no fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault '{0}' (expected 429, 503 or drop)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "429" => Ok(Fault::RateLimited),
            "503" => Ok(Fault::TimedOut),
            "drop" => Ok(Fault::Dropped),
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
        })
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
    rng: Mutex<StdRng>,
    injected: std::sync::atomic::AtomicU64,
}

impl FaultInjector {
    pub(crate) fn new(config: &FaultConfig) -> Self {
        FaultInjector {
            rate: config.rate,
            kinds: config.kinds.clone(),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            injected: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Faults drawn so far.
    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds() {
        assert_eq!("429".parse(), Ok(Fault::RateLimited));
        assert_eq!(" 503".parse(), Ok(Fault::TimedOut));
        assert_eq!("drop".parse(), Ok(Fault::Dropped));
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
