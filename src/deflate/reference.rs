//! A plain DEFLATE decoder (RFC 1951) for tests, independent of zlib: it
//! reports how far back the stream's matches reach, which zlib's inflate
//! does not check against a window smaller than the history it holds.

/// What a stream decodes to, and its furthest back-reference.
pub(super) struct Decoded {
    pub(super) data: Vec<u8>,
    pub(super) max_distance: usize,
}

/// Decodes a raw DEFLATE stream up to its final block, or up to the end of
/// `input` if that falls on a block boundary (a sync-flushed stream).
pub(super) fn decode(input: &[u8]) -> Result<Decoded, &'static str> {
    let mut r = Reader {
        input,
        pos: 0,
        bit: 0,
    };
    let mut out = Decoded {
        data: Vec::new(),
        max_distance: 0,
    };
    loop {
        let last = r.bits(1)? == 1;
        match r.bits(2)? {
            0 => stored(&mut r, &mut out.data)?,
            1 => {
                let (lit, dist) = fixed_tables();
                codes(&mut r, &mut out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(&mut r)?;
                codes(&mut r, &mut out, &lit, &dist)?;
            }
            _ => return Err("reserved block type"),
        }
        if last || (r.bit == 0 && r.pos == input.len()) {
            return Ok(out);
        }
    }
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// Bits of `input[pos]` already used.
    bit: u32,
}

impl Reader<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, &'static str> {
        let mut v = 0;
        for i in 0..n {
            let byte = *self.input.get(self.pos).ok_or("unexpected end")?;
            v |= u32::from((byte >> self.bit) & 1) << i;
            self.bit += 1;
            if self.bit == 8 {
                self.bit = 0;
                self.pos += 1;
            }
        }
        Ok(v)
    }

    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.pos += 1;
        }
    }
}

fn stored(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), &'static str> {
    r.align();
    let len = r.bits(16)?;
    let nlen = r.bits(16)?;
    if len != !nlen & 0xffff {
        return Err("stored block length mismatch");
    }
    let end = r.pos + len as usize;
    out.extend_from_slice(r.input.get(r.pos..end).ok_or("unexpected end")?);
    r.pos = end;
    Ok(())
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut symbols = Vec::new();
        for len in 1..16 {
            for (sym, &l) in lengths.iter().enumerate() {
                if usize::from(l) == len {
                    symbols.push(sym as u16);
                }
            }
        }
        Huffman { count, symbols }
    }

    /// Codes are read most significant bit first, one bit at a time.
    fn decode(&self, r: &mut Reader<'_>) -> Result<u16, &'static str> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= r.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code")
    }
}

fn fixed_tables() -> (Huffman, Huffman) {
    let mut lit = [8u8; 288];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    (Huffman::new(&lit), Huffman::new(&[5; 30]))
}

