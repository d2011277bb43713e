//! `mikawaya fields define|list|delete`: the accounts' custom fields from the terminal (the
//! same definitions as `PUT /api/v1/custom-fields/{key}`), so a CSV's `custom.*` columns
//! can be defined before an import.

use crate::Failure;
use crate::commands::{open_store, store_failure};
use anyhow::anyhow;
use mikawaya_domain::Actor;
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::value::{Name, Slug};
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum FieldsCommand {
    /// Defines (or redefines) a custom field of accounts.
    Define {
        /// The key, a slug (`industry`): the CSV column is `custom.KEY`.
        #[arg(long)]
        key: String,
        /// The label people see.
        #[arg(long)]
        label: String,
        /// text, number, date, bool or enum.
        #[arg(long)]
        kind: String,
        /// An allowed value of an enum field (repeatable).
        #[arg(long = "option")]
        options: Vec<String>,
    },
    /// Lists the custom fields.
    List,
    /// Deletes a custom field (its values go with it).
    Delete {
        /// The key.
        key: String,
    },
}

pub fn run(data_dir: &Path, command: FieldsCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    match command {
        FieldsCommand::Define {
            key,
            label,
            kind,
            options,
        } => {
            let flag = |flag: &str, reason: String| Failure::input(anyhow!("--{flag}: {reason}"));
            let definition = CustomFieldDef::new(
                Slug::parse(&key).map_err(|e| flag("key", e.reason))?,
                Name::parse(&label).map_err(|e| flag("label", e.reason))?,
                CustomFieldKind::parse(&kind).map_err(|e| flag("kind", e.reason))?,
                options,
            )
            .map_err(|e| flag(&e.field.replace("options", "option"), e.reason))?;
            store
                .put_custom_field(&admin, definition)
                .map_err(store_failure)?;
            println!("defined custom field {key}: import it as the column custom.{key}");
        }
        FieldsCommand::List => {
            for definition in store.list_custom_fields().map_err(store_failure)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    definition.key(),
                    definition.kind(),
                    definition.label(),
                    definition.options().join("|")
                );
            }
        }
        FieldsCommand::Delete { key } => {
            store
                .delete_custom_field(&admin, &key)
                .map_err(store_failure)?;
            println!("deleted custom field {key}");
        }
    }
    Ok(())
}
