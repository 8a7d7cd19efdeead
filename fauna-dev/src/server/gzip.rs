//! gzip response compression for clients that send `Accept-Encoding: gzip`.

use std::io::Write as _;

use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::header::{HeaderMap, ACCEPT_ENCODING};

/// Bodies smaller than this are sent as they are.
const MIN_BYTES: usize = 1024;

/// Whether the request accepts gzip (a `gzip` or `*` coding without `q=0`).
pub(crate) fn accepted(headers: &HeaderMap) -> bool {
    headers.get_all(ACCEPT_ENCODING).iter().any(|value| {
        String::from_utf8_lossy(value.as_bytes())
            .split(',')
            .any(|coding| {
                let mut parts = coding.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "q=0" || p.starts_with("q=0.0") && p.trim_end_matches('0') == "q=0."
                });
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
            })
    })
}

/// The gzip form of `body`, or `None` when it is too small to be worth it.
pub(crate) fn compress(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < MIN_BYTES {
        return None;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn accepts(v: &'static str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static(v));
        accepted(&h)
    }

    #[test]
    fn negotiation() {
        assert!(accepts("gzip, deflate"));
        assert!(accepts("br;q=1.0, gzip;q=0.8"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip; q=0.000"));
        assert!(!accepts("identity"));
        assert!(!accepted(&HeaderMap::new()));
    }

    #[test]
    fn round_trip() {
        let body = br#"{"resource":"x"}"#.repeat(200);
        let packed = compress(&body).unwrap();
        assert!(packed.len() < body.len());
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut out)
            .unwrap();
        assert_eq!(out, body);
        assert_eq!(compress(b"{}"), None);
    }
}
