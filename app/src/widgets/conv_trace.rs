//! What the convolution lessons share: one run of a convolution on the page's device ([`ConvRun`]), and how one
//! output pixel of it was computed ([`ConvTrace`]): for each input channel the window, the kernel's slice and their
//! products, then the sum, the bias, the output, and the value the engine computed beside it. Built from the op's
//! trace (`Conv2d::trace`), the same indexing the op's loops use.

use super::{Cell, NumberGrid};
use crate::device::with_fallback;
use engine::ops::conv2d::{Conv2d, Conv2dTrace, Tap};
use engine::{Device, Tensor};
use leptos::prelude::*;

/// One run of a convolution lesson's op, read back.
#[derive(Clone)]
pub struct ConvRun {
    /// The input as the network sees it: `[1, C, H, W]`.
    pub input: Tensor,
    /// The output `[1, C', H', W']`.
    pub output: Tensor,
    /// The convolution that made it (for the trace).
    pub op: Conv2d,
    /// The weight.
    pub weight: Tensor,
    /// The bias.
    pub bias: Tensor,
    /// The device that computed it.
    pub backend: String,
    /// Wall time from upload to readback.
    pub millis: f64,
    /// Set when the GPU failed and the CPU stood in.
    pub fallback: Option<String>,
}

impl ConvRun {
    /// Runs `op` on `input` with `weight` and `bias` on `device` (the CPU standing in if a GPU fails).
    pub async fn new(device: &Device, op: Conv2d, input: Tensor, weight: Tensor, bias: Tensor) -> Result<ConvRun, String> {
        let start = engine::clock::now_ms();
        let run = with_fallback(device, |d| {
            let y = op.forward(&input.to(&d), &weight.to(&d), Some(&bias.to(&d)));
            async move { y?.read().await }
        })
        .await?;
        let millis = engine::clock::now_ms() - start;
        Ok(ConvRun { input, output: run.value, op, weight, bias, backend: run.label, millis, fallback: run.fallback })
    }

    /// The trace of output pixel `(y, x)` of channel `channel` (the last channel if there are fewer), with the
    /// engine's value there; `None` for a pixel outside the output.
    pub fn trace(&self, (y, x): (usize, usize), channel: usize) -> Option<(Conv2dTrace, f32)> {
        let op = &self.op;
        let co = channel.min(op.out_channels - 1);
        (y < op.out_h && x < op.out_w).then(|| {
            let t = op.trace(&self.input, &self.weight, Some(&self.bias), 0, co, y, x);
            (t, self.output.data()[(co * op.out_h + y) * op.out_w + x])
        })
    }
}

/// The colour planes' names, by input channel.
pub const CHANNEL_NAMES: [&str; 3] = ["red", "green", "blue"];

/// One input channel's part of a trace: the channel, its taps in the window's order, and its products' sum (the
/// padding's taps counted as the zeros they read).
pub struct ChannelPart<'a> {
    /// The input channel.
    pub channel: usize,
    /// Its taps.
    pub taps: Vec<&'a Tap>,
    /// The sum of its products.
    pub sum: f32,
}

/// The trace split by input channel, in the order the sum runs.
pub fn channel_parts(trace: &Conv2dTrace) -> Vec<ChannelPart<'_>> {
    let mut channels: Vec<usize> = trace.taps.iter().map(|t| t.ci).collect();
    channels.dedup();
    channels
        .into_iter()
        .map(|channel| {
            let taps: Vec<&Tap> = trace.taps.iter().filter(|t| t.ci == channel).collect();
            let sum = taps.iter().filter(|t| t.pixel.is_some()).map(|t| t.product).sum();
            ChannelPart { channel, taps, sum }
        })
        .collect()
}

/// The left side of the sum line: each product (one channel) or each channel's sum (several).
pub fn terms(parts: &[ChannelPart]) -> String {
    match parts {
        [one] => one.taps.iter().map(|t| format!("{:.3}", t.product + 0.0)).collect::<Vec<_>>().join(" + "),
        several => several.iter().map(|p| format!("{:.4}", p.sum)).collect::<Vec<_>>().join(" + "),
    }
}

