//! Writing frames to files, atomically: a temp file in the target's
//! directory, flushed and synced, then renamed over the target. A cron job
//! killed mid-write leaves the old file (or none), never half a Parquet file.

pub mod events;
pub mod journeys;
pub mod prometheus;

use crate::report::sanitize::csv_cell;
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetCompression, ParquetWriter, SerWriter};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file format mtastat exports frames in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row; formula-looking cells neutralised.
    Csv,
    /// Parquet, zstd-compressed.
    Parquet,
}

/// Writes `df` to `path` in `format`, atomically.
pub fn write_frame(df: &DataFrame, path: &Path, format: Format) -> io::Result<()> {
    write_atomic(path, |w| match format {
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

/// Runs `write` against a temp file next to `path`, then renames it into place.
pub fn write_atomic<F>(path: &Path, write: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> io::Result<()>,
{
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        {
            let mut w = BufWriter::new(&mut file);
            write(&mut w)?;
            w.flush()?;
        }
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let tmp = format!(".{name}.mtastat-{}.tmp", std::process::id());
    match dir {
        Some(d) => d.join(tmp),
        None => PathBuf::from(tmp),
    }
}

/// True when `output` names the same file as `input` (so exporting would
/// overwrite a log being read).
pub fn same_file(output: &Path, input: &Path) -> bool {
    match (fs::canonicalize(output), fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        fs::write(&p, "old").unwrap();
        let err = write_atomic(&p, |_| Err(io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );
        write_atomic(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
    }

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
        write_frame(&df, &p, Format::Csv).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains("'=cmd"), "{text}");
        assert!(text.contains("gmail.com,2"), "{text}");
    }
}
