//! The three answer formats: JSON in WHMCS's field order, XML and NVP.

use serde_json::{Map, Value};

/// A JSON object with `result` and `message` first, as WHMCS writes its answers.
pub(super) fn json_in_whmcs_order(body: &Map<String, Value>) -> String {
    let first = ["result", "message"];
    let fields = first
        .iter()
        .filter_map(|k| body.get(*k).map(|v| (*k, v)))
        .chain(
            body.iter()
                .filter(|(k, _)| !first.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        )
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect::<Vec<_>>();
    format!("{{{}}}", fields.join(","))
}

pub(super) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn xml_value(out: &mut String, key: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                xml_value(out, key, item);
            }
        }
        Value::Object(map) => {
            out.push_str(&format!("<{key}>"));
            for (k, v) in map {
                xml_value(out, k, v);
            }
            out.push_str(&format!("</{key}>"));
        }
        Value::Null => out.push_str(&format!("<{key}></{key}>")),
        Value::String(s) => out.push_str(&format!("<{key}><![CDATA[{s}]]></{key}>")),
        other => out.push_str(&format!(
            "<{key}>{}</{key}>",
            xml_escape(&other.to_string())
        )),
    }
}

pub(super) fn to_xml(action: &str, body: &Map<String, Value>) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<whmcsapi version=\"8.10.0\">");
    out.push_str(&format!("<action>{}</action>", xml_escape(action)));
    for (k, v) in body {
        xml_value(&mut out, k, v);
    }
    out.push_str("</whmcsapi>");
    out
}

pub(super) fn to_nvp(body: &Map<String, Value>) -> String {
    body.iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}={s};")),
            Value::Number(n) => Some(format!("{k}={n};")),
            _ => None,
        })
        .collect()
}
