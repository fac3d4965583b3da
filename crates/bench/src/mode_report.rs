//! What every mode's report can do: give its figures as [`Metric`]s, print them as a table
//! with the mode's own explanations under it, or as JSON lines. `main` prints any mode, and
//! takes the medians of repeated rounds, through this trait alone.

use crate::metric::{Metric, print_metrics_json, print_metrics_table};

pub trait ModeReport {
    /// The line above the table: the mode and its sizes.
    fn heading(&self) -> String;

    /// The figures, in a fixed order (the same each round, for [`crate::metric::median_metrics`]).
    fn metrics(&self) -> Vec<Metric>;

    /// What the table alone does not say: stats, rows per table, how the baseline was read.
    fn print_details(&self);

    fn print_json(&self) {
        print_metrics_json(self.metrics());
    }

    fn print_table(&self) {
        println!("{}", self.heading());
        print_metrics_table(self.metrics());
        println!();
        self.print_details();
    }
}
