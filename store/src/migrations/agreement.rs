//! The migrations are the one source of the schema. These tests replay them
//! (both dialects) into a model of the tables and check that everything
//! else that describes the schema agrees with it: the two dialects with each
//! other, [`crate::schema`] (plugin and host tables), the in-memory test
//! store preset of `plugins/iu-phases/src/memory.rs` (read as text) and the tables
//! of docs/STORE.md.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Migration, POSTGRES, SQLITE, VERSION_TABLE};
use crate::schema;

/// A column as the migrations leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Col {
    name: String,
    /// The column's type class.
    ty: Ty,
    not_null: bool,
    /// The values a `CHECK (col IN (…))` allows (empty: no such check).
    allowed: Vec<String>,
}

/// A column type class, as both dialects spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// TEXT.
    Text,
    /// INTEGER (SQLite) / BIGINT (PostgreSQL).
    Int,
    /// BLOB (SQLite) / BYTEA (PostgreSQL): a digest's bytes.
    Bytes,
}

impl Ty {
    fn of(word: &str) -> Ty {
        match word.to_ascii_uppercase().as_str() {
            "TEXT" => Ty::Text,
            "INTEGER" | "BIGINT" => Ty::Int,
            "BLOB" | "BYTEA" => Ty::Bytes,
            other => panic!("column type {other}"),
        }
    }

    /// The class of a [`schema::ColumnType`].
    fn of_schema(ty: schema::ColumnType) -> Ty {
        match ty {
            schema::ColumnType::Text | schema::ColumnType::NullableText => Ty::Text,
            schema::ColumnType::Int | schema::ColumnType::NullableInt => Ty::Int,
            schema::ColumnType::Sha256 => Ty::Bytes,
        }
    }
}

/// A table as the migrations leave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tbl {
    columns: Vec<Col>,
    primary_key: Vec<String>,
}

type Model = BTreeMap<String, Tbl>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

