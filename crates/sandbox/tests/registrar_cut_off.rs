//! Cut-off registrar answers never pass for short lists: with the sandbox's `truncated`
//! fault (body stops before `EOF`) or its `short_page` fault (rows missing, `COUNT` /
//! `TOTAL` / `EOF` intact) switched on over HTTP, every list domwatch reads from a CNR or
//! ISPAPI account fails with an error that says the answer was cut off; a cut-off answer
//! to a write is not sent again.

mod support;

use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::ports::{RegistrarError, RegistrarPort};
use domwatch_rrp::{ClientConfig, ClientError, Environment, RrpClient};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use std::time::Duration;
use support::{event, today};

async fn sandbox(dialect: Dialect) -> RegistrarSandbox {
    let config = RegistrarSandboxConfig::new(dialect, 42, 400, today());
    RegistrarSandbox::start(config).await.unwrap()
}

fn client_for(sb: &RegistrarSandbox) -> RrpClient {
    let mut config = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    config.endpoint = Some(sb.endpoint().parse().unwrap());
    config.max_retries = 2;
    config.retry_base_delay = Duration::from_millis(1);
    config.total_timeout = Duration::from_secs(20);
    config.list.page_size = 25;
    RrpClient::new(config).unwrap()
}

async fn requests_of(sb: &RegistrarSandbox, command: &str) -> u64 {
    let state: serde_json::Value = reqwest::get(format!("{}/_sandbox/state", sb.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["api_requests_by_command"][command]
        .as_u64()
        .unwrap_or(0)
}

/// Row counts of every list the engine reads, or the error of each.
async fn read_every_list(client: &RrpClient) -> Vec<(&'static str, Result<usize, RegistrarError>)> {
    vec![
        ("list_domains", client.list_domains().await.map(|l| l.len())),
        (
            "transfer_list",
            client
                .transfer_list()
                .await
                .map(|l| l.map_or(0, |l| l.len())),
        ),
        (
            "list_contacts",
            client.list_contacts().await.map(|l| l.len()),
        ),
        (
            "exchange_rates",
            // A rate table has no length: 1 when it holds rates.
            client
                .exchange_rates()
                .await
                .map(|t| usize::from(!t.is_empty())),
        ),
    ]
}

#[tokio::test]
async fn truncated_answers_fail_every_list_with_a_clear_error() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect).await;
        let client = client_for(&sb);
        let clean = read_every_list(&client).await;
        for (list, rows) in &clean {
            assert!(rows.is_ok(), "{dialect} {list} without faults: {rows:?}");
        }
        event(&sb, r#"{"event":"set_faults","rate_truncated":1.0}"#).await;
        for (list, result) in read_every_list(&client).await {
            let error = result.expect_err(&format!("{dialect} {list} must fail"));
            let message = error.to_string();
            assert!(
                message.contains("was cut off") && message.contains("no EOF line"),
                "{dialect} {list}: {message}"
            );
            assert!(message.contains(sb.login()), "names the account: {message}");
            assert!(error.is_retryable(), "{dialect} {list}: {error:?}");
        }
        // Reads were retried (first attempt + 2 retries) before giving up.
        let status_before = requests_of(&sb, "STATUSACCOUNT").await;
        let error = client.status_account().await.unwrap_err();
        assert!(
            matches!(error, ClientError::Truncated { attempts: 3, .. }),
            "{error:?}"
        );
        assert_eq!(requests_of(&sb, "STATUSACCOUNT").await, status_before + 3);
    }
}

#[tokio::test]
async fn short_pages_fail_every_list_that_has_rows() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect).await;
        let client = client_for(&sb);
        let clean = read_every_list(&client).await;
        event(&sb, r#"{"event":"set_faults","rate_short_page":1.0}"#).await;
        let faulty = read_every_list(&client).await;
        for ((list, clean), (_, faulty)) in clean.iter().zip(faulty) {
            let rows = *clean.as_ref().unwrap();
            match faulty {
                // A list with no rows has nothing to lose: empty is its complete answer.
                Ok(0) if rows == 0 => {}
                Ok(got) => {
                    panic!("{dialect} {list}: {got} rows instead of an error ({rows} in full)")
                }
                Err(error) => {
                    let message = error.to_string();
                    assert!(
                        message.contains("answered")
                            && message.contains(" of ")
                            && message.contains("the answer was cut off; nothing was changed"),
                        "{dialect} {list}: {message}"
                    );
                }
            }
        }
        assert!(
            matches!(clean[0], ("list_domains", Ok(rows)) if rows > 25),
            "{dialect}: the domain list spans several pages of 25: {clean:?}"
        );
    }
}

#[tokio::test]
async fn occasional_cut_offs_give_the_whole_list_or_an_error_never_a_short_list() {
    let sb = sandbox(Dialect::Cnr).await;
    let client = client_for(&sb);
    let full = client.list_domains().await.unwrap().len();
    event(
        &sb,
        r#"{"event":"set_faults","rate_short_page":0.15,"rate_truncated":0.15}"#,
    )
    .await;
    let (mut whole, mut failed) = (0, 0);
    for _ in 0..6 {
        match client.list_domains().await {
            Ok(list) => {
                assert_eq!(list.len(), full, "a list that is returned is whole");
                whole += 1;
            }
            Err(error) => {
                assert!(error.to_string().contains("cut off"), "{error}");
                failed += 1;
            }
        }
    }
    assert_eq!(whole + failed, 6);
    assert!(whole > 0, "retries get through occasional cut-offs");
}

#[tokio::test]
async fn a_cut_off_answer_to_a_write_is_not_sent_again() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect).await;
        let client = client_for(&sb);
        let domain = client.list_domains().await.unwrap()[0].name.clone();
        event(
            &sb,
            r#"{"event":"inject_fault","fault":"truncated","count":1}"#,
        )
        .await;
        let error = client
            .set_renewal_mode(&domain, &RenewalMode::AutoExpire)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Truncated {
                    attempts: 1,
                    write: true,
                    ..
                }
            ),
            "{dialect}: {error:?}"
        );
        assert!(
            error.to_string().contains("may have been carried out"),
            "{error}"
        );
        assert_eq!(requests_of(&sb, "SETDOMAINRENEWALMODE").await, 1);
        // The registrar did carry it out: that is why it is not repeated blindly.
        let status = client.status_domain(&domain).await.unwrap();
        assert_eq!(status.renewal_mode, Some(RenewalMode::AutoExpire));
    }
}
