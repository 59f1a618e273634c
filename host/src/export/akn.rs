//! The Akoma Ntoso 3.0 writer (quick-xml's `Writer`; every text and
//! attribute value goes through its escaping). See docs/EXPORT.md.
//!
//! Text is written verbatim, one `<p>` per unit; the only addition to
//! quick-xml's escaping is CR, written as the character reference `&#13;`,
//! because an XML parser turns a literal CR into LF and the text's sha256
//! would no longer match.

use super::{Export, Kind, Unit, check_units, forbidden_char};
use crate::stop::{Stop, StopCode};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::borrow::Cow;

/// The Akoma Ntoso 3.0 namespace.
pub const NS: &str = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0";
/// The `source` of the identification block and the manifestation's author.
pub const SOURCE: &str = "phasehost";
/// The work's and expression's author: the store does not record who
/// issued a document, so the reference says so.
pub const ISSUER: &str = "issuer";

type W = Writer<Vec<u8>>;

fn io_failed(e: std::io::Error) -> Stop {
    Stop::new(
        StopCode::Internal,
        format!("cannot write the XML in memory: {e}"),
    )
}

/// The escaped form of a text: quick-xml's escaping, plus CR as `&#13;`.
fn escaped(text: &str) -> Cow<'_, str> {
    let escaped = quick_xml::escape::escape(text);
    if escaped.contains('\r') {
        Cow::Owned(escaped.replace('\r', "&#13;"))
    } else {
        escaped
    }
}

fn start(w: &mut W, name: &str, attrs: &[(&str, &str)]) -> Result<(), Stop> {
    let mut e = BytesStart::new(name);
    for (k, v) in attrs {
        e.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(e)).map_err(io_failed)
}

fn end(w: &mut W, name: &str) -> Result<(), Stop> {
    w.write_event(Event::End(BytesEnd::new(name)))
        .map_err(io_failed)
}

fn empty(w: &mut W, name: &str, attrs: &[(&str, &str)]) -> Result<(), Stop> {
    let mut e = BytesStart::new(name);
    for (k, v) in attrs {
        e.push_attribute((*k, *v));
    }
    w.write_event(Event::Empty(e)).map_err(io_failed)
}

/// `<name>text</name>`, the text written even when empty (so the writer's
/// indentation never lands inside the element).
fn text_element(w: &mut W, name: &str, text: &str) -> Result<(), Stop> {
    start(w, name, &[])?;
    w.write_event(Event::Text(BytesText::from_escaped(escaped(text))))
        .map_err(io_failed)?;
    end(w, name)
}

/// An attribute value must be free of characters XML cannot carry and of
/// whitespace other than the space (a parser normalises tab, CR and LF in
/// attributes to spaces).
fn check_attribute(what: &str, value: &str) -> Result<(), Stop> {
    if forbidden_char(value).is_some() || value.contains(['\t', '\r', '\n']) {
        return Err(Stop::new(
            StopCode::ExportRefused,
            format!("{what} holds a control character, which an XML attribute cannot carry"),
        ));
    }
    Ok(())
}

