//! A sandbox registrar with a state file keeps its changes across restarts, as a real
//! registrar does: the embedded `domwatch` demo relies on it between CLI runs.

mod support;

use domwatch_core::model::{ContactHandles, Dialect, RenewalMode};
use domwatch_core::ports::RegistrarPort;
use domwatch_rrp::{ClientConfig, Environment, RrpClient};
use domwatch_sandbox::portfolio::{Portfolio, RESELLER_HANDLE};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use std::path::Path;
use std::time::Duration;
use support::today;

const SEED: u64 = 7;
const DOMAINS: usize = 60;

fn config(dialect: Dialect, file: &Path) -> RegistrarSandboxConfig {
    let mut c = RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today());
    c.state_file = Some(file.to_path_buf());
    c
}

fn client(sb: &RegistrarSandbox) -> RrpClient {
    let mut c = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    c.endpoint = Some(sb.endpoint().parse().unwrap());
    c.total_timeout = Duration::from_secs(10);
    RrpClient::new(c).unwrap()
}

#[tokio::test]
async fn changes_survive_a_restart() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("registrar.json");
        let name = Portfolio::new(SEED, DOMAINS, today())
            .domains_of(dialect)
            .next()
            .unwrap()
            .name;

        let first = RegistrarSandbox::start(config(dialect, &file))
            .await
            .unwrap();
        let c = client(&first);
        c.set_renewal_mode(&name, &RenewalMode::AutoDelete)
            .await
            .unwrap();
        c.modify_contacts(
            &name,
            &ContactHandles {
                admin: Some(RESELLER_HANDLE.into()),
                owner: Some(RESELLER_HANDLE.into()),
                ..ContactHandles::default()
            },
        )
        .await
        .unwrap();
        drop(first);
        assert!(file.exists(), "{dialect}: the change was saved");

        let second = RegistrarSandbox::start(config(dialect, &file))
            .await
            .unwrap();
        let now = client(&second).status_domain(&name).await.unwrap();
        assert_eq!(now.renewal_mode, Some(RenewalMode::AutoDelete), "{dialect}");
        assert_eq!(
            now.contacts.owner.as_deref(),
            Some(RESELLER_HANDLE),
            "{dialect}"
        );

        // Without the file the portfolio is fresh again.
        let fresh =
            RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today()))
                .await
                .unwrap();
        let original = client(&fresh).status_domain(&name).await.unwrap();
        assert_ne!(
            original.renewal_mode,
            Some(RenewalMode::AutoDelete),
            "{dialect}"
        );
    }
}

#[tokio::test]
async fn a_foreign_or_broken_state_file_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registrar.json");
    let sb = RegistrarSandbox::start(config(Dialect::Cnr, &file))
        .await
        .unwrap();
    let name = Portfolio::new(SEED, DOMAINS, today())
        .domains_of(Dialect::Cnr)
        .next()
        .unwrap()
        .name;
    client(&sb)
        .set_renewal_mode(&name, &RenewalMode::AutoExpire)
        .await
        .unwrap();
    drop(sb);

    let mut other_seed = config(Dialect::Cnr, &file);
    other_seed.seed = SEED + 1;
    let e = RegistrarSandbox::start(other_seed)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("delete the file"), "{e}");
    assert!(e.contains("seed 7"), "{e}");

    std::fs::write(&file, b"{ not json").unwrap();
    let e = RegistrarSandbox::start(config(Dialect::Cnr, &file))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("registrar.json") && e.contains("delete the file"),
        "{e}"
    );
}
