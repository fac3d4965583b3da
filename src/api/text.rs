//! Free text from callers. PostgreSQL cannot store a NUL character: text carrying one would fail
//! deep inside a statement as an internal error, so it is refused here, naming the field.

use crate::error::{AppError, AppResult};

/// Refuses `value` when it holds a NUL character (never echoing it: it may be a secret).
pub fn refuse_nul(field: &str, value: &str) -> AppResult<()> {
    if value.contains('\0') {
        return Err(AppError::invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// An optional filter: empty means none; otherwise at most `max_chars` and no NUL.
pub fn optional_filter(field: &str, value: String, max_chars: usize) -> AppResult<Option<String>> {
    refuse_nul(field, &value)?;
    if value.chars().count() > max_chars {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(Some(value).filter(|value| !value.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_naming_the_field_without_the_value() {
        let error = refuse_nul("credentials.password", "s3cret\0").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("credentials.password:"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(refuse_nul("name", "fine").is_ok());
    }

    #[test]
    fn filters_are_optional_and_bounded() {
        assert_eq!(optional_filter("actor", String::new(), 5).unwrap(), None);
        assert_eq!(
            optional_filter("actor", "bob".into(), 5).unwrap(),
            Some("bob".into())
        );
        assert!(optional_filter("actor", "toolong".into(), 5).is_err());
        assert!(optional_filter("actor", "b\0b".into(), 5).is_err());
    }
}
