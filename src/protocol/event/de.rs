//! Reading payloads: one pass of serde over the data, every field checked.
//!
//! Each payload is read by a visitor that takes every known field as a
//! [`payload::Loose`] value (any JSON type, strings borrowed) and skips the
//! others; the fields are then checked in the table's order, every broken
//! one reported. Because the visitor never fails on a field's type or value,
//! serde's error only ever means broken JSON, and our own errors can name
//! the field. A derive with `#[serde(borrow)]` could not do that: its errors
//! are strings.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{JsonType, PayloadError, PayloadErrors};
use super::{
    Completed, Created, Failed, TextDelta, ToolCallCompleted, ToolCallFailed, ToolCallStarted,
    ToolError,
};
use crate::protocol::error::ErrorCode;
use crate::protocol::response::{ErrorObject, Usage};
use crate::sse::Utf8Bytes;

pub(super) use payload::parse;

/// Declares the fields a payload reads: the struct that holds them as read,
/// and its [`Slots`](payload::Slots) (the names, in the order written, and where each
/// value goes), so that names and slots cannot drift apart.
macro_rules! fields {
    ($name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        #[derive(Default)]
        pub(super) struct $name<'de> {
            $($field: Option<$ty>,)+
        }

        impl<'de> Slots<'de> for $name<'de> {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
                let mut at = 0;
                $(
                    if slot == at {
                        return read(&mut self.$field, map);
                    }
                    at += 1;
                )+
                // `slot` indexes `NAMES`: never past the fields.
                let _ = at;
                Ok(())
            }
        }
    };
}

/// The framework: the visitors and the field checks.
mod payload {
    use super::*;

