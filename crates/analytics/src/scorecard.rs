//! Health scorecards: measures (metrics) each mapped to 0-100, weighted into one score and
//! a colour. A measure maps by thresholds (at or past `red` scores 0, at or past `green`
//! scores 100, linear between; `green` below `red` means lower is better) or by percentile
//! rank within the account's segment (its touch tier). A measure without a value is left
//! out and the other weights count in full. Colours: red below 40, yellow below 70, else
//! green.

use crate::metrics::{Metric, MetricSpec, Subject, UsageSource};
use jiff::civil::Date;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A measure as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    /// The metric, inline.
    pub metric: MetricSpec,
    /// Its weight (positive).
    pub weight: f64,
    /// Value scoring 0 (thresholds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red: Option<f64>,
    /// Value scoring 100 (thresholds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green: Option<f64>,
    /// Map by percentile rank within the segment instead of thresholds.
    #[serde(default)]
    pub percentile: bool,
}

/// A scorecard as people write it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardSpec {
    /// Its name.
    pub name: String,
    /// Its measures.
    pub measures: Vec<MeasureSpec>,
}

/// How a measure's value becomes 0-100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mapping {
    /// Linear between two thresholds.
    Thresholds {
        /// Scores 0.
        red: f64,
        /// Scores 100.
        green: f64,
    },
    /// Percentile rank within the segment.
    Percentile,
}

/// A checked measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    metric: Metric,
    weight: f64,
    mapping: Mapping,
}

/// A checked scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    name: Slug,
    measures: Vec<Measure>,
    spec: ScorecardSpec,
}

pub use mikawaya_domain::health::{Colour, MeasureScore, shown};

/// The health of one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountHealth {
    /// The name of the scorecard that scored it.
    pub card: String,
    /// 0-100, or none when every measure is missing.
    pub score: Option<f64>,
    /// The score's colour.
    pub colour: Option<Colour>,
    /// Each measure.
    pub measures: Vec<MeasureScore>,
}

/// An account to score: the account as metrics see it, and its segment (e.g. its touch
/// tier) for percentile measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The account.
    pub account: Subject,
    /// Segment for percentile measures.
    pub segment: String,
}

/// Metric values per account on a set of observation dates, computed once and shared by
/// every card scored on those dates: a draft beside the cards in force usually shares most
/// of its measures, and a backtest scores both on the same dates. Keyed by the metric as
/// written, so two cards measuring the same metric share its values.
#[derive(Debug, Default)]
pub struct SeriesMemo {
    /// The observation dates, sorted, without repeats.
    dates: Vec<Date>,
    /// Per metric (its spec as JSON), per account: the values on `dates`.
    values:
        std::collections::HashMap<String, std::collections::HashMap<AccountId, Vec<Option<f64>>>>,
}

fn memo_key(metric: &Metric) -> String {
    serde_json::to_string(metric.spec()).unwrap_or_else(|_| metric.name().to_string())
}

impl SeriesMemo {
    /// Computes the values the memo lacks for `measures` on `accounts` and `days` (other
    /// dates than before start it afresh): one pass over each account's daily totals per
    /// metric ([`Metric::series`]), the accounts split over the machine's cores.
    fn fill(
        &mut self,
        source: &dyn UsageSource,
        measures: &[Measure],
        accounts: &[Scored],
        days: &[Date],
    ) {
        let dates = crate::metrics::ObservationDates::new(days);
        let sorted = dates.dates();
        if sorted != self.dates {
            self.values.clear();
            self.dates = sorted;
        }
        let mut jobs: Vec<(&str, &Metric, &Subject)> = Vec::new();
        let keys: Vec<String> = measures.iter().map(|m| memo_key(&m.metric)).collect();
        for (key, measure) in keys.iter().zip(measures) {
            let known = self.values.get(key);
            for scored in accounts {
                let done = known.is_some_and(|k| k.contains_key(&scored.account.id));
                if !done {
                    jobs.push((key, &measure.metric, &scored.account));
                }
            }
        }
        let computed = crate::parallel::map(&jobs, |(_, metric, subject)| {
            metric.series(source, subject, &dates)
        });
        for ((key, _, subject), values) in jobs.iter().zip(computed) {
            match self.values.get_mut(*key) {
                Some(known) => {
                    known.insert(subject.id, values);
                }
                None => {
                    self.values
                        .insert((*key).to_owned(), [(subject.id, values)].into());
                }
            }
        }
    }
}

