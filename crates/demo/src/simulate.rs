//! The simulation: accounts, their subscription history, stakeholders and touchpoints.

use crate::DemoError;
use crate::names::*;
use jiff::ToSpan;
use jiff::civil::Date;
use mikawaya_domain::access::Role;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::contact::ContactRole;
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::touchpoint::TouchpointKind;
use mikawaya_domain::user::{NewUser, UserRef};
use mikawaya_domain::value::{Currency, Email, ExternalId, Money, Name, Slug, Text};
use mikawaya_domain::{Actor, Invalid, Patch};
use mikawaya_store::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, PlanRef, Store, SubscriptionRecord,
    TouchpointRecord,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;

/// The most accounts a demo may have.
pub const MAX_ACCOUNTS: u32 = 100_000;

/// The language of names and texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English names, USD.
    En,
    /// Japanese names, JPY.
    Ja,
}

impl Locale {
    /// Parses `en` or `ja`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "en" => Ok(Self::En),
            "ja" => Ok(Self::Ja),
            other => Err(Invalid::new(
                "locale",
                format!("'{other}' is not one of: en, ja"),
            )),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// How many accounts (1 to 100,000; default 500).
    pub accounts: u32,
    /// Random seed (default 42).
    pub seed: u64,
    /// Names and currency.
    pub locale: Locale,
    /// The simulated "today": history covers the 18 months before it.
    pub as_of: Date,
}

/// A generated company, not yet stored.
#[derive(Debug, Clone)]
pub struct DemoCompany {
    /// Partner organisations.
    pub partners: Vec<NewPartner>,
    /// Users: an admin, a leader, CSMs, a viewer, one user per partner (partner index).
    pub users: Vec<(NewUserSpec, Option<usize>)>,
    /// Account rows.
    pub accounts: Vec<AccountRecord>,
    /// Contact rows.
    pub contacts: Vec<ContactRecord>,
    /// Subscription rows.
    pub subscriptions: Vec<SubscriptionRecord>,
    /// Touchpoint rows.
    pub touchpoints: Vec<TouchpointRecord>,
    /// Hidden truth per account: external id → (value received, churned).
    pub truth: BTreeMap<String, (f64, bool)>,
    /// What each account's product usage looks like.
    pub usage: Vec<crate::usage::UsagePlan>,
    /// Survey answers (NPS, CSAT) with verbatims.
    pub surveys: Vec<crate::voice::SurveyPlan>,
    /// The CSMs' monthly pulses on high-touch accounts.
    pub pulses: Vec<crate::voice::PulsePlan>,
    /// The options it was made with (plans start and speak by them).
    pub options: DemoOptions,
}

/// A user to create (the partner is given by index into `partners`).
#[derive(Debug, Clone)]
pub struct NewUserSpec {
    /// Login.
    pub email: Email,
    /// Name.
    pub name: Name,
    /// Role.
    pub role: Role,
}

/// What was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DemoSummary {
    /// Accounts.
    pub accounts: u64,
    /// Of which churned by the as-of date.
    pub churned: u64,
    /// Contacts.
    pub contacts: u64,
    /// Subscription rows.
    pub subscriptions: u64,
    /// Touchpoints.
    pub touchpoints: u64,
    /// Users.
    pub users: u64,
    /// Success plans.
    pub plans: u64,
    /// Feedback items.
    pub feedback: usize,
    /// Feature requests.
    pub requests: usize,
}

struct PlanSpec {
    key: &'static str,
    seat_price_usd: f64,
}

const PLANS: &[PlanSpec] = &[
    PlanSpec {
        key: "starter",
        seat_price_usd: 25.0,
    },
    PlanSpec {
        key: "growth",
        seat_price_usd: 45.0,
    },
    PlanSpec {
        key: "pro",
        seat_price_usd: 80.0,
    },
    PlanSpec {
        key: "enterprise",
        seat_price_usd: 140.0,
    },
];

