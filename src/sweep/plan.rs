//! The grid of a sweep: the `[sweep]` table's axes (dotted keys to lists of values),
//! their product in a fixed order, `seeds` replicates of each point, and the config of
//! every run (the base config with the point's values and the run's seed set).

use crate::error::{Error, Result};
use crate::io::config::{Config, KindName, Overrides};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Most runs a sweep may have.
pub const MAX_RUNS: u64 = 1_000_000;

/// One swept key and its values.
#[derive(Debug, Clone)]
pub struct Axis {
    /// The dotted key, e.g. `init.scale`.
    pub key: String,
    /// Its values, in the order given.
    pub values: Vec<Value>,
}

/// The runs of a sweep config.
#[derive(Debug, Clone)]
pub struct Plan {
    file: PathBuf,
    text: String,
    set: Overrides,
    /// The axes, sorted by key (byte order).
    pub axes: Vec<Axis>,
    /// Replicates of each grid point (`seeds`, default 1).
    pub replicates: u64,
    /// The base config's seed (after `--set`), from which run seeds derive.
    pub base_seed: u64,
    /// The base config's name.
    pub name: String,
    /// The kind of every run.
    pub kind: KindName,
}

/// One run of the grid.
#[derive(Debug, Clone)]
pub struct Point {
    /// Run index.
    pub index: u64,
    /// The value of each axis (in axis order).
    pub values: Vec<Value>,
    /// Which replicate of its grid point (0-based).
    pub replicate: u64,
    /// The run's seed, [`run_seed`] of the base seed and the index.
    pub seed: u64,
}

/// The seed of run `index` of a sweep whose config has seed `seed`: output number
/// `index + 1` of a SplitMix64 generator started at `seed`, shifted right by one bit
/// so that it is a (non-negative) TOML integer:
///
/// ```text
/// z = seed + (index + 1) * 0x9E3779B97F4A7C15          (mod 2^64)
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
/// z = (z ^ (z >> 27)) * 0x94D049BB133111EB
/// run seed = (z ^ (z >> 31)) >> 1
/// ```
pub fn run_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 1
}

impl Plan {
    /// Reads a sweep config with `--set` arguments `set` applied to its base point.
    pub fn load(file: &Path, set: &[String]) -> Result<Plan> {
        let set = Overrides::from_args(set, file)?;
        let text = Config::read_text(file)?;
        let base = Config::parse_with(&text, file, &set)?;
        let shown = file.display().to_string();
        let Some(sweep) = &base.sweep else {
            return Err(Error::config(
                shown,
                "sweep",
                "the config has no [sweep] table; add one (see README.md, Sweeps) or run it with lmser run",
            ));
        };
        let (axes, replicates) = axes_of(sweep, &shown)?;
        for o in set.iter() {
            let clash = axes.iter().find(|a| {
                let under =
                    |x: &str, y: &str| x.strip_prefix(y).is_some_and(|r| r.starts_with('.'));
                a.key == o.key || under(&a.key, &o.key) || under(&o.key, &a.key)
            });
            if let Some(a) = clash {
                return Err(Error::config(
                    &shown,
                    &o.label,
                    format!("[sweep] sets {} too; remove one of them", a.key),
                ));
            }
        }
        let plan = Plan {
            file: file.to_path_buf(),
            text,
            set,
            axes,
            replicates,
            base_seed: base.seed(),
            name: base.name().to_string(),
            kind: base.experiment.kind(),
        };
        let total = plan
            .axes
            .iter()
            .try_fold(plan.replicates, |n, a| n.checked_mul(a.values.len() as u64));
        match total {
            Some(n) if n <= MAX_RUNS => Ok(plan),
            _ => Err(Error::config(
                &shown,
                "sweep",
                format!("the grid has more than {MAX_RUNS} runs; sweep fewer values"),
            )),
        }
    }

    /// Number of runs.
    pub fn len(&self) -> u64 {
        self.axes
            .iter()
            .fold(self.replicates, |n, a| n * a.values.len() as u64)
    }

    /// True when the grid has no runs (never: every axis has a value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run `index`: replicates vary fastest, then the axes from the last key to
    /// the first (row-major over the sorted keys):
    /// `index = (point * replicates) + replicate`.
    pub fn point(&self, index: u64) -> Point {
        let replicate = index % self.replicates;
        let mut rest = index / self.replicates;
        let mut values = vec![Value::Boolean(false); self.axes.len()];
        for (a, v) in self.axes.iter().zip(values.iter_mut()).rev() {
            let n = a.values.len() as u64;
            *v = a.values[(rest % n) as usize].clone();
            rest /= n;
        }
        Point {
            index,
            values,
            replicate,
            seed: run_seed(self.base_seed, index),
        }
    }

