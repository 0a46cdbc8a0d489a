//! The terminal tables' layout, shared by every command that draws one
//! (`scan`, `image`, `explain`, `fleet`, `signatures list`; `diff`'s
//! lines through [`wrap`]): no word is ever split across lines.
//!
//! comfy-table wraps a cell at spaces, but cuts a word in two wherever it
//! is longer than its column ("unresol ved", a path broken at any
//! character), which a sysadmin then misreads or cannot paste. So the
//! layout is decided here, before comfy-table draws: each column is at
//! least as wide as its longest word; where the columns do not fit the
//! width, the words of a column that allows it (paths, file names) are
//! shortened with one `…` in a controlled way (a path keeps its first and
//! last components, so the file name stays); and where even that does not
//! fit, every row becomes a record of `header: value` lines as wide as the
//! terminal. Widths are terminal columns (`console`), not characters.

use comfy_table::{Attribute, Cell as Drawn, Color, ColumnConstraint, Width};

/// The one mark of a shortened word.
pub const ELLIPSIS: char = '…';

/// A column of a [`Grid`].
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    /// Whether its long words may be shortened, and to how few columns at
    /// least (below that, records read better than a column of `…`).
    pub shorten: Option<usize>,
    /// In records: whether its value is introduced by `header:` (a cell
    /// whose lines name themselves, like a finding's, goes without).
    pub labelled: bool,
}

impl Column {
    /// A column whose words are never shortened.
    pub fn new(header: &str) -> Column {
        Column {
            header: header.to_string(),
            shorten: None,
            labelled: true,
        }
    }

    /// A column of paths or file names, shortened down to `min` columns.
    pub fn shortened(header: &str, min: usize) -> Column {
        Column {
            shorten: Some(min),
            ..Column::new(header)
        }
    }
}

/// A cell's text, and its colour (bold too) when the terminal has colour.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub colour: Option<Color>,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, colour: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

/// A table to draw: its columns and rows.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// How a [`Grid`] is drawn at a width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A table whose columns are at least these widths (content, no
    /// padding), long words of shortened columns cut to them.
    Table(Vec<usize>),
    /// A record of lines per row.
    Records,
}

/// Display width in terminal columns, colour escapes ignored.
pub fn width_of(s: &str) -> usize {
    console::measure_text_width(s)
}

fn longest_word(text: &str) -> usize {
    text.split(['\n', ' ']).map(width_of).max().unwrap_or(0)
}

fn longest_line(text: &str) -> usize {
    text.lines().map(width_of).max().unwrap_or(0)
}

/// In [`wrap`], a word too long for any line is shortened into what is
/// left of the current one when that is at least this wide, rather than
/// alone on the next.
const SHORTEN_IN_PLACE: usize = 16;

