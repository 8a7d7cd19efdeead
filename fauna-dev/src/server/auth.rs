//! `Authorization` header parsing: `Bearer <secret>` and `Basic base64(secret[:])`.
//!
//! The scheme names are case-sensitive, as on the real server. For `Basic`, one trailing `:` is
//! stripped from the encoded token and one from the decoded (trimmed) text, so `b64(secret)`,
//! `b64(secret:)` and the old Go driver's `b64(secret:):` all name `secret`. Whether the secret
//! is known is the engine's decision.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hyper::header::HeaderValue;

/// Standard alphabet, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The secret carried by an `Authorization` header, or `None` when absent or malformed.
pub fn secret(header: Option<&HeaderValue>) -> Option<String> {
    let value = std::str::from_utf8(header?.as_bytes()).ok()?.trim();
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    let token = token.trim_start();
    match scheme {
        "Bearer" if !token.is_empty() => Some(token.to_owned()),
        "Basic" => {
            let decoded = LENIENT.decode(strip_colon(token)).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let secret = strip_colon(text.trim());
            (!secret.is_empty()).then(|| secret.to_owned())
        }
        _ => None,
    }
}

fn strip_colon(s: &str) -> &str {
    s.strip_suffix(':').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Option<String> {
        let header = HeaderValue::from_str(v).ok();
        secret(header.as_ref())
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn bearer() {
        assert_eq!(parse("Bearer secret").as_deref(), Some("secret"));
        assert_eq!(
            parse("Bearer fnAAAA:db:admin").as_deref(),
            Some("fnAAAA:db:admin")
        );
        assert_eq!(parse("Bearer "), None);
        assert_eq!(parse("bearer secret"), None);
    }

    #[test]
    fn basic_in_every_accepted_shape() {
        assert_eq!(
            parse(&format!("Basic {}", b64("secret:"))).as_deref(),
            Some("secret")
        );
        assert_eq!(
            parse(&format!("Basic {}", b64("secret"))).as_deref(),
            Some("secret")
        );
        assert_eq!(
            parse(&format!("Basic {}:", b64("secret:"))).as_deref(),
            Some("secret")
        );
        let unpadded = b64("secret:").trim_end_matches('=').to_owned();
        assert_eq!(
            parse(&format!("Basic {unpadded}")).as_deref(),
            Some("secret")
        );
    }

    #[test]
    fn malformed_is_no_secret() {
        assert_eq!(secret(None), None);
        assert_eq!(parse("Basic !!!"), None);
        assert_eq!(parse(&format!("Basic {}", b64(":"))), None);
        assert_eq!(parse("Token secret"), None);
        assert_eq!(parse("secret"), None);
    }
}
