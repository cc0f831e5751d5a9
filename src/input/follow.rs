//! Following a log as it grows, like `tail -F`: what was appended since the
//! last look, as whole lines; through logrotate's rename (the old file is
//! read to its end, then the new `mail.log` from its start, once it exists)
//! and `copytruncate` (a file shorter than what was read starts again from
//! its beginning). Memory is one read block and one partial line, and a line
//! longer than [`MAX_LINE_LEN`] is skipped, not held.

use super::MAX_LINE_LEN;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bytes read per look at most (the rest waits for the next one).
const MAX_READ: usize = 8 << 20;

/// What a look found besides the lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The path now names another file (rotated by rename); the old one was
    /// read to its end first.
    pub rotated: bool,
    /// The file became shorter than what was read (copytruncate): read
    /// again from its start.
    pub truncated: bool,
    /// Lines longer than [`MAX_LINE_LEN`], skipped.
    pub overlong: u64,
}

/// A followed file.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: File,
    /// Device and inode of `file`.
    id: (u64, u64),
    /// Bytes of `file` read.
    pos: u64,
    /// The last line read so far, without its newline yet.
    carry: Vec<u8>,
    /// Inside a line too long to hold: dropping bytes to its newline.
    skipping: bool,
}

fn id_of(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Follower {
    /// Follows `path` from byte `start` of the file it names now (from the
    /// line after the one `start` falls in, when it is not 0).
    pub fn open(path: &Path, start: u64) -> io::Result<Follower> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::from(io::ErrorKind::IsADirectory));
        }
        let pos = start.min(meta.len());
        file.seek(SeekFrom::Start(pos))?;
        Ok(Follower {
            path: path.to_path_buf(),
            id: id_of(&meta),
            file,
            pos,
            carry: Vec::new(),
            // The line `start` cuts is not read half.
            skipping: pos > 0,
        })
    }

    /// Appends to `out` the whole lines written since the last look.
    pub fn poll(&mut self, out: &mut Vec<u8>) -> io::Result<Changes> {
        let mut changes = Changes::default();
        let meta = self.file.metadata()?;
        if meta.len() < self.pos {
            // copytruncate: the file was emptied (and perhaps written again).
            self.file.seek(SeekFrom::Start(0))?;
            self.pos = 0;
            self.carry.clear();
            self.skipping = false;
            changes.truncated = true;
        }
        self.read_available(out, &mut changes)?;
        // Renamed away: once the path names a new file, the old one is done
        // (it was just read to its end).
        if let Ok(now) = std::fs::metadata(&self.path)
            && id_of(&now) != self.id
            && let Ok(file) = File::open(&self.path)
        {
            let meta = file.metadata()?;
            // The old file's last line, if it had no newline, ends there.
            if !self.carry.is_empty() && !self.skipping {
                out.append(&mut self.carry);
                out.push(b'\n');
            }
            self.carry.clear();
            self.skipping = false;
            self.file = file;
            self.id = id_of(&meta);
            self.pos = 0;
            changes.rotated = true;
            self.read_available(out, &mut changes)?;
        }
        Ok(changes)
    }

    fn read_available(&mut self, out: &mut Vec<u8>, changes: &mut Changes) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0;
        while total < MAX_READ {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            self.pos += n as u64;
            self.take(&buf[..n], out, changes);
        }
        Ok(())
    }

    /// Moves whole lines of `bytes` (after the carried partial line) to
    /// `out`, keeping the new partial line.
    fn take(&mut self, mut bytes: &[u8], out: &mut Vec<u8>, changes: &mut Changes) {
        if self.skipping {
            match memchr::memchr(b'\n', bytes) {
                Some(nl) => {
                    self.skipping = false;
                    bytes = &bytes[nl + 1..];
                }
                None => return,
            }
        }
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                out.append(&mut self.carry);
                out.extend_from_slice(&bytes[..=last]);
                self.carry.extend_from_slice(&bytes[last + 1..]);
            }
            None => self.carry.extend_from_slice(bytes),
        }
        if self.carry.len() > MAX_LINE_LEN {
            self.carry.clear();
            self.skipping = true;
            changes.overlong += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn look(f: &mut Follower) -> (String, Changes) {
        let mut out = Vec::new();
        let c = f.poll(&mut out).unwrap();
        (String::from_utf8(out).unwrap(), c)
    }

    #[test]
    fn follows_appends_renames_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.log");
        append(&log, "one\ntw");
        let mut f = Follower::open(&log, 0).unwrap();
        assert_eq!(look(&mut f).0, "one\n", "a partial line waits");
        append(&log, "o\nthree\n");
        assert_eq!(look(&mut f).0, "two\nthree\n");
        assert_eq!(look(&mut f).0, "");
        // logrotate: rename, then a new file.
        append(&log, "four\nfive");
        std::fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
        let (s, c) = look(&mut f);
        assert_eq!(
            (s.as_str(), c.rotated),
            ("four\n", false),
            "no new file yet"
        );
        append(&log, "six\n");
        let (s, c) = look(&mut f);
        assert_eq!(
            s, "five\nsix\n",
            "the old file's last line, then the new file"
        );
        assert!(c.rotated);
        append(&log, "a longer line than what follows the truncation\n");
        look(&mut f);
        // copytruncate: emptied in place, written again. (As with tail -F,
        // a file written past the old length between two looks is taken
        // for grown: the new lines before that length are not read.)
        std::fs::write(&log, "").unwrap();
        append(&log, "seven\n");
        let (s, c) = look(&mut f);
        assert_eq!(s, "seven\n");
        assert!(c.truncated && !c.rotated);
    }

    #[test]
    fn an_overlong_line_is_skipped_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.log");
        std::fs::write(&log, "").unwrap();
        let mut f = Follower::open(&log, 0).unwrap();
        append(&log, &"x".repeat(MAX_LINE_LEN + 10));
        let (s, c) = look(&mut f);
        assert_eq!((s.as_str(), c.overlong), ("", 1));
        append(&log, "tail of it\nnext\n");
        assert_eq!(look(&mut f).0, "next\n");
        assert!(f.carry.capacity() <= 2 * MAX_LINE_LEN);
    }
}