impl Measure {
    /// The metric measured.
    pub fn metric(&self) -> &Metric {
        &self.metric
    }

    /// Its weight.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// How its value becomes 0-100.
    pub fn mapping(&self) -> Mapping {
        self.mapping
    }
}

impl Scored {
    /// Every account (those without an external id have no usage, but are scored on
    /// the rest), segmented by touch tier.
    pub fn from_accounts(accounts: &[mikawaya_domain::account::Account]) -> Vec<Scored> {
        accounts.iter().map(Scored::of).collect()
    }

    /// A stored account to score, its touch tier as its segment.
    pub fn of(account: &mikawaya_domain::account::Account) -> Scored {
        Scored {
            account: Subject::of(account),
            segment: account.tier.map_or("none", |t| t.as_str()).to_owned(),
        }
    }
}

impl Scorecard {
    /// Checks a spec: at least one measure, positive finite weights, and for each measure
    /// either distinct thresholds or `percentile`.
    pub fn check(spec: &ScorecardSpec) -> Result<Scorecard, Invalid> {
        let name = Slug::parse(&spec.name).map_err(|e| e.in_field("name"))?;
        if spec.measures.is_empty() {
            return Err(Invalid::new(
                "measures",
                "a scorecard needs at least one measure",
            ));
        }
        let measures = spec
            .measures
            .iter()
            .enumerate()
            .map(|(index, measure)| {
                let field = |name: &str| format!("measures[{index}].{name}");
                let metric = Metric::check(&measure.metric).map_err(|e| {
                    let nested = field(&format!("metric.{}", e.field));
                    e.in_field(nested)
                })?;
                if !(measure.weight.is_finite() && measure.weight > 0.0) {
                    return Err(Invalid::new(field("weight"), "must be a positive number"));
                }
                let mapping = match (measure.percentile, measure.red, measure.green) {
                    (true, None, None) => Mapping::Percentile,
                    (false, Some(red), Some(green))
                        if red.is_finite() && green.is_finite() && red != green =>
                    {
                        Mapping::Thresholds { red, green }
                    }
                    (true, _, _) => {
                        return Err(Invalid::new(
                            field("percentile"),
                            "a percentile measure has no thresholds",
                        ));
                    }
                    _ => {
                        return Err(Invalid::new(
                            field("red"),
                            "give red and green thresholds (different), or percentile: true",
                        ));
                    }
                };
                Ok(Measure {
                    metric,
                    weight: measure.weight,
                    mapping,
                })
            })
            .collect::<Result<Vec<_>, Invalid>>()?;
        Ok(Scorecard {
            name,
            measures,
            spec: spec.clone(),
        })
    }

    /// The scorecard every data dir has: active users and overall activity (percentile
    /// within the touch tier) and days since the last event (14 days or more scores 0,
    /// 2 or fewer 100).
    pub fn default_card() -> Scorecard {
        let spec = ScorecardSpec {
            name: "default".into(),
            measures: vec![
                MeasureSpec {
                    metric: metric("active_users", "distinct_users", None),
                    weight: 0.35,
                    red: None,
                    green: None,
                    percentile: true,
                },
                MeasureSpec {
                    metric: metric("activity", "count", Some("*")),
                    weight: 0.35,
                    red: None,
                    green: None,
                    percentile: true,
                },
                MeasureSpec {
                    metric: metric("idle_days", "days_since", None),
                    weight: 0.3,
                    red: Some(14.0),
                    green: Some(2.0),
                    percentile: false,
                },
            ],
        };
        match Scorecard::check(&spec) {
            Ok(card) => card,
            // The spec above is fixed and covered by a test.
            Err(error) => unreachable_card(error),
        }
    }

