//! The one rule for the short texts people type and the API takes: names,
//! titles, themes, token names and PAKs. The API's description states it
//! as a pattern (`http::shapes::text_pattern`); `scripts/api-check` checks
//! that the two agree.

/// `value` without its surrounding spaces, when it is 1 to `max`
/// characters as sent, holds something besides spaces, and has no control
/// character (tabs and line breaks included).
pub fn checked(value: &str, max: usize) -> Option<&str> {
    let trimmed = value.trim();
    let fits = !trimmed.is_empty() && value.chars().count() <= max;
    (fits && !value.chars().any(char::is_control)).then_some(trimmed)
}

/// What [`checked`] asks of a text, for messages: "1 to 200 characters, …".
pub fn rule(max: usize) -> String {
    format!("1 to {max} characters, not only spaces, without tabs, line breaks or other control characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_refused_when_blank_long_or_with_control_characters() {
        assert_eq!(checked("  Ada Lovelace ", 200), Some("Ada Lovelace"));
        assert_eq!(checked("é", 1), Some("é"));
        for refused in ["", "   ", "\u{a0}\u{3000}", "a\tb", "a\nb", "a\u{0}", "a\u{85}", "a\u{9b}", "ab"] {
            assert_eq!(checked(refused, if refused == "ab" { 1 } else { 200 }), None, "{refused:?}");
        }
        // Counted as sent: surrounding spaces count towards the limit.
        assert_eq!(checked(" ab", 2), None);
    }
}
