//! Keyword matching: evasive spellings match, ordinary text containing a term does not.
//! Every term here is invented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reachline_matcher::{
    AutomatonChoice, Entry, KeywordMode, Matcher, MatcherBuilder, MatcherConfig, Normalizer,
    NormalizerConfig, Signal,
};

fn matcher_with(config: MatcherConfig) -> Matcher {
    let mut b = MatcherBuilder::with_config(config);
    b.add_keyword(
        Entry::new("bp", "invented", "fruit"),
        "bluepineapple",
        KeywordMode::Word,
    )
    .unwrap();
    b.add_keyword(
        Entry::new("pine", "invented", "tree"),
        "pine",
        KeywordMode::Word,
    )
    .unwrap();
    b.add_keyword(
        Entry::new("qh", "phrases", "place"),
        "quiet harbour",
        KeywordMode::Phrase,
    )
    .unwrap();
    b.add_keyword(
        Entry::new("mz", "fragments", "noise"),
        "mauvezephyr",
        KeywordMode::Substring,
    )
    .unwrap();
    b.build().unwrap()
}

fn matcher() -> Matcher {
    matcher_with(MatcherConfig::default())
}

fn ids(m: &Matcher, q: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .check_query(q)
        .unwrap()
        .into_iter()
        .map(|m| m.entry_id)
        .collect();
    v.sort();
    v
}

fn assert_matches(m: &Matcher, q: &str, id: &str) {
    let found = ids(m, q);
    assert!(
        found.iter().any(|f| f == id),
        "{q:?} should match {id}, found {found:?}; explain: {:#?}",
        m.explain(q).unwrap().steps
    );
}

fn assert_no_match(m: &Matcher, q: &str, id: &str) {
    let found = ids(m, q);
    assert!(
        !found.iter().any(|f| f == id),
        "{q:?} should not match {id}, found {found:?}"
    );
}

#[test]
fn plain_and_case() {
    let m = matcher();
    assert_matches(&m, "bluepineapple", "bp");
    assert_matches(&m, "where to find BluePineApple today", "bp");
    assert_matches(&m, "BLUEPINEAPPLE", "bp");
}

