//! `mikawaya surveys` and `mikawaya feedback`: hosted surveys (definitions, sends, response
//! rates) and feedback (a CSV file of items, the ranked feature requests, the product
//! tracker's webhook secret), over `mikawaya_app::surveys` and `mikawaya_app::feedback`, the
//! same as the pages and the API. They open only the store, so they work beside a running
//! server.

use crate::Failure;
use crate::commands::{app_input, open_store, rejected, store_failure};
use anyhow::{Context, anyhow};
use mikawaya_app::feedback::{self, FeedbackIndex};
use mikawaya_app::surveys::{self, SendContext, SendOutcome};
use mikawaya_domain::language::Language;
use mikawaya_domain::voice::SurveyChannel;
use mikawaya_domain::{Actor, ContactId};
use mikawaya_import::ImportError;
use mikawaya_playbooks::journey::SegmentBy;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum SurveysCommand {
    /// Lists the survey definitions.
    List,
    /// Saves a survey definition from a JSON file.
    Save {
        /// The definition (see docs/voice.md).
        file: PathBuf,
    },
    /// Sends a survey to contacts: by email through the outbox, or (in_app) prints each
    /// contact's own link to show in the product.
    Send {
        /// The survey's name (nps, csat, ces, or one saved).
        name: String,
        /// A contact's id (repeat for several).
        #[arg(long = "contact", required = true)]
        contacts: Vec<i64>,
        /// email or in_app.
        #[arg(long, default_value = "email")]
        channel: String,
        /// The server's public address, for the links.
        #[arg(
            long,
            env = "MIKAWAYA_BASE_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        base_url: String,
        /// The language when an account does not say (en or ja).
        #[arg(long, env = "MIKAWAYA_LOCALE", default_value = "en")]
        locale: String,
        /// At most this many emails per contact per 7 days.
        #[arg(long, env = "MIKAWAYA_EMAILS_PER_WEEK", default_value_t = 3)]
        emails_per_week: u64,
    },
    /// Response rates per survey and segment over the last 365 days.
    Rates {
        /// Segments: tier, plan or partner.
        #[arg(long, default_value = "tier")]
        by: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum FeedbackCommand {
    /// Records feedback items from a CSV file (account, text, contact, date, key, source;
    /// UTF-8 or Shift_JIS), all or nothing; rows already imported (same key) are kept once.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// The feature requests ranked by the ARR asking for them.
    Requests {
        /// CSV output.
        #[arg(long)]
        csv: bool,
    },
    /// Prints the secret the product tracker signs its webhooks with
    /// (`POST /api/v1/hooks/product`, `X-Hub-Signature-256`).
    WebhookSecret,
}

pub fn surveys_run(data_dir: &Path, command: SurveysCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let system = Actor::system();
    match command {
        SurveysCommand::List => {
            for (survey, def) in surveys::definitions(store.as_ref()).map_err(app_input)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    survey.name,
                    def.kind,
                    if def.active { "active" } else { "inactive" },
                    def.title.en
                );
            }
        }
        SurveysCommand::Save { file } => {
            let shown = file.display().to_string();
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {shown}"))?;
            let def = serde_json::from_str(&text)
                .map_err(|e| Failure::input(anyhow!("{shown}:{}: {e}", e.line())))?;
            let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
            let saved = surveys::save(store.as_ref(), &manage, def).map_err(|e| match e {
                mikawaya_app::AppError::Invalid(i) => {
                    Failure::input(anyhow!("{shown}: {}: {}", i.field, i.reason))
                }
                other => app_input(other),
            })?;
            println!("saved survey {}", saved.name);
        }
        SurveysCommand::Send {
            name,
            contacts,
            channel,
            base_url,
            locale,
            emails_per_week,
        } => {
            let channel = SurveyChannel::parse(&channel)
                .map_err(|e| Failure::input(anyhow!("--channel: {}", e.reason)))?;
            let context = SendContext {
                base_url,
                language: Language::of_tag(&locale),
                emails_per_week,
                now: jiff::Timestamp::now(),
            };
            let write = system.write().map_err(|e| anyhow!("{e}"))?;
            let contacts: Vec<ContactId> = contacts.into_iter().map(ContactId::new).collect();
            let outcomes =
                surveys::send(store.as_ref(), &write, &name, &contacts, channel, &context)
                    .map_err(app_input)?;
            for outcome in outcomes {
                match outcome {
                    SendOutcome::Sent(send, url) if send.channel == SurveyChannel::InApp => {
                        println!("{}\tsent\t{url}", send.contact_id);
                    }
                    SendOutcome::Sent(send, _) => {
                        println!("{}\tsent\t(email queued)", send.contact_id)
                    }
                    SendOutcome::Skipped(contact, why) => println!("{contact}\t{}", why.as_str()),
                }
            }
        }
        SurveysCommand::Rates { by, json } => {
            let by = SegmentBy::parse(&by, "--by")
                .map_err(|e| Failure::input(anyhow!("{}: {}", e.field, e.reason)))?;
            let to = mikawaya_app::clock::Clock::system(
                store.business_time_zone().map_err(store_failure)?,
            )
            .today();
            let from = to
                .checked_sub(jiff::Span::new().days(365))
                .map_err(|e| anyhow!("{e}"))?;
            let (by_survey, by_segment) =
                surveys::rates(store.as_ref(), &system.read(), from, to, by).map_err(app_input)?;
            let row = |r: &surveys::Rate| serde_json::json!({"sent": r.sent, "answered": r.answered, "percent": r.percent()});
            if json {
                let out = serde_json::json!({
                    "by_survey": by_survey.iter().map(|(k, r)| (k.clone(), row(r))).collect::<serde_json::Map<_, _>>(),
                    "by_segment": by_segment.iter().map(|(k, r)| (k.clone(), row(r))).collect::<serde_json::Map<_, _>>(),
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).context("writing JSON")?
                );
            } else {
                println!("group\tsent\tanswered\trate");
                for (name, r) in by_survey.iter().chain(by_segment.iter()) {
                    let rate = r
                        .percent()
                        .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%"));
                    println!("{name}\t{}\t{}\t{rate}", r.sent, r.answered);
                }
            }
        }
    }
    Ok(())
}