fn pick<'a, R: Rng>(rng: &mut R, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn valid<T>(result: Result<T, Invalid>) -> T {
    // Generated values are built from fixed lists and checked formats; a failure here is a
    // bug in the generator's lists, caught by its tests.
    match result {
        Ok(value) => value,
        Err(error) => panic!("demo generator produced an invalid value: {error}"),
    }
}

fn add_months(date: Date, months: i32) -> Date {
    date.checked_add(months.months()).unwrap_or(date)
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days()).unwrap_or(date)
}

struct Generator {
    rng: ChaCha8Rng,
    options: DemoOptions,
    window_start: Date,
    csm_emails: Vec<Email>,
    partner_count: usize,
    company: DemoCompany,
}

/// Generates the company (pure: no IO, no clock).
pub fn generate(options: DemoOptions) -> Result<DemoCompany, DemoError> {
    if options.accounts == 0 || options.accounts > MAX_ACCOUNTS {
        return Err(DemoError::Options(format!(
            "accounts must be between 1 and {MAX_ACCOUNTS}"
        )));
    }
    let rng = ChaCha8Rng::seed_from_u64(options.seed);
    let window_start = add_months(options.as_of, -18);
    let kept = options.clone();
    let mut generator = Generator {
        rng,
        options,
        window_start,
        csm_emails: Vec::new(),
        partner_count: 0,
        company: DemoCompany {
            partners: Vec::new(),
            users: Vec::new(),
            accounts: Vec::new(),
            contacts: Vec::new(),
            subscriptions: Vec::new(),
            touchpoints: Vec::new(),
            truth: BTreeMap::new(),
            usage: Vec::new(),
            surveys: Vec::new(),
            pulses: Vec::new(),
            options: kept,
        },
    };
    generator.team();
    for index in 0..generator.options.accounts {
        generator.account(index);
    }
    Ok(generator.company)
}

impl Generator {
    fn ja(&self) -> bool {
        self.options.locale == Locale::Ja
    }

