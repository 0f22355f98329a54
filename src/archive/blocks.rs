//! Writing and reading one archive file.
//!
//! The writer cuts the stream into blocks, compresses them on rayon's
//! worker threads and writes them back in order; a bounded queue of
//! blocks in flight keeps memory fixed and lets a database stream go on
//! while other cores compress. The checksum is taken over the
//! uncompressed stream, so it checks the content whatever the codec.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use xxhash_rust::xxh3::Xxh3;

use super::codec::Codec;

/// Uncompressed bytes per block: big enough that starting a fresh gzip
/// member or zstd frame costs next to nothing in ratio.
pub const BLOCK: usize = 1 << 20;

/// While blocks do not compress, one in this many is still tried.
const PROBE_EVERY: u64 = 16;

/// Create a file only its owner can read (archives hold data).
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// `xxh3-64:` and 16 hex digits.
pub fn checksum_text(h: &Xxh3) -> String {
    format!("xxh3-64:{:016x}", h.digest())
}

/// What a finished file holds.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub bytes: u64,
    pub compressed_bytes: u64,
    pub checksum: String,
}

/// A block's compressed form, from a rayon thread.
type Compressed = oneshot::Receiver<io::Result<Vec<u8>>>;

/// A finished file's `fsync`, running on a blocking thread.
pub type Sync = tokio::task::JoinHandle<io::Result<()>>;

pub struct BlockWriter {
    codec: Codec,
    path: PathBuf,
    file: tokio::fs::File,
    buf: Vec<u8>,
    /// Blocks in flight: their compressed form to come, and the raw
    /// length of those that were compressed (not stored).
    pending: VecDeque<(Compressed, Option<usize>)>,
    depth: usize,
    /// Blocks handed out so far, and whether the last one that came back
    /// did not compress (random bytes, compressed media): gzip then
    /// stores the next blocks as they are, trying again every
    /// `PROBE_EVERY` blocks, since deflate would spend its time for
    /// nothing on them. zstd notices by itself.
    blocks: u64,
    incompressible: bool,
    hasher: Xxh3,
    written: Written,
}

