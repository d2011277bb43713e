//! `mikawaya voice`: the voice of the customer from the terminal, over
//! `mikawaya_app::voice` (the same as `/voice` and `GET /api/v1/voice`).

use crate::Failure;
use crate::commands::{IngestArgs, app_input, as_of_or_today, open_store};
use anyhow::{Context, anyhow};
use mikawaya_domain::Actor;
use mikawaya_playbooks::journey::SegmentBy;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct VoiceArgs {
    /// The first day (YYYY-MM-DD; default 365 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// The last day (YYYY-MM-DD; default today in the data dir's business time zone).
    #[arg(long)]
    to: Option<String>,
    /// Segments: tier, plan or partner.
    #[arg(long, default_value = "tier")]
    by: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ingest: IngestArgs,
}

pub fn run(data_dir: &Path, args: VoiceArgs) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let to = as_of_or_today(args.to.as_deref(), "--to", store.as_ref(), &args.ingest)?;
    let from = match args.from.as_deref() {
        Some(raw) => mikawaya_domain::value::parse_date(raw, "--from")
            .map_err(|e| Failure::input(anyhow!("{}: {}", e.field, e.reason)))?,
        None => to
            .checked_sub(jiff::Span::new().days(365))
            .map_err(|e| anyhow!("{e}"))?,
    };
    let by = SegmentBy::parse(&args.by, "--by")
        .map_err(|e| Failure::input(anyhow!("{}: {}", e.field, e.reason)))?;
    let report = mikawaya_app::voice::report(store.as_ref(), &Actor::system().read(), from, to, by)
        .map_err(app_input)?;
    let scores = |s: &mikawaya_analytics::voice::Scores| {
        serde_json::json!({"nps": s.nps, "nps_answers": s.nps_answers, "csat": s.csat,
            "csat_answers": s.csat_answers, "ces": s.ces, "ces_answers": s.ces_answers})
    };
    if args.json {
        let out = serde_json::json!({
            "from": report.from.to_string(),
            "to": report.to.to_string(),
            "answers": report.answers,
            "overall": scores(&report.overall),
            "by_segment": report.by_segment.iter().map(|(k, s)| (k.clone(), scores(s))).collect::<serde_json::Map<_, _>>(),
            "by_month": report.by_month.iter().map(|m| serde_json::json!({"month": m.month, "friction": m.friction, "delight": m.delight, "scores": scores(&m.scores)})).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("writing JSON")?
        );
    } else {
        let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
        println!("segment\tnps\tcsat\tces");
        println!(
            "all\t{}\t{}\t{}",
            show(report.overall.nps),
            show(report.overall.csat),
            show(report.overall.ces)
        );
        for (segment, s) in &report.by_segment {
            println!(
                "{segment}\t{}\t{}\t{}",
                show(s.nps),
                show(s.csat),
                show(s.ces)
            );
        }
        println!("month\tfriction\tdelight");
        for m in &report.by_month {
            println!("{}\t{}\t{}", m.month, m.friction, m.delight);
        }
        eprintln!(
            "{} to {}: {} answers",
            report.from, report.to, report.answers
        );
    }
    Ok(())
}