    /// The language an account's people speak: the company's, and one account in four
    /// the other (so the demo shows both).
    fn language(&self, index: u32) -> &'static str {
        match (self.ja(), index % 4 == 3) {
            (true, false) | (false, true) => "ja",
            _ => "en",
        }
    }

    fn person(&mut self) -> (String, String) {
        if self.ja() {
            let family_index = self.rng.random_range(0..JA_FAMILY.len());
            let given = pick(&mut self.rng, JA_GIVEN);
            (
                format!("{} {given}", JA_FAMILY[family_index]),
                ROMAJI_FAMILY[family_index].to_owned(),
            )
        } else {
            let given = pick(&mut self.rng, EN_GIVEN);
            let family = pick(&mut self.rng, EN_FAMILY);
            (
                format!("{given} {family}"),
                format!("{}.{}", given.to_lowercase(), family.to_lowercase()),
            )
        }
    }

    fn team(&mut self) {
        let partner_names: [(&str, &str); 4] = [
            (
                "Sakura Channel Partners",
                "さくらチャネルパートナーズ株式会社",
            ),
            ("Northwind Resellers", "北風リセール株式会社"),
            ("Kansai Solutions", "関西ソリューションズ株式会社"),
            ("Pacific Integrators", "太平洋インテグレーター株式会社"),
        ];
        for (index, (en, ja)) in partner_names.iter().enumerate() {
            let name = if self.ja() { ja } else { en };
            self.company.partners.push(NewPartner {
                external_id: Some(valid(ExternalId::parse(&format!("PTN-{}", index + 1)))),
                name: valid(Name::parse(name)),
            });
        }
        self.partner_count = self.company.partners.len();
        let user = |email: String, name: String, role: Role, partner: Option<usize>| {
            (
                NewUserSpec {
                    email: valid(Email::parse(&email)),
                    name: valid(Name::parse(&name)),
                    role,
                },
                partner,
            )
        };
        let mut users = vec![
            user(
                "admin@mikawaya.example".into(),
                "Admin".into(),
                Role::Admin,
                None,
            ),
            user(
                "leader@mikawaya.example".into(),
                if self.ja() {
                    "CSリーダー"
                } else {
                    "CS Leader"
                }
                .into(),
                Role::Leader,
                None,
            ),
            user(
                "viewer@mikawaya.example".into(),
                if self.ja() { "閲覧者" } else { "Viewer" }.into(),
                Role::Viewer,
                None,
            ),
        ];
        for index in 0..self.partner_count {
            users.push(user(
                format!("partner{}@mikawaya.example", index + 1),
                format!("Partner {} staff", index + 1),
                Role::Partner,
                Some(index),
            ));
        }
        let csm_count = (self.options.accounts as usize).div_ceil(60).clamp(3, 300);
        for index in 0..csm_count {
            let (name, _) = self.person();
            let email = format!("csm{}@mikawaya.example", index + 1);
            self.csm_emails.push(valid(Email::parse(&email)));
            users.push((
                NewUserSpec {
                    email: valid(Email::parse(&email)),
                    name: valid(Name::parse(&name)),
                    role: Role::Csm,
                },
                None,
            ));
        }
        self.company.users = users;
    }

    fn company_name(&mut self, index: u32) -> String {
        if self.ja() {
            let form = pick(&mut self.rng, JA_COMPANY_FORM);
            let first = pick(&mut self.rng, JA_COMPANY_FIRST);
            let second = pick(&mut self.rng, JA_COMPANY_SECOND);
            let number = if index >= 500 {
                format!("{}", index / 500)
            } else {
                String::new()
            };
            if form == "株式会社" && self.rng.random_bool(0.5) {
                format!("{first}{second}{number}株式会社")
            } else {
                format!("{form}{first}{second}{number}")
            }
        } else {
            let first = pick(&mut self.rng, EN_COMPANY_FIRST);
            let second = pick(&mut self.rng, EN_COMPANY_SECOND);
            let suffix = pick(&mut self.rng, EN_COMPANY_SUFFIX);
            let number = if index >= 500 {
                format!(" {}", index / 500)
            } else {
                String::new()
            };
            format!("{first} {second}{number} {suffix}")
        }
    }

    fn money(&self, usd: f64) -> Money {
        let amount = if self.ja() {
            (usd * 150.0 / 100.0).round() * 100.0
        } else {
            (usd * 100.0).round() / 100.0
        };
        valid(Money::new(amount))
    }

    fn account(&mut self, index: u32) {
        let external_id = format!("ACC-{:06}", index + 1);
        // The hidden truth: how much value this customer gets from the product.
        let value: f64 = self.rng.random::<f64>().powf(0.8);
        let size: f64 = LogNormal::new(0.0, 0.9)
            .map(|d| d.sample(&mut self.rng))
            .unwrap_or(1.0);
        let plan_index = match size {
            s if s < 0.6 => 0,
            s if s < 1.5 => 1,
            s if s < 3.5 => 2,
            _ => 3,
        };
        let plan = &PLANS[plan_index];
        let mut seats = ((6.0 * size).round() as u32).max(1);
        let annual = self
            .rng
            .random_bool(if plan_index >= 2 { 0.9 } else { 0.55 });
        let term_months = if annual { 12 } else { 1 };
        let start = if self.rng.random_bool(0.35) {
            add_days(self.window_start, -self.rng.random_range(1..720))
        } else {
            let span = (self.options.as_of - self.window_start).get_days().max(30) - 14;
            add_days(self.window_start, self.rng.random_range(0..i64::from(span)))
        };
        let mut term_start = start;
        let mut row_start = start;
        let mut churned_on: Option<Date> = None;
        let mut renewal = None;
        loop {
            let term_end = add_months(term_start, term_months);
            if term_end > self.options.as_of {
                self.push_subscription(
                    &external_id,
                    plan.key,
                    seats,
                    plan.seat_price_usd,
                    row_start,
                    None,
                );
                renewal = Some(term_end);
                break;
            }
            let churn_chance = if annual {
                0.5 * (1.0 - value).powi(2) + 0.03
            } else {
                0.09 * (1.0 - value).powi(2) + 0.004
            };
            if self.rng.random_bool(churn_chance.clamp(0.0, 1.0)) {
                self.push_subscription(
                    &external_id,
                    plan.key,
                    seats,
                    plan.seat_price_usd,
                    row_start,
                    Some(term_end),
                );
                churned_on = Some(term_end);
                break;
            }
            let roll: f64 = self.rng.random();
            let previous = seats;
            if roll < 0.3 * value * if annual { 1.0 } else { 0.15 } {
                seats = ((f64::from(seats) * self.rng.random_range(1.1..1.6)).round() as u32)
                    .max(seats + 1);
            } else if roll > 1.0 - 0.18 * (1.0 - value) * if annual { 1.0 } else { 0.15 } {
                seats =
                    ((f64::from(seats) * self.rng.random_range(0.6..0.9)).round() as u32).max(1);
            }
            // Annual contracts write a row per term (each renewal is a new contract); monthly
            // ones only when the price changes.
            if annual || seats != previous {
                self.push_subscription(
                    &external_id,
                    plan.key,
                    previous,
                    plan.seat_price_usd,
                    row_start,
                    Some(term_end),
                );
                row_start = term_end;
            }
            term_start = term_end;
        }
        let mrr_usd = if churned_on.is_some() {
            0.0
        } else {
            f64::from(seats) * plan.seat_price_usd
        };
        // Tiers follow what the account paid while it paid: a churned account keeps the
        // tier (and the owner) it had, as a CRM keeps them, so churn by tier is true.
        let tier = match f64::from(seats) * plan.seat_price_usd * 12.0 {
            arr if arr >= 50_000.0 => TouchTier::High,
            arr if arr >= 8_000.0 => TouchTier::Low,
            _ => TouchTier::Tech,
        };
        // Churned accounts are marked so; every other account's stage comes from the
        // customer journey's rules, replayed over its history once usage is in.
        let stage = churned_on.map(|_| "churned");
        let owner = match tier {
            TouchTier::Tech => None,
            _ => Some(self.csm_emails[self.rng.random_range(0..self.csm_emails.len())].clone()),
        };
        let partner = self
            .rng
            .random_bool(0.2)
            .then(|| format!("PTN-{}", self.rng.random_range(1..=self.partner_count)));
        let parent = (index > 20 && self.rng.random_bool(0.03))
            .then(|| format!("ACC-{:06}", self.rng.random_range(1..index)));
        let name = self.company_name(index);
        let line = u64::from(index) + 2;
        self.company.accounts.push(AccountRecord {
            line,
            external_id: valid(ExternalId::parse(&external_id)),
            name: Patch::Set(valid(Name::parse(&name))),
            parent_external_id: parent
                .map_or(Patch::Clear, |p| Patch::Set(valid(ExternalId::parse(&p)))),
            plan: Patch::Set(PlanRef::Slug(valid(Slug::parse(plan.key)))),
            mrr: Patch::Set(self.money(mrr_usd)),
            currency: Patch::Set(valid(Currency::parse(if self.ja() {
                "JPY"
            } else {
                "USD"
            }))),
            contract_start: Patch::Set(start),
            contract_end: churned_on.or(renewal).map_or(Patch::Clear, Patch::Set),
            renewal_date: renewal.map_or(Patch::Clear, Patch::Set),
            owner_email: owner
                .clone()
                .map_or(Patch::Clear, |email| Patch::Set(UserRef::Email(email))),
            partner_external_id: partner
                .map_or(Patch::Clear, |p| Patch::Set(valid(ExternalId::parse(&p)))),
            stage: stage.map_or(Patch::Keep, |s| Patch::Set(valid(Slug::parse(s)))),
            tier: Patch::Set(tier),
            custom_fields: BTreeMap::from([(
                "language".to_owned(),
                serde_json::Value::String(self.language(index).to_owned()),
            )]),
        });
        self.company
            .truth
            .insert(external_id.clone(), (value, churned_on.is_some()));
        self.company.usage.push(crate::usage::UsagePlan {
            external_id: external_id.clone(),
            value,
            users: seats.clamp(1, 40),
            start,
            end: churned_on.unwrap_or(self.options.as_of),
            churned: churned_on.is_some(),
            seed: self.rng.random(),
        });
        let mut voice = crate::voice::stream(self.options.seed, index);
        let first_contact = self.company.contacts.len();
        self.contacts(index, &external_id, size, value, &mut voice);
        let active_until = churned_on.unwrap_or(self.options.as_of);
        let stakeholders: Vec<String> = self.company.contacts[first_contact..]
            .iter()
            .filter_map(|c| c.external_id.as_ref().map(ToString::to_string))
            .collect();
        let answers = crate::voice::surveys(
            &mut voice,
            &external_id,
            &stakeholders,
            value,
            start.max(self.window_start),
            active_until,
            self.language(index) == "ja",
        );
        self.company.surveys.extend(answers);
        if let (TouchTier::High, Some(owner), None) = (tier, &owner, churned_on) {
            let pulses = crate::voice::pulses(
                &mut voice,
                &external_id,
                owner,
                value,
                self.options.as_of,
                self.ja(),
            );
            self.company.pulses.extend(pulses);
        }
        self.touchpoints(
            &external_id,
            tier,
            value,
            start.max(self.window_start),
            active_until,
            owner,
        );
    }

    fn push_subscription(
        &mut self,
        account: &str,
        plan: &str,
        seats: u32,
        price: f64,
        start: Date,
        end: Option<Date>,
    ) {
        let number = self.company.subscriptions.len() + 1;
        self.company.subscriptions.push(SubscriptionRecord {
            line: number as u64 + 1,
            external_id: Some(valid(ExternalId::parse(&format!("SUB-{number:07}")))),
            account_external_id: valid(ExternalId::parse(account)),
            plan: PlanRef::Slug(valid(Slug::parse(plan))),
            quantity: seats,
            mrr: self.money(f64::from(seats) * price),
            start,
            end,
        });
    }

    fn contacts(
        &mut self,
        index: u32,
        account: &str,
        size: f64,
        value: f64,
        voice: &mut rand_chacha::ChaCha8Rng,
    ) {
        let count = (2 + size.round() as usize).min(8);
        let roles = [
            ContactRole::DecisionMaker,
            ContactRole::Champion,
            ContactRole::Admin,
            ContactRole::Billing,
            ContactRole::ExecutiveSponsor,
            ContactRole::EndUser,
            ContactRole::EndUser,
            ContactRole::EndUser,
        ];
        for role in roles.iter().take(count) {
            let number = self.company.contacts.len() + 1;
            let (name, handle) = self.person();
            let email = format!("{handle}{number}@customer{}.example", index + 1);
            let (personal_success, influence, sentiment) =
                crate::voice::stakeholder(voice, *role, value, self.ja());
            self.company.contacts.push(ContactRecord {
                line: number as u64 + 1,
                external_id: Some(valid(ExternalId::parse(&format!("CON-{number:07}")))),
                account_external_id: valid(ExternalId::parse(account)),
                name: valid(Name::parse(&name)),
                email: Some(valid(Email::parse(&email))),
                role: Some(*role),
                title: None,
                source: mikawaya_domain::contact::ContactSource::Crm,
                personal_success: personal_success.map(|p| valid(Text::parse(&p))),
                influence,
                sentiment,
            });
        }
    }

    fn touchpoints(
        &mut self,
        account: &str,
        tier: TouchTier,
        value: f64,
        from: Date,
        until: Date,
        owner: Option<Email>,
    ) {
        let monthly_rate = match tier {
            TouchTier::High => 2.0,
            TouchTier::Low => 0.6,
            TouchTier::Tech => 0.1,
        } * (0.4 + value);
        let kinds = [
            TouchpointKind::Meeting,
            TouchpointKind::Call,
            TouchpointKind::Email,
            TouchpointKind::Note,
        ];
        let summaries = if self.ja() {
            JA_SUMMARIES
        } else {
            EN_SUMMARIES
        };
        let mut month = from;
        let mut months = 0;
        while month < until {
            let count = (monthly_rate + self.rng.random::<f64>()).floor() as u32;
            for _ in 0..count {
                let day = add_days(month, self.rng.random_range(0..28));
                if day >= until {
                    continue;
                }
                let kind =
                    if tier == TouchTier::High && months % 3 == 2 && self.rng.random_bool(0.5) {
                        TouchpointKind::Qbr
                    } else {
                        kinds[self.rng.random_range(0..kinds.len())]
                    };
                let hour = self.rng.random_range(1..9);
                let occurred_at = day
                    .at(hour, 0, 0, 0)
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .map(|zoned| zoned.timestamp())
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let summary = pick(&mut self.rng, summaries);
                self.company.touchpoints.push(TouchpointRecord {
                    line: self.company.touchpoints.len() as u64 + 2,
                    account_external_id: valid(ExternalId::parse(account)),
                    kind,
                    occurred_at,
                    user_email: owner.clone().map(UserRef::Email),
                    summary: Some(valid(Text::parse(summary))),
                });
            }
            month = add_months(month, 1);
            months += 1;
        }
    }
}

