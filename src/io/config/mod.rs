//! Experiment configs: TOML files deserialized into typed structs ([`schema`]): the
//! experiment is an [`Experiment`] with one variant per `kind`, each holding exactly
//! the sections its kind reads, with unknown keys rejected. Value checks run after
//! parsing, one `validate()` per section (the crate-internal `validate` module). Every error names the file
//! and the field. Paths inside a config are relative to the config file.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

mod overrides;
pub mod schema;
pub(crate) mod validate;

pub use overrides::{Override, Overrides};

pub use schema::*;
pub use validate::{MAX_LANDSCAPE_N0, MAX_WEIGHTS, check_gains, non_negative, positive};

/// Where config values come from: the name shown in error messages and the
/// directory relative paths start from. A config file, or code (a spec builder).
#[derive(Debug, Clone)]
pub struct Origin {
    shown: String,
    dir: PathBuf,
}

impl Origin {
    /// Values read from `file`.
    pub fn file(file: &Path) -> Origin {
        Origin {
            shown: file.display().to_string(),
            dir: file.parent().unwrap_or(Path::new(".")).to_path_buf(),
        }
    }

    /// Values given in code, e.g. `Origin::code("LearningSpec::builder")`; relative
    /// paths start from the working directory.
    pub fn code(name: &str) -> Origin {
        Origin {
            shown: name.to_string(),
            dir: PathBuf::new(),
        }
    }

    /// A config error for `field`.
    pub fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::config(&self.shown, field, message)
    }

    /// Resolves a path written in the config relative to the config's directory.
    pub fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

/// A parsed config with its location.
#[derive(Debug, Clone)]
pub struct Config {
    /// The typed config (parsed, not yet validated: see `validate()` of each kind).
    pub experiment: Experiment,
    /// The config as a generic table (without `[sweep]`, with any overrides applied),
    /// echoed into the summary and hashed.
    pub table: toml::Table,
    /// The `[sweep]` table, if the file has one: removed before the typed parse (the
    /// config is the sweep's base point; `lmser sweep` reads the grid from here).
    pub sweep: Option<toml::Table>,
    /// The config file.
    pub file: PathBuf,
    origin: Origin,
}

impl Config {
    /// Reads and parses a config file (unknown keys and wrong types are errors).
    pub fn load(file: &Path) -> Result<Config> {
        Self::load_with(file, &Overrides::default())
    }

    /// Reads a config file and parses it with `overrides` applied (see
    /// [`Config::parse_with`]).
    pub fn load_with(file: &Path, overrides: &Overrides) -> Result<Config> {
        let text = Self::read_text(file)?;
        Self::parse_with(&text, file, overrides)
    }

    /// The text of a config file (an error names the file and says why).
    pub fn read_text(file: &Path) -> Result<String> {
        let shown = file.display().to_string();
        if file.is_dir() {
            return Err(Error::config(
                shown,
                "(file)",
                "is a directory; give a .toml config file",
            ));
        }
        std::fs::read_to_string(file).map_err(|e| {
            Error::config(
                &shown,
                "(file)",
                format!("cannot read ({e}); check the path"),
            )
        })
    }

    /// Parses config text that lives at `file` (for relative paths and messages).
    /// A `[sweep]` table is set aside (in [`Config::sweep`]) and the rest parsed:
    /// the base point of the sweep. [`Config::parse_with`] also applies overrides.
    ///
    /// Two steps: `kind` is read first (with `name`, so an empty file still asks for
    /// `name` first), then the whole text is deserialized straight into that kind's
    /// struct; for learning configs `learning.mode` is read in between and picks the
    /// type of `[learning]`. Serde's own tagging (`#[serde(tag = "kind")]`,
    /// `#[serde(flatten)]`) would buffer the input into an untyped tree: that loses
    /// the spans toml attaches to errors (the line and key our messages name) and
    /// disables `deny_unknown_fields` under flatten.
    pub fn parse(text: &str, file: &Path) -> Result<Config> {
        Self::parse_with(text, file, &Overrides::default())
    }

    /// A stable hash of the parsed config and of every file it names (FNV-1a over the
    /// config's canonical JSON, then each named file's bytes): a resumed run must have
    /// the same hash as the run it continues, so editing a weight file is caught too.
    pub fn hash(&self) -> String {
        fn fnv(h: u64, bytes: &[u8]) -> u64 {
            bytes
                .iter()
                .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
        }
        let text = serde_json::to_string(&self.table).unwrap_or_default();
        let mut h = fnv(0xcbf29ce484222325, text.as_bytes());
        for path in self.named_files() {
            if let Ok(bytes) = std::fs::read(path) {
                h = fnv(h, &bytes);
            }
        }
        format!("{h:016x}")
    }

