//! A CNN as a list of blocks a learner edits (the training lesson's architecture): each block's output shape and
//! parameter count worked out before anything is built, as `learn.summary()` prints them, and an architecture whose
//! shapes do not fit explained in words instead of failing in the middle of training. The same list builds the
//! engine's [`Sequential`] and writes the PyTorch `nn.Sequential` that matches it.
//!
//! ```text
//! Conv(c, k, s, p)  [C, H, W] → [c, ⌊(H + 2p − k)/s⌋ + 1, ⌊(W + 2p − k)/s⌋ + 1]   k·k·C·c weights (+ c biases,
//!                                                                                 none before a batch norm)
//! BatchNorm         any → same (BatchNorm2d on maps, BatchNorm1d on features)   2 per channel (γ, β)
//! ReLU, Dropout(p)  any → same
//! MaxPool / AvgPool(k, s)  [C, H, W] → [C, ⌊(H − k)/s⌋ + 1, ⌊(W − k)/s⌋ + 1]
//! AdaptiveAvgPool   [C, H, W] → [C, 1, 1]
//! Flatten           [C, H, W] → [C·H·W]
//! Linear(n)         [F] → [n]                                                   F·n + n
//! ```
//!
//! The last block must be a `Linear` with one output per class. The last block before an `AdaptiveAvgPool` is named
//! [`crate::models::BODY`], where a heatmap hooks, and the pool [`crate::models::POOL`], where the head starts.

use crate::device::Device;
use crate::models::{BODY, POOL};
use crate::nn::{AdaptiveAvgPool2d, AvgPool2d, BatchNorm, Conv2d, Dropout, Flatten, Layer, Linear, MaxPool2d, ReLU, Sequential};
use crate::ops::conv2d::Conv2dParams;
use crate::ops::pool::Pool2dParams;
use crate::rng::Rng;

/// One block of an architecture.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A convolution to `channels` maps with a `kernel`x`kernel` window, `stride` and zero `padding`.
    Conv {
        /// Output channels.
        channels: usize,
        /// Window size.
        kernel: usize,
        /// Step between windows.
        stride: usize,
        /// Zeros added on each side.
        padding: usize,
    },
    /// Batch normalisation of the channels (or features).
    BatchNorm,
    /// `max(0, x)`.
    ReLU,
    /// Max pooling.
    MaxPool {
        /// Window size.
        kernel: usize,
        /// Step between windows.
        stride: usize,
    },
    /// Average pooling.
    AvgPool {
        /// Window size.
        kernel: usize,
        /// Step between windows.
        stride: usize,
    },
    /// Dropout with probability `p` of zeroing each value while training.
    Dropout {
        /// The probability of dropping.
        p: f32,
    },
    /// The average of each map: `[C, H, W]` to `[C, 1, 1]`.
    AdaptiveAvgPool,
    /// `[C, H, W]` to `[C·H·W]`.
    Flatten,
    /// A fully connected layer to `features` outputs.
    Linear {
        /// Outputs.
        features: usize,
    },
}

/// A block's line of the summary: its layer's name, its output shape and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockShape {
    /// The layer, as PyTorch names it (`Conv2d`, `BatchNorm2d`, …).
    pub layer: &'static str,
    /// The output of one image.
    pub shape: Vec<usize>,
    /// Its parameters.
    pub params: usize,
}

/// An input shape, blocks and a number of classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    /// One image, `[C, H, W]`.
    pub input: [usize; 3],
    /// The blocks, first to last.
    pub blocks: Vec<Block>,
    /// The classes the last block must score.
    pub classes: usize,
}

