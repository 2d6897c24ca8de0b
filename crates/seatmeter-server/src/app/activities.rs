//! The activity stream: every change, recorded with the change (see
//! [`crate::store::activities::record`]); filtered, paged by cursor,
//! exported whole. Administrators of reports or security see their
//! account's whole stream (see [`sees_the_whole_stream`]); everyone else
//! the activities they did and those about them. A privacy administrator
//! erases a person's activities: they stay, so counts stay right, but no
//! longer name the person.

use seatmeter_core::time::parse_date_or_rfc3339;

use super::{Capability, Error, Principal, Result, Services};
use crate::store;
use crate::store::activities::{ERASED, Selection};
use crate::store::users::UserRow;

/// One activity, as the stream lists it.
pub use crate::store::activities::ActivityRow;

/// How many activities a page holds when the caller does not say.
pub const DEFAULT_LIMIT: u64 = 100;
/// How many activities a page holds at most.
pub const MAX_LIMIT: u64 = 1000;
/// How many activities an export reads at a time.
const EXPORT_BATCH: u64 = 1000;

/// Filters of the activity stream, as people type them; each one given narrows it.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// An action (`license.assigned`) or a type of action (`license`).
    pub kind: Option<String>,
    /// The user who acted.
    pub actor: Option<String>,
    /// The id of the thing concerned.
    pub subject: Option<String>,
    /// Activities about this booking page.
    pub booking_page: Option<String>,
    /// From this instant (RFC 3339 or YYYY-MM-DD), inclusive.
    pub since: Option<String>,
    /// Until this instant (RFC 3339 or YYYY-MM-DD), exclusive.
    pub until: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of activities, newest first.
#[derive(Clone, Debug)]
pub struct Page {
    /// The activities.
    pub items: Vec<ActivityRow>,
    /// Where the next (older) page starts; none on the last page.
    pub next_cursor: Option<String>,
}

/// Administrators of reports or security see every activity of the
/// account; everyone else what they did and what was done to them.
pub fn sees_the_whole_stream(principal: &Principal) -> bool {
    principal.may(Capability::SeeWholeActivityStream)
}

fn instant_ms(text: &str, field: &str) -> Result<i64> {
    parse_date_or_rfc3339(text.as_bytes())
        .map(|t| t.0.div_euclid(1_000_000))
        .map_err(|e| Error::invalid(format!("{text:?} {e}"), field))
}

/// The cursor of a page that ends with `row`.
fn cursor_after(row: &ActivityRow) -> String {
    format!("{}.{}", row.at_ms, row.id)
}

/// `filter`, checked, as the activities of the caller's account that the caller may see.
fn selection(principal: &Principal, filter: Filter) -> Result<Selection> {
    let since_ms = filter.since.as_deref().map(|since| instant_ms(since, "since")).transpose()?;
    let until_ms = filter.until.as_deref().map(|until| instant_ms(until, "until")).transpose()?;
    let before = match &filter.cursor {
        None => None,
        Some(cursor) => Some(
            super::parse_cursor(cursor, "act")
                .ok_or_else(|| Error::invalid("the cursor is not one this server gave", "cursor"))?,
        ),
    };
    Ok(Selection {
        account_id: principal.account_id.to_string(),
        only_of: (!sees_the_whole_stream(principal)).then(|| principal.user_id.to_string()),
        kind: filter.kind,
        actor: filter.actor,
        subject: filter.subject,
        booking_page: filter.booking_page,
        since_ms,
        until_ms,
        before,
    })
}

/// The activities the caller may see that match `filter`, newest first,
/// `limit` of them (by default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
pub async fn list(
    services: &Services,
    principal: &Principal,
    filter: Filter,
    limit: Option<u64>,
) -> Result<Page> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_LIMIT}"), "limit"));
    }
    let selection = selection(principal, filter)?;
    let mut items = store::activities::list(&services.db, &selection, Some(limit + 1)).await?;
    let next_cursor = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(cursor_after)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Every activity the caller may see that matches `filter`, newest first,
