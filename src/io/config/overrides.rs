//! Config overrides: values set by dotted key (`init.scale`, `learning.tau_w`) on the
//! config's TOML table before the typed parse, from `lmser run --set key=value` or
//! from a point of a `[sweep]` grid. The overridden table goes through the same typed
//! parse and validation as a file; an error caused by an override names it (`--set
//! init.scale=abc: ...`) instead of a line of the file.

use super::{Config, Origin, header, toml_error, typed};
use crate::error::{Error, Result};
use std::path::Path;
use toml::{Table, Value};

/// One value set by dotted key.
#[derive(Debug, Clone)]
pub struct Override {
    /// The dotted key, e.g. `init.scale`.
    pub key: String,
    /// The value it is set to.
    pub value: Value,
    /// How errors name it, e.g. `--set init.scale=abc`.
    pub label: String,
}

/// Values set by dotted key, applied in order (a later value for the same key wins).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    items: Vec<Override>,
}

impl Overrides {
    /// Parses `--set key=value` arguments for the config `file` (named in errors).
    /// The value is TOML (`0.3`, `2`, `true`, `"rk4"`, `[5, 2]`); a bare word that is
    /// not TOML (`rk4`) is taken as a string.
    pub fn from_args(args: &[String], file: &Path) -> Result<Overrides> {
        let shown = file.display().to_string();
        let mut o = Overrides::default();
        for arg in args {
            let arg = one_line(arg);
            let Some((key, raw)) = arg.split_once('=') else {
                return Err(Error::config(
                    &shown,
                    format!("--set {arg}"),
                    "expected key=value, e.g. --set init.scale=0.3",
                ));
            };
            let (key, raw) = (key.trim(), raw.trim());
            let label = format!("--set {key}={raw}");
            let value = parse_value(raw).ok_or_else(|| {
                Error::config(
                    &shown,
                    &label,
                    format!(
                        "`{raw}` is not a TOML value; quote strings (\"...\") and write lists as [a, b]"
                    ),
                )
            })?;
            o.push(key, value, label, file)?;
        }
        Ok(o)
    }

    /// Adds `key = value`, named `label` in errors; the key must be dotted words
    /// (letters, digits, `_`, `-`) and may not be in `[sweep]`.
    pub fn push(&mut self, key: &str, value: Value, label: String, file: &Path) -> Result<()> {
        let label = one_line(&label);
        let bad = |message: &str| Error::config(file.display().to_string(), &label, message);
        let word = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !key.split('.').all(word) {
            return Err(bad(
                "is not a dotted key of the config (words joined by dots, e.g. init.scale)",
            ));
        }
        if key == "sweep" || key.starts_with("sweep.") {
            return Err(bad("the [sweep] table cannot be set; edit it in the file"));
        }
        self.items.push(Override {
            key: key.to_string(),
            value,
            label,
        });
        Ok(())
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The overrides in order.
    pub fn iter(&self) -> impl Iterator<Item = &Override> {
        self.items.iter()
    }

    /// `self` followed by `other` (whose values win for the same key).
    pub fn then(&self, other: &Overrides) -> Overrides {
        let mut items = self.items.clone();
        items.extend(other.items.iter().cloned());
        Overrides { items }
    }

    /// Sets every value in `table`, creating tables on the way.
    fn apply(&self, table: &mut Table, shown: &str) -> Result<()> {
        for o in &self.items {
            let parts: Vec<&str> = o.key.split('.').collect();
            let (last, parents) = parts.split_last().expect("keys are non-empty");
            let mut t = &mut *table;
            for (i, p) in parents.iter().enumerate() {
                let entry = t
                    .entry(p.to_string())
                    .or_insert_with(|| Value::Table(Table::new()));
                t = match entry {
                    Value::Table(inner) => inner,
                    other => {
                        let at = parts[..=i].join(".");
                        return Err(Error::config(
                            shown,
                            &o.label,
                            format!("{at} is {}, not a table", article(other.type_str())),
                        ));
                    }
                };
            }
            t.insert(last.to_string(), o.value.clone());
        }
        Ok(())
    }

    /// The override an error is about: the one whose key is the error's field, lies
    /// under it or holds it (the last such, as the last value wins).
    fn owner(&self, field: &str) -> Option<&Override> {
        let under = |a: &str, b: &str| {
            a.strip_prefix(b)
                .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        };
        let exact = self.items.iter().rev().find(|o| o.key == field);
        exact.or_else(|| {
            self.items
                .iter()
                .rev()
                .find(|o| under(field, &o.key) || under(&o.key, field))
        })
    }

    /// Names the override an error is about (a config error whose field is an
    /// overridden key, or lies under or holds one); other errors are returned as
    /// they are. For errors of validation and spec building, after parsing.
    pub fn attribute(&self, e: Error) -> Error {
        match e {
            Error::Config {
                file,
                field,
                message,
            } => match self.owner(&field) {
                Some(o) => {
                    let message = without_line(&message);
                    let message = if field == o.key {
                        message.to_string()
                    } else {
                        format!("{field}: {message}")
                    };
                    Error::config(file, &o.label, message)
                }
                None => Error::config(file, field, message),
            },
            other => other,
        }
    }

    /// A parse error of the overridden text: the override it is about; else the
    /// base config's own error (`base`), with the file's line; else the error with
    /// every override named (it comes from their combination).
    fn explain(&self, e: Error, base: impl FnOnce() -> Option<Error>) -> Error {
        if let Error::Config { field, .. } = &e
            && self.owner(field).is_some()
        {
            return self.attribute(e);
        }
        if let Some(b) = base() {
            return b;
        }
        match e {
            Error::Config {
                file,
                field,
                message,
            } => {
                let all: Vec<&str> = self.items.iter().map(|o| o.label.as_str()).collect();
                let message = format!("{} (with {})", without_line(&message), all.join(", "));
                Error::config(file, field, message)
            }
            other => other,
        }
    }
}

impl Config {
    /// Parses config text that lives at `file` with `overrides` applied: the `[sweep]`
    /// table is set aside, the values are set on the table, and the result goes
    /// through the same typed parse as a file (the hash and the summary's config echo
    /// show the overridden values). Errors an override causes name it.
    pub fn parse_with(text: &str, file: &Path, overrides: &Overrides) -> Result<Config> {
        let shown = file.display().to_string();
        let mut table: Table =
            toml::from_str(text).map_err(|e| toml_error(&shown, text, &e, None))?;
        let sweep = match table.remove("sweep") {
            None => None,
            Some(Value::Table(t)) => Some(t),
            Some(other) => {
                return Err(Error::config(
                    &shown,
                    "sweep",
                    format!(
                        "is {}; write the grid as a [sweep] table (see README.md, Sweeps)",
                        article(other.type_str())
                    ),
                ));
            }
        };
        let base = match &sweep {
            None => text.to_string(),
            Some(_) => match without_sweep(text, &table) {
                Some(t) => t,
                None => to_text(&table, &shown)?,
            },
        };
        let experiment = if overrides.is_empty() {
            typed(&base, &shown)?
        } else {
            overrides.apply(&mut table, &shown)?;
            let text = to_text(&table, &shown)?;
            typed(&text, &shown).map_err(|e| overrides.explain(e, || typed(&base, &shown).err()))?
        };
        Ok(Config {
            experiment,
            table,
            sweep,
            file: file.to_path_buf(),
            origin: Origin::file(file),
        })
    }
}

/// A `--set` value: TOML, or a bare word (letters, digits, `_-.+`) as a string.
fn parse_value(raw: &str) -> Option<Value> {
    if let Ok(mut t) = toml::from_str::<Table>(&format!("v = {raw}"))
        && t.len() == 1
    {
        return t.remove("v");
    }
    let bare = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c));
    bare.then(|| Value::String(raw.to_string()))
}

