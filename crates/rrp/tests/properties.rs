//! Property tests: command encode/decode round trips, and generated responses in both
//! dialects' styles parse back to what was generated.

use domwatch_rrp::codec::{normalise_name, Command, Response};
use proptest::prelude::*;
use std::collections::HashSet;

/// Parameter keys; `COMMAND` itself is the name and tested through it.
fn key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}".prop_filter("COMMAND is the name", |k| {
        !k.eq_ignore_ascii_case("command")
    })
}

/// Any text without line breaks (they are stripped on encode, tested separately).
fn value() -> impl Strategy<Value = String> {
    "[^\r\n]{0,30}"
}

proptest! {
    #[test]
    fn command_decode_inverts_encode(name in "[A-Za-z]{1,20}", params in prop::collection::vec((key(), value()), 0..12)) {
        let mut command = Command::new(&name);
        for (k, v) in &params {
            command.set(k, v.as_str());
        }
        let decoded = Command::decode(&command.encode());
        prop_assert_eq!(decoded.name(), name.as_str());
        for (k, _) in &params {
            prop_assert_eq!(decoded.get(k), command.get(k));
        }
        prop_assert_eq!(decoded.len(), command.len());
        // Re-encoding is stable.
        prop_assert_eq!(decoded.encode(), command.encode());
    }

    #[test]
    fn line_breaks_never_survive_encoding(v in "[a-z\r\n]{0,20}") {
        let command = Command::new("X").with("K", v.as_str());
        let expected: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let decoded = Command::decode(&command.encode());
        prop_assert_eq!(decoded.get("k"), Some(expected.as_str()));
    }

    #[test]
    fn set_list_round_trips(values in prop::collection::vec("[a-z0-9.-]{1,20}", 0..40)) {
        let command = Command::new("CheckDomains").with_list("domain", values.iter());
        let decoded = Command::decode(&command.encode());
        let listed: Vec<String> = decoded.get_list("DOMAIN").into_iter().map(str::to_string).collect();
        prop_assert_eq!(listed, values);
    }

    #[test]
    fn parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let response = Response::parse(text);
        prop_assert!(response.code() > 0);
    }
}

/// One generated property column: its name as the registrar spells it, and its values.
#[derive(Debug, Clone)]
struct GeneratedColumn {
    name: String,
    values: Vec<String>,
}

/// Property names: 1–3 lower-case words (CNR style, e.g. `paiduntil date`).
fn column_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z][a-z0-9-]{0,8}", 1..4).prop_map(|words| words.join(" "))
}

/// Values as registrars send them: no line break, no surrounding blanks (the parser trims).
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[!-~]([ -~]{0,20}[!-~])?",
        "[äöüß€][a-z ]{0,5}[a-z]",
    ]
}

fn columns() -> impl Strategy<Value = Vec<GeneratedColumn>> {
    prop::collection::vec((column_name(), prop::collection::vec(cell(), 1..6)), 0..8).prop_map(
        |raw| {
            let mut seen = HashSet::new();
            raw.into_iter()
                .filter(|(name, _)| {
                    let key = normalise_name(name).into_owned();
                    key != "COLUMN" && seen.insert(key)
                })
                .map(|(name, values)| GeneratedColumn { name, values })
                .collect()
        },
    )
}

fn render(
    code: u16,
    description: &str,
    columns: &[GeneratedColumn],
    upper: bool,
    crlf: bool,
    row_wise: bool,
) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let sep = if upper { "=" } else { " = " };
    let case = |s: &str| {
        if upper {
            s.to_uppercase()
        } else {
            s.to_string()
        }
    };
    let mut lines = vec!["[RESPONSE]".to_string()];
    let mut properties = Vec::new();
    if row_wise {
        let rows = columns.iter().map(|c| c.values.len()).max().unwrap_or(0);
        for row in 0..rows {
            for column in columns {
                if let Some(value) = column.values.get(row) {
                    properties.push(format!(
                        "{}[{}][{row}]{sep}{value}",
                        case("property"),
                        case(&column.name)
                    ));
                }
            }
        }
    } else {
        for column in columns {
            for (row, value) in column.values.iter().enumerate() {
                properties.push(format!(
                    "{}[{}][{row}]{sep}{value}",
                    case("property"),
                    case(&column.name)
                ));
            }
        }
    }
    // HEXONET templates put code/description last, CNR first.
    let head = vec![
        format!("{}{sep}{code}", case("code")),
        format!("{}{sep}{description}", case("description")),
    ];
    if upper {
        lines.extend(properties);
        lines.extend(head);
    } else {
        lines.extend(head);
        lines.push(String::new());
        lines.extend(properties);
    }
    lines.push("EOF".into());
    lines.join(eol) + eol
}

proptest! {
    #[test]
    fn generated_responses_parse_back(
        code in 200u16..600,
        description in "[A-Za-z][A-Za-z ;=]{0,30}[A-Za-z]",
        columns in columns(),
        upper in any::<bool>(),
        crlf in any::<bool>(),
        row_wise in any::<bool>(),
    ) {
        let body = render(code, &description, &columns, upper, crlf, row_wise);
        let response = Response::parse(body.clone());
        prop_assert!(response.template().is_none(), "{}", body);
        prop_assert_eq!(response.code(), code);
        prop_assert_eq!(response.description(), description.as_str());
        prop_assert_eq!(response.column_names().count(), columns.len());
        for column in &columns {
            let parsed = response.values(&column.name);
            prop_assert_eq!(&parsed, &column.values, "column {}", column.name);
            // The normalised spelling finds the same column.
            let normalised = normalise_name(&column.name).into_owned();
            prop_assert_eq!(response.values(&normalised), parsed);
        }
        let expected_rows = columns
            .iter()
            .filter(|c| !["FIRST", "LAST", "COUNT", "TOTAL", "LIMIT"].contains(&normalise_name(&c.name).as_ref()))
            .map(|c| c.values.len())
            .max()
            .unwrap_or(0);
        prop_assert_eq!(response.row_count(), expected_rows);
    }
}
