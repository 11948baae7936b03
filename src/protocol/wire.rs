//! One table per wire vocabulary.
//!
//! Each vocabulary of the contract (rule codes, severities, event names,
//! statuses, the request's enumerated fields) is written once, as rows of
//! [`wire_enum!`]: the enum, its variant docs, its wire names, parsing
//! ([`FromStr`](std::str::FromStr), serde) and display all come from that
//! one table, so they cannot drift apart. A row can carry more columns as a
//! `const` value of a type of the vocabulary's own (a rule's severity and
//! meaning, an event's class).
//!
//! A vocabulary is closed (a name outside the table is an error) or open (a
//! name outside the table is kept, so that a peer newer than this crate,
//! which added a name, is still read and written back unchanged).

/// What every [`wire_enum!`] table offers to code that is generic over
/// vocabularies, such as a message listing the names a field accepts.
pub(crate) trait Vocabulary: Sized + 'static {
    /// Every value of the table, in its order (an open vocabulary's
    /// unknown names are not in it).
    const TABLE: &'static [Self];

    /// The name on the wire.
    fn wire_name(&self) -> &str;

    /// The table's value whose wire name is exactly `name`, and `None` for any
    /// other name, even in an open vocabulary.
    fn lookup(name: &str) -> Option<Self>;
}

/// The wire names of `T`'s table, in its order.
pub(crate) fn names<T: Vocabulary>() -> impl Iterator<Item = &'static str> {
    T::TABLE.iter().map(T::wire_name)
}