impl Tok {
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn word(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Str(w) => w.clone(),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

/// SQL tokens: words (identifiers, keywords, numbers, `"quoted"`
/// identifiers), `'strings'` and punctuation; `--` (and Rust's `//`)
/// comments and `$$` bodies are skipped.
fn tokens(sql: &str) -> Vec<Tok> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let comment = (c == '-' && chars.get(i + 1) == Some(&'-'))
            || (c == '/' && chars.get(i + 1) == Some(&'/'));
        if comment {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '$' && chars.get(i + 1) == Some(&'$') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '$' && chars[i + 1] == '$') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let start = i + 1;
            i = start;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(if c == '\'' {
                Tok::Str(text)
            } else {
                Tok::Word(text)
            });
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            if !c.is_whitespace() {
                out.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// The tokens between the `(` at `open` and its `)`, split at top-level
/// commas; and the index after the `)`.
fn paren_items(toks: &[Tok], open: usize) -> (Vec<Vec<Tok>>, usize) {
    let mut items = vec![Vec::new()];
    let mut depth = 0;
    let mut i = open;
    loop {
        let t = &toks[i];
        match t {
            Tok::Punct('(') => {
                depth += 1;
                if depth > 1 {
                    items.last_mut().expect("item").push(t.clone());
                }
            }
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return (items, i + 1);
                }
                items.last_mut().expect("item").push(t.clone());
            }
            Tok::Punct(',') if depth == 1 => items.push(Vec::new()),
            _ => items.last_mut().expect("item").push(t.clone()),
        }
        i += 1;
    }
}

/// The strings of a `CHECK (column IN ('a', 'b'))` in `toks`: (column, values).
fn check_in(toks: &[Tok]) -> Option<(String, Vec<String>)> {
    let at = toks.iter().position(|t| t.is("CHECK"))?;
    let column = toks.get(at + 2)?.word();
    let values = toks[at..]
        .iter()
        .filter_map(|t| match t {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    Some((column, values))
}

fn column(def: &[Tok]) -> Col {
    let has = |a: &str, b: &str| def.windows(2).any(|w| w[0].is(a) && w[1].is(b));
    Col {
        name: def[0].word(),
        ty: Ty::of(&def[1].word()),
        not_null: has("NOT", "NULL")
            || has("PRIMARY", "KEY")
            || def.iter().any(|t| t.is("IDENTITY")),
        allowed: check_in(def).map(|(_, v)| v).unwrap_or_default(),
    }
}

fn create_table(toks: &[Tok], open: usize) -> (Tbl, usize) {
    let (items, next) = paren_items(toks, open);
    let mut table = Tbl::default();
    for item in items {
        let constraint = ["CONSTRAINT", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|k| item[0].is(k));
        if item[0].is("PRIMARY") {
            let (keys, _) = paren_items(&item, 2);
            table.primary_key = keys.iter().map(|k| k[0].word()).collect();
        } else if !constraint {
            let col = column(&item);
            if item
                .windows(2)
                .any(|w| w[0].is("PRIMARY") && w[1].is("KEY"))
            {
                table.primary_key = vec![col.name.clone()];
            }
            table.columns.push(col);
        }
    }
    (table, next)
}

/// Replays `VERSION_TABLE` and the migrations into a model.
fn replay(migrations: &[Migration]) -> Model {
    let mut model = Model::new();
    let mut sql = String::from(VERSION_TABLE);
    sql.push(';');
    for m in migrations {
        sql.push_str(m.sql);
    }
    let toks = tokens(&sql);
    let mut i = 0;
    while i < toks.len() {
        let at = |k: usize, w: &str| toks.get(i + k).is_some_and(|t| t.is(w));
        if at(0, "CREATE") && at(1, "TABLE") {
            let mut name_at = i + 2;
            if at(2, "IF") {
                name_at += 3;
            }
            let (table, next) = create_table(&toks, name_at + 1);
            model.insert(toks[name_at].word(), table);
            i = next;
        } else if at(0, "DROP") && at(1, "TABLE") {
            model.remove(&toks[i + 2].word());
            i += 3;
        } else if at(0, "ALTER") && at(1, "TABLE") {
            let name = toks[i + 2].word();
            let end = (i..toks.len())
                .find(|&k| toks[k] == Tok::Punct(';'))
                .unwrap_or(toks.len());
            let stmt = &toks[i + 3..end];
            if stmt[0].is("RENAME") {
                let table = model.remove(&name).expect("renamed table exists");
                model.insert(stmt[2].word(), table);
            } else if stmt[0].is("ADD") && stmt[1].is("COLUMN") {
                let col = column(&stmt[2..]);
                model.get_mut(&name).expect("table").columns.push(col);
            } else if stmt[0].is("ALTER") && stmt[1].is("COLUMN") && stmt[3].is("TYPE") {
                let table = model.get_mut(&name).expect("table");
                let col = table.columns.iter_mut().find(|c| c.name == stmt[2].word());
                col.expect("altered column").ty = Ty::of(&stmt[4].word());
            } else if stmt[0].is("ADD") && stmt[1].is("CONSTRAINT") {
                let (column, values) = check_in(stmt).expect("a CHECK (… IN …)");
                let table = model.get_mut(&name).expect("table");
                let col = table.columns.iter_mut().find(|c| c.name == column);
                col.expect("checked column").allowed = values;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    model
}

fn sqlite() -> Model {
    replay(SQLITE)
}

fn names(cols: &[Col]) -> Vec<&str> {
    cols.iter().map(|c| c.name.as_str()).collect()
}

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_dialects_build_the_same_schema() {
    let (lite, pg) = (sqlite(), replay(POSTGRES));
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        pg.keys().collect::<Vec<_>>()
    );
    for (name, table) in &lite {
        assert_eq!(Some(table), pg.get(name), "table `{name}`");
    }
    assert_eq!(lite["queue"].columns[2].allowed.len(), 5, "queue states");
}

#[test]
fn schema_rs_agrees_with_the_migrations() {
    let model = sqlite();
    let mut described: Vec<&str> = schema::PLUGIN_TABLES
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    described.extend(schema::HOST_TABLES);
    described.sort_unstable();
    assert_eq!(
        model.keys().map(String::as_str).collect::<Vec<_>>(),
        described
    );
    for t in schema::PLUGIN_TABLES.iter() {
        let m = &model[&t.name];
        let cols: Vec<Col> = t
            .columns
            .iter()
            .map(|c| Col {
                name: c.name.to_string(),
                ty: Ty::of_schema(c.ty),
                not_null: !c.ty.nullable(),
                allowed: c.allowed.iter().map(|a| a.to_string()).collect(),
            })
            .collect();
        assert_eq!(m.columns, cols, "columns of `{}`", t.name);
        assert_eq!(m.primary_key, t.primary_key, "primary key of `{}`", t.name);
    }
}

/// One table of memory.rs's preset: (table, [(column, `ColumnType`
/// variant)], primary key).
type MemoryTable = (String, Vec<(String, String)>, Vec<String>);

/// The `TableDef { name, columns, primary_key }` constants of memory.rs, in
/// order (up to `fn iu_cut_store`, which uses them).
fn memory_tables(text: &str) -> Vec<MemoryTable> {
    let end = text
        .find("fn iu_cut_store")
        .expect("memory.rs has `fn iu_cut_store`");
    let toks = tokens(&text[..end]);
    let mut tables: Vec<MemoryTable> = Vec::new();
    let field =
        |i: usize, name: &str| toks[i].is(name) && toks.get(i + 1) == Some(&Tok::Punct(':'));
    let mut i = 0;
    while i < toks.len() {
        if field(i, "name") {
            tables.push((toks[i + 2].word(), Vec::new(), Vec::new()));
            i += 3;
        } else if field(i, "columns") {
            let table = tables.last_mut().expect("`name` comes first");
            // &[("column", Variant), …]
            i += 4;
            while toks[i] != Tok::Punct(']') {
                if toks[i] == Tok::Punct('(') {
                    table.1.push((toks[i + 1].word(), toks[i + 3].word()));
                    i += 5;
                } else {
                    i += 1;
                }
            }
        } else if field(i, "primary_key") {
            let table = tables.last_mut().expect("`name` comes first");
            i += 4;
            while toks[i] != Tok::Punct(']') {
                if toks[i] != Tok::Punct(',') {
                    table.2.push(toks[i].word());
                }
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    tables
}

#[test]
fn iu_phases_memory_store_agrees_with_the_migrations() {
    let model = sqlite();
    let memory = memory_tables(&repo_file("plugins/iu-phases/src/memory.rs"));
    let plugin: Vec<&str> = schema::PLUGIN_TABLES
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        memory.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        plugin
    );
    for (name, columns, key) in &memory {
        let m = &model[name];
        let want: Vec<(String, String)> = m
            .columns
            .iter()
            .map(|c| {
                let ty = match (c.ty, c.not_null) {
                    (Ty::Int, _) => "Int",
                    (Ty::Bytes, _) => "Sha256",
                    (Ty::Text, true) => "Text",
                    (Ty::Text, false) => "NullableText",
                };
                (c.name.clone(), ty.to_string())
            })
            .collect();
        assert_eq!(columns, &want, "memory.rs columns of `{name}`");
        assert_eq!(key, &m.primary_key, "memory.rs primary key of `{name}`");
    }
}

/// The first identifier of each top-level comma-separated item, up to a
/// top-level ` — ` or `;`.
fn listed_columns(cell: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => items.push(String::new()),
            '—' | ';' if depth == 0 => break,
            _ => {}
        }
        if depth == 0 && c != ',' && c != ')' {
            items.last_mut().expect("item").push(c);
        }
    }
    items
        .iter()
        .map(|i| {
            i.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn store_md_agrees_with_the_migrations() {
    let model = sqlite();
    let doc = repo_file("docs/STORE.md");
    let mut documented = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1].trim_matches('`').to_string();
        let columns = listed_columns(cells[2]);
        if schema::table(&name).is_ok() {
            let key = listed_columns(cells[3].trim_matches(|c| c == '(' || c == ')'));
            assert_eq!(key, model[&name].primary_key, "STORE.md key of `{name}`");
        }
        assert!(
            documented.insert(name.clone(), columns).is_none(),
            "`{name}` twice in STORE.md"
        );
    }
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        model.keys().collect::<Vec<_>>(),
        "STORE.md's tables"
    );
    for (name, table) in &model {
        assert_eq!(
            documented[name],
            names(&table.columns),
            "STORE.md columns of `{name}`"
        );
    }
}