/// Stores the survey answers and pulses, by the ids the import gave.
fn voice(
    store: &dyn Store,
    write: &mikawaya_domain::WriteAccess,
    surveys: &[crate::voice::SurveyPlan],
    pulses: &[crate::voice::PulsePlan],
) -> Result<(), DemoError> {
    let read = Actor::system().read();
    let accounts: BTreeMap<String, mikawaya_domain::AccountId> = store
        .all_accounts(&read)?
        .into_iter()
        .filter_map(|a| a.external_id.map(|e| (e.to_string(), a.id)))
        .collect();
    let contacts: BTreeMap<String, mikawaya_domain::ContactId> = store
        .all_contacts(&read)?
        .into_iter()
        .filter_map(|c| c.external_id.map(|e| (e.to_string(), c.id)))
        .collect();
    let users: BTreeMap<String, mikawaya_domain::UserId> = store
        .list_users(&read)?
        .into_iter()
        .map(|u| (u.email.to_string(), u.id))
        .collect();
    // The hosted surveys' history: every send (answered or not) with its answer.
    let manage = Actor::system()
        .manage()
        .map_err(|e| DemoError::Options(e.to_string()))?;
    let mut survey_ids = BTreeMap::new();
    for kind in mikawaya_domain::work::SurveyKind::ALL {
        let def = mikawaya_playbooks::surveys::standard(*kind);
        let body = serde_json::to_string(&def).unwrap_or_default();
        let saved = match store.surveys()?.into_iter().find(|s| s.name == def.name) {
            Some(saved) => saved,
            None => store.put_survey(&manage, &def.name, *kind, &body, true)?,
        };
        survey_ids.insert(kind.as_str(), saved.id);
    }
    let languages: BTreeMap<mikawaya_domain::AccountId, mikawaya_domain::language::Language> = store
        .all_accounts(&read)?
        .into_iter()
        .map(|a| {
            let ja = a.custom_fields.get("language").is_some_and(|v| {
                matches!(v, mikawaya_domain::custom_field::CustomValue::Enum(l) | mikawaya_domain::custom_field::CustomValue::Text(l) if l == "ja")
            });
            (a.id, if ja { mikawaya_domain::language::Language::Ja } else { mikawaya_domain::language::Language::En })
        })
        .collect();
    let past: Vec<mikawaya_store::voice::PastSend> = surveys
        .iter()
        .enumerate()
        .filter_map(|(index, answer)| {
            let account_id = *accounts.get(&answer.account)?;
            let contact_id = answer
                .contact
                .as_ref()
                .and_then(|c| contacts.get(c))
                .copied()?;
            let token = format!("demo:{}:{index}", answer.account);
            Some(mikawaya_store::voice::PastSend {
                send: mikawaya_store::voice::NewSend {
                    survey_id: *survey_ids.get(answer.kind.as_str())?,
                    account_id,
                    contact_id,
                    channel: mikawaya_domain::voice::SurveyChannel::Email,
                    language: languages.get(&account_id).copied().unwrap_or_default(),
                    token_hash: mikawaya_playbooks::surveys::token_hash(&token),
                    sent_at: answer.sent_at,
                    expires_at: answer.sent_at + jiff::SignedDuration::from_hours(24 * 30),
                    message: None,
                },
                answer: answer
                    .answered
                    .then(|| mikawaya_domain::work::NewSurveyResponse {
                        account_id,
                        contact_id: Some(contact_id),
                        kind: answer.kind,
                        score: answer.score,
                        comment: answer.comment.as_ref().map(|c| valid(Text::parse(c))),
                        answered_at: answer.at,
                    }),
            })
        })
        .collect();
    store.record_past_sends(write, &past)?;
    let pulses: Vec<mikawaya_store::work::Pulse> = pulses
        .iter()
        .filter_map(|pulse| {
            Some(mikawaya_store::work::Pulse {
                account_id: *accounts.get(&pulse.account)?,
                user_id: users.get(pulse.owner.as_str()).copied(),
                score: pulse.score,
                reason: pulse.reason.clone(),
                created_at: pulse.at,
            })
        })
        .collect();
    store.add_pulses(write, &pulses)?;
    Ok(())
}