    /// Its name.
    pub fn name(&self) -> &Slug {
        &self.name
    }

    /// The card as people wrote it (what an editor starts from).
    pub fn spec(&self) -> &ScorecardSpec {
        &self.spec
    }

    /// Its measures.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// Scores every account as of `as_of`.
    pub fn score(
        &self,
        source: &dyn UsageSource,
        accounts: &[Scored],
        as_of: Date,
    ) -> BTreeMap<AccountId, AccountHealth> {
        self.score_days(source, accounts, &[as_of])
            .pop()
            .unwrap_or_default()
    }

    /// [`Scorecard::score`] on each of `days` (in the order given): on several days each
    /// measure's values for an account come from one pass over its daily totals
    /// ([`Metric::series`], equal to [`Metric::value`] date by date).
    pub fn score_days(
        &self,
        source: &dyn UsageSource,
        accounts: &[Scored],
        days: &[Date],
    ) -> Vec<BTreeMap<AccountId, AccountHealth>> {
        self.per_day(source, accounts, days, None, |values| {
            self.score_values(values, accounts)
        })
    }

    /// Only the scores of [`Scorecard::score_days`] (per day, per account in the order
    /// given): what a backtest ranks, without each measure's details. Each measure's values
    /// come from `memo` when an earlier card computed them on the same dates; the days are
    /// scored on the machine's cores.
    pub fn scores_only_days(
        &self,
        source: &dyn UsageSource,
        accounts: &[Scored],
        days: &[Date],
        memo: &mut SeriesMemo,
    ) -> Vec<Vec<Option<f64>>> {
        self.per_day(source, accounts, days, Some(memo), |values| {
            let scores = self.measure_scores(values, accounts);
            (0..accounts.len())
                .map(|index| self.weighted(&scores, index))
                .collect()
        })
    }

    /// `f` on each day's values (in the order given; per measure, per account), the days on
    /// the machine's cores. Several days read each measure's series from `memo` (filled
    /// first), so no day's values outlive its call.
    fn per_day<R: Send>(
        &self,
        source: &dyn UsageSource,
        accounts: &[Scored],
        days: &[Date],
        memo: Option<&mut SeriesMemo>,
        f: impl Fn(&[Vec<Option<f64>>]) -> R + Sync,
    ) -> Vec<R> {
        if let [day] = days {
            let values: Vec<Vec<Option<f64>>> = self
                .measures
                .iter()
                .map(|measure| {
                    accounts
                        .iter()
                        .map(|a| measure.metric.value(source, &a.account, *day))
                        .collect()
                })
                .collect();
            return vec![f(&values)];
        }
        let mut local = SeriesMemo::default();
        let memo = memo.unwrap_or(&mut local);
        memo.fill(source, &self.measures, accounts, days);
        // Per measure, per account: its series on the memo's dates.
        let series: Vec<Vec<&[Option<f64>]>> = self
            .measures
            .iter()
            .map(|measure| {
                let per_account = memo.values.get(&memo_key(&measure.metric));
                accounts
                    .iter()
                    .map(|a| {
                        per_account
                            .and_then(|values| values.get(&a.account.id))
                            .map_or(&[][..], Vec::as_slice)
                    })
                    .collect()
            })
            .collect();
        // Every day asked for is among the memo's dates; a miss reads as missing.
        let indexes: Vec<usize> = days
            .iter()
            .map(|day| memo.dates.binary_search(day).unwrap_or(usize::MAX))
            .collect();
        crate::parallel::map(&indexes, |index| {
            let values: Vec<Vec<Option<f64>>> = series
                .iter()
                .map(|per_account| {
                    per_account
                        .iter()
                        .map(|values| values.get(*index).copied().flatten())
                        .collect()
                })
                .collect();
            f(&values)
        })
    }

