//! The analysis of a set of inputs: every source scanned and merged in
//! order ([`analyze`]), then the report and its summary frame built from
//! the merged counts ([`build_report`]). The library's own entry points;
//! the command line ([`crate::app`]) calls them.

use crate::aggregate::batch::{Batch, Counters};
use crate::aggregate::frame::{outcomes_frame, reasons_frame, summary_frame, timeline_frame};
use crate::classify::provider::ProviderMap;
use crate::detect::{self, Frames, Samples, Thresholds};
use crate::error::Error;
use crate::export::events::EventSink;
use crate::export::journeys::JourneySink;
use crate::filter::Filter;
use crate::input::{self, InputSettings, ReadMode, Source};
use crate::parse::header::LineFormat;
use crate::report::{self, FileSummary, Period, Report};
use crate::scan::{Engine, ScanContext};
use crate::time::zone::Zone;
use crate::{aggregate, event, journey, parse};
use std::sync::Arc;

/// The analysis of a set of inputs: the merged batch and per-file summaries.
#[derive(Debug)]
pub struct Analysis {
    /// Everything counted, all inputs merged in order.
    pub batch: Batch,
    /// One entry per input.
    pub files: Vec<FileSummary>,
    /// Inputs that could not be read.
    pub errors: Vec<String>,
}

/// Scans `sources` in order and merges what they hold.
pub fn analyze(
    sources: &[Source],
    engine: &Engine,
    filter: &Filter,
    settings: InputSettings,
    events: Option<&Arc<EventSink>>,
    journeys: Option<&Arc<JourneySink>>,
) -> Analysis {
    // The engine sees the exports through its own traits.
    let events: Option<Arc<dyn aggregate::sinks::EventWriter>> = events.cloned().map(|e| e as _);
    // input::scan sets the clock per file (from --year or the file's mtime).
    let ctx = ScanContext {
        engine,
        filter,
        clock: settings.clock(0),
        events: events.as_ref(),
        journeys: settings.journeys,
        journey_text: journeys.is_some(),
        per_address: settings.summary || journeys.is_some(),
        summary_tables: settings.summary,
    };
    let mut total = Batch::default();
    total.journeys.sink = journeys
        .cloned()
        .map(|j| j as Arc<dyn journey::JourneyWriter>);
    let mut files = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for source in sources {
        match input::scan(source, settings, &ctx, &mut total) {
            Ok(scanned) => {
                let mut summary = file_summary(source, &scanned.counters, scanned.mode);
                let problem = scanned
                    .problem
                    .map(|p| p.to_string())
                    .or_else(|| not_a_mail_log(&scanned.counters));
                if let Some(problem) = problem {
                    let msg = format!("{}: {problem}", source.label());
                    summary.error = Some(msg.clone());
                    errors.push(msg);
                }
                files.push(summary);
            }
            Err(e) => {
                let msg = e.to_string();
                files.push(FileSummary::unread(source.label(), msg.clone()));
                errors.push(msg);
            }
        }
    }
    total.finish(engine.providers.other(), filter);
    Analysis {
        batch: total,
        files,
        errors,
    }
}

/// Why a file that was read whole holds nothing mtastat reads, if so: a
/// cron job must not take a log of another MTA, another program or another
/// format for a quiet day. An empty file (or blank lines) is a quiet day.
fn not_a_mail_log(c: &Counters) -> Option<String> {
    let content = c.lines.saturating_sub(c.blank);
    let mail = content.saturating_sub(c.other_program + c.unparsed_total());
    if content == 0 || mail > 0 {
        return None;
    }
    let mut parts = Vec::new();
    for m in parse::header::OtherMta::ALL {
        let n = c.other_mta[m as usize];
        if n > 0 {
            parts.push(format!("{n} {} lines, not read", m.as_str()));
        }
    }
    let mta: u64 = c.other_mta.iter().sum();
    if c.other_program > mta {
        parts.push(format!("{} of other programs", c.other_program - mta));
    }
    if c.unparsed_total() > 0 {
        parts.push(format!("{} not understood", c.unparsed_total()));
    }
    Some(format!(
        "no Postfix or Exim lines in its {content} lines ({}); nothing reported from it",
        parts.join(", ")
    ))
}

