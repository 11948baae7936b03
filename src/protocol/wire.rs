//! One table per wire vocabulary.
//!
//! Each closed vocabulary of the contract (rule codes, severities, event
//! names, statuses) is written once, as rows of [`wire_enum!`]: the enum,
//! its variant docs, its wire names, parsing ([`FromStr`](std::str::FromStr),
//! serde) and display all come from that one table, so they cannot drift
//! apart. A row can carry more columns as a `const` value of a type of the
//! vocabulary's own (a rule's severity and meaning, an event's class).

/// Declares a closed wire vocabulary from one table.
///
/// Each row is `Variant = "wire-name", "what it means"`, and `=> extra`
/// when the vocabulary declares a further column with `[info: Type]`. The
/// macro generates the enum with `Copy`, `Eq`, `Ord` and `Hash`; `ALL`;
/// `as_str`; `from_wire` (exact, case-sensitive); `info` (the extra column);
/// `Display`; `FromStr` with a typed error; and serde both ways as the wire
/// name.
macro_rules! wire_enum {
    // A vocabulary with a further column: every row has its value.
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            error $error:ident($what:literal);
            [info: $info:ty]
            $(
                $variant:ident = $wire:literal, $doc:literal => $extra:expr
            );+ $(;)?
        }
    ) => {
        wire_enum! {
            $(#[$meta])*
            $vis enum $name {
                error $error($what);
                $($variant = $wire, $doc);+
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
                $variant:ident = $wire:literal, $doc:literal
            );+ $(;)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $(
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
}

pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
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
}
