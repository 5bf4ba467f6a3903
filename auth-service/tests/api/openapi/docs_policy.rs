//! The Swagger UI shares the auth-service's origin, where token responses
//! carry refresh tokens in their bodies: every file of it comes with a
//! Content-Security-Policy as strict as the web client's, and the page
//! needs nothing that policy forbids.

use reqwest::header::{CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};

use super::referenced_urls;
use crate::helpers::*;

fn policy_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Scripts and styles only from the origin, never inline, connections
/// only to the origin, no framing.
fn assert_strict(policy: &str, what: &str) {
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "style-src 'self'",
        "connect-src 'self';",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: {directive} in {policy:?}"
        );
    }
    for loose in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:"] {
        assert!(!policy.contains(loose), "{what}: {loose} in {policy:?}");
    }
}

#[tokio::test]
async fn the_docs_page_and_every_file_it_loads_carry_a_strict_content_security_policy() {
    let app = spawn_app(Backend::Sqlite).await;

    let folder = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .expect("/docs");
    assert!(folder.status().is_redirection(), "{}", folder.status());
    assert_strict(&policy_of(&folder), "/docs");

    let page = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("/docs/");
    assert_eq!(page.status(), 200);
    assert_strict(&policy_of(&page), "/docs/");
    let html = page.text().await.expect("the page");
    let mut files = referenced_urls(&html);
    assert!(files.iter().any(|f| f.ends_with(".js")), "{files:?}");
    // Loaded by the page's scripts rather than named in it.
    files.push("swagger-initializer.js".to_owned());
    for file in files {
        let url = app.url(&format!("/docs/{}", file.trim_start_matches("./")));
        let response = app.client.get(&url).send().await.expect("a file");
        assert_eq!(response.status(), 200, "{url}");
        assert_strict(&policy_of(&response), &url);
        assert_eq!(
            response
                .headers()
                .get(X_CONTENT_TYPE_OPTIONS)
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn the_docs_page_needs_no_inline_script_or_style() {
    let app = spawn_app(Backend::Sqlite).await;

    let html = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("/docs/")
        .text()
        .await
        .expect("the page");

    // Under `script-src 'self'` an inline script would not run, and under
    // `style-src 'self'` an inline style would not apply: the page would
    // break silently.
    let scripts = html.matches("<script").count();
    assert!(scripts > 0, "{html}");
    assert_eq!(html.matches("<script src=").count(), scripts, "{html}");
    assert!(!html.contains("<style"), "{html}");
    assert!(!html.contains(" style="), "{html}");
    let handler = html
        .split_whitespace()
        .find(|word| word.starts_with("on") && word.contains('='));
    assert_eq!(handler, None, "no inline event handler: {html}");
}

#[tokio::test]
async fn the_only_inline_style_the_ui_adds_is_allowed_by_its_hash_and_nothing_else_is() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let app = spawn_app(Backend::Sqlite).await;
    let page = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("/docs/");
    let policy = policy_of(&page);

    // The SVG logo of the standalone preset carries a <style> element
    // (React: createElement("style", null, "<css>")).
    let mut hashes = Vec::new();
    for script in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"] {
        let text = app
            .client
            .get(app.url(&format!("/docs/{script}")))
            .send()
            .await
            .expect("a script")
            .text()
            .await
            .expect("its text");
        let marker = r#"createElement("style",null,""#;
        for (start, _) in text.match_indices(marker) {
            let css = &text[start + marker.len()..];
            let css = &css[..css.find('"').expect("the style's end")];
            let digest = sha2::Sha256::digest(css.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
    }

    assert!(!hashes.is_empty(), "the logo's style is where it was");
    let style_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("style-src "))
        .expect("a style-src directive");
    let mut allowed: Vec<&str> = style_src.split_whitespace().skip(2).collect();
    allowed.sort_unstable();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(allowed, hashes, "{policy}");
}