fn file_summary(source: &Source, c: &Counters, mode: ReadMode) -> FileSummary {
    let (best, n) = LineFormat::ALL
        .iter()
        .map(|f| (*f, c.by_format[*f as usize]))
        .max_by_key(|(_, n)| *n)
        .unwrap_or((LineFormat::Syslog, 0));
    FileSummary {
        path: source.label(),
        format: if n == 0 {
            "unknown".into()
        } else {
            best.as_str().into()
        },
        read: mode.as_str(),
        bytes: c.bytes,
        lines: c.lines,
        delivery_attempts: c.deliveries,
        unparsed_lines: c.unparsed_total(),
        error: None,
    }
}

/// The small per-key evidence the findings quote (queue ids, recipients).
fn samples(b: &Batch, providers: &ProviderMap) -> Samples {
    let mut s = Samples::default();
    for ((p, c), ids) in &b.deliveries.queue_samples {
        s.queue_ids.insert(
            (providers.info(*p).id.clone(), *c),
            ids.iter()
                .map(|(_, q)| String::from_utf8_lossy(q.as_bytes()).into_owned())
                .collect(),
        );
    }
    for ((p, c, r), n) in &b.deliveries.recipient_counts {
        s.recipients
            .entry((providers.info(*p).id.clone(), *c))
            .or_default()
            .push((
                String::from_utf8_lossy(b.recipients.get(*r)).into_owned(),
                *n,
            ));
    }
    for v in s.recipients.values_mut() {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    s.handoff_hops = b
        .deliveries
        .handoff_hops
        .iter()
        .map(|(hop, [n, f])| (String::from_utf8_lossy(hop).into_owned(), *n, *f))
        .collect();
    s.handoff_hops
        .sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    for ((p, of), r) in &b.deliveries.reach {
        s.reach
            .entry((providers.info(*p).id.clone(), *of))
            .or_default()
            .merge(r);
    }
    s
}

/// Builds the report (and the summary frame behind it) from an analysis.
pub fn build_report(
    analysis: &Analysis,
    providers: &ProviderMap,
    thresholds: &Thresholds,
    zone: Zone,
) -> Result<(Report, polars::prelude::DataFrame), Error> {
    let b = &analysis.batch;
    let summary = summary_frame(b, providers)?;
    let reasons = reasons_frame(b, providers)?;
    let outcomes = outcomes_frame(b, providers)?;
    let timeline = timeline_frame(b, providers)?;
    let findings = detect::detect(
        &Frames {
            outcomes: &outcomes,
            timeline: &timeline,
            reasons: &reasons,
        },
        &samples(b, providers),
        thresholds,
        zone,
    )?;
    let c = &b.counters;
    let (rejects, rejected_clients) = report::reject_rows(b);
    let report = Report {
        tool: "mtastat",
        version: env!("CARGO_PKG_VERSION"),
        files: analysis.files.clone(),
        lines: c.lines,
        bytes: c.bytes,
        unparsed_lines: c.unparsed_total(),
        unparsed: report::unparsed_reasons(b),
        blank_lines: c.blank,
        other_program_lines: c.other_program,
        other_mta_lines: parse::header::OtherMta::ALL
            .iter()
            .map(|m| (m.as_str(), c.other_mta[*m as usize]))
            .filter(|(_, n)| *n > 0)
            .collect(),
        mail_lines_not_deliveries: c.mail_other
            + c.senders
            + c.host_errors
            + c.notices
            + c.connections
            + c.postscreen,
        delivery_attempts: c.deliveries,
        verification_probes: c.by_status[event::Status::Deliverable.index()]
            + c.by_status[event::Status::Undeliverable.index()]
            + c.callouts,
        deferrals_not_attempted: c.not_attempted,
        attempts_filtered_out: c.filtered_out,
        attempts_sender_unknown: c.sender_unknown,
        fake_deliveries: c.fake_deliveries,
        host_errors: c.host_errors,
        inbound_rejects: c.rejects,
        rejects,
        rejected_clients,
        invalid_utf8_delivery_lines: c.invalid_utf8,
        time_zone: zone.name(),
        period: b.span.map(|(a, z)| Period {
            first: zone.format(a),
            last: zone.format(z),
        }),
        thresholds: thresholds.clone(),
        findings,
        timeline: report::timeline(&timeline, zone)?,
        providers: report::provider_summaries(&summary, providers)?,
        deliveries: report::summary_rows(&summary)?,
        reasons: report::reason_rows(&reasons, zone, false)?,
        mx_replies: report::reason_rows(&reasons, zone, true)?,
        journeys: report::journeys::journey_report(b, providers),
    };
    Ok((report, summary))
}
