//! Durations as pipelines write them: `500ms`, `30s`, `10m`, `1h30m`, `2d`.

use std::borrow::Cow;
use std::fmt::{self, Write};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

/// A length of time, kept with the text it was written as so that saving a pipeline writes
/// `90s` back as `90s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duration {
    text: String,
    millis: u64,
}

const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

impl Duration {
    /// Reads a duration: one or more whole numbers each followed by a unit (`ms`, `s`, `m`, `h`,
    /// `d`), largest unit first, such as `1h30m`. The error is a sentence for the user.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "`{text}` is not a duration; write a number and a unit such as `30s`, `10m`, \
                 `1h30m` or `500ms`"
            )
        };
        if text.is_empty() {
            return Err(invalid());
        }
        let mut millis: u64 = 0;
        let mut rest = text;
        let mut previous_unit = u64::MAX;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let Some(&(_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
                return Err(invalid());
            };
            if factor >= previous_unit {
                return Err(format!(
                    "`{text}` repeats a unit or puts a smaller one first; write units from the \
                     largest down, such as `1h30m`"
                ));
            }
            previous_unit = factor;
            millis = number
                .checked_mul(factor)
                .and_then(|part| millis.checked_add(part))
                .ok_or_else(|| format!("`{text}` is longer than any timeout can be"))?;
            rest = &rest[unit_len..];
        }
        Ok(Self {
            text: text.to_owned(),
            millis,
        })
    }

    /// The duration of a whole number of milliseconds, written with the largest exact units.
    pub fn from_millis(millis: u64) -> Self {
        if millis == 0 {
            return Self {
                text: "0s".to_owned(),
                millis,
            };
        }
        let mut text = String::new();
        let mut rest = millis;
        for &(name, factor) in UNITS.iter().rev() {
            if rest >= factor {
                let _ = write!(text, "{}{name}", rest / factor);
                rest %= factor;
            }
        }
        Self { text, millis }
    }

    /// The text it was written as.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The length in milliseconds.
    pub fn millis(&self) -> u64 {
        self.millis
    }

    /// As a standard library duration.
    pub fn to_std(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A length of time: whole numbers with units from the largest down, such as `30s`, `10m`, `1h30m` or `500ms`.",
            "type": "string",
            "minLength": 1,
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected_millis: Option<u64>) {
        match (Duration::parse(text), expected_millis) {
            (Ok(duration), Some(millis)) => assert_eq!(duration.millis(), millis, "{text}"),
            (Err(_), None) => {}
            (Ok(duration), None) => panic!("{text} must be refused, got {duration:?}"),
            (Err(error), Some(_)) => panic!("{text} must be accepted, got: {error}"),
        }
    }

    #[test]
    fn durations_are_numbers_with_units_largest_first() {
        check("500ms", Some(500));
        check("30s", Some(30_000));
        check("10m", Some(600_000));
        check("1h30m", Some(5_400_000));
        check("2d", Some(172_800_000));
        check("90s", Some(90_000));
        check("1m500ms", Some(60_500));
        check("0s", Some(0));
        check("", None);
        check("10", None);
        check("m", None);
        check("1.5h", None);
        check("10 m", None);
        check("30m1h", None);
        check("1s1s", None);
        check("10x", None);
        check("-1s", None);
        check("99999999999999999999d", None);
        check("9999999999999999d", None);
    }

    #[test]
    fn from_millis_writes_the_largest_exact_units() {
        assert_eq!(Duration::from_millis(5_400_000).text(), "1h30m");
        assert_eq!(Duration::from_millis(60_500).text(), "1m500ms");
        assert_eq!(Duration::from_millis(250).text(), "250ms");
        assert_eq!(Duration::from_millis(0).text(), "0s");
        for millis in [1, 999, 1000, 61_001, 86_400_000, 90_061_001] {
            let text = Duration::from_millis(millis);
            assert_eq!(
                Duration::parse(text.text()).map(|d| d.millis()),
                Ok(millis),
                "{text}"
            );
        }
    }
}
