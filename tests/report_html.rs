//! report.html as a browser shows it: headless Chromium at 1280 px renders a real report, and
//! the page must not overflow sideways and every figure must load. Without Chromium the test
//! skips loudly, unless `HPCLAB_REQUIRE_BROWSER=1` (CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};

/// The Chromium binary, if this machine has one.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let output = std::process::Command::new("which")
                .arg(name)
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
            (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        });
    if found.is_none() {
        assert!(
            !std::env::var("HPCLAB_REQUIRE_BROWSER").is_ok_and(|v| v == "1"),
            "HPCLAB_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        eprintln!("\n*** SKIPPING the browser check: no chromium on PATH ***\n");
    }
    found
}

/// What the page measures of itself once loaded, in a 1280 × 900 window: how far its content
/// overflows the window sideways (≤ 0: none), and the width of each inlined figure.
#[derive(Debug, serde::Deserialize)]
struct Probe {
    overflow: f64,
    figures: Vec<f64>,
}

const PROBE_SCRIPT: &str = "<script>window.addEventListener('load', () => {
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  const figures = [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width);
  document.body.setAttribute('data-probe', JSON.stringify({overflow, figures}));
});</script>";

/// Loads `html` (with the probe added) in headless Chromium and returns what it measured.
fn probe(browser: &Path, html: &str, scratch: &Path) -> Probe {
    let page = scratch.join("probed.html");
    std::fs::write(&page, format!("{html}{PROBE_SCRIPT}")).unwrap();
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,900",
            "--virtual-time-budget=3000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom
        .find("data-probe=\"")
        .unwrap_or_else(|| panic!("no probe in the page Chromium rendered: {dom:.400}"))
        + "data-probe=\"".len();
    let end = start + dom[start..].find('"').unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn the_report_page_fits_1280_pixels_and_shows_every_figure() {
    let Some(browser) = chromium() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let folder = scratch.path().join("report");
    let output = common::hpclab()
        .args(["report", "--out"])
        .arg(&folder)
        .env("HPCLAB_MAX_SIZE", "1Ki")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    let svgs = std::fs::read_dir(&folder)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert!(svgs >= 5, "only {svgs} figures written");
    let measured = probe(&browser, &html, scratch.path());
    assert!(
        measured.overflow <= 0.0,
        "report.html overflows a 1280 px window by {} px",
        measured.overflow
    );
    assert_eq!(measured.figures.len(), svgs, "{measured:?}");
    assert!(
        measured.figures.iter().all(|&width| width > 100.0),
        "{measured:?}"
    );
    assert!(html.contains("<h2>Summary</h2>"));

    // The probe sees an overflow when there is one: the machine block of old, a <pre> of long
    // lines, overflows the same page.
    let wide = html.replacen(
        "<h2>Summary</h2>",
        &format!("<pre>{}</pre><h2>Summary</h2>", "─".repeat(300)),
        1,
    );
    assert!(probe(&browser, &wide, scratch.path()).overflow > 0.0);
}
