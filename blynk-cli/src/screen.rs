//! The one door between what the server sends and a terminal: [`escape`] shows control
//! characters (and the invisible characters that reorder text) as escapes, so a device's label or
//! text value cannot move the cursor, recolour the terminal or break a table into extra lines.
//! Tables, error messages and skip reasons pass through it; JSON output passes through
//! [`json_line`], which escapes what `serde_json` leaves raw, so it stays valid JSON with the same
//! data.

use std::borrow::Cow;

/// Characters that must not reach a terminal raw: C0 and C1 controls, DEL, and the bidirectional
/// formatting characters that reorder what is displayed.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character shown escaped: `\n`, `\r`, `\t`, and `\u{1b}` for the rest.
/// Text without them is borrowed as is. Backslashes are left alone (they are safe, and paths in
/// messages keep their form), so a value holding the two characters `\n` looks like an escaped
/// newline; `--json` output is unambiguous.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A JSON value on one line, with the characters `serde_json` leaves raw (DEL, C1 controls,
/// bidirectional formatting) written as `\uXXXX` escapes: the same JSON value, safe on a terminal.
pub fn json_line(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if !text.chars().any(is_unsafe) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        // serde_json already escaped C0 controls; the rest can only be inside strings.
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(escape("Living room"), "Living room");
        assert_eq!(escape("a\nb\x1b[31mred"), "a\\nb\\u{1b}[31mred");
        assert_eq!(escape("\u{9b}31m\u{7f}"), "\\u{9b}31m\\u{7f}");
        assert_eq!(escape("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(escape("Zürich ✓"), "Zürich ✓");
    }

    #[test]
    fn json_lines_stay_the_same_json() {
        let value = serde_json::json!({"label": "x\u{1b}[2J\u{9b}y\u{202e}\n"});
        let line = json_line(&value);
        assert!(!line.chars().any(is_unsafe), "{line}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            value
        );
    }
}
