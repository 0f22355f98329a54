//! Compression of archive files: independent blocks, so blocks compress
//! in parallel and any standard decompressor reads the concatenation
//! (`gunzip` reads gzip members one after the other, `zstd -d` frames).

use std::io::{self, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip(u32),
    Zstd(i32),
}

impl Codec {
    pub const DEFAULT: Codec = Codec::Gzip(6);

    /// `gzip`, `gzip:1`..`gzip:9`, `zstd`, `zstd:1`..`zstd:19`, `none`.
    pub fn parse(s: &str) -> Result<Codec, String> {
        let (algo, level) = match s.split_once(':') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let level = |range: std::ops::RangeInclusive<i64>, default: i64| match level {
            None => Ok(default),
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| range.contains(l))
                .ok_or_else(|| {
                    format!(
                        "--compress {s}: level must be {} to {}",
                        range.start(),
                        range.end()
                    )
                }),
        };
        match algo {
            "gzip" => Ok(Codec::Gzip(level(1..=9, 6)? as u32)),
            "zstd" => Ok(Codec::Zstd(level(1..=19, 3)? as i32)),
            "none" if level(0..=0, 0).is_ok() => Ok(Codec::None),
            _ => Err(format!(
                "--compress {s}: expected gzip[:1-9], zstd[:1-19] or none"
            )),
        }
    }

    /// File name suffix: `.gz`, `.zst` or nothing.
    pub fn suffix(self) -> &'static str {
        match self {
            Codec::None => "",
            Codec::Gzip(_) => ".gz",
            Codec::Zstd(_) => ".zst",
        }
    }

    /// The codec a file name's suffix says.
    pub fn from_path(path: &std::path::Path) -> Codec {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Codec::Gzip(6),
            Some("zst") => Codec::Zstd(3),
            _ => Codec::None,
        }
    }

    /// One independently decompressible block. `Gzip(0)` stores the
    /// block as it is (a valid gzip member without compression).
    pub fn compress(self, data: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Codec::None => Ok(data.to_vec()),
            Codec::Gzip(level) => {
                let mut e = GzEncoder::new(
                    Vec::with_capacity(data.len() / 3 + 64),
                    Compression::new(level),
                );
                e.write_all(data)?;
                e.finish()
            }
            Codec::Zstd(level) => zstd::bulk::compress(data, level),
        }
    }

    /// A reader of the whole decompressed stream (every member or frame).
    pub fn decoder<'a, R: Read + 'a>(self, r: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::None => Box::new(r),
            Codec::Gzip(_) => Box::new(MultiGzDecoder::new(io::BufReader::new(r))),
            Codec::Zstd(_) => Box::new(zstd::stream::read::Decoder::new(r)?),
        })
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Codec::None => write!(f, "none"),
            Codec::Gzip(l) => write!(f, "gzip:{l}"),
            Codec::Zstd(l) => write!(f, "zstd:{l}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_levels_and_refuses_the_rest() {
        assert_eq!(Codec::parse("gzip"), Ok(Codec::Gzip(6)));
        assert_eq!(Codec::parse("gzip:1"), Ok(Codec::Gzip(1)));
        assert_eq!(Codec::parse("zstd"), Ok(Codec::Zstd(3)));
        assert_eq!(Codec::parse("zstd:19"), Ok(Codec::Zstd(19)));
        assert_eq!(Codec::parse("none"), Ok(Codec::None));
        for bad in [
            "gzip:0", "gzip:10", "zstd:20", "zstd:x", "lz4", "none:3", "",
        ] {
            assert!(Codec::parse(bad).is_err(), "{bad}");
        }
        for c in [Codec::Gzip(9), Codec::Zstd(7), Codec::None] {
            assert_eq!(Codec::parse(&c.to_string()), Ok(c));
        }
    }

    #[test]
    fn concatenated_blocks_decompress_as_one_stream() {
        for codec in [Codec::Gzip(6), Codec::Zstd(3), Codec::None] {
            let parts: [&[u8]; 3] = [b"1\tone\n", b"", b"2\ttwo\n3\tthree\n"];
            let mut file = Vec::new();
            for p in parts {
                file.extend(codec.compress(p).unwrap());
            }
            let mut out = Vec::new();
            codec
                .decoder(&file[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"1\tone\n2\ttwo\n3\tthree\n", "{codec}");
        }
    }

    #[test]
    fn a_truncated_block_is_an_error() {
        for codec in [Codec::Gzip(6), Codec::Zstd(3)] {
            let data = codec.compress(&[b'x'; 10000]).unwrap();
            let mut out = Vec::new();
            let r = codec
                .decoder(&data[..data.len() - 3])
                .unwrap()
                .read_to_end(&mut out);
            assert!(r.is_err(), "{codec}");
        }
    }
}
