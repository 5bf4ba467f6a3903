//! Reading the deployment files and the configuration tables: compose's
//! YAML and interpolation, the Dockerfile's stages, the documented variables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

pub fn read(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn compose(file: &str) -> Yaml {
    let docs = YamlLoader::load_from_str(&read(file))
        .unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{file} holds one document");
    docs.into_iter().next().unwrap_or(Yaml::BadValue)
}

pub fn service<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    let service = &doc["services"][name];
    assert!(service.as_hash().is_some(), "no compose service {name:?}");
    service
}

pub fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A compose service's `environment` (this project writes it as a mapping).
pub fn environment(service: &Yaml) -> BTreeMap<String, String> {
    let map = service["environment"]
        .as_hash()
        .cloned()
        .unwrap_or_default();
    map.iter()
        .map(|(k, v)| (scalar(k).unwrap_or_default(), scalar(v).unwrap_or_default()))
        .collect()
}

/// Compose's interpolation of `text` with the host variables `host` gives:
/// `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, nested.
pub fn interpolate(text: &str, host: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(body) = rest.strip_prefix('{') {
            let end = closing_brace(body).ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            out.push_str(&expand(&body[..end], host)?);
            rest = &body[end + 1..];
        } else {
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            match name_len {
                0 => out.push('$'),
                _ => out.push_str(&host(&rest[..name_len]).unwrap_or_default()),
            }
            rest = &rest[name_len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${` whose body starts `body`.
pub fn closing_brace(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let (mut depth, mut i) = (1, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

pub fn expand(inner: &str, host: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad variable name in ${{{inner}}}"));
    }
    let value = host(name);
    if rest.is_empty() {
        Ok(value.unwrap_or_default())
    } else if let Some(default) = rest.strip_prefix(":-") {
        value
            .filter(|v| !v.is_empty())
            .map_or_else(|| interpolate(default, host), Ok)
    } else if let Some(default) = rest.strip_prefix('-') {
        value.map_or_else(|| interpolate(default, host), Ok)
    } else {
        Err(format!(
            "${{{inner}}}: only ${{VAR}} and ${{VAR:-default}} are used here"
        ))
    }
}

/// The value with no host variable set.
pub fn default_of(text: &str) -> String {
    interpolate(text, &|_| None).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `value` is exactly `${name}`, `${name:-…}` or `${name-…}`.
pub fn settable_from(value: &str, name: &str) -> bool {
    value.strip_prefix("${").is_some_and(|body| {
        closing_brace(body) == Some(body.len() - 1)
            && body
                .strip_prefix(name)
                .is_some_and(|rest| rest == "}" || rest.starts_with(":-") || rest.starts_with('-'))
    })
}

pub fn port_of(bind: &str) -> u16 {
    bind.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{bind:?} is not host:port"))
}

/// The documented variables: name -> (service columns, literal default).
pub fn documented() -> BTreeMap<String, (BTreeSet<&'static str>, Option<String>)> {
    let api = read("docs/API.md");
    let section = api
        .split("\n## ")
        .find(|s| s.starts_with("5."))
        .expect("API.md §5");
    let mut vars = BTreeMap::new();
    // API.md first: where both tables name a variable, the contract wins.
    for line in section.lines().chain(read("README.md").lines()) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let services = match cells.get(2) {
            Some(&"auth") => BTreeSet::from(["auth"]),
            Some(&"resource") => BTreeSet::from(["resource"]),
            Some(&"both") => BTreeSet::from(["auth", "resource"]),
            _ => continue,
        };
        let default = match cells[3].strip_prefix('`') {
            Some(rest) => rest.split('`').next().map(str::to_owned),
            None => cells[3].starts_with("empty").then(String::new),
        };
        // A row may name several variables that share a default: `A`, `B`.
        for name in cells[1].split(',') {
            let name = name.trim().trim_matches('`').to_owned();
            vars.entry(name)
                .or_insert((services.clone(), default.clone()));
        }
    }
    assert!(vars.len() >= 15, "the configuration tables were not found");
    vars
}

pub fn documented_for(column: &str) -> BTreeSet<String> {
    let vars = documented().into_iter();
    vars.filter(|(_, (services, _))| services.contains(column))
        .map(|(name, _)| name)
        .collect()
}

/// The Dockerfile's instructions by stage name: (keyword, arguments).
pub struct Dockerfile {
    pub stages: BTreeMap<String, Vec<(String, String)>>,
}

impl Dockerfile {
    pub fn read() -> Dockerfile {
        let text = read("Dockerfile").replace("\\\n", " ");
        let mut stages: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut current = String::new();
        for line in text.lines().map(str::trim) {
            let (keyword, args) = line.split_once(' ').unwrap_or((line, ""));
            if keyword == "FROM" {
                current = args.rsplit(' ').next().unwrap_or_default().to_owned();
            } else if !keyword.is_empty() && !keyword.starts_with('#') {
                let stage = stages.entry(current.clone()).or_default();
                stage.push((keyword.to_owned(), args.trim().to_owned()));
            }
        }
        Dockerfile { stages }
    }

    pub fn all(&self, stage: &str, keyword: &str) -> Vec<String> {
        let instructions = self.stages.get(stage).into_iter().flatten();
        instructions
            .filter(|(k, _)| k == keyword)
            .map(|(_, args)| args.clone())
            .collect()
    }

    /// A stage's `HEALTHCHECK ... CMD [...]` as argv.
    pub fn healthcheck(&self, stage: &str) -> Vec<String> {
        let args = self.all(stage, "HEALTHCHECK").pop().expect("a HEALTHCHECK");
        let (_, command) = args.split_once("CMD ").expect("HEALTHCHECK CMD");
        serde_json::from_str(command.trim()).expect("HEALTHCHECK CMD in exec form")
    }
}
