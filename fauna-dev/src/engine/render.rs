//! Rendering of runtime values in the response form, straight into one `String`.
//! `legacy` renders refs the API 2.0/2.1 way (`class`, `classes`).

use fauna_wire::{encode_into, write_str, Ref, Value};

use super::val::{SetV, Val};

/// Appends the response form of `v`.
pub fn render(out: &mut String, v: &Val, legacy: bool) {
    match v {
        Val::V(x) => value(out, x, legacy),
        Val::Arr(a) => {
            out.push('[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                render(out, x, legacy);
            }
            out.push(']');
        }
        Val::Obj(o) => {
            let esc = o.iter().any(|(k, _)| k.starts_with('@'));
            if esc {
                out.push_str(r#"{"@obj":"#);
            }
            out.push('{');
            for (n, (k, x)) in o.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                render(out, x, legacy);
            }
            out.push('}');
            if esc {
                out.push('}');
            }
        }
        Val::Doc(d) => {
            out.push_str(r#"{"ref":"#);
            write_ref(out, &d.r, legacy);
            out.push_str(r#","ts":"#);
            out.push_str(itoa::Buffer::new().format(d.v.ts));
            match d.v.wire_fields().filter(|_| !legacy) {
                // Stored in exactly this form: copied.
                Some(text) => {
                    if !text.is_empty() {
                        out.push(',');
                        out.push_str(text);
                    }
                }
                None => {
                    for (k, x) in d.v.fields().iter() {
                        out.push(',');
                        write_str(out, k);
                        out.push(':');
                        value(out, x, legacy);
                    }
                }
            }
            out.push('}');
        }
        Val::Page(p) => {
            out.push('{');
            let mut first = true;
            for (k, c) in [("before", &p.before), ("after", &p.after)] {
                if let Some(c) = c {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    write_str(out, k);
                    out.push(':');
                    render(out, c, legacy);
                }
            }
            if !first {
                out.push(',');
            }
            out.push_str(r#""data":["#);
            for (n, x) in p.data.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                render(out, x, legacy);
            }
            out.push_str("]}");
        }
        Val::Set(s) => set(out, s, legacy),
        Val::Lambda(l) => {
            out.push_str(r#"{"@query":"#);
            out.push_str(&l.raw);
            out.push('}');
        }
    }
}

/// A cheap estimate of the rendered length, so a page's body is allocated once instead of
/// growing by doubling (documents stored as text: their exact text plus room for ref and ts).
pub fn size_hint(v: &Val) -> usize {
    const SMALL: usize = 128;
    match v {
        Val::Doc(d) => SMALL + d.v.wire_fields().map_or(SMALL, str::len),
        Val::Page(p) => SMALL + p.data.iter().map(size_hint).sum::<usize>(),
        Val::Arr(a) => 2 + a.iter().map(size_hint).sum::<usize>(),
        Val::V(Value::Ref(_)) => SMALL,
        _ => 16,
    }
}

fn set(out: &mut String, s: &SetV, legacy: bool) {
    match s {
        SetV::Doc(r) => return write_ref(out, r, legacy),
        SetV::Native(n) => return write_ref(out, &Ref::native(n), legacy),
        SetV::Scoped(_, inner) => return set(out, inner, legacy),
        _ => {}
    }
    out.push_str(r#"{"@set":"#);
    set_body(out, s, legacy);
    out.push('}');
}

fn set_body(out: &mut String, s: &SetV, legacy: bool) {
    match s {
        SetV::Documents(c) => {
            out.push_str(r#"{"documents":"#);
            write_ref(out, &Ref::collection(c), legacy);
            out.push('}');
        }
        SetV::Match { index, raw, .. } => {
            out.push_str(r#"{"match":"#);
            write_ref(out, &Ref::index(index), legacy);
            if let Some(t) = raw {
                out.push_str(r#","terms":"#);
                value(out, t, legacy);
            }
            out.push('}');
        }
        SetV::Range {
            set: inner, raw, ..
        } => {
            out.push_str(r#"{"range":"#);
            set(out, inner, legacy);
            for (k, b) in [("from", &raw.0), ("to", &raw.1)] {
                if !matches!(b, Value::Array(a) if a.is_empty()) {
                    out.push(',');
                    write_str(out, k);
                    out.push(':');
                    value(out, b, legacy);
                }
            }
            out.push('}');
        }
        SetV::Events(inner) => {
            out.push_str(r#"{"events":"#);
            match &**inner {
                SetV::Doc(r) => write_ref(out, r, legacy),
                other => set_body(out, other, legacy),
            }
            out.push('}');
        }
        SetV::Filter {
            set: inner, lambda, ..
        } => {
            // Like the server, the lambda is rendered as an expression, not a `@query`.
            out.push_str(r#"{"filter":"#);
            if let Val::Lambda(l) = lambda {
                out.push('{');
                out.push_str(
                    l.raw
                        .strip_prefix(r#"{"api_version":"4","#)
                        .unwrap_or(&l.raw),
                );
            }
            out.push_str(r#","collection":"#);
            set(out, inner, legacy);
            out.push('}');
        }
        SetV::Singleton(r) => {
            out.push_str(r#"{"singleton":"#);
            write_ref(out, r, legacy);
            out.push('}');
        }
        SetV::Doc(r) => write_ref(out, r, legacy),
        SetV::Native(n) => write_ref(out, &Ref::native(n), legacy),
        SetV::Scoped(_, inner) => set_body(out, inner, legacy),
    }
}

/// Appends a plain value.
pub fn value(out: &mut String, v: &Value, legacy: bool) {
    if legacy {
        fauna_wire::encode_legacy_into(out, v);
    } else {
        encode_into(out, v);
    }
}

/// Appends a ref.
pub fn write_ref(out: &mut String, r: &Ref, legacy: bool) {
    if legacy {
        fauna_wire::encode_ref_legacy(out, r);
    } else {
        fauna_wire::encode_ref(out, r);
    }
}
