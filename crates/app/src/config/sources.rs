//! Value sources besides the file: environment variables (`DOMWATCH_…`) and secret files
//! (`*_FILE`). Precedence for a secret: env `<KEY>_FILE`, env `<KEY>`, the systemd
//! credential `$CREDENTIALS_DIRECTORY/<key>` (the env name in lower case, e.g.
//! `domwatch_whmcs_secret`), file `<key>_file`, file `<key>`; for a plain value: env
//! `<KEY>`, then the file.
//!
//! The credential is what `LoadCredential=domwatch:/etc/domwatch/credentials` in the
//! systemd unit makes of the file `/etc/domwatch/credentials/whmcs_secret`: systemd names
//! each file of a loaded directory `<id>_<file name>`.

use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value; never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn from_plain(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "<empty>" } else { "***" })
    }
}

/// Where values come from besides the file: the process environment in production, a map
/// in tests.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

pub(super) fn env_key(parts: &[&str]) -> String {
    let mut key = String::from("DOMWATCH");
    for p in parts {
        key.push('_');
        key.extend(p.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
    }
    key
}

fn read_secret_file(path: &Path, key: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "`{key}` points to {} which cannot be read: check the path and its permissions",
            path.display()
        )
    })?;
    let value = text.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        bail!(
            "`{key}` points to {} which is empty: put the secret in it",
            path.display()
        );
    }
    Ok(value)
}

/// Resolves a secret from (in order) env `<KEY>_FILE`, env `<KEY>`, file `<key>_file`, file `<key>`.
pub(super) fn secret(
    env: &dyn Env,
    env_parts: &[&str],
    key: &str,
    inline: Option<&String>,
    file: Option<&PathBuf>,
) -> anyhow::Result<Option<Secret>> {
    let var = env_key(env_parts);
    if let Some(path) = env.var(&format!("{var}_FILE")) {
        return read_secret_file(Path::new(&path), &format!("{var}_FILE")).map(|s| Some(Secret(s)));
    }
    if let Some(v) = env.var(&var) {
        return Ok(Some(Secret(v)));
    }
    if let Some(path) = credential(env, &var) {
        return read_secret_file(&path, &format!("the systemd credential {var}"))
            .map(|s| Some(Secret(s)));
    }
    if let Some(path) = file {
        return read_secret_file(path, &format!("{key}_file")).map(|s| Some(Secret(s)));
    }
    Ok(inline.filter(|s| !s.is_empty()).map(|s| Secret(s.clone())))
}

/// `$CREDENTIALS_DIRECTORY/<var in lower case>`, when systemd passed that credential.
fn credential(env: &dyn Env, var: &str) -> Option<PathBuf> {
    let dir = env.var("CREDENTIALS_DIRECTORY")?;
    let path = Path::new(&dir).join(var.to_ascii_lowercase());
    path.is_file().then_some(path)
}

pub(super) fn plain(env: &dyn Env, env_parts: &[&str], inline: Option<&String>) -> Option<String> {
    env.var(&env_key(env_parts)).or_else(|| inline.cloned())
}

/// `registrars.<name>.<k>`, as error messages name a key.
pub(super) fn registrar_key(name: &str, k: &str) -> String {
    format!("registrars.{name}.{k}")
}
