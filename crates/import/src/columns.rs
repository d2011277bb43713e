//! Header mapping: which file column holds which canonical column.

use crate::ImportError;
use std::collections::BTreeMap;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Accounts.
    Accounts,
    /// Contacts.
    Contacts,
    /// Subscriptions.
    Subscriptions,
    /// Touchpoints.
    Touchpoints,
}

impl ImportKind {
    /// Parses `accounts`, `contacts`, `subscriptions` or `touchpoints`.
    pub fn parse(raw: &str) -> Result<Self, mikawaya_domain::Invalid> {
        match raw {
            "accounts" => Ok(Self::Accounts),
            "contacts" => Ok(Self::Contacts),
            "subscriptions" => Ok(Self::Subscriptions),
            "touchpoints" => Ok(Self::Touchpoints),
            other => Err(mikawaya_domain::Invalid::new(
                "kind",
                format!("'{other}' is not one of: accounts, contacts, subscriptions, touchpoints"),
            )),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Contacts => "contacts",
            Self::Subscriptions => "subscriptions",
            Self::Touchpoints => "touchpoints",
        }
    }
}

/// A canonical column, whether a file must have it, and the headers CRM exports use for it.
struct Column {
    name: &'static str,
    required: bool,
    aliases: &'static [&'static str],
}

/// Required columns a file may go without when it has another that stands for them.
const STANDS_FOR: &[(&str, &str)] = &[("start_date", "tenure_months")];

const ACCOUNT_COLUMNS: &[Column] = &[
    Column {
        name: "external_id",
        required: true,
        aliases: &[
            "account_id",
            "account id",
            "id",
            "crm_id",
            "salesforce_id",
            "hubspot_company_id",
            "company_id",
            "record_id",
            "取引先id",
            "顧客id",
            "顧客コード",
            "取引先コード",
            "会社id",
        ],
    },
    Column {
        name: "name",
        required: false,
        aliases: &[
            "account_name",
            "account name",
            "company",
            "company_name",
            "company name",
            "取引先名",
            "会社名",
            "顧客名",
            "企業名",
        ],
    },
    Column {
        name: "parent_external_id",
        required: false,
        aliases: &[
            "parent_id",
            "parent account id",
            "parent_account_id",
            "親取引先id",
        ],
    },
    Column {
        name: "plan",
        required: false,
        aliases: &["plan_name", "product", "プラン"],
    },
    Column {
        name: "mrr",
        required: false,
        aliases: &[
            "monthly recurring revenue",
            "monthly_revenue",
            "月額",
            "月額料金",
            "mrr（円）",
        ],
    },
    Column {
        name: "currency",
        required: false,
        aliases: &["currency_code", "通貨"],
    },
    Column {
        name: "contract_start",
        required: false,
        aliases: &[
            "contract_start_date",
            "contract start date",
            "start_date",
            "契約開始日",
        ],
    },
    Column {
        name: "contract_end",
        required: false,
        aliases: &[
            "contract_end_date",
            "contract end date",
            "end_date",
            "契約終了日",
        ],
    },
    Column {
        name: "renewal_date",
        required: false,
        aliases: &[
            "renewal",
            "next_renewal_date",
            "renewal date",
            "更新日",
            "契約更新日",
        ],
    },
    Column {
        name: "owner_email",
        required: false,
        aliases: &[
            "owner",
            "account_owner",
            "account owner email",
            "csm_email",
            "csm",
            "担当者",
            "担当者メール",
            "担当csm",
        ],
    },
    Column {
        name: "partner_external_id",
        required: false,
        aliases: &["partner_id", "partner", "reseller_id", "代理店id", "代理店"],
    },
    Column {
        name: "stage",
        required: false,
        aliases: &[
            "lifecycle_stage",
            "lifecycle stage",
            "phase",
            "ステージ",
            "フェーズ",
        ],
    },
    Column {
        name: "tier",
        required: false,
        aliases: &["touch_tier", "segment", "tier", "rank", "タッチ", "ランク"],
    },
];

const CONTACT_COLUMNS: &[Column] = &[
    Column {
        name: "external_id",
        required: false,
        aliases: &[
            "contact_id",
            "contact id",
            "id",
            "record_id",
            "取引先責任者id",
        ],
    },
    Column {
        name: "account_external_id",
        required: true,
        aliases: &[
            "account_id",
            "account id",
            "company_id",
            "取引先id",
            "顧客id",
            "顧客コード",
            "取引先コード",
        ],
    },
    Column {
        name: "name",
        required: true,
        aliases: &[
            "full_name",
            "full name",
            "contact_name",
            "氏名",
            "名前",
            "担当者名",
        ],
    },
    Column {
        name: "email",
        required: false,
        aliases: &[
            "email_address",
            "e-mail",
            "mail",
            "メール",
            "メールアドレス",
        ],
    },
    Column {
        name: "role",
        required: false,
        aliases: &["contact_role", "persona", "役割", "ロール"],
    },
    Column {
        name: "title",
        required: false,
        aliases: &["job_title", "job title", "position", "役職"],
    },
    Column {
        name: "personal_success",
        required: false,
        aliases: &["personal success", "goal", "個人の成功", "個人的な成功"],
    },
    Column {
        name: "influence",
        required: false,
        aliases: &["影響力"],
    },
    Column {
        name: "sentiment",
        required: false,
        aliases: &["感情", "温度感"],
    },
];