impl Grid {
    pub fn new(columns: Vec<Column>) -> Grid {
        Grid {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn add_row<C: Into<Cell>>(&mut self, row: impl IntoIterator<Item = C>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    /// The shape at `width` columns: a table if every column gets its
    /// longest word (after shortening where allowed), else records.
    pub fn shape(&self, width: usize) -> Shape {
        let n = self.columns.len();
        // Borders and padding of comfy-table's UTF8_FULL_CONDENSED: a
        // border before each column and after the last, a space each side.
        let Some(avail) = width.checked_sub(3 * n + 1) else {
            return Shape::Records;
        };
        let measure = |i: usize, f: fn(&str) -> usize| {
            self.rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|cell| f(&cell.text))
                .chain([f(&self.columns[i].header), 1])
                .max()
                .unwrap_or(1)
        };
        let need: Vec<usize> = (0..n).map(|i| measure(i, longest_word)).collect();
        let line: Vec<usize> = (0..n).map(|i| measure(i, longest_line)).collect();
        // Each column its longest word; where they do not all fit, the
        // columns that allow it down to their minimum (and their header's
        // longest word).
        let mut caps = need.clone();
        if need.iter().sum::<usize>() > avail {
            for (i, c) in self.columns.iter().enumerate() {
                if let Some(min) = c.shorten {
                    caps[i] = min.max(longest_word(&c.header)).min(need[i]);
                }
            }
        }
        let Some(mut budget) = avail.checked_sub(caps.iter().sum()) else {
            return Shape::Records;
        };
        // The rest shared towards each column's longest line, the columns
        // that want least first, so a short line is not wrapped for a long
        // one's sake.
        let mut wants: Vec<(usize, usize)> = (0..n)
            .map(|i| (line[i].max(need[i]) - caps[i], i))
            .collect();
        wants.sort_unstable();
        let mut left = n;
        for (want, i) in wants {
            let more = want.min(budget / left);
            caps[i] += more;
            budget -= more;
            left -= 1;
        }
        Shape::Table(caps)
    }

    /// The grid drawn at `width` columns, with colour when `colour`; ends
    /// without a newline.
    pub fn render(&self, width: u16, colour: bool) -> String {
        match self.shape(usize::from(width)) {
            Shape::Table(caps) => self.table(width, &caps, colour),
            Shape::Records => self.records(usize::from(width), colour),
        }
    }

    fn table(&self, width: u16, caps: &[usize], colour: bool) -> String {
        let mut t = comfy_table::Table::new();
        t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(width);
        if colour {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        t.set_header(self.columns.iter().map(|c| c.header.clone()));
        for row in &self.rows {
            t.add_row(row.iter().enumerate().map(|(i, cell)| {
                let text = match self.columns.get(i).and_then(|c| c.shorten) {
                    Some(_) => shorten_words(&cell.text, caps[i]),
                    None => cell.text.clone(),
                };
                let mut d = Drawn::new(text);
                if let Some(c) = cell.colour {
                    d = d.fg(c).add_attribute(Attribute::Bold);
                }
                d
            }));
        }
        for (i, cap) in caps.iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                let fixed = u16::try_from(cap + 2).unwrap_or(u16::MAX);
                c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(fixed)));
            }
        }
        t.to_string()
    }

    /// Each row as lines: the first column's value as a heading, then
    /// each other non-empty column indented, as `header: value`.
    fn records(&self, width: usize, colour: bool) -> String {
        let mut lines: Vec<String> = Vec::new();
        for row in &self.rows {
            for (i, (col, cell)) in self.columns.iter().zip(row).enumerate() {
                if cell.text.is_empty() {
                    continue;
                }
                let indent = if i == 0 { "" } else { "  " };
                let mut first = true;
                for line in cell.text.lines() {
                    let label = if col.labelled && first {
                        format!("{}: ", col.header)
                    } else {
                        String::new()
                    };
                    first = false;
                    let text = format!("{label}{line}");
                    let wrapped = wrap(&text, width, indent, &format!("{indent}  "));
                    for w in wrapped {
                        lines.push(match (cell.colour, colour) {
                            (Some(c), true) => paint(&w, c),
                            _ => w,
                        });
                    }
                }
            }
        }
        lines.join("\n")
    }
}

/// `text` in bold and the colour, as comfy-table paints a cell.
fn paint(text: &str, colour: Color) -> String {
    let code = match colour {
        Color::Red | Color::DarkRed => "31",
        Color::Green | Color::DarkGreen => "32",
        Color::Yellow | Color::DarkYellow => "33",
        Color::Blue | Color::DarkBlue => "34",
        Color::Magenta | Color::DarkMagenta => "35",
        Color::Cyan | Color::DarkCyan => "36",
        _ => "37",
    };
    format!("\x1b[1;{code}m{text}\x1b[0m")
}

