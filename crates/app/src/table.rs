//! Bulk metric tables: account × observation date × metric, for data scientists to carry
//! on in pandas, R or DuckDB. Each account's values come from one pass per metric over
//! its daily totals ([`Metric::series`]), so thousands of accounts on dozens of dates cost
//! one read of the rollups, not one per date.
//!
//! With a churn horizon the table is an observation dataset: a row for each account
//! active (`shared/domain.md`: a subscription with start <= d < end) on each observation
//! date d, labelled `churned` when it has no active subscription on d + horizon, the
//! logo churn rule per account.
//!
//! Rows come out in batches of accounts (CSV with a header, or JSON lines), so the edges
//! can stream them and let the rollups go between batches.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::{Metric, ObservationDates, Subject, UsageSource};
use mikawaya_domain::account::Account;
use mikawaya_domain::subscription::Term;
use mikawaya_domain::{AccountId, Invalid, Visibility};
use mikawaya_ingest::export::TableParquet;
use mikawaya_store::Store;
use std::collections::HashMap;
use std::io::Write;

/// Metrics a table takes at most.
pub const MAX_METRICS: usize = 50;
/// Observation dates a table takes at most.
pub const MAX_DATES: usize = 1000;
/// The columns before the metrics (and `churned` after them): a metric may not be named
/// like one.
pub const FIXED_COLUMNS: &[&str] = &["account_id", "external_id", "date", "churned"];

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// CSV with a header line; a missing value is an empty field.
    Csv,
    /// One JSON object per line; a missing value is null.
    JsonLines,
}

/// Whether a `format` asks for Parquet.
pub fn is_parquet(format: &str) -> bool {
    format.trim().eq_ignore_ascii_case("parquet")
}

impl TableFormat {
    /// `csv`, or `jsonl` (also `ndjson`); field `format`. (`parquet` is read by the
    /// edges with [`is_parquet`]: Parquet rows go through [`TablePlan::parquet_rows`].)
    pub fn parse(text: &str) -> std::result::Result<TableFormat, Invalid> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(TableFormat::Csv),
            "jsonl" | "ndjson" | "json" => Ok(TableFormat::JsonLines),
            other => Err(Invalid::new(
                "format",
                format!("'{other}' is not one of: csv, jsonl, parquet"),
            )),
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            TableFormat::Csv => "text/csv; charset=utf-8",
            TableFormat::JsonLines => "application/x-ndjson",
        }
    }
}

/// A checked table request: the metrics, the dates, the churn horizon.
#[derive(Debug, Clone)]
pub struct TablePlan {
    metrics: Vec<Metric>,
    dates: ObservationDates,
    horizon_days: Option<u32>,
    format: TableFormat,
    /// The range (the renewal scheme picks its dates in it per account).
    range: (Date, Date),
    /// The renewal scheme's lead: observe each account this many days before each of its
    /// renewals.
    renewal_lead: Option<u32>,
}

/// Parses an interval such as `7d`, `2w` or `7` (days); field `every`.
pub fn parse_every(text: &str) -> std::result::Result<u32, Invalid> {
    let text = text.trim().to_ascii_lowercase();
    let (number, unit) = match text.strip_suffix('w') {
        Some(weeks) => (weeks, 7),
        None => (text.strip_suffix('d').unwrap_or(&text), 1),
    };
    number
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|days| (1..=366).contains(days))
        .ok_or_else(|| {
            Invalid::new(
                "every",
                format!("'{text}' is not an interval of 1 to 366 days (7d, 2w or 7)"),
            )
        })
}

