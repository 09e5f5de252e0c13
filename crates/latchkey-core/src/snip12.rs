//! SNIP-12 revision 1 typed data: parsing and Poseidon hashing of any typed-data document.
//!
//! The hash follows the SNIP-12 text and, where the text and the ecosystem differ, the
//! behaviour of starknet.js `typedData.getMessageHash` (which wallets and the Chipi SDK
//! use): enum values hash as `H(variant_index, params…)` with an empty variant giving
//! `H(index, 0)`, enum variants are written `"Name":(…)` in type strings, and loose values
//! (`felt`, `shortstring`, …) are numbers when they parse as integers and short strings
//! otherwise. Revision 0 (Pedersen) is not supported.

use indexmap::IndexMap;
use num_bigint::{BigInt, Sign};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use starknet_rust_crypto::{poseidon_hash, poseidon_hash_many};

use crate::felt::{selector, short_string, starknet_keccak, Felt};

/// One member of a typed-data type: a struct field or an enum variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeMember {
    /// Field or variant name.
    pub name: String,
    /// Its type: a basic type, a preset, a user type, `T*`, `enum`, `merkletree` or, for a
    /// variant, a parenthesised list.
    #[serde(rename = "type")]
    pub r#type: String,
    /// For `enum` and `merkletree` members: the type they contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
}

impl TypeMember {
    /// A member with no `contains`.
    pub fn new(name: &str, ty: &str) -> Self {
        Self { name: name.to_string(), r#type: ty.to_string(), contains: None }
    }
}

/// A SNIP-12 typed-data document, as starknet.js and wallets exchange it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypedData {
    /// Type definitions, including `StarknetDomain`.
    pub types: IndexMap<String, Vec<TypeMember>>,
    /// The type of `message`.
    #[serde(rename = "primaryType")]
    pub primary_type: String,
    /// The domain separator object.
    pub domain: Value,
    /// The message object.
    pub message: Value,
}

/// Why a typed-data document cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedDataError {
    /// Not a revision 1 document (`StarknetDomain` with `revision: 1`).
    #[error("only SNIP-12 revision 1 typed data is supported")]
    UnsupportedRevision,
    /// A type is referenced but not defined.
    #[error("unknown type {0:?}")]
    UnknownType(String),
    /// A user type redefines a preset type.
    #[error("type {0:?} redefines a preset type")]
    PresetRedefined(String),
    /// A struct value lacks a field.
    #[error("missing value for {0:?}")]
    MissingField(String),
    /// A value does not have the shape its type requires.
    #[error("invalid value for {field:?} of type {ty:?}: {reason}")]
    InvalidValue {
        /// The field (or type) being encoded.
        field: String,
        /// Its type.
        ty: String,
        /// What is wrong.
        reason: String,
    },
    /// Types nest deeper than any real document does.
    #[error("typed data nests too deeply")]
    TooDeep,
}

type Result<T, E = TypedDataError> = std::result::Result<T, E>;

/// Nesting limit for values and types; typed data from the network is untrusted.
const MAX_DEPTH: usize = 32;

const PRESETS: [(&str, [(&str, &str); 2]); 3] = [
    ("u256", [("low", "u128"), ("high", "u128")]),
    ("TokenAmount", [("token_address", "ContractAddress"), ("amount", "u256")]),
    ("NftId", [("collection_address", "ContractAddress"), ("token_id", "u256")]),
];

fn preset(name: &str) -> Option<Vec<TypeMember>> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, fields)| fields.iter().map(|(field, ty)| TypeMember::new(field, ty)).collect())
}

fn is_parenthesised(ty: &str) -> bool {
    ty.len() >= 2 && ty.starts_with('(') && ty.ends_with(')')
}

fn escape(s: &str) -> String {
    format!("\"{s}\"")
}

