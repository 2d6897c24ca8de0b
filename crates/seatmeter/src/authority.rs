//! `seatmeter authority …`: the vendor's license authority.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use seatmeter_server::authority::{Authority, Entitlement, Pak, parse_license_spec};
use seatmeter_server::clock::rfc3339_ms;
use seatmeter_server::license_file::{key_id, public_key_text};

/// Where the authority keeps its key pair and database.
#[derive(clap::Args, Debug)]
pub struct Dir {
    /// The authority's directory: authority.key (private), authority.pub, authority.db.
    #[arg(long, value_name = "DIR", env = "SEATMETER_AUTHORITY_DIR", default_value = "seatmeter-authority")]
    dir: PathBuf,
}

/// `seatmeter authority …`.
#[derive(clap::Subcommand, Debug)]
pub enum AuthorityCommand {
    /// Set up an authority: a new Ed25519 key pair (the private key readable
    /// by its owner only) and an empty database. Prints the public key to
    /// configure servers with (`authority_public_key`).
    Init(Dir),
    /// Print the public key that servers verify license files with.
    PublicKey(Dir),
    /// Product Authorization Keys.
    #[command(subcommand)]
    Pak(PakCommand),
    /// Write the license file of a PAK for an account, to install offline
    /// (binds the PAK to the account, like a registration).
    Issue(IssueArgs),
    /// Serve the registration and sync API (POST /v1/register, POST /v1/sync).
    Serve(ServeArgs),
}

/// `seatmeter authority pak …`.
#[derive(clap::Subcommand, Debug)]
pub enum PakCommand {
    /// Make a PAK for a customer; prints it.
    Create(CreatePakArgs),
    /// Replace a PAK's entitlement (more licenses, newer versions); its
    /// servers receive the new license file at their next sync.
    Update(UpdatePakArgs),
    /// List PAKs: entitlement, the account and servers that registered
    /// each, and when each last synchronised.
    List(ListArgs),
}

/// The entitlement given on the command line.
#[derive(clap::Args, Debug)]
pub struct EntitlementArgs {
    /// Licenses: kind=count (permanent) or kind=count@YYYY-MM-DD (temporary,
    /// expiring then, midnight UTC). Kinds: scheduled_meetings,
    /// live_engagement, host. Repeat for each kind.
    #[arg(long = "license", value_name = "KIND=COUNT[@EXPIRY]", required = true, value_parser = parse_license_spec)]
    licenses: Vec<seatmeter_server::license_file::LicenseLine>,
    /// Product major versions covered, comma-separated [default: this version's].
    #[arg(long, value_name = "MAJOR,…", value_delimiter = ',')]
    versions: Vec<u64>,
}

impl EntitlementArgs {
    fn entitlement(self) -> Entitlement {
        let versions = if self.versions.is_empty() {
            vec![seatmeter_server::app::compliance::product_major()]
        } else {
            self.versions
        };
        Entitlement { licenses: self.licenses, product_major_versions: versions }
    }
}

/// Options of `seatmeter authority pak create`.
#[derive(clap::Args, Debug)]
pub struct CreatePakArgs {
    #[command(flatten)]
    dir: Dir,
    /// The customer it is for.
    #[arg(long)]
    customer: String,
    #[command(flatten)]
    entitlement: EntitlementArgs,
}

/// Options of `seatmeter authority pak update`.
#[derive(clap::Args, Debug)]
pub struct UpdatePakArgs {
    #[command(flatten)]
    dir: Dir,
    /// The PAK.
    pak: String,
    #[command(flatten)]
    entitlement: EntitlementArgs,
}

