//! Why an event's data is not its payload: [`PayloadError`], one reason,
//! and [`PayloadErrors`], every reason an event has.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::rules::Rule;

/// The JSON type of a value, for messages about the wrong one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// `null`
    Null,
    /// `true` or `false`
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type's name (`null`, `boolean`, `number`, `string`, `array`, `object`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

impl fmt::Display for JsonType {
    /// Writes the type with its article, as a message uses it ("a string", "null").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

/// Why an event's data is not the payload its name requires.
///
/// Each variant maps to one rule code of the contract ([`rule`](Self::rule)).
/// Field names are paths from the payload's root (`usage.input_tokens`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// `invalid-json`: the data is not JSON.
    #[error("data is not valid JSON: {message}")]
    InvalidJson {
        /// The parser's message (with its line and column).
        message: String,
        /// 1-based line in the data where parsing failed.
        line: usize,
        /// 1-based column in the data where parsing failed.
        column: usize,
    },
    /// `not-an-object`: the data is JSON but not an object.
    #[error("data is {found}, expected a JSON object")]
    NotAnObject {
        /// What the data is.
        found: JsonType,
    },
    /// `missing-field`: a required field is absent.
    #[error("missing required field `{field}`")]
    MissingField {
        /// The absent field.
        field: &'static str,
    },
    /// `wrong-type`: a field has the wrong JSON type.
    #[error("field `{field}` is {found}, expected {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What the contract requires ("a string", "an object or null", …).
        expected: &'static str,
        /// What it is.
        found: JsonType,
    },
    /// `invalid-value`: right type, impossible value (a negative count, …).
    #[error("field `{field}` is {value}, expected {expected}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value as it came (a number, written back as JSON).
        value: String,
        /// What the contract requires.
        expected: &'static str,
    },
}

impl PayloadError {
    /// The rule code this error is reported under.
    pub fn rule(&self) -> Rule {
        match self {
            PayloadError::InvalidJson { .. } => Rule::InvalidJson,
            PayloadError::NotAnObject { .. } => Rule::NotAnObject,
            PayloadError::MissingField { .. } => Rule::MissingField,
            PayloadError::WrongType { .. } => Rule::WrongType,
            PayloadError::InvalidValue { .. } => Rule::InvalidValue,
        }
    }

    /// The field concerned, when the error is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PayloadError::MissingField { field }
            | PayloadError::WrongType { field, .. }
            | PayloadError::InvalidValue { field, .. } => Some(field),
            PayloadError::InvalidJson { .. } | PayloadError::NotAnObject { .. } => None,
        }
    }

    pub(super) fn invalid_json(error: &serde_json::Error) -> Self {
        PayloadError::InvalidJson {
            message: error.to_string(),
            line: error.line(),
            column: error.column(),
        }
    }
}

/// Every reason an event's data is not the payload its name requires: at
/// least one, in the order of the payload's fields.
///
/// Broken JSON, or JSON that is not an object, is one reason; otherwise each
/// field that is absent, of the wrong type or of an impossible value is one.
///
/// ```
/// use agent37_stream::protocol::event::ResponseEvent;
/// use agent37_stream::protocol::rules::Rule;
///
/// let errors = ResponseEvent::parse("response.created", r#"{"id":"a","instance_id":7}"#).unwrap_err();
/// let rules: Vec<Rule> = errors.iter().map(|e| e.rule()).collect();
/// assert_eq!(rules, [Rule::WrongType, Rule::MissingField]);
/// assert_eq!(errors.first().field(), Some("instance_id"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadErrors {
    /// At least one; boxed, so a parse result is no bigger than its event.
    errors: Box<[PayloadError]>,
}

impl PayloadErrors {
    /// The first reason.
    pub fn first(&self) -> &PayloadError {
        &self.errors[0]
    }

    /// Every reason, in field order.
    pub fn iter(&self) -> std::slice::Iter<'_, PayloadError> {
        self.errors.iter()
    }

    /// How many reasons there are (at least one).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always `false`: there is at least one reason.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The rule of the first reason.
    pub fn rule(&self) -> Rule {
        self.first().rule()
    }

    /// The field of the first reason.
    pub fn field(&self) -> Option<&'static str> {
        self.first().field()
    }

    /// The reasons, first first.
    pub fn into_vec(self) -> Vec<PayloadError> {
        self.errors.into_vec()
    }

    /// Collects reasons; `None` when there are none.
    pub(super) fn from_vec(errors: Vec<PayloadError>) -> Option<Self> {
        (!errors.is_empty()).then(|| PayloadErrors {
            errors: errors.into_boxed_slice(),
        })
    }
}

impl From<PayloadError> for PayloadErrors {
    fn from(error: PayloadError) -> Self {
        PayloadErrors {
            errors: Box::new([error]),
        }
    }
}

impl<'a> IntoIterator for &'a PayloadErrors {
    type Item = &'a PayloadError;
    type IntoIter = std::slice::Iter<'a, PayloadError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for PayloadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PayloadErrors {}
