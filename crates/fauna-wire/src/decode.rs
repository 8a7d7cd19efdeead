//! Wire JSON → [`Value`], in one pass over the bytes.
//!
//! The reader is hand-written rather than built on `serde_json` because the wire format needs
//! three things a generic JSON reader does not give together: integers and doubles told apart
//! by their lexical form with out-of-range integers rejected (not silently turned into doubles),
//! object key order preserved, and the raw text of `@query`/`@set` kept verbatim.

use base64::engine::general_purpose::GeneralPurposeConfig;
use base64::engine::{DecodePaddingMode, GeneralPurpose};
use base64::Engine;

use crate::error::{DecodeError, DecodeErrorKind as K};
use crate::reference::Ref;
use crate::time::{Date, Timestamp};
use crate::value::{Object, Value};

/// The deepest nesting of arrays and objects the decoder accepts.
pub const MAX_DEPTH: usize = 128;

/// URL-safe alphabet, padding optional: what the server accepts for `@bytes` input after
/// mapping `+`→`-` and `/`→`_`.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes one wire JSON document (a response's `resource`, a request body, a stored value).
///
/// ```
/// use fauna_wire::{decode, Ref, Value};
/// let v = decode(br#"{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}"#).unwrap();
/// assert_eq!(v, Value::Ref(Ref::document("foo", "1")));
/// ```
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    Reader::new(input, false).document()
}

/// Decodes a request body. Unlike [`decode`], only an object with exactly one key that is a
/// known tag (`@ref`, `@ts`, `@date`, `@bytes`, `@query`, `@set`, `@obj`) is a tagged value;
/// any other object is plain, even with keys starting with `@` — as in
/// `{"object":{"@name":"John"}}`, a literal object the server accepts. An unknown tag such as
/// `{"@foo":1}` thus decodes to a plain object, which a server then rejects as an unknown form.
///
/// A server needs [`decode_json`] instead: whether a lone-tag object is a tag depends on where it
/// stands (`{"object":{"@obj":{"@ts":"x"}}}` holds the field `@ts`, which this reader cannot
/// tell from `{"object":{"@ts":"x"}}`).
///
/// ```
/// use fauna_wire::{decode_request, Value};
/// let v = decode_request(br#"{"object":{"@name":"John"}}"#).unwrap();
/// let inner = v.as_object().unwrap()["object"].as_object().unwrap();
/// assert_eq!(inner["@name"], Value::from("John"));
/// ```
pub fn decode_request(input: &[u8]) -> Result<Value, DecodeError> {
    Reader::new(input, true).document()
}

/// Decodes plain JSON: no key is a tag, so `{"@ts":"x"}` is an object with the field `@ts`.
/// Numbers, key order, depth and string rules are those of [`decode`].
///
/// This is how the real server reads a request body: which objects are tagged values
/// (`{"@ts": …}`), which are forms and which hold field names (the argument of `object`)
/// depends on where they stand in the expression, so the query parser decides, not the
/// JSON reader.
///
/// ```
/// use fauna_wire::{decode_json, Value};
/// let v = decode_json(br#"{"@ts":"not a time"}"#).unwrap();
/// assert_eq!(v.as_object().unwrap()["@ts"], Value::from("not a time"));
/// ```
pub fn decode_json(input: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(input, true);
    r.plain = true;
    r.document()
}

/// Decodes the one value that starts at `input[start]` (no whitespace before it), as if it stood
/// `depth` arrays and objects deep in a response, and returns it with the offset just past it.
/// For readers that walk a response themselves and decode only some of its values.
///
/// ```
/// use fauna_wire::{decode_at, Value};
/// let body = br#"{"ts":12,"data":{}}"#;
/// assert_eq!(decode_at(body, 6, 1).unwrap(), (Value::Int(12), 8));
/// ```
pub fn decode_at(input: &[u8], start: usize, depth: usize) -> Result<(Value, usize), DecodeError> {
    let mut r = Reader::new(input, false);
    r.i = start;
    let v = r.value(depth)?;
    Ok((v, r.i))
}

impl<'a> Reader<'a> {
    fn new(s: &'a [u8], request: bool) -> Self {
        Reader {
            s,
            i: 0,
            request,
            plain: false,
            fields: Vec::new(),
            direct_refs: true,
        }
    }

    fn document(mut self) -> Result<Value, DecodeError> {
        let r = &mut self;
        r.ws();
        let v = r.value(0)?;
        r.ws();
        if r.i != r.s.len() {
            return Err(r.err(K::Syntax("trailing characters after the value")));
        }
        Ok(v)
    }
}

