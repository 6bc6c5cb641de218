//! The safetensors file format (Hugging Face's): how a trained model's weights leave the page and come back, and how
//! PyTorch reads them (`safetensors.torch.load_file`, or the few lines of Python the export writes out).
//!
//! ```text
//! [8 bytes]  n, the header's length, a little-endian u64
//! [n bytes]  a JSON object: for each tensor  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//!            and optionally "__metadata__": {"key": "value", ...} (strings only); padded with spaces
//! [rest]     the tensors' bytes, little-endian, each at its offsets (relative to the end of the header)
//! ```
//!
//! The engine writes `F32` tensors (and `I64` where PyTorch keeps an integer buffer, such as batch norm's
//! `num_batches_tracked`) and reads both; every claim of the header is checked against the file before a value is
//! read, so a truncated file or a lying header is an error in words, never a panic.

use crate::error::{ErrorKind, OpError, Result};
use crate::tensor::Tensor;

/// One tensor of a file: its values as `f32` (an `I64` tensor's values converted), and whether it was stored as
/// an integer.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The tensor's name (`0.weight`).
    pub name: String,
    /// Its values, on the CPU.
    pub tensor: Tensor,
    /// Stored as `I64` (an integer buffer) rather than `F32`.
    pub integer: bool,
}

/// A whole file: its tensors in the order of their data, and its metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    /// The tensors.
    pub entries: Vec<Entry>,
    /// `__metadata__`'s pairs, in the header's order.
    pub metadata: Vec<(String, String)>,
}

