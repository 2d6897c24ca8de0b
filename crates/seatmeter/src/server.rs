//! The server's commands: `serve`, `account create` and `config example`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use seatmeter_core::people::Email;
use seatmeter_server::{Db, Settings, store};

/// Where the settings and the data are (shared by the server's commands).
#[derive(clap::Args, Debug)]
pub struct Place {
    /// A TOML settings file (see `seatmeter config example`).
    #[arg(long, value_name = "FILE", env = "SEATMETER_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: seatmeter-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite: postgres://user@host:5432/db.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

impl Place {
    /// Defaults, then the file, then `SEATMETER_*` variables, then these flags.
    pub(crate) fn settings(&self) -> Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        Ok(settings)
    }
}

/// Options of `seatmeter serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    place: Place,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

/// `seatmeter account …`.
#[derive(clap::Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account and its first administrator; prints the
    /// administrator's API token and a one-time link to set a console
    /// password, once.
    Create(CreateAccountArgs),
    /// Print a new one-time link (valid 7 days) for a user to set a console password.
    PasswordLink(PasswordLinkArgs),
}

/// Options of `seatmeter account password-link`.
#[derive(clap::Args, Debug)]
pub struct PasswordLinkArgs {
    #[command(flatten)]
    place: Place,
    /// The account's id (acc_…).
    #[arg(long)]
    account: String,
    /// The user's e-mail address.
    #[arg(long, value_name = "EMAIL")]
    email: String,
}

/// Options of `seatmeter account create`.
#[derive(clap::Args, Debug)]
pub struct CreateAccountArgs {
    #[command(flatten)]
    place: Place,
    /// The account's name (the customer organisation).
    #[arg(long)]
    name: String,
    /// E-mail address of the first administrator.
    #[arg(long, value_name = "EMAIL")]
    admin_email: String,
    /// Name of the first administrator.
    #[arg(long, value_name = "NAME", default_value = "Administrator")]
    admin_name: String,
}

/// `seatmeter licenses …`.
#[derive(clap::Subcommand, Debug)]
pub enum LicensesCommand {
    /// Install licenses: register a PAK with the license authority
    /// (--pak), or install a license file received from the vendor (--file).
    /// The server's settings must name the authority's public key (and, for
    /// a PAK, its address).
    Install(InstallLicensesArgs),
    /// Development mode only: set a pool size directly, without a license
    /// file. Pool sizes come from installed license files; an account that
    /// has any ignores what is set here.
    Set(SetLicensesArgs),
}