impl TypedData {
    /// Parses a document from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Checks that this is a revision 1 document whose user types do not shadow presets.
    pub fn check_revision(&self) -> Result<()> {
        let revision_is_1 = match self.domain.get("revision") {
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            Some(Value::String(s)) => s == "1",
            _ => false,
        };
        if !self.types.contains_key("StarknetDomain") || !revision_is_1 {
            return Err(TypedDataError::UnsupportedRevision);
        }
        if let Some(name) = self.types.keys().find(|name| preset(name).is_some()) {
            return Err(TypedDataError::PresetRedefined(name.clone()));
        }
        Ok(())
    }

    /// The SNIP-12 message hash for `account`:
    /// `H('StarkNet Message', H(domain), account, H(message))`.
    pub fn message_hash(&self, account: &Felt) -> Result<Felt> {
        self.check_revision()?;
        let domain = self.struct_hash("StarknetDomain", &self.domain)?;
        let message = self.struct_hash(&self.primary_type, &self.message)?;
        Ok(poseidon_hash_many(&[starknet_message_prefix(), domain, *account, message]))
    }

    /// The hash of the domain separator.
    pub fn domain_hash(&self) -> Result<Felt> {
        self.check_revision()?;
        self.struct_hash("StarknetDomain", &self.domain)
    }

    /// `sn_keccak(encode_type(name))`.
    pub fn type_hash(&self, name: &str) -> Result<Felt> {
        Ok(starknet_keccak(self.encode_type(name)?.as_bytes()))
    }

    fn members(&self, name: &str) -> Option<Vec<TypeMember>> {
        self.types.get(name).cloned().or_else(|| preset(name))
    }

    fn is_composite(&self, name: &str) -> bool {
        self.types.contains_key(name) || preset(name).is_some()
    }

