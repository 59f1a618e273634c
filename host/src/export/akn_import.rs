//! Reading an Akoma Ntoso export back (quick-xml's `Reader`): the units
//! and identifiers [`super::akn::write`] put in it. The reader knows only
//! the subset phasehost writes (docs/EXPORT.md) and refuses anything else,
//! so a file it accepts maps back to units one for one. It takes a file
//! as untrusted: the result is checked like the store's rows
//! ([`super::check_units`]); `text_sha` is recomputed from the text.

use super::akn::NS;
use super::{Export, Frbr, Kind, Unit, check_units, sha256_hex};
use crate::stop::{Stop, StopCode};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::collections::BTreeMap;

fn bad(message: impl Into<String>) -> Stop {
    Stop::new(
        StopCode::ExportRefused,
        format!("not a phasehost Akoma Ntoso export: {}", message.into()),
    )
}

/// Where text goes while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Num,
    Heading,
    Text,
}

/// The attributes of an element, unescaped and normalised as XML says.
fn attributes(e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, Stop> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| bad(format!("an attribute: {e}")))?;
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(XmlVersion::Explicit1_0)
            .map_err(|e| bad(format!("attribute {key}: {e}")))?
            .into_owned();
        out.insert(key, value);
    }
    Ok(out)
}

fn take(attrs: &mut BTreeMap<String, String>, key: &str, element: &str) -> Result<String, Stop> {
    attrs
        .remove(key)
        .ok_or_else(|| bad(format!("<{element}> has no {key}")))
}

