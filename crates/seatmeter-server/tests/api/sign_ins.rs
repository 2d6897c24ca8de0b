//! Signing in, attacked: what one account does never changes what happens
//! to another account's user; parallel attempts are counted one after the
//! other; the answers for a known and an unknown address are the same in
//! content and time, a lock included; one source address is throttled on
//! its own; another account cannot undo this account's user's failures.

use reqwest::Method;
use seatmeter_server::{Clock, Settings};
use serde_json::json;

use crate::browser::{PASSWORD, Page, add, link_for, policy_form, signed_in, use_link};
use crate::support::apps_with;

use crate::browser::sign_in_once as attempt;

/// The error an answer shows (the text in its alert).
fn error_of(page: &Page) -> String {
    let start = page.body.find("role=\"alert\"").map(|i| i + 13).unwrap_or(0);
    page.body[start..].split('<').next().unwrap_or_default().trim().to_string()
}

#[tokio::test]
async fn another_account_s_strict_lockout_never_locks_out_a_user_of_this_one() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let victim = app.create_account_at("Victim Corp", "ceo@victim.example", start).await;
        signed_in(&app, &victim.account.id, "ceo@victim.example", start).await;
        // Another account adds a user with the same address, a strict lockout, and a password.
        let other = app.create_account_at("Other Corp", "admin@other.example", start).await;
        let twin = add(&app, &other.token, json!({"email": "CEO@victim.example", "name": "Twin"})).await;
        let mut admin = signed_in(&app, &other.account.id, "admin@other.example", start).await;
        let strict = policy_form(&[("lockout_threshold", "3"), ("lockout_minutes", "1440")]);
        admin.submit("/security", "/security", &strict).await;
        let twin_password = "the twin's own passphrase";
        let link = link_for(&mut admin, &twin).await;
        assert_eq!(use_link(&app, &link, twin_password).await, 303);

        // Wrong passwords for the address, slowly enough for the delays: the twin locks.
        let mut now = start;
        for _ in 0..4 {
            now += 61_000;
            clock.set(now);
            assert_eq!(attempt(&app, "ceo@victim.example", "wrong guess!").await.status, 401);
        }
        now += 61_000;
        clock.set(now);
        // The victim signs in: their account's policy has no lock for four failures.
        let victim_in = attempt(&app, "ceo@victim.example", PASSWORD).await;
        assert_eq!(victim_in.location.as_deref(), Some("/"), "{}", victim_in.body);
        // The twin, locked by their own account's policy, gets in with nothing,
        // even with their right password.
        let twin_in = attempt(&app, "ceo@victim.example", twin_password).await;
        assert_eq!(twin_in.status, 401, "{}", twin_in.body);
        assert!(error_of(&twin_in).contains("locked for a while"), "{}", twin_in.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn thirty_wrong_passwords_at_once_are_counted_one_after_the_other() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        signed_in(&app, &created.account.id, "admin@example.com", start).await;
        for email in ["admin@example.com", "nobody@example.com"] {
            let attempts = (0..30).map(|_| attempt(&app, email, "wrong guess!"));
            let answers = futures_util::future::join_all(attempts).await;
            let checked = answers.iter().filter(|a| a.status == 401).count();
            let throttled = answers.iter().filter(|a| a.status == 429).count();
            // Three failures pass at once; every later one at the same instant waits.
            assert_eq!((checked, throttled), (3, 27), "{email} on {}", app.backend());
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_known_and_an_unknown_address_get_the_same_answers_in_the_same_time() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut admin = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        // A strict lock: it must not show to whoever does not know the password.
        let strict = policy_form(&[("lockout_threshold", "3"), ("lockout_minutes", "60")]);
        admin.submit("/security", "/security", &strict).await;
        let mut now = start;
        let (mut known_ms, mut unknown_ms) = (Vec::new(), Vec::new());
        for step in 0..12 {
            // Some attempts come quickly (and meet the delays), some after a pause.
            now += if step % 3 == 0 { 61_000 } else { 300 };
            clock.set(now);
            let timed = std::time::Instant::now();
            let known = attempt(&app, "admin@example.com", "wrong guess!").await;
            let known_took = timed.elapsed().as_secs_f64();
            let timed = std::time::Instant::now();
            let unknown = attempt(&app, "nobody@example.com", "wrong guess!").await;
            let unknown_took = timed.elapsed().as_secs_f64();
            assert_eq!((known.status, error_of(&known)), (unknown.status, error_of(&unknown)), "step {step}");
            if known.status == 401 {
                known_ms.push(known_took);
                unknown_ms.push(unknown_took);
            }
        }
        assert!(known_ms.len() >= 4, "{known_ms:?}");
        // The answers that checked a password took a hash's time either way.
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ratio = median(known_ms) / median(unknown_ms);
        assert!((0.5..2.0).contains(&ratio), "known/unknown time ratio {ratio:.2}");
        // The right password too answers as a wrong one while the lock lasts.
        clock.set(now + 61_000);
        let right = attempt(&app, "admin@example.com", PASSWORD).await;
        let unknown = attempt(&app, "nobody@example.com", PASSWORD).await;
        assert_eq!((right.status, error_of(&right)), (unknown.status, error_of(&unknown)));
        assert!(error_of(&right).contains("locked for a while"), "{}", right.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn one_source_trying_many_addresses_is_throttled_on_its_own() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        signed_in(&app, &created.account.id, "admin@example.com", start).await;
        for i in 0..30 {
            let answer = attempt(&app, &format!("guess{i}@example.com"), "wrong guess!").await;
            assert_eq!(answer.status, 401, "attempt {i}");
        }
        // The thirty-first address from this source waits, though it was never tried.
        let answer = attempt(&app, "guess30@example.com", "wrong guess!").await;
        assert_eq!(answer.status, 429, "{}", answer.body);
        // A second later the source may try again, and the right password works.
        clock.set(start + 1_000);
        assert_eq!(attempt(&app, "admin@example.com", PASSWORD).await.location.as_deref(), Some("/"));
        let (status, _) = app.call(Method::GET, "/v1/me", &created.token, None).await;
        assert_eq!(status, 200);
        app.finish().await;
    }
}

#[tokio::test]
async fn another_account_s_twin_with_a_guessed_password_cannot_undo_this_user_s_failures() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let victim = app.create_account_at("Victim Corp", "ceo@victim.example", start).await;
        signed_in(&app, &victim.account.id, "ceo@victim.example", start).await;
        let other = app.create_account_at("Other Corp", "admin@other.example", start).await;
        let twin = add(&app, &other.token, json!({"email": "ceo@victim.example", "name": "Twin"})).await;
        let mut admin = signed_in(&app, &other.account.id, "admin@other.example", start).await;
        let guess = "the attacker's current guess";
        let link = link_for(&mut admin, &twin).await;
        assert_eq!(use_link(&app, &link, guess).await, 303);
        // The guess is wrong for the victim and right for the twin, three times.
        for _ in 0..3 {
            let page = attempt(&app, "ceo@victim.example", guess).await;
            assert_eq!(page.location.as_deref(), Some("/"), "the twin signs in");
        }
        // The victim's three failures stand: they wait, and with them so does their right password.
        let now = attempt(&app, "ceo@victim.example", PASSWORD).await;
        assert_eq!(now.status, 401, "{}", now.body);
        clock.set(start + 2_000);
        let later = attempt(&app, "ceo@victim.example", PASSWORD).await;
        assert_eq!(later.location.as_deref(), Some("/"), "{}", later.body);
        app.finish().await;
    }
}