const SUBSCRIPTION_COLUMNS: &[Column] = &[
    Column {
        name: "external_id",
        required: false,
        aliases: &["subscription_id", "subscription id", "id", "契約id"],
    },
    Column {
        name: "account_external_id",
        required: true,
        aliases: &[
            "account_id",
            "account id",
            "customer_id",
            "取引先id",
            "顧客id",
            "顧客コード",
            "取引先コード",
        ],
    },
    Column {
        name: "plan",
        required: true,
        aliases: &["plan_name", "product", "プラン"],
    },
    Column {
        name: "quantity",
        required: false,
        aliases: &["seats", "licenses", "units", "数量", "ライセンス数"],
    },
    Column {
        name: "mrr",
        required: true,
        aliases: &["monthly recurring revenue", "amount", "月額"],
    },
    Column {
        name: "start_date",
        required: true,
        aliases: &["start", "started_at", "開始日"],
    },
    Column {
        name: "end_date",
        required: false,
        aliases: &["end", "ended_at", "canceled_at", "終了日"],
    },
    Column {
        name: "tenure_months",
        required: false,
        aliases: &["tenure", "months", "契約月数", "継続月数", "利用月数"],
    },
    Column {
        name: "churned",
        required: false,
        aliases: &["churn", "is_churned", "解約", "解約フラグ"],
    },
];

const TOUCHPOINT_COLUMNS: &[Column] = &[
    Column {
        name: "account_external_id",
        required: true,
        aliases: &[
            "account_id",
            "account id",
            "取引先id",
            "顧客id",
            "顧客コード",
            "取引先コード",
        ],
    },
    Column {
        name: "kind",
        required: true,
        aliases: &["type", "activity_type", "種別"],
    },
    Column {
        name: "occurred_at",
        required: true,
        aliases: &["date", "timestamp", "activity_date", "日時", "実施日"],
    },
    Column {
        name: "user_email",
        required: false,
        aliases: &["user", "owner", "csm_email", "担当者"],
    },
    Column {
        name: "summary",
        required: false,
        aliases: &["subject", "notes", "description", "内容", "概要"],
    },
];

fn columns(kind: ImportKind) -> &'static [Column] {
    match kind {
        ImportKind::Accounts => ACCOUNT_COLUMNS,
        ImportKind::Contacts => CONTACT_COLUMNS,
        ImportKind::Subscriptions => SUBSCRIPTION_COLUMNS,
        ImportKind::Touchpoints => TOUCHPOINT_COLUMNS,
    }
}

/// The canonical columns of a kind, in order.
pub fn canonical_columns(kind: ImportKind) -> Vec<&'static str> {
    columns(kind).iter().map(|c| c.name).collect()
}

fn fold(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .replace(['-', '　'], " ")
        .replace('_', " ")
}

/// Where each canonical column sits in a file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    positions: BTreeMap<&'static str, (usize, String)>,
    /// Custom field key → column index (accounts only: `custom.KEY` or `cf_KEY` headers,
    /// or a mapping to `custom.KEY`).
    pub(crate) custom: Vec<(String, usize)>,
    /// Headers that map to nothing.
    pub(crate) ignored: Vec<String>,
    /// Value translations by file column: folded value → replacement.
    pub(crate) values: BTreeMap<usize, Vec<(String, String)>>,
}

impl Layout {
    /// A cell of a file column with its value translation applied.
    pub(crate) fn translate<'c>(&self, index: usize, cell: &'c str) -> std::borrow::Cow<'c, str> {
        let folded = mikawaya_domain::user::fold_name(cell);
        match self
            .values
            .get(&index)
            .and_then(|values| values.iter().find(|(from, _)| *from == folded))
        {
            Some((_, to)) => std::borrow::Cow::Owned(to.clone()),
            None => std::borrow::Cow::Borrowed(cell),
        }
    }

    pub(crate) fn index(&self, canonical: &str) -> Option<usize> {
        self.positions.get(canonical).map(|(index, _)| *index)
    }

    pub(crate) fn source_name(&self, canonical: &str) -> String {
        self.positions
            .get(canonical)
            .map_or_else(|| canonical.to_owned(), |(_, name)| name.clone())
    }

    pub(crate) fn source_columns(&self) -> BTreeMap<String, String> {
        let mut columns: BTreeMap<String, String> = self
            .positions
            .iter()
            .map(|(canonical, (_, source))| ((*canonical).to_owned(), source.clone()))
            .collect();
        columns.extend(
            self.custom
                .iter()
                .map(|(key, _)| (key.clone(), format!("custom.{key}"))),
        );
        columns
    }
}

