//! Typed access to the options of one call.
//!
//! The host fills in defaults and type-checks values against the plugin's declared options
//! before calling, so a well-behaved host always sends every option with the right type.
//! Plugins still check, and answer a wrong type with an `invalid-option` error.

#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Flag(bool),
    Integer(i64),
    Number(f64),
    Text(String),
}

/// The options of one call, by name.
#[derive(Debug, Clone, Default)]
pub struct Settings(Vec<(String, OptionValue)>);

impl Settings {
    pub fn new(values: impl IntoIterator<Item = (String, OptionValue)>) -> Self {
        Self(values.into_iter().collect())
    }

    fn get(&self, name: &str) -> Option<&OptionValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A flag, or `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(default),
            Some(OptionValue::Flag(b)) => Ok(*b),
            Some(other) => Err(wrong_type(name, "a flag", other)),
        }
    }

    /// An integer, or `default` when absent.
    pub fn integer(&self, name: &str, default: i64) -> Result<i64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(OptionValue::Integer(i)) => Ok(*i),
            Some(other) => Err(wrong_type(name, "an integer", other)),
        }
    }

    /// A finite number (integers are accepted), or `default` when absent.
    pub fn number(&self, name: &str, default: f64) -> Result<f64, String> {
        let v = match self.get(name) {
            None => return Ok(default),
            Some(OptionValue::Number(n)) => *n,
            Some(OptionValue::Integer(i)) => *i as f64,
            Some(other) => return Err(wrong_type(name, "a number", other)),
        };
        if v.is_finite() { Ok(v) } else { Err(format!("option `{name}` must be a finite number")) }
    }

    /// A text value, or `default` when absent.
    pub fn text<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str, String> {
        match self.get(name) {
            None => Ok(default),
            Some(OptionValue::Text(s)) => Ok(s),
            Some(other) => Err(wrong_type(name, "a text", other)),
        }
    }
}

fn wrong_type(name: &str, expected: &str, got: &OptionValue) -> String {
    format!("option `{name}` must be {expected}, got {got:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_with_defaults() {
        let s = Settings::new([
            ("circle-vertices".to_string(), OptionValue::Integer(12)),
            ("rule".to_string(), OptionValue::Text("majority".into())),
        ]);
        assert_eq!(s.integer("circle-vertices", 32), Ok(12));
        assert_eq!(s.number("circle-vertices", 0.0), Ok(12.0));
        assert_eq!(s.text("rule", "none"), Ok("majority"));
        assert_eq!(s.flag("absent", true), Ok(true));
        let e = s.flag("rule", false).unwrap_err();
        assert!(e.contains("`rule` must be a flag"), "{e}");
    }
}