/// read a batch at a time (so that an export of millions holds only one
/// batch in memory): see [`Export::next_rows`].
pub struct Export {
    services: Services,
    selection: Selection,
    /// The batch read but not yet taken.
    ready: Option<Vec<ActivityRow>>,
    /// Whether the last batch was read.
    done: bool,
}

impl Export {
    /// The next batch of activities, older than the last one taken; `None` after the last.
    pub async fn next_rows(&mut self) -> Result<Option<Vec<ActivityRow>>> {
        if let Some(rows) = self.ready.take() {
            return Ok(Some(rows));
        }
        self.read().await?;
        Ok(self.ready.take())
    }

    /// Reads the next batch into `ready` (nothing after the last).
    async fn read(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let rows = store::activities::list(&self.services.db, &self.selection, Some(EXPORT_BATCH)).await?;
        self.done = (rows.len() as u64) < EXPORT_BATCH;
        if let Some(last) = rows.last() {
            self.selection.before = Some((last.at_ms, last.id.clone()));
            self.ready = Some(rows);
        }
        Ok(())
    }
}

/// Starts an export of every activity the caller may see that matches
/// `filter` (its cursor included: the export starts there), reading the
/// first batch at once so that a failure is an answer, not a cut export.
pub async fn export(services: &Services, principal: &Principal, filter: Filter) -> Result<Export> {
    let selection = selection(principal, filter)?;
    let mut export = Export { services: services.clone(), selection, ready: None, done: false };
    export.read().await?;
    Ok(export)
}

/// The user of the account whose activities a privacy administrator erases.
async fn person(services: &Services, principal: &Principal, user_id: &str) -> Result<UserRow> {
    if !principal.may(Capability::EraseActivities) {
        return Err(Error::forbidden("erasing activities needs a privacy administrator"));
    }
    store::users::get(&services.db, &principal.account_id, user_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no user {user_id:?} in your account")))
}

/// A person and how many activities are about them.
#[derive(Clone, Debug)]
pub struct About {
    /// The person.
    pub person: UserRow,
    /// How many activities are about them (done by them, to them, or naming them).
    pub activities: u64,
}

/// How many activities an erasure of `user_id` would erase (privacy administrators).
pub async fn count_about(services: &Services, principal: &Principal, user_id: &str) -> Result<About> {
    let person = person(services, principal, user_id).await?;
    let activities =
        store::activities::count_about(&services.db, &principal.account_id, &person.id, &person.email)
            .await?;
    Ok(About { person, activities })
}

/// Whether `typed` is the address of the user `user_id` of the caller's
/// account (in any case), as a form repeats it to confirm an erasure.
pub async fn confirms_erasure(
    services: &Services,
    principal: &Principal,
    user_id: &str,
    typed: &str,
) -> Result<bool> {
    if !principal.may(Capability::EraseActivities) {
        return Err(Error::forbidden("erasing activities needs a privacy administrator"));
    }
    let person = store::users::get(&services.db, &principal.account_id, user_id).await?;
    Ok(person.is_some_and(|p| p.email.eq_ignore_ascii_case(typed.trim())))
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    /// The person.
    pub user_id: String,
    /// How many activities about them were erased.
    pub activities: u64,
}

/// Erases a person's activities (privacy administrators): each activity
/// done by them, to them, or naming them keeps its action and time, so
/// counts stay right, but loses its details, and the person's id in it is
/// replaced by `erased`. The erasure itself is recorded without naming them.
pub async fn erase(services: &Services, principal: &Principal, user_id: &str, now: i64) -> Result<Erased> {
    let person = person(services, principal, user_id).await?;
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let erased = store::activities::erase_about(&mut tx, account, &person.id, &person.email).await?;
    // Who erased their own activities is not named by the erasure either.
    let actor = if principal.user_id == person.id { ERASED } else { principal.user_id.as_str() };
    store::activities::record(
        &mut tx,
        account,
        now,
        Some(actor),
        "privacy.erased",
        ("account", account),
        serde_json::json!({"activities": erased}),
    )
    .await?;
    tx.commit().await?;
    Ok(Erased { user_id: person.id, activities: erased })
}