    /// The revision 1 type string of `name` and, sorted, of every type it references.
    pub fn encode_type(&self, name: &str) -> Result<String> {
        if !self.is_composite(name) {
            return Err(TypedDataError::UnknownType(name.to_string()));
        }
        let mut deps = Vec::new();
        self.collect_dependencies(name, None, &mut deps, 0)?;
        let (primary, rest) =
            deps.split_first().ok_or_else(|| TypedDataError::UnknownType(name.to_string()))?;
        let mut rest = rest.to_vec();
        rest.sort();
        let mut out = String::new();
        for dep in std::iter::once(primary).chain(rest.iter()) {
            let members =
                self.members(dep).ok_or_else(|| TypedDataError::UnknownType(dep.clone()))?;
            let fields: Vec<String> = members
                .iter()
                .map(|m| {
                    let target = if m.r#type == "enum" {
                        m.contains.clone().unwrap_or_default()
                    } else {
                        m.r#type.clone()
                    };
                    let ty = if is_parenthesised(&target) {
                        let inner: Vec<String> = target[1..target.len() - 1]
                            .split(',')
                            .map(|e| if e.is_empty() { String::new() } else { escape(e) })
                            .collect();
                        format!("({})", inner.join(","))
                    } else {
                        escape(&target)
                    };
                    format!("{}:{}", escape(&m.name), ty)
                })
                .collect();
            out.push_str(&format!("{}({})", escape(dep), fields.join(",")));
        }
        Ok(out)
    }

    fn collect_dependencies(
        &self,
        ty: &str,
        contains: Option<&str>,
        acc: &mut Vec<String>,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(TypedDataError::TooDeep);
        }
        let candidates: Vec<String> = if let Some(inner) = ty.strip_suffix('*') {
            vec![inner.to_string()]
        } else if ty == "enum" {
            contains.map(|c| vec![c.to_string()]).unwrap_or_default()
        } else if is_parenthesised(ty) {
            ty[1..ty.len() - 1]
                .split(',')
                .map(|t| t.strip_suffix('*').unwrap_or(t).to_string())
                .collect()
        } else {
            vec![ty.to_string()]
        };
        for candidate in candidates {
            if acc.contains(&candidate) || !self.is_composite(&candidate) {
                continue;
            }
            acc.push(candidate.clone());
            for member in self.members(&candidate).unwrap_or_default() {
                self.collect_dependencies(
                    &member.r#type,
                    member.contains.as_deref(),
                    acc,
                    depth + 1,
                )?;
            }
        }
        Ok(())
    }

    /// `H(type_hash(name), Enc(field_1), …, Enc(field_n))` for a struct value.
    pub fn struct_hash(&self, name: &str, data: &Value) -> Result<Felt> {
        self.struct_hash_at(name, data, 0)
    }

    fn struct_hash_at(&self, name: &str, data: &Value, depth: usize) -> Result<Felt> {
        if depth > MAX_DEPTH {
            return Err(TypedDataError::TooDeep);
        }
        let members =
            self.members(name).ok_or_else(|| TypedDataError::UnknownType(name.to_string()))?;
        let object = data.as_object().ok_or_else(|| invalid(name, name, "expected an object"))?;
        let mut elements = Vec::with_capacity(members.len() + 1);
        elements.push(self.type_hash(name)?);
        for member in &members {
            let value = match object.get(&member.name) {
                None => return Err(TypedDataError::MissingField(member.name.clone())),
                Some(Value::Null) if member.r#type != "enum" => {
                    return Err(TypedDataError::MissingField(member.name.clone()))
                }
                Some(value) => value,
            };
            elements.push(self.encode_value(&member.r#type, value, Some(member), depth + 1)?);
        }
        Ok(poseidon_hash_many(&elements))
    }

    fn encode_value(
        &self,
        ty: &str,
        data: &Value,
        member: Option<&TypeMember>,
        depth: usize,
    ) -> Result<Felt> {
        if depth > MAX_DEPTH {
            return Err(TypedDataError::TooDeep);
        }
        let field = member.map(|m| m.name.as_str()).unwrap_or(ty);
        if self.is_composite(ty) {
            return self.struct_hash_at(ty, data, depth);
        }
        if let Some(inner) = ty.strip_suffix('*') {
            let items = data.as_array().ok_or_else(|| invalid(field, ty, "expected an array"))?;
            let hashes = items
                .iter()
                .map(|item| self.encode_value(inner, item, None, depth + 1))
                .collect::<Result<Vec<_>>>()?;
            return Ok(poseidon_hash_many(&hashes));
        }
        match ty {
            "enum" => self.encode_enum(field, data, member, depth),
            "merkletree" => {
                let leaf_type = member
                    .and_then(|m| m.contains.as_deref())
                    .ok_or_else(|| invalid(field, ty, "merkletree needs `contains`"))?;
                if leaf_type.ends_with('*') {
                    return Err(invalid(field, ty, "merkletree leaves cannot be arrays"));
                }
                let leaves =
                    data.as_array().ok_or_else(|| invalid(field, ty, "expected an array"))?;
                let hashes = leaves
                    .iter()
                    .map(|leaf| self.encode_value(leaf_type, leaf, None, depth + 1))
                    .collect::<Result<Vec<_>>>()?;
                merkle_root(&hashes).ok_or_else(|| invalid(field, ty, "empty merkle tree"))
            }
            "selector" => match data {
                Value::String(s) if is_js_hex(s) => loose_felt(field, ty, data, &felt_range()),
                Value::String(s) => Ok(selector(s)),
                _ => Err(invalid(field, ty, "expected a function name or hex selector")),
            },
            "string" => {
                let s = data.as_str().ok_or_else(|| invalid(field, ty, "expected a string"))?;
                byte_array_hash(s)
                    .ok_or_else(|| invalid(field, ty, "only ASCII strings are supported"))
            }
            "i128" => {
                let value =
                    js_integer(data).ok_or_else(|| invalid(field, ty, "expected an integer"))?;
                let min = -(BigInt::from(1u8) << 127u32);
                let max = (BigInt::from(1u8) << 127u32) - 1u8;
                if value < min || value > max {
                    return Err(invalid(field, ty, "out of range"));
                }
                Ok(felt_from_signed(&value))
            }
            "u128" | "timestamp" => {
                let max = (BigInt::from(1u8) << 128u32) - 1u8;
                loose_felt(field, ty, data, &(BigInt::from(0u8), max))
            }
            "felt" | "shortstring" | "ContractAddress" | "ClassHash" => {
                loose_felt(field, ty, data, &felt_range())
            }
            "bool" => match data {
                Value::Bool(b) => Ok(Felt::from(u8::from(*b))),
                _ => Err(invalid(field, ty, "expected true or false")),
            },
            other => Err(TypedDataError::UnknownType(other.to_string())),
        }
    }

    fn encode_enum(
        &self,
        field: &str,
        data: &Value,
        member: Option<&TypeMember>,
        depth: usize,
    ) -> Result<Felt> {
        let enum_name = member
            .and_then(|m| m.contains.as_deref())
            .ok_or_else(|| invalid(field, "enum", "enum needs `contains`"))?;
        let variants = self
            .types
            .get(enum_name)
            .ok_or_else(|| TypedDataError::UnknownType(enum_name.to_string()))?;
        let (variant_name, variant_data) = data
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| invalid(field, "enum", "expected {\"Variant\": [values…]}"))?;
        let index = variants
            .iter()
            .position(|v| &v.name == variant_name)
            .ok_or_else(|| invalid(field, "enum", &format!("unknown variant {variant_name:?}")))?;
        let variant = &variants[index];
        if !is_parenthesised(&variant.r#type) {
            return Err(invalid(field, "enum", "variant types must be parenthesised"));
        }
        let mut elements = vec![Felt::from(index as u64)];
        let params: Vec<&str> = variant.r#type[1..variant.r#type.len() - 1].split(',').collect();
        for (i, param) in params.iter().enumerate() {
            if param.is_empty() {
                elements.push(Felt::ZERO);
                continue;
            }
            let value = variant_data
                .as_array()
                .and_then(|a| a.get(i))
                .ok_or_else(|| invalid(field, "enum", "missing variant parameter"))?;
            elements.push(self.encode_value(param, value, None, depth + 1)?);
        }
        Ok(poseidon_hash_many(&elements))
    }
}

