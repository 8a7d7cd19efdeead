//! Reading one parameter from a URL query string (`application/x-www-form-urlencoded`).

/// The decoded value of the first `name=…` pair, if present.
pub(crate) fn param(query: Option<&str>, name: &str) -> Option<Vec<u8>> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k.as_bytes()) == name.as_bytes()).then(|| decode(v.as_bytes()))
    })
}

/// Percent-decoding with `+` as space; malformed escapes are kept literally.
fn decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => match (s.get(i + 1).and_then(hex), s.get(i + 2).and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes() {
        let q = Some("a=1&q=%7B%22now%22%3Anull%7D&b");
        assert_eq!(param(q, "q").as_deref(), Some(&b"{\"now\":null}"[..]));
        assert_eq!(param(q, "b").as_deref(), Some(&b""[..]));
        assert_eq!(param(q, "c"), None);
        assert_eq!(param(None, "q"), None);
        assert_eq!(param(Some("q=a+b%2"), "q").as_deref(), Some(&b"a b%2"[..]));
    }
}