    /// Which names a payload reads, and where each value goes: written by
    /// `fields!`, from the one list of the fields.
    pub(crate) trait Slots<'de>: Default {
        /// The field names, in the order they are checked.
        const NAMES: &'static [&'static str];
        /// Reads the value of the field `NAMES[slot]` from `map`.
        fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error>;
    }

    /// The fields of one payload, and how they are checked.
    pub(crate) trait Fields<'de>: Slots<'de> {
        /// The checked payload.
        type Out;
        /// Checks the fields read; strings are slices of `base` (the data
        /// they were read from) or, unescaped, buffers of their own.
        fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors>;
    }

    /// Parses `data` as the payload `F`.
    pub(crate) fn parse<'de, F: Fields<'de>>(
        data: &'de [u8],
        base: &Utf8Bytes,
    ) -> Result<F::Out, PayloadErrors> {
        match serde_json::from_slice::<Object<'de, F>>(data) {
            Ok(Object::Fields(fields, _)) => fields.finish(base),
            Ok(Object::Other(found)) => Err(PayloadError::NotAnObject { found }.into()),
            Err(error) => Err(PayloadError::invalid_json(&error).into()),
        }
    }

    /// A JSON value that should be the object `F`, or whatever type it was.
    pub(super) enum Object<'de, F: Fields<'de>> {
        Fields(F, PhantomData<&'de ()>),
        Other(JsonType),
    }

    impl<'de, F: Fields<'de>> Object<'de, F> {
        /// Checks a nested object field (`usage`, `error`): absent, `null`
        /// when `nullable`, or an object.
        pub(super) fn nested(
            value: Option<Self>,
            field: &'static str,
            nullable: bool,
            base: &Utf8Bytes,
        ) -> Result<Option<F::Out>, PayloadErrors> {
            match value {
                None => Err(PayloadError::MissingField { field }.into()),
                Some(Object::Fields(fields, _)) => fields.finish(base).map(Some),
                Some(Object::Other(JsonType::Null)) if nullable => Ok(None),
                Some(Object::Other(found)) => Err(PayloadError::WrongType {
                    field,
                    expected: if nullable {
                        "an object or null"
                    } else {
                        "an object"
                    },
                    found,
                }
                .into()),
            }
        }
    }

    impl<'de, F: Fields<'de>> Deserialize<'de> for Object<'de, F> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ObjectVisitor(PhantomData))
        }
    }

    struct ObjectVisitor<'de, F>(PhantomData<fn() -> (&'de (), F)>);

    impl<'de, F: Fields<'de>> Visitor<'de> for ObjectVisitor<'de, F> {
        type Value = Object<'de, F>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = F::default();
            while let Some(slot) = map.next_key_seed(KeySeed(F::NAMES))? {
                match slot {
                    Some(slot) => fields.set(slot, &mut map)?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Object::Fields(fields, PhantomData))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Object::Other(JsonType::Array))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Boolean))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::String))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Null))
        }
    }

    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// Reads an object key as its slot in a field table, without allocating.
    struct KeySeed(&'static [&'static str]);

    impl<'de> DeserializeSeed<'de> for KeySeed {
        type Value = Option<usize>;

        fn deserialize<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
            Ok(self.0.iter().position(|name| *name == key))
        }
    }

    /// Any JSON value: strings and numbers kept, the rest only typed.
    pub(super) enum Loose<'de> {
        Str(Cow<'de, str>),
        UInt(u64),
        Int(i64),
        Float(f64),
        Other(JsonType),
    }

    impl Loose<'_> {
        fn json_type(&self) -> JsonType {
            match self {
                Loose::Str(_) => JsonType::String,
                Loose::UInt(_) | Loose::Int(_) | Loose::Float(_) => JsonType::Number,
                Loose::Other(found) => *found,
            }
        }

        /// The number written back as JSON, for messages.
        fn number_text(&self) -> String {
            match self {
                Loose::UInt(n) => n.to_string(),
                Loose::Int(n) => n.to_string(),
                Loose::Float(n) => n.to_string(),
                Loose::Str(_) | Loose::Other(_) => String::new(),
            }
        }
    }

    impl<'de> Deserialize<'de> for Loose<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(LooseVisitor)
        }
    }

    struct LooseVisitor;

    impl<'de> Visitor<'de> for LooseVisitor {
        type Value = Loose<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Borrowed(v)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Owned(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Owned(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Loose::UInt(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Loose::Int(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Loose::Float(v))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Loose::Other(JsonType::Boolean))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Loose::Other(JsonType::Null))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Loose::Other(JsonType::Array))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok(Loose::Other(JsonType::Object))
        }
    }

    /// A string or an object (kept whole): the `error` of a failed tool call.
    pub(super) enum StrOrObject<'de> {
        Str(Cow<'de, str>),
        Object(serde_json::Map<String, serde_json::Value>),
        Other(JsonType),
    }

    impl<'de> Deserialize<'de> for StrOrObject<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(StrOrObjectVisitor)
        }
    }

    struct StrOrObjectVisitor;

    impl<'de> Visitor<'de> for StrOrObjectVisitor {
        type Value = StrOrObject<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut object = serde_json::Map::new();
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                object.insert(key, value);
            }
            Ok(StrOrObject::Object(object))
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(StrOrObject::Str(Cow::Borrowed(v)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(StrOrObject::Str(Cow::Owned(v.to_owned())))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(StrOrObject::Other(JsonType::Array))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Boolean))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Null))
        }
    }

    /// A required string.
    pub(super) fn string<'de>(
        field: &'static str,
        value: Option<Loose<'de>>,
    ) -> Result<Cow<'de, str>, PayloadError> {
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::Str(text)) => Ok(text),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: "a string",
                found: other.json_type(),
            }),
        }
    }

    /// An optional string: absent or `null` is `None`.
    pub(super) fn optional_string<'de>(
        field: &'static str,
        value: Option<Loose<'de>>,
    ) -> Result<Option<Cow<'de, str>>, PayloadError> {
        match value {
            None | Some(Loose::Other(JsonType::Null)) => Ok(None),
            Some(value) => string(field, Some(value)).map(Some),
        }
    }

    /// A required non-negative number.
    pub(super) fn non_negative_number(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<f64, PayloadError> {
        const EXPECTED: &str = "a non-negative number";
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::UInt(n)) => Ok(n as f64),
            Some(Loose::Float(n)) if n >= 0.0 => Ok(n),
            Some(Loose::Int(n)) if n >= 0 => Ok(n as f64),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: EXPECTED,
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: EXPECTED,
                found: other.json_type(),
            }),
        }
    }

    /// A required non-negative integer (a whole float such as `3.0` counts:
    /// JSON has one number type).
    pub(super) fn non_negative_integer(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<u64, PayloadError> {
        const EXPECTED: &str = "a non-negative integer";
        // 2^64: the first float past u64::MAX.
        const LIMIT: f64 = 18_446_744_073_709_551_616.0;
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::UInt(n)) => Ok(n),
            Some(Loose::Int(n)) if n >= 0 => Ok(n.unsigned_abs()),
            Some(Loose::Float(n)) if n >= 0.0 && n.fract() == 0.0 && n < LIMIT => Ok(n as u64),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: EXPECTED,
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: EXPECTED,
                found: other.json_type(),
            }),
        }
    }

    /// An optional non-negative number kept as written: absent is `None`,
    /// `null` is `Some(None)`.
    pub(super) fn optional_cost(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<Option<Option<serde_json::Number>>, PayloadError> {
        match value {
            None => Ok(None),
            Some(Loose::Other(JsonType::Null)) => Ok(Some(None)),
            Some(Loose::UInt(n)) => Ok(Some(Some(serde_json::Number::from(n)))),
            Some(Loose::Float(n)) if n >= 0.0 => Ok(Some(serde_json::Number::from_f64(n))),
            Some(Loose::Int(n)) if n >= 0 => Ok(Some(Some(serde_json::Number::from(n)))),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: "a non-negative number or null",
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: "a number or null",
                found: other.json_type(),
            }),
        }
    }
}

