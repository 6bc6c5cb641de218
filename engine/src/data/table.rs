//! Tables: CSV parsing, and fastai's tabular preprocessing (`Categorify`, `FillMissing`, `Normalize`) fitted on the
//! training rows only.
//!
//! - categorical columns become indices into a vocabulary built from the training rows, sorted, with `#na#` at
//!   index 0 for missing values and values never seen in training;
//! - continuous columns with missing training values are filled with the training median, and a categorical
//!   column `<name>_na` (`False`/`True`, as pandas' booleans) records where that happened;
//! - continuous columns are normalised with the training mean and standard deviation.
//!
//! What each step learned stays in the [`TabularSet`] (`vocabs`, `filled`, `stats`), for a page to show.

use super::{TabularSet, TabularTargets, mean_std};
use crate::error::{ErrorKind, OpError, Result};

/// One column of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Text values (`None` where missing).
    Text(Vec<Option<String>>),
    /// Numbers (`None` where missing).
    Number(Vec<Option<f32>>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Number(v) => v.len(),
        }
    }

    /// Whether value `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Text(v) => v[row].is_none(),
            Column::Number(v) => v[row].is_none(),
        }
    }

    /// Value `row` as text (numbers printed), or `None` when missing.
    fn text(&self, row: usize) -> Option<String> {
        match self {
            Column::Text(v) => v[row].clone(),
            Column::Number(v) => v[row].map(|x| x.to_string()),
        }
    }
}

/// A table: named columns of equal length.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// `(name, values)`, in order.
    pub columns: Vec<(String, Column)>,
}

/// Cells that mean "missing".
const MISSING: [&str; 4] = ["", "NA", "NaN", "nan"];