/// Options of `seatmeter authority pak list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    dir: Dir,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Options of `seatmeter authority issue`.
#[derive(clap::Args, Debug)]
pub struct IssueArgs {
    #[command(flatten)]
    dir: Dir,
    /// The PAK.
    #[arg(long)]
    pak: String,
    /// The account (acc_…) of the server it will be installed on.
    #[arg(long)]
    account: String,
    /// Write the file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Options of `seatmeter authority serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    dir: Dir,
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

/// Runs `seatmeter authority …`.
pub fn run(command: AuthorityCommand) -> Result<()> {
    crate::server::runtime()?.block_on(async move {
        let now = seatmeter_server::Clock::system().now();
        match command {
            AuthorityCommand::Init(Dir { dir }) => {
                let key = Authority::init(&dir).await?;
                println!("License authority set up in {}.", dir.display());
                println!(
                    "Its public key (configure each Seatmeter server with it, as authority_public_key):"
                );
                println!("  {}", public_key_text(&key));
                println!("Keep {} secret: it signs every license file.", dir.join("authority.key").display());
            }
            AuthorityCommand::PublicKey(Dir { dir }) => {
                let authority = Authority::open(&dir).await?;
                println!("{}", public_key_text(&authority.public_key()));
            }
            AuthorityCommand::Pak(PakCommand::Create(args)) => {
                let authority = Authority::open(&args.dir.dir).await?;
                let pak = authority.create_pak(&args.customer, &args.entitlement.entitlement(), now).await?;
                println!("{}", pak.code);
                eprintln!("PAK for {}: {}", pak.customer, describe(&pak.entitlement));
            }
            AuthorityCommand::Pak(PakCommand::Update(args)) => {
                let authority = Authority::open(&args.dir.dir).await?;
                let pak = authority.update_pak(&args.pak, &args.entitlement.entitlement(), now).await?;
                println!("{} (revision {}): {}", pak.code, pak.revision, describe(&pak.entitlement));
            }
            AuthorityCommand::Pak(PakCommand::List(args)) => {
                let authority = Authority::open(&args.dir.dir).await?;
                let paks = authority.paks().await?;
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&paks)?);
                } else {
                    print_paks(&paks);
                }
            }
            AuthorityCommand::Issue(args) => {
                let authority = Authority::open(&args.dir.dir).await?;
                let file = authority.issue(&args.pak, &args.account).await?;
                let text = serde_json::to_string_pretty(&file)? + "\n";
                match &args.output {
                    Some(path) => {
                        std::fs::write(path, text)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        eprintln!("License file for {} written to {}.", args.account, path.display());
                    }
                    None => print!("{text}"),
                }
            }
            AuthorityCommand::Serve(args) => {
                crate::server::init_logging();
                let authority = Authority::open(&args.dir.dir).await?;
                let key = authority.public_key();
                let listener = tokio::net::TcpListener::bind(args.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", args.listen))?;
                eprintln!(
                    "License authority (key {}) is listening on http://{}",
                    key_id(&key),
                    listener.local_addr()?
                );
                authority
                    .serve(listener, crate::server::shutdown_signal())
                    .await
                    .context("the authority stopped with an error")?;
            }
        }
        Ok(())
    })
}

/// "host 50, scheduled_meetings 10 until 2027-06-30T00:00:00Z; versions 0".
fn describe(entitlement: &Entitlement) -> String {
    let licenses: Vec<String> = entitlement
        .licenses
        .iter()
        .map(|l| match &l.expires {
            Some(e) => format!("{} {} until {e}", l.kind, l.count),
            None => format!("{} {}", l.kind, l.count),
        })
        .collect();
    let versions: Vec<String> = entitlement.product_major_versions.iter().map(u64::to_string).collect();
    format!("{}; versions {}", licenses.join(", "), versions.join(","))
}

fn print_paks(paks: &[Pak]) {
    if paks.is_empty() {
        println!("No PAKs yet: seatmeter authority pak create --customer NAME --license host=50");
        return;
    }
    for pak in paks {
        println!(
            "{}  {}  (revision {}, created {})",
            pak.code,
            pak.customer,
            pak.revision,
            rfc3339_ms(pak.created_ms)
        );
        println!("  entitles: {}", describe(&pak.entitlement));
        match &pak.account_id {
            None => println!("  not registered yet"),
            Some(account) => println!("  account {account}"),
        }
        for r in &pak.registrations {
            println!(
                "  server {}  registered {}  last sync {}",
                r.server_id,
                rfc3339_ms(r.registered_ms),
                rfc3339_ms(r.last_sync_ms)
            );
        }
    }
}
