//! Errors written for a learner: what went wrong, what was expected, what was given, and what to do next.

use std::fmt;

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything the engine can refuse or fail at.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// An op was given shapes or parameters it cannot work with. Nothing was computed.
    Op(OpError),
    /// The GPU could not be reached, or reported a failure while working.
    Gpu(String),
}

/// What kind of mistake an [`OpError`] reports, for code that reacts to it (tests, the lessons' inline notices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A tensor has the wrong rank or a dimension that does not match another tensor.
    Shape,
    /// A dimension or a size parameter is zero.
    ZeroSize,
    /// A stride or dilation is zero.
    Stride,
    /// The (dilated) kernel is larger than the padded input.
    KernelTooLarge,
    /// Reflection padding is as wide as the input or wider.
    PaddingTooWide,
    /// Channels do not split evenly into the requested groups.
    Groups,
    /// A tensor length does not match its shape.
    Length,
    /// An index (a class target, an embedding row) is outside its range.
    IndexOutOfRange,
    /// A probability outside [0, 1), or another value outside the range the op accepts.
    Value,
    /// The inputs live on different devices (the CPU and a GPU, or two GPUs).
    Device,
}

/// An op's refusal, naming the op, the problem, what was expected, what was given, and a hint.
#[derive(Clone, Debug, PartialEq)]
pub struct OpError {
    /// The op's name, as in `engine/src/ops/<op>.rs`.
    pub op: &'static str,
    /// The kind of mistake.
    pub kind: ErrorKind,
    /// One sentence saying what is wrong.
    pub problem: String,
    /// What the op needs.
    pub expected: String,
    /// What it was given.
    pub given: String,
    /// What the learner can change to make it work.
    pub hint: String,
}

impl OpError {
    /// Starts an error for `op`; fill in the rest with the builder methods.
    pub fn new(op: &'static str, kind: ErrorKind, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        Self { op, kind, problem, expected: String::new(), given: String::new(), hint: String::new() }
    }

    /// What the op needs.
    pub fn expected(mut self, expected: impl fmt::Display) -> Self {
        self.expected = expected.to_string();
        self
    }

    /// What it was given.
    pub fn given(mut self, given: impl fmt::Display) -> Self {
        self.given = given.to_string();
        self
    }

    /// What to change.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.problem)?;
        if !self.expected.is_empty() || !self.given.is_empty() {
            write!(f, " (expected {}, given {})", self.expected, self.given)?;
        }
        if !self.hint.is_empty() {
            write!(f, ". Hint: {}", self.hint)?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Op(e) => e.fmt(f),
            Error::Gpu(message) => write!(f, "the GPU failed: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<OpError> for Error {
    fn from(e: OpError) -> Self {
        Error::Op(e)
    }
}