impl Block {
    fn layer(&self, shape: &[usize]) -> &'static str {
        match self {
            Block::Conv { .. } => "Conv2d",
            Block::BatchNorm if shape.len() == 1 => "BatchNorm1d",
            Block::BatchNorm => "BatchNorm2d",
            Block::ReLU => "ReLU",
            Block::MaxPool { .. } => "MaxPool2d",
            Block::AvgPool { .. } => "AvgPool2d",
            Block::Dropout { .. } => "Dropout",
            Block::AdaptiveAvgPool => "AdaptiveAvgPool2d",
            Block::Flatten => "Flatten",
            Block::Linear { .. } => "Linear",
        }
    }
}

/// The most parameters a model may have: 80 MB of weights, and about four times that while training with Adam
/// (gradients and two moments), within what a browser's GPU gives one page.
pub const MAX_PARAMETERS: usize = 20_000_000;

/// The most values one block may output per image: 16 MB, kept with its gradient for every image of a batch.
pub const MAX_VALUES_PER_IMAGE: usize = 4_194_304;

/// The most products a convolution may unfold per image (kernel taps × input channels × output positions): the CPU
/// lays them out as a matrix (im2col), 64 MB at this limit.
pub const MAX_UNFOLDED_PER_IMAGE: usize = 16_777_216;

/// The product of `dims`, or `None` where it overflows (a learner may type any size).
fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// A window of `kernel` sliding by `stride` over `len` values (after `padding` on each side): how many windows.
fn windows(len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = len + 2 * padding;
    (stride > 0 && kernel > 0 && kernel <= padded).then(|| (padded - kernel) / stride + 1)
}

impl Architecture {
    /// Whether block `i` is a convolution that a batch norm follows (it then has no bias, as fastai builds it).
    fn conv_bias(&self, i: usize) -> bool {
        !matches!(self.blocks.get(i + 1), Some(Block::BatchNorm))
    }