/// `'StarkNet Message'` as a short string.
pub fn starknet_message_prefix() -> Felt {
    // 16 ASCII characters: always a valid short string.
    Felt::from_bytes_be_slice(b"StarkNet Message")
}

fn invalid(field: &str, ty: &str, reason: &str) -> TypedDataError {
    TypedDataError::InvalidValue {
        field: field.to_string(),
        ty: ty.to_string(),
        reason: reason.to_string(),
    }
}

fn felt_range() -> (BigInt, BigInt) {
    (BigInt::from(0u8), BigInt::from_biguint(Sign::Plus, Felt::MAX.to_biguint()))
}

/// Whether a `selector` string is a hex number (after trimming) rather than a name.
pub fn is_js_hex(s: &str) -> bool {
    let s = s.trim();
    (s.starts_with("0x") || s.starts_with("0X")) && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Most digits (after leading zeros) [`js_integer`] parses. A longer string is at least
/// `2^256` in any radix, outside every range a value is checked against, and reads as
/// exactly `±2^256`: parsing it would take time quadratic in its length.
const MAX_SIGNIFICANT_DIGITS: usize = 256;

/// How JavaScript's `BigInt(value)` reads a JSON value (strings: decimal, `0x`, `0o`,
/// `0b`, surrounding whitespace, empty = 0; numbers: integral only; booleans: 0/1).
fn js_integer(value: &Value) -> Option<BigInt> {
    match value {
        Value::Bool(b) => Some(BigInt::from(u8::from(*b))),
        Value::Number(n) => n.as_u64().map(BigInt::from).or_else(|| n.as_i64().map(BigInt::from)),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Some(BigInt::from(0u8));
            }
            let (negative, digits) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s.strip_prefix('+').unwrap_or(s)),
            };
            let (radix, body) = match digits.get(..2) {
                Some("0x" | "0X") => (16, &digits[2..]),
                Some("0o" | "0O") => (8, &digits[2..]),
                Some("0b" | "0B") => (2, &digits[2..]),
                _ => (10, digits),
            };
            // JS only accepts a sign on decimal strings.
            if body.is_empty() || (radix != 10 && digits.len() != s.len()) {
                return None;
            }
            if !body.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let significant = body.trim_start_matches('0');
            let value = if significant.len() > MAX_SIGNIFICANT_DIGITS {
                BigInt::from(1u8) << 256u32
            } else if significant.is_empty() {
                BigInt::from(0u8)
            } else {
                BigInt::parse_bytes(significant.as_bytes(), radix)?
            };
            Some(if negative { -value } else { value })
        }
        _ => None,
    }
}

