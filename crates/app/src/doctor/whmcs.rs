//! The WHMCS lines of `doctor`: the API probe (`domwatch_whmcs::probe`) and the database
//! probe (`WhmcsDb::probe`) turned into checks with their fixes.

use super::report::Check;
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::probe::{probe_access, AccessReport, Gate, Verdict, Version, ACTION_PROBES};
use domwatch_whmcs::WhmcsClient;

const SYSTEM: &str = "whmcs";
const ROLES: &str = "Setup > Staff Management > Manage API Credentials > API Roles";
const IP_SETTING: &str = "Setup > General Settings > Security > API IP Access Restriction";

/// Probes the API and says what it found, one check per question.
pub async fn api_checks(client: &WhmcsClient) -> Vec<Check> {
    let endpoint = client.config().endpoint().to_string();
    let report = probe_access(client).await;
    let mut checks = gate_checks(&endpoint, &report.gate);
    if report.gate == Gate::Open {
        checks.push(role_check(&report));
        checks.extend(version_checks(&report));
    }
    checks
}

fn gate_checks(endpoint: &str, gate: &Gate) -> Vec<Check> {
    let answers = match gate {
        Gate::NotWhmcs(why) => {
            return vec![Check::fail(
                SYSTEM,
                "url",
                format!("{endpoint} does not answer as WHMCS: {why}"),
                "set whmcs.url to the WHMCS root (its includes/api.php must answer), and check \
                 that WHMCS runs and this host reaches it"
                    .into(),
            )];
        }
        _ => Check::ok(SYSTEM, "url", format!("{endpoint} answers as WHMCS")),
    };
    let ip = match gate {
        Gate::IpRefused { ip, message } => {
            let seen = ip.as_deref().unwrap_or("this host's address");
            return vec![
                answers,
                Check::fail(
                    SYSTEM,
                    "ip_allowed",
                    format!("WHMCS refused this host's IP: {message}"),
                    format!(
                        "add {seen} under {IP_SETTING}, or set whmcs.access_key to the \
                         $api_access_key of configuration.php"
                    ),
                ),
                Check::skip(
                    SYSTEM,
                    "login",
                    "not checked: the IP was refused first".into(),
                ),
            ];
        }
        _ => Check::ok(SYSTEM, "ip_allowed", "this host's IP is allowed".into()),
    };
    let login = match gate {
        Gate::LoginRefused(message) => Check::fail(
            SYSTEM,
            "login",
            format!("WHMCS refused the credentials: {message}"),
            "check whmcs.identifier and the secret (DOMWATCH_WHMCS_SECRET, whmcs.secret_file) \
             against Setup > Staff Management > Manage API Credentials"
                .into(),
        ),
        _ => Check::ok(SYSTEM, "login", "the API credentials are accepted".into()),
    };
    vec![answers, ip, login]
}

/// Which actions the API role lacks, and the exact list to tick.
fn role_check(report: &AccessReport) -> Check {
    let refused = report.not_allowed();
    let unclear: Vec<String> = report
        .actions
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Unknown(why) => Some(format!("{}: {why}", c.probe.action)),
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        let needed: Vec<String> = report
            .actions
            .iter()
            .filter(|c| c.verdict == Verdict::NotAllowed)
            .map(|c| format!("{} ({})", c.probe.action, c.probe.needed_for))
            .collect();
        return Check::fail(
            SYSTEM,
            "api_role",
            format!(
                "the API role does not allow {} action(s) domwatch needs: {}",
                refused.len(),
                needed.join(", ")
            ),
            format!("tick exactly these under {ROLES}: {}", refused.join(", ")),
        );
    }
    if !unclear.is_empty() {
        return Check::fail(
            SYSTEM,
            "api_role",
            format!("could not probe: {}", unclear.join("; ")),
            "run doctor again; if it persists, check the WHMCS error log".into(),
        );
    }
    let allowed = report
        .actions
        .iter()
        .filter(|c| c.verdict == Verdict::Allowed)
        .count();
    Check::ok(
        SYSTEM,
        "api_role",
        format!(
            "the API role allows the {allowed} actions domwatch calls (probed without writing)"
        ),
    )
}

fn version_checks(report: &AccessReport) -> Vec<Check> {
    let mut checks = vec![match &report.version {
        Version::Known { version, via } => {
            Check::ok(SYSTEM, "version", format!("WHMCS {version} (from {via})"))
        }
        Version::Unknown(why) => Check::warn(
            SYSTEM,
            "version",
            format!("the WHMCS version is not known: {why}"),
            format!("tick WhmcsDetails (8.0+) or GetConfigurationValue under {ROLES}"),
        ),
    }];
    let missing = report.missing();
    if !missing.is_empty() {
        checks.push(Check::fail(
            SYSTEM,
            "actions_present",
            format!("this WHMCS version lacks: {}", missing.join(", ")),
            "upgrade WHMCS to a version that has these API actions".into(),
        ));
    } else {
        checks.push(Check::ok(
            SYSTEM,
            "actions_present",
            format!("all {} actions exist in this version", ACTION_PROBES.len()),
        ));
    }
    checks
}

/// Which path the billing snapshot and the domain invoices take (`whmcs.read_from`).
pub fn read_path_check(read_from: crate::config::ReadFrom) -> Check {
    let how = match read_from {
        crate::config::ReadFrom::Database => {
            "billing snapshot and domain invoices read from the WHMCS database \
             (whmcs.read_from = \"database\"); writes go through the API"
        }
        crate::config::ReadFrom::Api => {
            "billing snapshot and domain invoices read through the WHMCS API \
             (whmcs.read_from = \"api\")"
        }
    };
    Check::ok("whmcs-db", "read_from", how.into())
}

/// `whmcs.database_url`: reachable, tables present, read-only or read-write.
pub async fn database_checks(url: Option<&str>) -> Vec<Check> {
    const DB: &str = "whmcs-db";
    let Some(url) = url else {
        return vec![Check::skip(
            DB,
            "connect",
            "whmcs.database_url is not set: notices become tickets or admin e-mails, premium \
             data is not read"
                .into(),
        )];
    };
    let shown = domwatch_whmcs::db::redact_url(url);
    let db = match WhmcsDb::connect(url).await {
        Ok(db) => db,
        Err(e) => {
            return vec![Check::fail(
                DB,
                "connect",
                e.to_string(),
                "check whmcs.database_url (mysql://user:password@host:3306/whmcs) and that \
                 this host may connect"
                    .into(),
            )]
        }
    };
    let mut checks = vec![Check::ok(DB, "connect", format!("{shown} is reachable"))];
    checks.push(match db.probe().await {
        Err(e) => Check::fail(
            DB,
            "tables",
            e.to_string(),
            "check the user's rights".into(),
        ),
        Ok(found) if !found.missing_tables.is_empty() => Check::fail(
            DB,
            "tables",
            format!("missing tables: {}", found.missing_tables.join(", ")),
            "point whmcs.database_url at the WHMCS database itself".into(),
        ),
        Ok(found) => match found.read_only {
            None => Check::ok(
                DB,
                "access",
                "tables present; read-write (to-dos, premium data, TLD prices)".into(),
            ),
            Some(refused) => Check::warn(
                DB,
                "access",
                format!("tables present; read-only ({refused})"),
                "grant INSERT, UPDATE on tbltodolist, tbldomains_extra, tbldomains and \
                 tblpricing for to-dos and fixes, or keep it read-only (fixes are then by hand)"
                    .into(),
            ),
        },
    });
    db.pool().close().await;
    checks
}