    /// Each block's output shape and parameters, or why the shapes do not fit, in words, naming the block.
    pub fn check(&self) -> Result<Vec<BlockShape>, String> {
        if self.input.contains(&0) {
            return Err(format!("the input {:?} is empty: every dimension must be at least 1", self.input));
        }
        if self.blocks.is_empty() {
            return Err("the architecture has no blocks: add at least a Flatten and a Linear".into());
        }
        let mut shape = self.input.to_vec();
        let mut rows = Vec::new();
        let mut parameters = 0usize;
        for (i, block) in self.blocks.iter().enumerate() {
            let at = format!("block {} ({})", i + 1, block.layer(&shape));
            let maps = |what: &str| -> Result<[usize; 3], String> {
                match shape[..] {
                    [c, h, w] => Ok([c, h, w]),
                    _ => Err(format!("{at} needs maps [channels, height, width], but gets {} features: {what}", shape[0])),
                }
            };
            let (next, params) = match *block {
                Block::Conv { channels, kernel, stride, padding } => {
                    let [c, h, w] = maps("put convolutions before the Flatten")?;
                    if channels == 0 {
                        return Err(format!("{at} has 0 output channels: give it at least 1"));
                    }
                    let (Some(oh), Some(ow)) = (windows(h, kernel, stride, padding), windows(w, kernel, stride, padding)) else {
                        return Err(format!(
                            "{at}: a {kernel}x{kernel} window at stride {stride} does not fit a {h}x{w} map with padding {padding}; \
                             use a smaller kernel, more padding, or fewer blocks that shrink the map before it (stride at least 1)"
                        ));
                    };
                    let unfolded = checked_product(&[kernel, kernel, c, oh, ow]).unwrap_or(usize::MAX);
                    if unfolded > MAX_UNFOLDED_PER_IMAGE {
                        return Err(format!(
                            "{at}: a {kernel}x{kernel} kernel over {c} channels at {oh}x{ow} positions takes {unfolded} products per image, \
                             too many for a browser's memory (this sandbox allows {MAX_UNFOLDED_PER_IMAGE}); use a smaller kernel, less padding or a stride of 2"
                        ));
                    }
                    let weights = checked_product(&[kernel, kernel, c, channels]);
                    (vec![channels, oh, ow], weights.map_or(usize::MAX, |w| w.saturating_add(if self.conv_bias(i) { channels } else { 0 })))
                }
                Block::MaxPool { kernel, stride } | Block::AvgPool { kernel, stride } => {
                    let [c, h, w] = maps("pool before the Flatten")?;
                    let (Some(oh), Some(ow)) = (windows(h, kernel, stride, 0), windows(w, kernel, stride, 0)) else {
                        return Err(format!("{at}: a {kernel}x{kernel} window at stride {stride} does not fit a {h}x{w} map; use a smaller window (stride at least 1)"));
                    };
                    (vec![c, oh, ow], 0)
                }
                Block::AdaptiveAvgPool => {
                    let [c, ..] = maps("average the maps before the Flatten")?;
                    (vec![c, 1, 1], 0)
                }
                Block::BatchNorm => (shape.clone(), 2 * shape[0]),
                Block::ReLU => (shape.clone(), 0),
                Block::Dropout { p } => {
                    if !(0.0..1.0).contains(&p) {
                        return Err(format!("{at}: p = {p} is not a probability below 1; dropout zeroes a share of the values, from 0 to just under 1"));
                    }
                    (shape.clone(), 0)
                }
                Block::Flatten => (vec![checked_product(&shape).unwrap_or(usize::MAX)], 0),
                Block::Linear { features } => {
                    let &[inputs] = &shape[..] else {
                        return Err(format!("{at} needs features, but gets maps {shape:?}: put a Flatten (or an AdaptiveAvgPool and a Flatten) before it"));
                    };
                    if features == 0 {
                        return Err(format!("{at} has 0 outputs: give it at least 1"));
                    }
                    (vec![features], inputs.checked_mul(features).map_or(usize::MAX, |w| w.saturating_add(features)))
                }
            };
            let values = checked_product(&next).unwrap_or(usize::MAX);
            if values > MAX_VALUES_PER_IMAGE {
                return Err(format!(
                    "{at} outputs {next:?}, {values} values per image: too large for a browser's memory (this sandbox keeps each block's \
                     output under {MAX_VALUES_PER_IMAGE} values per image); use fewer channels, a stride of 2 or a pool"
                ));
            }
            parameters = parameters.saturating_add(params);
            if parameters > MAX_PARAMETERS {
                return Err(format!(
                    "{at} brings the model to more than {MAX_PARAMETERS} parameters: too large to train in a browser's memory \
                     (80 MB of weights, about four times that while training); use fewer channels or features"
                ));
            }
            rows.push(BlockShape { layer: block.layer(&shape), shape: next.clone(), params });
            shape = next;
        }
        match (self.blocks.last(), &shape[..]) {
            (Some(Block::Linear { .. }), &[n]) if n == self.classes => Ok(rows),
            _ => Err(format!(
                "the last block must be a Linear with {} outputs, one score per class; it gives {shape:?}",
                self.classes
            )),
        }
    }

    /// The engine's model of these blocks on `device`, initialised from `rng` as PyTorch initialises each layer;
    /// dropout masks drawn from `rng` too. Fails with [`Architecture::check`]'s words.
    pub fn build(&self, device: &Device, rng: &mut Rng) -> Result<Sequential, String> {
        let rows = self.check()?;
        let mut shape = self.input.to_vec();
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        for (i, (block, row)) in self.blocks.iter().zip(&rows).enumerate() {
            let layer: Box<dyn Layer> = match *block {
                Block::Conv { channels, kernel, stride, padding } => {
                    Box::new(Conv2d::new(device, shape[0], channels, kernel, Conv2dParams::default().stride(stride).padding(padding), self.conv_bias(i), rng))
                }
                Block::BatchNorm => Box::new(BatchNorm::new(device, shape[0], if shape.len() == 1 { 1 } else { 2 })),
                Block::ReLU => Box::new(ReLU::default()),
                Block::MaxPool { kernel, stride } => Box::new(MaxPool2d::new(Pool2dParams::new(kernel).stride(stride))),
                Block::AvgPool { kernel, stride } => Box::new(AvgPool2d::new(Pool2dParams::new(kernel).stride(stride))),
                Block::Dropout { p } => Box::new(Dropout::new(p, rng.next_u64() as u32)),
                Block::AdaptiveAvgPool => Box::new(AdaptiveAvgPool2d::new([1, 1])),
                Block::Flatten => Box::new(Flatten::default()),
                Block::Linear { features } => Box::new(Linear::new(device, shape[0], features, true, rng)),
            };
            layers.push(layer);
            shape = row.shape.clone();
        }
        let names = self.names();
        Ok((0..layers.len()).fold(Sequential::new(layers), |model, i| model.named(i, &names[i])))
    }

