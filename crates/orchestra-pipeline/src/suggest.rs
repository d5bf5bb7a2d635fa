//! "Did you mean …?" suggestions for misspelt names.

/// Names longer than this get no suggestion.
const MAX_SUGGESTED_LENGTH: usize = 64;

/// The candidate closest to `word`, if one is close enough to be what was meant: the same word
/// in another case, or within about one edit per three characters.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let length = word.chars().count();
    // Suggestions are for names people type; comparing long strings costs time for nothing.
    if length > MAX_SUGGESTED_LENGTH {
        return None;
    }
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| {
            *candidate != word && candidate.chars().count().abs_diff(length) <= limit
        })
        .map(|candidate| {
            let distance = if candidate.eq_ignore_ascii_case(word) {
                0
            } else {
                strsim::damerau_levenshtein(&word.to_lowercase(), &candidate.to_lowercase())
            };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A help sentence for a misspelt name, or a list of what is allowed when nothing is close.
pub(crate) fn help_for<'a, I>(word: &str, candidates: I, what: &str) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    if let Some(close) = did_you_mean(word, candidates.clone()) {
        return Some(format!("did you mean `{close}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    // A short list helps; an empty or a long one does not.
    (1..=12)
        .contains(&all.len())
        .then(|| format!("{what}: {}", quote_list(&all)))
}

/// `a`, `b` and `c` as "`a`, `b`, `c`".
pub(crate) fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(word: &str, expected: Option<&str>) {
        let keys = [
            "depends_on",
            "on_failure",
            "on_success",
            "timeout",
            "retry",
            "id",
        ];
        assert_eq!(did_you_mean(word, keys), expected, "suggestion for {word}");
    }

    #[test]
    fn close_misspellings_are_suggested_and_distant_words_are_not() {
        check("depend_on", Some("depends_on"));
        check("dependson", Some("depends_on"));
        check("Timeout", Some("timeout"));
        check("on_failur", Some("on_failure"));
        check("retyr", Some("retry"));
        check("ib", Some("id"));
        check("banana", None);
        check("depends_on", None);
    }
}
