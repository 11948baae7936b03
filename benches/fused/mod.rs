//! A bench-only prototype: one AVX2 pass that finds the next line end and
//! checks UTF-8 up to it, instead of the library's two passes (`memchr` for
//! the line end, `simdutf8` for the text).
//!
//! It is not library code, and nothing in `src/` uses it: the library has
//! `#![forbid(unsafe_code)]`, and this needs `unsafe` for its loads and its
//! runtime CPU dispatch. It exists to measure what fusing the passes would
//! gain (the `fused-avx2` ceiling in `benches/peers.rs`), so that adopting it
//! is a decision made on a figure. `tests/fused_scan.rs` checks its verdicts
//! against std's on random input.
//!
//! The UTF-8 check is the lookup-table method of Keiser and Lemire,
//! "Validating UTF-8 in less than one instruction per byte" (2021): three
//! 16-entry tables classify each byte pair by the high and low nibble of the
//! first byte and the high nibble of the second, and the bits left set after
//! ANDing the three lookups name an error. The line-end test rides along on
//! the same loaded vector.

/// What [`scan`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// The first CR or LF is at this index, and the bytes before it are
    /// valid UTF-8.
    Line(usize),
    /// No CR or LF, and no invalid sequence; the last bytes may begin a
    /// character that the bytes after them would complete (or not).
    NoLine,
    /// An invalid sequence before the first line end (or the end).
    Invalid,
}

