//! Compressed input, recognised by its first bytes, never by its name:
//! rotated logs are `mail.log.2.gz`, but also `mainlog.1` compressed by a
//! cron job, or a `.log` someone zstd'ed.

use std::io::{self, Read};

/// A compression format mtastat reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    /// gzip, including multi-member files (`cat a.gz b.gz`).
    Gzip,
    /// Zstandard, all frames.
    Zstd,
    /// bzip2, all streams.
    Bzip2,
    /// xz, all streams.
    Xz,
}

impl Compression {
    /// Bytes [`Compression::sniff`] wants to see.
    pub const MAGIC_LEN: usize = 6;

    /// The format whose magic number `head` starts with.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    /// The compression of `file`, read from its first bytes; the file is
    /// left at its start.
    pub fn of_file(file: &mut std::fs::File) -> io::Result<Option<Compression>> {
        let mut head = [0u8; Compression::MAGIC_LEN];
        let n = super::read_full(file, &mut head)?;
        io::Seek::rewind(file)?;
        Ok(Compression::sniff(&head[..n]))
    }

    /// Name used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    /// A reader of the decompressed bytes of `r`.
    pub fn decoder<'a, R: Read + Send + 'a>(self, r: R) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"Nov 22 12:39:02 mx1 postfix/qmgr[2]: ABCDEF1234: removed\n";

    fn roundtrip(c: Compression, packed: Vec<u8>) {
        assert_eq!(Compression::sniff(&packed), Some(c));
        let mut out = Vec::new();
        c.decoder(&packed[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, TEXT, "{c:?}");
    }

    #[test]
    fn every_format_sniffs_and_decodes() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(TEXT).unwrap();
        roundtrip(Compression::Gzip, gz.finish().unwrap());
        roundtrip(Compression::Zstd, zstd::encode_all(TEXT, 1).unwrap());
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(TEXT).unwrap();
        roundtrip(Compression::Bzip2, bz.finish().unwrap());
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(TEXT).unwrap();
        roundtrip(Compression::Xz, xz.finish().unwrap());
    }

    #[test]
    fn multi_member_gzip_reads_every_member() {
        let mut both = Vec::new();
        for _ in 0..2 {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(TEXT).unwrap();
            both.extend(gz.finish().unwrap());
        }
        let mut out = Vec::new();
        Compression::Gzip
            .decoder(&both[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, [TEXT, TEXT].concat());
    }

    #[test]
    fn plain_text_and_near_misses_are_not_compressed() {
        for head in [
            &TEXT[..6],
            b"BZx123",
            b"\x1f",
            b"",
            b"2026-1",
            b"\x89PNG\r\n",
        ] {
            assert_eq!(Compression::sniff(head), None, "{head:?}");
        }
    }
}
