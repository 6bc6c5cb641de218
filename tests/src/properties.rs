//! Property tests: for every op, random valid inputs within small bounds, run on the CPU reference and on another
//! backend (the GPU natively, WebGPU in the browser), forward and backward, must agree (atol 1e-5 + rtol 1e-4).
//! One async function per op family, generic over the backend, so native and browser tests share them.

use crate::compare::{ATOL, RTOL, all_close};
use crate::random::conv2d_cases;
use engine::ops::adam::Adam;
use engine::ops::adaptive_avg_pool2d::AdaptiveAvgPool2d;
use engine::ops::avg_pool2d::AvgPool2d;
use engine::ops::batch_norm::{BatchNorm, BatchNormParams};
use engine::ops::concat::Concat;
use engine::ops::conv2d::Conv2d;
use engine::ops::cross_entropy::{CrossEntropy, Reduction};
use engine::ops::dropout::Dropout;
use engine::ops::embedding::Embedding;
use engine::ops::gemm::Gemm;
use engine::ops::matmul::Matmul;
use engine::ops::max_pool2d::MaxPool2d;
use engine::ops::mse::Mse;
use engine::ops::pad::Pad;
use engine::ops::padding::PaddingMode;
use engine::ops::pool::Pool2dParams;
use engine::ops::rmspe::Rmspe;
use engine::ops::sgd::Sgd;
use engine::ops::sigmoid::Sigmoid;
use engine::ops::softmax::Softmax;
use engine::ops::sum_to::SumTo;
use engine::rng::Rng;
use engine::{Backend, Indices, Shape, Tensor};

/// Collects disagreements between the CPU and the backend under test.
pub struct Checker<'a, B: Backend> {
    backend: &'a B,
    /// One line per disagreement.
    pub failures: Vec<String>,
    /// How many tensors were compared.
    pub compared: usize,
}

impl<'a, B: Backend> Checker<'a, B> {
    /// A checker for `backend`.
    pub fn new(backend: &'a B) -> Self {
        Checker { backend, failures: Vec::new(), compared: 0 }
    }

    fn up(&self, t: &Tensor) -> B::Tensor {
        self.backend.upload(t)
    }

    /// Reads `got` back and compares it with the CPU's `want`.
    async fn agree(&mut self, what: &str, want: &Tensor, got: &B::Tensor) {
        self.compared += 1;
        match self.backend.read(got).await {
            Err(e) => self.failures.push(format!("{what}: {e}")),
            Ok(got) if got.shape() != want.shape() => self.failures.push(format!("{what}: shape {} vs {}", got.shape(), want.shape())),
            Ok(got) => {
                if let Err(m) = all_close(what, got.data(), want.data(), ATOL, RTOL) {
                    self.failures.push(m.to_string());
                }
            }
        }
    }

    /// Runs every op family.
    pub async fn check_all(&mut self, seed: u64) {
        self.conv2d(seed).await;
        self.pad(seed).await;
        self.pools(seed).await;
        self.dropout(seed).await;
        self.batch_norm(seed).await;
        self.matrix_products(seed).await;
        self.activations(seed).await;
        self.embedding(seed).await;
        self.losses(seed).await;
        self.optimizers(seed).await;
    }

    /// conv2d forward and backward over strides, dilations, asymmetric padding, every mode, groups, no bias.
    pub async fn conv2d(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        for (i, case) in conv2d_cases(seed, 24).iter().enumerate() {
            let op = Conv2d::new(&case.params, case.x.shape(), case.w.shape(), case.b.as_ref().map(Tensor::shape)).expect("valid");
            let dy = Tensor::randn(op.out_shape(), &mut rng);
            let what = format!("conv2d case {i} ({:?}, x {}, w {})", case.params, case.x.shape(), case.w.shape());
            let (x, w, b) = (self.up(&case.x), self.up(&case.w), case.b.as_ref().map(|b| self.up(b)));
            let y = self.backend.conv2d(&op, &x, &w, b.as_ref());
            self.agree(&format!("{what} y"), &op.forward(&case.x, &case.w, case.b.as_ref()), &y).await;
            let want = op.backward(&case.x, &case.w, &dy);
            let got = self.backend.conv2d_backward(&op, &x, &w, &self.up(&dy));
            self.agree(&format!("{what} dx"), &want.dx, &got.dx).await;
            self.agree(&format!("{what} dw"), &want.dw, &got.dw).await;
            if let (Some(want), Some(got)) = (&want.db, &got.db) {
                self.agree(&format!("{what} db"), want, got).await;
            }
            // A model's first layer asks for the parameters' gradients only.
            let (dw, db) = self.backend.conv2d_param_grads(&op, &x, &w, &self.up(&dy));
            self.agree(&format!("{what} dw without dx"), &want.dw, &dw).await;
            if let (Some(want), Some(got)) = (&want.db, &db) {
                self.agree(&format!("{what} db without dx"), want, got).await;
            }
        }
    }

