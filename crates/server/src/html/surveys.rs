//! The surveys page: every survey with its response rate, the leaders' editor (texts in both
//! languages, custom questions, windows, rest period), and Customer 360's "send a survey".

use super::i18n::Lang;
use super::{PageUser, layout, one_decimal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_app::surveys::{self, SendContext, SendOutcome};
use mikawaya_domain::access::Role;
use mikawaya_domain::voice::SurveyChannel;
use mikawaya_domain::work::SurveyKind;
use mikawaya_domain::{ContactId, Invalid};
use mikawaya_playbooks::spec::Localized;
use mikawaya_playbooks::surveys::{Question, QuestionKind, SurveyDef};
use serde::Deserialize;
use std::collections::HashMap;

fn localized(form: &HashMap<String, String>, en: &str, ja: &str) -> Localized {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    Localized {
        en: get(en),
        ja: Some(get(ja)).filter(|j| !j.is_empty()),
    }
}

/// A question line: `key | text|choice|scale | label en | label ja | choices`, the choices
/// separated by commas, each `English/日本語`.
fn question(line: &str, number: usize) -> Result<Question, Invalid> {
    let field = format!("questions line {number}");
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    if cells.len() < 3 {
        return Err(Invalid::new(
            field,
            "write key | kind | label in English | label in Japanese | choices",
        ));
    }
    let kind = match cells[1] {
        "text" => QuestionKind::Text,
        "choice" => QuestionKind::Choice,
        "scale" => QuestionKind::Scale,
        other => {
            return Err(Invalid::new(
                field,
                format!("'{other}' is not one of: text, choice, scale"),
            ));
        }
    };
    let choices = cells
        .get(4)
        .map(|raw| {
            raw.split([',', '、'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    let (en, ja) = c.split_once('/').unwrap_or((c, ""));
                    Localized {
                        en: en.trim().to_owned(),
                        ja: Some(ja.trim().to_owned()).filter(|j| !j.is_empty()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Question {
        key: cells[0].to_owned(),
        label: Localized {
            en: cells[2].to_owned(),
            ja: cells
                .get(3)
                .map(|j| (*j).to_owned())
                .filter(|j| !j.is_empty()),
        },
        kind,
        choices,
    })
}

fn question_line(q: &Question) -> String {
    let kind = match q.kind {
        QuestionKind::Text => "text",
        QuestionKind::Choice => "choice",
        QuestionKind::Scale => "scale",
    };
    let choices: Vec<String> = q
        .choices
        .iter()
        .map(|c| match &c.ja {
            Some(ja) => format!("{}/{ja}", c.en),
            None => c.en.clone(),
        })
        .collect();
    format!(
        "{} | {kind} | {} | {} | {}",
        q.key,
        q.label.en,
        q.label.ja.as_deref().unwrap_or(""),
        choices.join(", ")
    )
}

fn number(form: &HashMap<String, String>, key: &str, default: u32) -> Result<u32, Invalid> {
    match form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(raw) => mikawaya_domain::value::half_width(raw)
            .parse()
            .map_err(|_| Invalid::new(key, format!("'{raw}' is not a whole number"))),
    }
}

fn definition_of(form: &HashMap<String, String>) -> Result<SurveyDef, Invalid> {
    let get = |k: &str| form.get(k).map_or("", |v| v.trim());
    let questions = get("questions")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| question(l, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let comment = localized(form, "comment_en", "comment_ja");
    Ok(SurveyDef {
        name: get("name").to_owned(),
        kind: SurveyKind::parse(get("kind"))?,
        title: localized(form, "title_en", "title_ja"),
        question: localized(form, "question_en", "question_ja"),
        comment: (!comment.en.is_empty()).then_some(comment),
        questions,
        edit_hours: number(form, "edit_hours", mikawaya_playbooks::surveys::EDIT_HOURS)?,
        expires_days: number(
            form,
            "expires_days",
            mikawaya_playbooks::surveys::EXPIRES_DAYS,
        )?,
        rest_days: number(form, "rest_days", mikawaya_playbooks::surveys::REST_DAYS)?,
        active: !get("active").is_empty(),
    })
}

fn editor(lang: Lang, csrf: &str, def: Option<&SurveyDef>) -> Markup {
    let text = |l: Option<&Localized>, ja: bool| -> String {
        l.map(|l| {
            if ja {
                l.ja.clone().unwrap_or_default()
            } else {
                l.en.clone()
            }
        })
        .unwrap_or_default()
    };
    html! {
        form.stack method="post" action="/surveys" data-testid="survey-editor" {
            input type="hidden" name="csrf_token" value=(csrf);
            div.inline {
                label { (lang.t("survey_key")) input type="text" name="name" required pattern="[a-z][a-z0-9_-]*" value=(def.map_or("", |d| d.name.as_str())) readonly[def.is_some()]; }
                label { (lang.t("survey_kind")) select name="kind" {
                    @for kind in SurveyKind::ALL { option value=(kind.as_str()) selected[def.is_some_and(|d| d.kind == *kind)] { (kind.as_str().to_uppercase()) } }
                } }
                label { input type="checkbox" name="active" value="on" checked[def.is_none_or(|d| d.active)]; (lang.t("survey_active")) }
            }
            div.inline {
                label { (lang.t("title_en")) input type="text" name="title_en" required value=(text(def.map(|d| &d.title), false)); }
                label { (lang.t("title_ja")) input type="text" name="title_ja" value=(text(def.map(|d| &d.title), true)); }
            }
            div.inline {
                label { (lang.t("survey_question_en")) input type="text" name="question_en" required value=(text(def.map(|d| &d.question), false)); }
                label { (lang.t("survey_question_ja")) input type="text" name="question_ja" value=(text(def.map(|d| &d.question), true)); }
            }
            div.inline {
                label { (lang.t("survey_comment_en")) input type="text" name="comment_en" value=(text(def.and_then(|d| d.comment.as_ref()), false)); }
                label { (lang.t("survey_comment_ja")) input type="text" name="comment_ja" value=(text(def.and_then(|d| d.comment.as_ref()), true)); }
            }
            div.inline {
                label { (lang.t("survey_edit_hours")) input type="text" inputmode="numeric" name="edit_hours" value=(def.map_or(mikawaya_playbooks::surveys::EDIT_HOURS, |d| d.edit_hours)); }
                label { (lang.t("survey_expires_days")) input type="text" inputmode="numeric" name="expires_days" value=(def.map_or(mikawaya_playbooks::surveys::EXPIRES_DAYS, |d| d.expires_days)); }
                label { (lang.t("survey_rest_days")) input type="text" inputmode="numeric" name="rest_days" value=(def.map_or(mikawaya_playbooks::surveys::REST_DAYS, |d| d.rest_days)); }
            }
            label { (lang.t("survey_questions"))
                textarea name="questions" rows="3" { (def.map(|d| d.questions.iter().map(question_line).collect::<Vec<_>>().join("\n")).unwrap_or_default()) }
            }
            p.muted { (lang.t("survey_questions_help")) }
            button type="submit" { (lang.t("save")) }
        }
    }
}

/// The surveys page.
pub async fn surveys_page(State(state): State<AppState>, page_user: PageUser) -> Response {
    let result = async {
        let access = page_user.actor.read();
        let to = state.clock().today();
        let from = to
            .checked_sub(jiff::Span::new().days(365))
            .map_err(|e| Invalid::new("from", e.to_string()))?;
        let (defs, (rates, _)) = state
            .run(move |store| {
                let defs = surveys::definitions(store)?;
                let rates = surveys::rates(store, &access, from, to, mikawaya_playbooks::journey::SegmentBy::Tier)?;
                Ok((defs, rates))
            })
            .await?;
        let lang = page_user.lang;
        let code = lang.code();
        let leader = matches!(page_user.actor.role(), Role::Admin | Role::Leader);
        let body = html! {
            h1 { (lang.t("surveys")) }
            p.muted { (lang.t("surveys_help")) }
            table tabindex="0" data-testid="surveys" {
                thead { tr {
                    th scope="col" { (lang.t("survey_key")) } th scope="col" { (lang.t("survey_kind")) } th scope="col" { (lang.t("survey_title")) }
                    th.num scope="col" { (lang.t("sent")) } th.num scope="col" { (lang.t("answered")) } th.num scope="col" { (lang.t("rate")) }
                    th.num scope="col" { (lang.t("survey_rest_days")) }
                } }
                tbody { @for (survey, def) in &defs {
                    @let rate = rates.get(&survey.name).cloned().unwrap_or_default();
                    tr {
                        td { (survey.name) @if !def.active { " " span.badge { (lang.t("inactive")) } } }
                        td { (def.kind.as_str().to_uppercase()) }
                        td { (def.title.pick(code)) }
                        td.num { (rate.sent) } td.num { (rate.answered) } td.num { (one_decimal(rate.percent(), "%")) }
                        td.num { (def.rest_days) }
                    }
                } }
            }
            @if leader {
                @for (survey, def) in &defs {
                    details { summary { (lang.t("edit")) " " (survey.name) } (editor(lang, &page_user.csrf_token, Some(def))) }
                }
                details { summary { (lang.t("new_survey")) } (editor(lang, &page_user.csrf_token, None)) }
            }
        };
        Ok::<_, ApiError>(
            layout(lang, lang.t("surveys"), Some((&page_user.user, &page_user.csrf_token)), body)
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Saves a survey from the editor (leaders).
pub async fn save(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let result = async {
        page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
        let access = page_user.actor.manage()?;
        let def = definition_of(&form)?;
        state
            .run(move |store| Ok(surveys::save(store, &access, def)?))
            .await?;
        Ok::<_, ApiError>(Redirect::to("/surveys").into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Customer 360's "send a survey" form.
pub fn account_form(
    lang: Lang,
    csrf: &str,
    account: i64,
    surveys: &[String],
    contacts: &[(ContactId, String)],
) -> Markup {
    html! {
        details {
            summary { (lang.t("send_survey")) }
            form.inline method="post" action=(format!("/accounts/{account}/surveys")) data-testid="send-survey" {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (lang.t("survey")) select name="survey" { @for s in surveys { option value=(s) { (s.to_uppercase()) } } } }
                label { (lang.t("contact")) select name="contact_id" { @for (id, name) in contacts { option value=(id) { (name) } } } }
                button type="submit" { (lang.t("send_survey")) }
            }
        }
    }
}

/// The send form.
#[derive(Debug, Deserialize)]
pub struct SendForm {
    csrf_token: String,
    survey: String,
    contact_id: i64,
}

/// Sends a survey to a contact from Customer 360 (by email through the outbox).
pub async fn send(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<SendForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.write()?;
        let context = SendContext {
            base_url: state.workflow.outbox.base_url.clone(),
            language: state.workflow.language(),
            emails_per_week: state.workflow.settings.emails_per_week,
            now: state.clock().now(),
        };
        let outcome = state
            .run(move |store| {
                Ok(surveys::send(
                    store,
                    &access,
                    &form.survey,
                    &[ContactId::new(form.contact_id)],
                    SurveyChannel::Email,
                    &context,
                )?)
            })
            .await?;
        let what = match outcome.first() {
            Some(SendOutcome::Sent(..)) => "sent".to_owned(),
            Some(SendOutcome::Skipped(_, why)) => why.as_str().to_owned(),
            None => "none".to_owned(),
        };
        Ok::<_, ApiError>(
            Redirect::to(&format!("/accounts/{id}?survey={what}#voice-heading")).into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}
