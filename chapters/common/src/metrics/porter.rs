//! The Porter stemmer (Porter, 1980), as NLTK's `PorterStemmer` runs it by default (its `NLTK_EXTENSIONS` mode),
//! which is what `rouge-score` uses for `use_stemmer=True`: "connected", "connecting", "connection" all become
//! "connect", so that ROUGE counts a word's forms as one.
//!
//! A word is read as consonants (C) and vowels (V): a, e, i, o, u, and y after a consonant. Any word is
//! `[C](VC)^m[V]`, and m, its *measure*, says how much of a word is left: most rules remove a suffix only if the
//! stem keeps m > 0 (or m > 1), so that "relate" loses no "-ate" while "activate" does. Five steps each apply
//! the first rule whose suffix the word ends with, in order.

/// Which letters of `word` are consonants: not a vowel, except that "y" after a consonant is a vowel.
fn consonants(word: &[u8]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(word.len());
    for (i, &c) in word.iter().enumerate() {
        let consonant = match c {
            b'a' | b'e' | b'i' | b'o' | b'u' => false,
            b'y' => i == 0 || !flags[i - 1],
            _ => true,
        };
        flags.push(consonant);
    }
    flags
}

/// m in `[C](VC)^m[V]`: how many times a vowel is followed by a consonant.
fn measure(stem: &[u8]) -> usize {
    consonants(stem).windows(2).filter(|pair| !pair[0] && pair[1]).count()
}

fn has_vowel(stem: &[u8]) -> bool {
    consonants(stem).iter().any(|&consonant| !consonant)
}

/// The word ends with two equal consonants ("-tt", "-ss").
fn ends_double_consonant(word: &[u8]) -> bool {
    let n = word.len();
    n >= 2 && word[n - 1] == word[n - 2] && consonants(word)[n - 1]
}

/// The word ends consonant-vowel-consonant, the last not w, x or y ("hop", not "snow"), or is two letters,
/// vowel-consonant (NLTK's extension).
fn ends_cvc(word: &[u8]) -> bool {
    let (n, c) = (word.len(), consonants(word));
    (n >= 3 && c[n - 3] && !c[n - 2] && c[n - 1] && !matches!(word[n - 1], b'w' | b'x' | b'y'))
        || (n == 2 && !c[0] && c[1])
}

/// A rule's condition on the stem left when the suffix is taken off.
type Condition<'a> = &'a dyn Fn(&[u8]) -> bool;

/// The first rule whose suffix `word` ends with decides: if its condition holds for the stem, the suffix becomes the
/// replacement; if not, the word stays as it is. No rule matching leaves it as it is too.
fn apply_first(word: Vec<u8>, rules: &[(&str, &str, Condition)]) -> Vec<u8> {
    for (suffix, replacement, condition) in rules {
        if let Some(stem) = word.strip_suffix(suffix.as_bytes()) {
            return if condition(stem) {
                [stem, replacement.as_bytes()].concat()
            } else {
                word
            };
        }
    }
    word
}

fn m_above_0(stem: &[u8]) -> bool {
    measure(stem) > 0
}

fn m_above_1(stem: &[u8]) -> bool {
    measure(stem) > 1
}

fn always(_: &[u8]) -> bool {
    true
}

/// Plurals: "caresses" → "caress", "ponies" → "poni", "ties" → "tie", "cats" → "cat".
fn step1a(word: Vec<u8>) -> Vec<u8> {
    if word.len() == 4 && word.ends_with(b"ies") {
        return [&word[..1], b"ie"].concat();
    }
    apply_first(
        word,
        &[
            ("sses", "ss", &always),
            ("ies", "i", &always),
            ("ss", "ss", &always),
            ("s", "", &always),
        ],
    )
}

/// Past tenses and gerunds: "agreed" → "agree", "plastered" → "plaster", "hopping" → "hop", "hoping" → "hope".
fn step1b(word: Vec<u8>) -> Vec<u8> {
    if let Some(stem) = word.strip_suffix(b"ied") {
        return [stem, if word.len() == 4 { b"ie" } else { b"i" }].concat();
    }
    if let Some(stem) = word.strip_suffix(b"eed") {
        return if measure(stem) > 0 {
            [stem, b"ee"].concat()
        } else {
            word
        };
    }
    let Some(stem) = [b"ed".as_slice(), b"ing"]
        .iter()
        .find_map(|suffix| word.strip_suffix(*suffix).filter(|stem| has_vowel(stem)))
    else {
        return word;
    };
    let stem = stem.to_vec();
    if ["at", "bl", "iz"].iter().any(|end| stem.ends_with(end.as_bytes())) {
        return [stem.as_slice(), b"e"].concat(); // "conflat(ed)" → "conflate"
    }
    if ends_double_consonant(&stem) {
        let last = stem[stem.len() - 1];
        return if matches!(last, b'l' | b's' | b'z') {
            stem
        } else {
            stem[..stem.len() - 1].to_vec()
        };
    }
    if measure(&stem) == 1 && ends_cvc(&stem) {
        return [stem.as_slice(), b"e"].concat(); // "fil(ing)" → "file"
    }
    stem
}

/// A final "y" after a consonant becomes "i": "happy" → "happi" (then "happiness" and "happy" meet).
fn step1c(word: Vec<u8>) -> Vec<u8> {
    let after_consonant = |stem: &[u8]| stem.len() > 1 && consonants(stem)[stem.len() - 1];
    apply_first(word, &[("y", "i", &after_consonant)])
}

