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

pub struct BlockWriter {
    codec: Codec,
    path: PathBuf,
    file: tokio::fs::File,
    buf: Vec<u8>,
    pending: VecDeque<oneshot::Receiver<io::Result<Vec<u8>>>>,
    depth: usize,
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
        let codec = self.codec;
        rayon::spawn(move || {
            let _ = tx.send(codec.compress(&block));
        });
        self.pending.push_back(rx);
        while self.pending.len() > self.depth {
            self.write_oldest().await?;
        }
        Ok(())
    }

    async fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(rx) = self.pending.pop_front() {
            let data = rx
                .await
                .map_err(|_| io::Error::other("a compression thread stopped"))??;
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
    pub async fn finish(mut self) -> io::Result<Written> {
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
        self.file.sync_all().await?;
        self.written.checksum = checksum_text(&self.hasher);
        Ok(self.written)
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
