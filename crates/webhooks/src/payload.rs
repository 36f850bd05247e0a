//! The bytes a delivery sends: the same for every try, so a retry is the same message.

use crate::Format;
use chrono::SecondsFormat;
use domwatch_core::text::escape;
use domwatch_core::webhook::chat_text;
use domwatch_store::ClaimedDelivery;

/// The request body of `delivery` in `format`.
pub fn body(format: Format, delivery: &ClaimedDelivery) -> Vec<u8> {
    let text = delivery.payload["text"].as_str().unwrap_or_default();
    let json = match format {
        Format::Json => serde_json::json!({
            "event": delivery.event,
            "id": delivery.delivery_id,
            "occurred_at": delivery.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "case": delivery.payload["case"],
            "text": escape(text),
        }),
        Format::Text => serde_json::json!({ "text": chat_text(text) }),
    };
    json.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn delivery(text: &str) -> ClaimedDelivery {
        ClaimedDelivery {
            id: 1,
            delivery_id: "0b7c1c4e-8a8e-4c1b-9d1e-5f9b8f6f0a11".into(),
            endpoint: "x.example#abc".into(),
            attempts: 1,
            event: "case.opened".into(),
            occurred_at: chrono::Utc.with_ymd_and_hms(2026, 12, 2, 11, 0, 0).unwrap(),
            payload: serde_json::json!({"case": {"id": 12, "domain": "example.com"}, "text": text}),
        }
    }

    #[test]
    fn json_carries_event_id_time_case_and_text() {
        let d = delivery("domwatch: case #12 opened");
        let v: serde_json::Value = serde_json::from_slice(&body(Format::Json, &d)).unwrap();
        assert_eq!(v["event"], "case.opened");
        assert_eq!(v["id"], d.delivery_id.as_str());
        assert_eq!(v["occurred_at"], "2026-12-02T11:00:00Z");
        assert_eq!(v["case"]["id"], 12);
        assert_eq!(v["text"], "domwatch: case #12 opened");
    }

    #[test]
    fn chat_text_is_only_text_and_cannot_mention() {
        let d = delivery("case #1 opened: <!channel>\u{202e}moc.x");
        let v: serde_json::Value = serde_json::from_slice(&body(Format::Text, &d)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
        assert_eq!(v["text"], "case #1 opened: &lt;!channel&gt;\\u{202e}moc.x");
    }
}
