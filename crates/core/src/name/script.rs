//! Which script a character of a domain label belongs to, from a small table of Unicode
//! blocks: enough to tell when one label mixes scripts (Cyrillic "а" inside Latin "apple"),
//! which is how look-alike names are built. Not a full UAX #24 implementation: the blocks
//! below cover the scripts registries accept in IDNs; anything else counts as `Unknown`,
//! which never passes as a single script.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    /// Digits, hyphen, combining marks, joiners, the Japanese prolonged sound mark: fit
    /// with any script.
    Neutral,
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Syriac,
    Thaana,
    Nko,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    Sinhala,
    Thai,
    Lao,
    Tibetan,
    Myanmar,
    Georgian,
    Hangul,
    Ethiopic,
    Cherokee,
    Khmer,
    Mongolian,
    Hiragana,
    Katakana,
    Bopomofo,
    Han,
    Unknown,
}

use Script::*;

/// Sorted, non-overlapping ranges; characters outside every range are `Unknown`.
const RANGES: &[(u32, u32, Script)] = &[
    (0x2D, 0x2D, Neutral),
    (0x30, 0x39, Neutral),
    (0x41, 0x5A, Latin),
    (0x61, 0x7A, Latin),
    (0xB7, 0xB7, Neutral), // Catalan middle dot (l·l)
    (0xC0, 0x24F, Latin),
    (0x250, 0x2AF, Latin), // IPA extensions
    (0x300, 0x36F, Neutral),
    (0x370, 0x3FF, Greek),
    (0x400, 0x52F, Cyrillic),
    (0x530, 0x58F, Armenian),
    (0x590, 0x5FF, Hebrew),
    (0x600, 0x6FF, Arabic),
    (0x700, 0x74F, Syriac),
    (0x750, 0x77F, Arabic),
    (0x780, 0x7BF, Thaana),
    (0x7C0, 0x7FF, Nko),
    (0x8A0, 0x8FF, Arabic),
    (0x900, 0x97F, Devanagari),
    (0x980, 0x9FF, Bengali),
    (0xA00, 0xA7F, Gurmukhi),
    (0xA80, 0xAFF, Gujarati),
    (0xB00, 0xB7F, Oriya),
    (0xB80, 0xBFF, Tamil),
    (0xC00, 0xC7F, Telugu),
    (0xC80, 0xCFF, Kannada),
    (0xD00, 0xD7F, Malayalam),
    (0xD80, 0xDFF, Sinhala),
    (0xE00, 0xE7F, Thai),
    (0xE80, 0xEFF, Lao),
    (0xF00, 0xFFF, Tibetan),
    (0x1000, 0x109F, Myanmar),
    (0x10A0, 0x10FF, Georgian),
    (0x1100, 0x11FF, Hangul),
    (0x1200, 0x139F, Ethiopic),
    (0x13A0, 0x13FF, Cherokee),
    (0x1780, 0x17FF, Khmer),
    (0x1800, 0x18AF, Mongolian),
    (0x1AB0, 0x1AFF, Neutral),
    (0x1C80, 0x1C8F, Cyrillic),
    (0x1C90, 0x1CBF, Georgian),
    (0x1DC0, 0x1DFF, Neutral),
    (0x1E00, 0x1EFF, Latin),
    (0x1F00, 0x1FFF, Greek),
    (0x200C, 0x200D, Neutral), // ZWNJ, ZWJ (allowed in context by IDNA)
    (0x20D0, 0x20FF, Neutral),
    (0x2C60, 0x2C7F, Latin),
    (0x2D00, 0x2D2F, Georgian),
    (0x2DE0, 0x2DFF, Cyrillic),
    (0x2E80, 0x2FDF, Han),
    (0x3005, 0x3005, Han),
    (0x3007, 0x3007, Han),
    (0x3021, 0x3029, Han),
    (0x3038, 0x303B, Han),
    (0x3040, 0x3098, Hiragana),
    (0x3099, 0x309C, Neutral), // (semi-)voiced sound marks, Hiragana and Katakana
    (0x309D, 0x309F, Hiragana),
    (0x30A0, 0x30FB, Katakana),
    (0x30FC, 0x30FC, Neutral), // prolonged sound mark, Hiragana and Katakana
    (0x30FD, 0x30FF, Katakana),
    (0x3100, 0x312F, Bopomofo),
    (0x3130, 0x318F, Hangul),
    (0x31A0, 0x31BF, Bopomofo),
    (0x31F0, 0x31FF, Katakana),
    (0x3400, 0x4DBF, Han),
    (0x4E00, 0x9FFF, Han),
    (0xA640, 0xA69F, Cyrillic),
    (0xA720, 0xA7FF, Latin),
    (0xA960, 0xA97F, Hangul),
    (0xAB30, 0xAB6F, Latin),
    (0xAC00, 0xD7FF, Hangul),
    (0xF900, 0xFAFF, Han),
    (0xFB50, 0xFDFF, Arabic),
    (0xFE20, 0xFE2F, Neutral),
    (0xFE70, 0xFEFF, Arabic),
    (0x20000, 0x3134F, Han),
];

