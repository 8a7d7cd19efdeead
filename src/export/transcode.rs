//! Wire JSON bytes → export JSON text, without building the [`Value`] tree in between.
//!
//! Most of a document is plain JSON whose export form is its own text: objects with ordinary
//! keys, arrays, strings without escapes. Those are checked and copied as they are read; any
//! other value (numbers, literals, escaped strings, every tagged object such as `@ref` or
//! `@ts`) is decoded on its own by [`fauna_wire::decode_at`] and written by
//! [`write_export_json`], so the text is byte for byte what decoding the whole value and writing
//! it gives — the property test below holds the two paths together. Anything the copy cannot
//! vouch for (a repeated key, which the tree keeps once) is handed to the tree reading as well.

use fauna_wire::{decode_at, DecodeError, MAX_DEPTH};

use super::write_export_json;

/// The export JSON of the wire value that starts at `input[start]`, appended to `out`, as if
/// it stood `depth` arrays and objects deep in a response; returns the offset past the value.
/// On an error `out` may hold part of the value; the input is not a valid response there.
///
/// ```
/// use fauna_sync::export::transcode_at;
/// let wire = br#"{"n":1.0E10,"at":{"@date":"2012-02-01"},"s":["a"]}"#;
/// let mut out = Vec::new();
/// assert_eq!(transcode_at(wire, 0, 0, &mut out).unwrap(), wire.len());
/// assert_eq!(out, br#"{"n":10000000000.0,"at":"2012-02-01","s":["a"]}"#);
/// ```
pub fn transcode_at(
    input: &[u8],
    start: usize,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<usize, DecodeError> {
    let mut t = Transcoder {
        s: input,
        i: start,
        keys: Vec::new(),
    };
    t.value(depth, out)?;
    Ok(t.i)
}

/// The end (past the closing quote) of the string whose opening quote is at `input[at]`, if it
/// has no escapes, no control characters and is valid UTF-8: then the string is its wire text.
pub(crate) fn plain_string_end(input: &[u8], at: usize) -> Option<usize> {
    if input.get(at) != Some(&b'"') {
        return None;
    }
    let body = at + 1;
    let len = input.get(body..)?.iter().position(|&b| b == b'"')?;
    let raw = &input[body..body + len];
    // No early exit, so the compiler can check many bytes at once.
    let odd = raw
        .iter()
        .fold(false, |any, &b| any | (b < 0x20) | (b == b'\\'));
    (!odd && std::str::from_utf8(raw).is_ok()).then_some(body + len + 1)
}

struct Transcoder<'a> {
    s: &'a [u8],
    i: usize,
    /// The keys (start, end offsets) of the objects being copied, innermost last, to find a
    /// repeated key.
    keys: Vec<(usize, usize)>,
}

