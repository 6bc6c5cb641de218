//! What a lesson's "PyTorch" panel promises: run in Python, it prints the numbers the page shows for the same state.
//! Every panel ends with [`footer`], which prints them under fixed names; `cargo xtask panels` runs each panel of
//! a table of states and compares what it prints with [`PanelNumbers`] computed by the engine, as the page does.
//!
//! Plain text and numbers only (no browser APIs), so the native harness builds the same code the page shows.

use engine::Tensor;
use engine::ops::conv2d::Conv2d;

/// One state of a lesson as `cargo xtask panels` checks it (natively only: the page never uses it, and the shipped
/// wasm holds none of the panel states): where it is, its panel's code, and the page's numbers.
#[cfg(not(target_arch = "wasm32"))]
pub struct Case {
    /// The lesson's URL with the state's query, so that a failure can be opened in the browser.
    pub url: String,
    /// The panel's code.
    pub code: String,
    /// What the page shows, or why the page rejects the state.
    pub page: Result<PanelNumbers, String>,
}

/// The files the page ships, decoded natively: what a lesson's panel cases compute on (`cargo xtask panels`
/// decodes them; the page never uses this).
#[cfg(not(target_arch = "wasm32"))]
pub trait Assets {
    /// A shipped photo (`file` under `public/images`) as the page reads it: `[1, 3, H, W]`, values 0..1.
    fn photo(&self, file: &str) -> Result<Tensor, String>;
    /// The digits the page loads.
    fn digits(&self) -> Result<engine::data::ImageSet, String>;
}

/// A lesson's URL with a query: `/<path>?k=v&…`.
#[cfg(not(target_arch = "wasm32"))]
pub fn url(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("/{path}?{}", query.join("&"))
}

/// The numbers a panel prints and the page shows: the output's shape, the selected output value with the sum of
/// its window's products (before the bias), and a checksum of the whole output.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelNumbers {
    /// The output's shape, as `out.shape`.
    pub shape: Vec<usize>,
    /// The selected value's window: the sum of its products (convolutions) or what it pools.
    pub window_sum: f64,
    /// The selected output value.
    pub output: f64,
    /// The sum of every output value.
    pub checksum: f64,
    /// The sum of every value's magnitude: the scale against which the checksum's rounding is judged.
    pub magnitude: f64,
}

impl PanelNumbers {
    /// The numbers of `output` with the selected value and its window's sum.
    pub fn new(output: &Tensor, window_sum: f32, value: f32) -> Self {
        let data = output.data();
        PanelNumbers {
            shape: output.shape().dims().to_vec(),
            window_sum: window_sum as f64,
            output: value as f64,
            checksum: data.iter().map(|&v| v as f64).sum(),
            magnitude: data.iter().map(|&v| (v as f64).abs()).sum(),
        }
    }

    /// The numbers of a convolution lesson: `op`'s output for `x`, `w` and `b` by its reference loops, with output
    /// pixel `cell` of channel `channel`: its window's products summed (the trace's sum) and its value; or why the
    /// cell is not one of the output's.
    pub fn of_conv(op: &Conv2d, x: &Tensor, w: &Tensor, b: Option<&Tensor>, cell: (usize, usize), channel: usize) -> Result<Self, String> {
        let y = op.reference_forward(x, w, b);
        cell_in(&y, cell, channel)?;
        let (oy, ox) = cell;
        let trace = op.trace(x, w, b, 0, channel, oy, ox);
        Ok(PanelNumbers::new(&y, trace.sum, y.data()[(channel * op.out_h + oy) * op.out_w + ox]))
    }

    /// Reads the numbers that [`footer`] printed. `magnitude` is not printed: it stays 0.
    pub fn parse(stdout: &str) -> Result<Self, String> {
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
                .map(str::trim)
                .ok_or_else(|| format!("the panel printed no `{name}:` line"))
        };
        let number = |name: &str| field(name)?.parse::<f64>().map_err(|e| format!("`{name}` is not a number ({e})"));
        let shape = field("shape")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<usize>().map_err(|e| format!("`shape` holds {s:?} ({e})")))
            .collect::<Result<_, _>>()?;
        Ok(PanelNumbers { shape, window_sum: number("window sum")?, output: number("output")?, checksum: number("checksum")?, magnitude: 0.0 })
    }

    /// The largest relative difference between the page's numbers (`self`) and a panel's, or what differs.
    /// Values are compared relative to the larger of the two and 1 (pixels and scores are of order 1); the
    /// checksum relative to the output's magnitude, the scale of its rounding.
    pub fn compare(&self, panel: &PanelNumbers) -> Result<f64, String> {
        if self.shape != panel.shape {
            return Err(format!("shape {:?} on the page, {:?} in PyTorch", self.shape, panel.shape));
        }
        let mut worst: f64 = 0.0;
        for (name, page, python, scale) in [
            ("window sum", self.window_sum, panel.window_sum, 1.0),
            ("output", self.output, panel.output, 1.0),
            ("checksum", self.checksum, panel.checksum, self.magnitude.max(1.0)),
        ] {
            let diff = (page - python).abs() / scale.max(page.abs()).max(python.abs());
            // A NaN on either side fails too.
            if diff.is_nan() || diff > TOLERANCE {
                return Err(format!("{name} {page} on the page, {python} in PyTorch (relative difference {diff:.2e})"));
            }
            worst = worst.max(diff);
        }
        Ok(worst)
    }
}