impl BlockWriter {
    pub fn create(path: &Path, codec: Codec) -> io::Result<Self> {
        let file = create_private(path)?;
        Ok(BlockWriter {
            codec,
            path: path.to_path_buf(),
            file: tokio::fs::File::from_std(file),
            buf: Vec::with_capacity(BLOCK),
            pending: VecDeque::new(),
            depth: rayon::current_num_threads() + 1,
            blocks: 0,
            incompressible: false,
            hasher: Xxh3::new(),
            written: Written::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Uncompressed bytes written so far.
    pub fn written(&self) -> u64 {
        self.written.bytes + self.buf.len() as u64
    }

    pub async fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (BLOCK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == BLOCK {
                self.flush_block().await?;
            }
        }
        Ok(())
    }

    async fn flush_block(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        self.hasher.update(&block);
        self.written.bytes += block.len() as u64;
        if self.codec == Codec::None {
            return self.put(&block).await;
        }
        let (tx, rx) = oneshot::channel();
        let codec = match self.codec {
            Codec::Gzip(_) if self.incompressible && self.blocks % PROBE_EVERY != 0 => {
                Codec::Gzip(0)
            }
            c => c,
        };
        self.blocks += 1;
        let raw = (codec != Codec::Gzip(0)).then_some(block.len());
        rayon::spawn(move || {
            let _ = tx.send(codec.compress(&block));
        });
        self.pending.push_back((rx, raw));
        while self.pending.len() > self.depth {
            self.write_oldest().await?;
        }
        Ok(())
    }

    async fn write_oldest(&mut self) -> io::Result<()> {
        if let Some((rx, raw)) = self.pending.pop_front() {
            let data = rx
                .await
                .map_err(|_| io::Error::other("a compression thread stopped"))??;
            if let Some(raw) = raw {
                self.incompressible = data.len() as u64 * 100 >= raw as u64 * 98;
            }
            self.put(&data).await?;
        }
        Ok(())
    }

    async fn put(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data).await?;
        self.written.compressed_bytes += data.len() as u64;
        Ok(())
    }

    /// Write what is left, make it durable, and say what the file holds.
    pub async fn finish(self) -> io::Result<Written> {
        let (written, sync) = self.finish_then_sync().await?;
        sync.await.map_err(io::Error::other)??;
        Ok(written)
    }

    /// Write what is left and say what the file holds; the task returned
    /// makes it durable, so the caller can go on streaming meanwhile and
    /// must await the task before the file counts as written.
    pub async fn finish_then_sync(mut self) -> io::Result<(Written, Sync)> {
        self.flush_block().await?;
        while !self.pending.is_empty() {
            self.write_oldest().await?;
        }
        if self.written.compressed_bytes == 0 && self.codec != Codec::None {
            // An empty table still gets a valid (empty) member or frame.
            let empty = self.codec.compress(&[])?;
            self.put(&empty).await?;
        }
        self.file.flush().await?;
        self.written.checksum = checksum_text(&self.hasher);
        let file = self.file.into_std().await;
        let sync = tokio::task::spawn_blocking(move || file.sync_all());
        Ok((self.written, sync))
    }
}

/// Read a whole (possibly compressed) file, handing the decompressed
/// content to `each` in chunks; returns its length and checksum.
/// Blocking: run it on a blocking thread. An error from `each` stops the
/// read and is returned.
pub fn read_file(
    path: &Path,
    codec: Codec,
    each: &mut dyn FnMut(Bytes) -> io::Result<()>,
) -> io::Result<(u64, String)> {
    let file = std::fs::File::open(path)?;
    let mut r = codec.decoder(file)?;
    let mut hasher = Xxh3::new();
    let mut total = 0u64;
    loop {
        let mut chunk = vec![0u8; 256 * 1024];
        let mut filled = 0;
        while filled < chunk.len() {
            let n = r.read(&mut chunk[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        hasher.update(&chunk);
        total += filled as u64;
        each(Bytes::from(chunk))?;
    }
    Ok((total, checksum_text(&hasher)))
}

/// Write a small file in one go (DDL, manifest), privately, durably.
pub fn write_small(path: &Path, data: &[u8]) -> io::Result<Written> {
    let mut f = create_private(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    let mut h = Xxh3::new();
    h.update(data);
    Ok(Written {
        bytes: data.len() as u64,
        compressed_bytes: data.len() as u64,
        checksum: checksum_text(&h),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes deflate cannot shrink (xorshift noise).
    fn noise(n: usize, seed: &mut u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                *seed as u8
            })
            .collect()
    }

    #[tokio::test]
    async fn gzip_stores_blocks_that_do_not_compress_and_tries_again_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.copy.gz");
        let mut w = BlockWriter::create(&path, Codec::Gzip(6)).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut all = noise(20 * BLOCK, &mut seed);
        all.extend(std::iter::repeat_n(b'a', 40 * BLOCK));
        for chunk in all.chunks(300_000) {
            w.write(chunk).await.unwrap();
        }
        let written = w.finish().await.unwrap();
        assert_eq!(written.bytes, all.len() as u64);
        // The noise costs its own size (stored, or deflate's equal), and
        // the letters compress again once a probe finds they do: well
        // under the 40 blocks they would take stored.
        assert!(written.compressed_bytes < 20 * BLOCK as u64 + 20 * BLOCK as u64);
        let mut back = Vec::new();
        let (n, sum) = read_file(&path, Codec::Gzip(6), &mut |b| {
            back.extend_from_slice(&b);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, all.len() as u64);
        assert_eq!(sum, written.checksum);
        assert!(back == all, "the stream reads back unchanged");
    }
}
