//! The `activities` table: the record of every change, written in the
//! same transaction as the change.

use sea_query::Query;

use super::{DbError, Tx};
use crate::secrets::new_id;

/// Records an activity inside `tx`, so that it exists exactly when the change does.
pub async fn record(
    tx: &mut Tx,
    account_id: &str,
    now_ms: i64,
    actor_user_id: Option<&str>,
    action: &str,
    subject: (&str, &str),
    details: serde_json::Value,
) -> Result<(), DbError> {
    tx.execute(
        Query::insert()
            .into_table("activities")
            .columns([
                "id",
                "account_id",
                "at_ms",
                "actor_user_id",
                "action",
                "subject_type",
                "subject_id",
                "details",
            ])
            .values_panic([
                new_id("act").into(),
                account_id.into(),
                now_ms.into(),
                actor_user_id.map(str::to_string).into(),
                action.into(),
                subject.0.into(),
                subject.1.into(),
                details.to_string().into(),
            ]),
    )
    .await?;
    Ok(())
}