impl Table {
    /// Parses a CSV with a header row (no quoted commas). A column whose present values all parse as numbers is
    /// numeric; `NA`, `NaN` and empty cells are missing.
    pub fn parse_csv(text: &str) -> Result<Table> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines.next().unwrap_or_default().split(',').map(|s| s.trim().to_string()).collect();
        let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
        for (i, line) in lines.enumerate() {
            let row: Vec<&str> = line.split(',').collect();
            if row.len() != header.len() {
                return Err(OpError::new("csv", ErrorKind::Shape, "a row has the wrong number of cells")
                    .expected(format!("{} cells, like the header", header.len()))
                    .given(format!("{} cells on data row {}", row.len(), i + 1))
                    .hint("check the file for quoted commas or a truncated line")
                    .into());
            }
            for (column, cell) in cells.iter_mut().zip(row) {
                column.push(cell.trim().to_string());
            }
        }
        let columns = header
            .into_iter()
            .zip(cells)
            .map(|(name, values)| {
                let present = |s: &String| !MISSING.contains(&s.as_str());
                let numeric = values.iter().filter(|s| present(s)).all(|s| s.parse::<f32>().is_ok());
                let column = if numeric {
                    Column::Number(values.iter().map(|s| if present(s) { s.parse().ok() } else { None }).collect())
                } else {
                    Column::Text(values.into_iter().map(|s| if present(&s) { Some(s) } else { None }).collect())
                };
                (name, column)
            })
            .collect();
        Ok(Table { columns })
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// The column `name`.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c).ok_or_else(|| {
            OpError::new("table", ErrorKind::Shape, "there is no such column")
                .expected(format!("one of {:?}", self.columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()))
                .given(name)
                .hint("check the column's spelling")
                .into()
        })
    }

    /// The numbers of column `name`.
    pub fn numbers(&self, name: &str) -> Result<&[Option<f32>]> {
        match self.column(name)? {
            Column::Number(v) => Ok(v),
            Column::Text(_) => Err(OpError::new("table", ErrorKind::Value, "the column is not numeric")
                .expected("numbers")
                .given(name)
                .hint("use it as a categorical column")
                .into()),
        }
    }

    /// Preprocessed training and validation sets (everything fitted on `train` rows), predicting `target`: its
    /// log when `log_target` (for a regression), its classes when it is text.
    pub fn tabular_sets(&self, cats: &[&str], conts: &[&str], target: &str, train: &[usize], valid: &[usize], log_target: bool) -> (TabularSet, TabularSet) {
        let mut cat_names: Vec<String> = cats.iter().map(|s| s.to_string()).collect();
        let mut vocabs: Vec<Vec<String>> = Vec::new();
        let mut cat_columns: Vec<Vec<i64>> = Vec::new();
        for name in cats {
            let Ok(column) = self.column(name) else { continue };
            // pandas orders a numeric column's categories by value (2 before 10), a text column's as text.
            let mut vocab: Vec<String> = match column {
                Column::Number(v) => {
                    let mut values: Vec<f32> = train.iter().filter_map(|&r| v[r]).collect();
                    values.sort_by(f32::total_cmp);
                    values.dedup();
                    values.iter().map(|x| x.to_string()).collect()
                }
                Column::Text(v) => {
                    let mut values: Vec<String> = train.iter().filter_map(|&r| v[r].clone()).collect();
                    values.sort();
                    values.dedup();
                    values
                }
            };
            vocab.insert(0, "#na#".into());
            cat_columns.push((0..self.rows()).map(|r| column.text(r).and_then(|v| vocab.iter().position(|x| *x == v)).unwrap_or(0) as i64).collect());
            vocabs.push(vocab);
        }
        let (mut cont_columns, mut filled, mut stats) = (Vec::<Vec<f32>>::new(), Vec::new(), Vec::new());
        for name in conts {
            let Ok(values) = self.numbers(name) else { continue };
            let mut present: Vec<f32> = train.iter().filter_map(|&r| values[r]).collect();
            present.sort_by(f32::total_cmp);
            // pandas' median: the middle value, or the mean of the two middle ones.
            let n = present.len();
            let median = if n == 0 { 0.0 } else if n % 2 == 1 { present[n / 2] } else { (present[n / 2 - 1] + present[n / 2]) / 2.0 };
            if train.iter().any(|&r| values[r].is_none()) {
                cat_names.push(format!("{name}_na"));
                vocabs.push(vec!["#na#".into(), "False".into(), "True".into()]);
                cat_columns.push(values.iter().map(|v| if v.is_none() { 2 } else { 1 }).collect());
                filled.push((name.to_string(), median));
            }
            let column: Vec<f32> = values.iter().map(|v| v.unwrap_or(median)).collect();
            let (mean, std) = mean_std(train.iter().map(|&r| column[r]));
            cont_columns.push(column.iter().map(|v| (v - mean) / std).collect());
            stats.push((mean, std));
        }
        let targets = match self.column(target) {
            Ok(Column::Number(v)) => {
                TabularTargets::Values(v.iter().map(|x| x.unwrap_or(0.0)).map(|x| if log_target { x.max(1e-6).ln() } else { x }).collect())
            }
            Ok(Column::Text(v)) => {
                let mut classes: Vec<String> = train.iter().filter_map(|&r| v[r].clone()).collect();
                classes.sort();
                classes.dedup();
                TabularTargets::Classes(v.iter().map(|x| x.as_ref().and_then(|x| classes.iter().position(|c| c == x)).unwrap_or(0) as i64).collect(), classes)
            }
            Err(_) => TabularTargets::Values(vec![0.0; self.rows()]),
        };
        let all = TabularSet {
            cont_names: conts.iter().filter(|n| self.numbers(n).is_ok()).map(|s| s.to_string()).collect(),
            cats: (0..self.rows()).flat_map(|r| cat_columns.iter().map(move |c| c[r])).collect(),
            conts: (0..self.rows()).flat_map(|r| cont_columns.iter().map(move |c| c[r])).collect(),
            cat_names,
            vocabs,
            targets,
            filled,
            stats,
        };
        (all.subset(train), all.subset(valid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::random_split;

    #[test]
    fn penguins_load_with_missing_values_filled_and_flagged() {
        let table = Table::parse_csv(include_str!("../../../public/data/penguins.csv")).unwrap();
        assert_eq!(table.rows(), 344);
        assert!(matches!(table.column("species").unwrap(), Column::Text(_)));
        assert!(table.numbers("bill_length_mm").unwrap().iter().any(Option::is_none));
        let (train, valid) = random_split(table.rows(), 0.2, 1);
        let (t, v) = table.tabular_sets(&["island", "sex"], &["bill_length_mm", "flipper_length_mm"], "species", &train, &valid, false);
        assert!(t.cat_names.contains(&"bill_length_mm_na".to_string()));
        assert_eq!(t.vocabs[0], ["#na#", "Biscoe", "Dream", "Torgersen"]);
        assert!(t.conts.iter().all(|v| v.is_finite()));
        let TabularTargets::Classes(_, classes) = &v.targets else { panic!("species are classes") };
        assert_eq!(classes, &["Adelie", "Chinstrap", "Gentoo"]);
    }

    #[test]
    fn grunfeld_is_numeric_with_firms_as_text() {
        let table = Table::parse_csv(include_str!("../../../public/data/grunfeld.csv")).unwrap();
        assert_eq!(table.rows(), 220);
        assert!(table.numbers("invest").unwrap().iter().all(Option::is_some));
        assert!(matches!(table.column("firm").unwrap(), Column::Text(_)));
    }

    #[test]
    fn ragged_rows_are_explained() {
        assert!(Table::parse_csv("a,b\n1,2\n3\n").is_err());
    }
}
