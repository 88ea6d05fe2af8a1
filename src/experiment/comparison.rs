//! `kind = "comparison"`: the slides' reconstruction table rerun here. Every model of
//! [`crate::compare`] is trained on the same train split, with the same layer sizes,
//! minibatches and optimizer, and measured at the same iteration counts; outputs are
//! `table.csv`, `curves.csv`, `learning_curves.png` and the Markdown table in
//! `summary.json`.

use super::{Kind, Run, RunOptions};
use crate::compare::recall::recall_modes;
use crate::compare::{
    MODELS, OptimizerSpec, Split, TableSpec, mean_std, run_table, summary_table, table_model,
    write_outputs,
};
use crate::error::Result;
use crate::experiment::multilayer::SampleSet;
use crate::io::config::{ComparisonConfig, Config, Experiment, KindName};

/// The comparison kind.
pub(crate) struct Comparison;

/// A validated comparison: the splits and the table's spec.
pub struct ComparisonSpec {
    train: Split,
    test: Split,
    table: TableSpec,
    side: Option<(usize, usize)>,
}

fn split(set: SampleSet) -> Split {
    Split {
        x: set.x,
        labels: set.labels.unwrap_or_default(),
    }
}

fn validate(c: &ComparisonConfig, cfg: &Config) -> Result<TableSpec> {
    let at = cfg.origin();
    let layers = &c.network.layers;
    if layers.len() < 2 || layers.contains(&0) {
        return Err(at.err(
            "network.layers",
            format!("need [n0, n1, ..., nK] with sizes >= 1 (got {layers:?})"),
        ));
    }
    if c.data.samples.is_some() || (c.data.dataset.is_none() && c.data.images.is_none()) {
        return Err(at.err(
            "data",
            "a comparison needs labelled images: dataset = \"digits\" or images + labels",
        ));
    }
    let s = &c.comparison;
    let mut table = TableSpec::new(layers.clone(), 0);
    if let Some(models) = &s.models {
        if let Some(bad) = models.iter().find(|m| !MODELS.contains(&m.as_str())) {
            return Err(at.err(
                "comparison.models",
                format!("unknown model {bad:?}; valid names: {}", MODELS.join(", ")),
            ));
        }
        table.models = models.clone();
    } else {
        table.models = MODELS.iter().map(|m| m.to_string()).collect();
    }
    if let Some(seeds) = &s.seeds {
        table.seeds = seeds.clone();
    }
    if let Some(cp) = &s.checkpoints {
        if cp.is_empty() || cp.windows(2).any(|w| w[0] >= w[1]) || cp[0] == 0 {
            return Err(at.err(
                "comparison.checkpoints",
                "give increasing iteration counts >= 1",
            ));
        }
        table.checkpoints = cp.clone();
    }
    if let Some(b) = s.batch {
        if b == 0 {
            return Err(at.err("comparison.batch", "must be at least 1"));
        }
        table.batch = b;
    }
    if let Some(eta) = s.eta {
        crate::io::config::validate::positive(at, "comparison.eta", eta)?;
        table.optimizer = OptimizerSpec::adam(eta);
    }
    Ok(table)
}

impl Kind for Comparison {
    type Spec = ComparisonSpec;

    fn spec(cfg: &Config) -> Result<ComparisonSpec> {
        let Experiment::Comparison(c) = &cfg.experiment else {
            return Err(cfg.wrong_kind(KindName::Comparison));
        };
        let mut table = validate(c, cfg)?;
        let at = cfg.origin();
        let (train, test, side) =
            crate::experiment::multilayer::spec::samples(&c.data, c.seed, at)?;
        let test = test.ok_or_else(|| {
            at.err(
                "data.test_fraction",
                "the table needs a test set; use a fraction in (0, 1)",
            )
        })?;
        if train.x.nrows() != c.network.layers[0] {
            return Err(at.err(
                "network.layers",
                format!(
                    "n0 = {} but the images have {} pixels; set layers[0] = {}",
                    c.network.layers[0],
                    train.x.nrows(),
                    train.x.nrows()
                ),
            ));
        }
        table.classes = train.classes;
        Ok(ComparisonSpec {
            train: split(train),
            test: split(test),
            table,
            side,
        })
    }

    fn run(spec: &ComparisonSpec, run: &mut Run, _opts: &RunOptions) -> Result<()> {
        let out = run_table(&spec.train, &spec.test, &spec.table, &table_model)?;
        write_outputs(run.dir().path(), &out, true)?;
        let markdown = summary_table(&out.rows);
        run.set("table", &markdown);
        for line in markdown.lines() {
            run.say(format!("  {line}"));
        }
        let t = &spec.table;
        if let (Some(side), true) = (spec.side, t.models.iter().any(|m| m == "sup-lmser")) {
            let last = *t.checkpoints.last().expect("validated");
            let mut reports = Vec::new();
            for (i, &seed) in t.seeds.iter().enumerate() {
                let grids = (i == 0).then(|| run.dir().path().to_path_buf());
                reports.push(recall_modes(
                    &spec.train,
                    &spec.test,
                    t,
                    last,
                    seed,
                    side,
                    grids.as_deref(),
                )?);
            }
            let stat = |f: &dyn Fn(&crate::compare::recall::RecallReport) -> f64| {
                mean_std(&reports.iter().map(f).collect::<Vec<_>>())
            };
            let (a, a_sd) = stat(&|r| r.association_error);
            let (b, _) = stat(&|r| r.mean_image_error);
            let (noisy, noisy_sd) =
                stat(&|r| r.noisy_accuracy_settled - r.noisy_accuracy_feedforward);
            let (clean, clean_sd) =
                stat(&|r| r.clean_accuracy_settled - r.clean_accuracy_feedforward);
            let (gain, gain_sd) = stat(&|r| r.attention_gain());
            run.say(format!(
                "  association recall: hidden-half MSE {a:.4} ± {a_sd:.4} (mean image {b:.4}); settled - feed-forward accuracy: noisy {noisy:+.4} ± {noisy_sd:.4}, clean {clean:+.4} ± {clean_sd:.4}, difference {gain:+.4} ± {gain_sd:.4}"
            ));
            run.set("recall", &reports);
        }
        Ok(())
    }
}
