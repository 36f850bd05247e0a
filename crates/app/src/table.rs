//! Plain-text tables for the CLI: every cell escaped (outside text cannot move the cursor
//! or forge a line) and every column as wide as its widest cell, counted in characters.

use domwatch_core::text::escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Table {
            columns: columns.iter().map(|&(h, a)| (h.to_string(), a)).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<I: IntoIterator<Item = S>, S: AsRef<str>>(&mut self, cells: I) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| escape(c.as_ref()).into_owned())
                .collect(),
        );
    }

    /// The table as lines, two spaces between columns, no trailing blanks.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header: Vec<&str> = self.columns.iter().map(|(h, _)| h.as_str()).collect();
        let mut out = String::new();
        for cells in std::iter::once(header).chain(
            self.rows
                .iter()
                .map(|r| r.iter().map(String::as_str).collect()),
        ) {
            let mut line = String::new();
            for (i, ((_, align), width)) in self.columns.iter().zip(&widths).enumerate() {
                let cell = cells.get(i).copied().unwrap_or("");
                let pad = " ".repeat(width - cell.chars().count().min(*width));
                if i > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_longest_cell_in_characters() {
        let mut t = Table::new(&[
            ("case", Align::Right),
            ("kind", Align::Left),
            ("domain", Align::Left),
        ]);
        t.row(["7", "renewal_mode_drift_with_a_very_long_name", "müller.de"]);
        t.row(["12", "orphan", "日本語.jp"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "case  kind                                      domain"
        );
        assert_eq!(
            lines[1],
            "   7  renewal_mode_drift_with_a_very_long_name  müller.de"
        );
        assert_eq!(
            lines[2],
            "  12  orphan                                    日本語.jp"
        );
    }

    #[test]
    fn cells_are_escaped_and_sized_escaped() {
        let mut t = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
        t.row(["x\x1b[31m\r\nFAKE", "y"]);
        let text = t.render();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("x\\u{1b}[31m\\r\\nFAKE  y"), "{text}");
    }
}
