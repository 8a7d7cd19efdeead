//! Why an HTTP request did not complete, and whether waiting can help: a refused or reset
//! connection, a timeout or a temporary DNS failure may pass; a host name that does not exist,
//! https spoken to a plain-http port or an invalid certificate will not.

use std::error::Error;
use std::io;

/// A transport failure, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// May pass: retry. The text is a short reason ("connection refused").
    Transient(String),
    /// Will not pass without a change: what is wrong and what to do.
    Permanent {
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
}

/// Classifies a failed request to `endpoint` from its error chain. The texts name no URL
/// beyond `endpoint` and never hold request headers (so never the secret).
pub fn classify(err: &(dyn Error + 'static), endpoint: &str) -> TransportFailure {
    let chain = chain(err);
    let text = chain.join(": ");
    let host = host_of(endpoint);
    let has = |needle: &str| text.contains(needle);

    if has("invalid peer certificate") {
        let reason = text
            .split("invalid peer certificate: ")
            .nth(1)
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("");
        return TransportFailure::Permanent {
            problem: format!("the TLS certificate of {host} is not valid ({reason})"),
            fix: "Check the host name in the endpoint; fauna-sync accepts only certificates \
                  trusted by this machine."
                .into(),
        };
    }
    if has("received corrupt message") || has("InvalidContentType") {
        let http = endpoint.replacen("https://", "http://", 1);
        return TransportFailure::Permanent {
            problem: "the server does not speak TLS (https) on this port".into(),
            fix: format!("If it is a plain-http server such as a local fauna-dev, use {http}."),
        };
    }
    if has("dns error") || has("failed to lookup address") {
        // EAI_AGAIN: the resolver could not answer now; anything else means the name is unknown.
        if has("Temporary failure in name resolution") || has("try again") {
            return TransportFailure::Transient(format!("cannot resolve {host} for now"));
        }
        return TransportFailure::Permanent {
            problem: format!("the host name {host} does not resolve"),
            fix: "Check the host name in the endpoint (\"domain\" or --endpoint).".into(),
        };
    }
    for e in io_errors(err) {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                return TransportFailure::Transient("connection refused".into())
            }
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                return TransportFailure::Transient("connection reset".into())
            }
            io::ErrorKind::TimedOut => return TransportFailure::Transient("timed out".into()),
            _ => {}
        }
    }
    if has("timed out") || has("operation timed out") {
        return TransportFailure::Transient("timed out".into());
    }
    TransportFailure::Transient(if text.is_empty() {
        "request failed".into()
    } else {
        text
    })
}

/// The messages of `err` and its sources, outermost first, skipping repeats.
fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        if !msg.is_empty() && !out.iter().any(|m| m.contains(&msg)) {
            out.push(msg);
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            let msg = inner.to_string();
            if !out.iter().any(|m| m.contains(&msg)) {
                out.push(msg);
            }
        }
        cur = e.source();
    }
    out
}

/// Every `io::Error` in the chain.
fn io_errors<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a io::Error> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            out.push(io);
        }
        cur = e.source();
    }
    out
}

/// `host` of `scheme://host:port/...`.
fn host_of(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<dyn Error + Send + Sync>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    fn wrap(outer: &'static str, inner: impl Error + Send + Sync + 'static) -> Layer {
        Layer(
            "client error (Connect)",
            Some(Box::new(Layer(outer, Some(Box::new(inner))))),
        )
    }

    #[test]
    fn refused_reset_and_timeouts_are_transient() {
        let refused = wrap(
            "tcp connect error",
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(
            classify(&refused, "http://127.0.0.1:1"),
            TransportFailure::Transient("connection refused".into())
        );
        let reset = wrap(
            "connection error",
            io::Error::from(io::ErrorKind::ConnectionReset),
        );
        assert_eq!(
            classify(&reset, "http://127.0.0.1:1"),
            TransportFailure::Transient("connection reset".into())
        );
        let again = wrap(
            "dns error",
            io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        );
        assert_eq!(
            classify(&again, "https://db.fauna.com:443"),
            TransportFailure::Transient("cannot resolve db.fauna.com for now".into())
        );
    }

    #[test]
    fn certificate_failures_are_permanent() {
        let cert = wrap(
            "tls handshake",
            io::Error::new(
                io::ErrorKind::InvalidData,
                Layer("invalid peer certificate: UnknownIssuer", None),
            ),
        );
        assert_eq!(
            classify(&cert, "https://db.example.com:443"),
            TransportFailure::Permanent {
                problem: "the TLS certificate of db.example.com is not valid (UnknownIssuer)"
                    .into(),
                fix: "Check the host name in the endpoint; fauna-sync accepts only certificates \
                      trusted by this machine."
                    .into()
            }
        );
    }

    #[test]
    fn hosts_of_endpoints() {
        assert_eq!(host_of("https://db.fauna.com:443"), "db.fauna.com");
        assert_eq!(host_of("http://[::1]:8443/x"), "[::1]");
        assert_eq!(host_of("http://h"), "h");
    }
}