    /// Every string value of the config resolved as a path relative to the config
    /// (the files it may read; strings that name no file are harmless here).
    pub fn named_files(&self) -> Vec<PathBuf> {
        fn strings<'a>(v: &'a toml::Value, out: &mut Vec<&'a str>) {
            match v {
                toml::Value::String(s) => out.push(s),
                toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let mut names = Vec::new();
        self.table.values().for_each(|v| strings(v, &mut names));
        names.into_iter().map(|n| self.path(n)).collect()
    }

    /// The run name (`name`).
    pub fn name(&self) -> &str {
        self.experiment.name()
    }

    /// The experiment kind (`kind`).
    pub fn kind(&self) -> &str {
        self.experiment.kind().name()
    }

    /// The master seed (`seed`).
    pub fn seed(&self) -> u64 {
        self.experiment.seed()
    }

    /// Wall-clock seconds between checkpoints (`[solver] checkpoint_interval`,
    /// default 60).
    pub fn checkpoint_interval(&self) -> f64 {
        self.experiment
            .solver()
            .and_then(|s| s.checkpoint_interval)
            .unwrap_or(60.0)
    }

    /// Where the values come from (for errors and relative paths).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Resolves a path written in the config relative to the config's directory.
    pub fn path(&self, p: &str) -> PathBuf {
        self.origin.path(p)
    }

    /// A config error for `field` in this file.
    pub fn err(&self, field: &str, message: impl Into<String>) -> Error {
        self.origin.err(field, message)
    }

    /// A config error for a spec of `wanted` kind built from this config.
    pub fn wrong_kind(&self, wanted: KindName) -> Error {
        self.err(
            "kind",
            format!(
                "is {:?}, but a {:?} spec was asked for",
                self.kind(),
                wanted.name()
            ),
        )
    }
}

/// Both parsing steps: `name` and `kind`, then the text as `kind`'s struct.
fn typed(text: &str, shown: &str) -> Result<Experiment> {
    let head: Head = toml::from_str(text).map_err(|e| toml_error(shown, text, &e, None))?;
    parse_kind(text, shown, head.kind)
}

/// The second parsing step: the text as `kind`'s struct.
fn parse_kind(text: &str, shown: &str, kind: KindName) -> Result<Experiment> {
    fn read<T: serde::de::DeserializeOwned>(
        text: &str,
        shown: &str,
        kind: KindName,
        mode: Option<ModeName>,
    ) -> Result<T> {
        toml::from_str(text).map_err(|e| toml_error(shown, text, &e, Some((kind, mode))))
    }
    Ok(match kind {
        KindName::Perceptron => Experiment::Perceptron(read(text, shown, kind, None)?),
        KindName::Landscape => Experiment::Landscape(read(text, shown, kind, None)?),
        KindName::Comparison => Experiment::Comparison(read(text, shown, kind, None)?),
        KindName::Learning if read::<Route>(text, shown, kind, None)?.multilayer() => {
            Experiment::Multilayer(read(text, shown, kind, None)?)
        }
        KindName::Learning => {
            let head: ModeHead = read(text, shown, kind, None)?;
            let mode = head.learning.map(|l| l.mode).unwrap_or_default();
            let m = Some(mode);
            let config = match mode {
                ModeName::Averaged => read::<LearningConfig<AveragedTable>>(text, shown, kind, m)?
                    .map_learning(LearningSection::from),
                ModeName::Stochastic => {
                    read::<LearningConfig<StochasticTable>>(text, shown, kind, m)?
                        .map_learning(LearningSection::from)
                }
                ModeName::Coupled => read::<LearningConfig<CoupledTable>>(text, shown, kind, m)?
                    .map_learning(LearningSection::from),
                ModeName::TwoPhase => read::<LearningConfig<TwoPhaseTable>>(text, shown, kind, m)?
                    .map_learning(LearningSection::from),
            };
            Experiment::Learning(config)
        }
    })
}

/// Why a key that does not parse for this kind (and learning mode) is refused, when
/// another kind or mode would use it.
fn unused_hint(kind: KindName, mode: Option<ModeName>, section: &str, key: &str) -> Option<String> {
    const SECTIONS: &[&str] = &[
        "network",
        "input",
        "initial",
        "solver",
        "data",
        "learning",
        "init",
        "landscape",
    ];
    let by_kind = format!("is not used by kind = {:?}; remove it", kind.name());
    match section {
        "" if SECTIONS.contains(&key) => Some(by_kind),
        "learning" => {
            let mode = mode.unwrap_or_default();
            let other_mode = [ModeName::Stochastic, ModeName::Coupled, ModeName::TwoPhase]
                .iter()
                .any(|m| m.keys().contains(&key));
            other_mode.then(|| format!("is not used by mode = {:?}; remove it", mode.name()))
        }
        "data" if key == "n_samples" => Some(by_kind),
        "network" if kind == KindName::Learning && ["weights", "init", "label"].contains(&key) => {
            Some("learning runs take W0 from [init]; remove it".into())
        }
        _ => None,
    }
}

/// The table name of a `[header]` or `[[header]]` line.
fn header(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix("[[").or_else(|| t.strip_prefix('['))?;
    let (name, rest) = inner.split_once(']')?;
    let rest = rest.trim_start_matches(']').trim();
    let name = name.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-. \"'".contains(c));
    (ok && (rest.is_empty() || rest.starts_with('#'))).then_some(name)
}