/// The grids of one channel's window × slice = products, with the channel's sum when there are several.
fn channel_row(part: &ChannelPart, several: bool) -> impl IntoView + use<> {
    let ch = part.channel;
    let cells = |f: &dyn Fn(&Tap) -> f32, pad: bool| {
        let class = |t: &Tap| if pad && t.pixel.is_none() { "pad".to_string() } else { String::new() };
        part.taps.iter().map(|t| Cell { value: Some(f(t)), class: class(t), note: None }).collect::<Vec<_>>()
    };
    // Test ids: `trace-input`, or `trace-input-0` to `-2` when there are several channels.
    let id_of = |ids: [&'static str; 4]| if several { ids[1 + ch % 3] } else { ids[0] };
    let name = if several { format!("{} ", CHANNEL_NAMES[ch % 3]) } else { String::new() };
    view! {
        <div class="trace-grids">
            <figure><NumberGrid cells=cells(&|t| t.input, true) cols=3usize label=format!("The {name}input window") testid=id_of(["trace-input", "trace-input-0", "trace-input-1", "trace-input-2"]) decimals=3/><figcaption>{format!("{name}input window")}</figcaption></figure>
            <div class="op" aria-hidden="true">"×"</div>
            <figure><NumberGrid cells=cells(&|t| t.weight, false) cols=3usize label=format!("The kernel's {name}slice") testid=id_of(["trace-weight", "trace-weight-0", "trace-weight-1", "trace-weight-2"]) decimals=3/><figcaption>"kernel"</figcaption></figure>
            <div class="op" aria-hidden="true">"="</div>
            <figure><NumberGrid cells=cells(&|t| t.product, false) cols=3usize label=format!("The {name}products") testid=id_of(["trace-product", "trace-product-0", "trace-product-1", "trace-product-2"]) decimals=3/><figcaption>"products"</figcaption></figure>
            {several.then(|| view! { <div class="op">"sum"</div><strong data-testid=format!("channel-sum-{ch}")>{format!("{:.4}", part.sum)}</strong> })}
        </div>
    }
}

/// How output pixel `trace` was computed, under `heading`, ending with the engine's own value for it.
#[component]
pub fn ConvTrace(trace: Conv2dTrace, engine_value: f32, heading: String) -> impl IntoView {
    let parts = channel_parts(&trace);
    let several = parts.len() > 1;
    view! {
        <section class="trace" aria-live="polite" data-testid="trace">
            <h2>{heading}</h2>
            {parts.iter().map(|p| channel_row(p, several)).collect_view()}
            <p class="sum">
                {terms(&parts)} " = " <strong data-testid="trace-sum">{format!("{:.4}", trace.sum)}</strong>
                "; plus the bias " <strong data-testid="trace-bias">{format!("{:.4}", trace.bias)}</strong>
                " gives " <strong data-testid="trace-output">{format!("{:.4}", trace.output)}</strong>
                ", the output pixel, which the engine computed as " <strong data-testid="output-value">{format!("{engine_value:.4}")}</strong> "."
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::Tensor;
    use engine::ops::{Conv2d, Conv2dParams};

    #[test]
    fn a_run_traces_the_pixels_it_has() {
        let x = Tensor::from_fn([1, 1, 4, 4], |i| i as f32);
        let (w, b) = (Tensor::from_fn([2, 1, 3, 3], |i| (i % 3) as f32), Tensor::from_fn([2], |_| 0.5));
        let op = Conv2d::new(&Conv2dParams::default(), x.shape(), w.shape(), Some(b.shape())).unwrap();
        let run = pollster::block_on(ConvRun::new(&engine::Device::Cpu, op, x, w, b)).unwrap();
        let (t, value) = run.trace((1, 1), 1).unwrap();
        assert_eq!((t.co, t.output.to_bits()), (1, value.to_bits()));
        assert_eq!(run.trace((1, 1), 7).unwrap().0.co, 1, "a channel past the last is the last");
        assert!(run.trace((2, 0), 0).is_none());
    }

    #[test]
    fn the_parts_add_up_to_the_trace_s_sum() {
        let x = Tensor::from_fn([1, 3, 4, 4], |i| (i % 5) as f32 / 4.0);
        let w = Tensor::from_fn([1, 3, 3, 3], |i| i as f32 / 27.0 - 0.5);
        let op = Conv2d::new(&Conv2dParams::default().padding(1), x.shape(), w.shape(), None).unwrap();
        let trace = op.trace(&x, &w, None, 0, 0, 0, 0);
        let parts = channel_parts(&trace);
        assert_eq!(parts.iter().map(|p| p.channel).collect::<Vec<_>>(), [0, 1, 2]);
        assert!((parts.iter().map(|p| p.sum).sum::<f32>() - trace.sum).abs() < 1e-6);
        assert_eq!(terms(&parts).matches(" + ").count(), 2, "three channel sums");
        let one = op.trace(&x.clone(), &w, None, 0, 0, 1, 1);
        let single = ChannelPart { channel: 0, taps: one.taps.iter().filter(|t| t.ci == 0).collect(), sum: 0.0 };
        assert_eq!(terms(&[single]).matches(" + ").count(), 8, "nine products");
    }
}
