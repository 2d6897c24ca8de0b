//! A browser-like client for the console's tests, and helpers to sign in.

use crate::support::TestApp;

/// A browser-like client: keeps cookies by hand, does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    cookies: std::collections::BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { client, base: app.base.clone(), cookies: Default::default() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                assert!(text.contains("HttpOnly") && text.contains("SameSite=Lax"), "{text}");
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        Page { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form))
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }
}

/// `application/x-www-form-urlencoded`, as a browser sends a form.
pub fn encode(form: &[(&str, &str)]) -> String {
    let part = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter().map(|(k, v)| format!("{}={}", part(k), part(v))).collect::<Vec<_>>().join("&")
}

/// The value of the hidden field `name` in a page.
pub fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no field {name} in {body}")) + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A browser signed in as `email` (a user of `created`'s account), their
/// password set from a fresh one-time link.
pub async fn signed_in(app: &TestApp, account_id: &str, email: &str, now: i64) -> Browser {
    let address = seatmeter_core::people::Email::parse(email).unwrap();
    let link = seatmeter_server::app::password_links::create(&app.db, account_id, &address, None, now)
        .await
        .unwrap()
        .unwrap();
    let mut browser = Browser::new(app);
    let page = browser.get(&format!("/set-password?token={link}")).await;
    let (csrf, token) = (field(&page.body, "csrf"), field(&page.body, "token"));
    let set = browser
        .post(
            "/set-password",
            &[("csrf", &csrf), ("token", &token), ("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let page = browser.get("/sign-in").await;
    let signed = browser
        .post("/sign-in", &[("csrf", &field(&page.body, "csrf")), ("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(signed.location.as_deref(), Some("/"), "{}", signed.body);
    browser
}

impl Browser {
    /// Posts a form of the page at `path` (with its CSRF token) and follows
    /// the redirect: the page it lands on, with what the form did.
    pub async fn submit(&mut self, path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let csrf = field(&page.body, "csrf");
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        let posted = self.post(action, &fields).await;
        assert_eq!(posted.status, 303, "{action}: {}", posted.body);
        let landed = self.get(posted.location.as_deref().unwrap()).await;
        assert_eq!(landed.status, 200, "{}", landed.body);
        landed
    }
}

impl Browser {
    /// Uploads `text` as the file field `name` of a multipart form, with the
    /// page's CSRF token, as a browser sends a file input.
    pub async fn upload(&mut self, action: &str, csrf: &str, name: &str, text: &str) -> Page {
        let boundary = "----seatmeter-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"license.json\"\r\n\
             Content-Type: application/json\r\n\r\n{text}\r\n--{boundary}--\r\n"
        );
        let response = self
            .client
            .post(format!("{}{action}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }
}

/// Adds a user by the API; returns their id.
pub async fn add(app: &TestApp, token: &str, body: serde_json::Value) -> String {
    let (status, user) = app.call(reqwest::Method::POST, "/v1/users", token, Some(body)).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

/// The security form's fields: the default policies, with `changes`.
pub fn policy_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("password_min_length", "12"),
        ("password_max_age_days", ""),
        ("session_idle_minutes", "30"),
        ("session_max_hours", "12"),
        ("lockout_threshold", "10"),
        ("lockout_minutes", "15"),
    ];
    for (name, value) in changes {
        form.iter_mut().filter(|f| f.0 == *name).for_each(|f| f.1 = value);
    }
    form
}

/// Makes a one-time password link for user `id` in the console of
/// `browser` (an administrator of users & licenses); its path.
pub async fn link_for(browser: &mut Browser, id: &str) -> String {
    let path = format!("/users/{id}");
    let page = browser.get(&path).await;
    let made = browser.post(&format!("{path}/password-link"), &[("csrf", &field(&page.body, "csrf"))]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let start = made.body.find("/set-password?token=").unwrap();
    made.body[start..].split(['"', '<']).next().unwrap().to_string()
}

/// Sets a password from the link at `path`; the status of the answer.
pub async fn use_link(app: &TestApp, path: &str, password: &str) -> u16 {
    let mut browser = Browser::new(app);
    let page = browser.get(path).await;
    if page.status != 200 {
        return page.status;
    }
    let (csrf, token) = (field(&page.body, "csrf"), field(&page.body, "token"));
    let form = [("csrf", csrf.as_str()), ("token", &token), ("password", password), ("confirm", password)];
    browser.post("/set-password", &form).await.status
}

/// One attempt to sign in as `email`, from a fresh browser.
pub async fn sign_in_once(app: &TestApp, email: &str, password: &str) -> Page {
    let mut browser = Browser::new(app);
    let page = browser.get("/sign-in").await;
    let csrf = field(&page.body, "csrf");
    browser.post("/sign-in", &[("csrf", &csrf), ("email", email), ("password", password)]).await
}