/// Options of `seatmeter licenses install`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["pak", "file"])))]
pub struct InstallLicensesArgs {
    #[command(flatten)]
    place: Place,
    /// The account's id (acc_…).
    #[arg(long)]
    account: String,
    /// A Product Authorization Key to register with the license authority.
    #[arg(long)]
    pak: Option<String>,
    /// A license file to install (offline installation).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Options of `seatmeter licenses set`.
#[derive(clap::Args, Debug)]
pub struct SetLicensesArgs {
    #[command(flatten)]
    place: Place,
    /// Confirms this is a development or test installation.
    #[arg(long, required = true)]
    development: bool,
    /// The account's id (acc_…), as printed by `seatmeter account create`.
    #[arg(long)]
    account: String,
    /// scheduled_meetings, live_engagement or host.
    #[arg(long)]
    kind: String,
    /// Licenses installed.
    #[arg(long)]
    installed: i64,
}

/// Runs `seatmeter licenses …`.
pub fn licenses(command: LicensesCommand) -> Result<()> {
    let args = match command {
        LicensesCommand::Set(args) => args,
        LicensesCommand::Install(args) => return install_licenses(args),
    };
    let _ = args.development;
    let Some(kind) = seatmeter_core::people::LicenseKind::parse(&args.kind) else {
        bail!(
            "--kind {:?} is not a license kind: use scheduled_meetings, live_engagement or host",
            args.kind
        );
    };
    let settings = args.place.settings()?;
    runtime()?.block_on(async move {
        let db = Db::open(&settings.database()).await?;
        if store::accounts::get(&db, &args.account).await?.is_none() {
            bail!("no account {:?} in {}", args.account, settings.database());
        }
        let now = jiff::Timestamp::now().as_millisecond();
        seatmeter_server::app::licenses::set_installed(&db, &args.account, kind, args.installed, now).await?;
        for pool in seatmeter_server::app::licenses::account_pools(&db, &args.account).await? {
            println!(
                "{:<20} installed {:>6}  assigned {:>6}  free {:>6}",
                pool.kind.as_str(),
                pool.installed,
                pool.assigned,
                pool.free
            );
        }
        Ok(())
    })
}

fn install_licenses(args: InstallLicensesArgs) -> Result<()> {
    let settings = args.place.settings()?;
    let licensing =
        seatmeter_server::app::compliance::Licensing::from_settings(&settings).map_err(anyhow::Error::msg)?;
    let text = match &args.file {
        Some(path) => {
            Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    runtime()?.block_on(async move {
        let db = Db::open(&settings.database()).await?;
        if store::accounts::get(&db, &args.account).await?.is_none() {
            bail!("no account {:?} in {}", args.account, settings.database());
        }
        let state = seatmeter_server::Services::new(db, licensing, seatmeter_server::Clock::system());
        let installed = match (&text, &args.pak) {
            (Some(text), _) => {
                seatmeter_server::app::compliance::install(
                    &state,
                    &args.account,
                    None,
                    text,
                    seatmeter_server::app::compliance::Via::File,
                    state.clock.now(),
                )
                .await
            }
            (None, Some(pak)) => {
                seatmeter_server::app::compliance::register(
                    &state,
                    &args.account,
                    None,
                    pak,
                    state.clock.now(),
                )
                .await
            }
            (None, None) => bail!("give --pak or --file"),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "License file {} (PAK {}): {}",
            installed.license_id,
            installed.pak,
            installed.outcome.as_str()
        );
        for pool in &installed.pools {
            println!(
                "{:<20} installed {:>6}  assigned {:>6}  free {:>6}",
                pool.kind.as_str(),
                pool.installed,
                pool.assigned,
                pool.free
            );
        }
        if let Some(reason) = &installed.disabled_reason {
            println!("The account is still disabled: {reason}");
        }
        Ok(())
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEATMETER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs `seatmeter serve`.
pub fn serve(args: ServeArgs) -> Result<()> {
    init_logging();
    let mut settings = args.place.settings()?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    // Licensing and e-mail settings are checked before anything starts.
    if let Err(problem) = seatmeter_server::app::compliance::Licensing::from_settings(&settings) {
        bail!("invalid settings: {problem}");
    }
    runtime()?.block_on(async move {
        let location = settings.database();
        let db = Db::open(&location).await?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {} (in use? try --listen 127.0.0.1:8081)", settings.listen))?;
        let address = listener.local_addr()?;
        eprintln!("Seatmeter is listening on http://{address} (database: {location}); API browser at http://{address}/docs");
        if store::accounts::count(&db).await? == 0 {
            eprintln!(
                "There is no account yet. Create the first one (it prints the administrator's API token, once):\n  \
                 seatmeter account create --name \"Example Corp\" --admin-email admin@example.com{}",
                place_flags(&args.place)
            );
        }
        if settings.authority_public_key.is_none() {
            eprintln!(
                "Note: no authority_public_key is set, so license files cannot be installed \
                 (see `seatmeter config example` and docs/licensing.md)."
            );
        }
        seatmeter_server::serve(listener, db, &settings, shutdown_signal())
            .await
            .context("the server stopped with an error")?;
        eprintln!("Seatmeter stopped.");
        Ok(())
    })
}

/// The flags that point another command at the same data.
fn place_flags(place: &Place) -> String {
    let mut flags = String::new();
    if let Some(config) = &place.config {
        flags.push_str(&format!(" --config {}", config.display()));
    }
    if let Some(dir) = &place.data_dir {
        flags.push_str(&format!(" --data-dir {}", dir.display()));
    }
    if place.database_url.is_some() {
        flags.push_str(" --database-url …");
    }
    flags
}

/// Resolves on Ctrl-C or SIGTERM: in-flight requests finish, then the server stops.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Runs `seatmeter account …`.
pub fn account(command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Create(args) => create_account(args),
        AccountCommand::PasswordLink(args) => password_link(args),
    }
}

fn password_link(args: PasswordLinkArgs) -> Result<()> {
    let email = match Email::parse(&args.email) {
        Ok(email) => email,
        Err(e) => bail!("--email {:?} {e}", args.email),
    };
    let settings = args.place.settings()?;
    runtime()?.block_on(async move {
        let db = Db::open(&settings.database()).await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let Some(token) =
            seatmeter_server::app::password_links::create(&db, &args.account, &email, None, now).await?
        else {
            bail!("no enabled user {email} in account {:?}", args.account);
        };
        println!("http://{}/set-password?token={token}", settings.listen);
        eprintln!("One-time link for {email}, valid 7 days.");
        Ok(())
    })
}

fn create_account(args: CreateAccountArgs) -> Result<()> {
    let email = match Email::parse(&args.admin_email) {
        Ok(email) => email,
        Err(e) => bail!("--admin-email {:?} {e}", args.admin_email),
    };
    let settings = args.place.settings()?;
    runtime()?.block_on(async move {
        let db = Db::open(&settings.database()).await?;
        let now = jiff::Timestamp::now().as_millisecond();
        let created =
            seatmeter_server::app::accounts::create(&db, &args.name, &email, &args.admin_name, now).await?;
        println!("Account created: {} ({})", created.account.name, created.account.id);
        println!("Administrator:   {} ({})", created.admin.email, created.admin.id);
        println!();
        println!("API token (shown only this once; store it safely):");
        println!("  {}", created.token);
        println!();
        println!("Console: set the administrator's password (one-time link, valid 7 days):");
        println!("  http://{}/set-password?token={}", settings.listen, created.password_link);
        println!();
        println!(
            "Try it: curl -H 'Authorization: Bearer {}' http://{}/v1/account",
            created.token, settings.listen
        );
        Ok(())
    })
}

/// Runs `seatmeter config example`.
pub fn config_example() -> Result<()> {
    print!("{}", seatmeter_server::settings::EXAMPLE);
    Ok(())
}