impl File {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The metadata value of `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = String::from("{");
        if !self.metadata.is_empty() {
            let pairs: Vec<String> = self.metadata.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
            header += &format!("\"__metadata__\":{{{}}}", pairs.join(","));
        }
        let mut data = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let begin = data.len();
            if e.integer {
                data.extend(e.tensor.data().iter().flat_map(|&v| (v as i64).to_le_bytes()));
            } else {
                data.extend(e.tensor.data().iter().flat_map(|&v| v.to_le_bytes()));
            }
            let shape: Vec<String> = e.tensor.shape().dims().iter().map(|d| d.to_string()).collect();
            let comma = if i > 0 || !self.metadata.is_empty() { "," } else { "" };
            header += &format!(
                "{comma}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{begin},{}]}}",
                quote(&e.name),
                if e.integer { "I64" } else { "F32" },
                shape.join(","),
                data.len()
            );
        }
        header.push('}');
        while header.len() % 8 != 0 {
            header.push(' ');
        }
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    /// Reads a file, checking every claim its header makes.
    pub fn from_bytes(bytes: &[u8]) -> Result<File> {
        let bad = |problem: &str, given: String| -> crate::error::Error {
            OpError::new("safetensors", ErrorKind::Value, problem)
                .expected("a safetensors file as the engine's export or safetensors.torch.save_file writes it")
                .given(given)
                .hint("export the model again, or choose another file")
                .into()
        };
        let Some(head) = bytes.get(..8) else {
            return Err(bad("the file is too short to be a safetensors file", format!("{} bytes", bytes.len())));
        };
        let n = u64::from_le_bytes(head.try_into().expect("8 bytes"));
        let data_start = 8u64.checked_add(n).filter(|&end| end <= bytes.len() as u64);
        let Some(data_start) = data_start else {
            return Err(bad("the header claims to be longer than the file", format!("a header of {n} bytes in a file of {} bytes", bytes.len())));
        };
        let header = std::str::from_utf8(&bytes[8..data_start as usize]).map_err(|_| bad("the header is not text", format!("{n} bytes")))?;
        let value = Json::parse(header).map_err(|e| bad("the header is not valid JSON", e))?;
        let Json::Object(fields) = value else { return Err(bad("the header is not a JSON object", header.chars().take(80).collect())) };
        let data = &bytes[data_start as usize..];
        let mut file = File::default();
        for (name, field) in fields {
            if name == "__metadata__" {
                let Json::Object(pairs) = field else { return Err(bad("__metadata__ is not an object", String::new())) };
                for (k, v) in pairs {
                    let Json::String(v) = v else { return Err(bad("a metadata value is not a string", k)) };
                    file.metadata.push((k, v));
                }
                continue;
            }
            let dtype = field.get("dtype").and_then(Json::as_str).ok_or_else(|| bad("a tensor has no dtype", name.clone()))?;
            let (width, integer) = match dtype {
                "F32" => (4, false),
                "I64" => (8, true),
                other => return Err(bad("a tensor has a dtype the engine does not read", format!("{name}: {other} (F32 and I64 are read)"))),
            };
            let shape: Vec<usize> = field
                .get("shape")
                .and_then(Json::as_array)
                .and_then(|dims| dims.iter().map(Json::as_usize).collect())
                .ok_or_else(|| bad("a tensor's shape is not a list of whole numbers", name.clone()))?;
            let offsets: Vec<usize> = field
                .get("data_offsets")
                .and_then(Json::as_array)
                .and_then(|o| o.iter().map(Json::as_usize).collect())
                .filter(|o: &Vec<usize>| o.len() == 2)
                .ok_or_else(|| bad("a tensor's data_offsets are not two whole numbers", name.clone()))?;
            let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            let needed = count.and_then(|c| c.checked_mul(width));
            let (begin, end) = (offsets[0], offsets[1]);
            if end < begin || end > data.len() || needed != Some(end - begin) {
                return Err(bad(
                    "a tensor's bytes do not match its shape, or lie outside the file",
                    format!("{name}: shape {shape:?} of {dtype} at bytes {begin}..{end} of {}", data.len()),
                ));
            }
            let raw = &data[begin..end];
            let values: Vec<f32> = if integer {
                raw.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect()
            } else {
                raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect()
            };
            file.entries.push(Entry { tensor: Tensor::new(shape, values)?, name, integer });
        }
        Ok(file)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON a safetensors header holds: objects (in their order), arrays, strings and numbers (`true`, `false`
/// and `null` are read too, and refused where a header needs something else).
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    Number(f64),
    Other,
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        if let Json::String(s) = self { Some(s) } else { None }
    }

    fn as_array(&self) -> Option<&[Json]> {
        if let Json::Array(a) = self { Some(a) } else { None }
    }

    fn as_usize(&self) -> Option<usize> {
        match *self {
            Json::Number(v) if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 => Some(v as usize),
            _ => None,
        }
    }

    /// Parses `text`, or says where it stops making sense.
    fn parse(text: &str) -> std::result::Result<Json, String> {
        let mut p = Parser { bytes: text.as_bytes(), at: 0, depth: 0 };
        let value = p.value()?;
        p.space();
        if p.at != p.bytes.len() {
            return Err(format!("unexpected text at byte {}", p.at));
        }
        Ok(value)
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.space();
        if self.bytes.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> std::result::Result<Json, String> {
        self.space();
        self.depth += 1;
        if self.depth > 64 {
            return Err("the JSON nests too deeply".into());
        }
        let value = match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.space();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(format!("a ':' was expected at byte {}", self.at));
                        }
                        fields.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("a ',' or '}}' was expected at byte {}", self.at));
                        }
                    }
                }
                Json::Object(fields)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("a ',' or ']' was expected at byte {}", self.at));
                        }
                    }
                }
                Json::Array(items)
            }
            Some(b'"') => Json::String(self.string()?),
            Some(b't' | b'f' | b'n') => {
                for word in ["true", "false", "null"] {
                    if self.bytes[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        self.depth -= 1;
                        return Ok(Json::Other);
                    }
                }
                return Err(format!("unexpected text at byte {}", self.at));
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| "a number is not text".to_string())?;
                Json::Number(text.parse().map_err(|_| format!("{text} is not a number"))?)
            }
            _ => return Err(format!("a value was expected at byte {}", self.at)),
        };
        self.depth -= 1;
        Ok(value)
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(format!("a string was expected at byte {}", self.at));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.bytes.get(self.at) {
                None => return Err("a string is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = self.bytes.get(self.at + 1).copied();
                    self.at += 2;
                    match escaped {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at..self.at + 4).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u32::from_str_radix(h, 16).ok());
                            let c = hex.and_then(char::from_u32).ok_or("a \\u escape is not a character")?;
                            out.extend(c.to_string().as_bytes());
                            self.at += 4;
                        }
                        _ => return Err(format!("an unknown escape at byte {}", self.at - 1)),
                    }
                }
                Some(&b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "a string is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> File {
        File {
            entries: vec![
                Entry { name: "0.weight".into(), tensor: Tensor::from_fn([2, 3], |i| i as f32 * 0.5 - 1.0), integer: false },
                Entry { name: "1.num_batches_tracked".into(), tensor: Tensor::scalar(7.0), integer: true },
            ],
            metadata: vec![("task".into(), "shapes \"cnn\"".into())],
        }
    }

    #[test]
    fn a_file_reads_back_as_written() {
        let bytes = sample().to_bytes();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0, "the header is padded to 8 bytes");
        assert_eq!(bytes.len(), 8 + n + 6 * 4 + 8);
        assert_eq!(File::from_bytes(&bytes).unwrap(), sample());
    }

    #[test]
    fn pythons_safetensors_bytes_read() {
        // safetensors.torch.save_file({"w": torch.tensor([[1., 2.], [3., 4.]])}, f, metadata={"a": "b"}) (0.4), byte
        // for byte: the header as it writes it, then the data.
        let header = br#"{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}      "#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header);
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            bytes.extend(v.to_le_bytes());
        }
        let file = File::from_bytes(&bytes).unwrap();
        assert_eq!(file.meta("a"), Some("b"));
        assert_eq!(file.get("w").unwrap().tensor.data(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(file.get("w").unwrap().tensor.shape().dims(), [2, 2]);
    }

    #[test]
    fn a_broken_file_is_refused_in_words() {
        let good = sample().to_bytes();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "too short"),
            (good[..good.len() - 3].to_vec(), "outside the file"),
            ({ let mut b = good.clone(); b[..8].copy_from_slice(&(1u64 << 40).to_le_bytes()); b }, "longer than the file"),
            ({ let mut b = good.clone(); b[9] = b'x'; b }, "not valid JSON"),
        ];
        for (bytes, problem) in cases {
            let e = File::from_bytes(&bytes).unwrap_err().to_string();
            assert!(e.contains(problem), "{e}");
        }
        // A header whose shape lies about the data.
        let mut lying = good.clone();
        let at = lying.windows(13).position(|w| w == b"\"shape\":[2,3]").unwrap();
        lying[at + 9] = b'3';
        let e = File::from_bytes(&lying).unwrap_err().to_string();
        assert!(e.contains("do not match its shape"), "{e}");
    }
}