/// A value translation: in `column` (a header of the file or a canonical column), a cell
/// equal to `from` (case, width and spaces aside) reads as `to`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValueMapping {
    pub(crate) column: String,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// Maps a header: explicit mappings first (a column may map to several canonical columns),
/// then canonical names, then known aliases; then places the value translations.
pub(crate) fn resolve_header(
    kind: ImportKind,
    header: &csv::StringRecord,
    mappings: &[(String, String)],
    values: &[ValueMapping],
) -> Result<Layout, ImportError> {
    let known = columns(kind);
    for (_, target) in mappings.iter().filter(|(_, target)| !target.is_empty()) {
        let is_custom = kind == ImportKind::Accounts && target.starts_with("custom.");
        if !is_custom && !known.iter().any(|c| c.name == target) {
            return Err(ImportError::Header(format!(
                "mapping target '{target}' is not a column of {} (one of: {})",
                kind.as_str(),
                canonical_columns(kind).join(", ")
            )));
        }
    }
    for (source, _) in mappings {
        if !header
            .iter()
            .any(|h| fold(h.trim_start_matches('\u{feff}')) == fold(source))
        {
            return Err(ImportError::Header(format!(
                "mapping source '{source}' is not a column of the file"
            )));
        }
    }
    let mut layout = Layout {
        positions: BTreeMap::new(),
        custom: Vec::new(),
        ignored: Vec::new(),
        values: BTreeMap::new(),
    };
    for (index, source) in header.iter().enumerate() {
        let source = source.trim_start_matches('\u{feff}').trim();
        let folded = fold(source);
        let explicit: Vec<String> = mappings
            .iter()
            .filter(|(from, _)| fold(from) == folded)
            .map(|(_, to)| to.clone())
            .collect();
        let targets: Vec<String> = if explicit.is_empty() {
            known
                .iter()
                .find(|c| fold(c.name) == folded)
                .map(|c| c.name.to_owned())
                .or_else(|| {
                    known
                        .iter()
                        .find(|c| c.aliases.iter().any(|alias| fold(alias) == folded))
                        .map(|c| c.name.to_owned())
                })
                .or_else(|| {
                    let custom = source
                        .strip_prefix("custom.")
                        .or_else(|| source.strip_prefix("cf_"));
                    custom
                        .filter(|_| kind == ImportKind::Accounts)
                        .map(|key| format!("custom.{key}"))
                })
                .into_iter()
                .collect()
        } else {
            // `SOURCE=` beside other targets of the same column is no target.
            let named: Vec<String> = explicit.iter().filter(|t| !t.is_empty()).cloned().collect();
            if named.is_empty() {
                // Mapped to nothing: ignored on purpose.
                layout.ignored.push(source.to_owned());
                continue;
            }
            named
        };
        if targets.is_empty() {
            layout.ignored.push(source.to_owned());
        }
        for target in targets {
            if let Some(key) = target.strip_prefix("custom.") {
                layout.custom.push((key.to_owned(), index));
                continue;
            }
            let Some(column) = known.iter().find(|c| c.name == target) else {
                continue;
            };
            if let Some((_, previous)) = layout.positions.get(column.name) {
                return Err(ImportError::Header(format!(
                    "columns '{previous}' and '{source}' both map to {}; map one of them elsewhere",
                    column.name
                )));
            }
            layout
                .positions
                .insert(column.name, (index, source.to_owned()));
        }
    }
    let missing: Vec<&str> = known
        .iter()
        .filter(|c| c.required && !layout.positions.contains_key(c.name))
        .filter(|c| {
            !STANDS_FOR
                .iter()
                .any(|(column, other)| *column == c.name && layout.positions.contains_key(other))
        })
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Header(format!(
            "missing required column(s): {}; map a column with --map SOURCE=TARGET",
            missing.join(", ")
        )));
    }
    for value in values {
        let wanted = fold(&value.column);
        let indexes: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| fold(h.trim_start_matches('\u{feff}')) == wanted)
            .map(|(index, _)| index)
            .chain(
                layout
                    .positions
                    .iter()
                    .filter(|(canonical, _)| fold(canonical) == wanted)
                    .map(|(_, (index, _))| *index),
            )
            .chain(
                layout
                    .custom
                    .iter()
                    .filter(|(key, _)| fold(&format!("custom.{key}")) == wanted)
                    .map(|(_, index)| *index),
            )
            .collect();
        if indexes.is_empty() {
            return Err(ImportError::Header(format!(
                "value mapping '{}:{}={}': the file has no column {}",
                value.column, value.from, value.to, value.column
            )));
        }
        for index in indexes {
            let translations = layout.values.entry(index).or_default();
            let from = mikawaya_domain::user::fold_name(&value.from);
            translations.retain(|(existing, _)| *existing != from);
            translations.push((from, value.to.clone()));
        }
    }
    Ok(layout)
}