/// Double suffixes to single ones: "relational" → "relate", "hopefulness" → "hopeful".
fn step2(word: Vec<u8>) -> Vec<u8> {
    if let Some(stem) = word.strip_suffix(b"alli")
        && measure(stem) > 0
    {
        return step2([stem, b"al"].concat());
    }
    let logi = |_: &[u8]| measure(&word[..word.len() - 3]) > 0;
    let rules: [(&str, &str, Condition); 22] = [
        ("ational", "ate", &m_above_0),
        ("tional", "tion", &m_above_0),
        ("enci", "ence", &m_above_0),
        ("anci", "ance", &m_above_0),
        ("izer", "ize", &m_above_0),
        ("bli", "ble", &m_above_0),
        ("alli", "al", &m_above_0),
        ("entli", "ent", &m_above_0),
        ("eli", "e", &m_above_0),
        ("ousli", "ous", &m_above_0),
        ("ization", "ize", &m_above_0),
        ("ation", "ate", &m_above_0),
        ("ator", "ate", &m_above_0),
        ("alism", "al", &m_above_0),
        ("iveness", "ive", &m_above_0),
        ("fulness", "ful", &m_above_0),
        ("ousness", "ous", &m_above_0),
        ("aliti", "al", &m_above_0),
        ("iviti", "ive", &m_above_0),
        ("biliti", "ble", &m_above_0),
        ("fulli", "ful", &m_above_0),
        ("logi", "log", &logi),
    ];
    apply_first(word.clone(), &rules)
}

/// "-icate", "-ative", "-ful", "-ness", ...: "triplicate" → "triplic", "goodness" → "good".
fn step3(word: Vec<u8>) -> Vec<u8> {
    apply_first(
        word,
        &[
            ("icate", "ic", &m_above_0),
            ("ative", "", &m_above_0),
            ("alize", "al", &m_above_0),
            ("iciti", "ic", &m_above_0),
            ("ical", "ic", &m_above_0),
            ("ful", "", &m_above_0),
            ("ness", "", &m_above_0),
        ],
    )
}

/// The last suffixes, where the stem keeps m > 1: "revival" → "reviv", "adoption" → "adopt".
fn step4(word: Vec<u8>) -> Vec<u8> {
    let ion = |stem: &[u8]| measure(stem) > 1 && matches!(stem.last(), Some(b's' | b't'));
    let rules: [(&str, &str, Condition); 19] = [
        ("al", "", &m_above_1),
        ("ance", "", &m_above_1),
        ("ence", "", &m_above_1),
        ("er", "", &m_above_1),
        ("ic", "", &m_above_1),
        ("able", "", &m_above_1),
        ("ible", "", &m_above_1),
        ("ant", "", &m_above_1),
        ("ement", "", &m_above_1),
        ("ment", "", &m_above_1),
        ("ent", "", &m_above_1),
        ("ion", "", &ion),
        ("ou", "", &m_above_1),
        ("ism", "", &m_above_1),
        ("ate", "", &m_above_1),
        ("iti", "", &m_above_1),
        ("ous", "", &m_above_1),
        ("ive", "", &m_above_1),
        ("ize", "", &m_above_1),
    ];
    apply_first(word, &rules)
}

/// A final "e" goes where enough is left ("probate" → "probat", but "rate" stays), and "-ll" becomes "-l" on a
/// long stem ("controll" → "control").
fn step5(word: Vec<u8>) -> Vec<u8> {
    let word = match word.strip_suffix(b"e") {
        Some(stem) if measure(stem) > 1 || (measure(stem) == 1 && !ends_cvc(stem)) => stem.to_vec(),
        _ => word,
    };
    if word.ends_with(b"ll") && measure(&word[..word.len() - 1]) > 1 {
        return word[..word.len() - 1].to_vec();
    }
    word
}

// ANCHOR: stem
/// The stem of a lower-case ASCII word, as NLTK's `PorterStemmer().stem` gives it.
pub fn porter_stem(word: &str) -> String {
    // NLTK's extension: a few irregular forms the rules would get wrong, and words the rules would shorten.
    const IRREGULAR: [(&str, &str); 16] = [
        ("skies", "sky"),
        ("sky", "sky"),
        ("dying", "die"),
        ("lying", "lie"),
        ("tying", "tie"),
        ("news", "news"),
        ("innings", "inning"),
        ("inning", "inning"),
        ("outings", "outing"),
        ("outing", "outing"),
        ("cannings", "canning"),
        ("canning", "canning"),
        ("howe", "howe"),
        ("proceed", "proceed"),
        ("exceed", "exceed"),
        ("succeed", "succeed"),
    ];
    if let Some((_, stem)) = IRREGULAR.iter().find(|(form, _)| *form == word) {
        return stem.to_string();
    }
    if word.len() <= 2 {
        return word.to_string();
    }
    let steps = [step1a, step1b, step1c, step2, step3, step4, step5];
    let stem = steps.iter().fold(word.as_bytes().to_vec(), |stem, step| step(stem));
    String::from_utf8(stem).expect("the rules only remove and add ASCII letters")
}
// ANCHOR_END: stem

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_every_word_of_tiny_shakespeare_as_nltk_does() {
        let fixture = include_str!("../../fixtures/porter_stems.txt");
        let mut checked = 0;
        for line in fixture.lines() {
            let (word, expected) = line.split_once(' ').expect("word stem");
            assert_eq!(porter_stem(word), expected, "{word}");
            checked += 1;
        }
        assert_eq!(checked, 11_031);
    }

    #[test]
    fn follows_porters_examples() {
        // Porter (1980), the examples of each step.
        for (word, stem) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("hopping", "hop"),
            ("filing", "file"),
            ("relational", "relat"),
            ("conditional", "condit"),
            ("triplicate", "triplic"),
            ("revival", "reviv"),
            ("adoption", "adopt"),
            ("controll", "control"),
            ("generalizations", "gener"),
            ("oscillators", "oscil"),
        ] {
            assert_eq!(porter_stem(word), stem, "{word}");
        }
    }
}
