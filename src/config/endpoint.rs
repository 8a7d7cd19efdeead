//! The Fauna endpoint: parsed, normalized and refused when it would send the secret in clear
//! text to another machine.

use std::net::IpAddr;

use reqwest::Url;

/// Why an endpoint is refused: what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointProblem {
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

impl EndpointProblem {
    fn new(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        EndpointProblem {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// A checked endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host:port[/path]`, without a trailing `/`.
    pub url: String,
    /// The host (IPv6 addresses in brackets).
    pub host: String,
    /// Whether it is plain HTTP to a host that is not this machine (loopback is 127.0.0.0/8,
    /// ::1 and `localhost`): the secret would cross the network unencrypted.
    pub insecure_remote: bool,
}

impl Endpoint {
    /// The refusal of an insecure remote endpoint; `how_to_allow` says how to opt in.
    pub fn insecure_problem(&self, how_to_allow: &str) -> EndpointProblem {
        EndpointProblem::new(
            format!(
                "plain http to {}, which is not this machine, would send the secret unencrypted",
                self.host
            ),
            format!("Use https, or {how_to_allow} if the network path is trusted."),
        )
    }
}

/// Parses an endpoint URL such as `https://db.fauna.com` or `http://127.0.0.1:8443`.
pub fn parse_endpoint(raw: &str) -> Result<Endpoint, EndpointProblem> {
    let shown = redact_userinfo(raw);
    const EXAMPLE: &str =
        "Give the full URL, e.g. https://db.fauna.com or http://127.0.0.1:8443 for a local fauna-dev.";
    if !raw.contains("://") {
        return Err(EndpointProblem::new(
            format!("'{shown}' has no scheme"),
            EXAMPLE,
        ));
    }
    let url = Url::parse(raw).map_err(|e| {
        EndpointProblem::new(format!("'{shown}' is not a valid URL ({e})"), EXAMPLE)
    })?;
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(EndpointProblem::new(
            format!("unsupported scheme '{scheme}' in '{shown}'"),
            "Use https:// (or http:// for a local fauna-dev).",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointProblem::new(
            format!("'{shown}' holds a user name or password"),
            "Remove it from the URL; give the secret with FAUNA_SECRET, --secret or \"secret\".",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointProblem::new(
            format!("'{shown}' has a query or fragment"),
            EXAMPLE,
        ));
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(EndpointProblem::new(
                format!("'{shown}' has no host"),
                EXAMPLE,
            ))
        }
    };
    let port = url.port_or_known_default().unwrap_or(443);
    if port == 0 {
        return Err(EndpointProblem::new(
            format!("port 0 in '{shown}' is outside 1..=65535"),
            "Use the endpoint's port, e.g. 443.",
        ));
    }
    let path = url.path().trim_end_matches('/');
    Ok(Endpoint {
        url: format!("{scheme}://{host}:{port}{path}"),
        insecure_remote: scheme == "http" && !is_loopback(&url),
        host,
    })
}

/// Whether the URL's host is this machine: 127.0.0.0/8, ::1 (also IPv4-mapped) or `localhost`.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// The URL with anything between `scheme://` and the last `@` replaced by `***`, so that
/// error messages never repeat a password or secret written into it.
fn redact_userinfo(raw: &str) -> String {
    let start = raw.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = raw[start..]
        .find(['/', '?', '#'])
        .map(|i| start + i)
        .unwrap_or(raw.len());
    match raw[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        let e = parse_endpoint(raw).unwrap();
        assert!(!e.insecure_remote, "{raw}");
        e.url
    }

    fn problem(raw: &str) -> String {
        let p = parse_endpoint(raw).unwrap_err();
        format!("{} | {}", p.problem, p.fix)
    }

    #[test]
    fn normalizes_valid_endpoints() {
        assert_eq!(ok("https://db.fauna.com"), "https://db.fauna.com:443");
        assert_eq!(ok("https://db.fauna.com/"), "https://db.fauna.com:443");
        assert_eq!(ok("http://127.0.0.1:8443/"), "http://127.0.0.1:8443");
        assert_eq!(ok("http://127.8.9.10:8443"), "http://127.8.9.10:8443");
        assert_eq!(ok("http://localhost:8443"), "http://localhost:8443");
        assert_eq!(ok("http://LOCALHOST:8443"), "http://localhost:8443");
        assert_eq!(ok("http://[::1]:8443"), "http://[::1]:8443");
        assert_eq!(
            ok("http://[::ffff:127.0.0.1]:1"),
            "http://[::ffff:7f00:1]:1"
        );
        assert_eq!(
            ok("https://proxy.example:8443/fauna/"),
            "https://proxy.example:8443/fauna"
        );
        assert_eq!(
            ok("https://db.fauna.com:65535"),
            "https://db.fauna.com:65535"
        );
    }

    #[test]
    fn refuses_malformed_endpoints_with_a_fix() {
        let example = "Give the full URL, e.g. https://db.fauna.com or http://127.0.0.1:8443 for a local fauna-dev.";
        let cases = [
            ("127.0.0.1:8443", format!("'127.0.0.1:8443' has no scheme | {example}")),
            ("localhost:8443", format!("'localhost:8443' has no scheme | {example}")),
            ("", format!("'' has no scheme | {example}")),
            ("ftp://db.fauna.com", "unsupported scheme 'ftp' in 'ftp://db.fauna.com' | Use https:// (or http:// for a local fauna-dev).".to_string()),
            ("http://127.0.0.1:99999", format!("'http://127.0.0.1:99999' is not a valid URL (invalid port number) | {example}")),
            ("http://127.0.0.1:0", "port 0 in 'http://127.0.0.1:0' is outside 1..=65535 | Use the endpoint's port, e.g. 443.".to_string()),
            ("https://db.fauna.com?x=1", format!("'https://db.fauna.com?x=1' has a query or fragment | {example}")),
            ("https://", format!("'https://' is not a valid URL (empty host) | {example}")),
        ];
        for (raw, expected) in cases {
            assert_eq!(problem(raw), expected, "{raw}");
        }
    }

    #[test]
    fn never_repeats_credentials_written_into_the_url() {
        assert_eq!(
            problem("https://user:fnSECRET@db.fauna.com"),
            "'https://***@db.fauna.com' holds a user name or password | Remove it from the URL; give the secret with FAUNA_SECRET, --secret or \"secret\"."
        );
        assert_eq!(
            problem("ftp://fnSECRET@db.fauna.com/a@b"),
            "unsupported scheme 'ftp' in 'ftp://***@db.fauna.com/a@b' | Use https:// (or http:// for a local fauna-dev)."
        );
    }

    #[test]
    fn plain_http_to_another_machine_is_insecure() {
        for (raw, host) in [
            ("http://192.0.2.2:8443", "192.0.2.2"),
            ("http://db.example.com", "db.example.com"),
            ("http://128.0.0.1", "128.0.0.1"),
            ("http://[2001:db8::1]:80", "[2001:db8::1]"),
            ("http://localhost.example.com", "localhost.example.com"),
        ] {
            let e = parse_endpoint(raw).unwrap();
            assert!(e.insecure_remote, "{raw}");
            let p = e.insecure_problem("pass --allow-insecure-http");
            assert_eq!(
                (p.problem, p.fix),
                (
                    format!("plain http to {host}, which is not this machine, would send the secret unencrypted"),
                    "Use https, or pass --allow-insecure-http if the network path is trusted.".to_string()
                )
            );
        }
        assert!(!parse_endpoint("https://192.0.2.2").unwrap().insecure_remote);
    }
}