/// starknet.js `getHex`: an integer when the value parses as one, else a short string;
/// then a range check.
fn loose_felt(field: &str, ty: &str, data: &Value, range: &(BigInt, BigInt)) -> Result<Felt> {
    let value = match js_integer(data) {
        Some(v) => v,
        None => match data {
            Value::String(s) => {
                let felt = short_string(s).map_err(|e| invalid(field, ty, &e.to_string()))?;
                BigInt::from_biguint(Sign::Plus, felt.to_biguint())
            }
            _ => return Err(invalid(field, ty, "expected a number or string")),
        },
    };
    if value < range.0 || value > range.1 {
        return Err(invalid(field, ty, "out of range"));
    }
    Ok(felt_from_signed(&value))
}

/// A `shortstring` value as the hash encodes it: an integer when it reads as one, else
/// the short string. [`crate::OutsideExecution::from_typed_data`] reads the domain's chain
/// id with it, so the id it returns is the one the hash commits to.
pub(crate) fn shortstring_value(data: &Value) -> Result<Felt> {
    loose_felt("shortstring", "shortstring", data, &felt_range())
}

/// Whether a `shortstring` text is encoded as an integer rather than as its characters.
pub(crate) fn reads_as_integer(text: &str) -> bool {
    js_integer(&Value::from(text)).is_some()
}

fn felt_from_signed(value: &BigInt) -> Felt {
    let (sign, magnitude) = value.clone().into_parts();
    let felt = Felt::from(magnitude);
    if sign == Sign::Minus {
        -felt
    } else {
        felt
    }
}

/// Poseidon hash of a string as a Cairo `ByteArray`:
/// `H(n_full_words, word…, pending_word, pending_len)`.
pub fn byte_array_hash(s: &str) -> Option<Felt> {
    if !s.is_ascii() {
        return None;
    }
    let bytes = s.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(31).collect();
    let (full, pending): (&[&[u8]], &[u8]) = match chunks.last() {
        Some(last) if last.len() < 31 => (&chunks[..chunks.len() - 1], last),
        _ => (&chunks[..], &[]),
    };
    let mut elements = Vec::with_capacity(full.len() + 3);
    elements.push(Felt::from(full.len() as u64));
    elements.extend(full.iter().map(|w| Felt::from_bytes_be_slice(w)));
    elements.push(Felt::from_bytes_be_slice(pending));
    elements.push(Felt::from(pending.len() as u64));
    Some(poseidon_hash_many(&elements))
}