    /// The values run `index` sets on the config: the `--set` values, the point's
    /// values, then its seed.
    pub fn overrides(&self, index: u64) -> Overrides {
        let p = self.point(index);
        let mut o = Overrides::default();
        for (a, v) in self.axes.iter().zip(&p.values) {
            let label = format!("sweep.\"{}\" = {v}", a.key);
            o.push(&a.key, v.clone(), label, &self.file)
                .expect("axis keys were checked");
        }
        let label = format!("seed (of run {index})");
        o.push("seed", Value::Integer(p.seed as i64), label, &self.file)
            .expect("seed is a key");
        self.set.then(&o)
    }

    /// The config of run `index` (parsed; validated by running it or by
    /// [`crate::experiment::validate`], whose errors [`Plan::overrides`] attributes).
    pub fn config(&self, index: u64) -> Result<Config> {
        Config::parse_with(&self.text, &self.file, &self.overrides(index))
    }

    /// The name of run `index`'s directory under `runs/`: the index zero-padded to
    /// at least 4 digits (more when the sweep has more runs).
    pub fn dir_name(&self, index: u64) -> String {
        let width = (self.len().saturating_sub(1)).to_string().len().max(4);
        format!("{index:0width$}")
    }
}

/// The axes of a `[sweep]` table (sorted by key) and its number of replicates.
/// Keys are dotted, quoted (`"init.scale" = [..]`) or as nested tables.
fn axes_of(sweep: &Table, shown: &str) -> Result<(Vec<Axis>, u64)> {
    fn flatten(t: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
        for (k, v) in t {
            let key = match prefix {
                "" => k.clone(),
                p => format!("{p}.{k}"),
            };
            match v {
                Value::Table(inner) => flatten(inner, &key, out),
                other => out.push((key, other.clone())),
            }
        }
    }
    let mut entries = Vec::new();
    flatten(sweep, "", &mut entries);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut axes: Vec<Axis> = Vec::new();
    let mut replicates = 1;
    for (key, v) in entries {
        let field = format!("sweep.\"{key}\"");
        let err = |m: &str| Error::config(shown, &field, m);
        match (key.as_str(), v) {
            ("seeds", Value::Integer(n)) if (1..=MAX_RUNS as i64).contains(&n) => {
                replicates = n as u64;
            }
            ("seeds", _) => {
                return Err(Error::config(
                    shown,
                    "sweep.seeds",
                    "must be a whole number >= 1 (the replicates of each grid point)",
                ));
            }
            ("seed", _) => {
                return Err(err(
                    "run seeds derive from `seed` and the run index; sweep replicates with seeds = n",
                ));
            }
            ("kind", _) => {
                return Err(err(
                    "cannot be swept (index.csv's columns depend on the kind); sweep each kind in its own config",
                ));
            }
            (_, Value::Array(values)) if !values.is_empty() => {
                if axes.iter().any(|a| a.key == key) {
                    return Err(err("is given twice; keep one"));
                }
                let mut probe = Overrides::default();
                probe.push(&key, Value::Boolean(true), field.clone(), Path::new(shown))?;
                axes.push(Axis { key, values });
            }
            (_, _) => {
                return Err(err(
                    "must be a non-empty list of the values to sweep, e.g. \"init.scale\" = [0.1, 0.3]",
                ));
            }
        }
    }
    Ok((axes, replicates))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run indices enumerate replicates fastest, then the last key, then the first.
    #[test]
    fn grid_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        let text = "name = \"s\"\nkind = \"landscape\"\nseed = 9\n[network]\nlayers = [3, 1]\n\
                    [data]\neigenvalues = [3.0, 2.0, 1.0]\n\
                    [sweep]\n\"b.x\" = [1, 2, 3]\n\"a.y\" = [10, 20]\nseeds = 2\n";
        std::fs::write(&file, text).unwrap();
        let plan = Plan::load(&file, &[]).unwrap();
        assert_eq!(plan.len(), 12);
        let keys: Vec<&str> = plan.axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["a.y", "b.x"]);
        let p = plan.point(7);
        assert_eq!(p.replicate, 1);
        assert_eq!(p.values, [Value::Integer(20), Value::Integer(1)]);
        assert_eq!(
            plan.point(5).values,
            [Value::Integer(10), Value::Integer(3)]
        );
        assert_eq!(p.seed, run_seed(9, 7));
        assert_eq!(
            plan.point(11).values,
            [Value::Integer(20), Value::Integer(3)]
        );
        assert_eq!(plan.dir_name(7), "0007");
    }

    /// The first outputs of SplitMix64 from state 0 (reference values of the
    /// generator), shifted by one bit.
    #[test]
    fn seed_formula_is_splitmix64() {
        assert_eq!(run_seed(0, 0), 0xE220A8397B1DCDAF >> 1);
        assert_eq!(run_seed(0, 1), 0x6E789E6AA1B965F4 >> 1);
    }
}