    /// pad in every mode, with cropping, over several axes.
    pub async fn pad(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 1);
        for round in 0..12 {
            let dims: Vec<usize> = (0..1 + rng.below(3)).map(|_| 2 + rng.below(4)).collect();
            let mode = PaddingMode::ALL[round % 4];
            let pads: Vec<(isize, isize)> = dims
                .iter()
                .map(|&d| {
                    let limit = if mode == PaddingMode::Reflection { d - 1 } else { d + 1 };
                    (rng.below(limit + 1) as isize - (rng.below(2) as isize), rng.below(limit + 1) as isize)
                })
                .collect();
            let Ok(op) = Pad::new(&Shape::from(dims.clone()), &pads, mode, 0.25) else { continue };
            let x = Tensor::randn(dims, &mut rng);
            let dy = Tensor::randn(op.out_shape.clone(), &mut rng);
            let what = format!("pad {:?} {mode:?} of {}", pads, x.shape());
            self.agree(&format!("{what} y"), &op.forward(&x), &self.backend.pad(&op, &self.up(&x))).await;
            self.agree(&format!("{what} dx"), &op.backward(&dy), &self.backend.pad_backward(&op, &self.up(&dy))).await;
        }
    }

    /// avg_pool2d, max_pool2d and adaptive_avg_pool2d, forward and backward.
    pub async fn pools(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 2);
        for _ in 0..12 {
            let x = Tensor::randn([1 + rng.below(2), 1 + rng.below(3), 2 + rng.below(7), 2 + rng.below(7)], &mut rng);
            let kernel = [1 + rng.below(3), 1 + rng.below(3)];
            let params = Pool2dParams {
                kernel,
                stride: [1 + rng.below(3), 1 + rng.below(3)],
                padding: [rng.below(kernel[0]), rng.below(kernel[1]), rng.below(kernel[0]), rng.below(kernel[1])],
                dilation: [1 + rng.below(2), 1 + rng.below(2)],
                ceil_mode: rng.below(2) == 1,
            };
            let xd = self.up(&x);
            if let Ok(op) = AvgPool2d::new(&params, x.shape(), rng.below(2) == 1) {
                let what = format!("avg_pool2d {params:?} cip {} of {}", op.count_include_pad, x.shape());
                let dy = Tensor::randn(op.geometry.out_shape(), &mut rng);
                self.agree(&format!("{what} y"), &op.forward(&x), &self.backend.avg_pool2d(&op, &xd)).await;
                self.agree(&format!("{what} dx"), &op.backward(&dy), &self.backend.avg_pool2d_backward(&op, &self.up(&dy))).await;
            }
            if let Ok(op) = MaxPool2d::new(&params, x.shape()) {
                let what = format!("max_pool2d {params:?} of {}", x.shape());
                let dy = Tensor::randn(op.geometry.out_shape(), &mut rng);
                let (want_y, want_arg) = op.forward(&x);
                let (y, arg) = self.backend.max_pool2d(&op, &xd);
                self.agree(&format!("{what} y"), &want_y, &y).await;
                self.agree(&format!("{what} argmax"), &want_arg, &arg).await;
                let dx = self.backend.max_pool2d_backward(&op, &self.up(&dy), &arg);
                self.agree(&format!("{what} dx"), &op.backward(&dy, &want_arg), &dx).await;
            }
            let size = [1 + rng.below(3), 1 + rng.below(3)];
            let op = AdaptiveAvgPool2d::new(x.shape(), size).expect("valid");
            let dy = Tensor::randn(op.out_shape(), &mut rng);
            let what = format!("adaptive_avg_pool2d {size:?} of {}", x.shape());
            self.agree(&format!("{what} y"), &op.forward(&x), &self.backend.adaptive_avg_pool2d(&op, &xd)).await;
            self.agree(&format!("{what} dx"), &op.backward(&dy), &self.backend.adaptive_avg_pool2d_backward(&op, &self.up(&dy))).await;
        }
    }

    /// Dropout: the same mask on both backends, in training and evaluation.
    pub async fn dropout(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 3);
        for (p, training) in [(0.5, true), (0.1, true), (0.3, false), (0.0, true)] {
            let x = Tensor::randn([3, 1 + rng.below(50)], &mut rng);
            let op = Dropout::new(x.shape(), p, training, rng.below(1000) as u32).expect("valid");
            let dy = Tensor::randn(x.shape().clone(), &mut rng);
            let (want_y, want_mask) = op.forward(&x);
            let (y, mask) = self.backend.dropout(&op, &self.up(&x));
            let what = format!("dropout p {p} training {training}");
            self.agree(&format!("{what} y"), &want_y, &y).await;
            self.agree(&format!("{what} mask"), &want_mask, &mask).await;
            self.agree(&format!("{what} dx"), &op.backward(&dy, &want_mask), &self.backend.dropout_backward(&op, &self.up(&dy), &mask)).await;
        }
    }

    /// Batch norm 1d and 2d, training and evaluation, forward, running statistics and backward.
    pub async fn batch_norm(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 4);
        for (dims, training) in [(vec![4, 3], true), (vec![3, 2, 5], true), (vec![2, 3, 4, 4], true), (vec![2, 3, 4, 4], false)] {
            let c = dims[1];
            let x = Tensor::randn(dims.clone(), &mut rng);
            let per: Vec<Tensor> = vec![
                Tensor::randn([c], &mut rng),
                Tensor::randn([c], &mut rng),
                Tensor::randn([c], &mut rng),
                Tensor::uniform([c], 0.5, 2.0, &mut rng),
            ];
            let params = BatchNormParams { training, ..Default::default() };
            let op = BatchNorm::new(&params, x.shape(), &[per[0].shape(), per[1].shape(), per[2].shape(), per[3].shape()]).expect("valid");
            let dy = Tensor::randn(x.shape().clone(), &mut rng);
            let want = op.forward(&x, &per[0], &per[1], &per[2], &per[3]);
            let d: Vec<B::Tensor> = per.iter().map(|t| self.up(t)).collect();
            let xd = self.up(&x);
            let got = self.backend.batch_norm(&op, &xd, &d[0], &d[1], &d[2], &d[3]);
            let what = format!("batch_norm {} training {training}", x.shape());
            self.agree(&format!("{what} y"), &want.y, &got.y).await;
            self.agree(&format!("{what} running_mean"), &want.running_mean, &got.running_mean).await;
            self.agree(&format!("{what} running_var"), &want.running_var, &got.running_var).await;
            let want_g = op.backward(&x, &per[0], &want, &dy);
            let got_g = self.backend.batch_norm_backward(&op, &xd, &d[0], &got, &self.up(&dy));
            self.agree(&format!("{what} dx"), &want_g.dx, &got_g.dx).await;
            self.agree(&format!("{what} dweight"), &want_g.dweight, &got_g.dweight).await;
            self.agree(&format!("{what} dbias"), &want_g.dbias, &got_g.dbias).await;
        }
    }

    /// Gemm over every transpose and bias broadcast, linear, broadcasting matmul (with shapes for each of the GPU's
    /// product kernels, ragged edges included), and sum_to.
    pub async fn matrix_products(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 5);
        for (ta, tb, c) in [(false, false, vec![1, 4]), (true, false, vec![3, 4]), (false, true, vec![3, 1]), (true, true, vec![])] {
            let k = 1 + rng.below(6);
            let a = Tensor::randn(if ta { [k, 3] } else { [3, k] }, &mut rng);
            let b = Tensor::randn(if tb { [4, k] } else { [k, 4] }, &mut rng);
            let c = Tensor::randn(c, &mut rng);
            let op = Gemm::new(a.shape(), b.shape(), Some(c.shape()), ta, tb, 0.5, 2.0).expect("valid");
            self.gemm(&format!("gemm transA {ta} transB {tb}"), &op, &a, &b, Some(&c), &mut rng).await;
        }
        // Large enough for the GPU's 64x64 workgroup tiles, with ragged edges in every dimension.
        let (a, b, c) = (Tensor::randn([37, 70], &mut rng), Tensor::randn([130, 37], &mut rng), Tensor::randn([130], &mut rng));
        let op = Gemm::new(a.shape(), b.shape(), Some(c.shape()), true, true, 1.0, 1.0).expect("valid");
        self.gemm("gemm 70x37 @ 37x130, both transposed", &op, &a, &b, Some(&c), &mut rng).await;
        let x = Tensor::randn([2, 3, 5], &mut rng);
        let (w, b) = (Tensor::randn([4, 5], &mut rng), Tensor::randn([4], &mut rng));
        let op = Gemm::linear(x.shape(), w.shape(), Some(b.shape())).expect("valid");
        self.gemm("linear [2, 3, 5] -> 4", &op, &x, &w, Some(&b), &mut rng).await;
        for (sa, sb) in [(vec![3, 1, 2, 4], vec![2, 4, 3]), (vec![5], vec![5]), (vec![2, 3], vec![3]), (vec![4], vec![2, 4, 1]), (vec![2, 65, 20], vec![20, 66]), (vec![3, 300, 7], vec![7, 13])] {
            let (a, b) = (Tensor::randn(sa, &mut rng), Tensor::randn(sb, &mut rng));
            let op = Matmul::new(a.shape(), b.shape()).expect("valid");
            let dy = Tensor::randn(op.out_shape.clone(), &mut rng);
            let what = format!("matmul {} @ {}", a.shape(), b.shape());
            let (ad, bd) = (self.up(&a), self.up(&b));
            self.agree(&format!("{what} y"), &op.forward(&a, &b), &self.backend.matmul(&op, &ad, &bd)).await;
            let (want_a, want_b) = op.backward(&a, &b, &dy);
            let (da, db) = self.backend.matmul_backward(&op, &ad, &bd, &self.up(&dy));
            self.agree(&format!("{what} da"), &want_a, &da).await;
            self.agree(&format!("{what} db"), &want_b, &db).await;
        }
        let (a, b) = (Tensor::randn([3, 2, 2], &mut rng), Tensor::randn([3, 5, 2], &mut rng));
        let op = Concat::new(&[a.shape(), b.shape()], 1).expect("valid");
        self.agree("concat y", &op.forward(&[&a, &b]), &self.backend.concat(&op, &[&self.up(&a), &self.up(&b)])).await;
        let dy = Tensor::randn(op.out_shape.clone(), &mut rng);
        let (want, got) = (op.backward(&dy), self.backend.concat_backward(&op, &self.up(&dy)));
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            self.agree(&format!("concat d{i}"), w, g).await;
        }
        let x = Tensor::randn([2, 3, 4], &mut rng);
        for to in [vec![4], vec![3, 1], vec![2, 1, 4], vec![]] {
            let op = SumTo::new(x.shape(), &Shape::from(to), 1.5).expect("valid");
            self.agree(&format!("sum_to {}", op.to), &op.forward(&x), &self.backend.sum_to(&op, &self.up(&x))).await;
        }
    }

    async fn gemm(&mut self, what: &str, op: &Gemm, a: &Tensor, b: &Tensor, c: Option<&Tensor>, rng: &mut Rng) {
        let dy = Tensor::randn(op.out_shape.clone(), rng);
        let (ad, bd, cd) = (self.up(a), self.up(b), c.map(|c| self.up(c)));
        self.agree(&format!("{what} y"), &op.forward(a, b, c), &self.backend.gemm(op, &ad, &bd, cd.as_ref())).await;
        let want = op.backward(a, b, &dy);
        let got = self.backend.gemm_backward(op, &ad, &bd, &self.up(&dy));
        self.agree(&format!("{what} da"), &want.da, &got.da).await;
        self.agree(&format!("{what} db"), &want.db, &got.db).await;
        if let (Some(want), Some(got)) = (&want.dc, &got.dc) {
            self.agree(&format!("{what} dc"), want, got).await;
        }
    }

    /// relu, sigmoid, sigmoid_range, softmax and log-softmax on every axis.
    pub async fn activations(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 6);
        let x = Tensor::randn([2, 3, 4], &mut rng);
        let dy = Tensor::randn(x.shape().clone(), &mut rng);
        let (xd, dyd) = (self.up(&x), self.up(&dy));
        self.agree("relu y", &engine::ops::relu::forward(&x), &self.backend.relu(&xd)).await;
        self.agree("relu dx", &engine::ops::relu::backward(&x, &dy), &self.backend.relu_backward(&xd, &dyd)).await;
        for op in [Sigmoid::STANDARD, Sigmoid::range(-1.0, 3.0).expect("valid")] {
            self.agree("sigmoid y", &op.forward(&x), &self.backend.sigmoid(&op, &xd)).await;
            self.agree("sigmoid dx", &op.backward(&x, &dy), &self.backend.sigmoid_backward(&op, &xd, &dyd)).await;
        }
        for axis in [0, 1, 2, -1] {
            for log in [false, true] {
                let op = Softmax::new(x.shape(), axis, log).expect("valid");
                let y = op.forward(&x);
                let what = format!("softmax axis {axis} log {log}");
                self.agree(&format!("{what} y"), &y, &self.backend.softmax(&op, &xd)).await;
                self.agree(&format!("{what} dx"), &op.backward(&y, &dy), &self.backend.softmax_backward(&op, &self.up(&y), &dyd)).await;
            }
        }
    }

    /// Embedding lookups on several axes, with repeated and negative indices and a padding row.
    pub async fn embedding(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 7);
        for axis in [0, 1, -1] {
            let w = Tensor::randn([5, 4, 3], &mut rng);
            let len = w.shape().dims()[if axis < 0 { 2 } else { axis as usize }] as i64;
            let values: Vec<i64> = (0..6).map(|_| rng.below(2 * len as usize) as i64 - len).collect();
            let mut op = Embedding::new(w.shape(), axis, &Indices::new([2, 3], values).expect("valid")).expect("valid");
            if axis == 0 {
                op = op.with_padding_idx(1);
            }
            let dy = Tensor::randn(op.out_shape.clone(), &mut rng);
            let what = format!("embedding axis {axis}");
            self.agree(&format!("{what} y"), &op.forward(&w), &self.backend.embedding(&op, &self.up(&w))).await;
            self.agree(&format!("{what} dw"), &op.backward(&dy), &self.backend.embedding_backward(&op, &self.up(&dy))).await;
        }
    }

    /// Cross-entropy (weights, ignore_index, every reduction, extra positions), MSE and RMSPE.
    pub async fn losses(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 8);
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let logits = Tensor::randn([4, 5, 2], &mut rng);
            let weight = Tensor::uniform([5], 0.5, 2.0, &mut rng);
            let targets = Indices::new([4, 2], (0..8).map(|_| rng.below(5) as i64).collect()).expect("valid");
            let op = CrossEntropy::new(logits.shape(), &targets, Some(weight.shape()), Some(2), reduction).expect("valid");
            let dloss = Tensor::randn(op.loss_shape.clone(), &mut rng);
            let want = op.forward(&logits, Some(&weight));
            let wd = self.up(&weight);
            let got = self.backend.cross_entropy(&op, &self.up(&logits), Some(&wd));
            let what = format!("cross_entropy {reduction:?}");
            self.agree(&format!("{what} loss"), &want.loss, &got.loss).await;
            self.agree(&format!("{what} log_prob"), &want.log_prob, &got.log_prob).await;
            let dl = self.backend.cross_entropy_backward(&op, &got, Some(&wd), &self.up(&dloss));
            self.agree(&format!("{what} dlogits"), &op.backward(&want, Some(&weight), &dloss), &dl).await;

            let (a, t) = (Tensor::randn([3, 4], &mut rng), Tensor::randn([3, 4], &mut rng));
            let op = Mse::new(a.shape(), t.shape(), reduction).expect("valid");
            let dloss = Tensor::randn(op.loss_shape(), &mut rng);
            let (ad, td) = (self.up(&a), self.up(&t));
            self.agree(&format!("mse {reduction:?} loss"), &op.forward(&a, &t), &self.backend.mse(&op, &ad, &td)).await;
            let (want_a, want_t) = op.backward(&a, &t, &dloss);
            let (da, dt) = self.backend.mse_backward(&op, &ad, &td, &self.up(&dloss));
            self.agree(&format!("mse {reduction:?} dinput"), &want_a, &da).await;
            self.agree(&format!("mse {reduction:?} dtarget"), &want_t, &dt).await;
        }
        let (y, yhat) = (Tensor::uniform([7], 1.0, 3.0, &mut rng), Tensor::uniform([7], 1.0, 3.0, &mut rng));
        let op = Rmspe::new(y.shape(), yhat.shape()).expect("valid");
        let dloss = Tensor::new(Shape::default(), vec![1.5]).expect("a scalar");
        let want = op.forward(&y, &yhat);
        let (yd, hd) = (self.up(&y), self.up(&yhat));
        let got = self.backend.rmspe(&op, &yd, &hd);
        self.agree("rmspe loss", &want, &got).await;
        let (want_y, want_h) = op.backward(&y, &yhat, &want, &dloss);
        let (dy, dh) = self.backend.rmspe_backward(&op, &yd, &hd, &got, &self.up(&dloss));
        self.agree("rmspe dy", &want_y, &dy).await;
        self.agree("rmspe dyhat", &want_h, &dh).await;
    }

    /// SGD (momentum, Nesterov, weight decay; first and later steps) and Adam / AdamW.
    pub async fn optimizers(&mut self, seed: u64) {
        let mut rng = Rng::new(seed ^ 9);
        let (p, g, v) = (Tensor::randn([3, 5], &mut rng), Tensor::randn([3, 5], &mut rng), Tensor::randn([3, 5], &mut rng));
        let (pd, gd, vd) = (self.up(&p), self.up(&g), self.up(&v));
        for sgd in [
            Sgd::new(0.1, 0.9).expect("valid"),
            Sgd { lr: 0.05, momentum: 0.8, dampening: 0.1, weight_decay: 0.01, nesterov: true },
            Sgd::new(0.1, 0.0).expect("valid"),
        ] {
            for first in [true, false] {
                let (mut want_p, mut want_v) = (p.clone(), (!first).then(|| v.clone()));
                sgd.step(&mut want_p, &g, &mut want_v);
                let (mut got_p, mut got_v) = (pd.clone(), (!first).then(|| vd.clone()));
                self.backend.sgd(&sgd, &mut got_p, &gd, &mut got_v);
                let (want_v, got_v) = (want_v.expect("a velocity after the step"), got_v.expect("a velocity after the step"));
                self.agree(&format!("sgd {sgd:?} first {first} param"), &want_p, &got_p).await;
                self.agree(&format!("sgd {sgd:?} first {first} velocity"), &want_v, &got_v).await;
            }
        }
        let m = Tensor::randn([3, 5], &mut rng);
        let sq = Tensor::uniform([3, 5], 0.0, 1.0, &mut rng);
        let md = self.up(&m);
        let sqd = self.up(&sq);
        for adam in [Adam::new(1e-3).expect("valid"), Adam { weight_decay: 0.01, decoupled: true, ..Adam::new(1e-2).expect("valid") }] {
            for step in [1, 7] {
                let (mut wp, mut wm, mut wv) = (p.clone(), m.clone(), sq.clone());
                adam.step(step, &mut wp, &g, &mut wm, &mut wv);
                let (mut gp, mut gm, mut gv) = (pd.clone(), md.clone(), sqd.clone());
                self.backend.adam(&adam, step, &mut gp, &gd, &mut gm, &mut gv);
                let what = format!("adam {adam:?} step {step}");
                self.agree(&format!("{what} param"), &wp, &gp).await;
                self.agree(&format!("{what} m"), &wm, &gm).await;
                self.agree(&format!("{what} v"), &wv, &gv).await;
            }
        }
    }
}

/// Runs every property check of `backend` against the CPU; returns the disagreements and the comparison count.
pub async fn check_backend<B: Backend>(backend: &B, seed: u64) -> (Vec<String>, usize) {
    let mut checker = Checker::new(backend);
    checker.check_all(seed).await;
    (checker.failures, checker.compared)
}
