//! Drupal `*.routing.yml`: routes anyone may call that change state.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Route {
    #[serde(default)]
    path: String,
    #[serde(default)]
    requirements: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    defaults: BTreeMap<String, serde_json::Value>,
}

/// Words in a path that say the route does something rather than shows something.
const STATE_CHANGING: &[&str] = &[
    "delete",
    "remove",
    "update",
    "edit",
    "add",
    "create",
    "save",
    "approve",
    "cancel",
    "reset",
    "toggle",
    "publish",
    "unpublish",
    "clear",
    "flush",
    "run",
    "execute",
    "import",
    "install",
    "uninstall",
    "enable",
    "disable",
    "submit",
    "subscribe",
    "unsubscribe",
    "revert",
    "purge",
];

/// Routes with `_access: 'TRUE'` whose methods or path say they change state: name, line of
/// the route's name, path. A file that is not valid YAML yields nothing here (Drupal would
/// refuse it too).
pub fn open_state_changing(text: &str) -> Vec<(String, usize, String)> {
    let Ok(routes) = serde_saphyr::from_str::<BTreeMap<String, Route>>(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, route) in routes {
        let open = route.requirements.get("_access").is_some_and(|v| match v {
            serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
            serde_json::Value::Bool(b) => *b,
            _ => false,
        });
        if !open {
            continue;
        }
        let writes = route.methods.iter().any(|m| {
            matches!(
                m.to_ascii_uppercase().as_str(),
                "POST" | "PUT" | "PATCH" | "DELETE"
            )
        }) || route.defaults.contains_key("_form")
            || route
                .path
                .split(['/', '-', '_', '.'])
                .any(|word| STATE_CHANGING.contains(&word.to_ascii_lowercase().as_str()));
        if !writes {
            continue;
        }
        let line = text
            .lines()
            .position(|l| {
                l.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or(1, |i| i + 1);
        found.push((name, line, route.path));
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn open_routes_that_write_are_found() {
        let yaml = "mymod.view:\n  path: '/items/{id}'\n  requirements:\n    _access: 'TRUE'\n\
                    mymod.delete:\n  path: '/items/{id}/delete'\n  requirements:\n    _access: 'TRUE'\n\
                    mymod.admin:\n  path: '/items/{id}/edit'\n  requirements:\n    _permission: 'edit items'\n";
        let found = super::open_state_changing(yaml);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "mymod.delete");
        assert_eq!(found[0].1, 5);
    }
}
