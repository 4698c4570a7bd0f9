//! Reading a walkthrough's TOML tables key by key, so that every mistake of a file is found in
//! one pass and said in plain words at its line.
//!
//! `toml`'s own deserializer stops at the first error and speaks serde (`invalid type: integer
//! 30, expected a string`, `data did not match any variant of untagged enum`). Here the file is
//! parsed once into `toml::de::DeTable` (every key and value with its span), then each table is
//! read through a [`Table`]: a key asked for is typed with a [`Shape`] that says, for the error,
//! what the key takes and an example; a key never asked for is an unknown key, reported with
//! the closest known one. Errors go to a [`Sink`] and reading goes on.

use super::{LoadError, Located};
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(super) type Val<'i> = Spanned<DeValue<'i>>;

/// The longest message or hint a load error prints: values are echoed, and may be megabytes.
pub(super) const MESSAGE_MAX: usize = 400;

/// `text` cut to `max` characters, saying how much was left out.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!(
            "{}… ({} more bytes)",
            &text[..i],
            text.len().saturating_sub(i)
        ),
        None => text.to_string(),
    }
}

/// The errors of one file, in the order found, each at its line.
pub(super) struct Sink<'p> {
    path: &'p Path,
    /// Byte offset of each line's start.
    starts: Vec<usize>,
    pub errors: Vec<LoadError>,
}

impl<'p> Sink<'p> {
    pub fn new(path: &'p Path, text: &str) -> Sink<'p> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Sink {
            path,
            starts,
            errors: Vec::new(),
        }
    }

    /// Byte offset → 1-based line.
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// An error at a byte offset of the file.
    pub fn at(&mut self, offset: usize, message: impl Into<String>, hint: Option<String>) {
        let line = self.line(offset);
        self.at_line(line, message, hint);
    }

    /// An error at a 1-based line (0: the file as a whole).
    pub fn at_line(&mut self, line: usize, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(LoadError {
            path: self.path.to_path_buf(),
            line,
            message: cut(&message.into(), MESSAGE_MAX),
            hint: hint.map(|h| cut(&h, MESSAGE_MAX)),
        });
    }
}

/// What a key takes, as an error says it: "`break` takes marker names as strings, like
/// `["inner-submit"]`", with a hint for the mistakes people make with it.
#[derive(Clone, Copy)]
pub(super) struct Shape {
    pub takes: &'static str,
    pub like: &'static str,
    pub hint: Option<&'static str>,
}

impl Shape {
    pub const fn new(takes: &'static str, like: &'static str) -> Shape {
        Shape {
            takes,
            like,
            hint: None,
        }
    }

    pub const fn hint(self, hint: &'static str) -> Shape {
        Shape {
            hint: Some(hint),
            ..self
        }
    }
}

/// A value as an error names it: `the number 30`, `the string "zero"`, `a table`.
pub(super) fn described(v: &DeValue<'_>) -> String {
    let text = match v {
        DeValue::String(s) => format!("the string {:?}", s.as_ref()),
        DeValue::Integer(i) => format!("the number {}", i.as_str()),
        DeValue::Float(f) => format!("the number {}", f.as_str()),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    };
    cut(&text, 120)
}

/// Reports that `v`, written for `key`, is not what the key takes.
pub(super) fn wrong(sink: &mut Sink, v: &Val<'_>, key: &str, shape: Shape, extra: Option<String>) {
    let hint = match (shape.hint, extra) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (Some(a), None) => Some(a.to_owned()),
        (None, b) => b,
    };
    sink.at(
        v.span().start,
        format!(
            "{key} takes {}, like {}, not {}",
            shape.takes,
            shape.like,
            described(v.get_ref())
        ),
        hint,
    );
}

/// A string value, or an error.
pub(super) fn string(
    sink: &mut Sink,
    v: &Val<'_>,
    key: &str,
    shape: Shape,
) -> Option<Located<String>> {
    string_or(sink, v, key, shape, None)
}

/// A string value, or an error with `extra` added to its hint.
fn string_or(
    sink: &mut Sink,
    v: &Val<'_>,
    key: &str,
    shape: Shape,
    extra: Option<&str>,
) -> Option<Located<String>> {
    match v.get_ref() {
        DeValue::String(s) => Some(Located {
            value: s.to_string(),
            line: sink.line(v.span().start),
        }),
        _ => {
            wrong(sink, v, key, shape, extra.map(str::to_owned));
            None
        }
    }
}

/// A list of strings, each with its line; a wrong element is reported and left out.
pub(super) fn strings(
    sink: &mut Sink,
    v: &Val<'_>,
    key: &str,
    shape: Shape,
) -> Option<Vec<Located<String>>> {
    strings_or(sink, v, key, shape, None)
}

/// [`strings`], with `extra` added to the hint of a wrong element (the track's own words).
pub(super) fn strings_or(
    sink: &mut Sink,
    v: &Val<'_>,
    key: &str,
    shape: Shape,
    extra: Option<&str>,
) -> Option<Vec<Located<String>>> {
    match v.get_ref() {
        DeValue::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| string_or(sink, item, key, shape, extra))
                .collect(),
        ),
        DeValue::String(s) => {
            let extra = format!("a list, even of one: {key} = [{:?}]", cut(s, 60));
            wrong(sink, v, key, shape, Some(extra));
            None
        }
        _ => {
            wrong(sink, v, key, shape, None);
            None
        }
    }
}

