//! Pages of whole documents (`{"data": [document…], "after": …}`, what mapping `Get` over a
//! page gives) made into records straight from the response bytes: each document's `ref`, `ts`
//! and other fields are decoded on their own, and its `data` object is transcoded to export
//! JSON ([`ExportJson::transcode_at`]) without ever becoming a [`Value`] tree. A response of any
//! other shape — or one the direct reading cannot vouch for, such as a repeated key — is
//! decoded whole and read the generic way, which also reports what is wrong with it.

use super::page::page_parts;
use super::paged::{paced_query, PagedBody, PagedStream};
use super::ReadError;
use crate::config::CollectionSettings;
use crate::export::{document_record, plain_string_end, ttl_micros, ExportJson, Record};
use crate::fauna::{decode_at, Expr, FaunaClient, FaunaError, ResponseBody, Value};

/// The records of one page of documents and the next page's cursor. Collections with
/// additional columns (which select values inside `data`) or without the `data` column are
/// read through the tree.
pub async fn document_records(
    client: &FaunaClient,
    stream: PagedStream<'_>,
    at: Option<i64>,
    settings: &CollectionSettings,
    build: impl Fn(i64) -> Expr,
) -> Result<(Vec<Record>, Option<Value>), ReadError> {
    let tree = if settings.data_column && settings.columns.is_empty() {
        let page = match settings.typed {
            true => paced_query::<WirePage>(client, stream, at, build).await?.0,
            false => paced_query::<DocumentPage>(client, stream, at, build).await?,
        };
        match page {
            DocumentPage::Read { docs, after } => {
                return Ok((docs.into_iter().map(Record::from).collect(), after));
            }
            DocumentPage::Tree(v) => v,
        }
    } else {
        paced_query::<Value>(client, stream, at, build).await?
    };
    let (docs, after) = page_parts(&settings.name, tree)?;
    let records = docs
        .into_iter()
        .map(|doc| document_record(doc, settings))
        .collect::<Result<_, _>>()?;
    Ok((records, after))
}

/// A page response, read directly when it has the expected shape.
#[derive(Debug, PartialEq)]
pub enum DocumentPage {
    /// The documents and the `after` cursor, read directly.
    Read {
        /// The documents, in page order.
        docs: Vec<DocumentParts>,
        /// The next page's cursor.
        after: Option<Value>,
    },
    /// The `resource`, decoded whole.
    Tree(Value),
}

/// What a record takes from one document.
#[derive(Debug, PartialEq)]
pub struct DocumentParts {
    /// The id of the document's ref.
    pub id: String,
    /// The version's `ts`.
    pub ts: i64,
    /// The export JSON of `data`, if the document has it.
    pub data: Option<ExportJson>,
    /// The document's `ttl` in microseconds, if it has one ([`ttl_micros`]).
    pub ttl: Option<i64>,
}

impl From<DocumentParts> for Record {
    /// The record of a document of a collection without additional columns.
    fn from(d: DocumentParts) -> Self {
        Record {
            id: d.id,
            ts: d.ts,
            data: d.data,
            columns: Vec::new(),
            deletion: None,
            ttl: d.ttl,
        }
    }
}

impl ResponseBody for DocumentPage {
    fn read(body: &[u8], status: u16) -> Result<Self, FaunaError> {
        match read_direct(body, false) {
            Some((docs, after)) => Ok(DocumentPage::Read { docs, after }),
            None => Value::read(body, status).map(DocumentPage::Tree),
        }
    }
}

/// A [`DocumentPage`] whose documents' `data` keep their wire JSON beside the export JSON
/// ([`ExportJson::with_wire`]), for typed columns.
#[derive(Debug, PartialEq)]
pub struct WirePage(pub DocumentPage);

impl ResponseBody for WirePage {
    fn read(body: &[u8], status: u16) -> Result<Self, FaunaError> {
        match read_direct(body, true) {
            Some((docs, after)) => Ok(WirePage(DocumentPage::Read { docs, after })),
            None => Value::read(body, status).map(|v| WirePage(DocumentPage::Tree(v))),
        }
    }
}

impl PagedBody for WirePage {
    fn items(&self) -> usize {
        self.0.items()
    }
}

impl PagedBody for DocumentPage {
    fn items(&self) -> usize {
        match self {
            DocumentPage::Read { docs, .. } => docs.len(),
            DocumentPage::Tree(v) => v.items(),
        }
    }
}