/// Renders `export` as an Akoma Ntoso 3.0 document (UTF-8, indented).
pub fn write(export: &Export) -> Result<Vec<u8>, Stop> {
    check_units(&export.units)?;
    check_attribute("the document's title", &export.title)?;
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io_failed)?;
    start(&mut w, "akomaNtoso", &[("xmlns", NS)])?;
    start(&mut w, "act", &[("name", &export.document_id)])?;
    meta(&mut w, export)?;
    let units = &export.units;
    let mut i = 0;
    if let Some(u) = units.first().filter(|u| u.kind == Kind::Preamble) {
        block(&mut w, u)?;
        i = 1;
    }
    start(&mut w, "body", &[])?;
    while i < units.len() && units[i].kind.in_body() {
        i = hierarchy(&mut w, units, i)?;
    }
    end(&mut w, "body")?;
    if let Some(u) = units.get(i) {
        block(&mut w, u)?;
    }
    end(&mut w, "act")?;
    end(&mut w, "akomaNtoso")?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn meta(w: &mut W, export: &Export) -> Result<(), Stop> {
    let f = &export.frbr;
    let source = format!("#{SOURCE}");
    let issuer = format!("#{ISSUER}");
    start(w, "meta", &[])?;
    start(w, "identification", &[("source", &source)])?;

    start(w, "FRBRWork", &[])?;
    empty(w, "FRBRthis", &[("value", &f.work_this)])?;
    empty(w, "FRBRuri", &[("value", &f.work_uri)])?;
    empty(w, "FRBRdate", &[("date", &f.date), ("name", "work")])?;
    empty(w, "FRBRauthor", &[("href", &issuer)])?;
    empty(w, "FRBRcountry", &[("value", &f.country)])?;
    empty(w, "FRBRnumber", &[("value", &export.document_id)])?;
    if !export.title.is_empty() {
        empty(w, "FRBRname", &[("value", &export.title)])?;
    }
    end(w, "FRBRWork")?;

    start(w, "FRBRExpression", &[])?;
    empty(w, "FRBRthis", &[("value", &f.expression_this)])?;
    empty(w, "FRBRuri", &[("value", &f.expression_uri)])?;
    empty(w, "FRBRdate", &[("date", &f.date), ("name", "work")])?;
    empty(w, "FRBRauthor", &[("href", &issuer)])?;
    empty(w, "FRBRversionNumber", &[("value", &export.version)])?;
    empty(w, "FRBRlanguage", &[("language", &f.language)])?;
    end(w, "FRBRExpression")?;

    start(w, "FRBRManifestation", &[])?;
    empty(w, "FRBRthis", &[("value", &f.manifestation_this)])?;
    empty(w, "FRBRuri", &[("value", &f.manifestation_uri)])?;
    empty(w, "FRBRdate", &[("date", &f.date), ("name", "work")])?;
    empty(w, "FRBRauthor", &[("href", &source)])?;
    end(w, "FRBRManifestation")?;

    end(w, "identification")?;
    start(w, "references", &[("source", &source)])?;
    empty(
        w,
        "TLCOrganization",
        &[
            ("eId", SOURCE),
            ("href", "/ontology/organization/phasehost"),
            ("showAs", "phasehost"),
        ],
    )?;
    empty(
        w,
        "TLCOrganization",
        &[
            ("eId", ISSUER),
            ("href", "/ontology/organization/vn/issuer"),
            ("showAs", "issuer (not recorded in the store)"),
        ],
    )?;
    end(w, "references")?;
    end(w, "meta")
}

/// `<preamble>` or `<conclusions>`: the unit's text in one `<p>`.
fn block(w: &mut W, u: &Unit) -> Result<(), Stop> {
    let name = u.kind.element();
    start(w, name, &[("eId", &u.eid), ("wId", &u.wid)])?;
    text_element(w, "p", &u.text)?;
    end(w, name)
}

/// Writes `units[i]` and every unit it encloses; returns the index of the
/// next unit that it does not enclose.
fn hierarchy(w: &mut W, units: &[Unit], i: usize) -> Result<usize, Stop> {
    let u = &units[i];
    let name = u.kind.element();
    start(w, name, &[("eId", &u.eid), ("wId", &u.wid)])?;
    if !u.number.is_empty() {
        text_element(w, "num", &u.number)?;
    }
    if !u.heading.is_empty() {
        text_element(w, "heading", &u.heading)?;
    }
    let encloses = |j: usize| {
        units
            .get(j)
            .is_some_and(|c| c.kind.in_body() && c.parent_eid.as_deref() == Some(u.eid.as_str()))
    };
    let mut next = i + 1;
    if encloses(next) {
        // The unit's own text comes before its first child: <intro>.
        if !u.text.is_empty() {
            start(w, "intro", &[])?;
            text_element(w, "p", &u.text)?;
            end(w, "intro")?;
        }
        while encloses(next) {
            next = hierarchy(w, units, next)?;
        }
    } else {
        start(w, "content", &[])?;
        text_element(w, "p", &u.text)?;
        end(w, "content")?;
    }
    end(w, name)?;
    Ok(next)
}