impl TablePlan {
    /// Checks a request: `names` (comma-separated, defined metrics, at most
    /// [`MAX_METRICS`], none named like a fixed column), dates from `from` to `to` every
    /// `every_days` (at most [`MAX_DATES`]), a horizon of 1 to 3650 days.
    pub fn new(
        store: &dyn Store,
        names: &str,
        from: Date,
        to: Date,
        every_days: u32,
        horizon_days: Option<u32>,
        format: TableFormat,
    ) -> Result<TablePlan> {
        let wanted: Vec<&str> = names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if wanted.is_empty() {
            return Err(Invalid::new("names", "name at least one metric").into());
        }
        if wanted.len() > MAX_METRICS {
            return Err(Invalid::new("names", format!("at most {MAX_METRICS} metrics")).into());
        }
        let defined = crate::series::defined(store, None)?;
        let mut metrics = Vec::with_capacity(wanted.len());
        for name in wanted {
            let metric = defined
                .iter()
                .find(|m| m.name().as_str() == name)
                .ok_or_else(|| Invalid::new("names", format!("no metric named {name}")))?;
            if FIXED_COLUMNS.contains(&name) {
                return Err(Invalid::new(
                    "names",
                    format!("{name} is a column of the table: rename the metric first"),
                )
                .into());
            }
            if metrics.iter().any(|m: &Metric| m.name() == metric.name()) {
                return Err(Invalid::new("names", format!("{name} is named twice")).into());
            }
            metrics.push(metric.clone());
        }
        if from > to {
            return Err(Invalid::new("from", "must not be after to").into());
        }
        if !(1..=366).contains(&every_days) {
            return Err(Invalid::new("every", "must be 1 to 366 days").into());
        }
        let span = i64::from((to - from).get_days());
        if span / i64::from(every_days) >= MAX_DATES as i64 {
            return Err(Invalid::new(
                "to",
                format!("at most {MAX_DATES} observation dates: a shorter range or a longer step"),
            )
            .into());
        }
        let mut dates = Vec::new();
        let mut day = Some(from);
        while let Some(current) = day.filter(|d| *d <= to) {
            dates.push(current);
            day = mikawaya_domain::value::add_days(current, i64::from(every_days));
        }
        if let Some(days) = horizon_days
            && !(1..=3650).contains(&days)
        {
            return Err(Invalid::new("churn_horizon_days", "must be 1 to 3650").into());
        }
        Ok(TablePlan {
            metrics,
            dates: ObservationDates::new(&dates),
            horizon_days,
            format,
            range: (from, to),
            renewal_lead: None,
        })
    }

    /// The other observation scheme: instead of every date, each account once per
    /// renewal, `lead_days` before it (a renewal is a subscription's end date: renewed, a
    /// new term starts that day), for the renewals whose observation date falls in the
    /// range; labelled `churned` when no subscription is active on the renewal date. The
    /// label is the renewal's, so no churn horizon goes with it (field
    /// `churn_horizon_days`); field `before_renewal_days`, 1 to 366.
    pub fn before_renewal(mut self, lead_days: u32) -> Result<TablePlan> {
        if self.horizon_days.is_some() {
            return Err(Invalid::new(
                "churn_horizon_days",
                "the renewal scheme labels each row by its renewal: leave the horizon out",
            )
            .into());
        }
        if !(1..=366).contains(&lead_days) {
            return Err(Invalid::new("before_renewal_days", "must be 1 to 366").into());
        }
        self.renewal_lead = Some(lead_days);
        self.horizon_days = Some(lead_days);
        Ok(self)
    }

    /// The observation dates.
    pub fn dates(&self) -> Vec<Date> {
        self.dates.dates()
    }

    /// The format.
    pub fn format(&self) -> TableFormat {
        self.format
    }

    /// The CSV header line (nothing for JSON lines).
    pub fn header(&self) -> Vec<u8> {
        if self.format != TableFormat::Csv {
            return Vec::new();
        }
        let mut columns: Vec<&str> = vec!["account_id", "external_id", "date"];
        columns.extend(self.metrics.iter().map(|m| m.name().as_str()));
        if self.horizon_days.is_some() {
            columns.push("churned");
        }
        let mut out = Vec::new();
        let mut writer = csv::Writer::from_writer(&mut out);
        // Writing to memory cannot fail.
        let _ = writer.write_record(&columns);
        drop(writer);
        out
    }

    /// The metrics' names, in column order.
    pub fn metric_names(&self) -> Vec<&str> {
        self.metrics.iter().map(|m| m.name().as_str()).collect()
    }

    /// Whether rows carry a churn label.
    pub fn labelled(&self) -> bool {
        self.horizon_days.is_some()
    }