use payload::{Fields, Loose, Object, Slots, StrOrObject};

/// Reads the next value into `slot`, last occurrence winning (as most JSON
/// readers do with a repeated key).
fn read<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
) -> Result<(), A::Error> {
    *slot = Some(map.next_value()?);
    Ok(())
}

/// A string read from `base`: a slice of it when the JSON held the text as
/// is, else (unescaped) a buffer of its own, of the exact size.
pub(super) fn text(base: &Utf8Bytes, value: Cow<'_, str>) -> Utf8Bytes {
    match value {
        Cow::Borrowed(text) => base
            .try_slice_ref(text)
            .unwrap_or_else(|| Utf8Bytes::from(text)),
        Cow::Owned(text) => Utf8Bytes::from(text),
    }
}

/// The reasons a payload's fields give, collected so that every broken field
/// is reported, not only the first.
#[derive(Default)]
struct Check(Vec<PayloadError>);

impl Check {
    fn take<T>(&mut self, checked: Result<T, PayloadError>) -> Option<T> {
        checked.map_err(|error| self.0.push(error)).ok()
    }

    fn take_all<T>(&mut self, checked: Result<T, PayloadErrors>) -> Option<T> {
        checked
            .map_err(|errors| self.0.extend(errors.into_vec()))
            .ok()
    }

    /// The payload when no field was broken, else every reason.
    fn finish<T>(self, payload: Option<T>) -> Result<T, PayloadErrors> {
        match (PayloadErrors::from_vec(self.0), payload) {
            (None, Some(payload)) => Ok(payload),
            (Some(errors), _) => Err(errors),
            // A field is `None` only when its check pushed a reason.
            (None, None) => Err(PayloadError::InvalidJson {
                message: "the payload could not be read".to_owned(),
                line: 1,
                column: 1,
            }
            .into()),
        }
    }
}

fields!(TextFields {
    text: Loose<'de>,
});

impl<'de> Fields<'de> for TextFields<'de> {
    type Out = TextDelta;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let value = payload::string("text", self.text)?;
        Ok(TextDelta {
            text: text(base, value),
        })
    }
}

fields!(CreatedFields {
    id: Loose<'de>,
    instance_id: Loose<'de>,
    session_id: Loose<'de>,
});

impl<'de> Fields<'de> for CreatedFields<'de> {
    type Out = Created;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let id = check.take(payload::string("id", self.id));
        let instance_id = check.take(payload::string("instance_id", self.instance_id));
        let session_id = check.take(payload::string("session_id", self.session_id));
        check.finish((|| {
            Some(Created {
                id: text(base, id?),
                instance_id: text(base, instance_id?),
                session_id: text(base, session_id?),
            })
        })())
    }
}

fields!(StartedFields {
    tool: Loose<'de>,
    label: Loose<'de>,
});

impl<'de> Fields<'de> for StartedFields<'de> {
    type Out = ToolCallStarted;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let tool = check.take(payload::string("tool", self.tool));
        let label = check.take(payload::string("label", self.label));
        check.finish((|| {
            Some(ToolCallStarted {
                tool: text(base, tool?),
                label: text(base, label?),
            })
        })())
    }
}

