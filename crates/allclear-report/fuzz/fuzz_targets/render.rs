//! Every renderer on reports full of arbitrary text. The input is either a JSON report (first
//! byte `{`) or NUL-separated strings that fill a finding's fields. Rendering must never fail
//! or panic, and the terminal format must never carry an escape character.

#![no_main]

use allclear_core::{
    Ecosystem, Finding, Fix, IgnoredFinding, Location, PackageRef, Report, RunError, Severity,
};
use allclear_report::{Format, RenderOptions, render, upgrade_commands};
use libfuzzer_sys::fuzz_target;

fn from_fields(data: &[u8]) -> Report {
    let fields: Vec<String> = data
        .split(|&b| b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let selector = data.first().copied().unwrap_or(0) as usize;
    let mut location = Location::new(field(1));
    location.line = (selector % 3 != 0).then_some(selector as u32 % 7);
    let mut finding = Finding::new(field(2), Severity::DESCENDING[selector % 5], field(3))
        .with_location(location)
        .with_key(field(4))
        .with_advisories(vec![field(4), field(5)])
        .with_description(field(6))
        .with_url(field(7))
        .with_fix(Fix {
            version: Some(field(8)),
            advice: Some(field(9)),
            command: Some(field(10)),
        });
    finding.package = Some(PackageRef {
        ecosystem: Ecosystem::ALL[selector % Ecosystem::ALL.len()],
        name: field(11),
        version: field(12),
    });
    finding.cvss = Some(f64::from(selector as u8) / 20.0);
    let ignored = IgnoredFinding {
        finding: finding.clone(),
        reason: field(13),
        expires: None,
    };
    let mut report = Report::new(vec![finding.clone(), finding], vec![ignored], Severity::Low);
    report.add_error(RunError {
        path: field(14),
        line: Some(1),
        message: field(15),
    });
    report.add_warning(field(16));
    report
}

fuzz_target!(|data: &[u8]| {
    let report = if data.first() == Some(&b'{') {
        match serde_json::from_slice::<Report>(data) {
            Ok(report) => report,
            Err(_) => return,
        }
    } else {
        from_fields(data)
    };
    let _ = upgrade_commands(&report.findings);
    for format in Format::ALL {
        for width in [None, Some(40)] {
            let options = RenderOptions {
                width,
                ..RenderOptions::default()
            };
            let mut out = Vec::new();
            if render(&report, format, &options, &mut out).is_err() {
                panic!("rendering {format} into memory failed");
            }
            if format == Format::Human && out.contains(&0x1b) {
                panic!("an escape character reached the terminal format");
            }
        }
    }
});