    /// Hands each row of `accounts` to `each`, account by account and date by date (with
    /// a churn horizon, only the rows of accounts active on the date; see [`Terms`]).
    pub fn rows(
        &self,
        source: &dyn UsageSource,
        accounts: &[Account],
        terms: &Terms,
        visibility: Visibility,
        each: &mut dyn FnMut(TableRow<'_>),
    ) {
        let every = self.dates.dates();
        let mut values = Vec::with_capacity(self.metrics.len());
        for account in accounts {
            let (numbers, own);
            let (numbers, dates) = match self.renewal_lead {
                None => (&self.dates, &every),
                Some(lead) => {
                    own = terms.renewals(account.id, lead, self.range);
                    numbers = ObservationDates::new(&own);
                    (&numbers, &own)
                }
            };
            if dates.is_empty() {
                continue;
            }
            let subject = Subject::of(account);
            let columns: Vec<Vec<Option<f64>>> = self
                .metrics
                .iter()
                .map(|metric| metric.series(source, &subject, numbers))
                .collect();
            let external_id = account
                .external_id
                .as_ref()
                .map(|id| id.shown_to(visibility));
            for (index, date) in dates.iter().enumerate() {
                let churned = match self.horizon_days {
                    Some(horizon) => match terms.label(account.id, *date, horizon) {
                        Some(churned) => Some(churned),
                        None => continue,
                    },
                    None => None,
                };
                values.clear();
                // -0 (a difference of equal sums) is written 0.
                values.extend(
                    columns
                        .iter()
                        .map(|c| c.get(index).copied().flatten().map(|v| v + 0.0)),
                );
                each(TableRow {
                    account_id: account.id.get(),
                    external_id,
                    date: *date,
                    values: &values,
                    churned,
                });
            }
        }
    }

    /// A Parquet table for this plan's columns (see
    /// [`mikawaya_ingest::export::TableParquet`]), written to `out`.
    pub fn parquet<W: Write + Send>(&self, out: W) -> Result<TableParquet<W>> {
        Ok(TableParquet::to_writer(
            out,
            &self.metric_names(),
            self.labelled(),
        )?)
    }

    /// The rows of `accounts` (see [`TablePlan::rows`]) added to a Parquet table.
    pub fn parquet_rows<W: Write + Send>(
        &self,
        source: &dyn UsageSource,
        accounts: &[Account],
        terms: &Terms,
        visibility: Visibility,
        out: &mut TableParquet<W>,
    ) -> Result<()> {
        let epoch = jiff::civil::date(1970, 1, 1);
        let mut failure = None;
        self.rows(source, accounts, terms, visibility, &mut |row| {
            if failure.is_none()
                && let Err(error) = out.push(
                    row.account_id,
                    row.external_id,
                    (row.date - epoch).get_days(),
                    row.values,
                    row.churned,
                )
            {
                failure = Some(error);
            }
        });
        failure.map_or(Ok(()), |error| Err(error.into()))
    }

    /// The rows of `accounts` (see [`TablePlan::rows`]) in the plan's text format,
    /// appended to `out`.
    pub fn write_rows(
        &self,
        source: &dyn UsageSource,
        accounts: &[Account],
        terms: &Terms,
        visibility: Visibility,
        out: &mut Vec<u8>,
    ) {
        let mut csv_writer = (self.format == TableFormat::Csv)
            .then(|| csv::WriterBuilder::new().from_writer(Vec::new()));
        let names = self.metric_names();
        self.rows(source, accounts, terms, visibility, &mut |row| {
            match csv_writer.as_mut() {
                Some(writer) => {
                    let mut record = vec![
                        row.account_id.to_string(),
                        row.external_id.unwrap_or_default().to_owned(),
                        row.date.to_string(),
                    ];
                    record.extend(
                        row.values
                            .iter()
                            .map(|v| v.map(|v| v.to_string()).unwrap_or_default()),
                    );
                    if let Some(churned) = row.churned {
                        record.push(u8::from(churned).to_string());
                    }
                    let _ = writer.write_record(&record);
                }
                None => {
                    // Written by hand to keep the columns' order.
                    let text = |value: &str| serde_json::Value::from(value).to_string();
                    let _ = write!(
                        out,
                        "{{\"account_id\":{},\"external_id\":{},\"date\":\"{}\"",
                        row.account_id,
                        row.external_id.map_or_else(|| "null".to_owned(), text),
                        row.date,
                    );
                    for (name, value) in names.iter().zip(row.values) {
                        let value = serde_json::Value::from(*value);
                        let _ = write!(out, ",{}:{value}", text(name));
                    }
                    if let Some(churned) = row.churned {
                        let _ = write!(out, ",\"churned\":{churned}");
                    }
                    out.extend_from_slice(b"}\n");
                }
            }
        });
        if let Some(writer) = csv_writer
            && let Ok(bytes) = writer.into_inner()
        {
            let _ = out.write_all(&bytes);
        }
    }
}

/// One row of a table.
#[derive(Debug, Clone, Copy)]
pub struct TableRow<'a> {
    /// The account's id.
    pub account_id: i64,
    /// Its external id as the reader knows it.
    pub external_id: Option<&'a str>,
    /// The observation date.
    pub date: Date,
    /// The metrics' values in column order (`None`: missing).
    pub values: &'a [Option<f64>],
    /// Churned within the horizon (only with one).
    pub churned: Option<bool>,
}