pub(super) fn script_of(c: char) -> Script {
    let c = u32::from(c);
    match RANGES.binary_search_by(|&(start, end, _)| {
        if end < c {
            std::cmp::Ordering::Less
        } else if start > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }) {
        Ok(i) => RANGES[i].2,
        Err(_) => Unknown,
    }
}

/// True when the (Unicode) label is written in one script. Han goes with Hiragana and
/// Katakana (Japanese), with Hangul (Korean) and with Bopomofo (Chinese), as in the
/// "highly restrictive" level of UTS #39; any other combination is mixed.
pub(super) fn is_single_script(label: &str) -> bool {
    let mut seen: Vec<Script> = Vec::new();
    for script in label.chars().map(script_of) {
        if script == Unknown {
            return false;
        }
        if script != Neutral && !seen.contains(&script) {
            seen.push(script);
        }
    }
    let cjk = |allowed: &[Script]| seen.iter().all(|s| allowed.contains(s));
    seen.len() <= 1
        || cjk(&[Han, Hiragana, Katakana])
        || cjk(&[Han, Hangul])
        || cjk(&[Han, Bopomofo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_disjoint() {
        for pair in RANGES.windows(2) {
            assert!(pair[0].0 <= pair[0].1, "{:x?}", pair[0]);
            assert!(
                pair[0].1 < pair[1].0,
                "{:x?} overlaps {:x?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn scripts_of_sample_characters() {
        assert_eq!(script_of('a'), Latin);
        assert_eq!(script_of('ü'), Latin);
        assert_eq!(script_of('ß'), Latin);
        assert_eq!(script_of('а'), Cyrillic); // U+0430
        assert_eq!(script_of('α'), Greek);
        assert_eq!(script_of('日'), Han);
        assert_eq!(script_of('の'), Hiragana);
        assert_eq!(script_of('カ'), Katakana);
        assert_eq!(script_of('한'), Hangul);
        assert_eq!(script_of('ع'), Arabic);
        assert_eq!(script_of('7'), Neutral);
        assert_eq!(script_of('-'), Neutral);
        assert_eq!(script_of('☃'), Unknown);
    }

    #[test]
    fn single_and_mixed_labels() {
        for single in [
            "apple",
            "müller",
            "straße",
            "пример",
            "ελληνικά",
            "日本語",
            "ソニーの日本",
            "한국어",
            "中文",
            "مثال",
            "2-go",
            "ありがとう",
        ] {
            assert!(is_single_script(single), "{single}");
        }
        for mixed in ["аpple", "paypаl", "gοogle", "日本a", "한국рф", "☃snow"] {
            assert!(!is_single_script(mixed), "{mixed}");
        }
    }
}