    /// Each block's layer name, as both [`Architecture::build`] and [`Architecture::pytorch`] name them (and so as
    /// a `state_dict` names their weights): its position, except the block before the first `AdaptiveAvgPool`,
    /// [`BODY`], and that pool, [`POOL`].
    fn names(&self) -> Vec<String> {
        let pool = self.blocks.iter().position(|b| *b == Block::AdaptiveAvgPool).filter(|&at| at > 0);
        (0..self.blocks.len())
            .map(|i| match pool {
                Some(at) if i + 1 == at => BODY.to_string(),
                Some(at) if i == at => POOL.to_string(),
                _ => i.to_string(),
            })
            .collect()
    }

    /// The PyTorch module of these blocks, `nn.Sequential(OrderedDict([...]))`, one named layer a line, named as
    /// [`Architecture::build`] names them so that the engine's `state_dict` loads into it. Fails with
    /// [`Architecture::check`]'s words.
    pub fn pytorch(&self) -> Result<String, String> {
        let rows = self.check()?;
        let mut shape = self.input.to_vec();
        let mut lines = Vec::new();
        for (i, (block, row)) in self.blocks.iter().zip(&rows).enumerate() {
            lines.push(match *block {
                Block::Conv { channels, kernel, stride, padding } => {
                    format!("nn.Conv2d({}, {channels}, {kernel}, stride={stride}, padding={padding}, bias={})", shape[0], if self.conv_bias(i) { "True" } else { "False" })
                }
                Block::BatchNorm => format!("nn.{}({})", row.layer, shape[0]),
                Block::ReLU => "nn.ReLU()".to_string(),
                Block::MaxPool { kernel, stride } => format!("nn.MaxPool2d({kernel}, stride={stride})"),
                Block::AvgPool { kernel, stride } => format!("nn.AvgPool2d({kernel}, stride={stride})"),
                Block::Dropout { p } => format!("nn.Dropout({p})"),
                Block::AdaptiveAvgPool => "nn.AdaptiveAvgPool2d(1)".to_string(),
                Block::Flatten => "nn.Flatten()".to_string(),
                Block::Linear { features } => format!("nn.Linear({}, {features})", shape[0]),
            });
            shape = row.shape.clone();
        }
        let named: Vec<String> = self.names().iter().zip(&lines).map(|(n, l)| format!("    (\"{n}\", {l}),")).collect();
        Ok(format!("nn.Sequential(OrderedDict([\n{}\n]))", named.join("\n")))
    }
}

impl Block {
    /// The block as a link writes it: `conv16k3s2p1`, `bn`, `relu`, `max2s2`, `avg2s2`, `drop0.25`, `gap`, `flat`,
    /// `lin10`.
    pub fn code(&self) -> String {
        match *self {
            Block::Conv { channels, kernel, stride, padding } => format!("conv{channels}k{kernel}s{stride}p{padding}"),
            Block::BatchNorm => "bn".into(),
            Block::ReLU => "relu".into(),
            Block::MaxPool { kernel, stride } => format!("max{kernel}s{stride}"),
            Block::AvgPool { kernel, stride } => format!("avg{kernel}s{stride}"),
            Block::Dropout { p } => format!("drop{p}"),
            Block::AdaptiveAvgPool => "gap".into(),
            Block::Flatten => "flat".into(),
            Block::Linear { features } => format!("lin{features}"),
        }
    }

