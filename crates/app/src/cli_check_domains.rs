//! `domwatch check --domain NAME …`: a targeted check of a few domains, the same path the
//! inbound events of `domwatch serve` take (see `domwatch_engine::Engine::check_domains`).

use anyhow::Context;
use domwatch_core::text::escape;
use domwatch_core::DomainName;
use domwatch_engine::{CycleReport, Engine, EngineError, Mode, Progress};

/// The `--domain` names, parsed (Unicode or A-label).
pub fn targets(names: &[String]) -> anyhow::Result<Vec<DomainName>> {
    names
        .iter()
        .map(|n| {
            DomainName::parse(n).with_context(|| {
                format!(
                    "--domain `{}` is not a domain name (e.g. example.com or müller.shop)",
                    escape(n)
                )
            })
        })
        .collect()
}

/// A full cycle, or a targeted check when `targets` names domains.
pub async fn run(
    engine: &Engine,
    targets: &[DomainName],
    mode: Mode,
    progress: &dyn Progress,
) -> Result<CycleReport, EngineError> {
    if targets.is_empty() {
        engine.run_cycle(mode, progress).await
    } else {
        engine.check_domains(targets, mode, progress).await
    }
}

/// The report line naming a targeted check's domains (nothing for a full cycle).
pub fn describe(report: &CycleReport) -> Option<String> {
    (!report.targeted.is_empty()).then(|| {
        format!(
            "Targeted check of {} (other domains are left to the next full check)",
            report
                .targeted
                .iter()
                .map(|d| escape(d).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_flags_are_parsed_and_bad_ones_named() {
        let names = targets(&["Example.COM".into(), "müller.shop".into()]).unwrap();
        assert_eq!(names[0].ascii(), "example.com");
        assert_eq!(names[1].ascii(), "xn--mller-kva.shop");
        let error = targets(&["not a domain".into()]).unwrap_err();
        assert!(format!("{error:#}").contains("--domain `not a domain`"));
    }
}