/// Root of the SNIP-12 Merkle tree over `leaves` (sorted-pair Poseidon, odd nodes paired
/// with 0). `None` for no leaves.
pub fn merkle_root(leaves: &[Felt]) -> Option<Felt> {
    let mut level = leaves.to_vec();
    if level.is_empty() {
        return None;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(Felt::ZERO));
                if a <= b {
                    poseidon_hash(a, b)
                } else {
                    poseidon_hash(b, a)
                }
            })
            .collect();
    }
    level.first().copied()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::felt::tests::{any_felt, any_json, any_text};

    /// Type strings: every basic type and preset, the user types of [`any_typed_data`],
    /// arrays, variant lists, broken punctuation and arbitrary text.
    fn any_type() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(vec![
                "felt", "u128", "i128", "string", "bool", "selector", "merkletree", "enum",
                "ContractAddress", "ClassHash", "shortstring", "timestamp", "u256",
                "TokenAmount", "NftId", "A", "B", "E", "A*", "B*", "felt*", "u128**",
                "(felt,A)", "(A*,)", "()", "(,)", "(", ")", "*", "",
            ])
            .prop_map(String::from),
            1 => "[()*,ABEé]{0,5}",
            1 => any_text(),
        ]
    }

    /// Member (and object key) names: mostly the few the documents use.
    fn any_name() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from),
            1 => "[a-c]{2}|é|",
        ]
    }

    fn any_member() -> impl Strategy<Value = TypeMember> {
        (any_name(), any_type(), prop::option::of(any_type()))
            .prop_map(|(name, r#type, contains)| TypeMember { name, r#type, contains })
    }

    /// JSON whose object keys are member names, so values often reach the encoders.
    fn doc_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "[ ]?(0x)?[0-9a-f]{0,8}".prop_map(Value::from),
            "-?[0-9]{0,40}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any_json(),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                1 => prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                2 => prop::collection::vec((any_name(), inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// Revision 1 documents (mostly) over a few user types that may reference each other,
    /// themselves, the presets and types that do not exist.
    fn any_typed_data() -> impl Strategy<Value = TypedData> {
        let user_types = prop::collection::vec(
            (
                prop_oneof![
                    9 => prop::sample::select(vec!["A", "B", "E"]),
                    1 => Just("u256"),
                ],
                prop::collection::vec(any_member(), 0..4),
            ),
            0..4,
        );
        (
            user_types,
            prop::collection::vec(any_member(), 0..2),
            prop::sample::select(vec!["A", "A", "A", "B", "E", "u256", "felt", "Z"]),
            prop_oneof![4 => Just(json!(1)), 4 => Just(json!("1")), 1 => any_json()],
            doc_value(),
            doc_value(),
            prop::collection::vec(doc_value(), 4),
        )
            .prop_map(
                |(user_types, domain_members, primary, revision, domain, message, fill)| {
                    let mut types = IndexMap::new();
                    let mut domain_type = vec![TypeMember::new("revision", "shortstring")];
                    domain_type.extend(domain_members);
                    types.insert("StarknetDomain".to_string(), domain_type);
                    for (name, members) in user_types {
                        types.insert(name.to_string(), members);
                    }
                    // Give the domain's and the primary type's fields values, so hashing gets
                    // past the first missing field.
                    let filled = |value: Value, ty: &str| {
                        let mut object = if value.is_object() { value } else { json!({}) };
                        for (member, value) in types.get(ty).into_iter().flatten().zip(fill.clone())
                        {
                            if object.get(&member.name).is_none() {
                                object[member.name.as_str()] = value;
                            }
                        }
                        object
                    };
                    let mut domain = filled(domain, "StarknetDomain");
                    domain["revision"] = revision;
                    let message = filled(message, primary);
                    TypedData { types, primary_type: primary.into(), domain, message }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn typed_data_from_json_never_panics(text in any_text(), value in any_json()) {
            if TypedData::from_json(&text).is_ok() {
                prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            }
            if let Ok(td) = serde_json::from_value::<TypedData>(value) {
                let _ = td.message_hash(&Felt::ONE);
            }
        }

        #[test]
        fn typed_data_hashing_never_panics_and_survives_json(
            td in any_typed_data(),
            account in any_felt(),
        ) {
            for name in td.types.keys() {
                let _ = td.encode_type(name);
            }
            let _ = td.domain_hash();
            let hash = td.message_hash(&account);
            if hash.is_ok() {
                let text = serde_json::to_string(&td).unwrap();
                let back = TypedData::from_json(&text).unwrap();
                prop_assert_eq!(back.message_hash(&account), hash);
            }
        }

        #[test]
        fn js_integer_reads_every_javascript_integer_form(
            value in any::<i128>(),
            radix in prop::sample::select(vec![2u32, 8, 10, 16]),
            zeros in 0usize..300,
            pad in " {0,2}",
        ) {
            let prefix = match radix { 16 => "0x", 8 => "0o", 2 => "0b", _ => "" };
            let sign = if value < 0 { "-" } else { "" };
            let digits = BigInt::from(value).magnitude().to_str_radix(radix);
            let text = format!("{pad}{sign}{prefix}{}{digits}{pad}", "0".repeat(zeros));
            // JavaScript takes a sign only on decimal strings.
            let expected = (value >= 0 || radix == 10).then(|| BigInt::from(value));
            prop_assert_eq!(js_integer(&Value::from(text)), expected);
        }

        #[test]
        fn js_integer_never_panics_on_any_json(value in any_json()) {
            if let (Some(n), Value::Number(number)) = (js_integer(&value), &value) {
                prop_assert!(number.as_i64().map(BigInt::from) == Some(n.clone())
                    || number.as_u64().map(BigInt::from) == Some(n));
            }
        }

        #[test]
        fn felt_values_hash_the_same_in_hex_and_decimal(value in any_felt()) {
            let td = single_field("felt");
            let hex = td.struct_hash("M", &json!({ "a": format!("{value:#x}") }));
            let decimal = td.struct_hash("M", &json!({ "a": value.to_biguint().to_string() }));
            prop_assert!(hex.is_ok());
            prop_assert_eq!(hex, decimal);
        }

        #[test]
        fn byte_array_hash_accepts_exactly_ascii(text in any_text()) {
            prop_assert_eq!(byte_array_hash(&text).is_some(), text.is_ascii());
        }

        #[test]
        fn merkle_root_ignores_pair_order(leaves in prop::collection::vec(any_felt(), 0..9)) {
            let root = merkle_root(&leaves);
            prop_assert_eq!(root.is_none(), leaves.is_empty());
            if let [a, b] = leaves[..] {
                prop_assert_eq!(merkle_root(&[b, a]), root);
            }
            if let [leaf] = leaves[..] {
                prop_assert_eq!(root, Some(leaf));
            }
        }
    }

    /// A revision 1 document whose message type `M` has one field `a` of type `ty`.
    fn single_field(ty: &str) -> TypedData {
        serde_json::from_value(json!({
            "types": {
                "StarknetDomain": [{"name": "revision", "type": "shortstring"}],
                "M": [{"name": "a", "type": ty}]
            },
            "primaryType": "M",
            "domain": {"revision": "1"},
            "message": {}
        }))
        .unwrap()
    }

    #[test]
    fn huge_integer_strings_are_refused_without_parsing_them() {
        // Parsing two million decimal digits takes seconds (quadratic time); the value is
        // out of range whatever the digits are, so it is refused at once.
        let digits = "9".repeat(2_000_000);
        let started = std::time::Instant::now();
        for (ty, value) in [
            ("u128", digits.clone()),
            ("felt", format!("-{digits}")),
            ("i128", format!("0x{}", "f".repeat(2_000_000))),
            ("ContractAddress", format!(" 0b{}", "1".repeat(2_000_000))),
        ] {
            let result = single_field(ty).struct_hash("M", &json!({ "a": value }));
            let out_of_range = matches!(
                &result,
                Err(TypedDataError::InvalidValue { reason, .. }) if reason == "out of range"
            );
            assert!(out_of_range, "{ty}: {result:?}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
        // Leading zeros do not count: JavaScript reads this as 1.
        let padded = format!("0x{}1", "0".repeat(100_000));
        assert_eq!(js_integer(&Value::from(padded)), Some(BigInt::from(1)));
    }

    #[test]
    fn long_short_string_errors_do_not_echo_the_value() {
        let long = "x".repeat(100_000);
        let err = single_field("shortstring").struct_hash("M", &json!({ "a": long })).unwrap_err();
        assert!(err.to_string().len() < 200, "{} bytes", err.to_string().len());
    }

    #[test]
    fn spec_example_type_string() {
        let td: TypedData = serde_json::from_value(serde_json::json!({
            "types": {
                "StarknetDomain": [
                    {"name": "name", "type": "shortstring"},
                    {"name": "version", "type": "shortstring"},
                    {"name": "chainId", "type": "shortstring"},
                    {"name": "revision", "type": "shortstring"}
                ],
                "Example Message": [
                    {"name": "Name", "type": "string"},
                    {"name": "Some Array", "type": "u128*"},
                    {"name": "Some Object", "type": "My Object"},
                    {"name": "Amount", "type": "TokenAmount"}
                ],
                "My Object": [
                    {"name": "Some Selector", "type": "selector"},
                    {"name": "Some Contract Address", "type": "ContractAddress"}
                ]
            },
            "primaryType": "Example Message",
            "domain": {"name": "Starknet Example", "version": "1", "chainId": "SN_MAIN", "revision": 1},
            "message": {}
        }))
        .unwrap();
        assert_eq!(
            td.encode_type("Example Message").unwrap(),
            "\"Example Message\"(\"Name\":\"string\",\"Some Array\":\"u128*\",\"Some Object\":\"My Object\",\"Amount\":\"TokenAmount\")\"My Object\"(\"Some Selector\":\"selector\",\"Some Contract Address\":\"ContractAddress\")\"TokenAmount\"(\"token_address\":\"ContractAddress\",\"amount\":\"u256\")\"u256\"(\"low\":\"u128\",\"high\":\"u128\")"
        );
    }

    #[test]
    fn rejects_revision_0_and_bad_values() {
        let mut td: TypedData = serde_json::from_value(serde_json::json!({
            "types": {"StarknetDomain": [{"name": "name", "type": "shortstring"}], "M": [{"name": "a", "type": "u128"}]},
            "primaryType": "M",
            "domain": {"name": "x"},
            "message": {"a": "0x1"}
        }))
        .unwrap();
        assert_eq!(td.message_hash(&Felt::ONE), Err(TypedDataError::UnsupportedRevision));
        td.domain = serde_json::json!({"name": "x", "revision": "1"});
        assert!(td.message_hash(&Felt::ONE).is_ok());
        td.message = serde_json::json!({"a": "0x100000000000000000000000000000000"});
        assert!(matches!(td.message_hash(&Felt::ONE), Err(TypedDataError::InvalidValue { .. })));
        td.message = serde_json::json!({});
        assert!(matches!(td.message_hash(&Felt::ONE), Err(TypedDataError::MissingField(_))));
    }

    #[test]
    fn js_integer_rules() {
        assert_eq!(js_integer(&Value::from("")), Some(BigInt::from(0)));
        assert_eq!(js_integer(&Value::from(" 0x1f ")), Some(BigInt::from(31)));
        assert_eq!(js_integer(&Value::from("-5")), Some(BigInt::from(-5)));
        assert_eq!(js_integer(&Value::from("-0x5")), None);
        assert_eq!(js_integer(&Value::from("SN_MAIN")), None);
        assert_eq!(js_integer(&Value::from(1.5)), None);
    }

    #[test]
    fn merkle_root_pairs_sorted_and_pads_with_zero() {
        let leaves: Vec<Felt> = (1u8..=3).map(Felt::from).collect();
        let left = poseidon_hash(Felt::from(1u8), Felt::from(2u8));
        let right = poseidon_hash(Felt::ZERO, Felt::from(3u8));
        let expected =
            if left <= right { poseidon_hash(left, right) } else { poseidon_hash(right, left) };
        assert_eq!(merkle_root(&leaves), Some(expected));
        assert_eq!(merkle_root(&leaves[..1]), Some(Felt::ONE));
        assert_eq!(merkle_root(&[]), None);
    }
}
