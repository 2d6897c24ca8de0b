//! Synchronising with the license authority: every PAK registered with it
//! is asked for its current license file every `sync_interval_hours`, and
//! what it answers is installed. A failure is recorded and retried in ten
//! minutes; six months without a success disable the account (the
//! engine's contact-lost condition).

use serde_json::json;

use super::evaluate::current_files;
use super::install::{Via, install};
use super::open;
use crate::app::{Result, Services};
use crate::authority::{SyncAnswer, SyncRequest};
use crate::store;

/// Why the authority gave no license file.
pub(super) struct Unanswered {
    /// The authority's status when it refused the request (a 4xx: the
    /// PAK is unknown, another account's, or malformed), `None` when it
    /// could not be asked or failed.
    pub refused: Option<u16>,
    /// What went wrong, for people.
    pub message: String,
}

impl From<String> for Unanswered {
    fn from(message: String) -> Self {
        Unanswered { refused: None, message }
    }
}

/// Asks the authority for the license file of `pak` at `path` (registering
/// or synchronising).
pub(super) async fn fetch_from_authority(
    services: &Services,
    account_id: &str,
    pak: &str,
    path: &str,
) -> Result<String, Unanswered> {
    let licensing = &services.licensing;
    let Some(url) = &licensing.authority_url else {
        return Err(String::from(
            "this server has no authority_url setting: set it to the license authority's address, or install a \
             license file from your vendor instead",
        )
        .into());
    };
    let request = SyncRequest {
        pak: pak.to_string(),
        account_id: account_id.to_string(),
        server_id: licensing.server_id.clone(),
    };
    let response = licensing
        .http
        .post(format!("{url}{path}"))
        .json(&request)
        .send()
        .await
        .map_err(|e| format!("the license authority at {url} cannot be reached: {e}"))?;
    let status = response.status();
    let text =
        response.text().await.map_err(|e| format!("the license authority's answer was cut short: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        let refused = status.is_client_error().then_some(status.as_u16());
        return Err(Unanswered { refused, message: format!("the license authority refused: {message}") });
    }
    let answer: SyncAnswer = serde_json::from_str(&text)
        .map_err(|e| format!("the license authority's answer is not understood: {e}"))?;
    Ok(serde_json::to_string(&answer.license_file).expect("a license file serialises"))
}

/// Synchronises the account with the authority now: on success installs
/// what it answers (and records the sync); on failure records the error and
/// retries in 10 minutes. Returns the error, if any.
pub async fn sync_account(services: &Services, account_id: &str, now: i64) -> Result<Option<String>> {
    let mut tx = services.db.begin().await?;
    let row = open(&mut tx, account_id, now).await?;
    // Every PAK registered with the authority, not only the latest.
    let mut paks: Vec<String> = current_files(&mut tx, account_id)
        .await?
        .into_iter()
        .filter(|(r, _)| r.installed_via != Via::File.as_str())
        .map(|(r, _)| r.pak)
        .collect();
    tx.commit().await?;
    paks.extend(row.sync_pak);
    paks.sort();
    paks.dedup();
    for pak in paks {
        let outcome = match fetch_from_authority(services, account_id, &pak, "/v1/sync").await {
            // The answer may have taken a while: installed at the time it came.
            Ok(text) => install(services, account_id, None, &text, Via::Sync, services.clock.now())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(unanswered) => Err(unanswered.message),
        };
        if let Err(message) = outcome {
            return record_failure(services, account_id, now, format!("{pak}: {message}")).await.map(Some);
        }
    }
    Ok(None)
}

/// Records a failed synchronisation, with its activity record; the next
/// attempt is in ten minutes.
async fn record_failure(services: &Services, account_id: &str, now: i64, message: String) -> Result<String> {
    tracing::warn!(account = account_id, error = %message, "synchronisation with the license authority failed; will retry");
    let mut tx = services.db.begin().await?;
    store::compliance::sync_failed(&mut tx, account_id, now, &message, now + 10 * 60_000).await?;
    store::activities::record(
        &mut tx,
        account_id,
        now,
        None,
        "licenses.sync_failed",
        ("account", account_id),
        json!({"error": message}),
    )
    .await?;
    tx.commit().await?;
    Ok(message)
}

/// Runs the synchronisations that are due at `now`; each claimed by one
/// server. How many this server ran.
pub async fn run_due(services: &Services, now: i64) -> Result<usize> {
    let due = store::compliance::due_syncs(&services.db, now).await?;
    let mut ran = 0;
    for account in due {
        let mut tx = services.db.begin().await?;
        let claimed = store::compliance::claim_sync(&mut tx, &account, now + 5 * 60_000).await?;
        tx.commit().await?;
        if claimed {
            // The ones before may have taken a while: this one runs at its own time.
            sync_account(services, &account.account_id, Ord::max(now, services.clock.now())).await?;
            ran += 1;
        }
    }
    Ok(ran)
}