    /// Reads [`Block::code`]'s form back, or says what is wrong with it.
    pub fn parse(code: &str) -> Result<Block, String> {
        let bad = || format!("`{code}` is not a block: write conv16k3s2p1, bn, relu, max2s2, avg2s2, drop0.25, gap, flat or lin10");
        // The numbers after each letter of `letters`, in order: `conv16k3s2p1` with "ksp" is [16, 3, 2, 1].
        let numbers = |rest: &str, letters: &str| -> Option<Vec<usize>> {
            let mut out = Vec::new();
            let mut rest = rest;
            for letter in letters.chars().map(Some).chain(std::iter::once(None)) {
                let end = match letter {
                    Some(l) => rest.find(l)?,
                    None => rest.len(),
                };
                let n: usize = rest[..end].parse().ok().filter(|&n: &usize| n <= 100_000)?;
                out.push(n);
                rest = letter.map_or("", |l| &rest[end + l.len_utf8()..]);
            }
            Some(out)
        };
        let block = match code {
            "bn" => Block::BatchNorm,
            "relu" => Block::ReLU,
            "gap" => Block::AdaptiveAvgPool,
            "flat" => Block::Flatten,
            _ if code.starts_with("conv") => match numbers(&code[4..], "ksp").ok_or_else(bad)?[..] {
                [channels, kernel, stride, padding] => Block::Conv { channels, kernel, stride, padding },
                _ => return Err(bad()),
            },
            _ if code.starts_with("max") || code.starts_with("avg") => match numbers(&code[3..], "s").ok_or_else(bad)?[..] {
                [kernel, stride] if code.starts_with("max") => Block::MaxPool { kernel, stride },
                [kernel, stride] => Block::AvgPool { kernel, stride },
                _ => return Err(bad()),
            },
            _ if code.starts_with("drop") => Block::Dropout { p: code[4..].parse().ok().filter(|p: &f32| p.is_finite()).ok_or_else(bad)? },
            _ if code.starts_with("lin") => Block::Linear { features: numbers(&code[3..], "").ok_or_else(bad)?[0] },
            _ => return Err(bad()),
        };
        Ok(block)
    }
}

impl Architecture {
    /// The blocks as a link writes them, joined by `-`.
    pub fn code(&self) -> String {
        self.blocks.iter().map(Block::code).collect::<Vec<_>>().join("-")
    }

    /// The architecture of `input` and `classes` whose blocks [`Architecture::code`] wrote, checked.
    pub fn parse(input: [usize; 3], classes: usize, code: &str) -> Result<Architecture, String> {
        let blocks = code.split('-').filter(|b| !b.is_empty()).map(Block::parse).collect::<Result<Vec<_>, _>>()?;
        let arch = Architecture { input, blocks, classes };
        arch.check()?;
        Ok(arch)
    }
}

