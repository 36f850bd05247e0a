//! One line per check, with the fix to apply: the shape `doctor` prints on a terminal
//! (untrusted text escaped) and as JSON.

use domwatch_core::text::escape;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, with a limit worth knowing (read-only database, unknown version).
    Warn,
    Fail,
    /// Not configured, or not checkable because an earlier check failed.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `store`, `whmcs`, `whmcs-db`, `registrar <name>`, `smtp`.
    pub system: String,
    /// A short, stable name, e.g. `api_role`.
    pub check: &'static str,
    pub status: Status,
    /// What was found; may hold text from the checked system.
    pub detail: String,
    /// What to change, when something is to be changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn new(system: &str, check: &'static str, status: Status, detail: String) -> Self {
        Check {
            system: system.to_string(),
            check,
            status,
            detail,
            fix: None,
        }
    }

    pub fn ok(system: &str, check: &'static str, detail: String) -> Self {
        Self::new(system, check, Status::Ok, detail)
    }

    pub fn skip(system: &str, check: &'static str, detail: String) -> Self {
        Self::new(system, check, Status::Skip, detail)
    }

    pub fn fail(system: &str, check: &'static str, detail: String, fix: String) -> Self {
        Self::new(system, check, Status::Fail, detail).with_fix(fix)
    }

    pub fn warn(system: &str, check: &'static str, detail: String, fix: String) -> Self {
        Self::new(system, check, Status::Warn, detail).with_fix(fix)
    }

    pub fn with_fix(mut self, fix: String) -> Self {
        self.fix = Some(fix);
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// False when any check failed (the exit code is then 1).
    pub ok: bool,
    /// The configuration file read, or `embedded` for the built-in sandboxes.
    pub configuration: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(configuration: String, checks: Vec<Check>) -> Self {
        let ok = !checks.iter().any(|c| c.status == Status::Fail);
        Report {
            ok,
            configuration,
            checks,
        }
    }

    /// The terminal form: `status  system  detail`, then `fix: …` under it.
    pub fn text(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.system.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = format!("domwatch doctor ({})\n", escape(&self.configuration));
        for check in &self.checks {
            out.push_str(&format!(
                "  {:<4}  {:<width$}  {}\n",
                check.status.label(),
                escape(&check.system),
                escape(&check.detail),
            ));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("        {:<width$}  fix: {}\n", "", escape(fix)));
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        out.push_str(&match failed {
            0 => "All checks passed.\n".to_string(),
            n => format!("{n} check(s) failed.\n"),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_makes_the_report_fail_and_shows_its_fix_escaped() {
        let report = Report::new(
            "domwatch.toml".into(),
            vec![
                Check::ok(
                    "store",
                    "migrate",
                    "sqlite://domwatch.db is up to date".into(),
                ),
                Check::fail(
                    "whmcs",
                    "login",
                    "WHMCS refused the login: Authentication Failed\u{1b}[2J".into(),
                    "check whmcs.identifier".into(),
                ),
            ],
        );
        assert!(!report.ok);
        let text = report.text();
        assert!(text.contains("FAIL  whmcs"), "{text}");
        assert!(text.contains("fix: check whmcs.identifier"), "{text}");
        assert!(
            text.contains("\\u{1b}[2J") && !text.contains('\u{1b}'),
            "{text}"
        );
        assert!(text.ends_with("1 check(s) failed.\n"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][1]["status"], "fail");
        assert!(json["checks"][0].get("fix").is_none());
    }
}