    /// Scores accounts from each measure's values (one column per measure, one value per
    /// account).
    fn score_values(
        &self,
        values: &[Vec<Option<f64>>],
        accounts: &[Scored],
    ) -> BTreeMap<AccountId, AccountHealth> {
        let scores = self.measure_scores(values, accounts);
        accounts
            .iter()
            .enumerate()
            .map(|(index, account)| {
                let measures: Vec<MeasureScore> = self
                    .measures
                    .iter()
                    .zip(values.iter().zip(&scores))
                    .map(|(measure, (column, scored))| MeasureScore {
                        metric: measure.metric.name().to_string(),
                        value: column[index],
                        score: scored[index],
                        weight: measure.weight,
                    })
                    .collect();
                let score = self.weighted(&scores, index);
                (
                    account.account.id,
                    AccountHealth {
                        card: self.name.to_string(),
                        score,
                        colour: score.map(Colour::of),
                        measures,
                    },
                )
            })
            .collect()
    }

    /// The weighted mean of the measures an account has a score on (none: no score).
    fn weighted(&self, scores: &[Vec<Option<f64>>], index: usize) -> Option<f64> {
        let (total, weights) = self
            .measures
            .iter()
            .zip(scores)
            .filter_map(|(measure, column)| {
                column[index].map(|s| (s * measure.weight, measure.weight))
            })
            .fold((0.0, 0.0), |(total, weights), (s, w)| {
                (total + s, weights + w)
            });
        (weights > 0.0).then(|| total / weights)
    }

