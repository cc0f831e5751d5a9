//! `mtastat watch`'s full-screen view (ratatui): providers over the last 5
//! and 60 minutes, the selected provider's (or two compared providers')
//! sparklines and codes, the findings with new ones marked, the top replies
//! of the last 5 minutes. Log text passes `escape::terminal` like
//! everywhere: a reply cannot move the cursor or retitle the terminal.

use crate::escape::{ellipsize, terminal};
use crate::model::Severity;
use crate::model::live::{LiveProvider, LiveView, Rates};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, Wrap};

/// What the keys changed.
#[derive(Clone, Debug, Default)]
pub struct UiState {
    /// The selected provider (row of the providers table).
    pub selected: usize,
    /// The provider compared with the selected one (`c` marks it).
    pub compare: Option<String>,
    /// The view is frozen (`p`); the log is still read.
    pub paused: bool,
    /// The followed file, as shown.
    pub file: String,
}

fn clean(s: &str, width: usize) -> String {
    ellipsize(&terminal(s), width).into_owned()
}

fn pct(r: f64) -> String {
    format!("{:5.1}%", 100.0 * r)
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::default().fg(Color::Yellow),
        Severity::Info => Style::default().fg(Color::Blue),
    }
}

fn rate_cells(r: &Rates) -> [Cell<'static>; 3] {
    let warn = |x: f64, hi: f64| {
        if x >= hi {
            Style::default().fg(Color::Red)
        } else if x >= hi / 4.0 {
            Style::default().fg(Color::Yellow)
        } else {
            Style::default()
        }
    };
    [
        Cell::from(r.attempts.to_string()),
        Cell::from(pct(r.deferred_rate)).style(warn(r.deferred_rate, 0.2)),
        Cell::from(pct(r.failed_rate)).style(warn(r.failed_rate, 0.1)),
    ]
}

/// Draws one refresh.
pub fn draw(f: &mut Frame, v: &LiveView, ui: &UiState) {
    let area = f.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length((v.providers.len().min(10) + 3) as u16),
            Constraint::Length(7),
            Constraint::Min(4),
            Constraint::Length(1),
        ])
        .split(area);
    header(f, rows[0], v, ui);
    providers(f, rows[1], v, ui);
    detail(f, rows[2], v, ui);
    let lower = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(rows[3]);
    findings(f, lower[0], v);
    replies(f, lower[1], v);
    let keys = "↑↓ provider   c compare with the selected   p pause   q quit";
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            keys,
            Style::default().fg(Color::DarkGray),
        ))),
        rows[4],
    );
}

fn header(f: &mut Frame, area: Rect, v: &LiveView, ui: &UiState) {
    let paused = if ui.paused { "  [PAUSED]" } else { "" };
    let text = format!(
        "mtastat watch {}  ·  {} {}  ·  {} lines, {:.0}/s{}",
        clean(&ui.file, 60),
        clean(&v.time, 20),
        clean(&v.time_zone, 20),
        v.lines_read,
        v.lines_per_second,
        paused
    );
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            text,
            Style::default().add_modifier(Modifier::BOLD),
        ))),
        area,
    );
}

fn providers(f: &mut Frame, area: Rect, v: &LiveView, ui: &UiState) {
    let head = Row::new([
        "provider",
        "5m att",
        "5m def",
        "5m fail",
        "60m att",
        "60m def",
        "60m fail",
        "top codes",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = v.providers.iter().take(10).enumerate().map(|(i, p)| {
        let [a5, d5, f5] = rate_cells(&p.last_5m);
        let [a60, d60, f60] = rate_cells(&p.last_60m);
        let mut style = Style::default();
        if i == ui.selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let marked = ui.compare.as_deref() == Some(p.provider.as_str());
        let name = format!(
            "{}{}",
            if marked { "◆ " } else { "" },
            clean(&p.provider, 14)
        );
        Row::new([
            Cell::from(name),
            a5,
            d5,
            f5,
            a60,
            d60,
            f60,
            Cell::from(clean(&p.top_codes.join(", "), 40)),
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(head)
            .block(Block::default().borders(Borders::ALL).title(format!(
                " providers, last 5 and {} minutes ",
                v.window_minutes
            ))),
        area,
    );
}

fn sparkline<'a>(title: String, data: &'a [u64], colour: Color) -> Sparkline<'a> {
    Sparkline::default()
        .block(Block::default().title(title))
        .data(data)
        .style(Style::default().fg(colour))
}

fn provider_detail(f: &mut Frame, area: Rect, p: &LiveProvider) {
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(2),
            Constraint::Length(1),
        ])
        .split(area);
    f.render_widget(
        sparkline(
            format!("{} deferred", clean(&p.provider, 16)),
            &p.deferred,
            Color::Yellow,
        ),
        parts[0],
    );
    f.render_widget(
        sparkline(
            format!("{} failed", clean(&p.provider, 16)),
            &p.failed,
            Color::Red,
        ),
        parts[1],
    );
    f.render_widget(
        Paragraph::new(clean(&p.top_codes.join(", "), 80)).wrap(Wrap { trim: true }),
        parts[2],
    );
}

fn detail(f: &mut Frame, area: Rect, v: &LiveView, ui: &UiState) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" over the window ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(selected) = v.providers.get(ui.selected) else {
        return;
    };
    let other = ui
        .compare
        .as_deref()
        .filter(|c| *c != selected.provider)
        .and_then(|c| v.providers.iter().find(|p| p.provider == c));
    match other {
        Some(o) => {
            let halves = Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
                .split(inner);
            provider_detail(f, halves[0], o);
            provider_detail(f, halves[1], selected);
        }
        None => provider_detail(f, inner, selected),
    }
}

fn findings(f: &mut Frame, area: Rect, v: &LiveView) {
    let mut lines: Vec<Line> = Vec::new();
    if v.findings.is_empty() {
        lines.push(Line::from("none above the thresholds"));
    }
    for x in &v.findings {
        let mut spans = vec![Span::styled(
            format!("{:<8} ", x.severity.as_str().to_uppercase()),
            severity_style(x.severity),
        )];
        if x.new {
            spans.push(Span::styled(
                "NEW ",
                Style::default()
                    .fg(Color::Magenta)
                    .add_modifier(Modifier::BOLD),
            ));
        }
        spans.push(Span::raw(format!(
            "{} at {} since {}",
            clean(x.category, 20),
            clean(&x.provider, 16),
            clean(&x.since, 20)
        )));
        lines.push(Line::from(spans));
        lines.push(Line::from(Span::styled(
            format!("  {}", clean(&x.summary, 300)),
            Style::default().fg(Color::Gray),
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" findings ")),
        area,
    );
}

fn replies(f: &mut Frame, area: Rect, v: &LiveView) {
    let lines: Vec<Line> = v
        .replies_5m
        .iter()
        .map(|r| {
            Line::from(format!(
                "{:>5} {} {} {}: {}",
                r.count,
                clean(&r.provider, 12),
                clean(&r.status, 9),
                clean(&r.dsn, 8),
                clean(&r.reason, 200)
            ))
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" failure replies, last 5 minutes "),
        ),
        area,
    );
}
