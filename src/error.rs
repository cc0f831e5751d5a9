//! Errors that stop a run. Unreadable inputs are not among them: they are
//! reported per file and the run goes on.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A run-stopping error, printed as one line.
#[derive(Debug)]
pub enum Error {
    /// Arguments that cannot work together.
    Usage(String),
    /// Writing an export failed.
    Export {
        /// The target file.
        path: PathBuf,
        /// Why.
        cause: io::Error,
    },
    /// Building frames failed (a bug, or memory exhaustion).
    Frame(polars::prelude::PolarsError),
    /// Writing the report to stdout failed.
    Output(io::Error),
}

impl Error {
    /// Wraps a write error for the export target `path` (for `map_err`).
    pub fn export(path: &std::path::Path) -> impl FnOnce(io::Error) -> Error + '_ {
        move |cause| Error::Export {
            path: path.to_path_buf(),
            cause,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Export { path, cause } => write!(f, "{}: cannot write: {cause}", path.display()),
            Error::Frame(e) => write!(f, "building frames: {e}"),
            Error::Output(e) => write!(f, "writing the report: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Error::Frame(e)
    }
}
