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
use quick_xml::events::{BytesCData, BytesEnd, BytesRef, BytesStart, BytesText, Event};
use quick_xml::reader::Reader;
use std::collections::{BTreeMap, BTreeSet};

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
    let mut importer = Importer::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) => {}
            Event::PI(_) | Event::DocType(_) => {
                return Err(bad("a processing instruction or DOCTYPE"));
            }
            Event::Text(t) => importer.text(t)?,
            Event::CData(t) => importer.cdata(t)?,
            Event::GeneralRef(r) => importer.reference(r)?,
            Event::End(e) => importer.end(e),
            Event::Start(e) => importer.start(e, false)?,
            Event::Empty(e) => importer.start(e, true)?,
        }
    }
    importer.finish()
}

/// What the import has read so far, as the pull parser walks the file.
#[derive(Default)]
struct Importer {
    /// The open elements, outermost first.
    path: Vec<String>,
    /// Index (in `units`) of each open unit element, parallel to `path`.
    unit_at: Vec<Option<usize>>,
    units: Vec<Unit>,
    document_id: Option<String>,
    /// FRBR values by `<level>.<name>` (`work.date`, `expression.uri`, …).
    frbr: BTreeMap<String, String>,
    title: String,
    version: Option<String>,
    /// The text element being read, and its unit.
    slot: Option<(Slot, usize)>,
    /// The text read so far of `slot`.
    buffer: String,
    root_seen: bool,
    /// (unit, slot) pairs already read: each may occur once.
    filled: BTreeSet<(usize, u8)>,
}