fn dynamic_tables(r: &mut Reader<'_>) -> Result<(Huffman, Huffman), &'static str> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlit = r.bits(5)? as usize + 257;
    let ndist = r.bits(5)? as usize + 1;
    let ncode = r.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in &ORDER[..ncode] {
        code_lengths[i] = r.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(nlit + ndist);
    while lengths.len() < nlit + ndist {
        let (value, repeat) = match code.decode(r)? {
            sym @ 0..=15 => (sym as u8, 1),
            16 => (
                *lengths.last().ok_or("repeat with no length")?,
                3 + r.bits(2)?,
            ),
            17 => (0, 3 + r.bits(3)?),
            18 => (0, 11 + r.bits(7)?),
            _ => return Err("invalid code length symbol"),
        };
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if lengths.len() != nlit + ndist {
        return Err("code lengths overrun");
    }
    Ok((
        Huffman::new(&lengths[..nlit]),
        Huffman::new(&lengths[nlit..]),
    ))
}

fn codes(
    r: &mut Reader<'_>,
    out: &mut Decoded,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), &'static str> {
    const LEN_BASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u8; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];
    loop {
        let sym = usize::from(lit.decode(r)?);
        match sym {
            0..=255 => out.data.push(sym as u8),
            256 => return Ok(()),
            257..=285 => {
                let i = sym - 257;
                let len = usize::from(LEN_BASE[i]) + r.bits(u32::from(LEN_EXTRA[i]))? as usize;
                let d = usize::from(dist.decode(r)?);
                if d >= 30 {
                    return Err("invalid distance symbol");
                }
                let distance =
                    usize::from(DIST_BASE[d]) + r.bits(u32::from(DIST_EXTRA[d]))? as usize;
                if distance > out.data.len() {
                    return Err("distance too far back");
                }
                out.max_distance = out.max_distance.max(distance);
                let start = out.data.len() - distance;
                for k in 0..len {
                    let b = out.data[start + k];
                    out.data.push(b);
                }
            }
            _ => return Err("invalid literal/length symbol"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc_7692_examples() {
        for (wire, max) in [
            (&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00][..], 0),
            (
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                ],
                0,
            ),
            (&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 0),
        ] {
            let mut w = wire.to_vec();
            w.extend_from_slice(&[0, 0, 0xff, 0xff]);
            let d = decode(&w).unwrap();
            assert_eq!(d.data, b"Hello");
            assert_eq!(d.max_distance, max);
        }
        // Two messages on one context: the second refers 5 bytes back.
        let w = [
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xf2, 0x00, 0x11,
            0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
        ];
        let d = decode(&w).unwrap();
        assert_eq!(d.data, b"HelloHello");
        assert_eq!(d.max_distance, 5);
    }

    /// A non-final fixed-Huffman block holding one match, then the start
    /// of a sync flush's empty stored block, byte-aligned.
    fn fixed_block_with_match(len: u32, dist: u32) -> Vec<u8> {
        assert!((3..=10).contains(&len) && (257..=384).contains(&dist));
        let mut w = Writer::default();
        w.put(0, 1); // BFINAL 0
        w.put(1, 2); // BTYPE 01: fixed codes
        w.code(len - 3 + 1, 7); // length symbols 257..264 are 7-bit codes 1..8
        w.code(16, 5); // distance symbol 16: 257..384, 7 extra bits
        w.put(dist - 257, 7);
        w.code(0, 7); // end of block (symbol 256)
        w.put(0, 3); // an empty stored block's header
        w.finish()
    }

    #[derive(Default)]
    struct Writer {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }

    impl Writer {
        /// `n` bits of `value`, least significant first.
        fn put(&mut self, value: u32, n: u32) {
            for i in 0..n {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    (self.acc, self.n) = (0, 0);
                }
            }
        }

        /// A Huffman code: most significant bit first.
        fn code(&mut self, code: u32, n: u32) {
            for i in (0..n).rev() {
                self.put((code >> i) & 1, 1);
            }
        }

        fn finish(mut self) -> Vec<u8> {
            if self.n > 0 {
                self.out.push(self.acc as u8);
            }
            self.out
        }
    }

    #[test]
    fn measures_distances() {
        // 300 bytes stored, then 3 bytes copied from 300 back.
        let mut w = vec![0x00, 0x2c, 0x01, 0xd3, 0xfe]; // stored, LEN 300
        w.extend(std::iter::repeat_n(7u8, 300));
        w.extend_from_slice(&fixed_block_with_match(3, 300));
        w.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let d = decode(&w).unwrap();
        assert_eq!(d.data, [7; 303]);
        assert_eq!(d.max_distance, 300);
        // Further back than the history is an error.
        let mut w = vec![0x00, 0x05, 0x00, 0xfa, 0xff, 1, 2, 3, 4, 5];
        w.extend_from_slice(&fixed_block_with_match(3, 300));
        w.extend_from_slice(&[0, 0, 0xff, 0xff]);
        assert!(decode(&w).is_err());
    }

    #[test]
    fn rejects_bad_streams() {
        assert!(decode(&[0x07]).is_err()); // reserved block type
        assert!(decode(&[0x00, 0x05, 0x00, 0x00, 0x00]).is_err());
        assert!(decode(&[0xf2, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff]).is_err());
        assert!(decode(&[]).is_err());
    }
}