/// Decodes `@bytes` text: standard or URL-safe alphabet, padding optional.
pub fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT_URL_SAFE.decode(mapped).ok()
}

/// Removes insignificant whitespace from valid JSON text.
pub(crate) fn minify(json: &[u8]) -> String {
    let mut out = Vec::with_capacity(json.len());
    let mut in_str = false;
    let mut escaped = false;
    for &b in json {
        if in_str {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_str = true;
            }
            out.push(b);
        }
    }
    // The input was validated JSON, hence UTF-8; whitespace removal keeps it so.
    String::from_utf8(out).unwrap_or_default()
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    /// Request mode: see [`decode_request`].
    request: bool,
    /// Plain mode: no tags at all, see [`decode_json`].
    plain: bool,
    /// The fields of the objects being read, innermost last: an object's fields are gathered
    /// here and moved into a map of the right size when it closes.
    fields: Vec<(String, Value)>,
    /// Whether `@ref` bodies may take [`Reader::ref_direct`] (off only to test it against the
    /// generic reading).
    direct_refs: bool,
}

impl<'a> Reader<'a> {
    fn err(&self, kind: K) -> DecodeError {
        DecodeError {
            kind,
            offset: self.i,
        }
    }

    fn err_at(&self, offset: usize, kind: K) -> DecodeError {
        DecodeError { kind, offset }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), DecodeError> {
        self.ws();
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(K::Syntax(what)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => {
                self.enter(depth + 1)?;
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.err(K::Syntax("expected ',' or ']' in array"))),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.err(K::Syntax("unexpected character"))),
            None => Err(self.err(K::Syntax("unexpected end of input"))),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            Err(self.err(K::TooDeep(MAX_DEPTH)))
        } else {
            Ok(())
        }
    }

    fn literal(&mut self, word: &'static str, v: Value) -> Result<Value, DecodeError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err(K::Syntax("invalid literal")))
        }
    }

    fn number(&mut self) -> Result<Value, DecodeError> {
        let start = self.i;
        let mut float = false;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err(K::Syntax("invalid number"))),
        }
        if self.peek() == Some(b'.') {
            float = true;
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(K::Syntax("invalid number")));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(K::Syntax("invalid number")));
            }
            self.digits();
        }
        // Only ASCII digits, signs, '.', 'e' were consumed.
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        if float {
            match text.parse::<f64>() {
                Ok(d) if d.is_finite() => Ok(Value::Double(d)),
                _ => Err(self.err_at(start, K::DoubleOutOfRange(text.to_string()))),
            }
        } else {
            text.parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.err_at(start, K::IntegerOutOfRange(text.to_string())))
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let start = self.i;
        self.i += 1; // opening quote
        let body = self.i;
        // Fast path: no escapes.
        loop {
            match self.peek() {
                Some(b'"') => {
                    let raw = &self.s[body..self.i];
                    self.i += 1;
                    return std::str::from_utf8(raw)
                        .map(str::to_string)
                        .map_err(|_| self.err_at(body, K::InvalidString("not valid UTF-8")));
                }
                Some(b'\\') => break,
                Some(b) if b < 0x20 => {
                    return Err(self.err(K::InvalidString("unescaped control character")))
                }
                Some(_) => self.i += 1,
                None => return Err(self.err_at(start, K::Syntax("unterminated string"))),
            }
        }
        let mut out: Vec<u8> = self.s[body..self.i].to_vec();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map_err(|_| self.err_at(body, K::InvalidString("not valid UTF-8")));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = self
                        .peek()
                        .ok_or_else(|| self.err_at(start, K::Syntax("unterminated string")))?;
                    self.i += 1;
                    match esc {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err(K::InvalidString("invalid escape"))),
                    }
                }
                Some(b) if b < 0x20 => {
                    return Err(self.err(K::InvalidString("unescaped control character")))
                }
                Some(b) => {
                    out.push(b);
                    self.i += 1;
                }
                None => return Err(self.err_at(start, K::Syntax("unterminated string"))),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let hex = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err(K::InvalidString("truncated \\u escape")))?;
        let text = std::str::from_utf8(hex)
            .map_err(|_| self.err(K::InvalidString("invalid \\u escape")))?;
        let v = u32::from_str_radix(text, 16)
            .map_err(|_| self.err(K::InvalidString("invalid \\u escape")))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err(K::InvalidString("invalid \\u escape")));
        }
        self.i += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, DecodeError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.s[self.i..].starts_with(b"\\u") {
                return Err(self.err(K::InvalidString("unpaired surrogate")));
            }
            self.i += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err(K::InvalidString("unpaired surrogate")));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err(K::InvalidString("unpaired surrogate")))
    }

    fn object(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.enter(depth)?;
        let start = self.i;
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(Object::default()));
        }
        if self.peek() != Some(b'"') {
            return Err(self.err(K::Syntax("expected a string key")));
        }
        let key_at = self.i;
        let first = self.string()?;
        self.expect(b':', "expected ':' after key")?;
        self.ws();
        if !self.plain
            && first.starts_with('@')
            && (!self.request || self.single_known_tag(&first, depth)?)
        {
            let v = self.tagged(&first, key_at, depth)?;
            self.ws();
            if self.peek() != Some(b'}') {
                return Err(self.err_at(
                    start,
                    K::MalformedTag {
                        tag: tag_name(&first),
                        reason: "a tagged value must be an object with exactly one key".into(),
                    },
                ));
            }
            self.i += 1;
            return Ok(v);
        }
        let base = self.fields.len();
        let v = self.value(depth)?;
        self.fields.push((first, v));
        self.rest_of_fields(depth)?;
        Ok(Value::Object(self.object_from(base)))
    }

    /// The object of the fields read since `base`, sized once (growing a map field by field
    /// reallocated and rehashed it three times for a typical document). A repeated key keeps
    /// its first place and takes the last value, as inserting one by one does.
    fn object_from(&mut self, base: usize) -> Object {
        let mut obj =
            Object::with_capacity_and_hasher(self.fields.len() - base, Default::default());
        obj.extend(self.fields.drain(base..));
        obj
    }

    /// In request mode: is the field at the cursor a known tag and the object's only field?
    /// Looks ahead without consuming (a linear skip over the value).
    fn single_known_tag(&mut self, key: &str, depth: usize) -> Result<bool, DecodeError> {
        if !matches!(
            key,
            "@ref" | "@ts" | "@date" | "@bytes" | "@query" | "@set" | "@obj"
        ) {
            return Ok(false);
        }
        let at = self.i;
        self.skip(depth)?;
        self.ws();
        let single = self.peek() == Some(b'}');
        self.i = at;
        Ok(single)
    }

    /// Skips one JSON value, validating its syntax and depth.
    fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        match self.peek() {
            Some(b'{') | Some(b'[') => {
                let close = if self.peek() == Some(b'{') {
                    b'}'
                } else {
                    b']'
                };
                self.enter(depth + 1)?;
                self.i += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if close == b'}' {
                        if self.peek() != Some(b'"') {
                            return Err(self.err(K::Syntax("expected a string key")));
                        }
                        self.skip_string()?;
                        self.expect(b':', "expected ':' after key")?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b) if b == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err(K::Syntax("expected ',' or a closing bracket"))),
                    }
                }
            }
            Some(b'"') => self.skip_string(),
            _ => self.value(depth).map(drop),
        }
    }

    fn skip_string(&mut self) -> Result<(), DecodeError> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => self.i += 2,
                Some(_) => self.i += 1,
                None => return Err(self.err_at(start, K::Syntax("unterminated string"))),
            }
        }
    }

    /// Reads `(, "key": value)* }` onto [`Reader::fields`], after a first field was read.
    fn rest_of_fields(&mut self, depth: usize) -> Result<(), DecodeError> {
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b',') => self.i += 1,
                _ => return Err(self.err(K::Syntax("expected ',' or '}' in object"))),
            }
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(K::Syntax("expected a string key")));
            }
            let k = self.string()?;
            self.expect(b':', "expected ':' after key")?;
            self.ws();
            let v = self.value(depth)?;
            self.fields.push((k, v));
        }
    }

    /// The value of a tag key, positioned at the value.
    fn tagged(&mut self, tag: &str, key_at: usize, depth: usize) -> Result<Value, DecodeError> {
        let malformed = |this: &Self, tag: &'static str, reason: &str| {
            this.err(K::MalformedTag {
                tag,
                reason: reason.to_string(),
            })
        };
        match tag {
            "@obj" => {
                if self.peek() != Some(b'{') {
                    return Err(malformed(self, "@obj", "expected an object"));
                }
                // The escaped object's keys are plain, even those starting with '@'.
                self.enter(depth + 1)?;
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Value::Object(Object::default()));
                }
                if self.peek() != Some(b'"') {
                    return Err(self.err(K::Syntax("expected a string key")));
                }
                let k = self.string()?;
                self.expect(b':', "expected ':' after key")?;
                self.ws();
                let base = self.fields.len();
                let v = self.value(depth + 1)?;
                self.fields.push((k, v));
                self.rest_of_fields(depth + 1)?;
                Ok(Value::Object(self.object_from(base)))
            }
            "@ref" => {
                let at = self.i;
                if self.direct_refs && !self.request {
                    if let Some(r) = self.ref_direct(depth, 0) {
                        return Ok(Value::Ref(r));
                    }
                    self.i = at;
                }
                let body = self.value(depth)?;
                self.ref_body(body, at).map(Value::Ref)
            }
            "@ts" => {
                let text = self.tag_string("@ts")?;
                Timestamp::parse(&text)
                    .map(Value::Timestamp)
                    .map_err(|e| malformed(self, "@ts", &e.to_string()))
            }
            "@date" => {
                let text = self.tag_string("@date")?;
                Date::parse(&text)
                    .map(Value::Date)
                    .map_err(|e| malformed(self, "@date", &e.to_string()))
            }
            "@bytes" => {
                let text = self.tag_string("@bytes")?;
                decode_bytes(&text)
                    .map(Value::Bytes)
                    .ok_or_else(|| malformed(self, "@bytes", "invalid base64"))
            }
            "@query" | "@set" => {
                let name = tag_name(tag);
                if self.peek() != Some(b'{') {
                    return Err(malformed(self, name, "expected an object"));
                }
                let start = self.i;
                // Validate (and bound the depth of) the opaque content by reading it. It is an
                // expression, so objects inside it are read as in a request: `{"object":
                // {"@k": 1}}` is a literal object there, not an unknown tag.
                let was_request = std::mem::replace(&mut self.request, true);
                let content = self.value(depth);
                self.request = was_request;
                content?;
                let text = minify(&self.s[start..self.i]);
                Ok(if tag == "@query" {
                    Value::Query(text)
                } else {
                    Value::Set(text)
                })
            }
            other => Err(self.err_at(key_at, K::UnknownTag(other.to_string()))),
        }
    }

    fn tag_string(&mut self, tag: &'static str) -> Result<String, DecodeError> {
        if self.peek() != Some(b'"') {
            return Err(self.err(K::MalformedTag {
                tag,
                reason: "expected a string".into(),
            }));
        }
        self.string()
    }

    /// Reads the object inside `@ref` as Fauna writes it (`"id"` first, then `"collection"`,
    /// `"class"` or `"database"`, each once, each a nested `{"@ref": …}`, keys unescaped)
    /// straight into a [`Ref`], without the generic object each level costs [`Self::ref_body`]
    /// (about half of a document's allocations). Anything else — another order, an unknown
    /// key, an error, a deep chain — gives `None`, and the caller rewinds and reads it the
    /// generic way, which decides and reports exactly as before.
    fn ref_direct(&mut self, depth: usize, level: usize) -> Option<Ref> {
        const LEVELS: usize = 6;
        if level > LEVELS || depth + 2 * LEVELS + 4 > MAX_DEPTH {
            return None;
        }
        self.ws();
        self.literal_bytes(b"{")?;
        self.ws();
        self.literal_bytes(b"\"id\"")?;
        self.ws();
        self.literal_bytes(b":")?;
        self.ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        let id = self.string().ok()?;
        let (mut collection, mut database) = (None, None);
        loop {
            self.ws();
            match self.peek()? {
                b'}' => {
                    self.i += 1;
                    return Some(Ref {
                        id,
                        collection,
                        database,
                    });
                }
                b',' => self.i += 1,
                _ => return None,
            }
            self.ws();
            let slot = if self.literal_bytes(b"\"collection\"").is_some()
                || self.literal_bytes(b"\"class\"").is_some()
            {
                &mut collection
            } else if self.literal_bytes(b"\"database\"").is_some() {
                &mut database
            } else {
                return None;
            };
            if slot.is_some() {
                return None;
            }
            self.ws();
            self.literal_bytes(b":")?;
            self.ws();
            self.literal_bytes(b"{")?;
            self.ws();
            self.literal_bytes(b"\"@ref\"")?;
            self.ws();
            self.literal_bytes(b":")?;
            let inner = self.ref_direct(depth + 2, level + 1)?;
            self.ws();
            self.literal_bytes(b"}")?;
            *slot = Some(Box::new(inner));
        }
    }

    /// Consumes `lit` if the input continues with it.
    fn literal_bytes(&mut self, lit: &[u8]) -> Option<()> {
        if self.s.get(self.i..)?.starts_with(lit) {
            self.i += lit.len();
            Some(())
        } else {
            None
        }
    }

    /// Validates the object inside `@ref`: `id` plus optional `collection`/`class` and
    /// `database`, each itself a ref.
    fn ref_body(&self, body: Value, at: usize) -> Result<Ref, DecodeError> {
        let bad = |reason: &str| {
            self.err_at(
                at,
                K::MalformedTag {
                    tag: "@ref",
                    reason: reason.to_string(),
                },
            )
        };
        let Value::Object(fields) = body else {
            return Err(bad("expected an object with an \"id\""));
        };
        let mut id = None;
        let mut collection = None;
        let mut database = None;
        for (k, v) in fields {
            match (k.as_str(), v) {
                ("id", Value::String(s)) => id = Some(s),
                ("id", _) => return Err(bad("\"id\" must be a string")),
                ("collection" | "class", Value::Ref(r)) if collection.is_none() => {
                    collection = Some(Box::new(r))
                }
                ("database", Value::Ref(r)) => database = Some(Box::new(r)),
                ("collection" | "class" | "database", _) => {
                    return Err(bad(&format!("\"{k}\" must be a single ref")))
                }
                (other, _) => return Err(bad(&format!("unexpected key \"{other}\""))),
            }
        }
        let id = id.ok_or_else(|| bad("missing \"id\""))?;
        Ok(Ref {
            id,
            collection,
            database,
        })
    }
}