impl Importer {
    /// Text: only inside a text element (whitespace between elements aside).
    fn text(&mut self, t: BytesText<'_>) -> Result<(), Stop> {
        let text = t.xml10_content();
        if self.slot.is_some() {
            self.buffer.push_str(&text);
        } else if !text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
            return Err(bad(format!(
                "text outside <num>, <heading> or <p> (in <{}>)",
                self.path.last().map_or("", String::as_str)
            )));
        }
        Ok(())
    }

    fn cdata(&mut self, t: BytesCData<'_>) -> Result<(), Stop> {
        if self.slot.is_none() {
            return Err(bad("CDATA outside <num>, <heading> or <p>"));
        }
        self.buffer.push_str(&t.xml10_content());
        Ok(())
    }

    /// A character reference or one of XML's five entities, inside a text
    /// element; any other entity is refused.
    fn reference(&mut self, r: BytesRef<'_>) -> Result<(), Stop> {
        if self.slot.is_none() {
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
        self.buffer.push(c);
        Ok(())
    }

    /// An end tag: a text element's text goes to its unit.
    fn end(&mut self, e: BytesEnd<'_>) {
        let name = e.name().as_ref().to_string();
        if let Some((s, index)) = self.slot
            && matches!(
                (s, name.as_str()),
                (Slot::Num, "num") | (Slot::Heading, "heading") | (Slot::Text, "p")
            )
        {
            let unit = &mut self.units[index];
            let field = match s {
                Slot::Num => &mut unit.number,
                Slot::Heading => &mut unit.heading,
                Slot::Text => &mut unit.text,
            };
            *field = std::mem::take(&mut self.buffer);
            self.slot = None;
        }
        self.path.pop();
        self.unit_at.pop();
    }

    /// A start tag (`is_empty`: `<x/>`): only where the writer puts it, with
    /// exactly the attributes the writer gives it.
    fn start(&mut self, e: BytesStart<'_>, is_empty: bool) -> Result<(), Stop> {
        let name = e.name().as_ref().to_string();
        if self.slot.is_some() {
            return Err(bad(format!("element <{name}> inside text")));
        }
        let mut attrs = attributes(&e)?;
        let enclosing = self.unit_at.iter().rev().find_map(|u| *u);
        let opened_unit = self.element(&name, &mut attrs, enclosing)?;
        if let Some(kind) = opened_unit {
            self.open_unit(kind, &name, &mut attrs, enclosing)?;
        }
        if let Some(extra) = attrs.keys().next() {
            return Err(bad(format!("<{name}> has an unexpected attribute {extra}")));
        }
        self.begin_slot(&name, is_empty)?;
        if !is_empty {
            self.path.push(name);
            self.unit_at.push(opened_unit.map(|_| self.units.len() - 1));
        }
        Ok(())
    }

    /// Element `name` where it stands (its parent and grandparent): read
    /// what it carries, taking its attributes from `attrs`. Returns the
    /// kind of unit it opens, if it is a unit.
    fn element(
        &mut self,
        name: &str,
        attrs: &mut BTreeMap<String, String>,
        enclosing: Option<usize>,
    ) -> Result<Option<Kind>, Stop> {
        let parent = self.path.last().cloned().unwrap_or_default();
        let grandparent = self
            .path
            .len()
            .checked_sub(2)
            .and_then(|i| self.path.get(i))
            .cloned()
            .unwrap_or_default();
        match (parent.as_str(), name) {
            ("", "akomaNtoso") if !self.root_seen => {
                self.root_seen = true;
                if take(attrs, "xmlns", "akomaNtoso")? != NS {
                    return Err(bad("the namespace is not Akoma Ntoso 3.0"));
                }
            }
            ("akomaNtoso", "act") => {
                self.document_id = Some(take(attrs, "name", "act")?);
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
            ) => self.frbr_value(&parent, name, attrs)?,
            ("act", "preamble" | "conclusions") => {
                return Ok(Some(Kind::from_element(name).expect("a kind")));
            }
            (p, element)
                if (p == "body" || Kind::from_element(p).is_some_and(Kind::in_body))
                    && Kind::from_element(element).is_some_and(Kind::in_body) =>
            {
                return Ok(Some(Kind::from_element(element).expect("a kind")));
            }
            (p, "num" | "heading") if Kind::from_element(p).is_some_and(Kind::in_body) => {
                let index = enclosing.expect("inside a unit");
                let s = if name == "num" {
                    Slot::Num
                } else {
                    Slot::Heading
                };
                self.slot = Some((s, index));
            }
            (p, "intro" | "content") if Kind::from_element(p).is_some_and(Kind::in_body) => {}
            ("intro" | "content", "p")
                if Kind::from_element(&grandparent).is_some_and(Kind::in_body) =>
            {
                self.slot = Some((Slot::Text, enclosing.expect("inside a unit")));
            }
            ("preamble" | "conclusions", "p") => {
                self.slot = Some((Slot::Text, enclosing.expect("inside a unit")));
            }
            _ => {
                return Err(bad(format!(
                    "unexpected <{name}> in <{}>",
                    if parent.is_empty() {
                        "document"
                    } else {
                        parent.as_str()
                    }
                )));
            }
        }
        Ok(None)
    }

    /// An FRBR element `name` of `level_element` (`FRBRWork`, …): the
    /// title, the version, or a value kept once under `<level>.<name>`.
    fn frbr_value(
        &mut self,
        level_element: &str,
        name: &str,
        attrs: &mut BTreeMap<String, String>,
    ) -> Result<(), Stop> {
        let level = level_element
            .trim_start_matches("FRBR")
            .to_ascii_lowercase();
        let value = match name {
            "FRBRdate" => {
                attrs.remove("name");
                take(attrs, "date", name)?
            }
            "FRBRauthor" => take(attrs, "href", name)?,
            "FRBRlanguage" => take(attrs, "language", name)?,
            _ => take(attrs, "value", name)?,
        };
        match name {
            "FRBRname" => self.title = value,
            "FRBRversionNumber" => self.version = Some(value),
            "FRBRauthor" | "FRBRnumber" => {}
            other => {
                let key = format!("{level}.{}", &other[4..]);
                if self.frbr.insert(key.clone(), value).is_some() {
                    return Err(bad(format!("{key} twice")));
                }
            }
        }
        Ok(())
    }

    /// A unit element: its ids from `attrs`, its parent the enclosing unit
    /// (body units only).
    fn open_unit(
        &mut self,
        kind: Kind,
        name: &str,
        attrs: &mut BTreeMap<String, String>,
        enclosing: Option<usize>,
    ) -> Result<(), Stop> {
        let eid = take(attrs, "eId", name)?;
        let wid = take(attrs, "wId", name)?;
        let parent_eid = if kind.in_body() {
            enclosing.map(|i| self.units[i].eid.clone())
        } else {
            None
        };
        self.units.push(Unit {
            eid,
            wid,
            parent_eid,
            kind,
            number: String::new(),
            heading: String::new(),
            text: String::new(),
            text_sha: String::new(),
        });
        Ok(())
    }

    /// A text element `name` just opened `slot`: each once per unit; one
    /// that is empty in the file (`<p/>`) is read as empty text.
    fn begin_slot(&mut self, name: &str, is_empty: bool) -> Result<(), Stop> {
        let Some((s, index)) = self.slot else {
            return Ok(());
        };
        if !self.filled.insert((index, s as u8)) {
            return Err(bad(format!(
                "a second <{name}> in unit {}",
                self.units[index].eid.escape_debug()
            )));
        }
        if is_empty {
            let unit = &mut self.units[index];
            match s {
                Slot::Num => unit.number.clear(),
                Slot::Heading => unit.heading.clear(),
                Slot::Text => unit.text.clear(),
            }
            self.slot = None;
        } else {
            self.buffer.clear();
        }
        Ok(())
    }

    /// The end of the file: a whole document with every identifier the
    /// writer gives, and nothing more; the units checked like the store's.
    fn finish(self) -> Result<Export, Stop> {
        if !self.root_seen || !self.path.is_empty() {
            return Err(bad("no complete <akomaNtoso> document"));
        }
        let document_id = self.document_id.ok_or_else(|| bad("no <act name=…>"))?;
        let version = self.version.ok_or_else(|| bad("no FRBRversionNumber"))?;
        let frbr = frbr_of(self.frbr)?;
        let mut units = self.units;
        for u in &mut units {
            u.text_sha = sha256_hex(&u.text);
        }
        check_units(&units)?;
        Ok(Export {
            document_id,
            version,
            title: self.title,
            frbr,
            units,
        })
    }
}

/// The identifiers of the three FRBR levels, each once, the three dates
/// equal, nothing else.
fn frbr_of(mut values: BTreeMap<String, String>) -> Result<Frbr, Stop> {
    let mut get = |key: &str| values.remove(key).ok_or_else(|| bad(format!("no {key}")));
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
    if let Some(key) = values.keys().next() {
        return Err(bad(format!("unexpected {key}")));
    }
    Ok(frbr)
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