/// Each word of `text` longer than `max` columns shortened to it.
fn shorten_words(text: &str, max: usize) -> String {
    text.split('\n')
        .map(|line| {
            line.split(' ')
                .map(|w| shorten(w, max))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines of at most `width` columns: `text` wrapped at spaces (its
/// leading spaces kept), the first line starting with `first`, the others
/// with `rest`; a word too long for a line is shortened ([`shorten`]), so
/// no word is ever split.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let body = text.trim_start_matches(' ');
    let lead = &text[..text.len() - body.len()];
    let mut lines = Vec::new();
    let mut line = format!("{first}{lead}");
    let mut empty = true;
    for word in body.split(' ').filter(|w| !w.is_empty()) {
        let room = width.saturating_sub(width_of(&line) + usize::from(!empty));
        let fresh = width.saturating_sub(width_of(rest));
        let shortened_anyway = width_of(word) > fresh && room >= SHORTEN_IN_PLACE;
        if !empty && width_of(word) > room && !shortened_anyway {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        let room = width.saturating_sub(width_of(&line) + usize::from(!empty));
        if !empty {
            line.push(' ');
        }
        line.push_str(&shorten(word, room.max(1)));
        empty = false;
    }
    lines.push(line);
    lines
}

/// `word` in at most `max` columns: as it is when it fits; else a path
/// keeps its first and last components around `/…/` (the file name
/// first; a file name too long alone is shortened after `…/`), and any
/// other word keeps its start and end around `…`. A word with colour
/// escapes is left as it is.
pub fn shorten(word: &str, max: usize) -> String {
    if width_of(word) <= max || word.contains('\x1b') {
        return word.to_string();
    }
    let parts: Vec<&str> = word.split('/').collect();
    if parts.len() > 2 {
        let (mut h, mut t) = (1, parts.len() - 1);
        let joined = |h: usize, t: usize| {
            format!(
                "{}/{ELLIPSIS}/{}",
                parts[..h].join("/"),
                parts[t..].join("/")
            )
        };
        if width_of(&joined(h, t)) <= max {
            // Components from the start and the end in turn, while they
            // fit: the start tells two virtualenvs' copies apart.
            let mut grew = true;
            while grew && h < t {
                grew = false;
                if h < t - 1 && width_of(&joined(h + 1, t)) <= max {
                    h += 1;
                    grew = true;
                }
                if t - 1 > h && width_of(&joined(h, t - 1)) <= max {
                    t -= 1;
                    grew = true;
                }
            }
            return joined(h, t);
        }
        // The file name alone is too long: the start and end of it, after
        // `…/` for the directories.
        let last = parts[parts.len() - 1];
        if !last.is_empty() && max >= 10 {
            return format!("{ELLIPSIS}/{}", middle(last, max - 2));
        }
    }
    middle(word, max)
}

/// `word` cut to `max` columns with `…` in the middle.
fn middle(word: &str, max: usize) -> String {
    let room = max.saturating_sub(1);
    let head_room = room / 2;
    let mut head = String::new();
    for c in word.chars() {
        if width_of(&format!("{head}{c}")) > head_room {
            break;
        }
        head.push(c);
    }
    let tail_room = room - width_of(&head);
    let mut tail: Vec<char> = Vec::new();
    for c in word.chars().rev() {
        let mut next: String = tail.iter().rev().collect();
        next.insert(0, c);
        if width_of(&next) > tail_room {
            break;
        }
        tail.push(c);
    }
    let tail: String = tail.into_iter().rev().collect();
    format!("{head}{ELLIPSIS}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_keeps_its_file_name_and_first_components() {
        let p = "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so";
        let s = shorten(p, 60);
        assert!(width_of(&s) <= 60, "{s}");
        assert!(s.starts_with("/usr/"), "{s}");
        assert!(
            s.ends_with("/readline.cpython-311-x86_64-linux-gnu.so"),
            "{s}"
        );
        assert_eq!(s.matches(ELLIPSIS).count(), 1);
        // Too narrow for the file name: its start and end.
        let s = shorten(p, 20);
        assert_eq!(width_of(&s), 20, "{s}");
        assert!(s.starts_with("…/readline") && s.ends_with("gnu.so"), "{s}");
        assert_eq!(shorten("short", 20), "short");
        assert_eq!(shorten("abcdefghij", 5), "ab…ij");
        // Wide characters count two columns.
        assert!(width_of(&shorten("日本語日本語日本語", 7)) <= 7);
    }

    #[test]
    fn wrap_never_splits_a_word() {
        let text = "  fix: disable readline.cpython-311-x86_64-linux-gnu.so now please";
        let lines = wrap(text, 20, "", "    ");
        for l in &lines {
            assert!(width_of(l) <= 20, "{l:?} in {lines:?}");
        }
        assert_eq!(lines[0], "  fix: disable");
        assert!(lines.iter().any(|l| l.contains(ELLIPSIS)));
        assert!(lines.iter().any(|l| l.trim() == "now please"), "{lines:?}");
    }

    #[test]
    fn table_then_shortened_then_records() {
        let mut g = Grid::new(vec![Column::new("role"), Column::shortened("examples", 12)]);
        g.add_row([
            "python-extension",
            "/usr/lib/python3/x/y.cpython-311.so, z.so",
        ]);
        // Wide: as it is.
        assert_eq!(g.shape(80), Shape::Table(vec![16, 41]));
        // Narrower: the path column shortened.
        assert_eq!(g.shape(40), Shape::Table(vec![16, 17]));
        let text = g.render(40, false);
        assert!(text.lines().all(|l| width_of(l) <= 40), "{text}");
        assert!(text.contains(ELLIPSIS), "{text}");
        // Too narrow for the role: records.
        assert_eq!(g.shape(30), Shape::Records);
        let text = g.render(30, false);
        assert!(
            text.starts_with("role: python-extension\n  examples: "),
            "{text}"
        );
        assert!(text.lines().all(|l| width_of(l) <= 30), "{text}");
    }
}