/// Whether this CPU can run [`scan`].
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Finds the first CR or LF in `bytes` and checks that the bytes before it
/// are UTF-8, in one pass.
///
/// # Panics
///
/// When [`available`] is false.
pub fn scan(bytes: &[u8]) -> Scan {
    assert!(available(), "fused::scan needs AVX2");
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AVX2 is present (checked above).
        unsafe { avx2::scan(bytes) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        unreachable!()
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::Scan;

    // Error classes of a byte pair (first byte, second byte).
    const TOO_SHORT: u8 = 1 << 0; // a lead byte not followed by a continuation
    const TOO_LONG: u8 = 1 << 1; // a continuation after an ASCII byte
    const OVERLONG_3: u8 = 1 << 2; // E0 80..9F
    const TOO_LARGE: u8 = 1 << 3; // above U+10FFFF
    const SURROGATE: u8 = 1 << 4; // ED A0..BF
    const OVERLONG_2: u8 = 1 << 5; // C0, C1
    const TOO_LARGE_1000: u8 = 1 << 6; // F5.. 80..8F
    const OVERLONG_4: u8 = 1 << 6; // F0 80..8F
    const TWO_CONTS: u8 = 1 << 7; // two continuations: an error unless a
    // three- or four-byte lead came before
    const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

    /// By the high nibble of the first byte.
    const FIRST_HIGH: [u8; 16] = [
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TOO_LONG,
        TWO_CONTS,
        TWO_CONTS,
        TWO_CONTS,
        TWO_CONTS,
        TOO_SHORT | OVERLONG_2,
        TOO_SHORT,
        TOO_SHORT | OVERLONG_3 | SURROGATE,
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
    ];

    /// By the low nibble of the first byte.
    const FIRST_LOW: [u8; 16] = [
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
        CARRY | OVERLONG_2,
        CARRY,
        CARRY,
        CARRY | TOO_LARGE,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
    ];

    /// By the high nibble of the second byte.
    const SECOND_HIGH: [u8; 16] = [
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
        TOO_SHORT,
    ];

    /// The constants of one scan, in registers.
    struct Tables {
        first_high: __m256i,
        first_low: __m256i,
        second_high: __m256i,
        nibble: __m256i,
        third: __m256i,
        fourth: __m256i,
        high_bit: __m256i,
        lf: __m256i,
        cr: __m256i,
    }

    #[target_feature(enable = "avx2")]
    fn broadcast(table: &[u8; 16]) -> __m256i {
        // SAFETY: `table` is 16 readable bytes; the load is unaligned.
        let lane = unsafe { _mm_loadu_si128(table.as_ptr().cast()) };
        _mm256_broadcastsi128_si256(lane)
    }

    impl Tables {
        #[target_feature(enable = "avx2")]
        fn new() -> Self {
            Tables {
                first_high: broadcast(&FIRST_HIGH),
                first_low: broadcast(&FIRST_LOW),
                second_high: broadcast(&SECOND_HIGH),
                nibble: _mm256_set1_epi8(0x0F),
                third: _mm256_set1_epi8((0xE0u8 - 0x80) as i8),
                fourth: _mm256_set1_epi8((0xF0u8 - 0x80) as i8),
                high_bit: _mm256_set1_epi8(0x80u8 as i8),
                lf: _mm256_set1_epi8(b'\n' as i8),
                cr: _mm256_set1_epi8(b'\r' as i8),
            }
        }

        /// A bit per byte of `input` that is a CR or an LF.
        #[target_feature(enable = "avx2")]
        fn line_ends(&self, input: __m256i) -> u32 {
            let ends = _mm256_or_si256(
                _mm256_cmpeq_epi8(input, self.lf),
                _mm256_cmpeq_epi8(input, self.cr),
            );
            _mm256_movemask_epi8(ends) as u32
        }

        /// A nonzero byte wherever `input` (after the 32 bytes `previous`)
        /// holds an error. An incomplete character at the end of `input`
        /// is not one yet: the next block says.
        #[target_feature(enable = "avx2")]
        fn errors(&self, input: __m256i, previous: __m256i) -> __m256i {
            // `input` shifted right by 1, 2 and 3 bytes, with `previous`'s
            // last bytes shifted in: the bytes before each byte.
            let across = _mm256_permute2x128_si256(previous, input, 0x21);
            let prev1 = _mm256_alignr_epi8(input, across, 15);
            let prev2 = _mm256_alignr_epi8(input, across, 14);
            let prev3 = _mm256_alignr_epi8(input, across, 13);
            let high = |v| _mm256_and_si256(_mm256_srli_epi16(v, 4), self.nibble);
            let special = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_shuffle_epi8(self.first_high, high(prev1)),
                    _mm256_shuffle_epi8(self.first_low, _mm256_and_si256(prev1, self.nibble)),
                ),
                _mm256_shuffle_epi8(self.second_high, high(input)),
            );
            // Where a third or fourth byte is due, two continuations in a
            // row are right, and their absence is wrong.
            let due = _mm256_or_si256(
                _mm256_subs_epu8(prev2, self.third),
                _mm256_subs_epu8(prev3, self.fourth),
            );
            _mm256_xor_si256(_mm256_and_si256(due, self.high_bit), special)
        }
    }

    /// A bit per byte of `errors` that is nonzero.
    #[target_feature(enable = "avx2")]
    fn error_bits(errors: __m256i) -> u32 {
        !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(errors, _mm256_setzero_si256())) as u32)
    }

    /// The bits up to and including bit `n`.
    fn through(n: u32) -> u32 {
        u32::MAX >> (31 - n)
    }

    /// # Safety
    ///
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan(bytes: &[u8]) -> Scan {
        let t = Tables::new();
        let mut previous = _mm256_setzero_si256();
        let mut errors = _mm256_setzero_si256();
        let mut at = 0;
        while at + 32 <= bytes.len() {
            // SAFETY: `at + 32 <= bytes.len()`; the load is unaligned.
            let input = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(at).cast()) };
            let block_errors = t.errors(input, previous);
            let ends = t.line_ends(input);
            if ends != 0 {
                let end = ends.trailing_zeros();
                // An error the line end itself shows (a character cut off
                // by it) counts; what follows the line end does not.
                let valid = _mm256_testz_si256(errors, errors) != 0
                    && error_bits(block_errors) & through(end) == 0;
                return if valid {
                    Scan::Line(at + end as usize)
                } else {
                    Scan::Invalid
                };
            }
            errors = _mm256_or_si256(errors, block_errors);
            previous = input;
            at += 32;
        }
        // The tail, padded with zeros: ASCII, so they make no error of their
        // own, and one a cut-off character makes falls outside the tail.
        let tail = &bytes[at..];
        let mut padded = [0u8; 32];
        padded[..tail.len()].copy_from_slice(tail);
        // SAFETY: `padded` is 32 bytes; the load is unaligned.
        let input = unsafe { _mm256_loadu_si256(padded.as_ptr().cast()) };
        let in_tail = through(tail.len() as u32) >> 1;
        let ends = t.line_ends(input) & in_tail;
        let block_errors = error_bits(t.errors(input, previous));
        let (found, upto) = match ends {
            0 => (None, in_tail),
            ends => {
                let end = ends.trailing_zeros();
                (Some(at + end as usize), through(end))
            }
        };
        if _mm256_testz_si256(errors, errors) == 0 || block_errors & upto != 0 {
            return Scan::Invalid;
        }
        found.map_or(Scan::NoLine, Scan::Line)
    }
}