/// fastai's simple CNN as blocks: a `ConvLayer` (3x3 convolution, batch norm, ReLU) per width, the first at
/// stride 1 and the rest at stride 2, then average pooling, flattening and a linear head: the shape of
/// [`crate::models::simple_cnn`].
pub fn simple_cnn(input: [usize; 3], widths: &[usize], classes: usize) -> Architecture {
    let mut blocks = Vec::new();
    for (i, &channels) in widths.iter().enumerate() {
        blocks.extend([Block::Conv { channels, kernel: 3, stride: if i == 0 { 1 } else { 2 }, padding: 1 }, Block::BatchNorm, Block::ReLU]);
    }
    blocks.extend([Block::AdaptiveAvgPool, Block::Flatten, Block::Linear { features: classes }]);
    Architecture { input, blocks, classes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Model;
    use crate::tensor::Tensor;

    #[test]
    fn pytorch_s_module_names_every_layer_as_the_engine_s_state_dict_does() {
        // The body is a batch norm here (no ReLU before the pool): its weights are `body.weight` and `body.bias`, and
        // PyTorch's module must call it so too, or the exported weights do not load.
        let arch = Architecture::parse([1, 8, 8], 3, "conv4k3s1p1-bn-gap-flat-lin3").unwrap();
        let mut model = arch.build(&Device::Cpu, &mut Rng::new(1)).unwrap();
        let code = arch.pytorch().unwrap();
        for (name, _) in model.state_mut() {
            let layer = name.rsplit_once('.').unwrap().0;
            assert!(code.contains(&format!("(\"{layer}\", nn.")), "{name} has no layer in\n{code}");
        }
        assert!(code.contains("(\"body\", nn.BatchNorm2d(4))") && code.contains("(\"pool\", nn.AdaptiveAvgPool2d(1))"), "{code}");
        // Without a pool, the layers keep their positions.
        let flat = Architecture::parse([1, 8, 8], 3, "conv4k3s1p1-flat-lin3").unwrap();
        assert_eq!(flat.build(&Device::Cpu, &mut Rng::new(1)).unwrap().names(), ["0", "1", "2"]);
    }

    #[test]
    fn an_architecture_reads_back_from_its_link_and_a_bad_block_is_named() {
        let mut arch = simple_cnn([1, 8, 8], &[8, 16], 10);
        arch.blocks.insert(3, Block::MaxPool { kernel: 2, stride: 2 });
        arch.blocks.insert(4, Block::Dropout { p: 0.25 });
        let code = arch.code();
        assert_eq!(code, "conv8k3s1p1-bn-relu-max2s2-drop0.25-conv16k3s2p1-bn-relu-gap-flat-lin10");
        assert_eq!(Architecture::parse([1, 8, 8], 10, &code).unwrap(), arch);
        for bad in ["conv8k3", "max2", "lin", "drop", "dropx", "softmax", "conv8k3s1p1x", "conv999999999k3s1p1"] {
            let e = Architecture::parse([1, 8, 8], 10, &format!("{bad}-flat-lin10")).unwrap_err();
            assert!(e.contains(&format!("`{bad}` is not a block")), "{bad}: {e}");
        }
        // Blocks that read but do not fit are refused with the check's words.
        assert!(Architecture::parse([1, 8, 8], 10, "conv8k9s1p0-flat-lin10").unwrap_err().contains("does not fit"));
    }

    #[test]
    fn the_shapes_cnn_as_blocks_is_the_shapes_cnn() {
        let arch = simple_cnn([3, 32, 32], &[16, 32, 64, 128], 4);
        let rows = arch.check().unwrap();
        let shapes: Vec<&[usize]> = rows.iter().map(|r| r.shape.as_slice()).collect();
        assert_eq!(shapes[0], [16, 32, 32]);
        assert_eq!(shapes[3], [32, 16, 16], "stride 2 halves the map");
        assert_eq!(shapes[11], [128, 4, 4]);
        assert_eq!(*shapes.last().unwrap(), [4]);
        // The same parameters as the model the lessons build, and the same output for the same input.
        let total: usize = rows.iter().map(|r| r.params).sum();
        let mut built = arch.build(&Device::Cpu, &mut Rng::new(3)).unwrap();
        let mut lessons = crate::models::shapes_cnn(&Device::Cpu, &mut Rng::new(3));
        let count = |m: &mut Sequential| Model::params_mut(m).iter().map(|p| p.value.shape().numel()).sum::<usize>();
        assert_eq!((count(&mut built), count(&mut lessons)), (total, total));
        Model::set_training(&mut built, false);
        Model::set_training(&mut lessons, false);
        let x = Tensor::randn([2, 3, 32, 32], &mut Rng::new(4));
        assert_eq!(built.forward(&x).unwrap().data(), lessons.forward(&x).unwrap().data());
        assert_eq!((built.names()[11].as_str(), built.names()[12].as_str()), (BODY, POOL), "the heatmap's hook finds the body, the head its pool");
        let code = arch.pytorch().unwrap();
        assert!(code.starts_with("nn.Sequential(OrderedDict([\n    (\"0\", nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)),\n    (\"1\", nn.BatchNorm2d(16)),"), "{code}");
        assert!(code.contains("(\"body\", nn.ReLU()),\n    (\"pool\", nn.AdaptiveAvgPool2d(1)),\n    (\"13\", nn.Flatten()),\n    (\"14\", nn.Linear(128, 4)),\n]))"), "{code}");
    }

    #[test]
    fn shapes_that_do_not_fit_are_explained_before_anything_is_built() {
        let arch = |blocks: Vec<Block>| Architecture { input: [1, 8, 8], blocks, classes: 10 };
        let head = [Block::Flatten, Block::Linear { features: 10 }];
        let with_head = |mut blocks: Vec<Block>| {
            blocks.extend(head.clone());
            arch(blocks)
        };
        let too_big = with_head(vec![Block::Conv { channels: 4, kernel: 11, stride: 1, padding: 1 }]).check().unwrap_err();
        assert!(too_big.contains("block 1 (Conv2d)") && too_big.contains("does not fit a 8x8 map"), "{too_big}");
        let shrunk = with_head(vec![Block::MaxPool { kernel: 2, stride: 2 }, Block::MaxPool { kernel: 2, stride: 2 }, Block::MaxPool { kernel: 2, stride: 2 }, Block::MaxPool { kernel: 2, stride: 2 }]);
        assert!(shrunk.check().unwrap_err().contains("block 4 (MaxPool2d)"), "8 → 4 → 2 → 1, then no 2x2 window fits");
        let linear_first = arch(vec![Block::Linear { features: 10 }]).check().unwrap_err();
        assert!(linear_first.contains("put a Flatten"), "{linear_first}");
        let wrong_head = arch(vec![Block::Flatten, Block::Linear { features: 3 }]).check().unwrap_err();
        assert!(wrong_head.contains("Linear with 10 outputs"), "{wrong_head}");
        assert!(arch(vec![]).check().unwrap_err().contains("no blocks"));
        assert!(with_head(vec![Block::Conv { channels: 4, kernel: 3, stride: 0, padding: 1 }]).check().is_err(), "stride 0");
        assert!(with_head(vec![Block::Dropout { p: 1.0 }]).check().unwrap_err().contains("probability"));
        let conv_after_flatten = arch(vec![Block::Flatten, Block::Conv { channels: 2, kernel: 1, stride: 1, padding: 0 }, Block::Linear { features: 10 }]);
        assert!(conv_after_flatten.check().unwrap_err().contains("before the Flatten"));
        assert!(conv_after_flatten.build(&Device::Cpu, &mut Rng::new(1)).is_err() && conv_after_flatten.pytorch().is_err());
        // A plain MLP on the flattened image works, with BatchNorm1d between.
        let mlp = arch(vec![Block::Flatten, Block::Linear { features: 32 }, Block::BatchNorm, Block::ReLU, Block::Dropout { p: 0.5 }, Block::Linear { features: 10 }]);
        let rows = mlp.check().unwrap();
        assert_eq!((rows[2].layer, rows[2].params), ("BatchNorm1d", 64));
        let mut model = mlp.build(&Device::Cpu, &mut Rng::new(2)).unwrap();
        assert_eq!(model.forward(&Tensor::randn([5, 1, 8, 8], &mut Rng::new(3))).unwrap().shape().dims(), &[5, 10]);
    }
}
