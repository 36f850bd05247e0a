//! Fuzzes the response parser: any bytes must parse without panicking, and every
//! accessor must agree with the parse (rows, paging, records, column lookups).
#![no_main]

use domwatch_rrp::codec::{Command, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let response = Response::parse(text.to_string());
    let rows = response.row_count();
    for name in response.column_names().map(str::to_string).collect::<Vec<_>>() {
        let column = response.column(&name).expect("listed columns exist");
        assert!(column.len() <= rows || ["FIRST", "LAST", "COUNT", "TOTAL", "LIMIT"].contains(&name.as_str()));
        for value in column.iter() {
            assert!(!value.contains('\n'));
        }
    }
    for record in response.records().take(64) {
        let _ = format!("{record:?}");
    }
    let _ = response.declared_columns();
    let _ = (response.current_page(), response.page_count(), response.last_record_index());
    if let Some(next) = response.next_page_command(&Command::new("QueryDomainList").with("LAST", 1u32)) {
        assert!(!next.contains("LAST"));
        assert!(response.has_next_page());
    }
    // The command codec must survive the same bytes.
    let command = Command::decode(text);
    assert_eq!(Command::decode(&command.encode()), command);
});
