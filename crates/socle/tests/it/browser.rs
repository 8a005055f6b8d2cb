//! The portal in a real browser: runs `e2e/` (node's test runner, playwright-core, Debian's
//! Chromium) against this build's `socle serve --demo`. Needs `npm ci` in `e2e/` and
//! `/usr/bin/chromium`; skipped with a message without them, unless `SOCLE_REQUIRE_BROWSER` is
//! set (CI), where a missing piece fails the test. Screenshots land in `e2e/screenshots/<test>/`.

use std::path::Path;
use std::process::Command;

#[test]
fn portal_in_headless_chromium() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = e2e.join("node_modules/playwright-core").is_dir() && Path::new(&chromium).exists();
    if !ready {
        assert!(
            std::env::var_os("SOCLE_REQUIRE_BROWSER").is_none(),
            "SOCLE_REQUIRE_BROWSER is set but the browser tests cannot run: `npm ci` in e2e/ and install Debian's chromium"
        );
        eprintln!("skipped: run `npm ci` in e2e/ and install chromium to run the browser tests");
        return;
    }
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/"])
        .current_dir(&e2e)
        .env("SOCLE_BIN", env!("CARGO_BIN_EXE_socle"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    // Every test ran and passed (a test file that failed to load would report none).
    assert!(stdout.contains("# pass 11"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