/// A number (an integer or a float), or an error.
pub(super) fn number(
    sink: &mut Sink,
    v: &Val<'_>,
    key: &str,
    shape: Shape,
) -> Option<Located<f64>> {
    let value = match v.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(value) => Some(Located {
            value,
            line: sink.line(v.span().start),
        }),
        None => {
            wrong(sink, v, key, shape, None);
            None
        }
    }
}

/// An integer, or an error.
pub(super) fn integer(sink: &mut Sink, v: &Val<'_>, key: &str, shape: Shape) -> Option<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Some(n),
            Err(e) => {
                sink.at(
                    v.span().start,
                    format!("{key}: {} does not fit: {e}", i.as_str()),
                    None,
                );
                None
            }
        },
        _ => {
            wrong(sink, v, key, shape, None);
            None
        }
    }
}

/// One table of the file, read key by key. What was never asked for is reported by
/// [`Table::finish`] as an unknown key.
pub(super) struct Table<'t, 'i> {
    table: &'t DeTable<'i>,
    /// How errors name the table: `a step`, `expect`, `expect.stopped`.
    pub name: &'static str,
    /// Where the table starts (its header, or its first key).
    pub at: usize,
    asked: Vec<&'static str>,
    /// Any key goes (see [`Table::accept_all`]).
    open: bool,
}

impl<'t, 'i> Table<'t, 'i> {
    /// `v` as a table, or an error saying what `key` takes.
    pub fn of(
        sink: &mut Sink,
        v: &'t Val<'i>,
        key: &str,
        name: &'static str,
        shape: Shape,
    ) -> Option<Table<'t, 'i>> {
        match v.get_ref() {
            DeValue::Table(table) => Some(Table {
                table,
                name,
                at: v.span().start,
                asked: Vec::new(),
                open: false,
            }),
            _ => {
                wrong(sink, v, key, shape, None);
                None
            }
        }
    }

    /// The file's top-level table.
    pub fn root(table: &'t DeTable<'i>, name: &'static str) -> Table<'t, 'i> {
        Table {
            table,
            name,
            at: 0,
            asked: Vec::new(),
            open: false,
        }
    }

    /// Every key of this table is the user's own (`launch`, passed to the adapter as is).
    pub fn accept_all(&mut self) {
        self.asked.clear();
        self.open = true;
    }

    /// The value of `key`, if written; the key is known from now on.
    pub fn get(&mut self, key: &'static str) -> Option<&'t Val<'i>> {
        self.asked.push(key);
        self.table.get(key)
    }

    pub fn string(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        shape: Shape,
    ) -> Option<Located<String>> {
        self.get(key).and_then(|v| string(sink, v, key, shape))
    }

    pub fn strings(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        shape: Shape,
    ) -> Option<Vec<Located<String>>> {
        self.get(key).and_then(|v| strings(sink, v, key, shape))
    }

    /// A required string: its absence is an error at the table's start.
    pub fn required(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        shape: Shape,
    ) -> Option<Located<String>> {
        if self.table.get(key).is_none() && !self.misspelt(key) {
            sink.at(
                self.at,
                format!("{} has no {key}", self.name),
                Some(format!("write {key} = {}", shape.like)),
            );
        }
        self.string(sink, key, shape)
    }

    /// Whether a key written here is a typo of `key`: it is reported as an unknown key that
    /// names `key` (see [`Table::finish`]), so the absence of `key` needs saying no more.
    pub fn misspelt(&self, key: &str) -> bool {
        self.table
            .iter()
            .any(|(k, _)| closest(k.get_ref(), &[key]).is_some())
    }

    /// A nested table.
    pub fn table(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        name: &'static str,
        shape: Shape,
    ) -> Option<Table<'t, 'i>> {
        self.get(key)
            .and_then(|v| Table::of(sink, v, key, name, shape))
    }

    /// Every entry, in the order written (for tables keyed by the user: threads, watches).
    pub fn entries(&self, sink: &Sink) -> Vec<(Located<String>, &'t Val<'i>)> {
        let mut out: Vec<(usize, String, &'t Val<'i>)> = self
            .table
            .iter()
            .map(|(k, v)| (k.span().start, k.get_ref().to_string(), v))
            .collect();
        out.sort_by_key(|(at, _, _)| *at);
        out.into_iter()
            .map(|(at, k, v)| {
                (
                    Located {
                        value: k,
                        line: sink.line(at),
                    },
                    v,
                )
            })
            .collect()
    }

    /// Reports every key never asked for, with the closest known one. `moved` names keys
    /// that belong elsewhere (`exit` in `expect` → `end = { exit = 0 }`).
    pub fn finish(self, sink: &mut Sink, moved: &[(&str, &str)]) {
        if self.open {
            return;
        }
        for (k, _) in self.table.iter() {
            let key = k.get_ref().as_ref();
            if self.asked.contains(&key) {
                continue;
            }
            let known = self.asked.join(", ");
            let hint = if let Some((_, instead)) = moved.iter().find(|(m, _)| *m == key) {
                format!("{instead}; the keys of {} are: {known}", self.name)
            } else {
                format!("the keys of {} are: {known}", self.name)
            };
            let message = match closest(key, &self.asked) {
                Some(near) => format!(
                    "unknown field `{key}` in {}; did you mean `{near}`?",
                    self.name
                ),
                None => format!("unknown field `{key}` in {}", self.name),
            };
            sink.at(k.span().start, message, Some(hint));
        }
    }
}

/// The known word closest to `word`, if one is close enough to be a typo of it.
pub(super) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|(d, k)| *d > 0 && *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