impl Transcoder<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Decodes the value at the cursor as a tree and writes it.
    fn generic(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (v, end) = decode_at(self.s, self.i, depth)?;
        write_export_json(&v, out);
        self.i = end;
        Ok(())
    }

    fn value(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        match self.peek() {
            Some(b'"') => match self.plain_string() {
                Some(end) => {
                    out.extend_from_slice(&self.s[self.i..end]);
                    self.i = end;
                    Ok(())
                }
                None => self.generic(depth, out),
            },
            Some(b'[') if depth < MAX_DEPTH => self.array(depth + 1, out),
            Some(b'{') if depth < MAX_DEPTH => self.object(depth + 1, out),
            _ => self.generic(depth, out),
        }
    }

    fn plain_string(&self) -> Option<usize> {
        plain_string_end(self.s, self.i)
    }

    fn array(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (start, written) = (self.i, out.len());
        self.i += 1;
        out.push(b'[');
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            out.push(b']');
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth, out)?;
            match self.separator(b']', out) {
                Some(true) => {}
                Some(false) => return Ok(()),
                // Let the tree reading report the error where it finds it.
                None => return self.rewind(start, written, depth - 1, out),
            }
        }
    }

    fn object(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (start, written, base) = (self.i, out.len(), self.keys.len());
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        out.push(b'{');
        loop {
            self.ws();
            let key_end = self.plain_string();
            // A tagged value (its first key starts with '@'), an escaped key (it may spell a
            // tag or repeat another) or bad syntax: the tree reading decides.
            let Some(key_end) = key_end
                .filter(|_| !(self.keys.len() == base && self.s.get(self.i + 1) == Some(&b'@')))
            else {
                return self.rewind_keys(start, written, base, depth - 1, out);
            };
            self.keys.push((self.i + 1, key_end - 1));
            out.extend_from_slice(&self.s[self.i..key_end]);
            self.i = key_end;
            self.ws();
            if self.peek() != Some(b':') {
                return self.rewind_keys(start, written, base, depth - 1, out);
            }
            self.i += 1;
            out.push(b':');
            self.ws();
            self.value(depth, out)?;
            match self.separator(b'}', out) {
                Some(true) => {}
                Some(false) if !self.repeats_a_key(base) => {
                    self.keys.truncate(base);
                    return Ok(());
                }
                _ => return self.rewind_keys(start, written, base, depth - 1, out),
            }
        }
    }

    /// After an element: copies `,` (`Some(true)`: another follows) or `close` (`Some(false)`:
    /// the container ended); `None` on anything else.
    fn separator(&mut self, close: u8, out: &mut Vec<u8>) -> Option<bool> {
        self.ws();
        let b = self.peek().filter(|&b| b == b',' || b == close)?;
        self.i += 1;
        out.push(b);
        Some(b == b',')
    }

    /// Whether two of the keys read since `base` are the same (their bytes: none is escaped).
    fn repeats_a_key(&self, base: usize) -> bool {
        let keys = &self.keys[base..];
        let text = |&(a, b): &(usize, usize)| &self.s[a..b];
        if keys.len() <= 16 {
            keys.iter()
                .enumerate()
                .any(|(n, k)| keys[..n].iter().any(|e| text(e) == text(k)))
        } else {
            let mut sorted: Vec<&[u8]> = keys.iter().map(text).collect();
            sorted.sort_unstable();
            sorted.windows(2).any(|w| w[0] == w[1])
        }
    }

    fn rewind_keys(
        &mut self,
        start: usize,
        written: usize,
        base: usize,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        self.keys.truncate(base);
        self.rewind(start, written, depth, out)
    }

    /// Gives the value that started at `start` (written from `written`) to the tree reading.
    fn rewind(
        &mut self,
        start: usize,
        written: usize,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        self.i = start;
        out.truncate(written);
        self.generic(depth, out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::export::json_text::tests::arb_value;
    use crate::fauna::{decode, encode};

    /// The export JSON by the tree: decode, then write.
    fn by_tree(wire: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        write_export_json(&decode(wire)?, &mut out);
        Ok(out)
    }

    fn transcoded(wire: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let end = transcode_at(wire, 0, 0, &mut out)?;
        assert_eq!(end, wire.len(), "the whole value was read");
        Ok(out)
    }

    #[test]
    fn odd_but_valid_wire_text_gives_what_the_tree_gives() {
        for wire in [
            r#"{"a":1,"a":2,"b":{"a":3}}"#,
            r#"{ "a" : [ 1 , "x" ,{} , [ ] ] , "b" : -0 }"#,
            r#"{"\u0040ref":{"id":"collections"}}"#,
            r#"{"x":"\u00e9\/","y":"é😀"}"#,
            r#"{"@obj":{"@ts":"x","a":{"@obj":{}}}}"#,
            r#"{"k":{"@ts":"2022-07-18T23:58:03.585Z"},"d":{"@bytes":"+/8="}}"#,
            r#"[1e2,-0.0,123456789012345678,{"@set":{"match":{"@ref":{"id":"i","collection":{"@ref":{"id":"indexes"}}}}}}]"#,
        ] {
            assert_eq!(
                transcoded(wire.as_bytes()).unwrap(),
                by_tree(wire.as_bytes()).unwrap(),
                "{wire}"
            );
        }
    }

    #[test]
    fn invalid_wire_text_is_an_error() {
        for wire in [
            r#"{"a":1"#,
            r#"{"a" 1}"#,
            r#"["a",]"#,
            r#"{"a":"tab	in"}"#,
            r#"{"@nope":1}"#,
            r#"{"a":99999999999999999999}"#,
        ] {
            assert!(transcoded(wire.as_bytes()).is_err(), "{wire}");
        }
        let mut deep = "[".repeat(MAX_DEPTH + 1);
        deep.push_str(&"]".repeat(MAX_DEPTH + 1));
        assert!(transcoded(deep.as_bytes()).is_err());
        let mut ok = "[".repeat(MAX_DEPTH);
        ok.push_str(&"]".repeat(MAX_DEPTH));
        assert_eq!(transcoded(ok.as_bytes()).unwrap(), ok.as_bytes());
    }

    #[test]
    fn invalid_utf8_in_a_string_is_an_error() {
        assert!(transcoded(b"{\"a\":\"\xff\"}").is_err());
        assert!(transcoded(b"{\"\xc3\":1}").is_err());
    }

    #[test]
    fn many_keys_are_checked_for_repeats_too() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let unique = format!("{{{}}}", keys.join(","));
        assert_eq!(transcoded(unique.as_bytes()).unwrap(), unique.as_bytes());
        let repeated = format!("{{{},\"k7\":\"again\"}}", keys.join(","));
        assert_eq!(
            transcoded(repeated.as_bytes()).unwrap(),
            by_tree(repeated.as_bytes()).unwrap()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Byte for byte what decoding the value and writing its export JSON gives.
        #[test]
        fn gives_what_the_tree_gives(v in arb_value()) {
            let wire = encode(&v);
            prop_assert_eq!(transcoded(wire.as_bytes()).unwrap(), by_tree(wire.as_bytes()).unwrap());
        }
    }
}
