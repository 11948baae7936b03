//! The bench-only fused scan (`benches/fused`) against std: a ceiling that
//! skipped work it claims to do would overstate what fusing could gain.

#[path = "../benches/fused/mod.rs"]
mod fused;

use fused::Scan;
use proptest::prelude::*;

/// What [`fused::scan`] must say of `bytes`, which hold a line end.
fn expected(bytes: &[u8]) -> Scan {
    let end = memchr::memchr2(b'\n', b'\r', bytes).expect("a line end");
    if std::str::from_utf8(&bytes[..end]).is_ok() {
        Scan::Line(end)
    } else {
        Scan::Invalid
    }
}

fn check(bytes: &[u8]) {
    assert_eq!(fused::scan(bytes), expected(bytes), "{bytes:x?}");
}

/// Pieces that make both valid text and, mixed, every kind of error:
/// characters of each length, the edges of the valid ranges, and bytes
/// that are never valid or only valid in some places.
fn pieces() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"a".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("—".as_bytes().to_vec()),
        Just("🙂".as_bytes().to_vec()),
        Just(vec![0xF4, 0x8F, 0xBF, 0xBF]), // U+10FFFF
        Just(vec![0xED, 0x9F, 0xBF]),       // U+D7FF
        Just(vec![0xEE, 0x80, 0x80]),       // U+E000
        Just(vec![0xF0, 0x90, 0x80, 0x80]), // U+10000
        Just(vec![0xE0, 0xA0, 0x80]),       // U+0800
        Just(vec![0xC2, 0x80]),             // U+0080
        any::<u8>().prop_map(|b| vec![b]),
        prop::sample::select(vec![
            0x80u8, 0xBF, 0xC0, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF
        ])
        .prop_map(|b| vec![b]),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

/// Every lead byte with every second byte, then zero, one or two
/// continuations: every range the tables encode (overlongs, surrogates,
/// above U+10FFFF, truncations), inside a block and across its edge.
#[test]
fn every_byte_pair_then_continuations() {
    if !fused::available() {
        eprintln!("no AVX2: nothing to check");
        return;
    }
    for offset in [0, 30, 31] {
        for tail in [&b""[..], b"\x80", b"\x80\x80"] {
            for pair in 0..=u16::MAX {
                let mut bytes = vec![b'a'; offset];
                bytes.extend_from_slice(&pair.to_be_bytes());
                bytes.extend_from_slice(tail);
                bytes.extend_from_slice(b"bc\n");
                check(&bytes);
            }
        }
    }
}

#[test]
fn valid_text_without_a_line_end_is_not_an_error() {
    if !fused::available() {
        return;
    }
    let text = "résumé — naïve 🙂 Größe ".repeat(20);
    for len in 0..=text.len() {
        if let Some(prefix) = text.get(..len) {
            assert_eq!(fused::scan(prefix.as_bytes()), Scan::NoLine, "{len}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn agrees_with_std(mut bytes in pieces(), end in prop::sample::select(vec![b'\n', b'\r'])) {
        if fused::available() {
            bytes.push(end);
            prop_assert_eq!(fused::scan(&bytes), expected(&bytes));
        }
    }
}
