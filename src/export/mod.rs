//! Writing frames to files, atomically: a temp file in the target's
//! directory, flushed and synced, then renamed over the target. A cron job
//! killed mid-write leaves the old file (or none), never half a Parquet file.
//! [`target`] decides what "the target" is (and refuses what it must not
//! replace).

pub mod events;
pub mod findings;
pub mod journeys;
pub mod prometheus;
pub mod state;
pub mod target;

use crate::escape::csv_cell;
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetCompression, ParquetWriter, SerWriter};
use std::io;
pub use target::{Target, write_to};

/// A file format mtastat exports frames in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row; formula-looking cells neutralised.
    Csv,
    /// Parquet, zstd-compressed.
    Parquet,
}

/// Writes `df` to `target` in `format`, atomically when it is a file.
pub fn write_frame(df: &DataFrame, target: &Target, format: Format) -> io::Result<()> {
    write_to(target, |w| match format {
        Format::Csv => {
            let mut safe = neutralised(df).map_err(io::Error::other)?;
            CsvWriter::new(w)
                .include_header(true)
                .finish(&mut safe)
                .map_err(io::Error::other)
        }
        Format::Parquet => {
            let mut df = df.clone();
            ParquetWriter::new(w)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(&mut df)
                .map(|_| ())
                .map_err(io::Error::other)
        }
    })
}

/// A copy of `df` whose string cells cannot be read as spreadsheet formulas.
fn neutralised(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut columns = Vec::with_capacity(df.width());
    for c in df.columns() {
        if c.dtype() == &DataType::String {
            let values: Vec<Option<String>> = c
                .str()?
                .iter()
                .map(|v| v.map(|s| csv_cell(s).into_owned()))
                .collect();
            columns.push(Column::new(c.name().clone(), values));
        } else {
            columns.push(c.clone());
        }
    }
    DataFrame::new(df.height(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn csv_cells_are_neutralised() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("domain".into(), ["=cmd|' /C calc'!A0", "gmail.com"]),
                Column::new("count".into(), [1u64, 2]),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        write_frame(&df, &Target::File(p.clone()), Format::Csv).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains("'=cmd"), "{text}");
        assert!(text.contains("gmail.com,2"), "{text}");
    }
}
