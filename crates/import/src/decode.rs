//! Decoding the bytes of a CSV file: UTF-8 (with or without BOM), else Shift_JIS.

use crate::ImportError;

/// How a file was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceEncoding {
    /// UTF-8.
    Utf8,
    /// UTF-8 with a byte order mark.
    Utf8Bom,
    /// Shift_JIS (Windows-31J), as Japanese Excel saves CSV.
    ShiftJis,
}

impl SourceEncoding {
    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "UTF-8",
            SourceEncoding::Utf8Bom => "UTF-8 with BOM",
            SourceEncoding::ShiftJis => "Shift_JIS",
        }
    }
}

/// Decoded text and the encoding it came in.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, without BOM.
    pub text: String,
    /// The encoding detected.
    pub encoding: SourceEncoding,
}

/// Detects and decodes. Valid UTF-8 wins (Shift_JIS text with Japanese in it is almost
/// never valid UTF-8); otherwise the bytes must decode as Shift_JIS without errors.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|_| ImportError::Encoding)?;
        return Ok(Decoded {
            text: text.to_owned(),
            encoding: SourceEncoding::Utf8Bom,
        });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            text: text.to_owned(),
            encoding: SourceEncoding::Utf8,
        });
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ImportError::Encoding);
    }
    Ok(Decoded {
        text: text.into_owned(),
        encoding: SourceEncoding::ShiftJis,
    })
}