fn tag_name(tag: &str) -> &'static str {
    match tag {
        "@ref" => "@ref",
        "@ts" => "@ts",
        "@date" => "@date",
        "@bytes" => "@bytes",
        "@query" => "@query",
        "@set" => "@set",
        "@obj" => "@obj",
        _ => "tag",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(input: &[u8]) -> Result<Value, DecodeError> {
        let mut r = Reader::new(input, false);
        r.direct_refs = false;
        r.document()
    }

    /// The direct reading of refs decides exactly as the generic one, on Fauna's shapes and on
    /// every variation and every cut or corruption of them.
    #[test]
    fn direct_refs_agree_with_the_generic_reading() {
        let shapes: &[&str] = &[
            r#"{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}"#,
            r#"{"@ref":{"id":"foo","class":{"@ref":{"id":"classes"}}}}"#,
            r#"{"@ref":{"id":"k","collection":{"@ref":{"id":"keys"}},"database":{"@ref":{"id":"child","collection":{"@ref":{"id":"databases"}}}}}}"#,
            r#"{"@ref":{"collection":{"@ref":{"id":"collections"}},"id":"foo"}}"#,
            r#"{"@ref":{"id":"foo","collection":{"@ref":{"id":"a"}},"class":{"@ref":{"id":"b"}}}}"#,
            r#"{"@ref":{"id":"foo","database":{"@ref":{"id":"a"}},"database":{"@ref":{"id":"b"}}}}"#,
            r#"{"@ref":{"id":"x","id":"y"}}"#,
            r#"{"@ref":{"id":1}}"#,
            r#"{"@ref":{"i\u0064":"x"}}"#,
            r#"{"@ref":{"id":"x\n\u00e9","collection":{"@ref":{"id":"c"},"extra":1}}}"#,
            r#"{"@ref":{"id":"x","collection":"c"}}"#,
            r#"{"@ref":{"id":"x","other":{"@ref":{"id":"c"}}}}"#,
            r#"{"@ref":"x"}"#,
            r#"[{"@ref":{"id":"x"}},{"@ref":{ "id" : "y" , "collection" : { "@ref" : { "id" : "z" } } }}]"#,
        ];
        for shape in shapes {
            let bytes = shape.as_bytes();
            assert_eq!(decode(bytes), generic(bytes), "{shape}");
            for cut in 0..bytes.len() {
                assert_eq!(
                    decode(&bytes[..cut]),
                    generic(&bytes[..cut]),
                    "{shape} cut at {cut}"
                );
                for byte in [b'"', b'{', b'}', b',', b':', b' ', b'x', b'\\'] {
                    let mut changed = bytes.to_vec();
                    changed[cut] = byte;
                    assert_eq!(decode(&changed), generic(&changed), "{shape} byte {cut}");
                }
            }
        }
        let mut deep = String::from(r#"{"id":"0"}"#);
        for i in 1..=MAX_DEPTH {
            deep = format!(r#"{{"id":"{i}","collection":{{"@ref":{deep}}}}}"#);
            let wire = format!(r#"{{"@ref":{deep}}}"#);
            assert_eq!(
                decode(wire.as_bytes()),
                generic(wire.as_bytes()),
                "depth {i}"
            );
        }
    }
}