/// Parses an export written by [`super::akn::write`] back into the
/// [`Export`] it was made from.
pub fn import(xml: &str) -> Result<Export, Stop> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().enable_all_checks(true);
    reader.config_mut().expand_empty_elements = false;
    let mut path: Vec<String> = Vec::new();
    // Index (in `units`) of each open unit element, parallel to `path`.
    let mut unit_at: Vec<Option<usize>> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut document_id = None;
    let mut frbr: BTreeMap<String, String> = BTreeMap::new();
    let mut title = String::new();
    let mut version = None;
    let mut slot: Option<(Slot, usize)> = None;
    let mut buffer = String::new();
    let mut root_seen = false;
    // (unit, slot) pairs already read: each may occur once.
    let mut filled: std::collections::BTreeSet<(usize, u8)> = Default::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("at byte {}: {e}", reader.error_position())))?;
        let (e, is_empty) = match event {
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) => continue,
            Event::PI(_) | Event::DocType(_) => {
                return Err(bad("a processing instruction or DOCTYPE"));
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                if slot.is_some() {
                    buffer.push_str(&text);
                } else if !text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
                    return Err(bad(format!(
                        "text outside <num>, <heading> or <p> (in <{}>)",
                        path.last().map_or("", String::as_str)
                    )));
                }
                continue;
            }
            Event::CData(t) => {
                if slot.is_none() {
                    return Err(bad("CDATA outside <num>, <heading> or <p>"));
                }
                buffer.push_str(&t.xml10_content());
                continue;
            }
            Event::GeneralRef(r) => {
                if slot.is_none() {
                    return Err(bad("a reference outside <num>, <heading> or <p>"));
                }
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(bad(format!("unknown entity &{other};"))),
                    },
                    Err(e) => return Err(bad(format!("a character reference: {e}"))),
                };
                buffer.push(c);
                continue;
            }
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                if let Some((s, index)) = slot
                    && matches!(
                        (s, name.as_str()),
                        (Slot::Num, "num") | (Slot::Heading, "heading") | (Slot::Text, "p")
                    )
                {
                    let unit = &mut units[index];
                    let field = match s {
                        Slot::Num => &mut unit.number,
                        Slot::Heading => &mut unit.heading,
                        Slot::Text => &mut unit.text,
                    };
                    *field = std::mem::take(&mut buffer);
                    slot = None;
                }
                path.pop();
                unit_at.pop();
                continue;
            }
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
        };
        let name = e.name().as_ref().to_string();
        if slot.is_some() {
            return Err(bad(format!("element <{name}> inside text")));
        }
        let mut attrs = attributes(&e)?;
        let parent = path.last().map_or("", String::as_str);
        let grandparent = path
            .len()
            .checked_sub(2)
            .and_then(|i| path.get(i))
            .map_or("", String::as_str);
        let enclosing = unit_at.iter().rev().find_map(|u| *u);
        let mut opened_unit = None;
        match (parent, name.as_str()) {
            ("", "akomaNtoso") if !root_seen => {
                root_seen = true;
                if take(&mut attrs, "xmlns", "akomaNtoso")? != NS {
                    return Err(bad("the namespace is not Akoma Ntoso 3.0"));
                }
            }
            ("akomaNtoso", "act") => {
                document_id = Some(take(&mut attrs, "name", "act")?);
            }
            ("act", "meta" | "body")
            | ("meta", "identification" | "references")
            | ("identification", "FRBRWork" | "FRBRExpression" | "FRBRManifestation") => {
                attrs.remove("source");
            }
            ("references", "TLCOrganization") => attrs.clear(),
            (
                "FRBRWork" | "FRBRExpression" | "FRBRManifestation",
                "FRBRthis" | "FRBRuri" | "FRBRdate" | "FRBRauthor" | "FRBRcountry" | "FRBRnumber"
                | "FRBRname" | "FRBRversionNumber" | "FRBRlanguage",
            ) => {
                let level = parent.trim_start_matches("FRBR").to_ascii_lowercase();
                let value = match name.as_str() {
                    "FRBRdate" => {
                        attrs.remove("name");
                        take(&mut attrs, "date", &name)?
                    }
                    "FRBRauthor" => take(&mut attrs, "href", &name)?,
                    "FRBRlanguage" => take(&mut attrs, "language", &name)?,
                    _ => take(&mut attrs, "value", &name)?,
                };
                match name.as_str() {
                    "FRBRname" => title = value,
                    "FRBRversionNumber" => version = Some(value),
                    "FRBRauthor" | "FRBRnumber" => {}
                    other => {
                        let key = format!("{level}.{}", &other[4..]);
                        if frbr.insert(key.clone(), value).is_some() {
                            return Err(bad(format!("{key} twice")));
                        }
                    }
                }
            }
            ("act", "preamble" | "conclusions") => {
                opened_unit = Some(Kind::from_element(&name).expect("a kind"));
            }
            (p, element)
                if (p == "body" || Kind::from_element(p).is_some_and(Kind::in_body))
                    && Kind::from_element(element).is_some_and(Kind::in_body) =>
            {
                opened_unit = Some(Kind::from_element(element).expect("a kind"));
            }
            (p, "num" | "heading") if Kind::from_element(p).is_some_and(Kind::in_body) => {
                let index = enclosing.expect("inside a unit");
                let s = if name == "num" {
                    Slot::Num
                } else {
                    Slot::Heading
                };
                slot = Some((s, index));
            }
            (p, "intro" | "content") if Kind::from_element(p).is_some_and(Kind::in_body) => {}
            ("intro" | "content", "p")
                if Kind::from_element(grandparent).is_some_and(Kind::in_body) =>
            {
                slot = Some((Slot::Text, enclosing.expect("inside a unit")));
            }
            ("preamble" | "conclusions", "p") => {
                slot = Some((Slot::Text, enclosing.expect("inside a unit")));
            }
            _ => {
                return Err(bad(format!(
                    "unexpected <{name}> in <{}>",
                    if parent.is_empty() {
                        "document"
                    } else {
                        parent
                    }
                )));
            }
        }
        if let Some(kind) = opened_unit {
            let eid = take(&mut attrs, "eId", &name)?;
            let wid = take(&mut attrs, "wId", &name)?;
            units.push(Unit {
                eid,
                wid,
                parent_eid: if kind.in_body() {
                    enclosing.map(|i| units[i].eid.clone())
                } else {
                    None
                },
                kind,
                number: String::new(),
                heading: String::new(),
                text: String::new(),
                text_sha: String::new(),
            });
        }
        if let Some(extra) = attrs.keys().next() {
            return Err(bad(format!("<{name}> has an unexpected attribute {extra}")));
        }
        if let Some((s, index)) = slot {
            if !filled.insert((index, s as u8)) {
                return Err(bad(format!(
                    "a second <{name}> in unit {}",
                    units[index].eid.escape_debug()
                )));
            }
            // A text element that is empty in the file.
            if is_empty {
                let unit = &mut units[index];
                match s {
                    Slot::Num => unit.number.clear(),
                    Slot::Heading => unit.heading.clear(),
                    Slot::Text => unit.text.clear(),
                }
                slot = None;
            } else {
                buffer.clear();
            }
        }
        if !is_empty {
            path.push(name);
            unit_at.push(opened_unit.map(|_| units.len() - 1));
        }
    }
    if !root_seen || !path.is_empty() {
        return Err(bad("no complete <akomaNtoso> document"));
    }
    let document_id = document_id.ok_or_else(|| bad("no <act name=…>"))?;
    let version = version.ok_or_else(|| bad("no FRBRversionNumber"))?;
    let mut frbr_map = frbr;
    let mut get = |key: &str| frbr_map.remove(key).ok_or_else(|| bad(format!("no {key}")));
    let date = get("work.date")?;
    for level in ["expression", "manifestation"] {
        if get(&format!("{level}.date"))? != date {
            return Err(bad(format!("the {level}'s FRBRdate is not the work's")));
        }
    }
    let frbr = Frbr {
        work_this: get("work.this")?,
        work_uri: get("work.uri")?,
        expression_this: get("expression.this")?,
        expression_uri: get("expression.uri")?,
        manifestation_this: get("manifestation.this")?,
        manifestation_uri: get("manifestation.uri")?,
        country: get("work.country")?,
        language: get("expression.language")?,
        date,
    };
    if let Some(key) = frbr_map.keys().next() {
        return Err(bad(format!("unexpected {key}")));
    }
    for u in &mut units {
        u.text_sha = sha256_hex(&u.text);
    }
    check_units(&units)?;
    Ok(Export {
        document_id,
        version,
        title,
        frbr,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Frbr, akn};

    fn sample() -> Export {
        let unit = |eid: &str, parent: Option<&str>, kind, number: &str, text: &str| Unit {
            eid: eid.into(),
            wid: eid.into(),
            parent_eid: parent.map(Into::into),
            kind,
            number: number.into(),
            heading: String::new(),
            text: text.into(),
            text_sha: sha256_hex(text),
        };
        let units = vec![
            unit("art_1", None, Kind::Article, "1", "Điều 1.\n"),
            unit(
                "art_1__para_1",
                Some("art_1"),
                Kind::Clause,
                "1",
                "1. a & b < c\r\n",
            ),
            unit("art_2", None, Kind::Article, "2", ""),
        ];
        Export {
            frbr: Frbr::new("d", "v-1", Some("2015-07-01"), &units).unwrap(),
            document_id: "d".into(),
            version: "v-1".into(),
            title: String::new(),
            units,
        }
    }

    #[test]
    fn what_the_writer_writes_reads_back_unchanged() {
        let export = sample();
        let xml = String::from_utf8(akn::write(&export).unwrap()).unwrap();
        assert_eq!(import(&xml).unwrap(), export);
    }

    #[test]
    fn anything_else_is_refused_not_guessed() {
        let xml = String::from_utf8(akn::write(&sample()).unwrap()).unwrap();
        let cases = [
            // A second <p> would silently replace the first text.
            xml.replacen("</p>", "</p><p>more</p>", 1),
            // An element the writer never emits.
            xml.replacen("<num>1</num>", "<num>1</num><subheading>x</subheading>", 1),
            // Stray text between elements.
            xml.replacen("<intro>", "<intro>stray", 1),
            // A DOCTYPE (entities could expand).
            xml.replacen(
                "<akomaNtoso",
                "<!DOCTYPE akomaNtoso [<!ENTITY x \"y\">]><akomaNtoso",
                1,
            ),
            // An entity that is not XML's own.
            xml.replacen("Điều 1.", "Điều &x; 1.", 1),
            // Another namespace.
            xml.replacen("legaldocml/ns/akn/3.0", "legaldocml/ns/akn/2.0", 1),
            // A text changed after the export (its sha256 is recomputed, and
            // the tree and ids still checked): an eId with a space.
            xml.replacen("eId=\"art_2\"", "eId=\"art 2\"", 1),
            // Truncated.
            xml[..xml.len() / 2].to_string(),
        ];
        for (i, case) in cases.iter().enumerate() {
            let err = import(case).expect_err(&format!("case {i} accepted"));
            assert_eq!(err.code, StopCode::ExportRefused, "case {i}: {err}");
        }
    }
}
