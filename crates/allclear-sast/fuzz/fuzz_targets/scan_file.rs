//! The whole engine on any file: the first byte picks the kind of file (Ruby, ERB, PHP in a
//! Drupal controller, Twig, a routing file, composer.json), the rest is its content. The
//! parsers' error recovery, the ERB projection, the flow analysis and every rule run on it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "app/controllers/a_controller.rb",
    "app/views/a/show.html.erb",
    "web/modules/custom/m/src/Controller/AController.php",
    "web/modules/custom/m/m.module",
    "web/themes/custom/t/templates/a.html.twig",
    "web/modules/custom/m/m.routing.yml",
    "composer.json",
    "config/environments/production.rb",
];

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<allclear_sast::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| allclear_sast::Engine::builtin().expect("built-in rules load"));
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let path = PATHS[pick as usize % PATHS.len()];
    if let Some(scan) = engine.scan_file(path, content) {
        let _ = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
    }
});