/// `{"resource": {"data": [document…], "after"?: …, "before"?: …}}`, or `None`.
fn read_direct(body: &[u8], keep_wire: bool) -> Option<(Vec<DocumentParts>, Option<Value>)> {
    let mut c = Cursor {
        s: body,
        i: 0,
        scratch: Vec::with_capacity(4096),
        keep_wire,
    };
    c.ws();
    c.open(b'{')?;
    if c.key()? != b"resource" {
        return None;
    }
    c.open(b'{')?;
    let (mut docs, mut after) = (None, None);
    loop {
        // A repeated `data` or `after` (the tree keeps the last) is left to the tree.
        match c.key()? {
            b"data" if docs.is_none() => docs = Some(c.documents()?),
            b"after" if after.is_none() => after = Some(c.value(2)?),
            b"before" => drop(c.value(2)?),
            _ => return None,
        }
        if !c.next_field()? {
            break;
        }
    }
    if !c.next_field()? {
        c.ws();
        if c.i == body.len() {
            return Some((docs?, after));
        }
    }
    None
}

/// A position in the response; every method returns `None` where the shape is not the
/// expected one.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
    /// Working space of [`ExportJson::transcode_at`].
    scratch: Vec<u8>,
    /// Whether `data` keeps its wire JSON ([`WirePage`]).
    keep_wire: bool,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn open(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&b)).then(|| self.i += 1)
    }

    /// An unescaped key (valid UTF-8, as the tree requires) and its colon; the cursor is left
    /// at the value.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let end = plain_string_end(self.s, self.i)?;
        let key = &self.s[self.i + 1..end - 1];
        self.i = end;
        self.open(b':')?;
        self.ws();
        Some(key)
    }

    /// After a field: `true` on `,` (another follows), `false` on `}` (the object ended).
    fn next_field(&mut self) -> Option<bool> {
        self.ws();
        let more = match self.s.get(self.i)? {
            b',' => true,
            b'}' => false,
            _ => return None,
        };
        self.i += 1;
        Some(more)
    }

    /// The value at the cursor, `depth` deep.
    fn value(&mut self, depth: usize) -> Option<Value> {
        let (v, end) = decode_at(self.s, self.i, depth).ok()?;
        self.i = end;
        Some(v)
    }

    /// The page's `data` array of documents.
    fn documents(&mut self) -> Option<Vec<DocumentParts>> {
        self.open(b'[')?;
        let mut docs = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(docs);
        }
        loop {
            docs.push(self.document()?);
            self.ws();
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(docs);
                }
                _ => return None,
            }
        }
    }

    /// One document: `ref` (any ref) and `ts` (an integer) required, `data` transcoded, `ttl`
    /// read as the tree reads it ([`ttl_micros`]), other fields read and left.
    fn document(&mut self) -> Option<DocumentParts> {
        const DEPTH: usize = 4;
        self.open(b'{')?;
        let (mut id, mut ts, mut data, mut ttl) = (None, None, None, None);
        loop {
            // A tagged value, or a repeated `ref`, `ts`, `data` or `ttl` (the tree keeps the
            // last), is left to the tree; another repeated field is read and left either way.
            match self.key()? {
                [b'@', ..] => return None,
                b"ref" if id.is_none() => match self.value(DEPTH)? {
                    Value::Ref(r) => id = Some(r.id),
                    _ => return None,
                },
                b"ts" if ts.is_none() => match self.value(DEPTH)? {
                    Value::Int(t) => ts = Some(t),
                    _ => return None,
                },
                b"data" if data.is_none() => {
                    let (json, end) =
                        ExportJson::transcode_at(self.s, self.i, DEPTH, &mut self.scratch).ok()?;
                    let json = match self.keep_wire {
                        true => json.with_wire(self.s.get(self.i..end)?.into()),
                        false => json,
                    };
                    self.i = end;
                    data = Some(json);
                }
                b"ttl" if ttl.is_none() => ttl = Some(ttl_micros(&self.value(DEPTH)?)),
                b"ref" | b"ts" | b"data" | b"ttl" => return None,
                _ => drop(self.value(DEPTH)?),
            }
            if !self.next_field()? {
                break;
            }
        }
        Some(DocumentParts {
            id: id?,
            ts: ts?,
            data,
            ttl: ttl.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CollectionSettings;
    use crate::fauna::decode;

    const FOO: &str = r#"{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}"#;

    fn doc(id: &str, ts: i64, data: &str) -> String {
        format!(
            r#"{{"ref":{{"@ref":{{"id":"{id}","collection":{FOO}}}}},"ts":{ts},"data":{data}}}"#
        )
    }

    fn settings() -> CollectionSettings {
        CollectionSettings::named("foo")
    }

    /// The records the tree reading makes of `body` (a whole response), and its cursor.
    fn by_tree(body: &str) -> (Vec<Record>, Option<Value>) {
        let resource = Value::read(body.as_bytes(), 200).unwrap();
        let (docs, after) = page_parts("foo", resource).unwrap();
        let records = docs
            .into_iter()
            .map(|d| document_record(d, &settings()).unwrap())
            .collect();
        (records, after)
    }

    fn direct(body: &str) -> Option<(Vec<Record>, Option<Value>)> {
        let (docs, after) = read_direct(body.as_bytes(), false)?;
        Some((docs.into_iter().map(Record::from).collect(), after))
    }

    #[test]
    fn a_page_of_documents_reads_as_the_tree_reads_it() {
        let data = r#"{"n":1.5,"s":"x\"y","at":{"@ts":"2022-07-18T23:58:03.585Z"},"o":{"@obj":{"@a":[1,{"b":null}]}},"r":{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}}}"#;
        let after = format!(r#"[{{"@ref":{{"id":"3","collection":{FOO}}}}}]"#);
        let body = format!(
            r#"{{"resource":{{"data":[{},{}, {{"ts":9,"ttl":{{"@ts":"2030-01-01T00:00:00Z"}},"ref":{{"@ref":{{"id":"2","collection":{FOO}}}}}}}],"after":{after}}}}}"#,
            doc("1", 5, data),
            doc("10", 6, "{}"),
        );
        let read = direct(&body).expect("read directly");
        assert_eq!(read, by_tree(&body));
        assert_eq!(read.0.len(), 3);
        assert_eq!(read.0[2].data, None);
        // The ttl (2030-01-01) is carried, never written; the others have none.
        assert_eq!(read.0[2].ttl, Some(1_893_456_000_000_000));
        assert_eq!((read.0[0].ttl, read.0[1].ttl), (None, None));
        // A ttl that is not a time is none, either way.
        let odd = format!(
            r#"{{"resource":{{"data":[{{"ttl":5,"ts":9,"ref":{{"@ref":{{"id":"2","collection":{FOO}}}}}}}]}}}}"#
        );
        assert_eq!(direct(&odd), Some(by_tree(&odd)));
        assert_eq!(by_tree(&odd).0[0].ttl, None);
        let empty = r#" { "resource" : { "before" : null , "data" : [ ] } } "#;
        assert_eq!(direct(empty), Some((vec![], None)));
    }

    #[test]
    fn other_shapes_are_left_to_the_tree() {
        let one = doc("1", 5, "{}");
        for body in [
            format!(r#"{{"resource":{{"data":[{one}],"data":[]}}}}"#),
            format!(r#"{{"resource":{{"data":[{one}]}},"txn":1}}"#),
            format!(r#"{{"resource":{{"data":[{one}],"other":1}}}}"#),
            format!(r#"{{"resource":{{"data":[{one}]}}}} x"#),
            r#"{"resource":{"data":[{"ref":1,"ts":5}]}}"#.to_string(),
            r#"{"resource":{"data":[{"ts":5}]}}"#.to_string(),
            r#"{"resource":{"data":[{"@ref":{"id":"x"}}]}}"#.to_string(),
            r#"{"resource":{"data":[{"ref":{"@ref":{"id":"x"}},"ts":5,"ts":6}]}}"#.to_string(),
            r#"{"resource":{"data":[{"ref":{"@ref":{"id":"x"}},"ts":5,"ttl":null,"ttl":null}]}}"#
                .to_string(),
            r#"{"resource":{"data":[{"ref":{"@ref":{"id":"x"}},"ts":5,"data":{"a":}}]}}"#
                .to_string(),
            r#"{"errors":[]}"#.to_string(),
            r#"{"resource":[1]}"#.to_string(),
        ] {
            assert_eq!(direct(&body), None, "{body}");
        }
    }

    #[test]
    fn a_key_that_is_not_utf8_is_left_to_the_tree() {
        // Found by fuzzing (`fuzz/seeds/document_page/key_not_utf8.json`): the tree rejects it.
        let body = b"{\"resource\":{\"data\":[{\"ref\":{\"@ref\":{\"id\":\"x\"}},\"ts\":0,\"\xffdata\":1}]}}";
        assert_eq!(read_direct(body, false), None);
        assert!(DocumentPage::read(body, 200).is_err());
    }

    #[test]
    fn a_page_read_either_way_reports_the_same_through_the_response_body() {
        let body = format!(
            r#"{{"resource":{{"data":[{}]}}}}"#,
            doc("1", 5, r#"{"a":1}"#)
        );
        let page = DocumentPage::read(body.as_bytes(), 200).unwrap();
        assert!(matches!(&page, DocumentPage::Read { docs, after: None } if docs.len() == 1));
        assert_eq!(page.items(), 1);
        let odd = r#"{"resource":{"data":[1,2]},"txn":1}"#;
        let page = DocumentPage::read(odd.as_bytes(), 200).unwrap();
        assert_eq!(
            page,
            DocumentPage::Tree(decode(br#"{"data":[1,2]}"#).unwrap())
        );
        assert_eq!(page.items(), 2);
        assert!(DocumentPage::read(b"{\"errors\":[]}", 200).is_err());
    }
}
