//! A filter file of arbitrary text: parsing, interpolation, tag substitution and regex
//! compilation must return errors, never panic or hang.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use allclear_logs::config::resolve_filter;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::ini::{Config, Vars};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_text(text, Path::new("fuzz.conf")) else {
        return;
    };
    for section in config.sections().map(str::to_owned).collect::<Vec<_>>() {
        for option in config.own_options(&section) {
            let _ = config.get(&section, option, &Vars::new());
            let _ = config.get_ex(&section, option, &Vars::new());
        }
    }
    let args: BTreeMap<String, String> = [("mode".to_owned(), "aggressive".to_owned())].into();
    if let Ok(def) = resolve_filter(&config, "fuzz", &args, &Vars::new()) {
        let _ = CompiledFilter::new(&def, FilterOptions::default());
    }
});