fields!(ToolCompletedFields {
    tool: Loose<'de>,
    duration_ms: Loose<'de>,
});

impl<'de> Fields<'de> for ToolCompletedFields<'de> {
    type Out = ToolCallCompleted;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let tool = check.take(payload::string("tool", self.tool));
        let duration_ms = check.take(payload::non_negative_number(
            "duration_ms",
            self.duration_ms,
        ));
        check.finish((|| {
            Some(ToolCallCompleted {
                tool: text(base, tool?),
                duration_ms: duration_ms?,
            })
        })())
    }
}

fields!(ToolFailedFields {
    tool: Loose<'de>,
    error: StrOrObject<'de>,
});

impl<'de> Fields<'de> for ToolFailedFields<'de> {
    type Out = ToolCallFailed;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let tool = check.take(payload::string("tool", self.tool));
        let error = check.take(match self.error {
            None => Err(PayloadError::MissingField { field: "error" }),
            Some(StrOrObject::Str(message)) => Ok(ToolError::Message(text(base, message))),
            Some(StrOrObject::Object(object)) => Ok(ToolError::Object(object)),
            Some(StrOrObject::Other(found)) => Err(PayloadError::WrongType {
                field: "error",
                expected: "a string or an object",
                found,
            }),
        });
        check.finish((|| {
            Some(ToolCallFailed {
                tool: text(base, tool?),
                error: error?,
            })
        })())
    }
}

fields!(UsageFields {
    input_tokens: Loose<'de>,
    output_tokens: Loose<'de>,
    cost_usd: Loose<'de>,
});

impl<'de> Fields<'de> for UsageFields<'de> {
    type Out = Usage;

    fn finish(self, _base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let input_tokens = check.take(payload::non_negative_integer(
            "usage.input_tokens",
            self.input_tokens,
        ));
        let output_tokens = check.take(payload::non_negative_integer(
            "usage.output_tokens",
            self.output_tokens,
        ));
        let cost_usd = check.take(payload::optional_cost("usage.cost_usd", self.cost_usd));
        check.finish((|| {
            Some(Usage {
                input_tokens: input_tokens?,
                output_tokens: output_tokens?,
                cost_usd: cost_usd?,
            })
        })())
    }
}

fields!(CompletedFields {
    output_text: Loose<'de>,
    usage: Object<'de, UsageFields<'de>>,
});

impl<'de> Fields<'de> for CompletedFields<'de> {
    type Out = Completed;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let output_text = check.take(payload::string("output_text", self.output_text));
        let usage = check.take_all(Object::nested(self.usage, "usage", true, base));
        check.finish((|| {
            Some(Completed {
                output_text: text(base, output_text?),
                usage: usage?,
            })
        })())
    }
}

fields!(ErrorFields {
    code: Loose<'de>,
    message: Loose<'de>,
    param: Loose<'de>,
    hint: Loose<'de>,
});

impl<'de> Fields<'de> for ErrorFields<'de> {
    type Out = ErrorObject;

    fn finish(self, _base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        let mut check = Check::default();
        let code = check.take(payload::string("error.code", self.code));
        let message = check.take(payload::string("error.message", self.message));
        let param = check.take(payload::optional_string("error.param", self.param));
        let hint = check.take(payload::optional_string("error.hint", self.hint));
        check.finish((|| {
            Some(ErrorObject {
                code: ErrorCode::from(code?.into_owned()),
                message: message?.into_owned(),
                param: param?.map(Cow::into_owned),
                hint: hint?.map(Cow::into_owned),
            })
        })())
    }
}

fields!(FailedFields {
    error: Object<'de, ErrorFields<'de>>,
});

impl<'de> Fields<'de> for FailedFields<'de> {
    type Out = Failed;

    fn finish(self, base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        match Object::nested(self.error, "error", false, base)? {
            Some(error) => Ok(Failed { error }),
            // `nested` with nullable = false never gives `None`.
            None => Err(PayloadError::MissingField { field: "error" }.into()),
        }
    }
}

fields!(ToolNameFields {
    tool: Loose<'de>,
});

impl<'de> Fields<'de> for ToolNameFields<'de> {
    type Out = Option<Cow<'de, str>>;

    fn finish(self, _base: &Utf8Bytes) -> Result<Self::Out, PayloadErrors> {
        Ok(payload::string("tool", self.tool).ok())
    }
}
