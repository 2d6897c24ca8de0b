//! The administration console over HTTP: setting a password from the
//! one-time link, signing in and out, CSRF, throttling and lockout, session
//! timeouts, and the dashboard.

use seatmeter_server::Clock;
use seatmeter_server::Settings;

use crate::browser::{Browser, PASSWORD, Page, add, field, policy_form, signed_in};
use crate::support::apps_with;

/// Signs in as the administrator with `password`.
async fn attempt(browser: &mut Browser, password: &str) -> Page {
    let page = browser.get("/sign-in").await;
    let csrf = field(&page.body, "csrf");
    browser.post("/sign-in", &[("csrf", &csrf), ("email", "admin@example.com"), ("password", password)]).await
}

#[tokio::test]
async fn an_administrator_sets_a_password_from_the_link_signs_in_and_sees_the_dashboard() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut browser = Browser::new(&app);

        // The one-time link: refused passwords say why.
        let link = format!("/set-password?token={}", created.password_link);
        let mut page = browser.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("admin@example.com"));
        for (password, reason) in [
            ("short one", "at least 12 characters"),
            ("1qaz2wsx3edc", "most common"),
            ("not the same twice", "differ"),
        ] {
            let csrf = field(&page.body, "csrf");
            let token = field(&page.body, "token");
            let confirm = if reason == "differ" { "something else" } else { password };
            let answer = browser
                .post(
                    "/set-password",
                    &[("csrf", &csrf), ("token", &token), ("password", password), ("confirm", confirm)],
                )
                .await;
            assert_eq!(answer.status, 422);
            assert!(answer.body.contains(reason), "{}", answer.body);
            page = answer;
        }
        let page = browser.get(&link).await;
        let (csrf, token) = (field(&page.body, "csrf"), field(&page.body, "token"));
        let done = browser
            .post(
                "/set-password",
                &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(
            (done.status, done.location.as_deref()),
            (303, Some("/sign-in?done=password")),
            "{}",
            done.body
        );
        // The link works once.
        let again = browser.get(&link).await;
        assert_eq!(again.status, 404);
        assert!(again.body.contains("has been used or has expired"));

        // Not signed in: the dashboard sends to the sign-in page.
        let page = browser.get("/").await;
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/sign-in")));

        // A form without its CSRF token is refused; a wrong password says only that.
        let page = browser.get("/sign-in").await;
        let csrf = field(&page.body, "csrf");
        let forged = browser
            .post("/sign-in", &[("csrf", "x"), ("email", "admin@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(forged.status, 403);
        let page = browser.get("/sign-in").await;
        let csrf2 = field(&page.body, "csrf");
        assert_ne!(csrf, csrf2);
        let wrong = browser
            .post(
                "/sign-in",
                &[("csrf", &csrf2), ("email", "admin@example.com"), ("password", "not it at all")],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("the e-mail address or the password is wrong"));
        let unknown = browser
            .post(
                "/sign-in",
                &[
                    ("csrf", &field(&wrong.body, "csrf")),
                    ("email", "nobody@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(unknown.status, 401);
        assert!(unknown.body.contains("the e-mail address or the password is wrong"));

        // Signed in: the dashboard, with the trial banner and the usage chart.
        let signed = browser
            .post(
                "/sign-in",
                &[
                    ("csrf", &field(&unknown.body, "csrf")),
                    ("email", "ADMIN@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!((signed.status, signed.location.as_deref()), (303, Some("/")), "{}", signed.body);
        let response =
            browser.client.get(format!("{}/", browser.base)).header("cookie", browser.cookie_header());
        let response = response.send().await.unwrap();
        let headers = response.headers();
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        let dashboard = browser.get("/").await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.body);
        assert!(dashboard.body.contains("Free trial: 180 days left"), "{}", dashboard.body);
        assert!(dashboard.body.contains("<svg") && dashboard.body.contains("role=\"img\""));
        assert!(dashboard.body.contains("scheduled_meetings"));
        // The compliance banners are on every page, once.
        for path in [
            "/",
            "/licenses",
            "/users",
            "/meetings",
            "/booking-pages",
            "/activities",
            "/account",
            "/notifications",
            "/security",
        ] {
            let page = browser.get(path).await;
            assert_eq!(page.body.matches("Free trial: 180 days left").count(), 1, "{path}: {}", page.body);
        }

        // Idle for longer than the session policy allows (30 minutes): signed out.
        clock.set(start + 31 * 60_000);
        let page = browser.get("/").await;
        assert_eq!(page.location.as_deref(), Some("/sign-in"));

        // Signing in again, then out: the session ends (a forged sign-out does nothing).
        let page = browser.get("/sign-in").await;
        browser
            .post(
                "/sign-in",
                &[
                    ("csrf", &field(&page.body, "csrf")),
                    ("email", "admin@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let dashboard = browser.get("/").await;
        let csrf = field(&dashboard.body, "csrf");
        assert_eq!(browser.post("/sign-out", &[("csrf", "forged")]).await.status, 403);
        assert_eq!(browser.get("/").await.status, 200);
        let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.location.as_deref(), Some("/sign-in?done=signed-out"));
        assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in"));
        app.finish().await;
    }
}

#[tokio::test]
async fn failed_sign_ins_slow_down_then_lock_for_a_while_but_never_for_good() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut browser = Browser::new(&app);
        let page = browser.get(&format!("/set-password?token={}", created.password_link)).await;
        let (csrf, token) = (field(&page.body, "csrf"), field(&page.body, "token"));
        browser
            .post(
                "/set-password",
                &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;

        let mut now = start;
        // Three failures pass at once; the fourth must wait a second.
        for _ in 0..3 {
            assert_eq!(attempt(&mut browser, "wrong password!").await.status, 401);
        }
        let throttled = attempt(&mut browser, PASSWORD).await;
        assert_eq!(throttled.status, 429, "{}", throttled.body);
        assert!(throttled.body.contains("wait 1 second"), "{}", throttled.body);
        // Waiting longer each time, up to the threshold of 10: then locked for 15 minutes.
        for _ in 3..10 {
            now += 61_000;
            clock.set(now);
            assert_eq!(attempt(&mut browser, "wrong password!").await.status, 401);
        }
        now += 61_000;
        clock.set(now);
        let locked = attempt(&mut browser, PASSWORD).await;
        // Locked: even the right password answers as a wrong one (and counts),
        // with a word on locks, so that a guesser learns nothing.
        assert_eq!(locked.status, 401);
        assert!(locked.body.contains("locked for a while"), "{}", locked.body);
        // The lock ends by itself.
        now += 16 * 60_000;
        clock.set(now);
        let signed = attempt(&mut browser, PASSWORD).await;
        assert_eq!((signed.status, signed.location.as_deref()), (303, Some("/")), "{}", signed.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_for_good() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let (status, user) = app
            .call(
                reqwest::Method::POST,
                "/v1/users",
                &token,
                Some(serde_json::json!({"email": "maria@example.com", "name": "Maria", "role": "administrator"})),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        let id = user["id"].as_str().unwrap().to_string();
        let mut browser = signed_in(&app, &created.account.id, "maria@example.com", start).await;
        assert_eq!(browser.get("/").await.status, 200);

        for disabled in [true, false] {
            let path = format!("/v1/users/{id}");
            let body = serde_json::json!({ "disabled": disabled });
            let (status, _) = app.call(reqwest::Method::PATCH, &path, &token, Some(body)).await;
            assert_eq!(status, 200);
            assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in"), "disabled: {disabled}");
        }
        app.finish().await;
    }
}

#[derive(sqlx::FromRow)]
struct Flash {
    flash: Option<String>,
}

#[tokio::test]
async fn an_administrator_manages_users_licenses_and_booking_pages_in_the_console() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let account = created.account.id.clone();
        app.install(&account, seatmeter_core::people::LicenseKind::ScheduledMeetings, 1).await;
        let mut admin = signed_in(&app, &account, "admin@example.com", start).await;

        // Adding a user shows the one-time link for their password.
        let page = admin.get("/users").await;
        let csrf = field(&page.body, "csrf");
        let added = admin
            .post(
                "/users",
                &[
                    ("csrf", &csrf),
                    ("email", "maria@example.com"),
                    ("name", "Maria Lopez"),
                    ("role", "member"),
                ],
            )
            .await;
        // Shown on the answer itself: the link is stored nowhere but as a hash.
        assert_eq!(added.status, 200, "{}", added.body);
        assert!(added.body.contains("maria@example.com is added"), "{}", added.body);
        let link = field(&added.body, "link").replace("&#x2f;", "/");
        assert!(link.starts_with(&format!("{}/set-password?token=", app.base)), "{link}");
        let maria = added.body.split("href=\"/users/").nth(1).unwrap().split('"').next().unwrap().to_string();
        let flash: Vec<String> = app
            .db
            .fetch_all(sea_query::Query::select().column("flash").from("sessions"))
            .await
            .unwrap()
            .into_iter()
            .map(|row: Flash| row.flash.unwrap_or_default())
            .collect();
        assert!(flash.iter().all(|f| !f.contains("token")), "{flash:?}");
        // A second time: the API's refusal, shown on the page.
        let again = admin
            .submit(
                "/users",
                "/users",
                &[("email", "MARIA@example.com"), ("name", "Maria"), ("role", "member")],
            )
            .await;
        assert!(again.body.contains("class=\"error\""), "{}", again.body);
        // The search finds her, and only her.
        let found = admin.get("/users?q=lopez").await;
        assert!(
            found.body.contains("Maria Lopez") && !found.body.contains(">admin@example.com<"),
            "{}",
            found.body
        );

        // Assign her the only scheduled_meetings license; her enabled page.
        let user_page = format!("/users/{maria}");
        let assign = format!("{user_page}/licenses/scheduled_meetings/assign");
        let page = admin.submit(&user_page, &assign, &[]).await;
        assert!(page.body.contains("A scheduled_meetings license is assigned"), "{}", page.body);
        let page = admin
            .submit(
                "/booking-pages",
                "/booking-pages",
                &[("title", "Intro calls"), ("owner_user_id", &maria), ("enabled", "yes")],
            )
            .await;
        assert!(page.body.contains("is created and enabled"), "{}", page.body);
        // Unassigning says first which pages it disables, then does it.
        let unassign = format!("{user_page}/licenses/scheduled_meetings/unassign");
        let warning = admin.get(&unassign).await;
        assert!(
            warning.body.contains("disables 1 booking page") && warning.body.contains("Intro calls"),
            "{}",
            warning.body
        );
        let page = admin.submit(&unassign, &unassign, &[]).await;
        assert!(page.body.contains("1 booking page is disabled"), "{}", page.body);
        let pages = admin.get("/booking-pages").await;
        assert!(pages.body.contains("Intro calls") && pages.body.contains(">disabled<"), "{}", pages.body);

        // Roles and areas, from checkboxes.
        let page = admin
            .submit(
                &user_page,
                &user_page,
                &[
                    ("name", "Maria Lopez"),
                    ("role", "administrator"),
                    ("areas", "privacy"),
                    ("areas", "reports"),
                ],
            )
            .await;
        assert!(page.body.contains("is saved"), "{}", page.body);
        let (_, view) = app
            .call(reqwest::Method::GET, &user_page.replace("/users", "/v1/users"), &created.token, None)
            .await;
        assert_eq!(view["areas"], serde_json::json!(["privacy", "reports"]));

        // A form without the session's CSRF token is refused, and changes nothing.
        let forged =
            admin.post("/users", &[("csrf", "forged"), ("email", "eve@example.com"), ("name", "Eve")]).await;
        assert_eq!(forged.status, 403);
        assert!(!admin.get("/users").await.body.contains("eve@example.com"));

        // Security settings: out of range is refused with the reason; in range saved.
        let refused =
            admin.submit("/security", "/security", &policy_form(&[("password_min_length", "6")])).await;
        assert!(
            refused.body.contains("minimum password length must be a whole number from 8 to 64"),
            "{}",
            refused.body
        );
        let saved = admin
            .submit(
                "/security",
                "/security",
                &policy_form(&[
                    ("password_min_length", "14"),
                    ("password_max_age_days", "90"),
                    ("session_idle_minutes", "20"),
                    ("session_max_hours", "8"),
                    ("lockout_threshold", "5"),
                    ("lockout_minutes", "30"),
                ]),
            )
            .await;
        assert!(
            saved.body.contains("security settings are saved") && saved.body.contains("value=\"90\""),
            "{}",
            saved.body
        );

        // The activity stream, filtered, and its CSV.
        let stream = admin.get("/activities?type=license").await;
        assert!(
            stream.body.contains("license.unassigned") && !stream.body.contains("booking_page.created"),
            "{}",
            stream.body
        );
        let csv = admin.get("/activities.csv?type=booking_page").await;
        assert!(csv.body.starts_with("at,actor_user_id,action"), "{}", csv.body);
        assert!(csv.body.contains("booking_page.disabled") && !csv.body.contains("license.assigned"));

        // The licenses page lists who holds each kind.
        let licenses = admin.get("/licenses").await;
        assert!(
            licenses.body.contains("Who holds them") && licenses.body.contains("Scheduled meetings"),
            "{}",
            licenses.body
        );

        // The meeting log and the usage CSV, offered for a spreadsheet and exact.
        let meetings = admin.get("/meetings").await;
        for link in ["/meetings.csv?cells=formula_safe", "/meetings.csv?cells=exact"] {
            assert!(meetings.body.contains(link), "{link}: {}", meetings.body);
            let csv = admin.get(link).await;
            assert!(
                csv.body.starts_with("meeting_id,host,start,end,web_attendees,phone_attendees\n"),
                "{}",
                csv.body
            );
        }
        let dashboard = admin.get("/").await;
        for link in ["/usage.csv?cells=formula_safe", "/usage.csv?cells=exact"] {
            assert!(dashboard.body.contains(link), "{link}");
            let csv = admin.get(link).await;
            assert!(csv.body.starts_with("window_start,window_end,host,licenses\n"), "{}", csv.body);
        }

        // The other pages answer.
        for path in ["/", "/licenses", "/meetings", "/notifications", "/booking-pages", "/activities"] {
            let page = admin.get(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_member_sees_only_their_own_pages() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let account = created.account.id.clone();
        for (email, title) in [("maria@example.com", "Maria's page"), ("li@example.com", "Li's page")] {
            let (_, user) = app
                .call(
                    reqwest::Method::POST,
                    "/v1/users",
                    &created.token,
                    Some(serde_json::json!({"email": email, "name": email})),
                )
                .await;
            let body = serde_json::json!({"title": title, "owner_user_id": user["id"]});
            let (status, _) =
                app.call(reqwest::Method::POST, "/v1/booking-pages", &created.token, Some(body)).await;
            assert_eq!(status, 201);
        }
        let mut maria = signed_in(&app, &account, "maria@example.com", start).await;
        assert_eq!(maria.get("/").await.location.as_deref(), Some("/booking-pages"));
        let pages = maria.get("/booking-pages").await;
        assert!(
            pages.body.contains("Maria&#x27;s page") || pages.body.contains("Maria&#39;s page"),
            "{}",
            pages.body
        );
        assert!(!pages.body.contains("Li&#"), "{}", pages.body);
        for path in ["/users", "/licenses"] {
            assert_eq!(maria.get(path).await.status, 403, "{path}");
        }
        // Her page's availability is hers to set; bad hours say how to write them.
        let id = pages
            .body
            .split("/booking-pages/bpg_")
            .nth(1)
            .map(|rest| format!("bpg_{}", rest.split('"').next().unwrap()));
        let id = id.unwrap_or_else(|| panic!("no page link in {}", pages.body));
        let path = format!("/booking-pages/{id}");
        let page = maria
            .submit(&path, &format!("{path}/hours"), &[("mon", "9-5"), ("tue", "09:00-12:00, 13:00-17:00")])
            .await;
        assert!(page.body.contains("Monday: &#34;9&#34; is not a time of day"), "{}", page.body);
        let page = maria.submit(&path, &format!("{path}/hours"), &[("wed", "09:00")]).await;
        assert!(
            page.body.contains("Wednesday: &#34;09:00&#34; is not a range of hours; write them like"),
            "{}",
            page.body
        );
        let page =
            maria.submit(&path, &format!("{path}/hours"), &[("tue", "09:00-12:00, 13:00-17:00")]).await;
        assert!(
            page.body.contains("weekly hours are saved")
                && page.body.contains("value=\"09:00-12:00, 13:00-17:00\""),
            "{}",
            page.body
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn an_expired_password_must_be_replaced_before_signing_in() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut admin = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        admin.submit("/security", "/security", &policy_form(&[("password_max_age_days", "30")])).await;
        clock.set(start + 31 * 86_400_000);
        let mut browser = Browser::new(&app);
        let answer = attempt(&mut browser, PASSWORD).await;
        let location = answer.location.unwrap();
        assert!(
            location.starts_with("/set-password?token=") && location.ends_with("&expired=yes"),
            "{location}"
        );
        let page = browser.get(&location).await;
        assert!(page.body.contains("Your password has expired"), "{}", page.body);
        let form = |page: &Page| (field(&page.body, "csrf"), field(&page.body, "token"));
        let (csrf, token) = form(&page);
        let same = browser
            .post(
                "/set-password",
                &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        // The password in use again: refused, and the link is used up.
        assert!(same.body.contains("that is the password you have now"), "{}", same.body);
        assert_eq!(browser.get(&location).await.status, 404);
        let again = attempt(&mut browser, PASSWORD).await.location.unwrap();
        let page = browser.get(&again).await;
        let (csrf, token) = form(&page);
        let new = "a brand new passphrase here";
        let set = browser
            .post("/set-password", &[("csrf", &csrf), ("token", &token), ("password", new), ("confirm", new)])
            .await;
        assert_eq!(set.location.as_deref(), Some("/sign-in?done=password"));
        assert_eq!(attempt(&mut browser, new).await.location.as_deref(), Some("/"));
        app.finish().await;
    }
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut first = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        let mut second = Browser::new(&app);
        assert_eq!(attempt(&mut second, PASSWORD).await.location.as_deref(), Some("/"));
        let page = first.get("/security").await;
        let out = first.post("/security/sign-out-everywhere", &[("csrf", &field(&page.body, "csrf"))]).await;
        assert_eq!(out.location.as_deref(), Some("/sign-in?done=signed-out"));
        assert_eq!(first.get("/").await.location.as_deref(), Some("/sign-in"));
        assert_eq!(second.get("/").await.location.as_deref(), Some("/sign-in"));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_disabled_account_says_why_on_every_page_and_its_license_pages_lift_it() {
    let authority = crate::compliance::TestAuthority::start().await;
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let account = created.account.id.clone();
        // The trial ends unlicensed: the next audit disables the account.
        let later = start + 181 * 86_400_000;
        clock.set(later);
        seatmeter_server::jobs::audit::step(&app.state, later).await.unwrap();
        let mut admin = signed_in(&app, &account, "admin@example.com", later).await;
        for path in ["/", "/users", "/booking-pages", "/licenses", "/activities"] {
            let page = admin.get(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(
                page.body.contains("This account is disabled:</strong> the free trial has ended")
                    && page.body.contains("<a href=\"/licenses\">Install licenses</a> to lift it"),
                "{path}: {}",
                page.body
            );
        }
        // The notice of it, on the notifications page.
        let page = admin.get("/notifications").await;
        assert!(page.body.contains("Seatmeter: "), "{}", page.body);

        // A license file uploaded on the licenses page lifts it at once.
        let pak = authority.pak(&["host=5", "scheduled_meetings=2"]).await;
        let file = authority.authority.issue(&pak, &account).await.unwrap();
        let text = serde_json::to_string(&file).unwrap();
        let page = admin.get("/licenses").await;
        let csrf = field(&page.body, "csrf");
        let forged = admin.upload("/licenses/file", "forged", "file", &text).await;
        assert_eq!(forged.status, 403);
        let bad = admin.upload("/licenses/file", &csrf, "file", "{\"not\": \"a license file\"}").await;
        let page = admin.get(bad.location.as_deref().unwrap()).await;
        assert!(page.body.contains("class=\"error\""), "{}", page.body);
        let done = admin.upload("/licenses/file", &csrf, "file", &text).await;
        assert_eq!(done.location.as_deref(), Some("/licenses"), "{}", done.body);
        let page = admin.get("/licenses").await;
        assert!(
            page.body
                .contains(&format!("The license file of {pak} is installed: 5 host, 2 scheduled_meetings")),
            "{}",
            page.body
        );
        assert!(!page.body.contains("This account is disabled"), "{}", page.body);
        assert!(page.body.contains(">current<") && page.body.contains(">file<"), "{}", page.body);

        // Entering the same PAK registers it with the authority: the same file, unchanged.
        let page = admin.submit("/licenses", "/licenses/pak", &[("pak", &pak)]).await;
        assert!(page.body.contains("was already installed"), "{}", page.body);
        let page = admin.submit("/licenses", "/licenses/pak", &[("pak", "PAK-NOT-REAL")]).await;
        assert!(page.body.contains("class=\"error\""), "{}", page.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_booking_page_s_editors_dates_owner_and_state_are_set_in_the_console() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let account = created.account.id.clone();
        app.install(&account, seatmeter_core::people::LicenseKind::ScheduledMeetings, 1).await;
        let mut ids = Vec::new();
        for email in ["maria@example.com", "li@example.com"] {
            let body = serde_json::json!({"email": email, "name": email.split('@').next().unwrap()});
            let (_, user) = app.call(reqwest::Method::POST, "/v1/users", &created.token, Some(body)).await;
            ids.push(user["id"].as_str().unwrap().to_string());
        }
        let assign = serde_json::json!({"user_id": ids[0]});
        let path = "/v1/licenses/scheduled_meetings/assignments";
        assert_eq!(app.call(reqwest::Method::POST, path, &created.token, Some(assign)).await.0, 201);
        let mut admin = signed_in(&app, &account, "admin@example.com", start).await;
        let page = admin
            .submit(
                "/booking-pages",
                "/booking-pages",
                &[("title", "Demos"), ("owner_user_id", &ids[0]), ("enabled", "yes")],
            )
            .await;
        let id = page
            .body
            .split("action=\"/booking-pages/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let here = format!("/booking-pages/{id}");

        // Editors, by address; an unknown address says to add the user first.
        let editors = format!("{here}/editors");
        let page =
            admin.submit(&here, &editors, &[("email", "li@example.com"), ("notify_email", "yes")]).await;
        assert!(
            page.body.contains("li@example.com is an editor") && page.body.contains("(e-mailed of bookings)"),
            "{}",
            page.body
        );
        let page = admin.submit(&here, &editors, &[("email", "nobody@example.com")]).await;
        assert!(
            page.body.contains("no user nobody@example.com in your account: add them first"),
            "{}",
            page.body
        );
        let page = admin.submit(&here, &editors, &[("remove", &ids[1])]).await;
        assert!(
            page.body.contains("The editor is removed") && page.body.contains("No editor."),
            "{}",
            page.body
        );

        // A date's own hours, then back to the weekly ones.
        let dates = format!("{here}/override");
        let page = admin.submit(&here, &dates, &[("date", "2027-01-04"), ("hours", "10:00-11:00")]).await;
        assert!(page.body.contains("2027-01-04: 10:00-11:00"), "{}", page.body);
        let page = admin.submit(&here, &dates, &[("date", "2027-01-05"), ("hours", "")]).await;
        assert!(page.body.contains("2027-01-05: unavailable"), "{}", page.body);
        let page = admin.submit(&here, &dates, &[("date", "2027-01-04"), ("remove", "yes")]).await;
        assert!(!page.body.contains("2027-01-04:"), "{}", page.body);

        // Transferred to someone without a license: disabled, and it cannot be enabled.
        let page = admin.submit(&here, &format!("{here}/transfer"), &[("owner_user_id", &ids[1])]).await;
        assert!(page.body.contains("disabled until they hold a scheduled_meetings license"), "{}", page.body);
        let page = admin.submit(&here, &format!("{here}/state"), &[("enabled", "yes")]).await;
        assert!(page.body.contains("class=\"error\""), "{}", page.body);
        let page = admin.submit(&here, &format!("{here}/transfer"), &[("owner_user_id", &ids[0])]).await;
        assert!(page.body.contains("The page has its new owner"), "{}", page.body);
        let page = admin.submit(&here, &format!("{here}/state"), &[("enabled", "yes")]).await;
        assert!(page.body.contains("&#34;Demos&#34; is enabled"), "{}", page.body);
        let page = admin.submit(&here, &format!("{here}/state"), &[("enabled", "no")]).await;
        assert!(page.body.contains("&#34;Demos&#34; is disabled"), "{}", page.body);

        // Meetings, filtered by state and host.
        for (title, host) in [("Running one", &ids[0]), ("Planned one", &ids[1])] {
            let body = serde_json::json!({"title": title, "host_user_id": host});
            let (_, meeting) =
                app.call(reqwest::Method::POST, "/v1/meetings", &created.token, Some(body)).await;
            if title == "Running one" {
                let at = jiff::Timestamp::now().to_string();
                let event = serde_json::json!([{"idempotency_key": "k1", "meeting_id": meeting["id"], "type": "started", "at": at}]);
                assert_eq!(
                    app.call(reqwest::Method::POST, "/v1/events", &created.token, Some(event)).await.0,
                    200
                );
            }
        }
        let page = admin.get("/meetings?state=scheduled&host=").await;
        assert!(page.body.contains("Planned one") && page.body.contains("Running now: 1"), "{}", page.body);
        let listed = page.body.split("Recent meetings").nth(1).unwrap();
        assert!(!listed.contains("Running one"), "{listed}");
        let page = admin.get(&format!("/meetings?state=&host={}", ids[0])).await;
        let listed = page.body.split("Recent meetings").nth(1).unwrap();
        assert!(listed.contains("Running one") && !listed.contains("Planned one"), "{listed}");
        let page = admin.get("/meetings?state=lost").await;
        assert_eq!(page.status, 422, "{}", page.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn forms_about_strange_ids_are_refused_with_a_message_not_a_crash() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut admin = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        let csrf = field(&admin.get("/security").await.body, "csrf");
        for path in [
            "/users/a%0Ab%20%C3%A9/licenses/scheduled_meetings/assign",
            "/booking-pages/%0D%0ASet-Cookie:%20x=1/state",
        ] {
            let posted = admin.post(path, &[("csrf", &csrf), ("enabled", "yes")]).await;
            assert_eq!(posted.status, 303, "{path}: {}", posted.body);
            let location = posted.location.unwrap();
            assert!(location.contains("%0A") && !location.contains(['\n', '\r', ' ']), "{location}");
            let page = admin.get(&location).await;
            assert_eq!(page.status, 404, "{}", page.body);
        }
        let erase =
            admin.post("/activities/erase", &[("csrf", &csrf), ("user_id", "x\ny"), ("confirm", "")]).await;
        assert_eq!(erase.status, 303);
        assert_eq!(erase.location.as_deref(), Some("/activities/erase?user_id=x%0Ay"));
        app.finish().await;
    }
}

#[tokio::test]
async fn only_an_administrator_of_every_area_makes_a_password_link_for_an_administrator() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let account = created.account.id.clone();
        let lee = serde_json::json!({"email": "lee@example.com", "name": "Lee", "role": "administrator", "areas": ["users_licenses"]});
        let lee = add(&app, &created.token, lee).await;
        let maria =
            add(&app, &created.token, serde_json::json!({"email": "maria@example.com", "name": "Maria"}))
                .await;
        let mut browser = signed_in(&app, &account, "lee@example.com", start).await;

        // Whoever holds a link sets the password: not for an administrator of every area.
        let boss = created.admin.id.clone();
        let path = format!("/users/{boss}");
        let refused = browser.submit(&path, &format!("{path}/password-link"), &[]).await;
        assert!(refused.body.contains("made by an administrator of every area"), "{}", refused.body);
        // For a member, yes; and the stream says who made it.
        let path = format!("/users/{maria}");
        let page = browser.get(&path).await;
        let made =
            browser.post(&format!("{path}/password-link"), &[("csrf", &field(&page.body, "csrf"))]).await;
        assert_eq!(made.status, 200, "{}", made.body);
        assert!(made.body.contains("/set-password?token="), "{}", made.body);
        let (_, stream) = app
            .call(
                reqwest::Method::GET,
                &format!("/v1/activities?type=user.password_link&subject={maria}"),
                &created.token,
                None,
            )
            .await;
        let item = &stream["items"][0];
        assert_eq!(
            (item["actor_user_id"].as_str(), item["subject_id"].as_str()),
            (Some(lee.as_str()), Some(maria.as_str()))
        );

        // Renaming herself is a change she may make; her role and areas stay.
        let path = format!("/users/{lee}");
        let page = browser
            .submit(
                &path,
                &path,
                &[("name", "Lee Chen"), ("role", "administrator"), ("areas", "users_licenses")],
            )
            .await;
        assert!(page.body.contains("lee@example.com is saved"), "{}", page.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_lock_longer_than_an_hour_lasts_as_long_as_the_policy_says() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let mut admin = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        let form = policy_form(&[("lockout_threshold", "3"), ("lockout_minutes", "120")]);
        let saved = admin.submit("/security", "/security", &form).await;
        assert!(saved.body.contains("security settings are saved"), "{}", saved.body);
        let mut browser = Browser::new(&app);
        for _ in 0..3 {
            assert_eq!(attempt(&mut browser, "wrong password!").await.status, 401);
        }
        clock.set(start + 61 * 60_000);
        let locked = attempt(&mut browser, PASSWORD).await;
        assert_eq!(locked.status, 401, "{}", locked.body);
        // Two hours after the failures that locked it, the lock is over.
        clock.set(start + 121 * 60_000);
        assert_eq!(attempt(&mut browser, PASSWORD).await.location.as_deref(), Some("/"));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_privacy_administrator_chooses_among_every_user_and_sees_no_usage() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let pia = serde_json::json!({"email": "pia@example.com", "name": "Pia", "role": "administrator", "areas": ["privacy"]});
        add(&app, &created.token, pia).await;
        let maria =
            add(&app, &created.token, serde_json::json!({"email": "maria@example.com", "name": "Maria"}))
                .await;
        let mut pia = signed_in(&app, &created.account.id, "pia@example.com", start).await;
        let page = pia.get("/activities").await;
        let erase = page.body.split("id=\"erase-user\"").nth(1).unwrap();
        assert!(
            erase.contains(&format!("<option value=\"{maria}\">Maria &#60;maria@example.com&#62;")),
            "{erase}"
        );
        let review = pia.get(&format!("/activities/erase?user_id={maria}")).await;
        assert!(review.body.contains("done by maria@example.com"), "{}", review.body);
        let dashboard = pia.get("/").await;
        assert_eq!(dashboard.status, 200);
        assert!(
            !dashboard.body.contains("Host licenses used") && dashboard.body.contains("scheduled_meetings")
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn a_restricted_administrator_renames_themself_but_changes_none_of_their_own_rights() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let body = serde_json::json!({"email": "lee@example.com", "name": "Lee", "role": "administrator",
                                      "areas": ["users_licenses", "reports"]});
        let lee = add(&app, &created.token, body).await;
        let mut browser = signed_in(&app, &created.account.id, "lee@example.com", start).await;
        let own = format!("/users/{lee}");
        let page = browser.get(&own).await;
        assert!(
            page.body.contains("You are an administrator limited to Users &#38; licenses, Reports")
                && !page.body.contains("name=\"role\"")
                && !page.body.contains("name=\"disabled\""),
            "{}",
            page.body
        );
        // The form as the page sends it: the name alone.
        let saved = browser.submit(&own, &own, &[("name", "Lee Chen")]).await;
        assert!(saved.body.contains("lee@example.com is saved."), "{}", saved.body);
        let (_, user) =
            app.call(reqwest::Method::GET, &format!("/v1/users/{lee}"), &created.token, None).await;
        assert_eq!(
            (user["name"].as_str(), user["areas"].as_array().map(Vec::len)),
            (Some("Lee Chen"), Some(2))
        );
        // A form made up to ask for more is refused, as the API refuses it.
        let refused = browser.submit(&own, &own, &[("name", "Lee Chen"), ("role", "administrator")]).await;
        assert!(refused.body.contains("nobody changes their own role"), "{}", refused.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn the_account_meeting_rules_limits_and_scheduling_privileges_are_set_in_the_console() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let maria =
            add(&app, &token, serde_json::json!({"email": "maria@example.com", "name": "Maria"})).await;
        let bo = add(&app, &token, serde_json::json!({"email": "bo@example.com", "name": "Bo"})).await;
        let mut admin = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        let api = |path: &'static str| {
            let (app, token) = (&app, token.clone());
            async move { app.call(reqwest::Method::GET, path, &token, None).await.1 }
        };

        // The account's name and time zone.
        let page = admin.get("/account").await;
        assert!(page.body.contains("<option value=\"Europe/Paris\">"), "{}", page.body);
        let saved = admin
            .submit("/account", "/account", &[("name", "Example Europe"), ("time_zone", "Europe/Paris")])
            .await;
        assert!(
            saved.body.contains("The account is saved: Example Europe, in the time zone Europe/Paris"),
            "{}",
            saved.body
        );
        let account = api("/v1/account").await;
        assert_eq!(
            (account["name"].as_str(), account["time_zone"].as_str()),
            (Some("Example Europe"), Some("Europe/Paris"))
        );
        // A new name in the same time zone leaves a due audit where it was
        // (the use case the form calls, here through the API).
        let audit = api("/v1/compliance").await["next_audit_at"].clone();
        let due: jiff::Timestamp = audit.as_str().unwrap().parse().unwrap();
        clock.set(due.as_millisecond() + 60_000);
        let same_zone = serde_json::json!({"name": "Example EU", "time_zone": "Europe/Paris"});
        let (status, _) = app.call(reqwest::Method::PATCH, "/v1/account", &token, Some(same_zone)).await;
        assert_eq!(status, 200);
        assert_eq!(api("/v1/compliance").await["next_audit_at"], audit, "the due audit is not put off");
        clock.set(start + 600_000);

        // The meeting rules, and a number that is not one.
        let rules = [
            ("concurrency_limit", "3"),
            ("max_meeting_minutes", "90"),
            ("count_teleconference_only", "yes"),
            ("refuse_schedule_conflicts", "yes"),
        ];
        let saved = admin.submit("/account", "/account/meeting-rules", &rules).await;
        assert!(saved.body.contains("The meeting rules are saved"), "{}", saved.body);
        let stored = api("/v1/account/meeting-rules").await;
        assert_eq!(
            (
                &stored["concurrency_limit"],
                &stored["max_meeting_minutes"],
                &stored["count_teleconference_only"]
            ),
            (&serde_json::json!(3), &serde_json::json!(90), &serde_json::json!(true))
        );
        assert_eq!(stored["refuse_schedule_conflicts"], true, "{stored}");
        let refused = admin
            .submit(
                "/account",
                "/account/meeting-rules",
                &[("concurrency_limit", "three"), ("max_meeting_minutes", "90")],
            )
            .await;
        assert!(refused.body.contains("the concurrency limit must be a whole number"), "{}", refused.body);

        // A user's own concurrency limit, then back to the account's rule.
        let user_page = format!("/users/{maria}");
        admin
            .submit(
                &user_page,
                &user_page,
                &[("name", "Maria"), ("role", "member"), ("concurrency_limit", "2")],
            )
            .await;
        let (_, shown) = app.call(reqwest::Method::GET, &format!("/v1/users/{maria}"), &token, None).await;
        assert_eq!(shown["concurrency_limit"], 2, "{shown}");
        admin
            .submit(
                &user_page,
                &user_page,
                &[("name", "Maria"), ("role", "member"), ("concurrency_limit", "")],
            )
            .await;
        let (_, shown) = app.call(reqwest::Method::GET, &format!("/v1/users/{maria}"), &token, None).await;
        assert!(shown.get("concurrency_limit").is_none(), "{shown}");

        // Maria may schedule for Bo, then no longer.
        let bo_page = format!("/users/{bo}");
        let granted = admin
            .submit(
                &bo_page,
                &format!("{bo_page}/privileges"),
                &[("scheduler", maria.as_str()), ("host", bo.as_str())],
            )
            .await;
        assert!(granted.body.contains("may now schedule meetings for Bo"), "{}", granted.body);
        let path = format!("/v1/scheduling-privileges?user_id={bo}");
        let (_, privileges) = app.call(reqwest::Method::GET, &path, &token, None).await;
        assert_eq!(privileges["may_be_scheduled_by"], serde_json::json!([maria]));
        let revoked = admin
            .submit(
                &bo_page,
                &format!("{bo_page}/privileges/remove"),
                &[("scheduler", maria.as_str()), ("host", bo.as_str())],
            )
            .await;
        assert!(revoked.body.contains("no longer schedules meetings for Bo"), "{}", revoked.body);
        let again = admin
            .submit(
                &bo_page,
                &format!("{bo_page}/privileges/remove"),
                &[("scheduler", maria.as_str()), ("host", bo.as_str())],
            )
            .await;
        assert!(again.body.contains("already could not schedule meetings for Bo"), "{}", again.body);
        let (_, privileges) = app.call(reqwest::Method::GET, &path, &token, None).await;
        assert_eq!(privileges["may_be_scheduled_by"], serde_json::json!([]));
        app.finish().await;
    }
}
