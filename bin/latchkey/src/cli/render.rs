//! Human output: aligned tables, label/value blocks, short addresses and readable times.
//! (`--json` output never goes through here: it carries every value in full.)

/// A table with a header row; columns are aligned on their widest cell (comfy-table,
/// without borders).
#[derive(Debug)]
pub(crate) struct Table {
    inner: comfy_table::Table,
}

impl Table {
    pub(crate) fn new(headers: &[&str]) -> Self {
        let mut inner = comfy_table::Table::new();
        inner.load_style(comfy_table::presets::NOTHING);
        inner.set_header(headers.iter().copied());
        // Two spaces between columns: no padding on the left, two on the right.
        for column in inner.column_iter_mut() {
            column.set_padding((0, 2));
        }
        Self { inner }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.inner.add_row(cells);
    }

    /// The table as text: two spaces between columns, no trailing spaces, one line per row.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for line in self.inner.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Label/value lines, the labels padded to one width; a value's further lines are
/// indented under its first.
pub(crate) fn details(pairs: &[(&str, String)]) -> String {
    let label_width = pairs.iter().map(|(label, _)| width(label)).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        let mut lines = value.lines();
        let first = lines.next().unwrap_or("");
        let line = format!("{label:<label_width$}  {first}");
        out.push_str(line.trim_end());
        out.push('\n');
        for more in lines {
            out.push_str(&" ".repeat(label_width + 2));
            out.push_str(more);
            out.push('\n');
        }
    }
    out
}

/// Display width in characters (the tables hold ASCII and a few single-width symbols).
fn width(text: &str) -> usize {
    text.chars().count()
}

/// `0x1234ab…cdef` for a long hex value; short values are kept whole.
pub(crate) fn short_hex(hex: &str) -> String {
    let digits = hex.strip_prefix("0x").unwrap_or(hex);
    if digits.len() <= 12 || !digits.is_ascii() {
        return hex.to_string();
    }
    format!("0x{}…{}", &digits[..6], &digits[digits.len() - 4..])
}

/// `2025-11-21 06:12:05 UTC` for a Unix time.
pub(crate) fn utc(unix: u64) -> String {
    let t = latchkey_core::UtcDateTime::from_unix(i64::try_from(unix).unwrap_or(i64::MAX));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `2025-11-21 06:12:05 UTC (in 59m 58s)` or `(3m 2s ago)`.
pub(crate) fn utc_relative(unix: u64, now: u64) -> String {
    let when = if unix >= now {
        format!("in {}", duration(unix - now))
    } else {
        format!("{} ago", duration(now - unix))
    };
    format!("{} ({when})", utc(unix))
}

/// An ISO 8601 time from the API (`2025-11-21T06:12:05.000Z`) as `2025-11-21 06:12:05 UTC`;
/// anything else is shown as it is.
pub(crate) fn iso_time(text: &str) -> String {
    let bytes = text.as_bytes();
    if text.len() >= 19 && text.is_ascii() && bytes[10] == b'T' && text.ends_with('Z') {
        format!("{} {} UTC", &text[..10], &text[11..19])
    } else {
        text.to_string()
    }
}

/// `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub(crate) fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s / 60 % 60),
        s => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let mut table = Table::new(&["ADDRESS", "STATE", "CALLS"]);
        table.row(vec![
            short_hex("0x7a40dec7e18c0dfc5bb15415917032e5c856ac72c8b34019d8d58a4ffb494f0"),
            "active".into(),
            "2/10".into(),
        ]);
        table.row(vec!["0x12".into(), "revoked".into(), String::new()]);
        assert_eq!(
            table.render(),
            "ADDRESS        STATE    CALLS\n\
             0x7a40de…94f0  active   2/10\n\
             0x12           revoked\n"
        );
    }

    #[test]
    fn details_pad_labels_and_indent_continuations() {
        let text = details(&[
            ("State", "active".into()),
            ("Allowed", "a\nb".into()),
            ("Note", String::new()),
        ]);
        assert_eq!(text, "State    active\nAllowed  a\n         b\nNote\n");
    }

    #[test]
    fn hex_is_shortened_only_when_long() {
        assert_eq!(short_hex("0x1234"), "0x1234");
        assert_eq!(short_hex("0x123456789abc"), "0x123456789abc");
        assert_eq!(short_hex("0x123456789abcd"), "0x123456…abcd");
    }

    #[test]
    fn times_are_readable() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_763_705_525), "2025-11-21 06:12:05 UTC");
        assert_eq!(utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
        assert_eq!(utc_relative(10_003_600, 10_000_000), "1970-04-26 18:46:40 UTC (in 1h 0m)");
        assert_eq!(utc_relative(100, 190), "1970-01-01 00:01:40 UTC (1m 30s ago)");
        assert_eq!(iso_time("2025-11-21T06:12:05.000Z"), "2025-11-21 06:12:05 UTC");
        assert_eq!(iso_time("yesterday"), "yesterday");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3 * 86_400 + 7200), "3d 2h");
    }
}
