//! [`LineEnds`]: the search for the next CR or LF.

/// Finds the next CR or LF, with the fastest searcher this CPU has, chosen
/// once rather than on every call.
///
/// `memchr::memchr2` picks its implementation on each call through a
/// function pointer; for the 30–80-byte lines of a typical stream that
/// dispatch is a good part of the search. `memchr`'s own `Two` searchers are
/// picked once here and searched through directly.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineEnds {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl LineEnds {
    pub(crate) fn new() -> Self {
        LineEnds {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    /// The index of the first CR or LF in `haystack`.
    #[inline]
    pub(crate) fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(searcher) = &self.avx2 {
            return searcher.find(haystack);
        }
        memchr::memchr2(b'\n', b'\r', haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_cr_or_lf_at_every_length() {
        let searcher = LineEnds::new();
        for len in 0..100 {
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut haystack = vec![b'x'; len];
                    haystack[at] = end;
                    if at + 1 < len {
                        haystack[len - 1] = b'\n';
                    }
                    assert_eq!(searcher.find(&haystack), Some(at), "{len} {at}");
                }
            }
            assert_eq!(searcher.find(&vec![b'x'; len]), None);
        }
    }
}