#[test]
fn spacing_evasions() {
    let m = matcher();
    for q in [
        "blue pine apple",
        "blue   pineapple",
        "b l u e p i n e a p p l e",
        "b l u e  p i n e a p p l e recipes",
        "\tblue\npine apple",
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn punctuation_evasions() {
    let m = matcher();
    for q in [
        "blue.pine.apple",
        "b.l.u.e p-i-n-e-a-p-p-l-e",
        "blue_pine_apple",
        "blue-pineapple!!",
        "\"blue\" (pine) [apple]",
        "b/l/u/e/p/i/n/e/a/p/p/l/e",
        "b·l·u·e·p·i·n·e·a·p·p·l·e",
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn homoglyphs_from_other_scripts() {
    let m = matcher();
    for q in [
        "bluеpinеapplе",                         // Cyrillic е
        "bluepineаpple",                         // Cyrillic а
        "bluepineaррle",                         // Cyrillic р
        "bluepιneapple",                         // Greek iota
        "ｂｌｕｅｐｉｎｅａｐｐｌｅ",            // fullwidth
        "𝐛𝐥𝐮𝐞𝐩𝐢𝐧𝐞𝐚𝐩𝐩𝐥𝐞",                         // mathematical bold
        "blüepînéapple",                         // diacritics
        "b\u{0336}l\u{0336}u\u{0336}epineapple", // combining overlay strokes
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn digits_and_symbols_for_letters() {
    let m = matcher();
    for q in [
        "blu3pin3appl3",
        "b1uep1n34pp13",
        "bluep!neapple",
        "blue p!ne @pple",
        "b|uepineapp|e",
        "bl\u{00FC}3p1n3@pp1€",
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn invisible_characters() {
    let m = matcher();
    for q in [
        "blue\u{200B}pine\u{200D}apple",
        "\u{202E}bluepineapple\u{202C}",
        "blue\u{00AD}pine\u{2060}apple\u{FEFF}",
        "bl\u{200C}ue\u{2066}pineapple\u{2069}",
        "blue\u{FE0F}pineapple",
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn repeated_letters() {
    let m = matcher();
    for q in [
        "bluuuuuepineapple",
        "bluepineeeeeaaapple",
        "bbbbluepineapppppple",
        "b l u u u e pineapple",
    ] {
        assert_matches(&m, q, "bp");
    }
}

#[test]
fn everything_at_once() {
    let m = matcher();
    assert_matches(&m, "  B.1.ü.Е\u{200B}  p-1-i-i-n-3 @PPPL3!!", "bp");
}

#[test]
fn a_word_inside_a_longer_word_does_not_match() {
    let m = matcher();
    // `pine` is a word entry: not inside other words.
    assert_no_match(&m, "bluepineapple", "pine");
    assert_no_match(&m, "pineapple juice", "pine");
    assert_no_match(&m, "porcupines", "pine");
    assert_no_match(&m, "spine", "pine");
    assert_matches(&m, "a pine tree", "pine");
    assert_matches(&m, "PINE", "pine");
    assert_matches(&m, "p1ne forest", "pine");
    // A listed word does not match a longer word that contains it: plurals and compounds
    // must be listed themselves (or the entry made a substring).
    assert_no_match(&m, "bluepineapples", "bp");
    assert_no_match(&m, "mybluepineapple", "bp");
    assert_no_match(&m, "bluepineapplepie", "bp");
    assert_no_match(&m, "blue pineapples", "bp");
    assert_no_match(&m, "blueberry pine apple", "bp");
    // Ordinary text with none of the terms.
    assert!(ids(&m, "ripe pineapple and blue sky").is_empty());
    assert!(ids(&m, "").is_empty());
}

#[test]
fn phrases_need_their_word_gaps() {
    let m = matcher();
    for q in [
        "quiet harbour",
        "QUIET-HARBOUR",
        "a quiet, harbour town",
        "q u i e t h a r b o u r",
        "qu1et h4rb0ur",
        "quiet harb our",
    ] {
        assert_matches(&m, q, "qh");
    }
    for q in [
        "quietharbour",
        "quiet harbours",
        "disquiet harbour",
        "quiet harbourside",
    ] {
        assert_no_match(&m, q, "qh");
    }
}

#[test]
fn substrings_match_inside_words() {
    let m = matcher();
    assert_matches(&m, "supermauvezephyrs", "mz");
    assert_matches(&m, "mauve zephyr", "mz");
    assert_matches(&m, "MAUV3 Z3PHYR", "mz");
    assert_no_match(&m, "mauve breeze", "mz");
}

#[test]
fn debug_output_shows_no_terms() {
    let m = matcher();
    let dump = format!("{m:?}");
    for term in [
        "bluepineapple",
        "biuepineapie",
        "harbour",
        "harbo",
        "zephyr",
    ] {
        assert!(!dump.contains(term), "{term} in {dump}");
    }
    assert!(dump.contains("keywords: 4"), "{dump}");
}

#[test]
fn matches_carry_entry_list_category_and_mode() {
    let m = matcher();
    let found = m.check_query("blue pine apple").unwrap();
    let bp = found.iter().find(|f| f.entry_id == "bp").unwrap();
    assert_eq!(bp.list, "invented");
    assert_eq!(bp.category, "fruit");
    assert_eq!(
        bp.signal,
        Signal::Keyword {
            mode: KeywordMode::Word
        }
    );
    // Each entry at most once, even when it occurs twice.
    let twice = m.check_query("bluepineapple bluepineapple").unwrap();
    assert_eq!(twice.iter().filter(|f| f.entry_id == "bp").count(), 1);
}

#[test]
fn entries_sharing_a_normal_form_all_match() {
    let mut b = MatcherBuilder::new();
    b.add_keyword(
        Entry::new("a", "one", "x"),
        "quietharbour",
        KeywordMode::Word,
    )
    .unwrap();
    b.add_keyword(
        Entry::new("b", "two", "y"),
        "QUIET HARBOUR",
        KeywordMode::Word,
    )
    .unwrap();
    b.add_keyword(
        Entry::new("c", "two", "y"),
        "quiet harbour",
        KeywordMode::Phrase,
    )
    .unwrap();
    let m = b.build().unwrap();
    assert_eq!(ids(&m, "quiet harbour"), ["a", "b", "c"]);
    assert_eq!(ids(&m, "quietharbour"), ["a", "b"]);
}

#[test]
fn explain_shows_every_step_and_the_match() {
    let m = matcher();
    let e = m.explain("ＢＬＵＥ\u{200B} p1neаpple").unwrap();
    let steps: Vec<(&str, &str)> = e.steps.iter().map(|s| (s.name, s.text.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("nfkc_casefold", "blue\u{200B} p1neаpple"),
            ("remove_ignorables", "blue p1neаpple"),
            ("confusables", "blue p1neapple"),
            ("tokenise", "blue p1neapple"),
            ("leetspeak", "biue pineappie"),
            ("collapse_repeats", "biue pineapie"),
            ("join_spelled_out", "biue pineapie"),
        ]
    );
    assert_eq!(e.compact, "biuepineapie");
    assert_eq!(e.words, ["biue", "pineapie"]);
    assert_eq!(e.matches.len(), 1);
    assert_eq!(e.matches[0].entry_id, "bp");
    // Explanations serialise for the command line and the API.
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains("\"name\":\"confusables\""));
}

#[test]
fn leetspeak_can_be_turned_off() {
    let mut config = MatcherConfig::default();
    config.normalizer.leet.clear();
    let m = matcher_with(config);
    assert_no_match(&m, "blu3pin3appl3", "bp");
    assert_matches(&m, "blue pine apple", "bp");
}

#[test]
fn automaton_kind_follows_list_size_and_choice() {
    let small = matcher();
    assert_eq!(small.stats().keyword_automaton, Some("dfa"));
    let mut config = MatcherConfig::default();
    config.automaton = AutomatonChoice::ContiguousNfa;
    let nfa = matcher_with(config);
    assert_eq!(nfa.stats().keyword_automaton, Some("contiguous-nfa"));
    // Same answers either way.
    for q in [
        "b l u e pine apple",
        "pine",
        "spine",
        "quiet harbour",
        "xmauvezephyrx",
    ] {
        assert_eq!(ids(&small, q), ids(&nfa, q), "{q}");
    }
    let mut b = MatcherBuilder::new();
    for i in 0..6000 {
        b.add_keyword(
            Entry::new(i.to_string(), "big", "x"),
            &invented_word(i),
            KeywordMode::Word,
        )
        .unwrap();
    }
    let big = b.build().unwrap();
    assert_eq!(big.stats().keyword_automaton, Some("contiguous-nfa"));
    assert_eq!(ids(&big, &format!("x {} y", invented_word(4321))), ["4321"]);
}

/// Pronounceable invented words from a number (no real vocabulary).
fn invented_word(mut n: usize) -> String {
    const C: &[u8] = b"bdfgkmnprtvz";
    const V: &[u8] = b"aeiou";
    let mut s = String::from("q");
    loop {
        s.push(C[n % C.len()] as char);
        n /= C.len();
        s.push(V[n % V.len()] as char);
        n /= V.len();
        if n == 0 {
            break;
        }
    }
    s
}

#[test]
fn empty_terms_and_long_queries_are_errors() {
    let mut b = MatcherBuilder::new();
    let err = b
        .add_keyword(Entry::new("e", "l", "c"), " !!! ", KeywordMode::Word)
        .unwrap_err();
    assert_eq!(err, reachline_matcher::Error::EmptyTerm { id: "e".into() });
    let m = matcher();
    let long = "a".repeat(5000);
    assert!(matches!(
        m.check_query(&long),
        Err(reachline_matcher::Error::InputTooLong { .. })
    ));
}

/// Every evasion the pipeline claims to undo, applied to invented terms: the entry must
/// match itself.
#[test]
fn an_entry_matches_itself_under_every_evasion() {
    let terms = [
        "bluepineapple",
        "quietharbour",
        "mauvezephyr",
        "tollystripe",
        "saltcoast",
    ];
    let mut b = MatcherBuilder::new();
    for t in terms {
        b.add_keyword(Entry::new(t, "invented", "x"), t, KeywordMode::Word)
            .unwrap();
    }
    let m = b.build().unwrap();
    type Evasion = fn(&str) -> String;
    let evasions: &[(&str, Evasion)] = &[
        ("upper", |t| t.to_uppercase()),
        ("spaced", |t| t.chars().map(|c| format!("{c} ")).collect()),
        ("dotted", |t| {
            t.chars().map(String::from).collect::<Vec<_>>().join(".")
        }),
        ("zero-width", |t| {
            t.chars().map(|c| format!("{c}\u{200B}")).collect()
        }),
        ("repeated", |t| {
            t.chars().map(|c| c.to_string().repeat(3)).collect()
        }),
        ("leet", |t| {
            t.chars()
                .map(|c| match c {
                    'a' => '4',
                    'e' => '3',
                    'i' => '1',
                    'l' => '1',
                    'o' => '0',
                    's' => '5',
                    't' => '7',
                    c => c,
                })
                .collect()
        }),
        ("cyrillic", |t| {
            t.chars()
                .map(|c| match c {
                    'a' => 'а',
                    'e' => 'е',
                    'o' => 'о',
                    'p' => 'р',
                    'c' => 'с',
                    'y' => 'у',
                    'x' => 'х',
                    c => c,
                })
                .collect()
        }),
        ("fullwidth", |t| {
            t.chars()
                .map(|c| char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap_or(c))
                .collect()
        }),
        ("split in two", |t| format!("{} {}", &t[..4], &t[4..])),
    ];
    for t in terms {
        for (name, f) in evasions {
            let q = f(t);
            let found = ids(&m, &q);
            assert_eq!(found, [t], "{name} evasion {q:?} of {t}");
        }
        // And two evasions combined.
        let q = (evasions[3].1)(&(evasions[5].1)(&(evasions[6].1)(t)));
        assert_eq!(ids(&m, &q), [t], "combined {q:?}");
    }
}

/// Normalising normalised text changes nothing, over random strings of a mixed alphabet.
#[test]
fn normalising_twice_changes_nothing() {
    let alphabet: Vec<char> =
        "abcdelopsty 0134579@$!|+.-_'ABCEOP\u{200B}\u{202E}аеорсιο ｂｌ\u{0301}ßéü€ ДЖΣςİǅﬁ한\u{FFA0}ℌ"
            .chars()
            .collect();
    let normalizer = Normalizer::new(NormalizerConfig::default());
    let mut state = 0x5eed_u64;
    for _ in 0..5000 {
        let len = (next(&mut state) % 24) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[(next(&mut state) % alphabet.len() as u64) as usize])
            .collect();
        let once = normalizer.normalize(&s);
        let twice = normalizer.normalize(&once.text());
        assert_eq!(once.words(), twice.words(), "input {s:?}");
    }
}

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn keywords_csv_format() {
    let mut b = MatcherBuilder::new();
    b.add_keywords_csv(
        "hotline-test",
        "term,category,match,language\n# a comment\n\nbluepineapple,fruit,word,en\n\"quiet, harbour\",place,phrase,en\nzephyr,noise,substring,\nsaltcoast,coast,,\n",
    )
    .unwrap();
    let m = b.build().unwrap();
    assert_eq!(m.stats().keywords, 4);
    assert_eq!(ids(&m, "bluepineapple"), ["hotline-test:4"]);
    assert_eq!(ids(&m, "quiet harbour"), ["hotline-test:5"]);
    assert_eq!(ids(&m, "mauvezephyrs"), ["hotline-test:6"]);
    assert_eq!(ids(&m, "salt coast"), ["hotline-test:7"]);
    let mut b = MatcherBuilder::new();
    let err = b
        .add_keywords_csv("x", "bluepineapple,fruit,fuzzy,en\n")
        .unwrap_err();
    assert!(
        matches!(err, reachline_matcher::Error::BadLine { line: 1, .. }),
        "{err}"
    );
    let err = b
        .add_keywords_csv("x", "ok,c,word,en\n...,c,word,en\n")
        .unwrap_err();
    assert!(
        matches!(err, reachline_matcher::Error::BadLine { line: 2, .. }),
        "{err}"
    );
}

/// `normalize` runs a fused single pass; `explain` shows the step-by-step pipeline. They
/// must agree exactly, boundaries included, for every configuration.
#[test]
fn fused_and_step_by_step_pipelines_agree() {
    let alphabet: Vec<char> =
        "abcdelopsty aab 0134579@$!|+.-_' ABCEOP\u{200B}\u{202E}аеорсιο ｂｌ\u{0301}ßéü€ 水ДЖΣςİǅﬁ한\u{FFA0}ℌ".chars().collect();
    let mut configs = vec![NormalizerConfig::default()];
    for i in 0..6 {
        let mut c = NormalizerConfig::default();
        match i {
            0 => c.leet.clear(),
            1 => c.collapse_repeats = false,
            2 => c.join_spelled_out = false,
            3 => c.confusables = false,
            4 => c.strip_diacritics = false,
            _ => {
                c.confusables = false;
                c.strip_diacritics = false;
            }
        }
        configs.push(c);
    }
    let mut state = 0xfeed_u64;
    for config in configs {
        let n = Normalizer::new(config.clone());
        for _ in 0..3000 {
            let len = (next(&mut state) % 30) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next(&mut state) % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                n.normalize(&s),
                n.normalize_step_by_step(&s),
                "{s:?} with {config:?}"
            );
        }
    }
}

#[test]
fn long_runs_of_symbols_stay_cheap() {
    let m = matcher();
    let start = std::time::Instant::now();
    for q in [
        "$".repeat(4000),
        format!("{}bluepineapple", "@".repeat(4000)),
        "!a".repeat(2000),
    ] {
        m.check_query(&q).unwrap();
    }
    // Linear work: well under a second even unoptimised.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
