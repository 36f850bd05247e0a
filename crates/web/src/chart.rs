//! The forecast's weekly chart as inline SVG: no script, no inline style (the CSP forbids
//! both), readable by screen readers through its title, description and one labelled
//! group per week.

use crate::html::esc;
use domwatch_core::forecast::WeekPoint;
use domwatch_core::Currency;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 16.0;

/// Billed vs registrar cost per week in one client currency; weeks that lose money carry
/// a red marker and the class `loss-week`.
pub fn weekly_chart(weeks: &[WeekPoint], currency: Currency) -> String {
    let values: Vec<(Decimal, Decimal)> = weeks
        .iter()
        .map(|w| {
            w.by_currency
                .get(&currency)
                .map_or((Decimal::ZERO, Decimal::ZERO), |t| (t.billed, t.cost))
        })
        .collect();
    let max = values
        .iter()
        .map(|(b, c)| (*b).max(*c))
        .max()
        .unwrap_or_default()
        .max(Decimal::ONE)
        .to_f64()
        .unwrap_or(1.0);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / values.len().max(1) as f64;
    let bar = (slot * 0.4).max(1.0);
    let cur = currency.as_str();
    let losses = values.iter().filter(|(b, c)| c > b).count();
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" id=\"chart-{cur}\" role=\"img\" aria-labelledby=\"chart-{cur}-title chart-{cur}-desc\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-{cur}-title\">Renewals by week in {cur}: billed vs registrar cost</title>\
         <desc id=\"chart-{cur}-desc\">{n} weeks from {from}; blue bars what WHMCS will invoice, orange bars what the registrars will charge; {losses} week(s) lose money, marked red.</desc>",
        n = values.len(),
        from = weeks.first().map(|w| w.starts.to_string()).unwrap_or_default(),
    );
    // Axis and the top value.
    let base = TOP + plot_h;
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\" stroke=\"#98a2b3\"/>\
         <text x=\"{x}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\" fill=\"#667085\">{max:.0} {cur}</text>\
         <text x=\"{x}\" y=\"{base}\" font-size=\"11\" text-anchor=\"end\" fill=\"#667085\">0</text>",
        x = LEFT - 4.0,
        y = TOP + 8.0,
    );
    for (i, (w, (billed, cost))) in weeks.iter().zip(&values).enumerate() {
        let x = LEFT + slot * i as f64 + (slot - 2.0 * bar) / 2.0;
        let h = |v: &Decimal| v.to_f64().unwrap_or(0.0) / max * plot_h;
        let loss = cost > billed;
        let _ = write!(
            s,
            "<g class=\"week{cls}\"><title>Week of {start}: billed {billed:.2} {cur}, cost {cost:.2} {cur}{note}</title>\
             <rect class=\"billed\" x=\"{x:.1}\" y=\"{yb:.1}\" width=\"{bar:.1}\" height=\"{hb:.1}\" fill=\"#1f6feb\"/>\
             <rect class=\"cost\" x=\"{xc:.1}\" y=\"{yc:.1}\" width=\"{bar:.1}\" height=\"{hc:.1}\" fill=\"#f79009\"/>",
            cls = if loss { " loss-week" } else { "" },
            start = w.starts,
            note = if loss { " (loss)" } else { "" },
            yb = base - h(billed),
            hb = h(billed),
            xc = x + bar,
            yc = base - h(cost),
            hc = h(cost),
        );
        if loss {
            let _ = write!(
                s,
                "<circle class=\"loss-marker\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\" fill=\"#b42318\"/>",
                cx = x + bar,
                cy = TOP - 6.0 + 2.0,
            );
        }
        // Every fourth week is labelled; not the last ones, whose label would be cut off.
        if i % 4 == 0 && i + 2 < values.len() {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{ty}\" font-size=\"10\" fill=\"#667085\">{}</text>",
                esc(&w.starts.format("%m-%d").to_string()),
                ty = HEIGHT - 10.0,
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use domwatch_core::forecast::Totals;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    fn week(day: u32, billed: Decimal, cost: Decimal) -> WeekPoint {
        let mut by_currency = BTreeMap::new();
        by_currency.insert(
            Currency::EUR,
            Totals {
                domains: 1,
                billed,
                cost,
                margin: billed - cost,
            },
        );
        WeekPoint {
            starts: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            by_currency,
        }
    }

    #[test]
    fn one_labelled_group_per_week_and_loss_weeks_marked() {
        let svg = weekly_chart(
            &[week(1, dec!(20), dec!(10)), week(8, dec!(10), dec!(30))],
            Currency::EUR,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<g class=\"week").count(), 2);
        assert_eq!(svg.matches("loss-week").count(), 1);
        assert_eq!(svg.matches("class=\"loss-marker\"").count(), 1);
        assert!(svg.contains("Week of 2026-12-08: billed 10.00 EUR, cost 30.00 EUR (loss)"));
        assert!(svg.contains("aria-labelledby=\"chart-EUR-title chart-EUR-desc\""));
        assert!(!svg.contains("style="), "the CSP forbids inline style");
    }

    #[test]
    fn an_empty_currency_draws_flat_bars() {
        let svg = weekly_chart(&[week(1, dec!(0), dec!(0))], Currency::USD);
        assert!(svg.contains("height=\"0.0\""));
        assert!(!svg.contains("NaN"));
    }
}