pub fn feedback_run(data_dir: &Path, command: FeedbackCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let system = Actor::system();
    match command {
        FeedbackCommand::Import { file } => {
            let shown = file.display().to_string();
            let bytes = std::fs::read(&file).with_context(|| format!("reading {shown}"))?;
            let (rows, encoding) = match mikawaya_import::feedback::parse(&bytes) {
                Ok(parsed) => parsed,
                Err(ImportError::Rows(rows)) => return Err(rejected(&shown, &rows)),
                Err(error) => return Err(Failure::input(anyhow!("{shown}: {error}"))),
            };
            let write = system.write().map_err(|e| anyhow!("{e}"))?;
            let index = FeedbackIndex::new();
            match feedback::import(store.as_ref(), &write, &index, &rows) {
                Ok((new, kept)) => {
                    println!(
                        "{shown}: {new} feedback items recorded, {kept} already there ({encoding:?})"
                    );
                }
                Err(mikawaya_app::AppError::Import(ImportError::Rows(rows))) => {
                    return Err(rejected(&shown, &rows));
                }
                Err(error) => return Err(app_input(error)),
            }
        }
        FeedbackCommand::Requests { csv } => {
            let rows = feedback::ranked(store.as_ref(), &system.read()).map_err(app_input)?;
            if csv {
                print!("{}", feedback::requests_csv(&rows));
            } else {
                println!("id\tstatus\taccounts\tarr\tarr_at_risk\ttitle");
                for row in &rows {
                    println!(
                        "{}\t{}\t{}\t{:.0}\t{:.0}\t{}",
                        row.request.id,
                        row.request.status,
                        row.requesters.len(),
                        row.arr,
                        row.arr_at_risk,
                        row.request.title
                    );
                }
            }
        }
        FeedbackCommand::WebhookSecret => {
            println!(
                "{}",
                feedback::webhook_secret(store.as_ref()).map_err(app_input)?
            );
        }
    }
    Ok(())
}
