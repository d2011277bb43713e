//! Rules for a customer's child rows that hold whatever the backend: how a patch changes a
//! contact or a subscription, and when an account has lost its champion (a change the
//! playbook rules react to).

use crate::Result;
use mikawaya_domain::contact::{Contact, ContactPatch, ContactRole};
use mikawaya_domain::subscription::{Subscription, SubscriptionPatch, Term};

/// A contact with a patch applied (its account move is checked by the caller, which can
/// see which accounts are writable).
pub(crate) fn apply_contact_patch(mut contact: Contact, patch: ContactPatch) -> Contact {
    contact.external_id = patch.external_id.apply(contact.external_id);
    if let Some(name) = patch.name {
        contact.name = name;
    }
    contact.email = patch.email.apply(contact.email);
    contact.role = patch.role.apply(contact.role);
    contact.title = patch.title.apply(contact.title);
    contact.personal_success = patch.personal_success.apply(contact.personal_success);
    contact.sentiment = patch.sentiment.apply(contact.sentiment);
    contact.influence = patch.influence.apply(contact.influence);
    contact.updated_at = jiff::Timestamp::now();
    contact
}

/// Whether a change makes an account lose its champion: the contact was its champion and
/// is no longer one, or moved to another account.
pub(crate) fn champion_left(before: &Contact, after: &Contact) -> bool {
    before.role == Some(ContactRole::Champion)
        && (after.role != Some(ContactRole::Champion) || after.account_id != before.account_id)
}

/// A subscription with a patch applied; its term is checked (`end` after `start`).
pub(crate) fn apply_subscription_patch(
    previous: &Subscription,
    patch: SubscriptionPatch,
) -> Result<Subscription> {
    let mut subscription = previous.clone();
    subscription.external_id = patch.external_id.apply(subscription.external_id);
    if let Some(plan) = patch.plan {
        subscription.plan = plan;
    }
    if let Some(quantity) = patch.quantity {
        subscription.quantity = quantity;
    }
    if let Some(mrr) = patch.mrr {
        subscription.mrr = mrr;
    }
    let start = patch.start.unwrap_or(previous.term.start());
    subscription.term = Term::new(start, patch.end.apply(previous.term.end()))?;
    subscription.updated_at = jiff::Timestamp::now();
    Ok(subscription)
}
