//! Password rules, as Django's default validators: long enough, not too
//! similar to the user's email or name, not all digits, not a common
//! password. Each rule that fails gives its own sentence for the form.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

pub const MIN_LENGTH: usize = 8;
/// Longer passwords only cost hashing time; nobody types 1,000 characters.
pub const MAX_LENGTH: usize = 1000;
/// How alike (0..1) a password may be to the user's email or name.
const MAX_SIMILARITY: f64 = 0.7;

static COMMON_GZ: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_GZ)
            .read_to_string(&mut text)
            .expect("the bundled common-password list is valid gzip");
        text.lines().map(|l| l.trim().to_lowercase()).collect()
    })
}

/// What we know about the user that a password must not resemble.
#[derive(Debug, Default, Clone, Copy)]
pub struct UserAttributes<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

fn too_similar(password: &str, attrs: &UserAttributes<'_>) -> Option<&'static str> {
    let pw = password.to_lowercase();
    let checks: [(&str, &'static str); 3] = [
        (attrs.email, "email address"),
        (attrs.first_name, "first name"),
        (attrs.last_name, "last name"),
    ];
    for (value, label) in checks {
        let value = value.to_lowercase();
        if value.is_empty() {
            continue;
        }
        // The whole value and each word of it ("ada", "example" in
        // "ada@example.com").
        let parts = std::iter::once(value.as_str())
            .chain(value.split(|c: char| !c.is_alphanumeric()))
            .filter(|p| p.chars().count() >= 3);
        for part in parts {
            if strsim::normalized_levenshtein(&pw, part) >= MAX_SIMILARITY
                || (part.chars().count() >= 4 && pw.contains(part) && part.len() * 2 >= pw.len())
            {
                return Some(label);
            }
        }
    }
    None
}

/// Every rule `password` breaks, as sentences for the form; empty if none.
pub fn validate(password: &str, attrs: &UserAttributes<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    let len = password.chars().count();
    if len < MIN_LENGTH {
        errors.push(format!(
            "This password is too short. It must contain at least {MIN_LENGTH} characters."
        ));
    }
    if len > MAX_LENGTH {
        errors.push(format!(
            "This password is too long. Use at most {MAX_LENGTH} characters."
        ));
    }
    if let Some(label) = too_similar(password, attrs) {
        errors.push(format!("This password is too similar to your {label}."));
    }
    if common_passwords().contains(&password.trim().to_lowercase()) {
        errors.push("This password is too common.".into());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        errors.push("This password is entirely numeric.".into());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(pw: &str) -> Vec<String> {
        validate(
            pw,
            &UserAttributes {
                email: "ada.lovelace@example.com",
                first_name: "Ada",
                last_name: "Lovelace",
            },
        )
    }

    #[test]
    fn good_passwords_pass() {
        assert!(errs("correct horse battery staple").is_empty());
        assert!(errs("Tr0ub4dor&3x").is_empty());
    }

    #[test]
    fn each_rule_has_its_sentence() {
        assert!(errs("short1")[0].contains("too short"));
        assert!(errs("password").iter().any(|e| e.contains("too common")));
        assert!(
            errs("PassWord").iter().any(|e| e.contains("too common")),
            "case-insensitive"
        );
        assert!(errs("9876543210123")
            .iter()
            .any(|e| e.contains("entirely numeric")));
        assert!(errs("lovelace1")
            .iter()
            .any(|e| e.contains("too similar to your")));
        let by_name = validate(
            "hopper99",
            &UserAttributes {
                email: "g@example.com",
                first_name: "Grace",
                last_name: "Hopper",
            },
        );
        assert!(
            by_name.iter().any(|e| e.contains("last name")),
            "{by_name:?}"
        );
        assert!(errs("ada.lovelace@example.co")
            .iter()
            .any(|e| e.contains("email")));
        assert!(errs(&"x".repeat(1001))
            .iter()
            .any(|e| e.contains("too long")));
    }

    #[test]
    fn the_list_is_loaded() {
        assert!(common_passwords().len() > 19_000);
    }
}
