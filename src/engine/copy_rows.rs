//! Rows in PostgreSQL's binary COPY format, encoded straight into one buffer. tokio-postgres's
//! `BinaryCopyInWriter` checks every value's type and awaits the sink for every row: about a
//! microsecond a row here, three times what the server takes to store it. Staging a million
//! memberships spent most of its time there.
//!
//! Format: <https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>; arrays as
//! `array_recv` reads them.

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

/// The `text` type's oid, named by array elements.
const TEXT_OID: u32 = 25;

/// A COPY stream's bytes: the header, then rows, then the trailer (`finish`).
pub struct CopyRows {
    buf: BytesMut,
}

impl Default for CopyRows {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyRows {
    pub fn new() -> Self {
        let mut buf = BytesMut::with_capacity(128 * 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension length
        CopyRows { buf }
    }

    /// Starts a row of `fields` values; each value method then appends one.
    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.buf.put_i16(fields);
        self
    }

    pub fn uuid(&mut self, value: &Uuid) -> &mut Self {
        self.buf.put_i32(16);
        self.buf.put_slice(value.as_bytes());
        self
    }

    pub fn int8(&mut self, value: i64) -> &mut Self {
        self.buf.put_i32(8);
        self.buf.put_i64(value);
        self
    }

    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.buf.put_i32(1);
        self.buf.put_u8(u8::from(value));
        self
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        self.buf.put_i32(byte_length(value));
        self.buf.put_slice(value.as_bytes());
        self
    }

    pub fn nullable_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => {
                self.buf.put_i32(-1);
                self
            }
        }
    }

    pub fn nullable_uuid(&mut self, value: Option<&Uuid>) -> &mut Self {
        match value {
            Some(value) => self.uuid(value),
            None => {
                self.buf.put_i32(-1);
                self
            }
        }
    }

    /// A one-dimensional `text[]` without nulls (an empty one has no dimension).
    pub fn text_array(&mut self, values: &[String]) -> &mut Self {
        let body: usize = values.iter().map(|v| 4 + v.len()).sum();
        let dimensions = if values.is_empty() { 0 } else { 1 };
        let header = 12 + 8 * dimensions;
        self.buf.put_i32(to_i32(header + body));
        self.buf.put_i32(dimensions as i32);
        self.buf.put_i32(0); // no nulls
        self.buf.put_u32(TEXT_OID);
        if dimensions == 1 {
            self.buf.put_i32(to_i32(values.len()));
            self.buf.put_i32(1); // lower bound
        }
        for value in values {
            self.text(value);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes so far, to send; the buffer keeps its capacity for the next rows.
    pub fn take(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// The last bytes: whatever is left and the trailer.
    pub fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }
}

fn byte_length(value: &str) -> i32 {
    to_i32(value.len())
}

/// Field lengths are 32-bit; PostgreSQL refuses a field over 1 GB anyway, so a longer one fails
/// there with a clear error instead of wrapping here.
fn to_i32(length: usize) -> i32 {
    i32::try_from(length).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::CopyRows;

    /// Everything after the 19-byte header.
    fn body(rows: CopyRows) -> Vec<u8> {
        rows.finish()[19..].to_vec()
    }

    #[test]
    fn a_row_of_text_null_and_int8() {
        let mut rows = CopyRows::new();
        rows.row(3).text("é").nullable_text(None).int8(-2);
        let mut expected = vec![0, 3, 0, 0, 0, 2, 0xc3, 0xa9, 0xff, 0xff, 0xff, 0xff];
        expected.extend([0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend([0xff, 0xff]); // trailer
        assert_eq!(body(rows), expected);
    }

    #[test]
    fn a_null_uuid_is_a_null_field() {
        let mut rows = CopyRows::new();
        rows.row(2)
            .nullable_uuid(None)
            .nullable_uuid(Some(&uuid::Uuid::from_u128(1)));
        let mut expected = vec![0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 16];
        expected.extend([0; 15]);
        expected.extend([1, 0xff, 0xff]);
        assert_eq!(body(rows), expected);
    }

    #[test]
    fn arrays_carry_their_dimension_unless_empty() {
        let mut rows = CopyRows::new();
        rows.row(2).text_array(&[]).text_array(&["ab".into()]);
        let mut expected = vec![0, 2];
        // empty: length 12; no dimension, no nulls, text
        expected.extend([0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]);
        // ["ab"]: length 12 + 8 + 4 + 2; one dimension of 1 from 1; then "ab"
        expected.extend([0, 0, 0, 26, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25]);
        expected.extend([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b']);
        expected.extend([0xff, 0xff]);
        assert_eq!(body(rows), expected);
    }
}
