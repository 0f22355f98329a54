//! COPY stream framing: count rows in raw COPY data as it streams past,
//! without decoding values, and check that binary data is well formed.
//!
//! Pure code, fed arbitrary chunk boundaries. Text COPY escapes newlines
//! inside values (`\n`), so each raw newline ends one row. Binary COPY is
//! `PGCOPY\n\377\r\n\0`, flags (i32), header extension (i32 length +
//! bytes), then tuples: i16 field count, per field i32 length (-1 = NULL)
//! and the bytes; a field count of -1 is the trailer.

use std::fmt;

pub const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Which way a COPY runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Out,
    In { freeze: bool },
}

/// The one place COPY statements are built. `table` is quoted, `columns`
/// a quoted, comma-separated list; a table without columns (legal:
/// `CREATE TABLE t ()`, rows and all) takes no list, since `()` is not
/// valid there.
pub fn copy_statement(table: &str, columns: &str, binary: bool, dir: Direction) -> String {
    let list = if columns.trim().is_empty() {
        String::new()
    } else {
        format!(" ({columns})")
    };
    let format = if binary { "binary" } else { "text" };
    match dir {
        Direction::Out => format!("COPY {table}{list} TO STDOUT (FORMAT {format})"),
        Direction::In { freeze } => format!(
            "COPY {table}{list} FROM STDIN (FORMAT {format}{})",
            if freeze { ", FREEZE" } else { "" }
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError(pub String);

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed COPY data: {}", self.0)
    }
}

impl std::error::Error for FramingError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Signature(usize),
    Flags,
    ExtLen,
    ExtData,
    FieldCount,
    FieldLen,
    FieldData,
    Done,
}

/// Counts rows of a COPY stream in either format.
#[derive(Debug, Clone)]
pub enum RowCounter {
    Text {
        rows: u64,
        last_was_newline: bool,
        any: bool,
    },
    Binary(BinaryFraming),
}

impl RowCounter {
    pub fn new(binary: bool) -> Self {
        if binary {
            RowCounter::Binary(BinaryFraming::new())
        } else {
            RowCounter::Text {
                rows: 0,
                last_was_newline: true,
                any: false,
            }
        }
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<(), FramingError> {
        match self {
            RowCounter::Text {
                rows,
                last_was_newline,
                any,
            } => {
                if let Some(&last) = data.last() {
                    *rows += data.iter().filter(|&&b| b == b'\n').count() as u64;
                    *last_was_newline = last == b'\n';
                    *any = true;
                }
                Ok(())
            }
            RowCounter::Binary(b) => b.feed(data),
        }
    }

    pub fn rows(&self) -> u64 {
        match self {
            RowCounter::Text { rows, .. } => *rows,
            RowCounter::Binary(b) => b.rows,
        }
    }

    /// Whether everything fed so far ends where a row ends (and, for
    /// binary, after the header): a stream may be cut here.
    pub fn at_row_end(&self) -> bool {
        match self {
            RowCounter::Text {
                last_was_newline,
                any,
                ..
            } => *any && *last_was_newline,
            RowCounter::Binary(b) => b.phase == Phase::FieldCount && b.acc_len == 0 && b.rows > 0,
        }
    }

    /// Check the stream ended where a row ends.
    pub fn finish(&self) -> Result<u64, FramingError> {
        match self {
            RowCounter::Text {
                rows,
                last_was_newline,
                any,
            } => {
                if *any && !*last_was_newline {
                    Err(FramingError("text data does not end with a newline".into()))
                } else {
                    Ok(*rows)
                }
            }
            RowCounter::Binary(b) => b.finish(),
        }
    }
}

/// An order-independent content sum of a COPY stream: the wrapping sum
/// of the xxh3-64 hash of each row's bytes (a text row with its newline;
/// a binary row from its field count to its last field). Two streams of
/// the same rows in any order have the same sum, so a table dumped once
/// and read back from a server later can be compared without sorting.
#[derive(Debug, Clone)]
pub struct RowSum {
    counter: RowCounter,
    /// The start of a row that began in an earlier chunk.
    partial: Vec<u8>,
    /// Binary: the header is behind us (bytes now belong to rows).
    in_rows: bool,
    sum: u64,
}

impl RowSum {
    pub fn new(binary: bool) -> Self {
        RowSum {
            counter: RowCounter::new(binary),
            partial: Vec::new(),
            in_rows: !binary,
            sum: 0,
        }
    }