    /// Each measure's 0-100 score per account (one column per measure) from its values.
    fn measure_scores(
        &self,
        values: &[Vec<Option<f64>>],
        accounts: &[Scored],
    ) -> Vec<Vec<Option<f64>>> {
        self.measures
            .iter()
            .zip(values)
            .map(|(measure, column)| {
                // A percentile measure's values per segment, sorted, so a rank is two
                // binary searches instead of a pass over every peer.
                let mut by_segment: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
                if measure.mapping == Mapping::Percentile {
                    for (account, value) in accounts.iter().zip(column) {
                        if let Some(value) = value {
                            by_segment
                                .entry(account.segment.as_str())
                                .or_default()
                                .push(*value);
                        }
                    }
                    for peers in by_segment.values_mut() {
                        peers.sort_by(f64::total_cmp);
                    }
                }
                accounts
                    .iter()
                    .zip(column)
                    .map(|(account, value)| {
                        value.and_then(|v| match measure.mapping {
                            Mapping::Thresholds { red, green } => {
                                Some((100.0 * (v - red) / (green - red)).clamp(0.0, 100.0))
                            }
                            // Several peers that all have the same value rank nobody: the
                            // measure tells nothing there and is left out (accounts with no
                            // data, among others with none, get no score rather than 50).
                            // An account alone in its segment keeps the middle, 50.
                            Mapping::Percentile => match by_segment.get(account.segment.as_str()) {
                                Some(peers) if peers.len() > 1 && peers.first() == peers.last() => {
                                    None
                                }
                                Some(peers) => Some(percentile_rank_sorted(v, peers)),
                                None => Some(50.0),
                            },
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// The account field a segment scorecard is chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentField {
    /// The touch tier.
    Tier,
    /// The plan.
    Plan,
    /// The lifecycle stage.
    Stage,
}

/// Which accounts a scorecard is for: those whose tier, plan or stage has this value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// `tier`, `plan` or `stage`.
    pub field: String,
    /// The value.
    pub value: String,
}

/// A scorecard for a segment, as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentCard {
    /// The accounts it scores.
    pub segment: SegmentRule,
    /// The scorecard.
    pub scorecard: ScorecardSpec,
}

/// The scorecards in force: segment cards in order (the first that matches an account
/// scores it), then the built-in `default` for every other account. This is the one place
/// that decides which card scores an account; snapshots, rules, pages, the API and the CLI
/// all score through it.
#[derive(Debug, Clone, PartialEq)]
pub struct CardSet {
    segments: Vec<(SegmentField, String, Scorecard)>,
    default: Scorecard,
    version: i64,
    spec: CardSetSpec,
}

impl Default for CardSet {
    fn default() -> Self {
        CardSet {
            segments: Vec::new(),
            default: Scorecard::default_card(),
            version: 0,
            spec: CardSetSpec::default(),
        }
    }
}

/// The scorecards in force as people write them (JSON): the card for every account no
/// segment card takes (none: the built-in `default`), and the segment cards, first match
/// wins. A saved body that is a bare array is segment cards over the built-in default (how
/// versions before the editable default were saved).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSetSpec {
    /// The card for every other account; none: the built-in `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ScorecardSpec>,
    /// Segment cards, first match wins.
    #[serde(default)]
    pub segments: Vec<SegmentCard>,
}

impl CardSetSpec {
    /// Reads a saved body: an object, or a bare array of segment cards.
    pub fn parse(body: &str) -> Result<CardSetSpec, String> {
        if body.trim_start().starts_with('[') {
            let segments: Vec<SegmentCard> =
                serde_json::from_str(body).map_err(|e| e.to_string())?;
            return Ok(CardSetSpec {
                default: None,
                segments,
            });
        }
        serde_json::from_str(body).map_err(|e| e.to_string())
    }
}

impl CardSet {
    /// Checks segment cards (fields named `segments[i]...`) over the built-in default.
    pub fn check(cards: &[SegmentCard]) -> Result<CardSet, Invalid> {
        CardSet::from_spec(&CardSetSpec {
            default: None,
            segments: cards.to_vec(),
        })
    }

    /// Checks a whole set (fields named `default...` and `segments[i]...`).
    pub fn from_spec(spec: &CardSetSpec) -> Result<CardSet, Invalid> {
        let default = match &spec.default {
            Some(card) => Scorecard::check(card).map_err(|e| {
                let name = format!("default.{}", e.field);
                e.in_field(name)
            })?,
            None => Scorecard::default_card(),
        };
        let segments = spec
            .segments
            .iter()
            .enumerate()
            .map(|(index, card)| {
                let field = match card.segment.field.as_str() {
                    "tier" => SegmentField::Tier,
                    "plan" => SegmentField::Plan,
                    "stage" => SegmentField::Stage,
                    _ => {
                        return Err(Invalid::new(
                            format!("segments[{index}].segment.field"),
                            "must be tier, plan or stage",
                        ));
                    }
                };
                let checked = Scorecard::check(&card.scorecard).map_err(|e| {
                    let name = format!("segments[{index}].scorecard.{}", e.field);
                    e.in_field(name)
                })?;
                Ok((field, card.segment.value.clone(), checked))
            })
            .collect::<Result<_, Invalid>>()?;
        Ok(CardSet {
            segments,
            default,
            version: 0,
            spec: spec.clone(),
        })
    }

    /// The set as people wrote it.
    pub fn spec(&self) -> &CardSetSpec {
        &self.spec
    }

    /// The card for accounts no segment card takes.
    pub fn default_card(&self) -> &Scorecard {
        &self.default
    }

    /// Every card: the segment cards in order, then the default.
    pub fn cards(&self) -> impl Iterator<Item = &Scorecard> {
        self.segments
            .iter()
            .map(|(_, _, card)| card)
            .chain(std::iter::once(&self.default))
    }

    /// The same cards, known as saved version `version` (0: none saved, `default` only).
    #[must_use]
    pub fn with_version(mut self, version: i64) -> CardSet {
        self.version = version;
        self
    }

    /// The saved version these cards are (0: none saved).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The card that scores `account`.
    pub fn card_for(&self, account: &mikawaya_domain::account::Account) -> &Scorecard {
        self.segments
            .iter()
            .find(|(field, value, _)| {
                let actual = match field {
                    SegmentField::Tier => account.tier.map(|t| t.as_str().to_owned()),
                    SegmentField::Plan => account.plan.as_ref().map(ToString::to_string),
                    SegmentField::Stage => account.stage.as_ref().map(ToString::to_string),
                };
                actual.as_deref() == Some(value.as_str())
            })
            .map_or(&self.default, |(_, _, card)| card)
    }

    /// Scores every account as of `as_of` by its card; percentile measures rank an
    /// account among the accounts of the same card and touch tier.
    pub fn score(
        &self,
        source: &dyn UsageSource,
        accounts: &[mikawaya_domain::account::Account],
        as_of: Date,
    ) -> BTreeMap<AccountId, AccountHealth> {
        self.score_days(source, accounts, &[as_of])
            .pop()
            .unwrap_or_default()
    }

    /// [`CardSet::score`] on each of `days` (the accounts are grouped once).
    pub fn score_days(
        &self,
        source: &dyn UsageSource,
        accounts: &[mikawaya_domain::account::Account],
        days: &[Date],
    ) -> Vec<BTreeMap<AccountId, AccountHealth>> {
        let mut per_day: Vec<BTreeMap<AccountId, AccountHealth>> =
            vec![BTreeMap::new(); days.len()];
        for (card, indexes) in self.groups(accounts) {
            let scored: Vec<Scored> = indexes.iter().map(|i| Scored::of(&accounts[*i])).collect();
            for (scores, day) in per_day
                .iter_mut()
                .zip(card.score_days(source, &scored, days))
            {
                scores.extend(day);
            }
        }
        per_day
    }

    /// Only the scores of [`CardSet::score_days`]: per day (in the order given), per account
    /// in the order given, its score if it has one. What a backtest ranks; each measure's
    /// values come from `memo` when another set already computed them on these dates.
    pub fn scores_only_days(
        &self,
        source: &dyn UsageSource,
        accounts: &[mikawaya_domain::account::Account],
        days: &[Date],
        memo: &mut SeriesMemo,
    ) -> Vec<Vec<Option<f64>>> {
        let mut per_day: Vec<Vec<Option<f64>>> = vec![vec![None; accounts.len()]; days.len()];
        for (card, indexes) in self.groups(accounts) {
            let scored: Vec<Scored> = indexes.iter().map(|i| Scored::of(&accounts[*i])).collect();
            for (scores, day) in per_day
                .iter_mut()
                .zip(card.scores_only_days(source, &scored, days, memo))
            {
                for (index, score) in indexes.iter().zip(day) {
                    scores[*index] = score;
                }
            }
        }
        per_day
    }

    /// The accounts (their positions in `accounts`) grouped by the card that scores them.
    fn groups(
        &self,
        accounts: &[mikawaya_domain::account::Account],
    ) -> Vec<(&Scorecard, Vec<usize>)> {
        let mut groups: Vec<(&Scorecard, Vec<usize>)> = Vec::new();
        for (index, account) in accounts.iter().enumerate() {
            let card = self.card_for(account);
            match groups.iter_mut().find(|(c, _)| std::ptr::eq(*c, card)) {
                Some((_, group)) => group.push(index),
                None => groups.push((card, vec![index])),
            }
        }
        groups
    }
}

fn unreachable_card(error: Invalid) -> Scorecard {
    panic!("the built-in default scorecard is invalid: {error}")
}

fn metric(name: &str, kind: &str, event: Option<&str>) -> MetricSpec {
    MetricSpec {
        name: name.into(),
        kind: kind.into(),
        event: event.map(str::to_owned),
        ..MetricSpec::default()
    }
}

/// [`percentile_rank`] among peers sorted ascending, by binary search.
pub fn percentile_rank_sorted(value: f64, sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return 50.0;
    }
    let below = sorted.partition_point(|p| *p < value) as f64;
    let not_above = sorted.partition_point(|p| *p <= value) as f64;
    100.0 * (below + 0.5 * (not_above - below)) / sorted.len() as f64
}

/// Percentile rank of `value` among `peers` (which include it): 100 × (below + ½ equal) / n.
pub fn percentile_rank(value: f64, peers: &[f64]) -> f64 {
    if peers.is_empty() {
        return 50.0;
    }
    let below = peers.iter().filter(|p| **p < value).count() as f64;
    let equal = peers.iter().filter(|p| **p == value).count() as f64;
    100.0 * (below + 0.5 * equal) / peers.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::UsageSource;

    /// Usage given per account as (logins in the window, days since the last event).
    struct Fixed(BTreeMap<&'static str, (u64, Option<i32>)>);

    impl UsageSource for Fixed {
        fn count(&self, account: &str, _: Option<&str>, _: Date, _: Date) -> u64 {
            self.0.get(account).map_or(0, |(count, _)| *count)
        }
        fn sum(&self, _: &str, _: &str, _: &str, _: Date, _: Date) -> f64 {
            0.0
        }
        fn distinct_users(&self, account: &str, _: Date, _: Date) -> u64 {
            self.count(account, None, Date::MIN, Date::MIN)
        }
        fn last_event_day(&self, account: &str, _: Option<&str>, before: Date) -> Option<Date> {
            let days = self.0.get(account)?.1?;
            before
                .checked_sub(jiff::Span::new().days(i64::from(days)))
                .ok()
        }
    }

    /// Accounts named by their usage key; account n (from 1) in the order given.
    fn accounts(segments: &[(&str, &str)]) -> Vec<Scored> {
        segments
            .iter()
            .zip(1..)
            .map(|((account, segment), id)| Scored {
                account: Subject {
                    id: AccountId::new(id),
                    usage_key: Some((*account).into()),
                    tenure_start: None,
                },
                segment: (*segment).into(),
            })
            .collect()
    }

    /// The health of the account named `name` (see [`accounts`]).
    fn of<'h>(
        health: &'h BTreeMap<AccountId, AccountHealth>,
        scored: &[Scored],
        name: &str,
    ) -> &'h AccountHealth {
        let id = scored
            .iter()
            .find(|s| s.account.usage_key.as_deref() == Some(name))
            .map(|s| s.account.id)
            .unwrap_or_else(|| panic!("no account {name}"));
        &health[&id]
    }

    #[test]
    fn thresholds_map_linearly_and_weights_average() {
        let spec: ScorecardSpec = serde_json::from_value(serde_json::json!({"name": "card", "measures": [
            {"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 3, "red": 0, "green": 10},
            {"metric": {"name": "idle", "kind": "days_since"}, "weight": 1, "red": 14, "green": 2}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let card = Scorecard::check(&spec).unwrap_or_else(|e| panic!("{e}"));
        let usage = Fixed(BTreeMap::from([
            ("a", (5, Some(8))),
            ("b", (20, Some(1))),
            ("c", (0, None)),
        ]));
        let scored = accounts(&[("a", "t"), ("b", "t"), ("c", "t")]);
        let health = card.score(&usage, &scored, Date::constant(2026, 3, 1));
        let health = |name| of(&health, &scored, name);
        // a: logins 5 → 50; idle 8 → (14-8)/(14-2) = 50 → 50. b: 100 and 100 → 100.
        // c: logins 0 → 0; idle missing → only logins counts → 0.
        assert_eq!(health("a").score, Some(50.0));
        assert_eq!(
            (health("b").score, health("b").colour),
            (Some(100.0), Some(Colour::Green))
        );
        assert_eq!(
            (health("c").score, health("c").colour),
            (Some(0.0), Some(Colour::Red))
        );
        assert_eq!(health("c").measures[1].score, None);
    }

    #[test]
    fn scores_on_several_days_equal_scores_day_by_day() {
        let rollups = mikawaya_usage::rollup::Rollups::of_track_calls(&[
            ("a", "u1", "Login", "2026-02-01T10:00:00Z"),
            ("a", "u2", "Login", "2026-02-20T10:00:00Z"),
            ("a", "u1", "Report", "2026-02-25T10:00:00Z"),
            ("b", "u3", "Login", "2026-01-10T10:00:00Z"),
            ("c", "u4", "Report", "2026-02-27T10:00:00Z"),
            ("c", "u4", "Login", "2026-02-28T10:00:00Z"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let spec: ScorecardSpec = serde_json::from_value(serde_json::json!({"name": "card", "measures": [
            {"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 2, "red": 0, "green": 2},
            {"metric": {"name": "idle", "kind": "days_since"}, "weight": 1, "red": 30, "green": 1},
            {"metric": {"name": "users", "kind": "distinct_users"}, "weight": 1, "percentile": true}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let card = Scorecard::check(&spec).unwrap_or_else(|e| panic!("{e}"));
        let scored = accounts(&[("a", "t"), ("b", "t"), ("c", "t")]);
        let days = [
            Date::constant(2026, 3, 1),
            Date::constant(2026, 1, 15),
            Date::constant(2026, 2, 21),
        ];
        let together = card.score_days(&rollups, &scored, &days);
        for (day, scores) in days.iter().zip(&together) {
            assert_eq!(*scores, card.score(&rollups, &scored, *day), "{day}");
        }
        assert!(together[0].values().any(|h| h.score.is_some()));
    }

    #[test]
    fn sorted_ranks_equal_the_definition() {
        let peers = [3.0, 1.0, 2.0, 2.0, 5.0, 2.0];
        let mut sorted = peers.to_vec();
        sorted.sort_by(f64::total_cmp);
        for value in [0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 9.0] {
            assert_eq!(
                percentile_rank_sorted(value, &sorted),
                percentile_rank(value, &peers)
            );
        }
        // 2.0: below 1, equal 3 → 100 × (1 + 1.5) / 6.
        assert!((percentile_rank_sorted(2.0, &sorted) - 250.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn percentiles_rank_within_the_segment() {
        let spec: ScorecardSpec = serde_json::from_value(serde_json::json!({"name": "card", "measures": [
            {"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 1, "percentile": true}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let card = Scorecard::check(&spec).unwrap_or_else(|e| panic!("{e}"));
        let usage = Fixed(BTreeMap::from([
            ("a", (1, None)),
            ("b", (2, None)),
            ("c", (3, None)),
            ("d", (100, None)),
        ]));
        let scored = accounts(&[("a", "high"), ("b", "high"), ("c", "high"), ("d", "tech")]);
        let health = card.score(&usage, &scored, Date::constant(2026, 3, 1));
        let health = |name| of(&health, &scored, name);
        // Within "high": a is below 0 and equal to itself → (0 + ½) / 3; c → (2 + ½) / 3.
        assert_eq!(health("a").score, Some(100.0 * 0.5 / 3.0));
        assert_eq!(health("c").score, Some(100.0 * 2.5 / 3.0));
        assert_eq!(health("d").score, Some(50.0), "alone in its segment");
        // Peers that all have the same value rank nobody: no score rather than 50.
        let flat = Fixed(BTreeMap::from([("a", (0, None)), ("b", (0, None))]));
        let scored = accounts(&[("a", "high"), ("b", "high")]);
        let health = card.score(&flat, &scored, Date::constant(2026, 3, 1));
        assert_eq!(of(&health, &scored, "a").score, None);
    }

    #[test]
    fn specs_are_checked_and_the_default_card_is_valid() {
        let bad = serde_json::json!({"name": "card", "measures": [{"metric": {"name": "m", "kind": "count", "event": "E"}, "weight": 1, "red": 5, "green": 5}]});
        let spec: ScorecardSpec = serde_json::from_value(bad).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Scorecard::check(&spec).map_err(|e| e.field),
            Err("measures[0].red".to_owned())
        );
        let empty = ScorecardSpec {
            name: "x".into(),
            measures: vec![],
        };
        assert!(Scorecard::check(&empty).is_err());
        assert_eq!(Scorecard::default_card().name().as_str(), "default");
        assert_eq!(Colour::of(39.9), Colour::Red);
        assert_eq!(Colour::of(40.0), Colour::Yellow);
        assert_eq!(Colour::of(70.0), Colour::Green);
    }

    #[test]
    fn a_shown_score_has_the_colour_of_its_number() {
        // 69.6 would read "70" if rounded, yet it is yellow: it is shown as 69.
        for score in [0.0, 39.5, 39.99, 40.0, 69.6, 69.999, 70.0, 99.5, 100.0] {
            assert_eq!(
                Colour::of(shown(score) as f64),
                Colour::of(score),
                "{score}"
            );
        }
        assert_eq!((shown(69.6), shown(100.0), shown(0.4)), (69, 100, 0));
    }
}
