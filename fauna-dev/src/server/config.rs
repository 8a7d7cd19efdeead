//! [`ServerConfig`]: everything the transport needs besides the engine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::faults::FaultConfig;

/// The port of Fauna's local Docker image, used when none is given.
pub const DEFAULT_PORT: u16 = 8443;

/// Largest accepted request body (the real server's `MaxRequestSize`): 8 MiB.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Transport settings, built with chained setters:
/// `ServerConfig::new().port(0).latency(Duration::from_millis(5))`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub(crate) bind: IpAddr,
    pub(crate) port: u16,
    pub(crate) latency: Duration,
    pub(crate) faults: Option<FaultConfig>,
    pub(crate) gzip: bool,
    pub(crate) max_body: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            latency: Duration::ZERO,
            faults: None,
            gzip: true,
            max_body: MAX_BODY_BYTES,
        }
    }
}

impl ServerConfig {
    /// `127.0.0.1:8443`, no latency, no faults, gzip when the client accepts it.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on (default `127.0.0.1`).
    pub fn bind(mut self, ip: IpAddr) -> Self {
        self.bind = ip;
        self
    }

    /// The port to listen on; `0` picks a free one (see [`RunningServer::addr`](super::RunningServer::addr)).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Delay added to every response.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Inject faults into query requests before they are evaluated.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Whether responses are gzip-compressed for clients sending `Accept-Encoding: gzip`.
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// The socket address this configuration listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}