    pub fn counter(&self) -> &RowCounter {
        &self.counter
    }

    /// Add one row's hash: `piece` completes what `partial` holds.
    fn row(partial: &mut Vec<u8>, sum: &mut u64, piece: &[u8]) {
        let h = if partial.is_empty() {
            xxhash_rust::xxh3::xxh3_64(piece)
        } else {
            partial.extend_from_slice(piece);
            let h = xxhash_rust::xxh3::xxh3_64(partial);
            partial.clear();
            h
        };
        *sum = sum.wrapping_add(h);
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<(), FramingError> {
        let RowSum {
            counter,
            partial,
            in_rows,
            sum,
        } = self;
        let mut start = 0;
        match counter {
            RowCounter::Binary(b) => {
                // Rows are hashed as the parser finds their ends (no list
                // of marks per chunk: this runs once per row).
                b.feed_marked(data, &mut |at| {
                    if *in_rows {
                        Self::row(partial, sum, &data[start..at]);
                    }
                    *in_rows = true;
                    start = at;
                })?;
            }
            c => {
                c.feed(data)?;
                while let Some(i) = memchr::memchr(b'\n', &data[start..]) {
                    let end = start + i + 1;
                    Self::row(partial, sum, &data[start..end]);
                    start = end;
                }
            }
        }
        if *in_rows {
            partial.extend_from_slice(&data[start..]);
        }
        Ok(())
    }

    /// Rows so far.
    pub fn rows(&self) -> u64 {
        self.counter.rows()
    }

    /// Check the stream ended where it should; the rows and their sum
    /// (`xxh3-64-rows:` and 16 hex digits).
    pub fn finish(&self) -> Result<(u64, String), FramingError> {
        let rows = self.counter.finish()?;
        Ok((rows, format!("xxh3-64-rows:{:016x}", self.sum)))
    }
}

/// Streaming parser of the binary COPY framing.
#[derive(Debug, Clone)]
pub struct BinaryFraming {
    phase: Phase,
    acc: [u8; 4],
    acc_len: usize,
    skip: u64,
    fields_left: u16,
    rows: u64,
}

impl Default for BinaryFraming {
    fn default() -> Self {
        Self::new()
    }
}

impl BinaryFraming {
    pub fn new() -> Self {
        BinaryFraming {
            phase: Phase::Signature(0),
            acc: [0; 4],
            acc_len: 0,
            skip: 0,
            fields_left: 0,
            rows: 0,
        }
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Collect `n` bytes of a big-endian integer; `None` until complete.
    fn take_int(&mut self, data: &mut &[u8], n: usize) -> Option<i32> {
        let want = n - self.acc_len;
        let k = want.min(data.len());
        self.acc[self.acc_len..self.acc_len + k].copy_from_slice(&data[..k]);
        self.acc_len += k;
        *data = &data[k..];
        if self.acc_len < n {
            return None;
        }
        self.acc_len = 0;
        Some(if n == 2 {
            i32::from(i16::from_be_bytes([self.acc[0], self.acc[1]]))
        } else {
            i32::from_be_bytes(self.acc)
        })
    }

    fn next_field(&mut self) {
        self.fields_left -= 1;
        self.phase = if self.fields_left == 0 {
            Phase::FieldCount
        } else {
            Phase::FieldLen
        };
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<(), FramingError> {
        self.feed_marked(data, &mut |_| {})
    }

    /// `feed`, calling `mark` with every offset in `data` where a row may
    /// start: after the header and after each row. The bytes between two
    /// marks are one row; those after the last mark, the trailer.
    pub fn feed_marked(
        &mut self,
        whole: &[u8],
        mark: &mut impl FnMut(usize),
    ) -> Result<(), FramingError> {
        let mut data = whole;
        while !data.is_empty() {
            match self.phase {
                Phase::Signature(n) => {
                    let k = (BINARY_SIGNATURE.len() - n).min(data.len());
                    if data[..k] != BINARY_SIGNATURE[n..n + k] {
                        return Err(FramingError("missing binary COPY signature".into()));
                    }
                    data = &data[k..];
                    self.phase = if n + k == BINARY_SIGNATURE.len() {
                        Phase::Flags
                    } else {
                        Phase::Signature(n + k)
                    };
                }
                Phase::Flags => {
                    if let Some(flags) = self.take_int(&mut data, 4) {
                        // Bit 16 means OIDs are included: never requested.
                        if flags & (1 << 16) != 0 {
                            return Err(FramingError("COPY data includes OIDs".into()));
                        }
                        self.phase = Phase::ExtLen;
                    }
                }
                Phase::ExtLen => {
                    if let Some(len) = self.take_int(&mut data, 4) {
                        let len = u64::try_from(len)
                            .map_err(|_| FramingError("negative header extension".into()))?;
                        self.skip = len;
                        self.phase = if len == 0 {
                            Phase::FieldCount
                        } else {
                            Phase::ExtData
                        };
                    }
                }
                Phase::ExtData | Phase::FieldData => {
                    let k = usize::try_from(self.skip)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    data = &data[k..];
                    self.skip -= k as u64;
                    if self.skip == 0 {
                        if self.phase == Phase::ExtData {
                            self.phase = Phase::FieldCount;
                        } else {
                            self.next_field();
                        }
                    }
                }
                Phase::FieldCount => {
                    if let Some(n) = self.take_int(&mut data, 2) {
                        if n == -1 {
                            self.phase = Phase::Done;
                        } else {
                            let n = u16::try_from(n)
                                .map_err(|_| FramingError(format!("bad field count {n}")))?;
                            self.rows += 1;
                            self.fields_left = n;
                            self.phase = if n == 0 {
                                Phase::FieldCount
                            } else {
                                Phase::FieldLen
                            };
                        }
                    }
                }
                Phase::FieldLen => {
                    if let Some(len) = self.take_int(&mut data, 4) {
                        match len {
                            -1 | 0 => self.next_field(),
                            l if l < -1 => {
                                return Err(FramingError(format!("bad field length {l}")))
                            }
                            l => {
                                self.skip = l as u64;
                                self.phase = Phase::FieldData;
                            }
                        }
                    }
                }
                Phase::Done => return Err(FramingError("data after the trailer".into())),
            }
            // Every step consumes bytes, so ending it in FieldCount with
            // nothing half read means the header or a row just ended (a
            // row of zero fields included).
            if self.phase == Phase::FieldCount && self.acc_len == 0 {
                mark(whole.len() - data.len());
            }
        }
        Ok(())
    }

    pub fn finish(&self) -> Result<u64, FramingError> {
        if self.phase == Phase::Done {
            Ok(self.rows)
        } else {
            Err(FramingError("stream ended before the trailer".into()))
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn copy_statements_with_and_without_columns() {
        assert_eq!(
            copy_statement("\"a\".\"t\"", "\"x\", \"y\"", true, Direction::Out),
            "COPY \"a\".\"t\" (\"x\", \"y\") TO STDOUT (FORMAT binary)"
        );
        assert_eq!(
            copy_statement("\"a\".\"t\"", "", false, Direction::In { freeze: true }),
            "COPY \"a\".\"t\" FROM STDIN (FORMAT text, FREEZE)"
        );
    }
    use super::*;

    /// Build binary COPY data for rows of optional byte fields.
    fn binary(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut v = BINARY_SIGNATURE.to_vec();
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&4i32.to_be_bytes());
        v.extend_from_slice(b"ext!");
        for r in rows {
            v.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(b) => {
                        v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        v.extend_from_slice(b);
                    }
                }
            }
        }
        v.extend_from_slice(&(-1i16).to_be_bytes());
        v
    }

    fn sample() -> Vec<u8> {
        binary(&[
            vec![Some(b"abc"), None, Some(b"")],
            vec![Some(&[0u8; 300][..]), Some(b"x"), None],
            vec![],
        ])
    }

    #[test]
    fn binary_counts_rows_at_every_split() {
        let data = sample();
        for split in 0..data.len() {
            let mut f = BinaryFraming::new();
            f.feed(&data[..split]).unwrap();
            f.feed(&data[split..]).unwrap();
            assert_eq!(f.finish(), Ok(3), "split at {split}");
        }
    }

    #[test]
    fn binary_byte_by_byte() {
        let mut f = BinaryFraming::new();
        for b in sample() {
            f.feed(&[b]).unwrap();
        }
        assert_eq!(f.finish(), Ok(3));
    }

    #[test]
    fn binary_rejects_garbage_and_truncation() {
        let mut f = BinaryFraming::new();
        assert!(f.feed(b"PGCOPX").is_err());
        let data = sample();
        let mut f = BinaryFraming::new();
        f.feed(&data[..data.len() - 1]).unwrap();
        assert!(f.finish().is_err());
        let mut f = BinaryFraming::new();
        let mut extra = data.clone();
        extra.push(0);
        assert!(f.feed(&extra).is_err());
    }

    fn sum(binary: bool, chunks: &[&[u8]]) -> (u64, String) {
        let mut s = RowSum::new(binary);
        for c in chunks {
            s.feed(c).unwrap();
        }
        s.finish().unwrap()
    }

    #[test]
    fn row_sums_ignore_order_and_chunking_but_not_content() {
        let rows: [Vec<Option<&[u8]>>; 3] = [
            vec![Some(b"abc"), None, Some(b"")],
            vec![Some(&[7u8; 300][..]), Some(b"x"), None],
            vec![],
        ];
        let data = binary(&rows);
        let whole = sum(true, &[&data]);
        assert_eq!(whole.0, 3);
        for split in 0..data.len() {
            assert_eq!(
                sum(true, &[&data[..split], &data[split..]]),
                whole,
                "{split}"
            );
        }
        let reordered = binary(&[rows[2].clone(), rows[0].clone(), rows[1].clone()]);
        assert_eq!(sum(true, &[&reordered]), whole);
        let changed = binary(&[rows[0].clone(), vec![Some(b"y")], rows[2].clone()]);
        assert_ne!(sum(true, &[&changed]), whole);

        let text = b"1\tfoo\n2\t\\N\n3\tbar\n";
        let whole = sum(false, &[text]);
        assert_eq!(whole.0, 3);
        for split in 0..text.len() {
            assert_eq!(
                sum(false, &[&text[..split], &text[split..]]),
                whole,
                "{split}"
            );
        }
        assert_eq!(sum(false, &[b"3\tbar\n1\tfoo\n", b"2\t\\N\n"]), whole);
        assert_ne!(sum(false, &[b"1\tfoo\n2\t\\N\n3\tbaz\n"]), whole);
        // No rows: the same empty sum in either format.
        assert_eq!(sum(false, &[]).1, sum(true, &[&binary(&[])]).1);
    }

    #[test]
    fn text_counts_newlines() {
        let mut c = RowCounter::new(false);
        c.feed(b"1\tfoo\\nbar\n2\t").unwrap();
        assert!(c.finish().is_err());
        c.feed(b"\\N\n").unwrap();
        assert_eq!(c.finish(), Ok(2));
        assert_eq!(RowCounter::new(false).finish(), Ok(0));
    }
}