fn batch(records: ImportRecords) -> ImportBatch {
    ImportBatch {
        records,
        source_columns: BTreeMap::new(),
    }
}

/// Stores a generated company through the import path, and writes the hidden truth to
/// `truth_file`. `password_hash` is given to every demo user.
pub fn load(
    store: &dyn Store,
    company: DemoCompany,
    password_hash: &str,
    truth_file: &std::path::Path,
) -> Result<DemoSummary, DemoError> {
    let system = Actor::system();
    let admin = system
        .admin()
        .map_err(|e| DemoError::Options(e.to_string()))?;
    let write = system
        .write()
        .map_err(|e| DemoError::Options(e.to_string()))?;
    let partners = company
        .partners
        .into_iter()
        .map(|partner| store.upsert_partner(&admin.manage(), partner))
        .collect::<Result<Vec<_>, _>>()?;
    let existing = store.list_users(&system.read())?;
    let mut users = 0;
    for (spec, partner) in company.users {
        if existing.iter().any(|user| user.email == spec.email) {
            continue;
        }
        let partner_id = partner.and_then(|index| partners.get(index)).map(|p| p.id);
        let new_user = NewUser::new(spec.email, spec.name, spec.role, partner_id)
            .map_err(mikawaya_store::StoreError::from)?;
        store.create_user(&admin, new_user, Some(password_hash.to_owned()))?;
        users += 1;
    }
    let churned = company
        .truth
        .values()
        .filter(|(_, churned)| *churned)
        .count() as u64;
    let truth: BTreeMap<&String, serde_json::Value> = company
        .truth
        .iter()
        .map(|(id, (value, churned))| {
            (
                id,
                serde_json::json!({"value_received": value, "churned": churned}),
            )
        })
        .collect();
    if !store
        .list_custom_fields()?
        .iter()
        .any(|f| f.key().as_str() == "language")
    {
        store.put_custom_field(
            &admin,
            valid(mikawaya_domain::custom_field::CustomFieldDef::new(
                valid(Slug::parse("language")),
                valid(Name::parse("Language / 言語")),
                mikawaya_domain::custom_field::CustomFieldKind::Enum,
                vec!["en".to_owned(), "ja".to_owned()],
            )),
        )?;
    }
    let accounts = store.import(&write, batch(ImportRecords::Accounts(company.accounts)))?;
    let contacts = store.import(&write, batch(ImportRecords::Contacts(company.contacts)))?;
    let subscriptions = store.import(
        &write,
        batch(ImportRecords::Subscriptions(company.subscriptions)),
    )?;
    let touchpoints = store.import(
        &write,
        batch(ImportRecords::Touchpoints(company.touchpoints)),
    )?;
    voice(store, &write, &company.surveys, &company.pulses)?;
    let plans = crate::plans::load(store, &write, &company.truth, &company.options)?;
    let (feedback, requests) = crate::feedback::load(store, &company.truth, &company.options)?;
    let text = serde_json::to_string_pretty(&truth).unwrap_or_default();
    std::fs::write(truth_file, text).map_err(|source| DemoError::Io {
        path: truth_file.to_owned(),
        source,
    })?;
    Ok(DemoSummary {
        accounts: accounts.rows,
        churned,
        contacts: contacts.rows,
        subscriptions: subscriptions.rows,
        touchpoints: touchpoints.rows,
        users,
        plans,
        feedback,
        requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(accounts: u32, seed: u64, locale: Locale) -> DemoOptions {
        DemoOptions {
            accounts,
            seed,
            locale,
            as_of: jiff::civil::date(2026, 6, 1),
        }
    }

    fn company(accounts: u32, seed: u64, locale: Locale) -> DemoCompany {
        generate(options(accounts, seed, locale)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_same_seed_gives_the_same_company() {
        let first = company(200, 7, Locale::En);
        let second = company(200, 7, Locale::En);
        assert_eq!(first.accounts, second.accounts);
        assert_eq!(first.subscriptions, second.subscriptions);
        assert_ne!(first.accounts, company(200, 8, Locale::En).accounts);
    }

    #[test]
    fn accounts_that_get_less_value_churn_more() {
        let company = company(3000, 1, Locale::En);
        let rate = |low: bool| {
            let group: Vec<bool> = company
                .truth
                .values()
                .filter(|(value, _)| (*value < 0.4) == low)
                .map(|(_, churned)| *churned)
                .collect();
            group.iter().filter(|c| **c).count() as f64 / group.len() as f64
        };
        assert!(
            rate(true) > 1.5 * rate(false),
            "low value {} vs high value {}",
            rate(true),
            rate(false)
        );
    }

    #[test]
    fn every_subscription_row_ends_after_it_starts_and_rows_do_not_overlap() {
        let company = company(500, 3, Locale::Ja);
        let mut by_account: BTreeMap<String, Vec<&SubscriptionRecord>> = BTreeMap::new();
        for row in &company.subscriptions {
            assert!(row.end.is_none_or(|end| end > row.start));
            by_account
                .entry(row.account_external_id.to_string())
                .or_default()
                .push(row);
        }
        for rows in by_account.values() {
            for pair in rows.windows(2) {
                assert_eq!(pair[0].end, Some(pair[1].start));
            }
        }
    }

    #[test]
    fn out_of_range_sizes_are_refused() {
        assert!(generate(options(0, 1, Locale::En)).is_err());
        assert!(generate(options(MAX_ACCOUNTS + 1, 1, Locale::En)).is_err());
    }
}
