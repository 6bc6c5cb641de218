# The workloads of BENCHMARKS.md in PyTorch, timed one run at a time when the bench asks: `bench --pytorch
# PYTHON` runs this script with PYTHON and asks for one run of a workload after each of its own runs, so that both
# libraries are measured in the same spells of a shared machine. Each run does what a run of the engine's bench does
# (engine/src/bench.rs): 20 training steps of the digits CNN, 10 of the tabular model, one product or convolution.
#
# Protocol (lines on stdin and stdout): it first prints `ready <torch version> <threads>` (or `error: <why>`); then
# for each line naming a workload it prints the rate of one timed run (warming up first the first time it sees
# that workload), or `error: <why>`.

import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # no torch in this Python: say so instead of a traceback
    print(f"error: this Python cannot import torch ({e})", flush=True)
    sys.exit(0)

THREADS = int(sys.argv[1])
torch.set_num_threads(THREADS)
torch.manual_seed(0)
STEPS = 20


def digits_cnn_train():
    """Training steps of BENCHMARKS.md's digits CNN on batches of 64 (SGD, momentum 0.9), the loss read every 10."""
    def conv(i, o, stride):
        return [nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    model = nn.Sequential(*conv(1, 16, 1), *conv(16, 32, 2), *conv(32, 64, 2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))

    def run():
        for step in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if (step + 1) % 10 == 0:
                loss.item()
    return run, STEPS * 64


class Tabular(nn.Module):
    """fastai's TabularModel with BENCHMARKS.md's sizes: embeddings and their dropout, batch norm of the continuous
    columns, Linear-ReLU-BatchNorm-Dropout blocks of 1000 and 500, and y = log(48000)·sigmoid(out)."""

    def __init__(self, cards):
        super().__init__()
        sizes = [min(600, round(1.6 * n ** 0.56)) for n in cards]
        self.embeds = nn.ModuleList(nn.Embedding(n, s) for n, s in zip(cards, sizes))
        self.emb_drop = nn.Dropout(0.04)
        self.bn_cont = nn.BatchNorm1d(16)
        layers, width = [], sum(sizes) + 16
        for size, p in [(1000, 0.001), (500, 0.01)]:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.BatchNorm1d(size), nn.Dropout(p)]  # fastai 1: Linear with bias
            width = size
        self.layers = nn.Sequential(*layers, nn.Linear(width, 1))
        self.top = torch.log(torch.tensor(48000.0))

    def forward(self, cats, conts):
        x = self.emb_drop(torch.cat([e(cats[:, i]) for i, e in enumerate(self.embeds)], 1))
        return self.top * torch.sigmoid(self.layers(torch.cat([x, self.bn_cont(conts)], 1)))


def tabular_train():
    """Training steps of the tabular model on batches of 512 (Adam, lr 1e-3, MSE), the loss read at the end."""
    cards = [1115, 7, 31, 12, 3, 4, 4, 2]
    model = Tabular(cards)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    cats = torch.stack([torch.randint(0, n, (512,)) for n in cards], 1)
    conts, y = torch.randn(512, 16), torch.empty(512, 1).uniform_(7.0, 10.0)

    def run():
        for _ in range(STEPS // 2):
            opt.zero_grad()
            loss = F.mse_loss(model(cats, conts), y)
            loss.backward()
            opt.step()
        loss.item()
    return run, STEPS // 2 * 512


def gemm_512():
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    return (lambda: torch.mm(a, b)), 2 * 512 ** 3 / 1e9


def conv_fwd():
    x, w = torch.randn(16, 64, 32, 32), torch.empty(64, 64, 3, 3).uniform_(-0.05, 0.05)
    return (lambda: F.conv2d(x, w, padding=1)), 2 * 16 * 64 * 32 * 32 * 64 * 9 / 1e9


def conv_bwd():
    """The input and weight gradients alone (ATen's convolution backward), not the forward again."""
    x, w = torch.randn(16, 64, 32, 32), torch.empty(64, 64, 3, 3).uniform_(-0.05, 0.05)
    dy = torch.randn(16, 64, 32, 32)

    def run():
        torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False])
    return run, 4 * 16 * 64 * 32 * 32 * 64 * 9 / 1e9


WORKLOADS = {f.__name__: f for f in [digits_cnn_train, tabular_train, gemm_512, conv_fwd, conv_bwd]}
ready = {}
print(f"ready {torch.__version__} {torch.get_num_threads()}", flush=True)
for line in sys.stdin:
    name = line.strip()
    try:
        if name not in ready:
            if name not in WORKLOADS:
                raise ValueError(f"unknown workload {name!r}")
            run, amount = WORKLOADS[name]()
            run()  # warm-up
            ready[name] = (run, amount)
        run, amount = ready[name]
        start = time.perf_counter()
        run()
        print(amount / (time.perf_counter() - start), flush=True)
    except Exception as e:
        print(f"error: {e}", flush=True)