/// Declares a wire vocabulary from one table.
///
/// Each row is `Variant = "wire-name", "what it means"`, and `=> extra`
/// when the vocabulary declares a further column with `[info: Type]`. A row
/// may start with attributes for its variant, such as `#[default]` when the
/// enum's own attributes derive `Default`.
///
/// A closed vocabulary starts with `error UnknownName("a thing");`. The
/// macro generates the enum with `Copy`, `Eq`, `Ord` and `Hash`; `ALL`;
/// `as_str`; `description`; `from_wire` (exact, case-sensitive); `info` (the
/// extra column); `Display`; `FromStr` with the typed error `UnknownName`;
/// and serde both ways as the wire name.
///
/// An open vocabulary starts with `open Other(OtherName);` instead (and has
/// no extra column). The enum gets a last variant `Other(OtherName)` that
/// keeps any name not in the table, byte for byte; `OtherName` can only be
/// made by parsing, so it never holds a name the table has and the derived
/// `Eq`, `Ord` and `Hash` agree with the wire names. The enum is `Clone`,
/// not `Copy`; `as_str` and `description` take `&self`; `from_wire` still
/// finds table rows only, while `From<&str>`, `FromStr` and serde never fail.
/// `is_known` tells the two apart.
macro_rules! wire_enum {
    // A vocabulary with a further column: every row has its value.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            error $error:ident($what:literal);
            [info: $info:ty]
            $(
                $(#[$vattr:meta])*
                $variant:ident = $wire:literal, $doc:literal => $extra:expr
            );+ $(;)?
        }
    ) => {
        wire_enum! {
            $(#[$meta])*
            $vis enum $name {
                error $error($what);
                $($(#[$vattr])* $variant = $wire, $doc);+
            }
        }

        impl $name {
            /// The row's further columns.
            pub const fn info(self) -> &'static $info {
                match self {
                    $($name::$variant => &const { $extra },)+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            error $error:ident($what:literal);
            $(
                $(#[$vattr:meta])*
                $variant:ident = $wire:literal, $doc:literal
            );+ $(;)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $(
                $(#[$vattr])*
                #[doc = concat!("`", $wire, "`: ", $doc)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in the order of the contract's table.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// What the value means, in one line.
            pub const fn description(self) -> &'static str {
                match self {
                    $($name::$variant => $doc,)+
                }
            }

            /// The value whose wire name is exactly `name`.
            pub fn from_wire(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        #[doc = concat!("A name that is not ", $what, ".")]
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        #[error("`{0}` is not {what}", what = $what)]
        pub struct $error(pub String);

        impl $crate::protocol::wire::Vocabulary for $name {
            const TABLE: &'static [Self] = Self::ALL;

            fn wire_name(&self) -> &str {
                self.as_str()
            }

            fn lookup(name: &str) -> Option<Self> {
                Self::from_wire(name)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_wire(s).ok_or_else(|| $error(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::from_wire(&name).ok_or_else(|| {
                    serde::de::Error::custom(format_args!("`{}` is not {}", name, $what))
                })
            }
        }
    };
    // An open vocabulary: a name outside the table is kept, not refused.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            open $other_variant:ident($other:ident);
            $(
                $(#[$vattr:meta])*
                $variant:ident = $wire:literal, $doc:literal
            );+ $(;)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $(
                $(#[$vattr])*
                #[doc = concat!("`", $wire, "`: ", $doc)]
                $variant,
            )+
            /// A name the table does not hold (one a newer peer added), kept
            /// as it came.
            $other_variant($other),
        }

        #[doc = concat!(
            "A [`", stringify!($name), "`] name that is not in its table, kept byte for byte.\n\n",
            "Only parsing makes one, so it never holds a name the table has.",
        )]
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis struct $other(Box<str>);

        impl $other {
            /// The name as it came.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $other {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            /// Every value of the table, in the order of the contract's table
            #[doc = concat!("(never [`", stringify!($name), "::", stringify!($other_variant), "`]).")]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire, known or not.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::$other_variant(other) => other.as_str(),
                }
            }

            /// What the value means, in one line; `None` for a name the
            /// table does not hold.
            pub const fn description(&self) -> Option<&'static str> {
                match self {
                    $($name::$variant => Some($doc),)+
                    $name::$other_variant(_) => None,
                }
            }

            /// The table's value whose wire name is exactly `name`; `None`
            /// for any other name (which [`str::parse`] keeps instead).
            pub fn from_wire(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Whether the value is one of the table's.
            pub const fn is_known(&self) -> bool {
                !matches!(self, $name::$other_variant(_))
            }
        }

        impl $crate::protocol::wire::Vocabulary for $name {
            const TABLE: &'static [Self] = Self::ALL;

            fn wire_name(&self) -> &str {
                self.as_str()
            }

            fn lookup(name: &str) -> Option<Self> {
                Self::from_wire(name)
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                Self::from_wire(name).unwrap_or_else(|| $name::$other_variant($other(name.into())))
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                Self::from_wire(&name)
                    .unwrap_or_else(|| $name::$other_variant($other(name.into_boxed_str())))
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // A visitor, not a `String`: a known name costs no allocation.
                struct Visitor;

                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }

                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }

                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                }

                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    use super::{Vocabulary, names};

    wire_enum! {
        /// A test vocabulary.
        pub enum Fruit {
            error UnknownFruit("a fruit");
            [info: u8]
            Apple = "apple", "red or green" => 1;
            BloodOrange = "blood-orange", "red inside" => 2;
        }
    }

    #[test]
    fn every_column_comes_from_the_row() {
        assert_eq!(Fruit::ALL, [Fruit::Apple, Fruit::BloodOrange]);
        for &fruit in Fruit::ALL {
            assert_eq!(fruit.as_str().parse::<Fruit>(), Ok(fruit));
            assert_eq!(fruit.to_string(), fruit.as_str());
            let json = serde_json::to_string(&fruit).unwrap();
            assert_eq!(serde_json::from_str::<Fruit>(&json).unwrap(), fruit);
        }
        assert_eq!(*Fruit::BloodOrange.info(), 2);
        assert_eq!(Fruit::Apple.description(), "red or green");
        assert_eq!(
            "pear".parse::<Fruit>(),
            Err(UnknownFruit("pear".to_owned()))
        );
        assert!(serde_json::from_str::<Fruit>("\"Apple\"").is_err());
    }

    wire_enum! {
        /// A test vocabulary that a newer peer may extend.
        #[derive(Default)]
        pub enum Color {
            open Other(OtherColor);
            Red = "red", "like a tomato";
            #[default]
            DeepBlue = "deep-blue", "like the sea";
        }
    }

    #[test]
    fn open_vocabulary_known_values_round_trip() {
        assert_eq!(Color::ALL, [Color::Red, Color::DeepBlue]);
        for color in Color::ALL {
            assert_eq!(color.as_str().parse::<Color>(), Ok(color.clone()));
            assert_eq!(Color::from_wire(color.as_str()).as_ref(), Some(color));
            assert_eq!(color.to_string(), color.as_str());
            assert!(color.is_known());
            let json = serde_json::to_string(color).unwrap();
            assert_eq!(json, format!("\"{color}\""));
            assert_eq!(serde_json::from_str::<Color>(&json).unwrap(), *color);
        }
        assert_eq!(Color::DeepBlue.description(), Some("like the sea"));
        assert_eq!(Color::default(), Color::DeepBlue);
    }

    #[test]
    fn open_vocabulary_keeps_an_unknown_name() {
        for name in ["green", "Red", "", "with \"quotes\" and \\", "é"] {
            let color: Color = name.parse().unwrap();
            assert!(matches!(&color, Color::Other(other) if other.as_str() == name));
            assert!(!color.is_known());
            assert_eq!(color.description(), None);
            assert_eq!(Color::from_wire(name), None);
            assert_eq!(color.as_str(), name);
            assert_eq!(color, name);
            assert_eq!(Color::from(name.to_owned()), color);
            // Serde reads it from a borrowed and from an owned string alike,
            // and writes back exactly what came.
            let json = serde_json::to_string(name).unwrap();
            assert_eq!(serde_json::from_str::<Color>(&json).unwrap(), color);
            let value = serde_json::Value::String(name.to_owned());
            assert_eq!(serde_json::from_value::<Color>(value).unwrap(), color);
            assert_eq!(serde_json::to_string(&color).unwrap(), json);
        }
        // A known name never lands in `Other`, however it is read.
        assert_eq!(Color::from("red".to_owned()), Color::Red);
        assert_eq!(
            serde_json::from_value::<Color>(serde_json::json!("red")).unwrap(),
            Color::Red
        );
        assert!(serde_json::from_str::<Color>("1").is_err());
    }

    #[test]
    fn names_come_from_the_table() {
        assert_eq!(
            names::<Fruit>().collect::<Vec<_>>(),
            ["apple", "blood-orange"]
        );
        assert_eq!(names::<Color>().collect::<Vec<_>>(), ["red", "deep-blue"]);
        assert_eq!(<Color as Vocabulary>::lookup("green"), None);
        assert_eq!(<Fruit as Vocabulary>::lookup("apple"), Some(Fruit::Apple));
    }
}
