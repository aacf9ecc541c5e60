//! TFRecord framing: every record is
//! `u64 length (LE) · u32 masked CRC-32C of the length · data · u32 masked CRC-32C of data`.

/// TFRecord's CRC mask: rotate right by 15 and add a constant, so that a CRC of data that
/// holds CRCs is not itself trivially related to them.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one framed record holding `data` to `out`.
pub fn frame(data: &[u8], out: &mut Vec<u8>) {
    let length = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// One record found in a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset of its first byte (the length field).
    pub offset: usize,
    /// Its data.
    pub data: &'a [u8],
}

/// The records of `bytes` in order, up to the first that is torn or fails a CRC; and the
/// offset just past the last good one (where a writer cut short stopped).
pub fn parse(bytes: &[u8]) -> (Vec<Record<'_>>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    while let Some(record) = parse_one(bytes, offset) {
        offset = record.offset + 16 + record.data.len();
        records.push(record);
    }
    (records, offset)
}

fn parse_one(bytes: &[u8], offset: usize) -> Option<Record<'_>> {
    let header = bytes.get(offset..offset.checked_add(12)?)?;
    let (length, length_crc) = header.split_at(8);
    if masked_crc32c(length) != u32::from_le_bytes(length_crc.try_into().ok()?) {
        return None;
    }
    let length = usize::try_from(u64::from_le_bytes(length.try_into().ok()?)).ok()?;
    let start = offset + 12;
    let end = start.checked_add(length)?;
    let data = bytes.get(start..end)?;
    let data_crc = bytes.get(end..end.checked_add(4)?)?;
    (masked_crc32c(data) == u32::from_le_bytes(data_crc.try_into().ok()?)).then_some(Record { offset, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_the_published_values() {
        // CRC-32C check value (RFC 3720, B.4): "123456789" -> 0xE3069283.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(
            masked_crc32c(b"123456789"),
            0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn framed_records_parse_back_and_damage_stops_the_parse() {
        let mut bytes = Vec::new();
        for data in [&b"first"[..], b"", b"third record"] {
            frame(data, &mut bytes);
        }
        let (records, end) = parse(&bytes);
        assert_eq!(
            records.iter().map(|r| r.data).collect::<Vec<_>>(),
            [&b"first"[..], b"", b"third record"]
        );
        assert_eq!(end, bytes.len());
        // A torn tail: the last record is dropped, the others stand.
        let (records, end) = parse(&bytes[..bytes.len() - 3]);
        assert_eq!(records.len(), 2);
        assert_eq!(end, records[1].offset + 16);
        // A flipped data byte fails that record's CRC.
        let mut damaged = bytes.clone();
        damaged[12] ^= 1;
        assert_eq!(parse(&damaged).0.len(), 0);
    }
}