/// `s` with control characters escaped (`\n`), so that messages stay on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

/// "a string", "an array", ...
fn article(noun: &str) -> String {
    match noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {noun}"),
        false => format!("a {noun}"),
    }
}

/// The text of a table (for the typed parse of an overridden config).
fn to_text(table: &Table, shown: &str) -> Result<String> {
    toml::to_string(table)
        .map_err(|e| Error::config(shown, "(file)", format!("cannot be rewritten ({e})")))
}

/// The config text with the lines of its `[sweep]` section blanked, so errors keep
/// their line numbers; `None` when that does not leave exactly `rest` (the sweep
/// written another way), and the caller rewrites the table instead.
fn without_sweep(text: &str, rest: &Table) -> Option<String> {
    let mut inside = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if let Some(h) = header(line) {
            inside = h == "sweep" || h.starts_with("sweep.");
        }
        if inside {
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
        } else {
            out.push_str(line);
        }
    }
    let parsed: Table = toml::from_str(&out).ok()?;
    (&parsed == rest).then_some(out)
}

/// A message without the `line N (`...`): ` prefix of a parse error (its line is of
/// the rewritten text, not of the file).
fn without_line(message: &str) -> &str {
    match (message.starts_with("line "), message.find("`): ")) {
        (true, Some(i)) => &message[i + 4..],
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(args: &[&str]) -> Result<Overrides> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Overrides::from_args(&args, Path::new("c.toml"))
    }

    /// Values are TOML, bare words strings; bad keys and values are refused by name.
    #[test]
    fn values_and_keys() {
        let o = set(&["a.b=2", "m=rk4", "s=\"x y\"", "l=[5, 2]", "f=1e-3"]).unwrap();
        let v: Vec<&Value> = o.iter().map(|o| &o.value).collect();
        assert_eq!(v[0], &Value::Integer(2));
        assert_eq!(v[1], &Value::String("rk4".into()));
        assert_eq!(v[2], &Value::String("x y".into()));
        assert_eq!(v[3].as_array().unwrap().len(), 2);
        assert_eq!(v[4], &Value::Float(1e-3));
        for bad in ["a..b=1", "=1", "a", "a=x y", "sweep.a=1", "a=1\nb = 2"] {
            let e = set(&[bad]).unwrap_err().to_string();
            assert!(e.contains("--set "), "{bad}: {e}");
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
    }

    /// Blanking `[sweep]` keeps the other lines where they were.
    #[test]
    fn sweep_lines_are_blanked() {
        let text = "name = \"n\"\n[sweep]\n\"a.b\" = [1, 2]\n[init]\nscale = 1\n";
        let mut t: Table = toml::from_str(text).unwrap();
        t.remove("sweep");
        let out = without_sweep(text, &t).unwrap();
        assert_eq!(out, "name = \"n\"\n\n\n[init]\nscale = 1\n");
    }
}