/// The selected cell `(y, x)` of an output `[N, C, H, W]`, or why it is not one of its cells.
pub fn cell_in(output: &Tensor, (y, x): (usize, usize), channel: usize) -> Result<(), String> {
    let d = output.shape().dims();
    if y < d[2] && x < d[3] && channel < d[1] {
        Ok(())
    } else {
        Err(format!("cell ({y}, {x}) of channel {channel} is outside the output {:?}", d))
    }
}

/// How far a panel's numbers may be from the page's.
pub const TOLERANCE: f64 = 1e-4;

/// The panel's last lines: print the output's shape, the selected value's window sum and output, and the checksum,
/// given the Python names (or expressions) for the output tensor, the window's products and the selected value.
pub fn footer(out: &str, products: &str, value: &str) -> String {
    format!(
        "\n# What the page shows:\n\
         print(\"shape:\", list({out}.shape))\n\
         print(\"window sum:\", {products}.sum().item())\n\
         print(\"output:\", {value}.item())\n\
         print(\"checksum:\", {out}.double().sum().item())\n"
    )
}

/// The engine's integer hash ([`engine::rng::pcg_hash`]) in Python, for panels that rebuild the engine's random
/// numbers (a dropout mask, a lesson's seeded batches).
pub const PCG_HASH_PY: &str = "def pcg_hash(v):\n\
    \x20   state = (v * 747796405 + 2891336453) & 0xFFFFFFFF\n\
    \x20   word = (((state >> ((state >> 28) + 4)) ^ state) * 277803737) & 0xFFFFFFFF\n\
    \x20   return (word >> 22) ^ word\n";

/// A reader of safetensors files in Python with torch and numpy only (the `safetensors` package need not be
/// installed): `load_safetensors(path)` gives `(tensors by name, metadata)`. The panels and the export script that
/// load a model's weights define it; it needs `json`, `struct`, `numpy as np` and `torch` imported.
pub const LOAD_SAFETENSORS_PY: &str = "def load_safetensors(path):\n\
    \x20   \"\"\"A safetensors file: an 8-byte header length, a JSON header, then each tensor's little-endian bytes.\"\"\"\n\
    \x20   data = open(path, \"rb\").read()\n\
    \x20   n = struct.unpack(\"<Q\", data[:8])[0]\n\
    \x20   header = json.loads(data[8:8 + n])\n\
    \x20   meta = header.pop(\"__metadata__\", {})\n\
    \x20   body = data[8 + n:]\n\
    \x20   tensors = {k: torch.from_numpy(np.frombuffer(body[v[\"data_offsets\"][0]:v[\"data_offsets\"][1]], dtype=np.float32).copy()).reshape(v[\"shape\"])\n\
    \x20              for k, v in header.items()}\n\
    \x20   return tensors, meta\n";

/// A weight as Python source that is exactly the page's `f32`: the shortest decimal that reads back as it.
pub fn exact(v: f32) -> String {
    let s = format!("{v:?}");
    if s == "-0.0" { "0.0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_s_lines_parse_back() {
        let printed = "shape: [1, 3, 4, 5]\nwindow sum: -0.25\noutput: 0.75\nchecksum: 12.5\n";
        let numbers = PanelNumbers::parse(printed).unwrap();
        assert_eq!(numbers.shape, vec![1, 3, 4, 5]);
        assert_eq!((numbers.window_sum, numbers.output, numbers.checksum), (-0.25, 0.75, 12.5));
        assert!(footer("out", "p", "v").contains("print(\"window sum:\", p.sum().item())"));
    }

    #[test]
    fn comparison_fails_on_a_real_difference_and_passes_on_rounding() {
        let page = PanelNumbers { shape: vec![1, 1, 2, 2], window_sum: 0.5, output: 1.0, checksum: 0.001, magnitude: 40.0 };
        let rounding = PanelNumbers { checksum: 0.0012, ..page.clone() };
        assert!(page.compare(&rounding).unwrap() < TOLERANCE);
        assert!(page.compare(&PanelNumbers { output: 1.01, ..page.clone() }).is_err());
        assert!(page.compare(&PanelNumbers { checksum: 0.1, ..page.clone() }).is_err());
        assert!(page.compare(&PanelNumbers { shape: vec![1, 1, 2, 3], ..page.clone() }).is_err());
        assert!(page.compare(&PanelNumbers { window_sum: f64::NAN, ..page.clone() }).is_err());
    }

    #[test]
    fn exact_weights_read_back_as_the_same_f32() {
        for v in [-5.0f32 / 3.0 / 6.0, 0.1, 1.0, -0.0, 1e-7, 12345.678] {
            let text = exact(v);
            assert_eq!(text.parse::<f64>().unwrap() as f32, v, "{text}");
        }
    }
}
