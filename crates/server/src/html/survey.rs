//! The public survey page a contact's signed link opens (no account needed): the survey in
//! the send's language, at any width; the answer recorded (or changed within the edit
//! window), its comment made a feedback item, and the account's rules evaluated at once (a
//! detractor playbook starts). A wrong or expired link gets the page an unknown address
//! gets.

use super::i18n::Lang;
use super::{layout, not_found_page, private};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_app::surveys::{self, AnswerForm, AnswerOutcome, Opened};
use mikawaya_domain::language::Language;
use mikawaya_playbooks::surveys::QuestionKind;
use std::collections::{BTreeMap, HashMap};

fn lang_of(language: Language) -> Lang {
    match language {
        Language::Ja => Lang::Ja,
        Language::En => Lang::En,
    }
}

fn page(opened: &Opened, token: &str, notice: Option<&str>, error: Option<&str>) -> Markup {
    let lang = lang_of(opened.send.language);
    let code = lang.code();
    let def = &opened.def;
    let (low, high) = def.kind.range();
    let chosen = opened.answer.as_ref().map(|a| a.score);
    let body = html! {
        h1 { (def.title.pick(code)) }
        p.muted { (opened.account_name) }
        @if let Some(notice) = notice { p.notice role="status" data-testid="survey-notice" { (notice) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        @match opened.editable_until {
            None => {
                p data-testid="survey-closed" { (lang.t("survey_thanks_closed")) }
            }
            Some(until) => {
                form.survey method="post" action=(mikawaya_playbooks::surveys::link_path(token)) data-testid="survey-form" {
                    fieldset.scale {
                        legend { (def.question.pick(code)) }
                        div.choices {
                            @for n in low..=high {
                                label.choice {
                                    input type="radio" name="score" value=(n) required checked[chosen == Some(n)];
                                    span { (n) }
                                }
                            }
                        }
                    }
                    @if let Some(prompt) = &def.comment {
                        label { (prompt.pick(code))
                            textarea name="comment" rows="4" maxlength="5000" {
                                @if let Some(c) = opened.answer.as_ref().and_then(|a| a.comment.as_ref()) { (c) }
                            }
                        }
                    }
                    @for q in &def.questions {
                        @match q.kind {
                            QuestionKind::Text => label { (q.label.pick(code)) textarea name=(format!("q.{}", q.key)) rows="2" maxlength="5000" {} },
                            QuestionKind::Scale => label { (q.label.pick(code)) select name=(format!("q.{}", q.key)) {
                                option value="" { "—" }
                                @for n in 1..=5 { option value=(n) { (n) } }
                            } },
                            QuestionKind::Choice => label { (q.label.pick(code)) select name=(format!("q.{}", q.key)) {
                                option value="" { "—" }
                                @for (i, c) in q.choices.iter().enumerate() { option value=(i) { (c.pick(code)) } }
                            } },
                        }
                    }
                    button type="submit" data-testid="survey-submit" { (lang.t(if opened.answer.is_some() { "survey_change" } else { "survey_send" })) }
                    @if opened.answer.is_some() {
                        p.muted { (lang.t("survey_editable_until")) " " (super::i18n::date(until.to_zoned(jiff::tz::TimeZone::UTC).date(), lang)) }
                    }
                }
            }
        }
    };
    layout(lang, def.title.pick(code), None, body)
}

/// The survey a link opens.
pub async fn open(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let now = state.clock().now();
    let lookup = token.clone();
    match state
        .run(move |store| Ok(surveys::open(store, &lookup, now)?))
        .await
    {
        Ok(Some(opened)) => private(page(&opened, &token, None, None).into_response()),
        Ok(None) => private(not_found_page(Lang::detect(None, &headers)).into_response()),
        Err(error) => private(error.into_response()),
    }
}

/// Records the answer a link's page posts.
pub async fn answer(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock().now();
    let form = AnswerForm {
        score: fields.get("score").cloned(),
        comment: fields.get("comment").cloned(),
        custom: fields
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_owned(), v.clone())))
            .collect::<BTreeMap<_, _>>(),
    };
    let index = std::sync::Arc::clone(&state.feedback_index);
    let lookup = token.clone();
    let result = state
        .run(move |store| {
            let outcome = surveys::answer(store, &index, &lookup, &form, now);
            let opened = surveys::open(store, &lookup, now)?;
            Ok((outcome, opened))
        })
        .await;
    match result {
        Ok((_, None)) | Ok((Ok(AnswerOutcome::NotFound), _)) => {
            private(not_found_page(Lang::detect(None, &headers)).into_response())
        }
        Ok((Ok(AnswerOutcome::Recorded(response, _)), Some(opened))) => {
            state.react(response.account_id);
            let lang = lang_of(opened.send.language);
            private(page(&opened, &token, Some(lang.t("survey_thanks")), None).into_response())
        }
        Ok((Ok(AnswerOutcome::Closed), Some(opened))) => {
            let lang = lang_of(opened.send.language);
            let mut response =
                page(&opened, &token, None, Some(lang.t("survey_closed"))).into_response();
            *response.status_mut() = StatusCode::CONFLICT;
            private(response)
        }
        Ok((Err(mikawaya_app::AppError::Invalid(invalid)), Some(opened))) => {
            let lang = lang_of(opened.send.language);
            let message = format!("{}: {}", lang.t("survey_fix"), invalid.reason);
            let mut response = page(&opened, &token, None, Some(&message)).into_response();
            *response.status_mut() = StatusCode::BAD_REQUEST;
            private(response)
        }
        Ok((Err(error), _)) => private(crate::error::ApiError::from(error).into_response()),
        Err(error) => private(error.into_response()),
    }
}