/// One line from a toml error: the file, the field (`section.key`) or header, the line
/// and its text, the message. `context` (the kind and learning mode being parsed)
/// explains keys that another kind or mode would use.
fn toml_error(
    file: &str,
    text: &str,
    e: &toml::de::Error,
    context: Option<(KindName, Option<ModeName>)>,
) -> Error {
    let mut message = e.message().trim().replace('\n', " ");
    // A number or list where a choice (enum) goes: toml's and serde's words.
    if message == "wanted string or table" {
        message = "invalid type: expected a name in quotes".into();
    }
    if let Some((head, rest)) = message.split_once("expected enum ") {
        let tail = rest.trim_start_matches(|c: char| c.is_alphanumeric());
        message = format!("{head}expected a name in quotes{tail}");
    }
    let removed = message
        .strip_prefix("unknown variant `")
        .and_then(|m| m.split('`').next())
        .and_then(crate::solver::Method::removed);
    if let Some(instead) = removed {
        message = format!("{message}; {instead}");
    }
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next());
    let Some(span) = e.span() else {
        return match missing {
            Some(field) => Error::config(
                file,
                field,
                format!("{message}; add it (see the config reference in README.md)"),
            ),
            None => Error::config(file, "(syntax)", message),
        };
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(line_no - 1).copied().unwrap_or("").trim();
    let section = lines[..(line_no - 1).min(lines.len())]
        .iter()
        .rev()
        .find_map(|l| header(l))
        .unwrap_or("");
    let dotted = |key: &str| match section {
        "" => key.to_string(),
        s => format!("{s}.{key}"),
    };
    if let Some(field) = missing {
        // The span is the table that lacks the key: a header line, or an inline
        // table after `key = ` on this line.
        let start = span.start.min(text.len());
        let before = &text[text[..start].rfind('\n').map_or(0, |i| i + 1)..start];
        let table = match (header(line), before.rsplit_once('=')) {
            (Some(h), _) => h.to_string(),
            (None, Some((k, _))) => dotted(k.rsplit(['{', ',']).next().unwrap_or(k).trim()),
            (None, None) => section.to_string(),
        };
        let field = match table.as_str() {
            "" => field.to_string(),
            t => format!("{t}.{field}"),
        };
        return Error::config(
            file,
            field,
            format!("{message}; add it (see the config reference in README.md)"),
        );
    }
    // The field named: the header line itself, or `section.key`; `parent` is the
    // table that holds the offending key.
    let (field, parent) = match header(line) {
        Some(h) => (line.to_string(), h.rsplit_once('.').map_or("", |p| p.0)),
        None => {
            let key = line
                .split_once('=')
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty())
                .unwrap_or(line);
            (dotted(key), section)
        }
    };
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next());
    let hint = match (unknown, context) {
        (Some(u), Some((kind, mode))) => unused_hint(kind, mode, parent, u),
        _ => None,
    };
    let tail = match hint {
        Some(h) => h,
        None => format!("{message}; see the config reference in README.md"),
    };
    Error::config(file, field, format!("line {line_no} (`{line}`): {tail}"))
}
