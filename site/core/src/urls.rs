//! Named routes, Django style: each app lists `(name, path)` pairs once; the
//! app's `configure` builds its resources from them, and templates reverse
//! them with `url(name="products:detail", id=5)`.

use std::collections::HashMap;

use actix_web::web;

/// A named route: `("products:detail", "/products/{id}/")`.
pub type Route = (&'static str, &'static str);

/// The resource for a named route of `routes`. Panics at start-up on a name
/// that is not in the table: a typo there is a programming error.
pub fn resource(routes: &[Route], name: &'static str) -> actix_web::Resource {
    let path = routes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("route {name:?} is not in the app's route table"));
    web::resource(path).name(name)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReverseError {
    #[error("no route named {0:?}")]
    UnknownName(String),
    #[error("route {name:?} needs the argument {arg:?}")]
    MissingArgument { name: String, arg: String },
}

/// Every route of the site, for reversing names into paths.
#[derive(Debug, Default, Clone)]
pub struct UrlTable {
    paths: HashMap<&'static str, &'static str>,
}

impl UrlTable {
    pub fn new<'a>(tables: impl IntoIterator<Item = &'a [Route]>) -> Self {
        let mut paths = HashMap::new();
        for table in tables {
            for (name, path) in table {
                if paths.insert(*name, *path).is_some() {
                    panic!("route name {name:?} is declared twice");
                }
            }
        }
        UrlTable { paths }
    }

    /// Fills `{arg}` segments; arguments are percent-encoded.
    pub fn reverse(
        &self,
        name: &str,
        args: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ReverseError> {
        let pattern = self
            .paths
            .get(name)
            .ok_or_else(|| ReverseError::UnknownName(name.into()))?;
        let mut out = String::with_capacity(pattern.len() + 16);
        let mut rest = *pattern;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map(|e| start + e)
                .unwrap_or(rest.len() - 1);
            let arg = &rest[start + 1..end];
            let value = args(arg).ok_or_else(|| ReverseError::MissingArgument {
                name: name.into(),
                arg: arg.into(),
            })?;
            out.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route] = &[("p:detail", "/products/{id}/"), ("p:list", "/products/")];

    #[test]
    fn reverses_with_arguments() {
        let t = UrlTable::new([ROUTES]);
        assert_eq!(t.reverse("p:list", &|_| None).unwrap(), "/products/");
        let args = |k: &str| (k == "id").then(|| "42".to_string());
        assert_eq!(t.reverse("p:detail", &args).unwrap(), "/products/42/");
        assert_eq!(
            t.reverse("p:detail", &|_| None),
            Err(ReverseError::MissingArgument {
                name: "p:detail".into(),
                arg: "id".into()
            })
        );
        assert!(matches!(
            t.reverse("nope", &|_| None),
            Err(ReverseError::UnknownName(_))
        ));
        let hostile = |_: &str| Some("a/../b c".to_string());
        assert_eq!(
            t.reverse("p:detail", &hostile).unwrap(),
            "/products/a%2F..%2Fb+c/"
        );
    }
}