/// Each account's subscription terms, for the churn labels.
#[derive(Debug, Clone, Default)]
pub struct Terms(HashMap<AccountId, Vec<Term>>);

impl Terms {
    /// The terms of the subscriptions `access` can see.
    pub fn read(store: &dyn Store, access: &mikawaya_domain::ReadAccess) -> Result<Terms> {
        let mut terms: HashMap<AccountId, Vec<Term>> = HashMap::new();
        for subscription in store.all_subscriptions(access)? {
            terms
                .entry(subscription.account_id)
                .or_default()
                .push(subscription.term);
        }
        Ok(Terms(terms))
    }

    /// The observation dates of an account's renewals (its subscriptions' end dates)
    /// `lead_days` before each, those in `range`, ascending.
    pub fn renewals(&self, account: AccountId, lead_days: u32, range: (Date, Date)) -> Vec<Date> {
        let mut days: Vec<Date> = self
            .0
            .get(&account)
            .into_iter()
            .flatten()
            .filter_map(|term| term.end())
            .filter_map(|end| mikawaya_domain::value::add_days(end, -i64::from(lead_days)))
            .filter(|day| *day >= range.0 && *day <= range.1)
            .collect();
        days.sort();
        days.dedup();
        days
    }

    /// Whether an account active on `day` churned by `day + horizon` (no active
    /// subscription then); `None` when it was not active on `day`.
    pub fn label(&self, account: AccountId, day: Date, horizon_days: u32) -> Option<bool> {
        let terms = self.0.get(&account)?;
        if !terms.iter().any(|t| t.is_active_on(day)) {
            return None;
        }
        let later = mikawaya_domain::value::add_days(day, i64::from(horizon_days))?;
        Some(!terms.iter().any(|t| t.is_active_on(later)))
    }
}

/// A table as an edge asks for it: names and choices checked here, dates not given
/// defaulted here.
#[derive(Debug, Clone)]
pub struct TableRequest<'a> {
    /// The metrics, comma-separated.
    pub names: &'a str,
    /// The first observation date (default 12 weeks before the last).
    pub from: Option<Date>,
    /// The last (default [`crate::clock::data_today`]: today, or the day after the last
    /// usage event when the events ended in the past).
    pub to: Option<Date>,
    /// Days between observation dates.
    pub every_days: u32,
    /// The churn horizon of an observation dataset.
    pub horizon_days: Option<u32>,
    /// The renewal scheme's lead ([`TablePlan::before_renewal`]).
    pub before_renewal_days: Option<u32>,
    /// How the rows are written.
    pub format: TableFormat,
}

/// Everything a table is written from, read before its first byte (so every refusal is
/// an answer, not a cut stream).
#[derive(Debug)]
pub struct PreparedTable {
    /// The checked plan.
    pub plan: TablePlan,
    /// The accounts `access` can see, by id.
    pub accounts: Vec<Account>,
    /// Their subscription terms (churn labels).
    pub terms: Terms,
    /// Their account facts (MRR, tenure, surveys… for the metrics that read them).
    pub facts: mikawaya_analytics::metrics::AccountFacts,
}

/// Checks a request and reads what its table needs; `span` is the usage events' first and
/// last day, `today` the data dir's.
pub fn prepare(
    store: &dyn Store,
    access: &mikawaya_domain::ReadAccess,
    span: Option<(Date, Date)>,
    today: Date,
    request: &TableRequest<'_>,
) -> Result<PreparedTable> {
    let to = request
        .to
        .unwrap_or_else(|| crate::clock::data_today(span, today));
    let from = request
        .from
        .unwrap_or_else(|| mikawaya_domain::value::add_days(to, -84).unwrap_or(to));
    let plan = TablePlan::new(
        store,
        request.names,
        from,
        to,
        request.every_days,
        request.horizon_days,
        request.format,
    )?;
    let plan = match request.before_renewal_days {
        Some(lead) => plan.before_renewal(lead)?,
        None => plan,
    };
    let mut accounts = store.all_accounts(access)?;
    accounts.sort_by_key(|a| a.id);
    Ok(PreparedTable {
        plan,
        accounts,
        terms: Terms::read(store, access)?,
        facts: mikawaya_playbooks::facts::account_facts(store, access)?,
    })
}
