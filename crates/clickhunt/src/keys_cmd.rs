//! `clickhunt keys`: API keys for `clickhunt serve` (stored hashed in
//! `<data>/keys.json`, mode 0600; a running server picks changes up by itself).

use anyhow::{bail, Context, Result};
use server::auth::{keys_path, KeyFile, Role};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Args)]
struct KeyFileArgs {
    /// The data directory whose `keys.json` to use.
    #[arg(long, env = "CLICKHUNT_DATA")]
    data: Option<PathBuf>,
    /// The key file itself (instead of --data).
    #[arg(long)]
    keys: Option<PathBuf>,
}

impl KeyFileArgs {
    fn path(&self) -> Result<PathBuf> {
        match (&self.keys, &self.data) {
            (Some(k), _) => Ok(k.clone()),
            (None, Some(d)) => Ok(keys_path(d)),
            (None, None) => {
                bail!("give the data directory with --data DIR (or the key file with --keys FILE)")
            }
        }
    }
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Create a key and print it. It is shown only this once.
    Create {
        /// reader (queries), ingestor (ingest), admin (everything).
        #[arg(long, value_parser = ["reader", "ingestor", "admin"])]
        role: String,
        /// A note to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        file: KeyFileArgs,
    },
    /// List the keys (ids, roles, names; never the secrets).
    List {
        #[command(flatten)]
        file: KeyFileArgs,
    },
    /// Delete a key by id.
    Revoke {
        id: String,
        #[command(flatten)]
        file: KeyFileArgs,
    },
}

pub fn run(args: KeysArgs) -> Result<()> {
    match args.command {
        KeysCommand::Create { role, name, file } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let path = file.path()?;
            let mut keys =
                KeyFile::load(&path).with_context(|| format!("reading {}", path.display()))?;
            let (entry, secret) = keys.create(role, name)?;
            keys.save(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("{secret}");
            eprintln!(
                "created key {} ({}) in {}; it is shown only this once. Send it as 'Authorization: Bearer <key>'.",
                entry.id,
                role.name(),
                path.display()
            );
        }
        KeysCommand::List { file } => {
            let path = file.path()?;
            let keys =
                KeyFile::load(&path).with_context(|| format!("reading {}", path.display()))?;
            if keys.keys.is_empty() {
                eprintln!("no keys in {}", path.display());
            }
            for k in &keys.keys {
                println!(
                    "{}  {:<8}  {}  {}",
                    k.id,
                    k.role.name(),
                    k.created,
                    k.name.as_deref().unwrap_or("")
                );
            }
        }
        KeysCommand::Revoke { id, file } => {
            let path = file.path()?;
            let mut keys =
                KeyFile::load(&path).with_context(|| format!("reading {}", path.display()))?;
            if !keys.revoke(&id) {
                bail!("no key with id '{id}' in {}", path.display());
            }
            keys.save(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("revoked key {id}");
        }
    }
    Ok(())
}
